package imap

import (
	"context"
	"fmt"
	"slices"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/mailferry/mailferry/target"
)

var _ target.Layouter = (*Target)(nil)

// specialAttrs are the RFC 6154 attributes a Layout reports.
var specialAttrs = []imap.MailboxAttr{imap.MailboxAttrSent, imap.MailboxAttrDrafts,
	imap.MailboxAttrTrash, imap.MailboxAttrJunk, imap.MailboxAttrArchive}

// Layout reads the server's hierarchy delimiter and personal namespace
// prefix (NAMESPACE, RFC 2342, when announced) and lists every folder with
// its special-use attributes (RFC 6154). One call costs two or three round
// trips; callers keep the result.
func (t *Target) Layout(ctx context.Context) (target.Layout, error) {
	var l target.Layout
	err := t.withConn(ctx, func(c *conn) (bool, error) {
		err := c.run(ctx, t.opts.Timeout, func(cl *imapclient.Client) error {
			var err error
			l, err = layout(cl)
			return err
		})
		return retryable(err), err
	})
	if err != nil {
		return target.Layout{}, fmt.Errorf("layout: %w", classify(err, false))
	}
	return l, nil
}

func layout(cl *imapclient.Client) (target.Layout, error) {
	l := target.Layout{Special: map[string]string{}}
	if cl.Caps().Has(imap.CapNamespace) {
		ns, err := cl.Namespace().Wait()
		if err != nil {
			return l, err
		}
		if len(ns.Personal) > 0 {
			l.Prefix = ns.Personal[0].Prefix
			if ns.Personal[0].Delim != 0 {
				l.Delimiter = string(ns.Personal[0].Delim)
			}
		}
	}
	var opts *imap.ListOptions
	if cl.Caps().Has(imap.CapSpecialUse) {
		opts = &imap.ListOptions{ReturnSpecialUse: true}
	}
	all, err := cl.List("", "*", opts).Collect()
	if err != nil {
		return l, err
	}
	for _, d := range all {
		if l.Delimiter == "" && d.Delim != 0 {
			l.Delimiter = string(d.Delim)
		}
		l.Folders = append(l.Folders, d.Mailbox)
		for _, a := range d.Attrs {
			if _, taken := l.Special[string(a)]; !taken && slices.Contains(specialAttrs, a) {
				l.Special[string(a)] = d.Mailbox
			}
		}
	}
	return l, nil
}
