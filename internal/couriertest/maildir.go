package couriertest

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mailferry/mailferry/internal/servertest"
)

// A MaildirMessage is one file of a Maildir folder, as stored.
type MaildirMessage struct {
	Name  string // file name, with its ":2,FLAGS" info when in cur/
	New   bool   // in new/ (not yet seen by a client)
	Flags string // the letters after ":2," (D, F, P, R, S, T), sorted
	Body  []byte
}

// MaildirPath returns the directory of folder in user's Maildir: the
// Maildir itself for "" or "INBOX", Maildir/.Name for "INBOX.Name"
// (Maildir++). It does not check that the folder exists.
func (s *Server) MaildirPath(user, folder string) (string, error) {
	md := filepath.Join(s.Home(user), "Maildir")
	switch {
	case folder == "" || folder == "INBOX":
		return md, nil
	case strings.HasPrefix(folder, s.Prefix) && len(folder) > len(s.Prefix):
		name := folder[len(s.Prefix):]
		if strings.ContainsAny(name, "/\x00") || strings.HasPrefix(name, ".") {
			return "", fmt.Errorf("folder %q: no Maildir++ name for it here; seed it with servertest.Append", folder)
		}
		return filepath.Join(md, "."+name), nil
	default:
		return "", fmt.Errorf("folder %q is not under %q", folder, s.Prefix)
	}
}

// Seed writes msgs, in order, as files into new/ of folder in user's
// Maildir, byte for byte as given, owned by the mail user, so that Courier
// serves them in that order (IMAP UIDs and POP3 numbers). Courier expects
// LF line ends in Maildir files; see the package doc for what it does with
// CR LF. folder is "" (the INBOX, which courier-pop serves) or a name as
// IMAP shows it ("INBOX.Sent"); a missing folder is created over IMAP first,
// so that Courier lays it out itself.
func (s *Server) Seed(t testing.TB, user, folder string, msgs [][]byte) {
	t.Helper()
	if err := s.seed(user, folder, msgs); err != nil {
		t.Fatalf("couriertest: seed %s/%q: %v", user, folder, err)
	}
}

func (s *Server) seed(user, folder string, msgs [][]byte) error {
	u, ok := s.users[user]
	if !ok {
		return fmt.Errorf("unknown user %q", user)
	}
	dir, err := s.MaildirPath(user, folder)
	if err != nil {
		return err
	}
	if _, err := os.Stat(filepath.Join(dir, "new")); errors.Is(err, os.ErrNotExist) {
		// Append of nothing creates the folder (CREATE after LIST).
		if err := servertest.Append(s.IMAPAddr, u.Name, u.Password, folder, nil); err != nil {
			return err
		}
		if _, err := os.Stat(filepath.Join(dir, "new")); err != nil {
			return fmt.Errorf("courier created %q elsewhere than %s: %w", folder, dir, err)
		}
	}
	for _, msg := range msgs {
		if err := s.deliver(dir, msg); err != nil {
			return err
		}
	}
	return nil
}

// Maildir names sort by their time and microseconds; the files' mtimes
// increase with them, for servers that order by mtime.
var (
	nameMu   sync.Mutex
	nameLast int64 // microseconds of the last name
	nameSeq  int
)

func maildirName(size int) (string, time.Time) {
	nameMu.Lock()
	defer nameMu.Unlock()
	nameLast = max(time.Now().UnixMicro(), nameLast+1)
	nameSeq++
	return fmt.Sprintf("%d.M%06dP%dQ%d.mailferrytest,S=%d", nameLast/1e6, nameLast%1e6, os.Getpid(), nameSeq, size),
		time.UnixMicro(nameLast)
}

// deliver writes msg into dir/tmp, then renames it into dir/new.
func (s *Server) deliver(dir string, msg []byte) error {
	name, mtime := maildirName(len(msg))
	tmp := filepath.Join(dir, "tmp", name)
	if err := os.WriteFile(tmp, msg, 0o600); err != nil {
		return err
	}
	if err := os.Chown(tmp, s.mailUID, s.mailGID); err != nil {
		return err
	}
	if err := os.Chtimes(tmp, mtime, mtime); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(dir, "new", name))
}

// Maildir returns every message file of folder ("" is the INBOX) of user,
// from new/ and cur/, sorted by name: what Courier stored, read without
// Courier.
func (s *Server) Maildir(t testing.TB, user, folder string) []MaildirMessage {
	t.Helper()
	msgs, err := s.readMaildir(user, folder)
	if err != nil {
		t.Fatalf("couriertest: read Maildir %s/%q: %v", user, folder, err)
	}
	return msgs
}

func (s *Server) readMaildir(user, folder string) ([]MaildirMessage, error) {
	if _, ok := s.users[user]; !ok {
		return nil, fmt.Errorf("unknown user %q", user)
	}
	dir, err := s.MaildirPath(user, folder)
	if err != nil {
		return nil, err
	}
	var msgs []MaildirMessage
	for _, sub := range []string{"new", "cur"} {
		entries, err := os.ReadDir(filepath.Join(dir, sub))
		if err != nil {
			return nil, err
		}
		for _, e := range entries {
			if !e.Type().IsRegular() {
				continue
			}
			body, err := os.ReadFile(filepath.Join(dir, sub, e.Name()))
			if err != nil {
				return nil, err
			}
			m := MaildirMessage{Name: e.Name(), New: sub == "new", Body: body}
			if _, info, ok := strings.Cut(e.Name(), ":2,"); ok {
				f := []byte(info)
				slices.Sort(f)
				m.Flags = string(f)
			}
			msgs = append(msgs, m)
		}
	}
	slices.SortFunc(msgs, func(a, b MaildirMessage) int { return strings.Compare(a.Name, b.Name) })
	return msgs, nil
}

// Fetch returns every message of folder ("" is the INBOX) of user in UID
// order, exactly as Courier IMAP serves them.
func (s *Server) Fetch(t testing.TB, user, folder string) []servertest.Message {
	t.Helper()
	return servertest.FetchAs(t, "couriertest", s.IMAPAddr, s.users, user, folder)
}

// Folders returns the names from LIST "" "*" for user, sorted.
func (s *Server) Folders(t testing.TB, user string) []string {
	t.Helper()
	return servertest.FoldersAs(t, "couriertest", s.IMAPAddr, s.users, user)
}
