package dovecottest

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/mailferry/mailferry/internal/harness"
	"github.com/mailferry/mailferry/internal/servertest"
	"github.com/mailferry/mailferry/internal/testenv"
)

// A User is a mail account of the test server.
type User = servertest.User

// Options configure a Server. The zero value is one user "alice" with
// password "alice-secret", separator "/" and an empty personal prefix.
type Options struct {
	// Users are the accounts; default one user "alice"/"alice-secret".
	// Names and passwords must not contain ':' or line breaks.
	Users []User
	// Separator is the hierarchy separator; default "/".
	Separator string
	// Prefix is the personal namespace prefix; default "" (e.g. "INBOX.").
	Prefix string
	// SpecialUse declares Sent, Drafts, Trash, Junk and Archive with their
	// SPECIAL-USE attributes. They are not created.
	SpecialUse bool
	// Config holds extra dovecot.conf lines, appended verbatim (e.g. quota).
	Config string
	// MasterUsers are admins of a master passdb: each logs in as any user
	// with its own password, as "user*master" (auth_master_user_separator
	// is "*") or with SASL PLAIN naming the user as authorization
	// identity. They have no mailbox. Same rules for names as Users.
	MasterUsers []User
	// OAuth2IntrospectionURL, when set, adds an oauth2 passdb for the
	// XOAUTH2 and OAUTHBEARER mechanisms that POSTs each token (form
	// field "token") to this URL, which must answer a JSON object with
	// "active": true and "username" naming the user, or "active": false.
	// Dovecot caches no token: every login asks the URL.
	OAuth2IntrospectionURL string
}

// StartTimeout bounds how long Start waits for all four ports to answer.
const StartTimeout = 10 * time.Second

// A Server is a running private Dovecot.
type Server struct {
	// IMAPAddr, IMAPSAddr, POP3Addr and POP3SAddr are "127.0.0.1:port".
	// The plain ports accept LOGIN/USER+PASS without TLS.
	IMAPAddr, IMAPSAddr, POP3Addr, POP3SAddr string
	// CAFile is the PEM file of the self-signed server certificate
	// (CN=localhost, SANs localhost and 127.0.0.1); CertPool holds it.
	CAFile   string
	CertPool *x509.CertPool
	// Dir is the instance directory: config, logs, homes, sockets.
	Dir string

	conf     string // path of dovecot.conf
	doveadm  string // path of the doveadm binary
	users    map[string]User
	opts     Options
	mailUID  int
	mailGID  int
	cmd      *exec.Cmd
	exited   chan struct{} // closed when the master has exited
	stopOnce sync.Once
	stopErr  error
}

// Available reports whether a usable Dovecot with IMAP and POP3 is installed.
func Available() error {
	_, _, err := binaries()
	return err
}

// Need skips t when Dovecot is not installed (or external servers are left
// out, see internal/testenv), and fails it instead when the environment
// has CI=true.
func Need(t testing.TB) {
	t.Helper()
	testenv.NeedServers(t, "dovecottest")
	if err := Available(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("dovecottest: Dovecot is required in CI: %v", err)
		}
		t.Skipf("dovecottest: skipping, Dovecot not available: %v", err)
	}
}

// Start starts a Server and stops it in t.Cleanup. Without Dovecot it skips
// the test, or fails it when the environment has CI=true.
func Start(t testing.TB, opts Options) *Server {
	t.Helper()
	Need(t)
	s, err := StartProcess(opts)
	if err != nil {
		t.Fatalf("dovecottest: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Stop(); err != nil {
			t.Errorf("dovecottest: stop: %v", err)
		}
	})
	return s
}

// StartProcess starts a Server without a testing.TB. The caller must call
// Stop. Errors include the tail of the Dovecot log when there is one.
func StartProcess(opts Options) (*Server, error) {
	dovecot, doveadm, err := binaries()
	if err != nil {
		return nil, err
	}
	reapOnce.Do(reapStale)
	opts = opts.withDefaults()
	s := &Server{opts: opts, doveadm: doveadm, users: map[string]User{}}
	for _, u := range opts.Users {
		if strings.ContainsAny(u.Name+u.Password, ":\r\n") || u.Name == "" {
			return nil, fmt.Errorf("bad user %q: empty name, or ':' or line break", u.Name)
		}
		s.users[u.Name] = u
	}
	for _, u := range opts.MasterUsers {
		if strings.ContainsAny(u.Name+u.Password, ":*\r\n") || u.Name == "" {
			return nil, fmt.Errorf("bad master user %q: empty name, or ':', '*' or line break", u.Name)
		}
	}
	if err := s.prepare(); err != nil {
		s.removeDir()
		return nil, err
	}
	// Free ports are picked, released, then bound by Dovecot: another
	// process may take one in between. Retry with fresh ports then.
	if err := harness.StartOnFreePorts(func() error { return s.launch(dovecot) }); err != nil {
		s.removeDir()
		return nil, err
	}
	return s, nil
}

func (o Options) withDefaults() Options {
	if len(o.Users) == 0 {
		o.Users = []User{{Name: "alice", Password: "alice-secret"}}
	}
	if o.Separator == "" {
		o.Separator = "/"
	}
	return o
}

