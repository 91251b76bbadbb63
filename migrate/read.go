package migrate

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/mailferry/mailferry/migrate/identity"
	"github.com/mailferry/mailferry/source"
	"github.com/mailferry/mailferry/state"
)

// reader reads one source for one run, reconnecting after transient errors.
type reader struct {
	r         *run
	spec      *SourceSpec
	work      chan<- *item
	folders   *folderMapper   // source folder -> target folder
	done      map[string]bool // refs finished by earlier runs
	handled   map[string]bool // refs this run has read (or given up on)
	listed    bool            // the first listing has been reported
	connected bool            // a session has been opened at least once
}

// runSource reads every message of spec that is not done yet and hands it
// to the workers.
func (r *run) runSource(ctx context.Context, spec *SourceSpec, work chan<- *item) error {
	rd := &reader{r: r, spec: spec, work: work, done: map[string]bool{}, handled: map[string]bool{},
		folders: &folderMapper{layout: r.layout, maps: spec.FolderMap}}
	err := r.m.State.Refs(spec.Name, func(id string, _ state.RefRecord) error {
		rd.done[id] = true
		return nil
	})
	if err != nil {
		return fmt.Errorf("state of %s: %w", spec.Name, err)
	}
	for attempt := 0; ; attempt++ {
		err := rd.session(ctx)
		if err == nil || ClassOf(err) != ClassTransient {
			return err
		}
		// Before the first session, a host that does not answer is more
		// likely a mistake than a hiccup: give up sooner.
		limit := r.opts.Reconnects
		if !rd.connected {
			limit = 2
		}
		if attempt >= limit {
			return &ConnectError{What: "source " + spec.Name, Err: fmt.Errorf("gave up after %d attempts: %w", attempt+1, err)}
		}
		r.event(Event{Kind: EventRetry, Source: spec.Name, Err: err})
		if err := sleep(ctx, backoff(attempt, r.opts.Backoff, r.opts.MaxBackoff)); err != nil {
			return err
		}
	}
}

// session opens the source, lists it and reads what is left to read.
func (rd *reader) session(ctx context.Context) error {
	src, err := rd.spec.Open(ctx)
	if err != nil {
		return err
	}
	defer src.Close()
	rd.connected = true
	refs, err := rd.list(ctx, src)
	if err != nil {
		return err
	}
	for len(refs) > 0 {
		n := min(rd.r.opts.Batch, len(refs))
		if err := rd.readBatch(ctx, src, refs[:n]); err != nil {
			return err
		}
		refs = refs[n:]
	}
	return nil
}

// folderOf returns the target folder of a message.
func (rd *reader) folderOf(ref source.Ref) string {
	return rd.folders.mapFolder(rd.spec.Folder, ref.Folder)
}

// list returns the refs still to read, and reports the first listing.
func (rd *reader) list(ctx context.Context, src source.Source) ([]source.Ref, error) {
	var refs []source.Ref
	var total, known int
	var bytes int64
	seen := map[string]bool{}
	err := src.List(ctx, func(ref source.Ref) error {
		total++
		switch {
		case seen[ref.ID]: // a source that lists an ID twice: read it once
		case !wanted(rd.spec, ref.Folder):
			total--
		case rd.done[ref.ID]:
			known++
		case !rd.handled[ref.ID]:
			refs = append(refs, ref)
			bytes += ref.Size
		}
		seen[ref.ID] = true
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", rd.spec.Name, err)
	}
	if !rd.listed {
		rd.listed = true
		rd.r.mu.Lock()
		rd.r.rep.Listed += total
		rd.r.rep.Known += known
		rd.r.mu.Unlock()
		rd.r.event(Event{Kind: EventListed, Source: rd.spec.Name, Count: len(refs), Bytes: bytes})
	}
	return refs, nil
}

// readBatch reads refs, together when the source can.
func (rd *reader) readBatch(ctx context.Context, src source.Source, refs []source.Ref) error {
	b, ok := src.(source.Batcher)
	if !ok || len(refs) == 1 {
		return rd.readEach(ctx, src, refs)
	}
	err := b.OpenBatch(ctx, refs, func(ref source.Ref, body io.Reader) error {
		return rd.take(ctx, ref, body)
	})
	if _, alone := perMessage(err); alone {
		// Which one? Read the rest one by one to find out.
		var rest []source.Ref
		for _, ref := range refs {
			if !rd.handled[ref.ID] {
				rest = append(rest, ref)
			}
		}
		return rd.readEach(ctx, src, rest)
	}
	return err
}

// perMessage tells whether err from opening a message concerns that
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

func (rd *reader) readEach(ctx context.Context, src source.Source, refs []source.Ref) error {
	for _, ref := range refs {
		body, err := src.Open(ctx, ref)
		if kind, alone := perMessage(err); alone {
			rd.handled[ref.ID] = true
			rd.r.event(Event{Kind: kind, Source: rd.spec.Name, Ref: ref, Folder: rd.folderOf(ref), Err: err})
			continue
		}
		if err != nil {
			return err
		}
		err = rd.take(ctx, ref, body)
		if cerr := body.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// take spools one message while computing its identity and queues it for
// the workers. It waits for room in the memory budget first.
func (rd *reader) take(ctx context.Context, ref source.Ref, body io.Reader) error {
	o := &rd.r.opts
	weight := o.SpoolThreshold
	if ref.Size > 0 && ref.Size < weight {
		weight = ref.Size
	}
	if err := rd.r.mem.Acquire(ctx, weight); err != nil {
		return err
	}
	it := &item{spec: rd.spec, ref: ref, folder: rd.folderOf(ref), weight: weight, mem: rd.r.mem,
		sp: newSpool(ref.Size, o.SpoolThreshold, o.SpoolDir)}
	h := identity.New()
	if _, err := io.Copy(io.MultiWriter(it.sp, h), body); err != nil {
		it.release()
		if kind, alone := perMessage(err); alone {
			rd.handled[ref.ID] = true
			rd.r.event(Event{Kind: kind, Source: rd.spec.Name, Ref: ref, Folder: it.folder, Err: err})
			return nil
		}
		return fmt.Errorf("read %s message %s: %w", rd.spec.Name, ref.ID, err)
	}
	it.id = h.Sum()
	rd.handled[ref.ID] = true
	// Claim in source order, so that of two copies of one message the
	// first listed is the one appended, whatever the workers' timing.
	key := rd.r.claimKey(it)
	if err := rd.r.claims.acquire(ctx, key); err != nil {
		it.release()
		return err
	}
	it.claim, it.claims = key, &rd.r.claims
	select {
	case rd.work <- it:
		return nil
	case <-ctx.Done():
		it.release()
		return ctx.Err()
	}
}
