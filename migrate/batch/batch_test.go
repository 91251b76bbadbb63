package batch

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mailferry/mailferry/migrate"
	"github.com/mailferry/mailferry/migrate/job"
	"github.com/mailferry/mailferry/source/pop3/pop3test"
	"github.com/mailferry/mailferry/target/imap/imaptest"
)

func TestReadAccounts(t *testing.T) {
	in := "\xef\xbb\xbfSource_URL, source_user,target_user,source_password_env,target_password_file,folder\r\n" +
		"pop3s://pop.example.net,\"smith, j\",jsmith,P1,/run/s/j,\"Old \"\"mail\"\"\"\r\n" +
		"# a comment\n" +
		"\n" +
		"pop3s://pop.example.net,ann,ann@example.org,P2,/run/s/a,\n"
	got, err := ReadAccounts(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("%d accounts, want 2: %+v", len(got), got)
	}
	a := got[0]
	if a.SourceUser != "smith, j" || a.TargetUser != "jsmith" || a.Folder != `Old "mail"` || a.SourcePassword.Env != "P1" ||
		a.TargetPassword.File != "/run/s/j" || a.Line != 2 {
		t.Errorf("first account %+v", a)
	}
	if got[1].Line != 5 || got[1].TargetUser != "ann@example.org" {
		t.Errorf("second account %+v, want line 5", got[1])
	}
	semi := "source_url;source_user;target_user;source_password_env;target_password_env\npop3://h;a;b;X;Y\n"
	if got, err := ReadAccounts(strings.NewReader(semi)); err != nil || got[0].TargetUser != "b" {
		t.Errorf("semicolons: %+v, %v", got, err)
	}
}

func TestReadAccountsErrors(t *testing.T) {
	head := "source_url,source_user,target_user,source_password_env,target_password_env\n"
	for _, tc := range []struct{ in, want string }{
		{"source_url,source_user,target_user,passwd,Target_Pass\n", `unknown column "passwd", "Target_Pass"`},
		{"", "empty file"},
		{head, "no account"},
		{"source_user,target_user\n", "no column source_url"},
		{head + "pop3://h,a,b,,Y\n", "line 2: no source password"},
		{head + "pop3://h,a,b,X\n", "line 2: 4 fields"},
		{head + "pop3://h,a,b,X,Y\npop3://h,a,b,X2,Y2\n", "line 3: the same account as line 2"},
		{head + "pop3://a:secret@h,a,b,X,Y\n", "holds a password"},
		{"source_url,source_user,target_user,source_password_env,source_password_file,target_password_env\n" +
			"pop3://h,a,b,X,/f,Y\n", "both source_password_env and source_password_file"},
		{head + "pop3://h,a,\"b\n", "line 2"},
	} {
		_, err := ReadAccounts(strings.NewReader(tc.in))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: %v, want %q", tc.in, err, tc.want)
		}
	}
}

func TestStateName(t *testing.T) {
	names := map[string]string{}
	for _, a := range []Account{
		{SourceURL: "pop3://h", SourceUser: "a", TargetUser: "b"},
		{SourceURL: "pop3://h", SourceUser: "A", TargetUser: "b"},
		{SourceURL: "pop3://h2", SourceUser: "a", TargetUser: "b"},
		{SourceURL: "pop3://h", SourceUser: "a/b", TargetUser: "c"},
		{SourceURL: "pop3://h", SourceUser: "a_b", TargetUser: "c"},
		{SourceURL: "pop3://h", SourceUser: "a\x00b", TargetUser: "c"},
		{SourceURL: "pop3://h", SourceUser: "..", TargetUser: "../.."},
		{SourceURL: "pop3://h", SourceUser: "Jürgen Müller", TargetUser: "jürgen@bücher.example"},
		{SourceURL: "pop3://h", SourceUser: strings.Repeat("x", 300), TargetUser: ".hidden"},
		{SourceURL: "pop3://h", SourceUser: "a", TargetUser: "b\r\nc"},
	} {
		n := StateName(a)
		if prev, dup := names[n]; dup {
			t.Errorf("%q and %q have the same name %s", prev, a.Key(), n)
		}
		names[n] = a.Key()
		if strings.ContainsAny(n, "/\\\x00\r\n :*?\"<>|") || strings.HasPrefix(n, ".") || len(n) > 100 ||
			!strings.HasSuffix(n, ".db") || filepath.Base(n) != n {
			t.Errorf("%q: name %q is not a safe file name", a.Key(), n)
		}
		if StateName(a) != n {
			t.Errorf("%q: name not stable", a.Key())
		}
	}
	if n := StateName(Account{SourceURL: "pop3://h", SourceUser: "ann", TargetUser: "ann@example.org"}); !strings.HasPrefix(n, "ann@example.org_ann-") {
		t.Errorf("name %s, want it readable", n)
	}
}

