package migrate

import (
	"context"
	"log/slog"
	"time"

	"github.com/mailferry/mailferry/source"
	"github.com/mailferry/mailferry/state"
	"github.com/mailferry/mailferry/target"
)

// A Store is the part of the state the engine uses; *state.Store is one.
// Its errors name the state ("state lookup: …"): the engine passes them on
// without a prefix of its own.
type Store interface {
	Refs(source string, fn func(id string, r state.RefRecord) error) error
	Lookup(key string) ([]state.KeyRecord, error)
	BeginAll(ctx context.Context, ks []state.KeyRecord) error
	Commit(ctx context.Context, k state.KeyRecord, source, refID string, r state.RefRecord) error
	CommitAll(ctx context.Context, ops []state.CommitOp) error
	MarkRef(ctx context.Context, source, refID string, r state.RefRecord) error
	Pending() ([]state.KeyRecord, error)
	Forget(ctx context.Context, k state.KeyRecord) error
	Folder(name string) (state.FolderRecord, bool, error)
	SetFolder(ctx context.Context, name string, f state.FolderRecord) error
	AddRun(ctx context.Context, r state.Run) error
}

var _ Store = (*state.Store)(nil)

// A SourceSpec is one source of a job.
type SourceSpec struct {
	// Name identifies the source in the state across runs, for example
	// "pop3s://alice@pop.example.net:995". It never holds a secret.
	Name string
	// Folder is where the source's top level lands, as a "/"-separated
	// path: for a source without folders (POP3, one mbox file) the
	// target folder itself; for a tree, the parent of its folders, ""
	// meaning the account's top level (the tree's Inbox goes to INBOX,
	// its Sent, Drafts, Trash, Junk, Archives and Templates, in several
	// languages, to the target's folders of those roles).
	Folder string
	// FolderMap renames source folders (and their subfolders) before
	// they are mapped; the first pair that matches applies.
	FolderMap []FolderMap
	// Include, when not empty, keeps only the source folders that match
	// one of its patterns (path.Match, on the folder or a parent of it);
	// Exclude then drops the folders that match one of its patterns.
	Include, Exclude []string
	// Delete, when not nil, removes copied messages from the source once
	// the run is over (see DeletePolicy); the source must be a
	// source.Deleter. Nil leaves the source as it is.
	Delete *DeletePolicy
	// Open connects to the source. The engine calls it again to reconnect
	// after a transient error.
	Open func(ctx context.Context) (source.Source, error)
	// Archive marks a local archive (never changed by a run): archives are
	// read before the other sources (see readingOrder).
	Archive bool
	// Filter, when not zero, leaves out the messages it does not take:
	// they are counted (Report.Filtered), not copied, and not recorded
	// in the state, so that a run with another filter copies them.
	Filter Filter
}

// A Filter picks the messages of a source to copy. A message's date is
// the one the engine gives its APPEND as the internal date: the source's
// (source.Ref.Date: a POP3 message has none, an mbox message its From_
// line's, a Maildir file its time), else the date of its newest
// Received: header, else its Date: header (identity.InternalDate). A
// message with none of these is taken by the date bounds. Its size is the exact size
// of its bytes as read (CRLF line ends); a source that announces exact
// sizes (POP3 LIST, mbox) lets a message too large be left unread.
type Filter struct {
	// Since, when not zero, takes messages dated at or after it.
	Since time.Time
	// Before, when not zero, takes messages dated before it.
	Before time.Time
	// MaxSize, when above 0, takes messages of at most that many octets.
	MaxSize int64
}

// IsZero reports whether f takes every message.
func (f Filter) IsZero() bool { return f == Filter{} }

// A DeletePolicy says which copied messages a run removes from their
// source (a POP3 maildrop): those whose copy is durable in the state, that
// the target confirmed holding (by the UID its APPEND returned, or found
// again by Message-ID or content), and that were first seen at least
// KeepFor ago. Never in a dry run, never after a run that stopped on an
// error, never a message that failed.
type DeletePolicy struct {
	KeepFor time.Duration
}

// Dedup says which earlier copies make a message a duplicate.
type Dedup string

// Dedup scopes.
const (
	DedupAccount Dedup = "account" // a copy in any folder of the account
	DedupFolder  Dedup = "folder"  // a copy in the same folder
	DedupOff     Dedup = "off"     // every source message is copied once
)

// Options tune a Migrator. The zero value of each field picks the default
// given in applyDefaults.
type Options struct {
	Dedup          Dedup
	DryRun         bool
	Uploaders      int           // APPENDs in flight
	MemoryBytes    int64         // message bytes held in memory between read and upload
	SpoolThreshold int64         // messages larger than this go to a temp file
	SpoolDir       string        // where spooled messages go
	ReadBatch      int           // messages asked of a source at once
	BeginBatch     int           // pending records begun in one state transaction, and messages queued for it
	MaxAttempts    int           // calls of one target operation (APPEND, lookup, folder creation) on transient errors
	Reconnects     int           // reconnections to a source after transient errors, per reading and per deletion
	Settle         time.Duration // quiet time of the target before resolving a killed run's pending records
	Backoff        time.Duration // first wait before a retry; doubles, with jitter
	MaxBackoff     time.Duration
	Logger         *slog.Logger

	// Recheck distrusts the state's records of messages done: each is
	// looked for in the target folder that holds it, as read from the
	// server at this run, and one that is missing is copied again
	// (EventRestored), once. A message found, under whatever UID, is not
	// copied; its records are updated.
	Recheck bool
	// MaxBytesPerSecond, when above 0, bounds the rate at which message
	// bytes are sent to the target, over all connections together.
	MaxBytesPerSecond int64

	// Now is the clock, for DeletePolicy.KeepFor; nil means time.Now.
	Now func() time.Time
}

