package main

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/mailferry/mailferry/migrate/job"
)

const checkExitCodesHelp = `Exit codes:
  0    every server answered and accepted the login, every archive was read
  2    usage or configuration error
  3    a server cannot be reached, refuses the login or its TLS certificate
  130  interrupted`

func newCheckCommand(g *GlobalOptions) *cobra.Command {
	var o JobFlags
	cmd := &cobra.Command{
		Use:   "check",
		Short: "Log in to every server and show the folder plan, copying nothing",
		Long: `Connect and log in to every server of the job (each POP3 source and the IMAP
target, one connection each), open and count each archive, and print what
matters before a migration: the TLS version and the server's certificate
(subject, issuer, expiry, SHA-256 fingerprint), the capabilities mailferry
uses (POP3: UIDL, PIPELINING, UTF8, STLS; IMAP: LITERAL+, UIDPLUS,
SPECIAL-USE, NAMESPACE, BINARY, MOVE), the target's hierarchy delimiter and
namespace prefix, what each source holds (POP3 STAT), and the folder plan:
each source folder, its messages and the target folder they go to.

check reads no message and writes nothing: not to the servers, not to the
archives, not to the state file (which it does not open). Every server is
tried even when one fails. Settings are those of migrate.

` + checkExitCodesHelp,
		Example: `  mailferry check --config mailferry.yaml`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := o.load(cmd.Flags())
			if err != nil {
				return err
			}
			return runCheck(cmd.Context(), g, c)
		},
	}
	o.AddFlags(cmd.Flags())
	return cmd
}

func runCheck(ctx context.Context, g *GlobalOptions, c *Config) error {
	log, err := g.logger()
	if err != nil {
		return err
	}
	jc, err := c.jobConfig()
	if err != nil {
		return err
	}
	rep, err := job.Check(ctx, jc, log)
	if rep == nil {
		return usageError(err)
	}
	printCheck(g.stdout, rep, c.State, time.Now())
	if err == nil {
		fmt.Fprintln(g.stdout, "\nEvery server answered. Nothing was copied or written; next: mailferry migrate --dry-run")
	}
	return usageError(err)
}

// printCheck writes the report of job.Check.
func printCheck(w io.Writer, rep *job.CheckReport, statePath string, now time.Time) {
	t := &rep.Target
	fmt.Fprintf(w, "target %s\n", t.Name)
	printServer(w, t, now)
	if t.Err == nil {
		caps := map[string]bool{}
		for _, c := range t.Caps {
			caps[strings.ToUpper(c)] = true
		}
		fmt.Fprintf(w, "  %-13s %s\n", "capabilities:", yesNo(caps, "LITERAL+", "UIDPLUS", "SPECIAL-USE", "NAMESPACE", "BINARY", "MOVE"))
		fmt.Fprintf(w, "  %-13s %s\n", "announced:", strings.Join(t.Caps, " "))
	}
	if l := rep.Layout; l != nil {
		fmt.Fprintf(w, "  %-13s delimiter %q, namespace prefix %q, %d folder(s)\n", "folders:", l.Delimiter, l.Prefix, len(l.Folders))
		var roles []string
		for _, attr := range []string{`\Sent`, `\Drafts`, `\Trash`, `\Junk`, `\Archive`} {
			if f, ok := l.Special[attr]; ok {
				roles = append(roles, fmt.Sprintf("%s %s", attr, printable(f)))
			}
		}
		if len(roles) > 0 {
			fmt.Fprintf(w, "  %-13s %s\n", "special-use:", strings.Join(roles, ", "))
		}
	}
	for i := range rep.Sources {
		s := &rep.Sources[i]
		fmt.Fprintf(w, "source %s\n", printable(s.Name))
		if s.Archive {
			if s.Err != nil {
				fmt.Fprintf(w, "  %-13s FAILED: %s\n", "read:", printable(s.Err.Error()))
				continue
			}
			fmt.Fprintf(w, "  %-13s %d messages, %s in %d folder(s)\n", "archive:", s.Messages, humanBytes(s.Bytes), len(s.Folders))
			continue
		}
		printServer(w, &s.ServerCheck, now)
		if s.Err != nil {
			continue
		}
		caps := map[string]bool{}
		for _, c := range s.Caps {
			if f := strings.Fields(c); len(f) > 0 {
				caps[strings.ToUpper(f[0])] = true
			}
		}
		if s.Security == "STLS" {
			// A server lists STLS only before the connection is secured.
			caps["STLS"] = true
		}
		line := yesNo(caps, "UIDL", "PIPELINING", "UTF8", "STLS")
		if s.UTF8 {
			line += " (UTF-8 mode on)"
		}
		fmt.Fprintf(w, "  %-13s %s\n", "capabilities:", line)
		fmt.Fprintf(w, "  %-13s %s\n", "announced:", printable(strings.Join(s.Caps, ", ")))
		fmt.Fprintf(w, "  %-13s %d messages, %s (STAT)\n", "maildrop:", s.Messages, humanBytes(s.Bytes))
	}
	if statePath != "" {
		what := "not created yet: the first run starts it"
		if fi, err := os.Stat(statePath); err == nil {
			what = fmt.Sprintf("%s, last changed %s", humanBytes(fi.Size()), fi.ModTime().Format("2006-01-02 15:04"))
		}
		fmt.Fprintf(w, "state %s (%s)\n", statePath, what)
	}
	if rep.Layout == nil {
		fmt.Fprintln(w, "\nNo folder plan: the target could not be read.")
		return
	}
	fmt.Fprintln(w, "\nFolder plan (source folder -> target folder):")
	for i := range rep.Sources {
		s := &rep.Sources[i]
		if s.Err != nil {
			continue
		}
		fmt.Fprintf(w, "  %s\n", printable(s.Name))
		for _, f := range s.Folders {
			fmt.Fprintf(w, "    %s -> %s  %d messages, %s\n", sourceFolderName(f.Source, s.Archive),
				targetFolderName(f.PlannedFolder.Target, f.Wanted, f.Exists, f.Excluded), f.Messages, humanBytes(f.Bytes))
		}
		if len(s.Folders) == 0 {
			fmt.Fprintln(w, "    (no messages)")
		}
	}
}

