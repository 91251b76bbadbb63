package dovecottest

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// mailUser is the system user that owns the mail when the tests run as root.
const mailUser = "mailferrytest"

// dirPrefix starts the name of every instance directory (see reapStale).
const dirPrefix = "mailferry-dovecot-"

// binaries finds dovecot and doveadm. A normal user's PATH often lacks
// /usr/sbin, where Debian puts dovecot.
func binaries() (dovecot, doveadm string, err error) {
	find := func(name string) (string, error) {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
		for _, dir := range []string{"/usr/sbin", "/usr/local/sbin", "/usr/bin", "/usr/local/bin"} {
			p := filepath.Join(dir, name)
			if fi, err := os.Stat(p); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
				return p, nil
			}
		}
		return "", fmt.Errorf("%s not found (Debian: apt-get install dovecot-imapd dovecot-pop3d)", name)
	}
	if dovecot, err = find("dovecot"); err != nil {
		return "", "", err
	}
	if doveadm, err = find("doveadm"); err != nil {
		return "", "", err
	}
	// dovecot-core alone has no imap or pop3 binary: look where they live.
	for _, dir := range []string{"/usr/lib/dovecot", "/usr/libexec/dovecot", "/usr/local/libexec/dovecot"} {
		if _, err := os.Stat(filepath.Join(dir, "config")); err != nil {
			continue
		}
		for _, prog := range []string{"imap", "pop3"} {
			if _, err := os.Stat(filepath.Join(dir, prog)); err != nil {
				return "", "", fmt.Errorf("%s/%s missing (Debian: apt-get install dovecot-imapd dovecot-pop3d)", dir, prog)
			}
		}
		break
	}
	return dovecot, doveadm, nil
}

// prepare creates the instance directory, the certificate, the passwd file
// and the users' homes, and decides which uid/gid owns the mail.
func (s *Server) prepare() error {
	root := os.Geteuid() == 0
	parent := os.TempDir()
	if root {
		// The mail user must traverse every parent: TMPDIR may be under /root.
		parent = "/tmp"
		uid, gid, err := ensureMailUser()
		if err != nil {
			return err
		}
		s.mailUID, s.mailGID = uid, gid
	} else {
		s.mailUID, s.mailGID = os.Getuid(), os.Getgid()
	}
	dir, err := os.MkdirTemp(parent, dirPrefix)
	if err != nil {
		return err
	}
	s.Dir = dir
	s.conf = filepath.Join(dir, "dovecot.conf")
	if err := os.Chmod(dir, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "owner.pid"), []byte(strconv.Itoa(os.Getpid())), 0o644); err != nil {
		return err
	}
	if err := s.writeCert(); err != nil {
		return err
	}
	if err := s.writeOAuth2(); err != nil {
		return err
	}
	return s.writeUsers()
}

// writeUsers writes the passwd-file and creates each home and its Maildir,
// owned by the mail user.
func (s *Server) writeUsers() error {
	var b strings.Builder
	for _, u := range s.opts.Users {
		home := s.home(u.Name)
		fmt.Fprintf(&b, "%s:{PLAIN}%s:%d:%d::%s::\n", u.Name, u.Password, s.mailUID, s.mailGID, home)
		for _, d := range []string{home, filepath.Join(home, "Maildir"), filepath.Join(home, "Maildir", "cur"),
			filepath.Join(home, "Maildir", "new"), filepath.Join(home, "Maildir", "tmp")} {
			if err := s.mkdirMail(d); err != nil {
				return err
			}
		}
	}
	// The auth process reads it as Dovecot's internal user.
	if err := os.WriteFile(filepath.Join(s.Dir, "passwd"), []byte(b.String()), 0o644); err != nil {
		return err
	}
	if len(s.opts.MasterUsers) == 0 {
		return nil
	}
	b.Reset()
	for _, u := range s.opts.MasterUsers {
		fmt.Fprintf(&b, "%s:{PLAIN}%s\n", u.Name, u.Password)
	}
	return os.WriteFile(filepath.Join(s.Dir, "masters"), []byte(b.String()), 0o644)
}