func (o *Options) applyDefaults() {
	if o.Dedup == "" {
		o.Dedup = DedupAccount // the design's default: one copy per account
	}
	if o.Uploaders <= 0 {
		o.Uploaders = 8 // one per default target connection
	}
	if o.MemoryBytes <= 0 {
		o.MemoryBytes = 16 << 20 // keeps peak memory well under 64 MiB
	}
	if o.SpoolThreshold <= 0 {
		o.SpoolThreshold = 1 << 20 // most mail is far smaller; attachments go to disk
	}
	if o.SpoolThreshold > o.MemoryBytes {
		o.SpoolThreshold = o.MemoryBytes
	}
	if o.ReadBatch <= 0 {
		o.ReadBatch = 64 // enough RETRs in flight to hide a WAN round trip
	}
	if o.BeginBatch <= 0 {
		o.BeginBatch = 64 // a state flush per 64 messages at most
	}
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = 6 // with the backoff below: about a minute of trying
	}
	if o.Reconnects <= 0 {
		o.Reconnects = 10
	}
	if o.Settle <= 0 {
		// A server finishes an APPEND whose literal arrived even when the
		// client died just after sending it; give it time to, so that the
		// message is found instead of appended twice.
		o.Settle = 5 * time.Second
	}
	if o.Backoff <= 0 {
		o.Backoff = 500 * time.Millisecond
	}
	if o.MaxBackoff <= 0 {
		o.MaxBackoff = 30 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
}

// EventKind tells what happened to a message.
type EventKind int

// Event kinds.
const (
	EventListed    EventKind = iota // a source was listed: Count and Bytes are still to do
	EventCopied                     // appended to the target (or would be, in a dry run)
	EventPresent                    // already in the target folder
	EventDuplicate                  // the same message was copied from elsewhere
	EventFailed                     // could not be copied; Err says why
	EventVanished                   // the source no longer had it
	EventRetry                      // a transient error; Err says which, the engine retries
	EventRestored                   // done by an earlier run but missing from the target: appended again (Options.Recheck)
	EventFiltered                   // left out by the source's Filter; Err says why
	EventSettling                   // waiting for the target to settle before resolving Count pending messages a killed run left; Wait is how long the folders must stay unchanged
	EventSettled                    // the wait of EventSettling is over; Wait is how long it took
)

func (k EventKind) String() string {
	return [...]string{"listed", "copied", "present", "duplicate", "failed", "vanished", "retry",
		"restored", "filtered", "settling", "settled"}[k]
}

// An Event reports progress. Events reach Migrator.Event one at a time.
type Event struct {
	Kind   EventKind
	Source string
	Ref    source.Ref
	Folder string
	Count  int   // EventListed: messages to read
	Bytes  int64 // EventListed: their octets as the source announced them (Ref.ApproxSize: exact or estimated); otherwise the message's, as read (0 when it was not read)
	Err    error
	// MessageID is the message's Message-ID without angle brackets, ""
	// when it has none or was not read.
	MessageID string
	// UID is the message's UID in Folder, when known: EventCopied,
	// EventRestored and EventPresent (0 when the server did not report
	// one), EventDuplicate (the earlier copy's).
	UID  uint32
	Wait time.Duration // EventSettling, EventSettled
}

// A Failure is one message that could not be copied.
type Failure struct {
	Source, RefID, Folder string
	Reason                string
}

// A Report sums up a run.
type Report struct {
	Start, End time.Time
	DryRun     bool
	Recheck    bool  // the run looked for the messages done before in the target (Options.Recheck)
	Listed     int   // messages the sources hold
	Known      int   // done by an earlier run: not read again
	Copied     int   // appended (in a dry run: would be)
	Bytes      int64 // octets appended (would be)
	Present    int   // found already in the target
	Duplicates int   // same message copied from elsewhere
	Vanished   int   // gone from the source before it could be read
	Recovered  int   // pending records of a killed run found in the target
	Restored   int   // done by an earlier run, missing from the target, appended again (Options.Recheck)
	// RestoredBytes are the octets of the restored messages (not in Bytes).
	RestoredBytes int64
	Filtered      int // left out by a source's Filter (not recorded as done)
	// Deleted is the number of messages deleted from sources with a
	// DeletePolicy; DeleteKept those not due yet (keep-days), and
	// DeleteUnconfirmed those copied but not found in the target as
	// recorded (left in the source, with a warning).
	Deleted, DeleteKept, DeleteUnconfirmed int
	Failures                               []Failure
	// Substitutes lists the folders that landed under another name than
	// their own, because the target refused their own.
	Substitutes []FolderSubstitute
}

// Failed is the number of messages that could not be copied.
func (r *Report) Failed() int { return len(r.Failures) }

// A Migrator copies the messages of Sources into Target once.
type Migrator struct {
	Target  target.Target
	State   Store
	Sources []SourceSpec
	Options Options
	// Event is called for each event, never concurrently; nil ignores them.
	Event func(Event)
}
