package job

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mailferry/mailferry/internal/dovecottest"
	"github.com/mailferry/mailferry/internal/mailnet"
	"github.com/mailferry/mailferry/migrate"
)

func TestTLSSettingsAgree(t *testing.T) {
	fp := "sha256:" + strings.Repeat("ab", 32)
	for name, tc := range map[string]struct {
		change func(*Config)
		want   string
	}{
		"bad fingerprint":  {func(c *Config) { c.Target.TLSFingerprint = "ab:cd" }, `tls_fingerprint: "ab:cd" is not sha256:`},
		"pin and skip":     {func(c *Config) { c.Sources[0].TLSFingerprint = fp; c.Sources[0].TLSSkipVerify = true }, "leave out tls_skip_verify"},
		"pin and ca_file":  {func(c *Config) { c.Target.TLSFingerprint = fp; c.Target.CAFile = "/ca.pem" }, "leave out ca_file"},
		"skip and ca_file": {func(c *Config) { c.Target.TLSSkipVerify = true; c.Target.CAFile = "/ca.pem" }, "leave out ca_file"},
		"pin without TLS at all": {func(c *Config) {
			c.Target.URL = "imap://a@h"
			c.Target.TLS = "none"
			c.Target.AllowPlaintext = true
			c.Target.TLSFingerprint = fp
		}, "tls_fingerprint has no use with tls: none"},
	} {
		c := valid().Clone()
		tc.change(&c)
		err := c.Validate()
		var ce *ConfigError
		if !errors.As(err, &ce) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want a ConfigError with %q", name, err, tc.want)
		}
	}
	c := valid()
	c.Target.TLSFingerprint = strings.ToUpper(fp)
	c.Sources[0].TLSSkipVerify = true
	if err := c.Validate(); err != nil {
		t.Errorf("a pin on the target, tls_skip_verify on the source: %v", err)
	}
}

// TestDovecotCertificateSettings builds jobs against Dovecot's
// self-signed certificate: a pin works, a wrong pin names the source and
// both fingerprints, and tls_skip_verify warns on every Build.
func TestDovecotCertificateSettings(t *testing.T) {
	dc := dovecottest.Start(t, dovecottest.Options{Users: []dovecottest.User{{Name: "alice", Password: "a-pw"}, {Name: "bob", Password: "b-pw"}}})
	b, err := os.ReadFile(dc.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	blk, _ := pem.Decode(b)
	cert, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	fp := mailnet.FingerprintOf(cert)
	pw := func(p string) func(context.Context, string) (string, error) {
		return func(context.Context, string) (string, error) { return p, nil }
	}
	job := func(target, source Server) Config {
		target.URL, target.Connections, target.Password = "imaps://bob@"+dc.IMAPSAddr, 1, pw("b-pw")
		source.URL, source.Password = "pop3s://alice@"+dc.POP3SAddr, pw("a-pw")
		return Config{State: filepath.Join(t.TempDir(), "state.db"), Dedup: migrate.DedupAccount, Target: target,
			Sources: []Source{{Server: source}}}
	}
	build := func(c Config) (*Job, string, error) {
		var log bytes.Buffer
		j, err := Build(context.Background(), c, slog.New(slog.NewTextHandler(&log, nil)))
		return j, log.String(), err
	}
	openSource := func(j *Job) error {
		src, err := j.Migrator.Sources[0].Open(context.Background())
		if err == nil {
			src.Close()
		}
		return err
	}

	t.Run("pinned", func(t *testing.T) {
		j, log, err := build(job(Server{TLSFingerprint: fp.String()}, Server{TLSFingerprint: fp.String()}))
		if err != nil {
			t.Fatalf("Build() = %v", err)
		}
		defer j.Close()
		if err := openSource(j); err != nil {
			t.Fatalf("source with the pin: %v", err)
		}
		if strings.Contains(log, "WARN") {
			t.Errorf("warnings with a pin:\n%s", log)
		}
	})

	t.Run("wrong pin", func(t *testing.T) {
		wrong := "sha256:" + strings.Repeat("00", 32)
		_, _, err := build(job(Server{TLSFingerprint: wrong}, Server{}))
		var ce *migrate.ConnectError
		if !errors.As(err, &ce) || migrate.ClassOf(err) != migrate.ClassConnect ||
			!strings.Contains(err.Error(), "target imaps://bob@"+dc.IMAPSAddr+": certificate of the server at "+dc.IMAPSAddr+" does not match tls_fingerprint") ||
			!strings.Contains(err.Error(), wrong) || !strings.Contains(err.Error(), fp.String()) {
			t.Fatalf("Build() = %v, want a ConnectError naming the target and both fingerprints", err)
		}
		j, _, err := build(job(Server{TLSFingerprint: fp.String()}, Server{TLSFingerprint: wrong}))
		if err != nil {
			t.Fatalf("Build() = %v", err)
		}
		defer j.Close()
		err = openSource(j)
		if !errors.As(err, &ce) || migrate.ClassOf(err) != migrate.ClassConnect ||
			!strings.Contains(err.Error(), "source pop3s://alice@"+dc.POP3SAddr+": certificate of the server at "+dc.POP3SAddr+" does not match tls_fingerprint") ||
			!strings.Contains(err.Error(), wrong) || !strings.Contains(err.Error(), fp.String()) {
			t.Fatalf("source Open() = %v, want a ConnectError naming the source and both fingerprints", err)
		}
	})

	t.Run("skip verify warns every run", func(t *testing.T) {
		c := job(Server{TLSSkipVerify: true}, Server{TLSSkipVerify: true})
		for run := range 2 {
			j, log, err := build(c)
			if err != nil {
				t.Fatalf("run %d: Build() = %v", run, err)
			}
			if err := openSource(j); err != nil {
				t.Fatalf("run %d: source with tls_skip_verify: %v", run, err)
			}
			j.Close()
			for _, who := range []string{"target imaps://bob@" + dc.IMAPSAddr, "source pop3s://alice@" + dc.POP3SAddr} {
				if !strings.Contains(log, "level=WARN msg=\"tls_skip_verify: the certificate of "+who+" is not checked") {
					t.Errorf("run %d: no warning about %s:\n%s", run, who, log)
				}
			}
		}
	})
}
