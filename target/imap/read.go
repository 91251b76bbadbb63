package imap

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/mailferry/mailferry/target"
)

// perMessage is added to the watchdog's limit for each message a FETCH
// returns; the watchdog also waits as long as data keeps arriving.
const perMessage = time.Millisecond

// messageIDSection is BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)].
var messageIDSection = &imap.FetchItemBodySection{
	Specifier:    imap.PartSpecifierHeader,
	HeaderFields: []string{"Message-ID"},
	Peek:         true,
}

// Index lists every message in folder with its UID, raw Message-ID and
// RFC822.SIZE, with one EXAMINE and one UID FETCH 1:*. It changes no
// flag. A folder that does not exist, or cannot be selected, and an empty
// folder yield nil and no error. Network errors and timeouts are
// target.Temporary; a done ctx yields ctx.Err().
func (t *Target) Index(ctx context.Context, folder string) ([]target.Entry, error) {
	var entries []target.Entry
	err := t.withConn(ctx, func(c *conn) (bool, error) {
		var err error
		entries, err = t.index(ctx, c, folder)
		return retryable(err), err
	})
	if err != nil {
		return nil, fmt.Errorf("index %q: %w", folder, classify(err, false))
	}
	return entries, nil
}

func (t *Target) index(ctx context.Context, c *conn, folder string) ([]target.Entry, error) {
	var n uint32
	err := c.run(ctx, t.opts.Timeout, func(cl *imapclient.Client) error {
		var err error
		n, err = examine(c, cl, folder)
		return err
	})
	if err != nil || n == 0 {
		return nil, err // missing and empty folders: n == 0
	}
	var entries []target.Entry
	timeout := t.opts.Timeout + time.Duration(n)*perMessage
	err = c.run(ctx, timeout, func(cl *imapclient.Client) error {
		var uids imap.UIDSet
		uids.AddRange(1, 0) // 1:*
		msgs, err := cl.Fetch(uids, &imap.FetchOptions{
			UID:         true,
			RFC822Size:  true,
			BodySection: []*imap.FetchItemBodySection{messageIDSection},
		}).Collect()
		for _, m := range msgs {
			entries = append(entries, target.Entry{
				UID:       uint32(m.UID),
				MessageID: messageID(headerSection(m)),
				Size:      m.RFC822Size,
			})
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return entries, nil
}

// headerSection returns the header fields the server sent for m.
func headerSection(m *imapclient.FetchMessageBuffer) []byte {
	if b := m.FindBodySection(messageIDSection); b != nil {
		return b
	}
	if len(m.BodySection) > 0 {
		return m.BodySection[0].Bytes
	}
	return nil
}

// examine selects folder read-only unless it is selected already and
// returns its number of messages; a folder that does not exist or cannot
// be selected counts as empty.
func examine(c *conn, cl *imapclient.Client, folder string) (uint32, error) {
	c.selected = ""
	data, err := cl.Select(folder, &imap.SelectOptions{ReadOnly: true}).Wait()
	if err == nil {
		c.selected = folder
		return data.NumMessages, nil
	}
	if missing(cl, folder, err) {
		return 0, nil
	}
	return 0, err
}

// missing reports whether err, the answer to EXAMINE folder, means the
// folder does not exist (or is a \Noselect parent).
func missing(cl *imapclient.Client, folder string, err error) bool {
	imapErr := asIMAP(err)
	if imapErr == nil || imapErr.Type != imap.StatusResponseTypeNo {
		return false
	}
	if imapErr.Code == imap.ResponseCodeNonExistent {
		return true
	}
	data, lerr := list(cl, folder)
	return lerr == nil && (data == nil || hasAttr(data, imap.MailboxAttrNoSelect))
}

// Fetch returns the exact bytes of the message with that UID in folder,
// without setting \Seen. A message the server serves as a literal8, which
// go-imap cannot read, is read again on a raw connection (fetchraw.go). A
// missing message or folder wraps ErrNotFound. Other errors are
// classified as for Index.
func (t *Target) Fetch(ctx context.Context, folder string, uid uint32) ([]byte, error) {
	var body []byte
	err := t.withConn(ctx, func(c *conn) (bool, error) {
		err := c.run(ctx, t.opts.Timeout, func(cl *imapclient.Client) error {
			var err error
			body, err = fetch(c, cl, folder, uid)
			return err
		})
		if t.servedLiteral8(err) {
			c.close() // go-imap closed it; the raw connection takes its place
			body, err = t.fetchRaw(ctx, folder, uid, err)
		}
		return retryable(err) && !errors.Is(err, errNoLiteral8), err
	})
	if err != nil {
		return nil, fmt.Errorf("fetch %q UID %d: %w", folder, uid, classify(err, false))
	}
	return body, nil
}

// fetch runs UID FETCH uid BODY.PEEK[], selecting folder first unless it
// is selected already; when the message is not found in a mailbox
// selected earlier, it selects again (the message may have arrived since)
// and asks once more.
func fetch(c *conn, cl *imapclient.Client, folder string, uid uint32) ([]byte, error) {
	fresh := c.selected != folder
	if fresh {
		if n, err := examine(c, cl, folder); err != nil || n == 0 {
			return nil, orNotFound(err)
		}
	}
	body, err := fetchBody(cl, uid)
	if body == nil && err == nil && !fresh {
		if n, err := examine(c, cl, folder); err != nil || n == 0 {
			return nil, orNotFound(err)
		}
		body, err = fetchBody(cl, uid)
	}
	if body == nil && err == nil {
		return nil, ErrNotFound
	}
	return body, err
}

// orNotFound returns err, or ErrNotFound when err is nil.
func orNotFound(err error) error {
	if err == nil {
		return ErrNotFound
	}
	return err
}

// fetchBody returns the message's bytes, or nil and no error when there
// is no message with that UID.
func fetchBody(cl *imapclient.Client, uid uint32) ([]byte, error) {
	section := &imap.FetchItemBodySection{Peek: true}
	msgs, err := cl.Fetch(imap.UIDSetNum(imap.UID(uid)), &imap.FetchOptions{
		UID:         true,
		BodySection: []*imap.FetchItemBodySection{section},
	}).Collect()
	if err != nil {
		return nil, err
	}
	for _, m := range msgs {
		if uint32(m.UID) == uid {
			if b := m.FindBodySection(section); b != nil {
				return b, nil
			}
			return []byte{}, nil
		}
	}
	return nil, nil
}

// messageID returns the value of the first Message-ID field in header
// (the raw header fields a server returns for HEADER.FIELDS), unfolded
// and trimmed, or "" when there is none. The field name is matched
// case-insensitively.
func messageID(header []byte) string {
	lines := bytes.Split(bytes.ReplaceAll(header, []byte("\r\n"), []byte("\n")), []byte("\n"))
	for i, line := range lines {
		name, value, ok := bytes.Cut(line, []byte(":"))
		if !ok || !bytes.EqualFold(bytes.TrimRight(name, " \t"), []byte("Message-ID")) {
			continue
		}
		unfolded := append([]byte{}, value...)
		for _, next := range lines[i+1:] {
			if len(next) == 0 || (next[0] != ' ' && next[0] != '\t') {
				break
			}
			unfolded = append(unfolded, next...) // amortised: linear in the field's size
		}
		return string(bytes.TrimSpace(unfolded))
	}
	return ""
}
