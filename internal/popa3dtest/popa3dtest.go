package popa3dtest

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/user"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/mailferry/mailferry/internal/nstest"
	"github.com/mailferry/mailferry/internal/servertest"
)

// A User is a system user of the namespace, with its maildrop.
type User = servertest.User

// Options configure a Server. The zero value is one user "alice" whose
// password is "alice-secret", with an empty maildrop.
type Options struct {
	// Users are the accounts; default one user "alice"/"alice-secret".
	// Names: lower-case letters, digits, '_', '-', starting with a letter.
	// Passwords: no line breaks, no ':'.
	Users []User
}

// A Server is a running private popa3d.
type Server struct {
	// POP3Addr is "127.0.0.1:port" (USER/PASS without TLS).
	POP3Addr string
	// Users are the accounts, in the order of Options.Users.
	Users []User
	// Dir is the instance directory; Dir/mail is /var/mail of the server.
	Dir string

	ns       *nstest.NS
	users    map[string]User
	ids      map[string][2]int // uid, gid in the namespace
	mailGID  int
	ln       net.Listener
	conns    sync.WaitGroup // accept loop and the popa3d commands
	stopOnce sync.Once
	stopErr  error
}

// Available reports why popa3d cannot run here (wrapping
// nstest.ErrUnavailable), or nil.
func Available() error {
	_, err := root()
	return err
}

func root() (string, error) {
	return nstest.Root("popa3d", "/usr/sbin/popa3d", "/etc/pam.d/popa3d", "/usr/sbin/chpasswd")
}

// Start starts a Server and stops it in t.Cleanup, logging the server's
// log when the test failed. Without the package or root it skips the test,
// or fails it when the environment has CI=true.
func Start(t testing.TB, opts Options) *Server {
	t.Helper()
	return nstest.Start(t, "popa3dtest", Available(), func() (*Server, error) { return StartProcess(opts) })
}

var userName = regexp.MustCompile(`^[a-z][a-z0-9_-]*$`)

func checkUser(u User) error {
	switch {
	case !userName.MatchString(u.Name) || u.Name == "popa3d" || u.Name == "root":
		return fmt.Errorf("bad user name %q (a-z, 0-9, '_', '-'; not popa3d or root)", u.Name)
	case strings.Contains(u.Password, ":"):
		return fmt.Errorf("user %s: ':' in the password", u.Name)
	}
	return nil
}

// StartProcess starts a Server without a testing.TB; the caller must call
// Stop. The error wraps nstest.ErrUnavailable when popa3d cannot run here.
func StartProcess(opts Options) (*Server, error) {
	r, err := root()
	if err != nil {
		return nil, err
	}
	if len(opts.Users) == 0 {
		opts.Users = []User{{Name: "alice", Password: "alice-secret"}}
	}
	s := &Server{Users: slices.Clone(opts.Users), ids: map[string][2]int{}}
	if s.users, err = servertest.CheckUsers(opts.Users, checkUser); err != nil {
		return nil, err
	}
	if s.ns, err = nstest.New("popa3d"); err != nil {
		return nil, err
	}
	s.Dir = s.ns.Dir
	// The listener takes a port of its own choice: launch never meets a
	// busy one.
	if err := s.ns.StartSteps(s.Log, nil, func() error { return s.launch(r) }, nil); err != nil {
		return nil, err
	}
	return s, nil
}

// launch prepares Dir/mail and the passwords, starts the namespace (users
// added, /var/mail bound to Dir/mail, then an idle PID 1) and the listener.
func (s *Server) launch(root string) error {
	g, err := user.LookupGroup("mail")
	if err != nil {
		return fmt.Errorf("group mail: %w", err)
	}
	if s.mailGID, err = strconv.Atoi(g.Gid); err != nil {
		return err
	}
	mail := filepath.Join(s.Dir, "mail")
	if err := os.Mkdir(mail, 0o775); err != nil {
		return err
	}
	if err := os.Chown(mail, 0, s.mailGID); err != nil {
		return err
	}
	if err := os.Chmod(mail, 0o2775); err != nil {
		return err
	}
	var pw strings.Builder
	for _, u := range s.Users {
		fmt.Fprintf(&pw, "%s:%s\n", u.Name, u.Password)
	}
	secrets := filepath.Join(s.Dir, "passwords")
	if err := os.WriteFile(secrets, []byte(pw.String()), 0o600); err != nil {
		return err
	}
	if err := s.ns.Launch(nstest.Launch{Root: root, Setup: s.setupScript(mail, secrets), Run: "sleep infinity"}); err != nil {
		return err
	}
	if err := s.readIDs(); err != nil {
		return err
	}
	if s.ln, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
		return err
	}
	s.POP3Addr = s.ln.Addr().String()
	s.conns.Add(1)
	go s.serve()
	return nil
}

