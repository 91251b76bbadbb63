package migrate

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"golang.org/x/sync/semaphore"

	"github.com/mailferry/mailferry/internal/retry"
	"github.com/mailferry/mailferry/migrate/identity"
	"github.com/mailferry/mailferry/source"
	"github.com/mailferry/mailferry/state"
)

// The read stage: a walker reads the messages of one source (Run and
// Verify both use it), and the reader turns each into an item for the
// pipeline: spooled, identified, claimed, in source order.

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
	// drop reports a message to leave out, unread and unrecorded (a
	// filter); nil drops none. It is asked at every listing.
	drop func(source.Ref) bool
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

// firstSessionAttempts is a source's budget of sessions before the first
// one ever opened: a host that does not answer then is more likely a
// mistake than a hiccup, so the walk gives up sooner.
const firstSessionAttempts = 3

// walk reads the source to its end, or returns the error that stopped it.
// It opens a new session after a transient error, up to
// Options.Reconnects times (firstSessionAttempts sessions in all until
// one opened).
func (w *walker) walk(ctx context.Context) error {
	w.handled = map[string]bool{}
	tries := 0
	budget := func() int {
		if !w.connected {
			return firstSessionAttempts
		}
		return w.opts.Reconnects + 1
	}
	p := w.opts.policy(max(w.opts.Reconnects+1, firstSessionAttempts), w.retry)
	p.Retryable = func(err error) bool { return transient(err) && tries < budget() }
	err := retry.Do(ctx, p, func(attempt int) error {
		tries = attempt + 1
		return w.session(ctx)
	})
	if _, spent := err.(*retry.Exhausted); !spent && transient(err) {
		err = &retry.Exhausted{Attempts: tries, Err: err} // budget() was spent
	}
	return gaveUp("source "+w.spec.Name, "", err)
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
		n := min(w.opts.ReadBatch, len(refs))
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
		case w.drop != nil && w.drop(ref):
			total++
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

// reader hands the messages of the sources that earlier runs have not
// done to the prepare stage, for one run. It is one goroutine, reading
// the sources one after the other.
type reader struct {
	r      *run
	dedup  *dedup
	out    chan<- *item
	mem    *semaphore.Weighted // the budget of message bytes held in memory
	claims claims              // the dedup keys of items on their way

	spec    *SourceSpec   // the source being read
	folders *folderMapper // its folders -> target folders
	// redo holds the source's messages that the state records as done
	// but whose copy the target no longer holds (Options.Recheck).
	redo map[string]bool
	// filtered holds the source's messages its filter left out.
	filtered map[string]bool
	// The last source folder resolved, and its target folder: messages
	// come folder by folder.
	lastFrom, lastTo string
	lastOK           bool
	buf              []byte // for io.CopyBuffer, one per reader
}

// readAll reads the sources in order.
func (rd *reader) readAll(ctx context.Context, sources []SourceSpec) error {
	for i := range sources {
		if err := rd.readSource(ctx, &sources[i]); err != nil {
			return err
		}
	}
	return nil
}

// readSource reads every message of spec that is not done yet and hands
// it on.
func (rd *reader) readSource(ctx context.Context, spec *SourceSpec) error {
	rd.spec, rd.folders = spec, &folderMapper{layout: rd.r.layout, maps: spec.FolderMap}
	rd.redo, rd.filtered = map[string]bool{}, map[string]bool{}
	rd.lastOK = false
	done := map[string]bool{}
	recs := map[string]state.RefRecord{}
	err := rd.r.m.State.Refs(spec.Name, func(id string, rec state.RefRecord) error {
		done[id] = true
		if rd.r.opts.Recheck {
			recs[id] = rec
		}
		return nil
	})
	if err != nil {
		return err // names the state and the source
	}
	if err := rd.recheck(ctx, recs, done); err != nil {
		return err
	}
	// The filed copy wins: of two copies of a message, the first read is
	// the one appended, and messages bound for INBOX are read last.
	w := &walker{opts: &rd.r.opts, spec: spec, take: rd.take, listed: rd.listed, drop: rd.drop,
		skip:  func(id string) bool { return done[id] },
		last:  func(ref source.Ref) bool { return rd.folderOf(ref) == "INBOX" },
		lost:  func(ref source.Ref, kind EventKind, err error) { rd.r.event(rd.event(kind, ref, err)) },
		retry: func(err error) { rd.r.event(Event{Kind: EventRetry, Source: spec.Name, Err: err}) }}
	return w.walk(ctx)
}

// recheck takes out of done the messages whose recorded copy the target
// folder no longer holds, and marks them to redo (Options.Recheck). A
// record without a UID is read again too: the message is then looked for
// by its identity, and appended only if missing.
func (rd *reader) recheck(ctx context.Context, recs map[string]state.RefRecord, done map[string]bool) error {
	retried := func(err error) { rd.r.event(Event{Kind: EventRetry, Source: rd.spec.Name, Err: err}) }
	for id, rec := range recs {
		held, err := rd.r.holds(ctx, rec.Folder, rec.UID, rec.Key, rec.BodyHash, retried)
		if err != nil {
			return err
		}
		if !held {
			delete(done, id)
			rd.redo[id] = true
		}
	}
	return nil
}

// drop reports whether the source's filter leaves ref out by what the
// listing tells (its exact size, its date), and reports it once.
func (rd *reader) drop(ref source.Ref) bool {
	why := rd.spec.Filter.refuses(ref.Date, ref.Size)
	if why == "" {
		return false
	}
	if !rd.filtered[ref.ID] {
		rd.filtered[ref.ID] = true
		rd.r.event(rd.event(EventFiltered, ref, errors.New(why)))
	}
	return true
}

// refuses returns why f leaves out a message of that date and size, ""
// if it takes it; a zero date or size is not known and passes.
func (f Filter) refuses(date time.Time, size int64) string {
	switch {
	case f.MaxSize > 0 && size > f.MaxSize:
		return fmt.Sprintf("%d bytes, larger than max_message_size %d", size, f.MaxSize)
	case date.IsZero():
		return ""
	case !f.Since.IsZero() && date.Before(f.Since):
		return fmt.Sprintf("dated %s, before the since date %s", date.Format(time.RFC3339), f.Since.Format(time.RFC3339))
	case !f.Before.IsZero() && !date.Before(f.Before):
		return fmt.Sprintf("dated %s, not before the before date %s", date.Format(time.RFC3339), f.Before.Format(time.RFC3339))
	}
	return ""
}

// internalDate is the date an APPEND of it gives the server: the
// source's, else the headers' (identity.ID.Date: the newest Received:,
// else Date:), zero if none.
func internalDate(it *item) time.Time {
	if !it.ref.Date.IsZero() {
		return it.ref.Date
	}
	return it.id.Date
}

func (rd *reader) event(kind EventKind, ref source.Ref, err error) Event {
	return Event{Kind: kind, Source: rd.spec.Name, Ref: ref, Folder: rd.folderOf(ref), Err: err}
}

// listed reports the first listing of the source. Its bytes are what
// the source says of the refs' sizes, exact or estimated (see
// source.Ref.SizeEstimate); each message's event then gives the bytes
// really read.
func (rd *reader) listed(refs []source.Ref, total, known int) {
	var bytes int64
	for _, ref := range refs {
		bytes += ref.ApproxSize()
	}
	rd.r.count(&rd.r.rep.Listed, total)
	rd.r.count(&rd.r.rep.Known, known)
	rd.r.event(Event{Kind: EventListed, Source: rd.spec.Name, Count: len(refs), Bytes: bytes})
}

// folderOf returns the target folder of a message, as far as the run
// knows it: for reports, not to append to (take resolves the folder).
func (rd *reader) folderOf(ref source.Ref) string {
	return rd.r.names.known(rd.folders.mapFolder(rd.spec.Folder, ref.Folder))
}

// take spools one message while computing its identity, claims its dedup
// key and queues it. A message whose folder cannot be created fails
// alone.
func (rd *reader) take(ctx context.Context, ref source.Ref, body io.Reader) error {
	folder, err := rd.lastTo, error(nil)
	if !rd.lastOK || rd.lastFrom != ref.Folder {
		rd.lastOK = false
		folder, err = rd.r.names.resolve(ctx, rd.folders, rd.spec.Folder, ref.Folder)
		rd.lastFrom, rd.lastTo, rd.lastOK = ref.Folder, folder, err == nil
	}
	if err != nil {
		if ClassOf(err) != ClassMessage {
			return err
		}
		// The folder cannot be created: the message fails, not the run.
		if _, err := io.Copy(io.Discard, body); err != nil {
			return fmt.Errorf("read %s message %s: %w", rd.spec.Name, ref.ID, err)
		}
		rd.r.event(rd.event(EventFailed, ref, err))
		return nil
	}
	it, err := rd.spool(ctx, ref, folder, body)
	if err != nil {
		return err
	}
	it.redo = rd.redo[ref.ID]
	// What the listing did not tell: the size as read, the header date.
	if why := rd.spec.Filter.refuses(internalDate(it), it.sp.Size()); why != "" {
		e := it.event(EventFiltered, errors.New(why))
		it.release()
		rd.r.event(e)
		return nil
	}
	return rd.queue(ctx, it)
}

// spool reads one message into a spool while computing its identity. It
// waits for room in the memory budget first.
//
// The memory budget is a hard bound whatever size the source announced:
// the message is charged its announced size (exact or estimated; the
// spool threshold when unknown or larger), its spool never holds more
// memory than it was charged, and one that turns out larger charges the
// difference before holding it (see spool), waiting for room. Once read,
// a message in memory is charged what it holds, and the excess of an
// overestimate goes back to the budget.
//
// Waiting for room in the middle of a message cannot deadlock: the
// reader (one goroutine over the sources) is the only one that charges
// the budget, every other holder gives its charge back without waiting
// for the reader, and no message is charged more than the spool
// threshold, which is at most the whole budget.
func (rd *reader) spool(ctx context.Context, ref source.Ref, folder string, body io.Reader) (*item, error) {
	o := &rd.r.opts
	weight, known := o.SpoolThreshold, ref.ApproxSize()
	if known > 0 && known < weight {
		weight = known
	}
	if err := rd.mem.Acquire(ctx, weight); err != nil {
		return nil, err
	}
	it := &item{spec: rd.spec, ref: ref, folder: folder, weight: weight, mem: rd.mem}
	// A known size above the threshold goes to a temp file: no buffer.
	prealloc := known > 0 && known <= o.SpoolThreshold
	it.sp = newSpool(weight, o.SpoolThreshold, o.SpoolDir, prealloc, func(n int64) error {
		if err := rd.mem.Acquire(ctx, n); err != nil {
			return err
		}
		it.weight += n
		return nil
	})
	it.sp.fileFirst = known > o.SpoolThreshold
	if rd.buf == nil {
		rd.buf = make([]byte, 32<<10)
	}
	h := identity.New()
	if _, err := io.CopyBuffer(io.MultiWriter(it.sp, h), body, rd.buf); err != nil {
		it.release()
		return nil, fmt.Errorf("read %s message %s: %w", rd.spec.Name, ref.ID, err)
	}
	if extra := it.sp.trim(); extra > 0 {
		it.weight -= extra
		rd.mem.Release(extra)
	}
	it.id = h.Sum()
	return it, nil
}

// queue claims the item's dedup key and hands the item on. It claims in
// source order, so that of two copies of one message the first listed is
// the one appended, whatever the uploaders' timing.
func (rd *reader) queue(ctx context.Context, it *item) error {
	key := rd.dedup.claimKey(it)
	if err := rd.claims.acquire(ctx, key); err != nil {
		it.release()
		return err
	}
	it.claim, it.claims = key, &rd.claims
	select {
	case rd.out <- it:
		return nil
	case <-ctx.Done():
		it.release()
		return ctx.Err()
	}
}
