package source

import (
	"errors"
	"io/fs"
)

// An UnreadableError is why a source could not read a folder, a file or a
// message that it lists all the same, as a failure Ref: a Ref whose Open
// returns this error, so that the engine reports it as failed with its
// reason (and the run exits 1) instead of the source skipping it with
// only a warning. It wraps ErrUnreadable, and Err when not nil, and reads
// as Reason alone: "cannot read folder Sent: permission denied".
type UnreadableError struct {
	Reason string
	Err    error // the cause, if any; already part of Reason
}

func (e *UnreadableError) Error() string { return e.Reason }

func (e *UnreadableError) Unwrap() []error {
	if e.Err == nil {
		return []error{ErrUnreadable}
	}
	return []error{ErrUnreadable, e.Err}
}

// Unreadable returns an *UnreadableError whose reason is reason, ": ",
// and err's text; err may be nil. Of an *fs.PathError only the cause is
// given ("permission denied"): reason names the path.
func Unreadable(reason string, err error) error {
	var pe *fs.PathError
	switch {
	case errors.As(err, &pe):
		reason += ": " + pe.Err.Error()
	case err != nil:
		reason += ": " + err.Error()
	}
	return &UnreadableError{Reason: reason, Err: err}
}
