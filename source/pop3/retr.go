package pop3

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"

	"github.com/mailferry/mailferry/source"
)

// Open sends RETR for the message the last List gave ref.ID (listing first
// if this session has not) and returns its exact bytes, streamed. The
// caller must Close the reader before the next call on s; Close reads
// what is left of the message so that the session stays in sync.
//
// An ID not in the listing, or a RETR the server refuses, wraps
// source.ErrNotFound. A message the server replaced by a substitute of
// its own (outside UTF-8 mode; see substitutePrefix) gives no bytes: Read
// fails with an error wrapping source.ErrUnreadable that says so, and the
// session stays usable. Network errors are source.TemporaryError and break
// the session. ctx covers the reading too: if it ends, the connection is
// closed and Read and Close return ctx.Err().
func (s *Source) Open(ctx context.Context, ref source.Ref) (io.ReadCloser, error) {
	if err := s.begin(); err != nil {
		return nil, err
	}
	stop := s.watch(ctx)
	num, err := s.lookup(ctx, ref)
	if err == nil {
		err = s.startRetr(num)
	}
	if err != nil {
		return nil, s.finish(ctx, stop, ctxError(ctx, err))
	}
	s.busy = true
	d := newDotReader(s.r)
	body := s.guard(num, &bodyReader{s: s, ctx: ctx, num: num, d: d})
	return &msgReader{s: s, ctx: ctx, stop: stop, num: num, d: d, body: body}, nil
}

// lookup returns the message number of ref in this session.
func (s *Source) lookup(ctx context.Context, ref source.Ref) (int, error) {
	if s.nums == nil {
		if _, err := s.list(ctx); err != nil {
			return 0, err
		}
	}
	num, ok := s.nums[ref.ID]
	if !ok {
		return 0, fmt.Errorf("pop3 open %q: not in the maildrop: %w", ref.ID, source.ErrNotFound)
	}
	return num, nil
}

// startRetr sends RETR num and reads its status line.
func (s *Source) startRetr(num int) error {
	if err := s.cmd("RETR " + strconv.Itoa(num)); err != nil {
		return fmt.Errorf("pop3 retr %d: %w", num, err)
	}
	return s.retrStatus(num)
}

// retrStatus reads the status line of a RETR. A temporary -ERR stays
// temporary; any other -ERR wraps source.ErrNotFound.
func (s *Source) retrStatus(num int) error {
	_, err := s.readStatus()
	var se *ServerError
	if errors.As(err, &se) && !se.Temporary() {
		return fmt.Errorf("pop3 retr %d: %w: %w", num, source.ErrNotFound, err)
	}
	if err != nil {
		return fmt.Errorf("pop3 retr %d: %w", num, err)
	}
	return nil
}

// msgReader is the body of one RETR, returned by Open.
type msgReader struct {
	s      *Source
	ctx    context.Context
	stop   func() bool
	num    int
	d      *dotReader
	body   io.Reader // d as the caller reads it (see bodyReader, guard)
	closed bool
	err    error
}

func (m *msgReader) Read(p []byte) (int, error) {
	if m.closed {
		return 0, errors.New("pop3: read after close")
	}
	return m.body.Read(p)
}

// Close reads the rest of the message, so that the session stays in
// sync, and frees the session for the next call. If that fails, the
// session is broken and Close returns the error.
func (m *msgReader) Close() error {
	if m.closed {
		return m.err
	}
	m.closed = true
	err := m.s.drain(m.ctx, m.num, m.d)
	m.s.busy = false
	m.err = m.s.finish(m.ctx, m.stop, err)
	return m.err
}

// drain reads d to its end.
func (s *Source) drain(ctx context.Context, num int, d *dotReader) error {
	if _, err := io.Copy(io.Discard, d); err != nil {
		return s.bodyError(ctx, num, err)
	}
	return nil
}

// bodyError classifies a failure inside a message's data, which leaves
// the session out of sync: ctx.Err() if ctx ended, else a temporary error.
func (s *Source) bodyError(ctx context.Context, num int, err error) error {
	if ctx.Err() != nil {
		s.breakSession(ctx.Err())
		return ctx.Err()
	}
	err = fmt.Errorf("pop3 retr %d: %w", num, s.ioError(err))
	return err
}

