package imap

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/mailferry/mailferry/target"
	"github.com/mailferry/mailferry/target/imap/internal/pipe"
	"github.com/mailferry/mailferry/target/imap/internal/wire"
)

// Append stores msg in folder with its flags (\Recent, which no client may
// set, is left out) and, when msg.Date is not zero, its internal date,
// and returns the UID from APPENDUID, or 0 when the server sends none.
// The body is read from msg.Body afresh on each attempt.
//
// A folder that does not exist ([TRYCREATE], or a NO for a folder that
// LIST does not show) is created and the APPEND tried once more. An APPEND is repeated on a new connection only when it
// cannot have reached the server (the connection died before the server
// accepted the literal); once the whole message is sent, a lost answer is
// returned as a target.Temporary error and never retried here, because
// the server may have stored the message.
//
// Errors: [OVERQUOTA] wraps target.ErrOverQuota; [TOOBIG], [LIMIT] and any
// other refusal of the message wrap target.ErrRejected; [UNAVAILABLE],
// [INUSE], BYE, network failures and timeouts are target.Temporary; a done
// ctx yields ctx.Err(); a body shorter than msg.Size, or that cannot be
// read, is returned as it is.
func (t *Target) Append(ctx context.Context, folder string, msg target.Message) (uint32, error) {
	if msg.Size < 0 || (msg.Body == nil && msg.Size != 0) {
		return 0, fmt.Errorf("append %q: %w: no body for %d octets", folder, errBody, msg.Size)
	}
	if max := t.opts.MaxMessageSize; max > 0 && msg.Size > max {
		return 0, fmt.Errorf("append %q: %w: the message is %d octets, over the provider's limit of %d octets; not sent",
			folder, target.ErrRejected, msg.Size, max)
	}
	if msg.Body == nil {
		msg.Body = strings.NewReader("")
	}
	uid, err := t.appendPaced(ctx, folder, msg)
	if hasCode(err, imap.ResponseCodeTryCreate) || t.refusedForMissing(ctx, folder, err) {
		if err = t.create(ctx, folder, ""); err != nil {
			return 0, fmt.Errorf("append %q: cannot create the folder: %w", folder, classify(err, true))
		}
		uid, err = t.appendPaced(ctx, folder, msg)
	}
	if err != nil {
		return 0, fmt.Errorf("append %q: %w", folder, classify(t.nulRefused(msg, err), true))
	}
	return uid, nil
}

// appendPaced runs append, trying again at most maxBackoffs times when
// the server answers "Suggested Backoff Time" (after waiting as long as
// it suggests) or that the session is broken (at once: the pipeline has
// dropped that connection).
func (t *Target) appendPaced(ctx context.Context, folder string, msg target.Message) (uint32, error) {
	for i := 0; ; i++ {
		uid, err := t.append(ctx, folder, msg)
		if notConnected(err) && i < maxBackoffs {
			continue // the broken connection is gone: send again on a new one
		}
		d, ok := suggestedBackoff(err)
		if !ok || i == maxBackoffs {
			return uid, err
		}
		t.opts.Logger.Info("imap backoff", "folder", folder, "wait", d)
		if err := t.sleep(ctx, d); err != nil {
			return 0, err
		}
	}
}

// refusedForMissing reports whether err, the answer to an APPEND into
// folder, is a NO without a code (or [NONEXISTENT]) for a folder that
// LIST shows does not exist: Cyrus sends no [TRYCREATE] for a name it finds invalid, and
// older servers never send it.
func (t *Target) refusedForMissing(ctx context.Context, folder string, err error) bool {
	e := asIMAP(err)
	if e == nil || e.Type != imap.StatusResponseTypeNo || (e.Code != "" && e.Code != imap.ResponseCodeNonExistent) ||
		notConnected(err) || hasBackoff(err) {
		return false // a code that says why: [TOOBIG], [LIMIT], [OVERQUOTA] ...
	}
	var exists bool
	lerr := t.withConn(ctx, func(c *conn) (bool, error) {
		err := c.run(ctx, t.opts.Timeout, func(cl *imapclient.Client) error {
			data, err := list(cl, folder)
			exists = data != nil && !hasAttr(data, imap.MailboxAttrNoSelect)
			return err
		})
		return retryable(err), err
	})
	return lerr == nil && !exists
}

// append runs one APPEND on the pipeline when there is one and it can
// send this message, else through go-imap. A message holding NUL goes as
// a literal8 when the server announces BINARY (see appendBinary); without
// BINARY it goes as any other, and the server stores it or refuses it.
func (t *Target) append(ctx context.Context, folder string, msg target.Message) (uint32, error) {
	binary := false
	if t.caps.Has(imap.CapBinary) {
		nul, err := hasNUL(msg)
		if err != nil {
			return 0, err
		}
		binary = nul
	}
	if t.pipe != nil {
		uid, err := appendPiped(ctx, t.pipe, folder, msg, binary)
		if !errors.Is(err, wire.ErrUnsupported) {
			return uid, err
		}
	} else if binary {
		uid, err := t.appendBinary(ctx, folder, msg)
		if !errors.Is(err, wire.ErrUnsupported) {
			return uid, err
		}
	}
	return t.appendSync(ctx, folder, msg)
}

// appendBinary sends msg as a literal8 when there is no pipeline (go-imap
// cannot send one): on a raw connection of its own, dialed for this
// message and logged out after it, in the place of a pooled connection,
// so that the connections stay within Options.Connections. Messages with
// NUL are rare; the extra login costs one round trip or two each.
func (t *Target) appendBinary(ctx context.Context, folder string, msg target.Message) (uint32, error) {
	c, err := t.pool.acquire(ctx)
	if err != nil {
		return 0, err
	}
	defer t.pool.release(nil)
	if c != nil {
		t.logout(c)
	}
	p := t.newPipeline(1, 1)
	defer p.Close()
	return appendPiped(ctx, p, folder, msg, true)
}

