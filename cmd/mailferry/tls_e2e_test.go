package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// runMailferry runs mailferry with args (no --config added) and returns
// its exit code and output.
func (e *e2e) runMailferry(env []string, args ...string) (int, string) {
	e.t.Helper()
	exe, err := os.Executable()
	if err != nil {
		e.t.Fatal(err)
	}
	cmd := exec.Command(exe, args...)
	cmd.Env = append(os.Environ(), "MAILFERRY_TEST_AS_MAIN=1",
		"MAILFERRY_SOURCE_PASSWORD="+popPass, "MAILFERRY_TARGET_PASSWORD="+imapPass)
	cmd.Env = append(cmd.Env, env...)
	out, _ := cmd.CombinedOutput()
	if cmd.ProcessState == nil || cmd.ProcessState.ExitCode() < 0 {
		e.t.Fatalf("mailferry did not exit:\n%s", out)
	}
	return cmd.ProcessState.ExitCode(), string(out)
}

// TestDovecotWrongSchemeExits3 points each scheme at the other kind of
// Dovecot port: each run ends within 10 s, exit 3, saying which scheme
// to use.
func TestDovecotWrongSchemeExits3(t *testing.T) {
	e := newE2E(t, [][]byte{mail("scheme@example.org", "scheme", "x\r\n")})
	dc := e.dc
	state := filepath.Join(e.dir, "state.db")
	plainT := fmt.Sprintf("target:\n  url: imap://bob@%s\n  tls: none\n  allow_plaintext: true\n", dc.IMAPAddr)
	plainS := "sources:\n" + plainPOP3(dc)
	for _, tc := range []struct {
		name, config, want string
	}{
		{"pop3 on the POP3S port", plainT + fmt.Sprintf("sources:\n  - url: pop3://alice@%s\n", dc.POP3SAddr),
			"source pop3://alice@" + dc.POP3SAddr + ": server at " + dc.POP3SAddr + " speaks TLS at once (sent no greeting; a TLS handshake succeeds): use pop3s:// for this port, not pop3://"},
		{"pop3s on the POP3 port", plainT + fmt.Sprintf("sources:\n  - url: pop3s://alice@%s\n    ca_file: %s\n", dc.POP3Addr, dc.CAFile),
			"source pop3s://alice@" + dc.POP3Addr + ": server at " + dc.POP3Addr + " answered in plain text (\"+OK D\"), not TLS: use pop3:// (STLS) for this port, not pop3s://"},
		{"imap on the IMAPS port", fmt.Sprintf("target:\n  url: imap://bob@%s\n", dc.IMAPSAddr) + plainS,
			"target imap://bob@" + dc.IMAPSAddr + ": server at " + dc.IMAPSAddr + " speaks TLS at once (sent no greeting; a TLS handshake succeeds): use imaps:// for this port, not imap://"},
		{"imaps on the IMAP port", fmt.Sprintf("target:\n  url: imaps://bob@%s\n  ca_file: %s\n", dc.IMAPAddr, dc.CAFile) + plainS,
			"target imaps://bob@" + dc.IMAPAddr + ": server at " + dc.IMAPAddr + " answered in plain text (\"* OK \"), not TLS: use imap:// (STARTTLS) for this port, not imaps://"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			os.Remove(state)
			if err := os.WriteFile(e.config, []byte("state: "+state+"\n"+tc.config), 0o600); err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			code, out := e.run(nil)
			took := time.Since(start)
			if code != exitConnect || !strings.Contains(out, tc.want) {
				t.Fatalf("exit %d, want %d and %q:\n%s", code, exitConnect, tc.want, out)
			}
			if took > 10*time.Second {
				t.Errorf("took %v, want under 10s", took)
			}
			if strings.Contains(out, "retrying") {
				t.Errorf("the wrong scheme was retried:\n%s", out)
			}
		})
	}
}

var fingerprintRE = regexp.MustCompile(`tls_fingerprint: (sha256:[0-9a-f]{64})`)