// setupScript adds the users (only in the namespace), their passwords
// (chpasswd reads them from a file) and their empty maildrops.
func (s *Server) setupScript(mail, secrets string) string {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	p("id popa3d >/dev/null 2>&1 || useradd --system --no-create-home --home-dir /var/lib/popa3d --shell /usr/sbin/nologin popa3d")
	p("mount --bind %s /var/mail", nstest.Q(mail))
	p(": >%s", nstest.Q(filepath.Join(s.Dir, "ids")))
	for _, u := range s.Users {
		p("useradd --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin %s", u.Name)
		p(": >/var/mail/%[1]s && chown %[1]s:mail /var/mail/%[1]s && chmod 0660 /var/mail/%[1]s", u.Name)
		p("echo %[1]s $(id -u %[1]s) $(id -g %[1]s) >>%[2]s", u.Name, nstest.Q(filepath.Join(s.Dir, "ids")))
	}
	p("chpasswd <%s", nstest.Q(secrets))
	return b.String()
}

func (s *Server) readIDs() error {
	data, err := os.ReadFile(filepath.Join(s.Dir, "ids"))
	if err != nil {
		return err
	}
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		f := strings.Fields(line)
		if len(f) != 3 {
			return fmt.Errorf("ids line %q", line)
		}
		uid, err1 := strconv.Atoi(f[1])
		gid, err2 := strconv.Atoi(f[2])
		if err := errors.Join(err1, err2); err != nil {
			return err
		}
		s.ids[f[0]] = [2]int{uid, gid}
	}
	if len(s.ids) != len(s.Users) {
		return fmt.Errorf("ids of %d users, want %d", len(s.ids), len(s.Users))
	}
	return nil
}

// serve plays inetd: one popa3d per connection, inside the namespace.
func (s *Server) serve() {
	defer s.conns.Done()
	for {
		conn, err := s.ln.Accept()
		if err != nil {
			return
		}
		if err := s.spawn(conn); err != nil {
			fmt.Fprintf(conn, "-ERR popa3dtest: %v\r\n", err)
		}
		conn.Close()
	}
}

func (s *Server) spawn(conn net.Conn) error {
	f, err := conn.(*net.TCPConn).File()
	if err != nil {
		return err
	}
	defer f.Close()
	cmd, err := s.ns.Command("/usr/sbin/popa3d")
	if err != nil {
		return err
	}
	logf, err := os.OpenFile(filepath.Join(s.Dir, "popa3d.stderr"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer logf.Close()
	cmd.Stdin, cmd.Stdout, cmd.Stderr = f, f, logf
	if err := cmd.Start(); err != nil {
		return err
	}
	s.conns.Add(1)
	go func() {
		defer s.conns.Done()
		_ = cmd.Wait()
	}()
	return nil
}

// Stop closes the listener, ends every process of the instance (popa3d
// sessions included) and removes Dir. It is safe to call more than once.
func (s *Server) Stop() error {
	s.stopOnce.Do(func() {
		if s.ln != nil {
			s.ln.Close()
		}
		// popa3d keeps nothing open between sessions: no grace needed.
		s.stopErr = s.ns.Stop(0)
		s.conns.Wait()
		if err := s.ns.Remove(0); err != nil && s.stopErr == nil {
			s.stopErr = err
		}
	})
	return s.stopErr
}

// Log returns the setup output, popa3d's stderr and the syslog lines of the
// instance (popa3d logs each login and failure there).
func (s *Server) Log() string {
	out := s.ns.Log()
	if data, err := os.ReadFile(filepath.Join(s.Dir, "popa3d.stderr")); err == nil && len(data) > 0 {
		out += "== popa3d stderr ==\n" + string(data)
	}
	return out
}

// Processes lists the processes of the instance now (host PIDs).
func (s *Server) Processes() []nstest.Proc { return s.ns.Processes() }