// hasNUL reports whether msg's body holds a NUL octet.
func hasNUL(msg target.Message) (bool, error) {
	buf := make([]byte, 32<<10)
	r := io.NewSectionReader(msg.Body, 0, msg.Size)
	for {
		n, err := r.Read(buf)
		if bytes.IndexByte(buf[:n], 0) >= 0 {
			return true, nil
		}
		if err == io.EOF {
			return false, nil
		}
		if err != nil {
			return false, fmt.Errorf("%w: %w", errBody, err)
		}
	}
}

// nulRefused explains a refusal of a message that holds NUL by a server
// that does not announce BINARY: IMAP allows NUL only in a literal8
// (RFC 3516), and Cyrus refuses it otherwise ("Message contains NUL
// characters").
func (t *Target) nulRefused(msg target.Message, err error) error {
	if asIMAP(err) == nil || t.caps.Has(imap.CapBinary) {
		return err
	}
	if nul, _ := hasNUL(msg); !nul {
		return err
	}
	return fmt.Errorf("the message holds NUL octets, which IMAP allows only as binary (RFC 3516), and the server does not announce BINARY: %w", err)
}

// appendSync runs one APPEND on a pooled go-imap connection, retrying
// only when the message cannot have reached the server.
func (t *Target) appendSync(ctx context.Context, folder string, msg target.Message) (uint32, error) {
	var uid uint32
	err := t.withConn(ctx, func(c *conn) (bool, error) {
		var sent bool
		var err error
		uid, sent, err = t.appendOnce(ctx, c, folder, msg)
		// A session broken on the server's side (Microsoft 365) answers
		// NO: nothing stored, so a new connection may send it again.
		return err != nil && (notConnected(err) || !sent && retryable(err)), err
	})
	return uid, err
}

// retryable reports whether a command that failed with err may run again
// on a new connection: not after a server answer, a timeout, a done
// context, a missing message or a bad message body.
func retryable(err error) bool {
	return err != nil && asIMAP(err) == nil && !errors.Is(err, errTimeout) && !isContext(err) && !isLocal(err)
}

// errBody marks a failure to read the message body from msg.Body.
var errBody = pipe.ErrBody

// appendOnce sends one APPEND on c. sent reports whether the whole
// literal was handed to the connection, after which the server may have
// stored the message even if its answer is lost.
func (t *Target) appendOnce(ctx context.Context, c *conn, folder string, msg target.Message) (uid uint32, sent bool, err error) {
	opts := &imap.AppendOptions{Flags: appendFlags(msg.Flags), Time: msg.Date}
	err = c.run(ctx, t.opts.appendTimeout(msg.Size), func(cl *imapclient.Client) error {
		if err := deselect(c, cl); err != nil {
			return err
		}
		var data *imap.AppendData
		data, sent, err = writeAppend(c, cl, folder, msg, opts)
		if data != nil {
			uid = uint32(data.UID)
		}
		return err
	})
	return uid, sent, err
}

// deselect leaves the folder an Index or Fetch opened read-only on c, if
// any: Courier refuses an APPEND on a connection whose selected folder
// was opened with EXAMINE ("NO Current box is selected READ-ONLY"), even
// into another folder. UNSELECT (RFC 3691) where announced, else CLOSE,
// which expunges nothing in a folder opened read-only (RFC 3501 6.4.2).
// go-imap sends a command as soon as it is made: make only the one used
// (CLOSE then UNSELECT would leave UNSELECT to "BAD No mailbox selected").
func deselect(c *conn, cl *imapclient.Client) error {
	if c.selected == "" {
		return nil
	}
	var cmd *imapclient.Command
	if c.caps.Has(imap.CapUnselect) {
		cmd = cl.Unselect()
	} else {
		cmd = cl.UnselectAndExpunge()
	}
	if err := cmd.Wait(); err != nil {
		return err
	}
	c.selected = ""
	return nil
}

// writeAppend sends the APPEND command and its literal and waits for the
// answer. A body that fails or ends early leaves the command half sent:
// the connection is closed.
func writeAppend(c *conn, cl *imapclient.Client, folder string, msg target.Message, opts *imap.AppendOptions) (*imap.AppendData, bool, error) {
	cmd := cl.Append(folder, msg.Size, opts)
	body := &pipe.BodyReader{R: io.NewSectionReader(msg.Body, 0, msg.Size)}
	n, copyErr := io.Copy(cmd, body)
	if body.Err != nil || (copyErr == nil && n != msg.Size) {
		c.close()
		_, _ = cmd.Wait()
		if body.Err == nil {
			body.Err = fmt.Errorf("has %d octets, want %d", n, msg.Size)
		}
		return nil, false, fmt.Errorf("%w: %w", errBody, body.Err)
	}
	closeErr := cmd.Close()
	data, err := cmd.Wait()
	if err == nil && closeErr != nil {
		err = closeErr
	}
	return data, copyErr == nil && closeErr == nil, err
}

// appendFlags converts flags, leaving out \Recent (RFC 3501 6.3.11: a
// client cannot set it; Dovecot answers BAD).
func appendFlags(flags []string) []imap.Flag {
	var out []imap.Flag
	for _, f := range flags {
		if strings.EqualFold(f, `\Recent`) || f == "" {
			continue
		}
		out = append(out, imap.Flag(f))
	}
	return out
}
