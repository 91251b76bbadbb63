package pop3

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/mailferry/mailferry/source"
)

var _ source.Deleter = (*Source)(nil)

// Delete sends DELE for each of refs that the last listing holds (listing
// first if this session has not), pipelined when the server announces
// PIPELINING, then QUIT: the server removes the messages only when it
// acknowledges the QUIT. It returns the refs whose DELE the server
// accepted; the error is nil only when QUIT was acknowledged too. A DELE
// the server refuses leaves that message, and is not an error. The
// session is closed when Delete returns.
func (s *Source) Delete(ctx context.Context, refs []source.Ref) ([]source.Ref, error) {
	if err := s.begin(); err != nil {
		return nil, err
	}
	defer s.raw.Close()
	stop := s.watch(ctx)
	deleted, err := s.deleteAll(ctx, refs)
	if err == nil {
		err = s.quit()
	}
	err = s.finish(ctx, stop, ctxError(ctx, err))
	if s.broken == nil {
		s.broken = errClosed
	}
	return deleted, err
}

func (s *Source) deleteAll(ctx context.Context, refs []source.Ref) ([]source.Ref, error) {
	var todo []source.Ref
	var nums []int
	for _, ref := range refs {
		num, err := s.lookup(ctx, ref)
		if errors.Is(err, source.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		todo, nums = append(todo, ref), append(nums, num)
	}
	var deleted []source.Ref
	window, sent := s.window(), 0
	for i, num := range nums {
		for ; sent < len(nums) && sent-i < window; sent++ {
			s.w.WriteString("DELE " + strconv.Itoa(nums[sent]) + "\r\n")
		}
		if err := s.flush(); err != nil {
			return deleted, fmt.Errorf("pop3 dele %d: %w", num, err)
		}
		_, err := s.readStatus()
		var se *ServerError
		switch {
		case err == nil:
			deleted = append(deleted, todo[i])
		case errors.As(err, &se) && !se.Temporary():
			// Already deleted, or refused: that message stays.
		default:
			return deleted, fmt.Errorf("pop3 dele %d: %w", num, err)
		}
	}
	return deleted, nil
}

// quit ends the session; the server's +OK says it removed the messages
// marked for deletion.
func (s *Source) quit() error {
	if err := s.cmd("QUIT"); err != nil {
		return fmt.Errorf("pop3 quit: %w", err)
	}
	if _, err := s.readStatus(); err != nil {
		return fmt.Errorf("pop3 quit: %w", err)
	}
	return nil
}
