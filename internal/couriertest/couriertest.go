package couriertest

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mailferry/mailferry/internal/nstest"
	"github.com/mailferry/mailferry/internal/servertest"
)

// A User is a mail account of the test server.
type User = servertest.User

// Options configure a Server. The zero value is one user "alice" whose
// password is "alice-secret".
type Options struct {
	// Users are the accounts; default one user "alice"/"alice-secret".
	// Names: letters, digits, '.', '_', '-'. Passwords: no line breaks.
	Users []User
	// Env holds extra KEY=VALUE settings for imapd and pop3d, applied after
	// /etc/courier/imapd and /etc/courier/pop3d (e.g. "IMAP_EMPTYTRASH=").
	Env []string
}

// StartTimeout bounds how long Start waits for the greetings.
const StartTimeout = 30 * time.Second

// A Server is a running private Courier.
type Server struct {
	// IMAPAddr and POP3Addr are "127.0.0.1:port", plain (LOGIN and
	// USER/PASS without TLS).
	IMAPAddr, POP3Addr string
	// Separator (".") and Prefix ("INBOX.") of the personal namespace.
	Separator, Prefix string
	// Users are the accounts, in the order of Options.Users.
	Users []User
	// Dir is the instance directory: configuration, homes.
	Dir string

	ns      *nstest.NS
	opts    Options
	users   map[string]User
	mailUID int // vmail in the namespace
	mailGID int
}

// Available reports why Courier cannot run here (wrapping
// nstest.ErrUnavailable), or nil.
func Available() error {
	_, err := root()
	return err
}

func root() (string, error) {
	return nstest.Root("courier", "/usr/bin/imapd", "/usr/lib/courier/courier/imaplogin",
		"/usr/lib/courier/courier/courierpop3d", "/usr/lib/courier/courier/courierpop3login",
		"/usr/sbin/couriertcpd", "/usr/lib/courier/courier-authlib/authdaemond", "/usr/sbin/makeuserdb",
		"/usr/sbin/userdbpw", "/usr/libexec/gam_server", "/usr/bin/perl")
}

// Start starts a Server and stops it in t.Cleanup, logging the server's
// log when the test failed. Without the packages or root it skips the
// test, or fails it when the environment has CI=true.
func Start(t testing.TB, opts Options) *Server {
	t.Helper()
	return nstest.Start(t, "couriertest", Available(), func() (*Server, error) { return StartProcess(opts) })
}

// StartProcess starts a Server without a testing.TB; the caller must call
// Stop. The error wraps nstest.ErrUnavailable when Courier cannot run here.
func StartProcess(opts Options) (*Server, error) {
	r, err := root()
	if err != nil {
		return nil, err
	}
	if len(opts.Users) == 0 {
		opts.Users = []User{{Name: "alice", Password: "alice-secret"}}
	}
	s := &Server{opts: opts, Users: slices.Clone(opts.Users), Separator: ".", Prefix: "INBOX."}
	if err := s.checkOptions(); err != nil {
		return nil, err
	}
	if s.ns, err = nstest.New("courier"); err != nil {
		return nil, err
	}
	s.Dir = s.ns.Dir
	// Free ports are picked, released, then bound by couriertcpd: another
	// process may take one in between. Start again with fresh ports then.
	if err := s.ns.StartSteps(s.Log, s.prepare, func() error { return s.launch(r) }, s.checkLogins); err != nil {
		return nil, err
	}
	return s, nil
}

var (
	userName = regexp.MustCompile(`^[A-Za-z0-9_-][A-Za-z0-9._-]*$`)
	envName  = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*=`)
)

func (s *Server) checkOptions() error {
	var err error
	s.users, err = servertest.CheckUsers(s.opts.Users, func(u User) error {
		if !userName.MatchString(u.Name) {
			return fmt.Errorf("bad user name %q (letters, digits, '.', '_', '-')", u.Name)
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, e := range s.opts.Env {
		if !envName.MatchString(e) || strings.ContainsAny(e, "\r\n") {
			return fmt.Errorf("bad Env entry %q: want KEY=VALUE on one line", e)
		}
	}
	return nil
}

// Password returns the password of user, or "" for an unknown user.
func (s *Server) Password(user string) string { return s.users[user].Password }

// Stop stops every process of the instance and removes Dir. It is safe to
// call more than once.
func (s *Server) Stop() error {
	return s.ns.Remove(5 * time.Second)
}

// Log returns what the daemons printed (couriertcpd logs each login on
// stderr) and the syslog lines of the instance.
func (s *Server) Log() string { return s.ns.Log() }

// Processes lists the processes of the instance now (host PIDs).
func (s *Server) Processes() []nstest.Proc { return s.ns.Processes() }

// Home returns the home directory of user; its Maildir is Home/Maildir.
func (s *Server) Home(user string) string { return filepath.Join(s.Dir, "home", user) }

func (s *Server) courierDir(elem ...string) string {
	return filepath.Join(append([]string{s.Dir, "courier"}, elem...)...)
}

// readIDs reads the uid and gid of vmail that the setup script wrote.
func (s *Server) readIDs() error {
	data, err := os.ReadFile(s.courierDir("vmail.ids"))
	if err != nil {
		return err
	}
	f := strings.Fields(string(data))
	if len(f) != 2 {
		return fmt.Errorf("vmail.ids = %q, want \"uid gid\"", data)
	}
	if s.mailUID, err = strconv.Atoi(f[0]); err != nil {
		return err
	}
	s.mailGID, err = strconv.Atoi(f[1])
	return err
}

// checkLogins logs every user in over IMAP and selects the INBOX.
func (s *Server) checkLogins() error {
	for _, u := range s.Users {
		if _, err := servertest.Fetch(s.IMAPAddr, u.Name, u.Password, "INBOX"); err != nil {
			return fmt.Errorf("user %s: %w", u.Name, err)
		}
	}
	return nil
}
