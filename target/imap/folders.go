package imap

import (
	"context"
	"fmt"
	"strings"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/mailferry/mailferry/target"
)

// EnsureFolder creates folder unless LIST shows it already; a CREATE
// answered [ALREADYEXISTS] (another connection won the race) is success.
// Folders known to exist are remembered, so a second call costs nothing.
// Errors are those of Append, without the message classes.
func (t *Target) EnsureFolder(ctx context.Context, folder string) error {
	return t.EnsureFolderUse(ctx, folder, "")
}

var _ target.UseCreator = (*Target)(nil)

// EnsureFolderUse is EnsureFolder creating a missing folder with the
// special-use attribute use (`\Sent`, ...) when the server announces
// CREATE-SPECIAL-USE (RFC 6154); use "" is none.
func (t *Target) EnsureFolderUse(ctx context.Context, folder, use string) error {
	if t.isKnown(folder) {
		return nil
	}
	if !t.caps.Has(imap.CapCreateSpecialUse) {
		use = ""
	}
	if err := t.create(ctx, folder, use); err != nil {
		return fmt.Errorf("ensure folder %q: %w", folder, classify(err, false))
	}
	return nil
}

func (t *Target) isKnown(folder string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.known[folder]
}

func (t *Target) setKnown(folder string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.known[folder] = true
}

// create makes sure folder exists, on a pooled connection, creating it
// with the special-use attribute use unless use is "".
func (t *Target) create(ctx context.Context, folder, use string) error {
	err := t.withConn(ctx, func(c *conn) (bool, error) {
		err := c.run(ctx, t.opts.Timeout, func(cl *imapclient.Client) error {
			return ensure(cl, folder, use)
		})
		return retryable(err), err
	})
	if err == nil {
		t.setKnown(folder)
	}
	return err
}

// ensure runs LIST, then CREATE when folder is missing or a \Noselect
// parent. A CREATE refused by a server that gives no ALREADYEXISTS code is
// checked with a second LIST.
func ensure(cl *imapclient.Client, folder, use string) error {
	data, err := list(cl, folder)
	if err != nil {
		return err
	}
	if data != nil && !hasAttr(data, imap.MailboxAttrNoSelect) {
		return nil
	}
	var opts *imap.CreateOptions
	if use != "" {
		opts = &imap.CreateOptions{SpecialUse: []imap.MailboxAttr{imap.MailboxAttr(use)}}
	}
	err = cl.Create(folder, opts).Wait()
	if err == nil || hasCode(err, imap.ResponseCodeAlreadyExists) {
		return nil
	}
	if asIMAP(err) != nil {
		if data, lerr := list(cl, folder); lerr == nil && data != nil && !hasAttr(data, imap.MailboxAttrNoSelect) {
			return nil
		}
	}
	return err
}

// list returns the LIST data of folder, or nil when it does not exist.
func list(cl *imapclient.Client, folder string) (*imap.ListData, error) {
	all, err := cl.List("", folder, nil).Collect()
	if err != nil {
		return nil, err
	}
	for _, data := range all {
		if sameFolder(data.Mailbox, folder) && !hasAttr(data, imap.MailboxAttrNonExistent) {
			return data, nil
		}
	}
	return nil, nil
}

// sameFolder compares names exactly, except INBOX, which is
// case-insensitive (RFC 3501 5.1).
func sameFolder(a, b string) bool {
	if strings.EqualFold(a, "INBOX") {
		return strings.EqualFold(b, "INBOX")
	}
	return a == b
}

func hasAttr(data *imap.ListData, attr imap.MailboxAttr) bool {
	for _, a := range data.Attrs {
		if strings.EqualFold(string(a), string(attr)) {
			return true
		}
	}
	return false
}
