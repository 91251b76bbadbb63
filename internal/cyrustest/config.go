package cyrustest

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/mailferry/mailferry/internal/nstest"
	"github.com/mailferry/mailferry/internal/servertest"
)

// prepare creates the directories and the users' password files.
func (s *Server) prepare() error {
	// conf/* as Debian's /usr/lib/cyrus/bin/makedirs makes them.
	for _, d := range []string{"conf/db", "conf/proc", "conf/socket", "conf/log", "conf/msg", "conf/user",
		"conf/quota", "conf/lock", "spool", "proc", "lock", "socket", "sieve"} {
		if err := os.MkdirAll(s.cyrusDir(d), 0o750); err != nil {
			return err
		}
	}
	if err := os.Mkdir(s.Dir+"/secrets", 0o700); err != nil {
		return err
	}
	for _, u := range append([]User{s.Admin}, s.Users...) {
		if err := s.writeSecret(u.Name, u.Password); err != nil {
			return err
		}
	}
	return nil
}

// launch writes the configuration with fresh ports, starts the namespace
// and waits for both greetings.
func (s *Server) launch(root string) error {
	ports, err := freePorts(2)
	if err != nil {
		return err
	}
	s.IMAPAddr, s.POP3Addr = nstest.Addr(ports[0]), nstest.Addr(ports[1])
	if err := os.WriteFile(s.cyrusDir("imapd.conf"), []byte(s.imapdConf()), 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(s.cyrusDir("cyrus.conf"), []byte(s.cyrusConf()), 0o644); err != nil {
		return err
	}
	if err := s.ns.Launch(nstest.Launch{Root: root, Setup: s.setupScript(), Run: s.runCommand()}); err != nil {
		return err
	}
	deadline := time.Now().Add(StartTimeout)
	for _, a := range []struct{ addr, greeting string }{{s.IMAPAddr, "* OK"}, {s.POP3Addr, "+OK"}} {
		if err := s.ns.WaitGreeting(a.addr, a.greeting, deadline); err != nil {
			_ = s.ns.Stop(0)
			return fmt.Errorf("cyrus: %w", err)
		}
	}
	return nil
}

// setupScript runs inside the namespace: the user cyrus (only there), the
// sasldb with every password (read from files, never in argv), ownership.
func (s *Server) setupScript() string {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	p("id cyrus >/dev/null 2>&1 || useradd --system --gid mail --home-dir /var/lib/cyrus --shell /usr/sbin/nologin cyrus")
	for _, u := range append([]User{s.Admin}, s.Users...) {
		p("saslpasswd2 -p -c -f %s -u %s %s <%s", nstest.Q(s.cyrusDir("sasldb2")), servername,
			nstest.Q(u.Name), nstest.Q(s.Dir+"/secrets/"+u.Name))
	}
	p("chown -R cyrus:mail %s", nstest.Q(s.cyrusDir()))
	p("chmod 0750 %s && chmod 0640 %s", nstest.Q(s.cyrusDir()), nstest.Q(s.cyrusDir("sasldb2")))
	return b.String()
}

// runCommand is the master in the foreground, the server of the namespace;
// -D keeps its stdout and stderr (the instance's init.log).
func (s *Server) runCommand() string {
	return fmt.Sprintf("/usr/lib/cyrus/bin/master -D -C %s -M %s -p %s",
		nstest.Q(s.cyrusDir("imapd.conf")), nstest.Q(s.cyrusDir("cyrus.conf")), nstest.Q(s.cyrusDir("master.pid")))
}

func (s *Server) imapdConf() string {
	yesno := "no"
	if s.opts.AltNamespace {
		yesno = "yes"
	}
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	p("# Written by mailferry's cyrustest.")
	p("configdirectory: %s", s.cyrusDir("conf"))
	p("partition-default: %s", s.cyrusDir("spool"))
	p("defaultpartition: default")
	p("proc_path: %s", s.cyrusDir("proc"))
	p("mboxname_lockpath: %s", s.cyrusDir("lock"))
	p("sievedir: %s", s.cyrusDir("sieve"))
	p("lmtpsocket: %s", s.cyrusDir("socket", "lmtp"))
	p("idlesocket: %s", s.cyrusDir("socket", "idle"))
	p("notifysocket: %s", s.cyrusDir("socket", "notify"))
	p("servername: %s", servername)
	p("altnamespace: %s", yesno)
	p("unixhierarchysep: %s", yesno)
	p("admins: %s", admin)
	p("allowplaintext: yes")
	p("sasl_pwcheck_method: auxprop")
	p("sasl_auxprop_plugin: sasldb")
	p("sasl_sasldb_path: %s", s.cyrusDir("sasldb2"))
	p("sasl_mech_list: PLAIN LOGIN")
	p("syslog_prefix: %s", servername)
	p("hashimapspool: true")
	p("umask: 077")
	p("popminpoll: 0")
	p("%s", s.opts.Config)
	return b.String()
}

func (s *Server) cyrusConf() string {
	// The paths are ours (/tmp/mailferry-ns-cyrus-*/...): no quotes or spaces.
	bin, conf := "/usr/lib/cyrus/bin/", s.cyrusDir("imapd.conf")
	return fmt.Sprintf(`# Written by mailferry's cyrustest.
START {
  recover cmd="%[1]sctl_cyrusdb -C %[2]s -r"
}
SERVICES {
  imap cmd="%[1]simapd -C %[2]s" listen="%[3]s" prefork=0 maxchild=60
  pop3 cmd="%[1]spop3d -C %[2]s" listen="%[4]s" prefork=0 maxchild=30
}
EVENTS {
  checkpoint cmd="%[1]sctl_cyrusdb -C %[2]s -c" period=30
}
`, bin, conf, s.IMAPAddr, s.POP3Addr)
}

// createMailboxes creates each user's INBOX as the admin, then checks that
// each user can log in and select it.
func (s *Server) createMailboxes() error {
	c, err := servertest.Login(s.IMAPAddr, s.Admin.Name, s.Admin.Password)
	if err != nil {
		return fmt.Errorf("cyrus admin: %w", err)
	}
	defer servertest.Logout(c)
	existing, err := servertest.Folders(s.IMAPAddr, s.Admin.Name, s.Admin.Password)
	if err != nil {
		return err
	}
	for _, u := range s.Users {
		name := "user" + s.Separator + u.Name
		if slices.Contains(existing, name) {
			continue
		}
		if err := c.Create(name, nil).Wait(); err != nil {
			return fmt.Errorf("create %s: %w", name, err)
		}
	}
	for _, u := range s.Users {
		if _, err := servertest.Fetch(s.IMAPAddr, u.Name, u.Password, "INBOX"); err != nil {
			return fmt.Errorf("user %s: %w", u.Name, err)
		}
	}
	return nil
}

// freePorts is nstest.FreePorts; a test makes it return a busy port.
var freePorts = nstest.FreePorts
