package batch

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/mailferry/mailferry/migrate/job"
	"github.com/mailferry/mailferry/source/pop3/pop3test"
	"github.com/mailferry/mailferry/target/imap/imaptest"
)

func TestReadImapsync(t *testing.T) {
	in := "\xef\xbb\xbf# host1;user1;password1;host2;user2;password2;\r\n" +
		"pop.example.net;ann;a pass#1;imap.example.org;ann@example.org;T1;\r\n" +
		"\n" +
		"  # indented comment\n" +
		"pop3://pop.example.net:1110;bob;b=2;imap.example.org:1993;bob;T2\n" +
		"pop.example.net;cid;c3;imaps://imap.example.org:9993;cid;T3;\n"
	got, err := ReadImapsync(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 {
		t.Fatalf("%d accounts, want 3", len(got))
	}
	a := got[0]
	if a.Line != 2 || a.SourceURL != "pop3s://pop.example.net" || a.SourceUser != "ann" || a.SourcePassword.Value != "a pass#1" ||
		a.TargetHost != "imap.example.org" || a.TargetUser != "ann@example.org" || a.TargetPassword.Value != "T1" {
		t.Errorf("first account %v", a)
	}
	if b := got[1]; b.Line != 5 || b.SourceURL != "pop3://pop.example.net:1110" || b.SourcePassword.Value != "b=2" || b.TargetPassword.Value != "T2" {
		t.Errorf("second account %v", b)
	}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
		if s := fmt.Sprintf(verb, got); strings.Contains(s, "a pass#1") || strings.Contains(s, "T1") {
			t.Errorf("%s shows a password: %s", verb, s)
		}
	}
	items, err := Configs(job0("imaps://x@imap.default.net:993"), got, Options{StateDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []string{"imaps://ann%40example.org@imap.example.org:993", "imaps://bob@imap.example.org:1993",
		"imaps://cid@imap.example.org:9993"} {
		if u := items[i].Config.Target.URL; u != want {
			t.Errorf("target %d: %s, want %s", i, u, want)
		}
	}
	if s := items[0].Config.Sources[0].URL; s != "pop3s://ann@pop.example.net" {
		t.Errorf("source %s", s)
	}
	if p, err := items[0].Config.Sources[0].Password(t.Context(), "ann"); p != "a pass#1" || err != nil {
		t.Errorf("source password %q, %v", p, err)
	}
	// The same users on another host2 are another account.
	two := "h;u;p;a.example;v;q\nh;u;p;b.example;v;q\n"
	if got, err := ReadImapsync(strings.NewReader(two)); err != nil || StateName(got[0]) == StateName(got[1]) {
		t.Errorf("two host2: %v", err)
	}
}

func TestReadImapsyncErrors(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", "no account"},
		{"# only\n\n", "no account"},
		{"h;u;p;h2;u2\n", "line 1: 5 fields, want 6"},
		{"h;u;se;cret;h2;u2;p2;\n", "line 1: 7 fields, want 6"},
		{"h;u;p;h2;u2;p2;;\n", "7 fields"},
		{"h;u;;h2;u2;p2\n", "password1 is empty"},
		{"h;u;p;h2;u2;\n", "password2 is empty"},
		{"h;;p;h2;u2;p2\n", "user1 is empty"},
		{"pop3s://x:pw@h;u;p;h2;u2;p2\n", "holds a password"},
		{"h;u;p;h2;u2;p2\n\nh;u;p;h2;u2;p3\n", "line 3: the same account as line 1"},
	} {
		_, err := ReadImapsync(strings.NewReader(tc.in))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: %v, want %q", tc.in, err, tc.want)
			continue
		}
		for _, pw := range []string{"cret", "p2", "p3"} {
			if strings.Contains(err.Error(), pw) {
				t.Errorf("%q: the error %q shows a password", tc.in, err)
			}
		}
	}
	if _, err := Configs(job0("imaps://imap.default.net"), []Account{{SourceURL: "pop3s://h", SourceUser: "u",
		SourcePassword: Secret{Value: "p"}, TargetUser: "v", TargetPassword: Secret{Value: "q"}, TargetHost: "a/b"}},
		Options{StateDir: t.TempDir()}); err == nil || !strings.Contains(err.Error(), "host2") {
		t.Errorf("host2 a/b: %v", err)
	}
}

// TestRunImapsync runs an imapsync list against in-process servers, one
// line with a wrong POP3 password: its passwords never reach the results
// or the logs.
func TestRunImapsync(t *testing.T) {
	imap := imaptest.NewServer(t, "bob", "imap-Secret-1")
	users := map[string]string{"u1": "pop-Secret-1", "u2": "pop-Secret-2"}
	msgs := map[string][][]byte{}
	for u := range users {
		msgs[u] = [][]byte{fmt.Appendf(nil, "Message-ID: <%s@x>\r\nSubject: %s\r\n\r\nbody\r\n", u, u)}
	}
	pop := pop3test.NewServer(t, pop3test.Options{Users: users, Messages: msgs})
	list := fmt.Sprintf("pop3://%s;u1;pop-Secret-1;%s;bob;imap-Secret-1;\npop3://%s;u2;pop-Secret-WRONG;%s;bob;imap-Secret-1;\n",
		pop.Addr, imap.Addr, pop.Addr, imap.Addr)
	accounts, err := ReadImapsync(strings.NewReader(list))
	if err != nil {
		t.Fatal(err)
	}
	o := Options{StateDir: filepath.Join(t.TempDir(), "state"), Parallel: 2}
	// The base names another port: host2 (host:port) replaces it.
	items, err := Configs(base("imap://admin@127.0.0.1:1"), accounts, o)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var logs bytes.Buffer
	o.Logger = func(a Account) (*slog.Logger, func()) {
		return slog.New(slog.NewTextHandler(&lockedWriter{mu: &mu, w: &logs}, &slog.HandlerOptions{Level: slog.LevelDebug})), func() {}
	}
	res := Run(context.Background(), items, o)
	if res[0].Exit != ExitOK || res[0].Copied != 1 || res[1].Exit != ExitConnect {
		t.Errorf("results %+v", res)
	}
	b, _ := json.Marshal(res)
	all := string(b) + logs.String() + fmt.Sprintf("%+v %#v", items, items)
	for _, pw := range []string{"pop-Secret", "imap-Secret"} {
		if strings.Contains(all, pw) {
			t.Errorf("a password in the results, logs or items:\n%s", all)
		}
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  *bytes.Buffer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// job0 is a base config with TLS targets and no source settings.
func job0(targetURL string) job.Config {
	c := base(targetURL)
	c.Target.TLS, c.Target.AllowPlaintext, c.Sources = "", false, nil
	return c
}