func (s *Server) home(name string) string { return filepath.Join(s.Dir, "home", name) }

// mkdirMail creates dir (and parents) owned by the mail user, mode 0700.
func (s *Server) mkdirMail(dir string) error {
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return err
	}
	if err := os.Mkdir(dir, 0o700); err != nil && !errors.Is(err, os.ErrExist) {
		return err
	}
	return s.chown(dir)
}

func (s *Server) chown(path string) error {
	if os.Geteuid() != 0 {
		return nil
	}
	return os.Lchown(path, s.mailUID, s.mailGID)
}

// ensureMailUser returns the uid and gid of mailUser, creating it with
// useradd if missing. Test binaries of several packages run in parallel:
// a file lock serializes them, and the user is looked up again inside it.
func ensureMailUser() (uid, gid int, err error) {
	if uid, gid, err = lookupUser(mailUser); err == nil {
		return uid, gid, nil
	}
	lock, err := os.OpenFile("/tmp/"+mailUser+".useradd.lock", os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return 0, 0, err
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return 0, 0, fmt.Errorf("lock for useradd: %w", err)
	}
	defer syscall.Flock(int(lock.Fd()), syscall.LOCK_UN)
	if uid, gid, err = lookupUser(mailUser); err == nil {
		return uid, gid, nil
	}
	// useradd takes /etc/.pwd.lock itself and fails at once when a foreign
	// tool holds it: retry a few times.
	var out []byte
	for range 10 {
		out, err = exec.Command("useradd", "--system", "--user-group", "--no-create-home",
			"--home-dir", "/nonexistent", "--shell", "/usr/sbin/nologin",
			"--comment", "mailferry test mail user", mailUser).CombinedOutput()
		if err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		return 0, 0, fmt.Errorf("useradd %s: %v: %s", mailUser, err, out)
	}
	return lookupUser(mailUser)
}

func lookupUser(name string) (uid, gid int, err error) {
	u, err := user.Lookup(name)
	if err != nil {
		return 0, 0, err
	}
	if uid, err = strconv.Atoi(u.Uid); err != nil {
		return 0, 0, err
	}
	if gid, err = strconv.Atoi(u.Gid); err != nil {
		return 0, 0, err
	}
	return uid, gid, nil
}

