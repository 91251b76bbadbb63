package bench

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/mailferry/mailferry/internal/dovecottest"
)

// TestBareClient appends a small corpus with each mode of the bare
// client, one through a delaying proxy, and checks what Dovecot holds.
func TestBareClient(t *testing.T) {
	users := []dovecottest.User{{Name: "pipe", Password: password}, {Name: "sync", Password: password}}
	s := dovecottest.Start(t, dovecottest.Options{Users: users})
	c := Generate(30, 7)
	p := startProxy(t, &Proxy{Upstream: s.IMAPAddr, Delay: time.Millisecond})

	if err := pipelined(t.Context(), nil, s.IMAPAddr, "pipe", c.Msgs); err != nil {
		t.Fatalf("pipelined: %v", err)
	}
	err := AppendAll(t.Context(), directTo(p.Addr()), s.IMAPAddr, "sync", password, "INBOX", c.Msgs, 3)
	if err != nil {
		t.Fatalf("AppendAll: %v", err)
	}
	for _, u := range []string{"pipe", "sync"} {
		if n, err := Count(t.Context(), s.IMAPAddr, u, password, "INBOX"); n != len(c.Msgs) || err != nil {
			t.Errorf("Count(%s) = %d, %v, want %d", u, n, err, len(c.Msgs))
		}
	}
	got := s.Fetch(t, "pipe", "")
	for i, m := range got {
		if !bytes.Equal(m.Body, c.Msgs[i]) {
			t.Errorf("pipelined message %d: %d bytes stored, want the %d sent, equal", i, len(m.Body), len(c.Msgs[i]))
		}
	}
	if _, err := Login(t.Context(), nil, s.IMAPAddr, "pipe", "wrong"); err == nil {
		t.Errorf("Login with a wrong password = nil, want an error")
	}
}

// TestGenerate checks the corpus: deterministic, CRLF only, within
// MaxSize, Message-IDs unique and missing exactly every NoIDEvery-th.
func TestGenerate(t *testing.T) {
	a, b := Generate(800, 3), Generate(800, 3)
	ids := map[string]bool{}
	for i, m := range a.Msgs {
		if !bytes.Equal(m, b.Msgs[i]) {
			t.Fatalf("message %d differs between two runs with the same seed", i)
		}
		if bytes.Count(m, []byte("\n")) != bytes.Count(m, []byte("\r\n")) {
			t.Errorf("message %d has a bare LF", i)
		}
		if len(m) > MaxSize {
			t.Errorf("message %d: %d bytes, want at most %d", i, len(m), MaxSize)
		}
		head, _, _ := bytes.Cut(m, []byte("\r\n\r\n"))
		_, id, has := bytes.Cut(head, []byte("\r\nMessage-ID: "))
		if want := i%NoIDEvery != NoIDEvery-1; has != want {
			t.Errorf("message %d has a Message-ID: %v, want %v", i, has, want)
		}
		if has {
			id, _, _ = bytes.Cut(id, []byte("\r\n"))
			if ids[string(id)] {
				t.Errorf("message %d repeats Message-ID %s", i, id)
			}
			ids[string(id)] = true
		}
	}
	t.Logf("%d messages, %d bytes, median %d, largest %d", len(a.Msgs), a.Bytes, a.Median(), a.Max())
}

// TestRSSWrapper runs a shell through the wrapper: exit code passed on,
// peak RSS written.
func TestRSSWrapper(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "rss")
	cmd := exec.Command(self, "/bin/sh", "-c", "exit 3")
	cmd.Env = append(os.Environ(), rssEnv+"="+out)
	err = cmd.Run()
	if cmd.ProcessState == nil || cmd.ProcessState.ExitCode() != 3 {
		t.Fatalf("wrapper exit = %v, want code 3", err)
	}
	u, err := readUsage(out)
	if err != nil || u.maxRSS <= 0 || u.floor <= 0 {
		t.Fatalf("readUsage() = %+v, %v, want two sizes", u, err)
	}
	t.Logf("peak RSS of sh: %s (wrapper floor %s)", mib(u.maxRSS), mib(u.floor))
}

func mib(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }
