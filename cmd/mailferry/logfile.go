package main

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/mailferry/mailferry/migrate"
)

// An eventLog appends one JSON line per message to the file of
// --log-file: where each message went, so that an admin can answer
// "where did this message go?" long after the run.
type eventLog struct {
	mu     sync.Mutex
	w      io.WriteCloser
	dryRun bool
	log    *slog.Logger
	err    error // the first write error; later lines are not tried
	now    func() time.Time
}

// A logLine is one line of the file.
type logLine struct {
	Time      string `json:"time"`             // RFC 3339, UTC
	Source    string `json:"source"`           // the source's name, as in the state
	Ref       string `json:"ref"`              // the message's ID in its source (UIDL, file, offset)
	MessageID string `json:"message_id"`       // without angle brackets; "" when none or not read
	Folder    string `json:"folder"`           // the target folder
	UID       uint32 `json:"uid"`              // its UID there (0: not known)
	Outcome   string `json:"outcome"`          // copied, restored, present, duplicate, failed, filtered, vanished
	Reason    string `json:"reason,omitempty"` // why, for the outcomes that have one
	Bytes     int64  `json:"bytes"`            // octets read (0: not read)
	DryRun    bool   `json:"dry_run,omitempty"`
}

// openEventLog opens path for appending, creating it readable by its
// owner only (0600): the lines name people's messages.
func openEventLog(path string, dryRun bool, log *slog.Logger) (*eventLog, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return nil, configErrorf("--log-file: %v", err)
	}
	return &eventLog{w: f, dryRun: dryRun, log: log, now: time.Now}, nil
}

// Event writes a line for an event about one message; it ignores the
// others (listings, retries).
func (l *eventLog) Event(e migrate.Event) {
	line := logLine{Source: e.Source, Ref: e.Ref.ID, MessageID: e.MessageID, Folder: e.Folder, UID: e.UID,
		Outcome: e.Kind.String(), Bytes: e.Bytes, DryRun: l.dryRun}
	switch e.Kind {
	case migrate.EventCopied:
	case migrate.EventRestored:
		line.Reason = "done by an earlier run but missing from the target: copied again"
	case migrate.EventPresent:
		line.Reason = "already in the target folder"
	case migrate.EventDuplicate:
		line.Reason = "the same message was copied from elsewhere; folder and uid are that copy's"
	case migrate.EventFailed, migrate.EventFiltered, migrate.EventVanished:
		if e.Err != nil {
			line.Reason = e.Err.Error()
		}
	default:
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.err != nil {
		return
	}
	line.Time = l.now().UTC().Format(time.RFC3339Nano)
	b, err := json.Marshal(line)
	if err == nil {
		_, err = l.w.Write(append(b, '\n'))
	}
	if err != nil {
		l.err = err
		l.log.Warn("--log-file: cannot write; no more lines are written to it this run", "error", err)
	}
}

// Close closes the file and returns the first error met.
func (l *eventLog) Close() error {
	err := l.w.Close()
	if l.err != nil {
		err = l.err
	}
	if err != nil {
		return fmt.Errorf("--log-file: %w", err)
	}
	return nil
}
