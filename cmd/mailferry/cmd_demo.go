package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/mailferry/mailferry/source/pop3/pop3test"
	"github.com/mailferry/mailferry/target/imap/imaptest"
)

// DemoOptions are the flags of mailferry demo.
type DemoOptions struct {
	Messages int
}

func newDemoCommand(g *GlobalOptions) *cobra.Command {
	var o DemoOptions
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run a complete migration between embedded servers, twice",
		Long: `Start a POP3 server and an IMAP server inside this process, on loopback,
seed the POP3 maildrop with sample mail (dot-stuffed lines, a long line,
8-bit headers, a message without Message-ID, one message delivered twice),
migrate it with the same code as mailferry migrate, then migrate again to
show that nothing is copied twice. Nothing outside a temp dir is touched.

` + exitCodesHelp,
		Example: `  mailferry demo
  mailferry demo --messages 500`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runDemo(cmd.Context(), g, o)
		},
	}
	cmd.Flags().IntVar(&o.Messages, "messages", 40, "sample messages in the POP3 maildrop")
	return cmd
}

func runDemo(ctx context.Context, g *GlobalOptions, o DemoOptions) error {
	if o.Messages < 1 || o.Messages > 100000 {
		return configErrorf("--messages: %d is not between 1 and 100000", o.Messages)
	}
	dir, err := os.MkdirTemp("", "mailferry-demo-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	const user = "demo"
	pop, err := pop3test.Start(pop3test.Options{
		Users:    map[string]string{user: "demo-pop3-secret"},
		Messages: map[string][][]byte{user: pop3test.SampleMessages(o.Messages)},
	})
	if err != nil {
		return fmt.Errorf("demo POP3 server: %w", err)
	}
	defer pop.Close()
	imapSrv, err := imaptest.Start(user, "demo-imap-secret")
	if err != nil {
		return fmt.Errorf("demo IMAP server: %w", err)
	}
	defer imapSrv.Close()

	c, err := demoConfig(dir, pop.Addr, imapSrv.Addr)
	if err != nil {
		return err
	}
	out := g.stdout
	fmt.Fprintf(out, "POP3 server with %d sample messages on %s, IMAP server on %s.\n\n", o.Messages, pop.Addr, imapSrv.Addr)
	fmt.Fprintln(out, "First run: copy everything.")
	if err := runMigrate(ctx, g, c, false); err != nil {
		return err
	}
	fmt.Fprintln(out, "\nSecond run: the state file knows every message; nothing is read or copied again.")
	if err := runMigrate(ctx, g, c, false); err != nil {
		return err
	}
	msgs, err := imapSrv.Messages("INBOX")
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "\nThe IMAP INBOX holds %d messages.\n%s", len(msgs), demoNext)
	return nil
}

// demoConfig is the config a user would write for the demo's servers.
func demoConfig(dir, popAddr, imapAddr string) (*Config, error) {
	write := func(name, secret string) (string, error) {
		p := filepath.Join(dir, name)
		return p, os.WriteFile(p, []byte(secret+"\n"), 0o600)
	}
	popPass, err := write("pop3.pass", "demo-pop3-secret")
	if err != nil {
		return nil, err
	}
	imapPass, err := write("imap.pass", "demo-imap-secret")
	if err != nil {
		return nil, err
	}
	// The embedded servers speak plaintext on loopback; real servers get TLS.
	c := &Config{
		State: filepath.Join(dir, "mailferry.db"),
		Dedup: "account",
		Target: Endpoint{URL: "imap://demo@" + imapAddr, PasswordFile: imapPass, TLS: "none",
			AllowPlaintext: true, Connections: 4},
		Sources: []SourceEndpoint{{Endpoint: Endpoint{URL: "pop3://demo@" + popAddr, PasswordFile: popPass,
			TLS: "none", AllowPlaintext: true}, Folder: "INBOX"}},
	}
	return c, c.validate()
}

const demoNext = `
To move a real account, write a config like configs/single-user.yaml:

  state: ./mailferry.db
  target:
    url: imaps://alice@mail.example.org
    password_env: MAILFERRY_TARGET_PASSWORD
  sources:
    - url: pop3s://alice@pop.example.net
      password_env: MAILFERRY_SOURCE_PASSWORD
      folder: INBOX
      delete: leave      # after-upload or keep-days:N deletes copied mail from the server

then run:

  export MAILFERRY_SOURCE_PASSWORD=... MAILFERRY_TARGET_PASSWORD=...
  mailferry check --config mailferry.yaml              # log in everywhere, copy nothing
  mailferry migrate --config mailferry.yaml --dry-run  # the plan, folder by folder
  mailferry migrate --config mailferry.yaml
  mailferry verify --config mailferry.yaml             # missing mail? migrate --recheck
`
