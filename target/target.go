package target

import (
	"context"
	"errors"
	"io"
	"time"

	"github.com/mailferry/mailferry/internal/mailnet"
)

// A Message is what Append stores: exact bytes plus flags and a date.
type Message struct {
	// Body holds the message's exact bytes (CRLF line endings). It is an
	// io.ReaderAt so that a retry can read it again from the start.
	Body io.ReaderAt
	// Size is the length of Body in octets.
	Size int64
	// Flags are IMAP system flags and keywords; nil for none.
	Flags []string
	// Date is the internal date; the zero time lets the server choose.
	Date time.Time
}

// An Entry describes one message already in a target folder.
type Entry struct {
	UID uint32
	// MessageID is the raw value of the Message-ID header field, unfolded,
	// or "" when the message has none.
	MessageID string
	// Size is the message's size as the server reports it (RFC822.SIZE).
	Size int64
}

// A Target stores messages in folders. All methods are safe for
// concurrent use.
type Target interface {
	// EnsureFolder creates the folder when it does not exist.
	EnsureFolder(ctx context.Context, folder string) error
	// Append stores msg in folder and returns the UID the server gave it,
	// or 0 when the server does not say (no UIDPLUS). A folder that does
	// not exist is created (TRYCREATE) and the append retried once.
	Append(ctx context.Context, folder string, msg Message) (uid uint32, err error)
	// Index lists every message in folder with its Message-ID and size,
	// in one round trip. A missing folder yields no entries and no error.
	Index(ctx context.Context, folder string) ([]Entry, error)
	// Fetch returns the exact bytes of the message with that UID.
	Fetch(ctx context.Context, folder string, uid uint32) ([]byte, error)
	// Close logs out of every connection.
	Close() error
}

// Errors every target kind uses, so that the engine can classify them
// without knowing the kind. Kinds wrap them with %w.
var (
	// ErrAuth means the server refused the credentials: fatal for the job.
	// It is mailnet.ErrAuth: one value for sources and targets.
	ErrAuth = mailnet.ErrAuth
	// ErrOverQuota means the account is full: fatal for the job.
	ErrOverQuota = errors.New("target over quota")
	// ErrRejected means the server refused this one message for good
	// (too big, over a limit, unparseable): the message fails, the run
	// goes on.
	ErrRejected = errors.New("message rejected by the target")
	// ErrNotFound means Fetch found no message with that UID (expunged
	// meanwhile, or the folder is gone).
	ErrNotFound = errors.New("no such message in the target")
)

// TemporaryError marks an error as transient: reconnecting and trying
// again may succeed (a reset connection, a timeout, BYE, [UNAVAILABLE]). It is mailnet.TemporaryError: one
// type for sources and targets.
type TemporaryError = mailnet.TemporaryError

// Temporary wraps err as a TemporaryError; nil stays nil.
func Temporary(err error) error { return mailnet.Temporary(err) }

// A Layout is how a target names its folders.
type Layout struct {
	// Delimiter is the hierarchy delimiter ("/" or "."), "" when the
	// server has no hierarchy.
	Delimiter string
	// Prefix is the personal namespace prefix ("" or, on Courier and old
	// Cyrus, "INBOX."), which every folder but INBOX carries.
	Prefix string
	// Special maps a special-use attribute (RFC 6154: `\Sent`, `\Drafts`,
	// `\Trash`, `\Junk`, `\Archive`) to the folder that has it.
	Special map[string]string
	// Folders lists every existing folder by its full name.
	Folders []string
}

// A Layouter reports its folder layout. It is an optional interface of a
// Target; a target without it is taken to use "/" and no prefix.
type Layouter interface {
	Layout(ctx context.Context) (Layout, error)
}

// A UseCreator creates folders with a special-use attribute (RFC 6154
// CREATE-SPECIAL-USE: `\Sent`, `\Drafts`, `\Trash`, `\Junk`,
// `\Archive`), so that other clients find them by their role. It is an
// optional interface of a Target.
type UseCreator interface {
	// EnsureFolderUse is EnsureFolder giving a folder it creates the
	// attribute use, where the server announces CREATE-SPECIAL-USE;
	// elsewhere, or for a folder that exists, it is EnsureFolder.
	EnsureFolderUse(ctx context.Context, folder, use string) error
}

// FolderStatus is what a server says of a folder without opening it.
type FolderStatus struct {
	Messages uint32 // messages in the folder
	UIDNext  uint32 // the UID the next message will get
}

// A Statuser reports a folder's status cheaply (IMAP STATUS): a run uses
// it to tell when a server has finished storing what a killed run sent.
// It is an optional interface of a Target.
type Statuser interface {
	// Status returns the folder's status; a folder that does not exist
	// has the zero status and no error.
	Status(ctx context.Context, folder string) (FolderStatus, error)
}
