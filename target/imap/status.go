package imap

import (
	"context"
	"fmt"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/mailferry/mailferry/target"
)

var _ target.Statuser = (*Target)(nil)

// Status asks STATUS (MESSAGES UIDNEXT) of folder on a pooled connection.
// A folder that does not exist ([NONEXISTENT], or no code from an older
// server that LIST then does not show) has the zero status.
func (t *Target) Status(ctx context.Context, folder string) (target.FolderStatus, error) {
	var st target.FolderStatus
	err := t.withConn(ctx, func(c *conn) (bool, error) {
		err := c.run(ctx, t.opts.Timeout, func(cl *imapclient.Client) error {
			data, err := cl.Status(folder, &imap.StatusOptions{NumMessages: true, UIDNext: true}).Wait()
			if err != nil {
				if hasCode(err, imap.ResponseCodeNonExistent) {
					return nil
				}
				if asIMAP(err) != nil {
					if l, lerr := list(cl, folder); lerr == nil && l == nil {
						return nil
					}
				}
				return err
			}
			if data.NumMessages != nil {
				st.Messages = *data.NumMessages
			}
			st.UIDNext = uint32(data.UIDNext)
			return nil
		})
		return retryable(err), err
	})
	if err != nil {
		return target.FolderStatus{}, fmt.Errorf("status %q: %w", folder, classify(err, false))
	}
	return st, nil
}
