package imaptest

import (
	"errors"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
)

// A Fault is what the server does with one command instead of answering
// it normally: see SetCommandHook.
type Fault int

const (
	// Answer runs the command and answers it normally.
	Answer Fault = iota
	// ByeBefore sends "* BYE" and closes the connection instead of
	// running the command. An APPEND's literal has been read by then, and
	// its message is not stored.
	ByeBefore
	// ByeAfter runs the command (an APPEND stores its message, a FETCH
	// sends its data), then sends "* BYE" and closes the connection
	// instead of the tagged answer: the client cannot know the outcome.
	ByeAfter
)

// ByeText is the text of the BYE a Fault sends, Dovecot's on shutdown.
const ByeText = "Server shutting down."

// errBye ends the command after a BYE: the server writes nothing more.
var errBye = errors.New("imaptest: connection closed with BYE")

// SetCommandHook makes the server ask hook what to do with each SELECT,
// EXAMINE, FETCH (UID FETCH too) and APPEND: cmd is "SELECT", "EXAMINE",
// "FETCH" or "APPEND", mailbox the command's mailbox (for FETCH, the
// selected one). An APPEND asks after its literal has arrived and before
// the append hook. nil removes the hook.
func (s *Server) SetCommandHook(hook func(cmd, mailbox string) Fault) {
	s.rec.mu.Lock()
	defer s.rec.mu.Unlock()
	s.rec.cmdHook = hook
}

func (r *recorder) commandHook() func(string, string) Fault {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.cmdHook
}

// fault asks the command hook about cmd.
func (s *recordingSession) fault(cmd, mailbox string) Fault {
	if hook := s.rec.commandHook(); hook != nil {
		return hook(cmd, mailbox)
	}
	return Answer
}

// bye sends the BYE and closes the connection.
func (s *recordingSession) bye() error {
	_ = s.conn.Bye(ByeText)
	return errBye
}

func (s *recordingSession) Select(mailbox string, options *imap.SelectOptions) (*imap.SelectData, error) {
	cmd := "SELECT"
	if options != nil && options.ReadOnly {
		cmd = "EXAMINE"
	}
	f := s.fault(cmd, mailbox)
	if f == ByeBefore {
		return nil, s.bye()
	}
	data, err := s.SessionIMAP4rev2.Select(mailbox, options)
	if err == nil {
		s.selected = mailbox
	}
	if f == ByeAfter {
		return nil, s.bye()
	}
	return data, err
}

func (s *recordingSession) Fetch(w *imapserver.FetchWriter, numSet imap.NumSet, options *imap.FetchOptions) error {
	f := s.fault("FETCH", s.selected)
	if f == ByeBefore {
		return s.bye()
	}
	err := s.SessionIMAP4rev2.Fetch(w, numSet, options)
	if f == ByeAfter {
		return s.bye()
	}
	return err
}