// launch writes the config with fresh ports, starts the master in the
// foreground and waits until the four ports answer.
func (s *Server) launch(dovecot string) error {
	ports, err := pickPorts(4)
	if err != nil {
		return err
	}
	addr := func(p int) string { return fmt.Sprintf("127.0.0.1:%d", p) }
	s.IMAPAddr, s.IMAPSAddr, s.POP3Addr, s.POP3SAddr = addr(ports[0]), addr(ports[1]), addr(ports[2]), addr(ports[3])
	if err := os.WriteFile(s.conf, []byte(s.config(ports)), 0o644); err != nil {
		return err
	}
	out, err := os.OpenFile(filepath.Join(s.Dir, "dovecot.out"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer out.Close()
	// stdin is /dev/null; stdout and stderr go to a file, never to a pipe:
	// the master keeps them open, so a pipe would never reach EOF.
	cmd := exec.Command(dovecot, "-F", "-c", s.conf)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start dovecot: %w", err)
	}
	s.cmd, s.exited = cmd, make(chan struct{})
	go func() { _ = cmd.Wait(); close(s.exited) }()
	if err := s.waitReady(StartTimeout); err != nil {
		s.kill()
		if strings.Contains(s.LogTail(), "Address already in use") {
			return harness.ErrAddrInUse
		}
		return fmt.Errorf("%w\n--- dovecot log (tail) ---\n%s", err, s.LogTail())
	}
	return nil
}

// waitReady waits for the greetings on the plain ports and for the TLS
// ports to accept, or for the master to exit, or for the timeout.
func (s *Server) waitReady(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	checks := []struct {
		addr, greeting string
		tls            *tls.Config
	}{
		{s.IMAPAddr, "* OK", nil},
		{s.POP3Addr, "+OK", nil},
		{s.IMAPSAddr, "* OK", &tls.Config{RootCAs: s.CertPool, ServerName: "localhost"}},
		{s.POP3SAddr, "+OK", &tls.Config{RootCAs: s.CertPool, ServerName: "localhost"}},
	}
	for _, c := range checks {
		for {
			select {
			case <-s.exited:
				return fmt.Errorf("dovecot exited during start (%v)", s.cmd.ProcessState)
			default:
			}
			err := probe(c.addr, c.greeting, c.tls, time.Until(deadline))
			if err == nil {
				break
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("dovecot not ready on %s within %v: %w", c.addr, timeout, err)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	return nil
}

// probe connects to addr, with TLS when config is set, reads the first
// line and checks its prefix. A greeting shows that the login process and
// its TLS setup are up, not only the master's listening socket.
func probe(addr, greeting string, config *tls.Config, timeout time.Duration) error {
	timeout = max(min(timeout, 2*time.Second), 50*time.Millisecond)
	var conn net.Conn
	conn, err := net.DialTimeout("tcp", addr, timeout)
	if err != nil {
		return err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(timeout))
	if config != nil {
		conn = tls.Client(conn, config)
		defer conn.Close()
	}
	buf := make([]byte, 512)
	n, err := conn.Read(buf)
	if !bytes.HasPrefix(buf[:n], []byte(greeting)) {
		return fmt.Errorf("greeting %q, want %q... (%v)", buf[:n], greeting, err)
	}
	return nil
}

// Stop stops Dovecot (SIGTERM; see quiesced) and removes Dir. When it
// returns, the ports are closed and the mail processes have ended. After
// 10 s it kills the master. It is safe to call more than once.
func (s *Server) Stop() error {
	s.stopOnce.Do(func() {
		if s.cmd != nil {
			_ = s.cmd.Process.Signal(syscall.SIGTERM)
			if s.quiesced(5 * time.Second) {
				s.kill()
			} else {
				select {
				case <-s.exited:
				case <-time.After(10 * time.Second):
					s.stopErr = fmt.Errorf("dovecot did not stop within 10s; killed\n%s", s.LogTail())
					s.kill()
				}
			}
		}
		if err := s.removeDir(); err != nil && s.stopErr == nil {
			s.stopErr = err
		}
	})
	return s.stopErr
}

func (s *Server) kill() {
	_ = s.cmd.Process.Kill()
	<-s.exited
}

// removeDir removes the instance directory, retrying for a moment while
// Dovecot's children, which outlive the master briefly, finish writing.
func (s *Server) removeDir() error {
	if s.Dir == "" {
		return nil
	}
	var err error
	for range 50 {
		if err = os.RemoveAll(s.Dir); err == nil {
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("remove %s: %w", s.Dir, err)
}

// pickPorts is harness.FreePorts; tests replace it to make a port busy.
var pickPorts = harness.FreePorts

// LogTail returns the last 60 lines of the Dovecot log and of the master's
// stdout/stderr.
func (s *Server) LogTail() string {
	var b strings.Builder
	for _, name := range []string{"dovecot.out", "dovecot.log"} {
		data, err := os.ReadFile(filepath.Join(s.Dir, name))
		if err != nil || len(data) == 0 {
			continue
		}
		fmt.Fprintf(&b, "== %s ==\n%s\n", name, harness.Tail(string(data), 60))
	}
	return b.String()
}
