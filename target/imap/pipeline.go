package imap

import (
	"context"
	"fmt"

	"github.com/mailferry/mailferry/target"
	"github.com/mailferry/mailferry/target/imap/internal/pipe"
	"github.com/mailferry/mailferry/target/imap/internal/session"
	"github.com/mailferry/mailferry/target/imap/internal/wire"
)

// pipeConns is how many connections the pipeline uses: half of
// Connections (at least one). A pipelined connection carries several
// times the APPENDs of a go-imap one, and the go-imap pool stays beside
// it for folders, Index and Fetch, so the total stays near Connections
// (servers cap connections per user: Dovecot allows 10 by default).
func pipeConns(connections int) int {
	return max(1, connections/2)
}

// newPipeline returns a pipeline (package pipe) of conns connections of
// its own, beside the go-imap pool, with up to depth requests in flight
// on each.
func (t *Target) newPipeline(conns, depth int) *pipe.Pipeline {
	return pipe.New(pipe.Config{
		Conns:         conns,
		Depth:         depth,
		Dial:          func(ctx context.Context) (*session.Session, error) { return session.Dial(ctx, t.sessionConfig()) },
		Timeout:       t.opts.appendTimeout,
		LogoutTimeout: min(logoutTimeout, t.opts.Timeout),
		Closed:        errClosed,
		Logger:        t.opts.Logger.With("addr", t.opts.Addr),
	})
}

// appendPiped runs one APPEND on p; binary sends the message as a
// literal8 (RFC 3516), which the caller may set only when the server
// announces BINARY. It returns wire.ErrUnsupported (wrapped) when the
// go-imap path must take the call (a flag that is not an atom); other
// errors are as appendSync's.
func appendPiped(ctx context.Context, p *pipe.Pipeline, folder string, msg target.Message, binary bool) (uint32, error) {
	head, err := wire.AppendHead(folder, appendFlags(msg.Flags), msg.Date)
	if err != nil {
		return 0, err
	}
	if err := checkBody(msg); err != nil {
		return 0, err
	}
	return p.Append(ctx, folder, head, msg.Body, msg.Size, binary)
}

// checkBody fails a body shorter than msg.Size before anything is sent.
func checkBody(msg target.Message) error {
	if msg.Size == 0 {
		return nil
	}
	var b [1]byte
	if n, _ := msg.Body.ReadAt(b[:], msg.Size-1); n != 1 {
		return fmt.Errorf("%w: fewer than %d octets", errBody, msg.Size)
	}
	return nil
}
