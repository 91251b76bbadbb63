package migrate

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/mailferry/mailferry/source"
)

// A walker reads every wanted message of one source once: it lists the
// source, reads the messages in batches (pipelined when the source is a
// source.Batcher) and reconnects after transient errors, resuming with
// the messages not read yet. Run and Verify both walk their sources.
type walker struct {
	opts *Options
	spec *SourceSpec
	// skip reports a message not to read (done by an earlier run); nil
	// skips none.
	skip func(id string) bool
	// last reports a message to read after the others of the source,
	// which keep their order; nil reads in the source's order.
	last func(source.Ref) bool
	// listed is told, once, after the first listing: the refs to read,
	// how many wanted messages the source holds and how many skip took.
	listed func(refs []source.Ref, total, skipped int)
	// take consumes one message's body. An error for that message alone
	// (source.ErrNotFound, source.ErrUnreadable) goes to lost instead of
	// stopping the walk.
	take func(ctx context.Context, ref source.Ref, body io.Reader) error
	// lost is told of a message that could not be read: kind is
	// EventVanished or EventFailed.
	lost func(ref source.Ref, kind EventKind, err error)
	// retry is told of a transient error before reconnecting.
	retry func(err error)

	handled   map[string]bool // read, or given up on, in this walk
	reported  bool            // listed has been called
	connected bool            // a session has been opened at least once
}

// walk reads the source to its end, or returns the error that stopped it.
func (w *walker) walk(ctx context.Context) error {
	w.handled = map[string]bool{}
	for attempt := 0; ; attempt++ {
		err := w.session(ctx)
		if err == nil || ClassOf(err) != ClassTransient {
			return err
		}
		// Before the first session, a host that does not answer is more
		// likely a mistake than a hiccup: give up sooner.
		limit := w.opts.Reconnects
		if !w.connected {
			limit = 2
		}
		if attempt >= limit {
			return &ConnectError{What: "source " + w.spec.Name, Err: fmt.Errorf("gave up after %d attempts: %w", attempt+1, err)}
		}
		if w.retry != nil {
			w.retry(err)
		}
		if err := sleep(ctx, backoff(attempt, w.opts.Backoff, w.opts.MaxBackoff)); err != nil {
			return err
		}
	}
}

// session opens the source, lists it and reads what is left to read.
func (w *walker) session(ctx context.Context) error {
	src, err := w.spec.Open(ctx)
	if err != nil {
		return err
	}
	defer src.Close()
	w.connected = true
	refs, err := w.list(ctx, src)
	if err != nil {
		return err
	}
	for len(refs) > 0 {
		n := min(w.opts.Batch, len(refs))
		if err := w.readBatch(ctx, src, refs[:n]); err != nil {
			return err
		}
		refs = refs[n:]
	}
	return nil
}

// list returns the refs still to read, and reports the first listing.
func (w *walker) list(ctx context.Context, src source.Source) ([]source.Ref, error) {
	var refs []source.Ref
	var total, skipped int
	seen := map[string]bool{}
	err := src.List(ctx, func(ref source.Ref) error {
		switch {
		case seen[ref.ID]: // a source that lists an ID twice: read it once
		case !wanted(w.spec, ref.Folder):
		case w.skip != nil && w.skip(ref.ID):
			total++
			skipped++
		default:
			total++
			if !w.handled[ref.ID] {
				refs = append(refs, ref)
			}
		}
		seen[ref.ID] = true
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", w.spec.Name, err)
	}
	if w.last != nil {
		refs = moveLast(refs, w.last)
	}
	if !w.reported {
		w.reported = true
		if w.listed != nil {
			w.listed(refs, total, skipped)
		}
	}
	return refs, nil
}

// moveLast returns refs with those last picks after the others, each
// part in its order.
func moveLast(refs []source.Ref, last func(source.Ref) bool) []source.Ref {
	out := make([]source.Ref, 0, len(refs))
	var later []source.Ref
	for _, r := range refs {
		if last(r) {
			later = append(later, r)
		} else {
			out = append(out, r)
		}
	}
	return append(out, later...)
}

// readBatch reads refs, together when the source can.
func (w *walker) readBatch(ctx context.Context, src source.Source, refs []source.Ref) error {
	b, ok := src.(source.Batcher)
	if !ok || len(refs) == 1 {
		return w.readEach(ctx, src, refs)
	}
	err := b.OpenBatch(ctx, refs, func(ref source.Ref, body io.Reader) error {
		return w.takeOne(ctx, ref, body)
	})
	if _, alone := perMessage(err); alone {
		// Which one? Read the rest one by one to find out.
		var rest []source.Ref
		for _, ref := range refs {
			if !w.handled[ref.ID] {
				rest = append(rest, ref)
			}
		}
		return w.readEach(ctx, src, rest)
	}
	return err
}

func (w *walker) readEach(ctx context.Context, src source.Source, refs []source.Ref) error {
	for _, ref := range refs {
		body, err := src.Open(ctx, ref)
		if kind, alone := perMessage(err); alone {
			w.handled[ref.ID] = true
			w.lost(ref, kind, err)
			continue
		}
		if err != nil {
			return err
		}
		err = w.takeOne(ctx, ref, body)
		if cerr := body.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// takeOne hands one message to take and marks it handled.
func (w *walker) takeOne(ctx context.Context, ref source.Ref, body io.Reader) error {
	err := w.take(ctx, ref, body)
	if kind, alone := perMessage(err); alone {
		w.handled[ref.ID] = true
		w.lost(ref, kind, err)
		return nil
	}
	if err == nil {
		w.handled[ref.ID] = true
	}
	return err
}

// perMessage tells whether err from reading a message concerns that
// message alone, and what to report: gone, or unreadable (a failure).
func perMessage(err error) (EventKind, bool) {
	switch {
	case errors.Is(err, source.ErrNotFound):
		return EventVanished, true
	case errors.Is(err, source.ErrUnreadable):
		return EventFailed, true
	}
	return 0, false
}
