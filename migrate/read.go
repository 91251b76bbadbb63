package migrate

import (
	"context"
	"fmt"
	"io"

	"github.com/mailferry/mailferry/migrate/identity"
	"github.com/mailferry/mailferry/source"
	"github.com/mailferry/mailferry/state"
)

// reader hands the messages of one source that earlier runs have not
// done to the workers, for one run.
type reader struct {
	r       *run
	spec    *SourceSpec
	work    chan<- *item
	folders *folderMapper // source folder -> target folder
}

// runSource reads every message of spec that is not done yet and hands it
// to the workers.
func (r *run) runSource(ctx context.Context, spec *SourceSpec, work chan<- *item) error {
	rd := &reader{r: r, spec: spec, work: work, folders: &folderMapper{layout: r.layout, maps: spec.FolderMap}}
	done := map[string]bool{}
	err := r.m.State.Refs(spec.Name, func(id string, _ state.RefRecord) error {
		done[id] = true
		return nil
	})
	if err != nil {
		return fmt.Errorf("state of %s: %w", spec.Name, err)
	}
	// The filed copy wins: of two copies of a message, the first read is
	// the one appended, and messages bound for INBOX are read last.
	w := &walker{opts: &r.opts, spec: spec, take: rd.take, listed: rd.listed,
		skip:  func(id string) bool { return done[id] },
		last:  func(ref source.Ref) bool { return rd.folderOf(ref) == "INBOX" },
		lost:  func(ref source.Ref, kind EventKind, err error) { r.event(rd.eventOf(kind, ref, err)) },
		retry: func(err error) { r.event(Event{Kind: EventRetry, Source: spec.Name, Err: err}) }}
	return w.walk(ctx)
}

func (rd *reader) eventOf(kind EventKind, ref source.Ref, err error) Event {
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
	rd.r.mu.Lock()
	rd.r.rep.Listed += total
	rd.r.rep.Known += known
	rd.r.mu.Unlock()
	rd.r.event(Event{Kind: EventListed, Source: rd.spec.Name, Count: len(refs), Bytes: bytes})
}

// folderOf returns the target folder of a message, as far as the run
// knows it: for reports, not to append to (take resolves the folder).
func (rd *reader) folderOf(ref source.Ref) string {
	return rd.r.names.known(rd.folders.mapFolder(rd.spec.Folder, ref.Folder))
}

// take spools one message while computing its identity, claims its key
// and queues it for the workers. It waits for room in the memory budget
// first.
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
func (rd *reader) take(ctx context.Context, ref source.Ref, body io.Reader) error {
	folder, err := rd.r.names.resolve(ctx, rd.folders, rd.spec.Folder, ref.Folder)
	if err != nil {
		if ClassOf(err) != ClassMessage {
			return err
		}
		// The folder cannot be created: the message fails, not the run.
		if _, err := io.Copy(io.Discard, body); err != nil {
			return fmt.Errorf("read %s message %s: %w", rd.spec.Name, ref.ID, err)
		}
		e := rd.eventOf(EventFailed, ref, err)
		rd.r.event(e)
		return nil
	}
	o := &rd.r.opts
	weight, known := o.SpoolThreshold, ref.ApproxSize()
	if known > 0 && known < weight {
		weight = known
	}
	if err := rd.r.mem.Acquire(ctx, weight); err != nil {
		return err
	}
	it := &item{spec: rd.spec, ref: ref, folder: folder, weight: weight, mem: rd.r.mem}
	// A known size above the threshold goes to a temp file: no buffer.
	prealloc := known > 0 && known <= o.SpoolThreshold
	it.sp = newSpool(weight, o.SpoolThreshold, o.SpoolDir, prealloc, func(n int64) error {
		if err := rd.r.mem.Acquire(ctx, n); err != nil {
			return err
		}
		it.weight += n
		return nil
	})
	h := identity.New()
	if _, err := io.Copy(io.MultiWriter(it.sp, h), body); err != nil {
		it.release()
		return fmt.Errorf("read %s message %s: %w", rd.spec.Name, ref.ID, err)
	}
	if extra := it.sp.trim(); extra > 0 {
		it.weight -= extra
		rd.r.mem.Release(extra)
	}
	it.id = h.Sum()
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
