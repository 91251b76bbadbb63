package job

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/mailferry/mailferry/migrate"
	"github.com/mailferry/mailferry/source/pop3/pop3test"
	"github.com/mailferry/mailferry/target/imap/imaptest"
)

func TestCheck(t *testing.T) {
	imap := imaptest.NewServer(t, "bob", "imap-pass")
	if err := imap.CreateFolder("Projects"); err != nil {
		t.Fatal(err)
	}
	msgs := [][]byte{[]byte("Subject: a\r\n\r\none\r\n"), []byte("Subject: b\r\n\r\ntwo\r\n")}
	pop := pop3test.NewServer(t, pop3test.Options{Users: map[string]string{"alice": "pop-pass"},
		Messages: map[string][][]byte{"alice": msgs}})
	dir := t.TempDir()
	mbox := filepath.Join(dir, "Projects.mbox")
	os.WriteFile(mbox, []byte("From a@b Fri Jul  8 12:08:34 2011\nSubject: x\n\nbody\n"), 0o644)
	pass := map[string]string{"pop3://alice@" + pop.Addr: "pop-pass", "imap://bob@" + imap.Addr: "imap-pass"}
	password := func(_ context.Context, name string) (string, error) { return pass[name], nil }
	plain := func(url string) Server {
		return Server{URL: url, TLS: "none", AllowPlaintext: true, Connections: 4, Password: password}
	}
	c := Config{State: filepath.Join(dir, "state.db"), Dedup: migrate.DedupAccount, Target: plain("imap://bob@" + imap.Addr),
		Sources: []Source{{Server: plain("pop3://alice@" + pop.Addr)}, {Server: Server{URL: "mbox:" + mbox}}}}

	rep, err := Check(t.Context(), c, discard)
	if err != nil {
		t.Fatal(err)
	}
	if tg := rep.Target; tg.Security != "none" || tg.TLS != nil || !slices.Contains(tg.Caps, "UIDPLUS") || tg.Err != nil {
		t.Errorf("target %+v, want a plaintext login announcing UIDPLUS", tg)
	}
	if rep.Layout == nil || !slices.Contains(rep.Layout.Folders, "Projects") {
		t.Fatalf("layout %+v, want the target's folders", rep.Layout)
	}
	if len(rep.Sources) != 2 {
		t.Fatalf("%d sources, want 2", len(rep.Sources))
	}
	p := rep.Sources[0]
	if p.Archive || p.Messages != 2 || p.Bytes != int64(len(msgs[0])+len(msgs[1])) || !slices.Contains(p.Caps, "UIDL") {
		t.Errorf("POP3 source %+v, want 2 messages by STAT and UIDL announced", p)
	}
	if len(p.Folders) != 1 || p.Folders[0].Target != "INBOX" || !p.Folders[0].Exists || p.Folders[0].Messages != 2 {
		t.Errorf("POP3 folders %+v, want 2 messages into INBOX", p.Folders)
	}
	a := rep.Sources[1]
	if !a.Archive || a.Messages != 1 || len(a.Folders) != 1 || a.Folders[0].Target != "Projects" || !a.Folders[0].Exists {
		t.Errorf("mbox source %+v, want 1 message into the existing Projects", a)
	}
	if _, err := os.Stat(c.State); !os.IsNotExist(err) {
		t.Errorf("state: %v, want none created", err)
	}
	if got, _ := imap.Messages("INBOX"); len(got) != 0 {
		t.Errorf("target INBOX holds %d messages", len(got))
	}

	// A refused login: the others are still checked, the error is a
	// connect error.
	pass["pop3://alice@"+pop.Addr] = "wrong"
	rep, err = Check(t.Context(), c, discard)
	if migrate.ClassOf(err) != migrate.ClassConnect || rep == nil || rep.Sources[0].Err == nil || rep.Layout == nil {
		t.Fatalf("Check with a wrong POP3 password = %+v, %v; want a report and a connect error", rep, err)
	}
	// A configuration error: no report.
	c.Dedup = "sometimes"
	rep, err = Check(t.Context(), c, discard)
	if ce := (*ConfigError)(nil); rep != nil || !errors.As(err, &ce) {
		t.Fatalf("Check with a bad dedup = %v, %v; want a ConfigError", rep, err)
	}
}
