package dovecottest

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mailferry/mailferry/internal/servertest"
)

// A Message is one message as the server serves it over IMAP.
type Message = servertest.Message

// Exec runs `doveadm -c CONF args...` and returns its standard output.
// A failure fails the test, with doveadm's standard error.
func (s *Server) Exec(t testing.TB, args ...string) string {
	t.Helper()
	out, err := s.doveadmRun(args...)
	if err != nil {
		t.Fatalf("dovecottest: %v", err)
	}
	return out
}

func (s *Server) doveadmRun(args ...string) (string, error) {
	cmd := exec.Command(s.doveadm, append([]string{"-c", s.conf}, args...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("doveadm %s: %v\n%s%s", strings.Join(args, " "), err, stdout.String(), stderr.String())
	}
	return stdout.String(), nil
}

// Seed delivers msgs, in order, into folder of user: "" or "INBOX" is the
// INBOX; any other folder is named as IMAP shows it (with the namespace
// prefix and separator) and is created when missing. The bytes are stored
// exactly as given (CRLF or LF), as files written straight into the
// Maildir's new/ and owned by the mail user, then one `doveadm
// force-resync` assigns UIDs in the order of msgs, so POP3 lists them in
// that order too. Writing files keeps seeding thousands of messages fast.
func (s *Server) Seed(t testing.TB, user, folder string, msgs [][]byte) {
	t.Helper()
	if err := s.seed(user, folder, msgs); err != nil {
		t.Fatalf("dovecottest: seed %s/%q: %v", user, folder, err)
	}
}

func (s *Server) seed(user, folder string, msgs [][]byte) error {
	if _, ok := s.users[user]; !ok {
		return fmt.Errorf("unknown user %q", user)
	}
	if folder == "" {
		folder = "INBOX"
	}
	dir, err := s.mailboxDir(user, folder)
	if err != nil {
		return err
	}
	for _, msg := range msgs {
		if err := s.deliver(dir, msg); err != nil {
			return err
		}
	}
	_, err = s.doveadmRun("force-resync", "-u", user, folder)
	return err
}

// mailboxDir returns the Maildir of folder, creating the mailbox when
// missing. Dovecot knows the layout: ask it instead of guessing.
func (s *Server) mailboxDir(user, folder string) (string, error) {
	out, err := s.doveadmRun("mailbox", "path", "-u", user, folder)
	if err != nil {
		return "", err
	}
	dir := strings.TrimSpace(out)
	if dir == "" {
		return "", fmt.Errorf("doveadm mailbox path %q: empty answer", folder)
	}
	if _, err := os.Stat(filepath.Join(dir, "new")); errors.Is(err, os.ErrNotExist) {
		if _, err := s.doveadmRun("mailbox", "create", "-s", "-u", user, folder); err != nil {
			return "", err
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "new")); err != nil {
		return "", fmt.Errorf("maildir of %q: %w", folder, err)
	}
	return dir, nil
}

// Maildir names sort by their time and microseconds, and Dovecot assigns
// UIDs to new files in that order: names get strictly increasing times.
var (
	nameMu   sync.Mutex
	nameLast int64 // microseconds of the last name
	nameSeq  int
)

func maildirName(size, vsize int) string {
	nameMu.Lock()
	defer nameMu.Unlock()
	nameLast = max(time.Now().UnixMicro(), nameLast+1)
	nameSeq++
	return fmt.Sprintf("%d.M%dP%dQ%d.mailferrytest,S=%d,W=%d",
		nameLast/1e6, nameLast%1e6, os.Getpid(), nameSeq, size, vsize)
}

// deliver writes msg into dir/tmp, then renames it into dir/new.
func (s *Server) deliver(dir string, msg []byte) error {
	// W= is the size with every bare LF made CRLF, as IMAP and POP3 serve it.
	vsize := len(msg) + bytes.Count(msg, []byte("\n")) - bytes.Count(msg, []byte("\r\n"))
	name := maildirName(len(msg), vsize)
	tmp := filepath.Join(dir, "tmp", name)
	if err := os.WriteFile(tmp, msg, 0o600); err != nil {
		return err
	}
	if err := s.chown(tmp); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(dir, "new", name))
}

// Fetch returns every message of folder ("" is the INBOX) in UID order,
// read over IMAP with UID FETCH 1:* (UID FLAGS INTERNALDATE BODY.PEEK[]).
func (s *Server) Fetch(t testing.TB, user, folder string) []Message {
	t.Helper()
	return servertest.FetchAs(t, "dovecottest", s.IMAPAddr, s.users, user, folder)
}

// Folders returns the names from LIST "" "*" for user, sorted.
func (s *Server) Folders(t testing.TB, user string) []string {
	t.Helper()
	return servertest.FoldersAs(t, "dovecottest", s.IMAPAddr, s.users, user)
}
