package servertest

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

// A Message is one message as an IMAP server serves it.
type Message struct {
	UID          uint32
	Flags        []string // e.g. `\Seen`, keywords
	InternalDate time.Time
	Body         []byte // BODY.PEEK[]: the exact bytes served
}

// Login opens a plain (no TLS) IMAP connection to addr logged in as user.
// The caller closes it with Logout.
func Login(addr, user, password string) (*imapclient.Client, error) {
	c, err := imapclient.DialInsecure(addr, nil)
	if err != nil {
		return nil, err
	}
	if err := c.Login(user, password).Wait(); err != nil {
		c.Close()
		return nil, fmt.Errorf("login %s: %w", user, err)
	}
	return c, nil
}

// Logout ends the session and closes the connection.
func Logout(c *imapclient.Client) {
	_ = c.Logout().Wait()
	_ = c.Close()
}

// Fetch returns every message of folder in UID order, read with EXAMINE and
// UID FETCH 1:* (UID FLAGS INTERNALDATE BODY.PEEK[]). folder is the name as
// the server shows it; "" is the INBOX.
func Fetch(addr, user, password, folder string) ([]Message, error) {
	if folder == "" {
		folder = "INBOX"
	}
	c, err := Login(addr, user, password)
	if err != nil {
		return nil, err
	}
	defer Logout(c)
	sel, err := c.Select(folder, &imap.SelectOptions{ReadOnly: true}).Wait()
	if err != nil {
		return nil, fmt.Errorf("examine %q: %w", folder, err)
	}
	if sel.NumMessages == 0 {
		return nil, nil
	}
	body := &imap.FetchItemBodySection{Peek: true}
	bufs, err := c.Fetch(imap.UIDSet{{Start: 1, Stop: 0}}, &imap.FetchOptions{
		UID: true, Flags: true, InternalDate: true, BodySection: []*imap.FetchItemBodySection{body},
	}).Collect()
	if err != nil {
		return nil, fmt.Errorf("fetch %q: %w", folder, err)
	}
	msgs := make([]Message, 0, len(bufs))
	for _, b := range bufs {
		m := Message{UID: uint32(b.UID), InternalDate: b.InternalDate, Body: b.FindBodySection(body)}
		for _, f := range b.Flags {
			m.Flags = append(m.Flags, string(f))
		}
		msgs = append(msgs, m)
	}
	slices.SortFunc(msgs, func(a, b Message) int { return cmp.Compare(a.UID, b.UID) })
	return msgs, nil
}

// FetchBinary returns the messages of folder in UID order read with UID
// FETCH 1:* (BINARY.PEEK[]): go-imap reads a literal8 (a message holding
// NUL, as Cyrus serves it) only there. BINARY undoes transfer encodings:
// compare only messages that have none.
func FetchBinary(addr, user, password, folder string) ([][]byte, error) {
	c, err := Login(addr, user, password)
	if err != nil {
		return nil, err
	}
	defer Logout(c)
	if _, err := c.Select(folder, &imap.SelectOptions{ReadOnly: true}).Wait(); err != nil {
		return nil, fmt.Errorf("examine %q: %w", folder, err)
	}
	sec := &imap.FetchItemBinarySection{Peek: true}
	bufs, err := c.Fetch(imap.UIDSet{{Start: 1, Stop: 0}}, &imap.FetchOptions{UID: true,
		BinarySection: []*imap.FetchItemBinarySection{sec}}).Collect()
	if err != nil {
		return nil, fmt.Errorf("fetch %q: %w", folder, err)
	}
	slices.SortFunc(bufs, func(a, b *imapclient.FetchMessageBuffer) int { return cmp.Compare(a.UID, b.UID) })
	out := make([][]byte, 0, len(bufs))
	for _, b := range bufs {
		out = append(out, b.FindBinarySection(sec))
	}
	return out, nil
}

// Folders returns the names from LIST "" "*", sorted.
func Folders(addr, user, password string) ([]string, error) {
	c, err := Login(addr, user, password)
	if err != nil {
		return nil, err
	}
	defer Logout(c)
	return list(c)
}

func list(c *imapclient.Client) ([]string, error) {
	data, err := c.List("", "*", nil).Collect()
	if err != nil {
		return nil, fmt.Errorf("list: %w", err)
	}
	var names []string
	for _, l := range data {
		names = append(names, l.Mailbox)
	}
	slices.Sort(names)
	return names, nil
}

// Append stores msgs, in order, into folder ("" is the INBOX) with APPEND,
// creating the folder first when LIST does not show it selectable (no
// msgs: only that). The server decides
// what it stores (Cyrus rewrites 8-bit header bytes, for instance): read it
// back with Fetch.
func Append(addr, user, password, folder string, msgs [][]byte) error {
	if folder == "" {
		folder = "INBOX"
	}
	c, err := Login(addr, user, password)
	if err != nil {
		return err
	}
	defer Logout(c)
	if folder != "INBOX" {
		if err := ensureFolder(c, folder); err != nil {
			return err
		}
	}
	for i, msg := range msgs {
		if err := appendOne(c, folder, msg); err != nil {
			return fmt.Errorf("append message %d of %d to %q: %w", i+1, len(msgs), folder, err)
		}
	}
	return nil
}

// ensureFolder creates folder unless LIST shows it selectable (a parent
// that only holds children is listed \Noselect: Courier, Dovecot).
func ensureFolder(c *imapclient.Client, folder string) error {
	data, err := c.List("", folder, nil).Collect()
	if err != nil {
		return fmt.Errorf("list %q: %w", folder, err)
	}
	for _, l := range data {
		if l.Mailbox == folder && !slices.Contains(l.Attrs, imap.MailboxAttrNoSelect) &&
			!slices.Contains(l.Attrs, imap.MailboxAttrNonExistent) {
			return nil
		}
	}
	if err := c.Create(folder, nil).Wait(); err != nil {
		return fmt.Errorf("create %q: %w", folder, err)
	}
	return nil
}

func appendOne(c *imapclient.Client, folder string, msg []byte) error {
	cmd := c.Append(folder, int64(len(msg)), nil)
	if _, err := cmd.Write(msg); err != nil {
		_ = cmd.Close()
		return err
	}
	if err := cmd.Close(); err != nil {
		return err
	}
	_, err := cmd.Wait()
	return err
}

// IsNo reports whether err is an IMAP NO or BAD answer from the server.
func IsNo(err error) bool {
	var imapErr *imap.Error
	return errors.As(err, &imapErr)
}
