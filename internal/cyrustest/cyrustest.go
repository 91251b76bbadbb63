package cyrustest

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mailferry/mailferry/internal/nstest"
	"github.com/mailferry/mailferry/internal/servertest"
)

// A User is a mail account of the test server.
type User = servertest.User

// Options configure a Server. The zero value is the classic namespace with
// one user "alice" whose password is "alice-secret".
type Options struct {
	// AltNamespace selects altnamespace + unixhierarchysep: separator "/",
	// no personal prefix. Otherwise: separator "." and prefix "INBOX.".
	AltNamespace bool
	// Users are the accounts; default one user "alice"/"alice-secret".
	// Names: letters, digits, '.', '_', '-' ('.' only with AltNamespace),
	// not "cyrus". Passwords: no line breaks.
	Users []User
	// Config holds extra imapd.conf lines, appended verbatim
	// (e.g. "munge8bit: no").
	Config string
}

// StartTimeout bounds how long Start waits for the greetings.
const StartTimeout = 30 * time.Second

// admin is Cyrus's administrator account (imapd.conf "admins").
const admin = "cyrus"

// servername is the SASL realm of every user.
const servername = "mailferry-cyrus"

// A Server is a running private Cyrus.
type Server struct {
	// IMAPAddr and POP3Addr are "127.0.0.1:port", plain (LOGIN and
	// USER/PASS without TLS).
	IMAPAddr, POP3Addr string
	// Separator is the hierarchy separator ("." or "/"); Prefix is the
	// personal namespace prefix ("INBOX." or "").
	Separator, Prefix string
	// Users are the accounts, in the order of Options.Users.
	Users []User
	// Admin is the Cyrus administrator ("cyrus"), with its password.
	Admin User
	// Dir is the instance directory: configuration, spool, sasldb.
	Dir string

	ns    *nstest.NS
	opts  Options
	users map[string]User
}

// Available reports why Cyrus cannot run here (wrapping
// nstest.ErrUnavailable), or nil.
func Available() error {
	_, err := root()
	return err
}

func root() (string, error) {
	return nstest.Root("cyrus", "/usr/lib/cyrus/bin/master", "/usr/lib/cyrus/bin/imapd",
		"/usr/lib/cyrus/bin/pop3d", "/usr/sbin/saslpasswd2")
}

// Start starts a Server and stops it in t.Cleanup, logging the server's
// log when the test failed. Without the packages or root it skips the
// test, or fails it when the environment has CI=true.
func Start(t testing.TB, opts Options) *Server {
	t.Helper()
	return nstest.Start(t, "cyrustest", Available(), func() (*Server, error) { return StartProcess(opts) })
}

// StartProcess starts a Server without a testing.TB; the caller must call
// Stop. The error wraps nstest.ErrUnavailable when Cyrus cannot run here.
func StartProcess(opts Options) (*Server, error) {
	r, err := root()
	if err != nil {
		return nil, err
	}
	opts = opts.withDefaults()
	s := &Server{opts: opts, Users: slices.Clone(opts.Users), Separator: ".", Prefix: "INBOX."}
	if opts.AltNamespace {
		s.Separator, s.Prefix = "/", ""
	}
	if err := s.checkUsers(); err != nil {
		return nil, err
	}
	if s.ns, err = nstest.New("cyrus"); err != nil {
		return nil, err
	}
	s.Dir = s.ns.Dir
	// Free ports are picked, released, then bound by the master: another
	// process may take one in between. Start again with fresh ports then.
	if err := s.ns.StartSteps(s.Log, s.prepare, func() error { return s.launch(r) }, s.createMailboxes); err != nil {
		return nil, err
	}
	return s, nil
}

func (o Options) withDefaults() Options {
	if len(o.Users) == 0 {
		o.Users = []User{{Name: "alice", Password: "alice-secret"}}
	}
	return o
}

var userName = regexp.MustCompile(`^[A-Za-z0-9_-][A-Za-z0-9._-]*$`)

func (s *Server) checkUsers() error {
	s.Admin = User{Name: admin, Password: "cyrus-admin-secret"}
	var err error
	s.users, err = servertest.CheckUsers(s.opts.Users, func(u User) error {
		switch {
		case !userName.MatchString(u.Name) || u.Name == admin:
			return fmt.Errorf("bad user name %q (letters, digits, '.', '_', '-'; not %q)", u.Name, admin)
		case strings.Contains(u.Name, ".") && !s.opts.AltNamespace:
			return fmt.Errorf("user name %q: '.' is the separator of the classic namespace", u.Name)
		}
		return nil
	})
	return err
}

// Password returns the password of user, or "" for an unknown user.
func (s *Server) Password(user string) string { return s.users[user].Password }

// Stop stops the master and every process it started (SIGTERM, then after
// 10 s SIGKILL) and removes Dir. It is safe to call more than once.
func (s *Server) Stop() error {
	return s.ns.Remove(10 * time.Second)
}

// Log returns what the master and the setup printed and every syslog line
// of the instance (imapd, pop3d, master).
func (s *Server) Log() string { return s.ns.Log() }

// Processes lists the processes of the instance now (host PIDs).
func (s *Server) Processes() []nstest.Proc { return s.ns.Processes() }

func (s *Server) cyrusDir(elem ...string) string {
	return filepath.Join(append([]string{s.Dir, "cyrus"}, elem...)...)
}

// writeSecret writes a password where only root reads it; the setup
// script feeds it to saslpasswd2 on stdin (never in argv).
func (s *Server) writeSecret(name, password string) error {
	return os.WriteFile(filepath.Join(s.Dir, "secrets", name), []byte(password), 0o600)
}

// Seed stores msgs, in order, in folder of user with APPEND as that user,
// creating the folder when missing. folder is named as IMAP shows it (with
// Prefix and Separator); "" is the INBOX, which pop3d serves. Cyrus stores
// what it accepts under its own rules (munge8bit): read back with Fetch.
func (s *Server) Seed(t testing.TB, user, folder string, msgs [][]byte) {
	t.Helper()
	servertest.AppendAs(t, "cyrustest", s.IMAPAddr, s.users, user, folder, msgs)
}

// Fetch returns every message of folder ("" is the INBOX) of user in UID
// order, exactly as imapd serves them.
func (s *Server) Fetch(t testing.TB, user, folder string) []servertest.Message {
	t.Helper()
	return servertest.FetchAs(t, "cyrustest", s.IMAPAddr, s.users, user, folder)
}

// Folders returns the names from LIST "" "*" for user, sorted.
func (s *Server) Folders(t testing.TB, user string) []string {
	t.Helper()
	return servertest.FoldersAs(t, "cyrustest", s.IMAPAddr, s.users, user)
}
