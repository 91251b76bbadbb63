package imaptest

import (
	"bytes"
	"fmt"
	"io"
	"sync"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
)

// imapmemserver re-encodes the header block when it serves BODY[]
// (through go-message's textproto): bare LF line ends in the header
// come back as CRLF and an empty message as "\r\n". To let tests compare
// exact bytes, the server records every appended literal as it arrived,
// keyed by mailbox UIDVALIDITY and UID, and Messages reads those.

type msgKey struct {
	uidValidity uint32
	uid         imap.UID
}

// A recorder keeps appended literals and the optional APPEND hook.
type recorder struct {
	mu      sync.Mutex
	raw     map[msgKey][]byte
	hook    func(folder string, size int64) error
	cmdHook func(cmd, mailbox string) Fault
}

func newRecorder() *recorder { return &recorder{raw: make(map[msgKey][]byte)} }

func (r *recorder) put(data *imap.AppendData, body []byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.raw[msgKey{data.UIDValidity, data.UID}] = body
}

func (r *recorder) get(uidValidity uint32, uid imap.UID) ([]byte, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	b, ok := r.raw[msgKey{uidValidity, uid}]
	return b, ok
}

func (r *recorder) appendHook() func(string, int64) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.hook
}

// A recordingSession is an imapmemserver session whose APPEND is recorded
// and may be made to fail, and whose commands may end in a BYE (bye.go).
type recordingSession struct {
	imapserver.SessionIMAP4rev2
	rec      *recorder
	conn     *imapserver.Conn
	selected string // the mailbox of the last SELECT or EXAMINE
}

func (s *recordingSession) Append(mailbox string, r imap.LiteralReader, options *imap.AppendOptions) (*imap.AppendData, error) {
	body, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	if int64(len(body)) != r.Size() {
		// A literal cut short (the client closed the connection): a real
		// server stores nothing, and neither does this one.
		return nil, fmt.Errorf("literal cut at %d of %d octets: %w", len(body), r.Size(), io.ErrUnexpectedEOF)
	}
	f := s.fault("APPEND", mailbox)
	if f == ByeBefore {
		return nil, s.bye()
	}
	if hook := s.rec.appendHook(); hook != nil {
		if err := hook(mailbox, int64(len(body))); err != nil {
			return nil, err
		}
	}
	data, err := s.SessionIMAP4rev2.Append(mailbox, literal{bytes.NewReader(body)}, options)
	if err == nil {
		s.rec.put(data, body)
	}
	if f == ByeAfter {
		return nil, s.bye()
	}
	return data, err
}

// literal is a bytes.Reader seen as an imap.LiteralReader.
type literal struct{ *bytes.Reader }

// SetAppendHook makes every later APPEND call hook with the folder and the
// message size once the literal has arrived; a non-nil error (typically an
// *imap.Error such as NO [OVERQUOTA]) is the server's answer and nothing
// is stored. nil removes the hook. Note that Dovecot refuses some APPENDs
// before the literal, which go-imap handles differently: test those with
// Dovecot or a scripted server.
func (s *Server) SetAppendHook(hook func(folder string, size int64) error) {
	s.rec.mu.Lock()
	defer s.rec.mu.Unlock()
	s.rec.hook = hook
}
