package popa3dtest

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// fromLine starts every message Seed writes.
const fromLine = "From mailferry-test@localhost Mon Jan  1 00:00:00 2024\n"

// MboxPath returns the host path of user's maildrop (/var/mail/USER of
// the server).
func (s *Server) MboxPath(user string) string { return filepath.Join(s.Dir, "mail", user) }

// SetMbox replaces user's maildrop with data, byte for byte (an mbox: each
// message after a "From " line). Call it while no session is open.
func (s *Server) SetMbox(t testing.TB, user string, data []byte) {
	t.Helper()
	if err := s.setMbox(user, data); err != nil {
		t.Fatalf("popa3dtest: set maildrop of %s: %v", user, err)
	}
}

func (s *Server) setMbox(user string, data []byte) error {
	id, ok := s.ids[user]
	if !ok {
		return fmt.Errorf("unknown user %q", user)
	}
	path := s.MboxPath(user)
	if err := os.WriteFile(path, data, 0o660); err != nil {
		return err
	}
	return os.Chown(path, id[0], s.mailGID)
}

// Seed replaces user's maildrop with msgs, in order: each one stored with
// LF line ends (CR LF becomes LF) after a "From " line and followed by an
// empty line, so that RETR serves it back with CR LF, byte for byte when it
// was given with CR LF. A message must end with a line end and must not
// hold a line starting with "From " (popa3d would split it there): use
// SetMbox for such cases.
func (s *Server) Seed(t testing.TB, user string, msgs [][]byte) {
	t.Helper()
	data, err := Mbox(msgs)
	if err != nil {
		t.Fatalf("popa3dtest: seed %s: %v", user, err)
	}
	s.SetMbox(t, user, data)
}

// Mbox builds the maildrop Seed writes for msgs.
func Mbox(msgs [][]byte) ([]byte, error) {
	var b bytes.Buffer
	for i, msg := range msgs {
		lf := bytes.ReplaceAll(msg, []byte("\r\n"), []byte("\n"))
		switch {
		case len(lf) == 0 || lf[len(lf)-1] != '\n':
			return nil, fmt.Errorf("message %d does not end with a line end", i+1)
		case bytes.HasPrefix(lf, []byte("From ")) || bytes.Contains(lf, []byte("\nFrom ")):
			return nil, fmt.Errorf("message %d has a line starting with \"From \"", i+1)
		}
		b.WriteString(fromLine)
		b.Write(lf)
		b.WriteByte('\n')
	}
	return b.Bytes(), nil
}

// Maildrop returns user's maildrop as it is now, e.g. after a client
// deleted messages.
func (s *Server) Maildrop(t testing.TB, user string) []byte {
	t.Helper()
	if _, ok := s.ids[user]; !ok {
		t.Fatalf("popa3dtest: maildrop: unknown user %q", user)
	}
	data, err := os.ReadFile(s.MboxPath(user))
	if err != nil {
		t.Fatalf("popa3dtest: maildrop of %s: %v", user, err)
	}
	return data
}