// config renders dovecot.conf for the given ports (imap, imaps, pop3, pop3s).
func (s *Server) config(ports []int) string {
	d := s.Dir
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	p("# Written by mailferry's dovecottest.")
	p("instance_name = mailferrytest-%s", filepath.Base(d))
	p("base_dir = %s/run", d)
	p("state_dir = %s/state", d)
	p("log_path = %s/dovecot.log", d)
	p("listen = 127.0.0.1")
	p("protocols = imap pop3")
	p("ssl = yes")
	p("ssl_cert = <%s/cert.pem", d)
	p("ssl_key = <%s/key.pem", d)
	p("disable_plaintext_auth = no")
	if s.opts.OAuth2IntrospectionURL != "" {
		p("auth_mechanisms = plain login xoauth2 oauthbearer")
		p("auth_failure_delay = 0")
		p("auth_cache_size = 0")
	} else {
		p("auth_mechanisms = plain login")
	}
	p("auth_verbose = yes")
	p("mail_location = maildir:~/Maildir")
	p("pop3_uidl_format = %%08Xu%%08Xv")
	p("first_valid_uid = %d", s.mailUID)
	p("last_valid_uid = %d", s.mailUID)
	p("first_valid_gid = %d", s.mailGID)
	p("last_valid_gid = %d", s.mailGID)
	if len(s.opts.MasterUsers) > 0 {
		// A master login must still name an existing user: continue to the
		// users' passdb, which then only looks the user up.
		p("auth_master_user_separator = *")
		p("passdb {\n  driver = passwd-file\n  args = scheme=PLAIN %s/masters\n  master = yes\n  result_success = continue\n}", d)
	}
	if s.opts.OAuth2IntrospectionURL != "" {
		p("passdb {\n  driver = oauth2\n  mechanisms = xoauth2 oauthbearer\n  args = %s/oauth2.conf.ext\n}", d)
	}
	p("passdb {\n  driver = passwd-file\n  args = scheme=PLAIN %s/passwd\n}", d)
	p("userdb {\n  driver = passwd-file\n  args = %s/passwd\n}", d)
	chroot := ""
	if os.Geteuid() != 0 {
		// Everything runs as the current user, and only root can chroot.
		u, g := currentNames()
		p("default_internal_user = %s", u)
		p("default_internal_group = %s", g)
		p("default_login_user = %s", u)
		p("service anvil {\n  chroot =\n}")
		chroot = "  chroot =\n"
	}
	for i, svc := range []string{"imap", "pop3"} {
		p("service %s-login {\n%s  inet_listener %s {\n    port = %d\n  }\n  inet_listener %ss {\n    port = %d\n    ssl = yes\n  }\n}",
			svc, chroot, svc, ports[2*i], svc, ports[2*i+1])
		p("protocol %s {\n  mail_max_userip_connections = 64\n}", svc)
	}
	p("namespace inbox {\n  inbox = yes\n  separator = %s\n  prefix = %s", s.opts.Separator, s.opts.Prefix)
	if s.opts.SpecialUse {
		for _, m := range []string{"Sent", "Drafts", "Trash", "Junk", "Archive"} {
			p("  mailbox %s {\n    special_use = \\%s\n  }", m, m)
		}
	}
	p("}")
	p("%s", s.opts.Config)
	return b.String()
}

// currentNames returns the current user's and primary group's names,
// falling back to the numeric ids.
func currentNames() (userName, groupName string) {
	userName, groupName = strconv.Itoa(os.Getuid()), strconv.Itoa(os.Getgid())
	if u, err := user.Current(); err == nil {
		userName = u.Username
	}
	if g, err := user.LookupGroupId(groupName); err == nil {
		groupName = g.Name
	}
	return userName, groupName
}

// writeOAuth2 writes the oauth2 passdb's settings when the option is set:
// RFC 7662 style introspection by POST, the user named by "username",
// valid while "active" is true.
func (s *Server) writeOAuth2() error {
	if s.opts.OAuth2IntrospectionURL == "" {
		return nil
	}
	conf := "introspection_mode = post\n" +
		"introspection_url = " + s.opts.OAuth2IntrospectionURL + "\n" +
		"force_introspection = yes\n" +
		"username_attribute = username\n" +
		"active_attribute = active\n" +
		"active_value = true\n"
	return os.WriteFile(filepath.Join(s.Dir, "oauth2.conf.ext"), []byte(conf), 0o644)
}

// CapabilitiesWithoutLiteral is Dovecot 2.3's built-in capability list
// after login, with SPECIAL-USE, and without LITERAL+ and LITERAL-, which
// Dovecot adds on its own only while imap_capability is empty. Set it
// with Options.Config ("protocol imap {\n  imap_capability = " + it +
// "\n}") for a server whose clients send only synchronizing literals.
const CapabilitiesWithoutLiteral = "IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE SORT SORT=DISPLAY " +
	"THREAD=REFERENCES THREAD=REFS THREAD=ORDEREDSUBJECT MULTIAPPEND URL-PARTIAL CATENATE " +
	"UNSELECT CHILDREN NAMESPACE UIDPLUS LIST-EXTENDED I18NLEVEL=1 CONDSTORE QRESYNC ESEARCH " +
	"ESORT SEARCHRES WITHIN CONTEXT=SEARCH LIST-STATUS BINARY MOVE SNIPPET=FUZZY PREVIEW=FUZZY " +
	"PREVIEW STATUS=SIZE SAVEDATE SPECIAL-USE"
