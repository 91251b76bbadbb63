package couriertest

import (
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/mailferry/mailferry/internal/nstest"
)

// prepare creates the homes with their Maildirs and the password files.
func (s *Server) prepare() error {
	if err := os.MkdirAll(s.courierDir("secrets"), 0o700); err != nil {
		return err
	}
	if err := os.Mkdir(s.Dir+"/home", 0o711); err != nil {
		return err
	}
	for _, u := range s.Users {
		for _, d := range []string{"", "/Maildir", "/Maildir/cur", "/Maildir/new", "/Maildir/tmp"} {
			if err := os.Mkdir(s.Home(u.Name)+d, 0o700); err != nil {
				return err
			}
		}
		if err := os.WriteFile(s.courierDir("secrets", u.Name), []byte(u.Password+"\n"), 0o600); err != nil {
			return err
		}
	}
	return os.WriteFile(s.courierDir("run.sh"), []byte(s.runScript()), 0o755)
}

// launch starts the namespace with fresh ports and waits for both
// greetings.
func (s *Server) launch(root string) error {
	ports, err := freePorts(2)
	if err != nil {
		return err
	}
	s.IMAPAddr, s.POP3Addr = nstest.Addr(ports[0]), nstest.Addr(ports[1])
	if err := os.WriteFile(s.courierDir("ports"), []byte(fmt.Sprintf("%d %d\n", ports[0], ports[1])), 0o644); err != nil {
		return err
	}
	if err := s.ns.Launch(nstest.Launch{Root: root, Setup: s.setupScript(),
		Run: "/bin/sh " + nstest.Q(s.courierDir("run.sh"))}); err != nil {
		return err
	}
	if err := s.readIDs(); err != nil {
		_ = s.ns.Stop(0)
		return err
	}
	deadline := time.Now().Add(StartTimeout)
	for _, a := range []struct{ addr, greeting string }{{s.IMAPAddr, "* OK"}, {s.POP3Addr, "+OK"}} {
		if err := s.ns.WaitGreeting(a.addr, a.greeting, deadline); err != nil {
			_ = s.ns.Stop(0)
			return fmt.Errorf("courier: %w", err)
		}
	}
	return nil
}

// setupScript runs inside the namespace as root: the user vmail (only
// there), authdaemonrc set to authuserdb, the userdb with MD5-crypt
// passwords (userdbpw reads them from files, never argv), ownership.
func (s *Server) setupScript() string {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	p("id vmail >/dev/null 2>&1 || useradd --system --user-group --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin vmail")
	p("echo \"$(id -u vmail) $(id -g vmail)\" >%s", nstest.Q(s.courierDir("vmail.ids")))
	p(`sed -i 's/^authmodulelist=.*/authmodulelist="authuserdb"/; s/^DEBUG_LOGIN=.*/DEBUG_LOGIN=0/' /etc/courier/authdaemonrc`)
	p("umask 077; : >/etc/courier/userdb")
	for _, u := range s.Users {
		home := s.Home(u.Name)
		p("pw=$(userdbpw -md5 <%s)", nstest.Q(s.courierDir("secrets", u.Name)))
		p(`printf '%%s\tuid=%%s|gid=%%s|home=%%s|mail=%%s|systempw=%%s\n' %s "$(id -u vmail)" "$(id -g vmail)" %s %s "$pw" >>/etc/courier/userdb`,
			nstest.Q(u.Name), nstest.Q(home), nstest.Q(home+"/Maildir"))
	}
	p("umask 022")
	p("(cd /etc/courier && makeuserdb)")
	p("chown -R vmail:vmail %s", nstest.Q(s.Dir+"/home"))
	p("chmod 0711 %s", nstest.Q(s.Dir+"/home"))
	p("mkdir -p /run/courier/authdaemon")
	return b.String()
}

// runScript is the server of the namespace: authdaemond, then one couriertcpd
// for IMAP and one for POP3, as the Debian init scripts start them, and a
// wait. Their stderr (a line per login) goes to the instance's init.log.
func (s *Server) runScript() string {
	env := ""
	for _, e := range s.opts.Env {
		k, v, _ := strings.Cut(e, "=")
		env += fmt.Sprintf("%s=%s; ", k, nstest.Q(v))
	}
	return fmt.Sprintf(`# Written by mailferry's couriertest.
set -u
read IMAPPORT POP3PORT <%[1]s
export LD_LIBRARY_PATH=/usr/lib/courier-authlib
( set -a; . /etc/courier/authdaemonrc; exec /usr/lib/courier/courier-authlib/authdaemond ) </dev/null &
i=0; while [ ! -S /run/courier/authdaemon/socket ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i+1)); done
[ -S /run/courier/authdaemon/socket ] || { echo "couriertest: authdaemond did not start" >&2; exit 1; }
( set -a; . /etc/courier/imapd; IMAP_CAPABILITY="$IMAP_CAPABILITY AUTH=PLAIN"; %[2]s
  exec /usr/sbin/couriertcpd -address=127.0.0.1 -maxprocs=40 -maxperip=40 -nodnslookup -noidentlookup \
    "$IMAPPORT" /usr/lib/courier/courier/imaplogin /usr/bin/imapd Maildir ) </dev/null &
( set -a; . /etc/courier/pop3d; %[2]s
  exec /usr/sbin/couriertcpd -address=127.0.0.1 -maxprocs=40 -maxperip=40 -nodnslookup -noidentlookup \
    "$POP3PORT" /usr/lib/courier/courier/courierpop3login /usr/lib/courier/courier/courierpop3d Maildir ) </dev/null &
# On SIGTERM this shell ends; PID 1 follows, and the kernel ends the rest.
trap 'exit 0' TERM
wait
`, nstest.Q(s.courierDir("ports")), env)
}

// freePorts is nstest.FreePorts; a test makes it return a busy port.
var freePorts = nstest.FreePorts