// OpenBatch retrieves the messages refs names and calls fn for each, in
// order, with a reader of its exact bytes that streams from the
// connection and is valid until fn returns. When the server announces
// PIPELINING, up to Options.Pipeline RETR commands are in flight;
// otherwise they go one at a time. What fn leaves unread is read and
// dropped, so the session stays in sync.
//
// A message the server replaced by a substitute gives fn a reader whose
// Read fails as Open's does. An error from fn stops the batch and is
// returned as is. A message that
// is not in the listing or that the server refuses stops the batch with
// an error wrapping source.ErrNotFound; fn has then been called for every
// ref before it. After either, the replies already requested are read and
// dropped, and the session stays usable. Network errors are
// source.TemporaryError and break the session; if ctx ends, OpenBatch
// returns ctx.Err().
func (s *Source) OpenBatch(ctx context.Context, refs []source.Ref, fn func(source.Ref, io.Reader) error) error {
	if err := s.begin(); err != nil {
		return err
	}
	stop := s.watch(ctx)
	err := s.openBatch(ctx, refs, fn)
	return s.finish(ctx, stop, ctxError(ctx, err))
}

func (s *Source) openBatch(ctx context.Context, refs []source.Ref, fn func(source.Ref, io.Reader) error) error {
	nums := make([]int, 0, len(refs))
	var lookupErr error
	for _, ref := range refs {
		num, err := s.lookup(ctx, ref)
		if err != nil {
			lookupErr = err
			break
		}
		nums = append(nums, num)
	}
	err := s.retrBatch(ctx, nums, func(i int, r io.Reader) error { return fn(refs[i], s.guard(nums[i], r)) })
	if err != nil {
		return err
	}
	return lookupErr
}

// window is the number of RETR commands to keep in flight.
func (s *Source) window() int {
	if s.hasCap("PIPELINING") {
		return s.opts.Pipeline
	}
	return 1
}

// retrBatch retrieves the messages nums, keeping up to window() RETR
// commands in flight, and calls fn(i, body of nums[i]) in order. On an
// error it drops the replies still in flight; see OpenBatch.
func (s *Source) retrBatch(ctx context.Context, nums []int, fn func(int, io.Reader) error) error {
	window, sent := s.window(), 0
	for i, num := range nums {
		for ; sent < len(nums) && sent-i < window; sent++ {
			s.w.WriteString("RETR " + strconv.Itoa(nums[sent]) + "\r\n")
		}
		if err := s.flush(); err != nil {
			return fmt.Errorf("pop3 retr %d: %w", num, err)
		}
		if err := s.retrOne(ctx, num, func(r io.Reader) error { return fn(i, r) }); err != nil {
			if s.broken == nil {
				s.dropReplies(ctx, nums[i+1:sent])
			}
			return err
		}
	}
	return nil
}

// retrOne reads the reply to RETR num and passes its body to fn, then
// drains what fn left.
func (s *Source) retrOne(ctx context.Context, num int, fn func(io.Reader) error) error {
	if err := s.retrStatus(num); err != nil {
		return err
	}
	d := newDotReader(s.r)
	fnErr := fn(&bodyReader{s: s, ctx: ctx, num: num, d: d})
	if err := s.drain(ctx, num, d); err != nil {
		return err
	}
	return fnErr
}

// dropReplies reads and drops the replies to the RETR commands nums,
// already sent. A failure breaks the session.
func (s *Source) dropReplies(ctx context.Context, nums []int) {
	for _, num := range nums {
		// A refused RETR has no body: still in sync. Only a broken
		// session stops the loop.
		s.retrOne(ctx, num, func(io.Reader) error { return nil })
		if s.broken != nil {
			return
		}
	}
}

// bodyReader is the reader OpenBatch gives fn.
type bodyReader struct {
	s   *Source
	ctx context.Context
	num int
	d   *dotReader
}

func (b *bodyReader) Read(p []byte) (int, error) {
	n, err := b.d.Read(p)
	if err != nil && err != io.EOF {
		err = b.s.bodyError(b.ctx, b.num, err)
	}
	return n, err
}
