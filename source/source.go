package source

import (
	"context"
	"errors"
	"io"
	"time"

	"github.com/mailferry/mailferry/internal/mailnet"
)

// A Ref names one message in a source, stably across runs.
type Ref struct {
	// ID is stable between runs of the same source: the POP3 UIDL, a
	// Maildir unique name, a file path plus offset.
	ID string
	// Folder is the folder path in the source, "/"-separated; "" is the
	// source's top level (INBOX for a POP3 maildrop).
	Folder string
	// Size is the exact length in octets of what Open returns (CRLF line
	// endings) when the source knows it without reading the message: the
	// size POP3 LIST reports, an mbox message's, a Maildir file name's
	// W=. Else 0.
	Size int64
	// SizeEstimate, when Size is 0, is the source's guess of that length,
	// 0 for none: for an archive file with LF line endings, its size plus
	// an allowance for the CRs that Open adds (see each kind). The engine
	// takes Size, else SizeEstimate, for its progress totals until the
	// message is read and as the first charge against its memory budget;
	// it counts the bytes it reads, so a wrong estimate costs time, never
	// memory or a byte of the message.
	SizeEstimate int64
	// Flags holds IMAP system flags (`\Seen`, ...) and keywords.
	Flags []string
	// Date is the internal date to give the APPEND; the zero time means
	// the source has none and the caller derives one from the headers.
	Date time.Time
}

// ApproxSize returns Size when the source knows it, else SizeEstimate (0
// when neither is known).
func (r Ref) ApproxSize() int64 {
	if r.Size > 0 {
		return r.Size
	}
	return r.SizeEstimate
}

// A Source lists messages and opens them.
//
// List and Open may be called one after the other but not concurrently
// unless the kind says otherwise: a POP3 maildrop is one session.
type Source interface {
	// List calls fn once per message, in an order stable between runs.
	// An error from fn stops the listing and is returned as is.
	List(ctx context.Context, fn func(Ref) error) error
	// Open returns the message's exact bytes, CRLF line endings (except
	// a bare LF that a POP3 server sends: source/pop3 keeps it). The
	// caller must Close the reader before the next call on the Source.
	Open(ctx context.Context, ref Ref) (io.ReadCloser, error)
	// Close ends the session without changing the source.
	Close() error
}

// A Batcher reads many messages faster together than one by one, for
// example POP3 with PIPELINING. It is an optional interface of a Source.
type Batcher interface {
	// OpenBatch reads the messages refs names and calls fn for each, in
	// the order of refs, with a reader that is valid only until fn
	// returns (fn must consume it). An error from fn stops the batch and
	// is returned as is; the session stays usable only if OpenBatch
	// returns nil.
	OpenBatch(ctx context.Context, refs []Ref, fn func(Ref, io.Reader) error) error
}

// A Deleter removes messages from where they are: a POP3 maildrop. It is
// an optional interface of a Source; archive sources never change.
type Deleter interface {
	// Delete marks the messages refs names (listed by this session) for
	// deletion and ends the session, which is what makes a POP3 server
	// remove them. It returns the refs the server accepted for deletion.
	// With a nil error they are gone. With an error the server may have
	// removed them or not (POP3 rolls back when the session ends without
	// an acknowledged QUIT). Refs not in the source are left out. The
	// Source is closed when Delete returns.
	Delete(ctx context.Context, refs []Ref) (deleted []Ref, err error)
}

// Errors every source kind uses, so that the engine can classify them
// without knowing the kind. Kinds wrap them with %w.
var (
	// ErrAuth means the server refused the credentials: fatal for the job.
	// It is mailnet.ErrAuth: one value for sources and targets.
	ErrAuth = mailnet.ErrAuth
	// ErrNotFound means a listed message is gone (deleted by another
	// client between List and Open): that message is skipped.
	ErrNotFound = errors.New("message no longer in the source")
	// ErrUnreadable means one message cannot be read as it is stored (a
	// malformed file, a byte count that lies): that message fails with
	// the reason, the run goes on.
	ErrUnreadable = errors.New("message cannot be read")
)

// TemporaryError marks an error as transient: reconnecting and trying
// again may succeed (a reset connection, a timeout, POP3 -ERR [IN-USE]). It is mailnet.TemporaryError: one
// type for sources and targets.
type TemporaryError = mailnet.TemporaryError

// Temporary wraps err as a TemporaryError; nil stays nil.
func Temporary(err error) error { return mailnet.Temporary(err) }
