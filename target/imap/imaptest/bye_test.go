package imaptest

import (
	"bufio"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

// rawSession logs in over a bare TCP connection, sends cmds (each with
// its own tag, literals inline) and returns every line the server sent
// until it closed the connection.
func rawSession(t *testing.T, s *Server, cmds ...string) []string {
	t.Helper()
	c, err := net.DialTimeout("tcp", s.Addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Write([]byte("L LOGIN u p\r\n" + strings.Join(cmds, ""))); err != nil {
		t.Fatal(err)
	}
	var lines []string
	sc := bufio.NewScanner(c)
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	return lines
}

// wantBye checks that the server's last line is the BYE and that cmd,
// tagged tag, got no tagged answer.
func wantBye(t *testing.T, lines []string, tag string) {
	t.Helper()
	if len(lines) == 0 || lines[len(lines)-1] != "* BYE "+ByeText {
		t.Fatalf("server sent %q, want it to end with * BYE %s", lines, ByeText)
	}
	for _, l := range lines {
		if strings.HasPrefix(l, tag+" ") {
			t.Fatalf("server answered %q before its BYE, want no tagged answer", l)
		}
	}
}

func TestCommandHookBye(t *testing.T) {
	const appendCmd = "A APPEND INBOX {11+}\r\nSubject: x\r\n"
	for _, c := range []struct {
		name   string
		cmd    string // what the hook acts on
		fault  Fault
		send   []string
		stored int // messages in INBOX after
	}{
		{"APPEND, BYE before storing", "APPEND", ByeBefore, []string{appendCmd}, 0},
		{"APPEND, BYE after storing", "APPEND", ByeAfter, []string{appendCmd}, 1},
		{"SELECT", "SELECT", ByeBefore, []string{"A SELECT INBOX\r\n"}, 0},
		{"EXAMINE", "EXAMINE", ByeAfter, []string{"A EXAMINE INBOX\r\n"}, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := NewServer(t, "u", "p")
			var mu sync.Mutex
			var asked []string
			s.SetCommandHook(func(cmd, mailbox string) Fault {
				mu.Lock()
				defer mu.Unlock()
				asked = append(asked, cmd+" "+mailbox)
				if cmd == c.cmd {
					return c.fault
				}
				return Answer
			})
			wantBye(t, rawSession(t, s, c.send...), "A")
			mu.Lock()
			defer mu.Unlock()
			if len(asked) != 1 || asked[0] != c.cmd+" INBOX" {
				t.Errorf("hook asked about %q, want [%s INBOX]", asked, c.cmd)
			}
			s.SetCommandHook(nil)
			if got, err := s.Messages("INBOX"); err != nil || len(got) != c.stored {
				t.Fatalf("INBOX holds %d messages (%v), want %d", len(got), err, c.stored)
			}
		})
	}
	t.Run("FETCH, BYE after the data", func(t *testing.T) {
		s := NewServer(t, "u", "p")
		rawSession(t, s, appendCmd, "Z LOGOUT\r\n")
		s.SetCommandHook(func(cmd, mailbox string) Fault {
			if cmd == "FETCH" && mailbox == "INBOX" {
				return ByeAfter
			}
			return Answer
		})
		lines := rawSession(t, s, "S EXAMINE INBOX\r\n", "F UID FETCH 1:* (UID RFC822.SIZE)\r\n")
		wantBye(t, lines, "F")
		if !strings.Contains(strings.Join(lines, "\n"), "* 1 FETCH (UID 1 RFC822.SIZE 11)") {
			t.Fatalf("server sent %q, want the FETCH data before the BYE", lines)
		}
	})
}