func TestWorst(t *testing.T) {
	for _, tc := range []struct {
		exits []int
		want  int
	}{
		{nil, 0}, {[]int{0, 0}, 0}, {[]int{0, 1, 0}, 1}, {[]int{1, 3, 0}, 3}, {[]int{3, 4}, 3},
		{[]int{3, 2, 1}, 2}, {[]int{2, 130, 0}, 130},
	} {
		var rs []Result
		for _, e := range tc.exits {
			rs = append(rs, Result{Exit: e})
		}
		if got := Worst(rs); got != tc.want {
			t.Errorf("Worst(%v) = %d, want %d", tc.exits, got, tc.want)
		}
	}
}

func base(targetURL string) job.Config {
	return job.Config{Dedup: migrate.DedupAccount,
		Target:  job.Server{URL: targetURL, TLS: "none", AllowPlaintext: true, Connections: 4},
		Sources: []job.Source{{Server: job.Server{TLS: "none", AllowPlaintext: true}}}}
}

// TestRunIsolation runs four accounts against in-process servers, one
// with a wrong POP3 password: three complete, one fails with exit 3, and
// a second run copies only the new message.
func TestRunIsolation(t *testing.T) {
	imap := imaptest.NewServer(t, "bob", "imap-pass")
	users := map[string]string{"u1": "p1", "u2": "p2", "u3": "p3", "u4": "p4"}
	msgs := map[string][][]byte{}
	for u := range users {
		for i := range 3 {
			msgs[u] = append(msgs[u], fmt.Appendf(nil, "Message-ID: <%s-%d@x>\r\nSubject: %s %d\r\n\r\nbody\r\n", u, i, u, i))
		}
	}
	pop := pop3test.NewServer(t, pop3test.Options{Users: users, Messages: msgs})
	dir := t.TempDir()
	t.Setenv("BATCH_TEST_IMAP", "imap-pass")
	for u, p := range users {
		if u == "u3" {
			p = "wrong"
		}
		t.Setenv("BATCH_TEST_"+u, p)
	}
	var csv strings.Builder
	csv.WriteString("source_url,source_user,target_user,source_password_env,target_password_env,folder\n")
	for _, u := range []string{"u1", "u2", "u3", "u4"} {
		fmt.Fprintf(&csv, "pop3://%s,%s,bob,BATCH_TEST_%s,BATCH_TEST_IMAP,F-%s\n", pop.Addr, u, u, u)
	}
	accounts, err := ReadAccounts(strings.NewReader(csv.String()))
	if err != nil {
		t.Fatal(err)
	}
	o := Options{StateDir: filepath.Join(dir, "state"), Parallel: 2, MaxPerServer: 4}
	items, err := Configs(base("imap://admin@"+imap.Addr), accounts, o)
	if err != nil {
		t.Fatal(err)
	}
	if c := items[0].Config.Target.Connections; c != 2 {
		t.Errorf("target connections %d, want 4/2 = 2 under the cap", c)
	}
	var done []string
	o.Done = func(r Result) { done = append(done, r.Account) }
	var evMu sync.Mutex
	events := map[string]int{}
	o.Event = func(a Account, e migrate.Event) {
		if e.Kind == migrate.EventCopied {
			evMu.Lock()
			events[a.SourceUser]++
			evMu.Unlock()
		}
	}
	res := Run(t.Context(), items, o)
	if events["u1"] != 3 || events["u3"] != 0 {
		t.Errorf("copied events %v, want 3 for u1, none for u3", events)
	}
	if len(done) != 4 {
		t.Errorf("Done called for %v, want 4 accounts", done)
	}
	for i, r := range res {
		if i == 2 {
			if r.Exit != ExitConnect || !strings.Contains(r.Error, "auth") || r.Copied != 0 {
				t.Errorf("u3: %+v, want exit 3 with a login error", r)
			}
			continue
		}
		if r.Exit != ExitOK || r.Copied != 3 || r.Error != "" || r.Bytes == 0 {
			t.Errorf("account %d: %+v, want 3 copied", i, r)
		}
		if _, err := os.Stat(r.State); err != nil {
			t.Errorf("state: %v", err)
		}
	}
	if w := Worst(res); w != ExitConnect {
		t.Errorf("worst %d, want 3", w)
	}
	for _, u := range []string{"u1", "u2", "u4"} {
		if got, err := imap.Messages("F-" + u); err != nil || len(got) != 3 {
			t.Errorf("F-%s: %d messages, %v", u, len(got), err)
		}
	}

	// A re-run: one new message for u1; u3's password fixed.
	pop.SetMessages("u1", append(msgs["u1"], []byte("Message-ID: <new@x>\r\nSubject: new\r\n\r\nnew\r\n")))
	t.Setenv("BATCH_TEST_u3", "p3")
	res = Run(t.Context(), items, o)
	want := []int{1, 0, 3, 0}
	for i, r := range res {
		if r.Exit != ExitOK || r.Copied != want[i] {
			t.Errorf("re-run account %d: %+v, want %d copied", i, r, want[i])
		}
	}
}

// TestRunCap checks that the connections counted per server never exceed
// the cap, with more accounts than fit at once, and that an account's
// panic is its failure alone.
func TestRunCap(t *testing.T) {
	var accounts []Account
	for i := range 12 {
		accounts = append(accounts, Account{SourceURL: fmt.Sprintf("pop3://pop%d.example:110", i%2), SourceUser: fmt.Sprint(i),
			TargetUser: fmt.Sprint(i), SourcePassword: Secret{Env: "X"}, TargetPassword: Secret{Env: "Y"}})
	}
	b := base("imap://imap.example:143")
	b.Target.Connections = 8
	o := Options{StateDir: t.TempDir(), Parallel: 6, MaxPerServer: 5}
	items, err := Configs(b, accounts, o)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	open := map[string]int{}
	peak := map[string]int{}
	running, peakRunning := 0, 0
	o.run = func(ctx context.Context, c job.Config, _ *slog.Logger) (*migrate.Report, error) {
		servers := map[string]int{hostPort(c.Target.URL, "143"): c.Target.Connections, hostPort(c.Sources[0].URL, "110"): 1}
		mu.Lock()
		running++
		peakRunning = max(peakRunning, running)
		for s, n := range servers {
			open[s] += n
			peak[s] = max(peak[s], open[s])
		}
		mu.Unlock()
		time.Sleep(20 * time.Millisecond)
		mu.Lock()
		running--
		for s, n := range servers {
			open[s] -= n
		}
		mu.Unlock()
		if strings.HasSuffix(c.Sources[0].URL, "pop1.example:110") && strings.Contains(c.Target.URL, "//7@") {
			panic("boom")
		}
		return &migrate.Report{Copied: 1}, nil
	}
	res := Run(t.Context(), items, o)
	for s, p := range peak {
		if p > 5 {
			t.Errorf("%s: %d connections at once, cap 5", s, p)
		}
	}
	if peak["imap.example:143"] != 5 || peakRunning != 5 {
		t.Errorf("peak %v, %d running: want the cap used (5 accounts of 1 connection each)", peak, peakRunning)
	}
	for i, r := range res {
		switch {
		case i == 7:
			if r.Exit != ExitFailed || !strings.Contains(r.Error, "panic: boom") {
				t.Errorf("account 7: %+v, want its panic as its failure", r)
			}
		case r.Exit != ExitOK || r.Copied != 1:
			t.Errorf("account %d: %+v", i, r)
		}
	}
}

func TestRunInterrupted(t *testing.T) {
	var accounts []Account
	for i := range 4 {
		accounts = append(accounts, Account{SourceURL: "pop3://h", SourceUser: fmt.Sprint(i), TargetUser: "t",
			SourcePassword: Secret{Env: "X"}, TargetPassword: Secret{Env: "Y"}})
	}
	o := Options{StateDir: t.TempDir(), Parallel: 1}
	items, err := Configs(base("imap://h"), accounts, o)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	o.run = func(ctx context.Context, _ job.Config, _ *slog.Logger) (*migrate.Report, error) {
		cancel()
		<-ctx.Done()
		return &migrate.Report{}, ctx.Err()
	}
	res := Run(ctx, items, o)
	for i, r := range res {
		if r.Exit != ExitInterrupted {
			t.Errorf("account %d: %+v, want interrupted", i, r)
		}
	}
}