// printServer writes how a server was reached: login, TLS, certificate.
func printServer(w io.Writer, s *job.ServerCheck, now time.Time) {
	if s.Err != nil {
		// The error's first line; a certificate error's advice follows
		// below the certificate and again at the end.
		first, _, _ := strings.Cut(s.Err.Error(), "\n")
		fmt.Fprintf(w, "  %-13s FAILED (%s): %s\n", "login:", s.Security, printable(first))
		var cve *tls.CertificateVerificationError
		if errors.As(s.Err, &cve) && len(cve.UnverifiedCertificates) > 0 {
			printCert(w, cve.UnverifiedCertificates[0], now)
			fmt.Fprintf(w, "  %-13s not trusted: compare the fingerprint with the server's, then pin it (tls_fingerprint), or set ca_file or tls_skip_verify\n", "")
		}
		return
	}
	fmt.Fprintf(w, "  %-13s ok (%s)\n", "login:", s.Security)
	if s.TLS == nil {
		return
	}
	fmt.Fprintf(w, "  %-13s %s, %s\n", "tls:", tls.VersionName(s.TLS.Version), tls.CipherSuiteName(s.TLS.CipherSuite))
	if len(s.TLS.PeerCertificates) == 0 {
		return
	}
	printCert(w, s.TLS.PeerCertificates[0], now)
	if len(s.TLS.VerifiedChains) == 0 {
		fmt.Fprintf(w, "  %-13s not verified (tls_skip_verify)\n", "")
	}
}

// printCert writes what identifies a server's certificate.
func printCert(w io.Writer, cert *x509.Certificate, now time.Time) {
	fmt.Fprintf(w, "  %-13s subject %s\n", "certificate:", printable(cert.Subject.String()))
	fmt.Fprintf(w, "  %-13s issuer %s\n", "", printable(cert.Issuer.String()))
	left := cert.NotAfter.Sub(now)
	expiry := fmt.Sprintf("expires %s (in %d days)", cert.NotAfter.UTC().Format("2006-01-02"), int(left.Hours()/24))
	if left < 0 {
		expiry = fmt.Sprintf("EXPIRED %s", cert.NotAfter.UTC().Format("2006-01-02"))
	}
	fmt.Fprintf(w, "  %-13s %s\n", "", expiry)
	if len(cert.DNSNames) > 0 {
		fmt.Fprintf(w, "  %-13s names %s\n", "", printable(strings.Join(cert.DNSNames, ", ")))
	}
	sum := sha256.Sum256(cert.Raw)
	fmt.Fprintf(w, "  %-13s sha256:%s\n", "fingerprint:", hex.EncodeToString(sum[:]))
}

// yesNo says, for each capability, whether caps has it.
func yesNo(caps map[string]bool, names ...string) string {
	var parts []string
	for _, n := range names {
		v := "no"
		if caps[n] {
			v = "yes"
		}
		parts = append(parts, n+" "+v)
	}
	return strings.Join(parts, ", ")
}

// sourceFolderName names a source folder in a plan.
func sourceFolderName(f string, archive bool) string {
	switch {
	case f != "":
		return fmt.Sprintf("%q", printable(f))
	case archive:
		return "(top level)"
	}
	return "(maildrop)"
}

// targetFolderName names a target folder in a plan: new, a substitute,
// or left out by include/exclude.
func targetFolderName(name, wanted string, exists, excluded bool) string {
	if excluded {
		return "(excluded: not read)"
	}
	s := fmt.Sprintf("%q", printable(name))
	if wanted != "" && wanted != name {
		s += fmt.Sprintf(" (for %q)", printable(wanted))
	}
	if !exists {
		s += " (new)"
	}
	return s
}