// TestDovecotFingerprintFlow is the README's flow for a self-signed
// server, with flags and no config file: the first run names the
// certificate's fingerprint, the next pins it.
func TestDovecotFingerprintFlow(t *testing.T) {
	seed := [][]byte{mail("pin1@example.org", "pinned 1", "one\r\n"), mail("pin2@example.org", "pinned 2", "two\r\n")}
	e := newE2E(t, seed)
	dc := e.dc
	state := filepath.Join(e.dir, "flags.db")
	base := []string{"migrate", "--state", state, "--target", "imaps://bob@" + dc.IMAPSAddr, "--source", "pop3s://alice@" + dc.POP3SAddr}

	// The target is checked first: its certificate error comes first.
	code, out := e.runMailferry(nil, base...)
	m := fingerprintRE.FindStringSubmatch(out)
	if code != exitConnect || m == nil || !strings.Contains(out, "target imaps://bob@"+dc.IMAPSAddr+": certificate of the server at "+dc.IMAPSAddr+
		" is not trusted: it is self-signed") || !strings.Contains(out, "--target-tls-fingerprint") {
		t.Fatalf("exit %d, want %d and the target's certificate named with its fingerprint:\n%s", code, exitConnect, out)
	}
	fp := m[1]
	t.Logf("first run:\n%s", out)

	code, out = e.runMailferry(nil, append(base, "--target-tls-fingerprint", fp)...)
	if code != exitConnect || !strings.Contains(out, "source pop3s://alice@"+dc.POP3SAddr+": certificate of the server at "+dc.POP3SAddr+
		" is not trusted: it is self-signed") || !strings.Contains(out, "tls_fingerprint: "+fp) || !strings.Contains(out, "--source-tls-fingerprint") {
		t.Fatalf("exit %d, want %d and the source's certificate named with its fingerprint:\n%s", code, exitConnect, out)
	}
	t.Logf("target pinned:\n%s", out)

	wrong := "sha256:" + strings.Repeat("0", 64)
	code, out = e.runMailferry(nil, append(base, "--target-tls-fingerprint", fp, "--source-tls-fingerprint", wrong)...)
	if code != exitConnect || !strings.Contains(out, "does not match tls_fingerprint") || !strings.Contains(out, wrong) || !strings.Contains(out, fp) {
		t.Fatalf("wrong pin: exit %d, want %d naming both fingerprints:\n%s", code, exitConnect, out)
	}
	t.Logf("wrong source pin:\n%s", out)

	code, out = e.runMailferry(nil, append(base, "--target-tls-fingerprint", fp, "--source-tls-fingerprint", fp)...)
	if code != exitOK || strings.Contains(out, "WARN") {
		t.Fatalf("both pinned: exit %d, want 0 and no warning:\n%s", code, out)
	}
	wantEachOnce(t, e.target(), seed)

	// The environment variable of the target's pin works too.
	code, out = e.runMailferry([]string{"MAILFERRY_TARGET_TLS_FINGERPRINT=" + fp}, append(base, "--source-tls-fingerprint", fp)...)
	if code != exitOK {
		t.Fatalf("MAILFERRY_TARGET_TLS_FINGERPRINT: exit %d, want 0:\n%s", code, out)
	}
}

// TestDovecotCertificateFlags: the ca_file and tls_skip_verify flags, and
// the warning tls_skip_verify gives on every run.
func TestDovecotCertificateFlags(t *testing.T) {
	seed := [][]byte{mail("flag@example.org", "flags", "x\r\n")}
	e := newE2E(t, seed)
	dc := e.dc
	state := filepath.Join(e.dir, "flags.db")
	base := []string{"migrate", "--state", state, "--target", "imaps://bob@" + dc.IMAPSAddr, "--source", "pop3s://alice@" + dc.POP3SAddr}

	code, out := e.runMailferry(nil, append(base, "--target-ca-file", dc.CAFile, "--source-ca-file", dc.CAFile)...)
	if code != exitOK || strings.Contains(out, "WARN") {
		t.Fatalf("ca_file flags: exit %d, want 0 and no warning:\n%s", code, out)
	}
	wantEachOnce(t, e.target(), seed)

	for run := range 2 {
		code, out = e.runMailferry(nil, append(base, "--target-tls-skip-verify", "--source-tls-skip-verify")...)
		if code != exitOK {
			t.Fatalf("skip-verify flags, run %d: exit %d, want 0:\n%s", run, code, out)
		}
		for _, who := range []string{"target imaps://bob@" + dc.IMAPSAddr, "source pop3s://alice@" + dc.POP3SAddr} {
			if !strings.Contains(out, "level=WARN msg=\"tls_skip_verify: the certificate of "+who+" is not checked") {
				t.Errorf("skip-verify flags, run %d: no warning about %s:\n%s", run, who, out)
			}
		}
		t.Logf("skip verify, run %d:\n%s", run, out)
	}

	// The target's flags apply under a config file too; the source's need
	// --source.
	code, out = e.runMailferry(nil, "migrate", "--config", e.config, "--source-tls-skip-verify")
	if code != exitUsage || !strings.Contains(out, "apply to --source URLs") {
		t.Fatalf("--source-tls-skip-verify without --source: exit %d, want %d:\n%s", code, exitUsage, out)
	}
	code, out = e.runMailferry(nil, "migrate", "--config", e.config, "--target-tls-fingerprint", "sha256:12")
	if code != exitUsage || !strings.Contains(out, "tls_fingerprint") {
		t.Fatalf("bad --target-tls-fingerprint: exit %d, want %d:\n%s", code, exitUsage, out)
	}
}
