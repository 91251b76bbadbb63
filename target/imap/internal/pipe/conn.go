package pipe

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/mailferry/mailferry/target/imap/internal/session"
	"github.com/mailferry/mailferry/target/imap/internal/wire"
)

// errNotSent marks a request that failed before any of its octets left:
// it may run again on another connection.
var errNotSent = errors.New("connection died before the APPEND was sent")

// A request is one APPEND in flight on a conn.
type request struct {
	tag     string
	timeout time.Duration // the watchdog's limit, from start or the last octet read
	binary  bool          // send the message as a literal8 ("~{n}", RFC 3516)
	start   time.Time
	// cont is non-nil while the request waits for a continuation
	// request ("+") before its literal; it is closed when one arrives.
	cont    chan struct{}
	done    chan struct{} // closed by finish
	uid     uint32
	err     error
	release func() // called once the request is finished
}

// A conn is one pipelined connection: any number of writers (one at a
// time, serialized by the slot that owns it) and a reader goroutine that
// matches tagged answers to requests and finishes them.
type conn struct {
	s    *session.Session
	next int // tag counter, used by the writer

	mu    sync.Mutex
	queue []*request // in flight, oldest first
	err   error      // set once the connection is dead
	kick  chan struct{}
	done  chan struct{} // closed when the reader ends
}

func newConn(s *session.Session) *conn {
	pc := &conn{s: s, kick: make(chan struct{}, 1), done: make(chan struct{})}
	go pc.read()
	go pc.watch()
	return pc
}

// alive reports whether pc can take another command.
func (pc *conn) alive() bool {
	if pc == nil {
		return false
	}
	pc.mu.Lock()
	defer pc.mu.Unlock()
	return pc.err == nil
}

// inFlight returns how many requests await an answer.
func (pc *conn) inFlight() int {
	pc.mu.Lock()
	defer pc.mu.Unlock()
	return len(pc.queue)
}

// enqueue adds r unless pc is dead; it reports whether r was added and
// whether it is alone (the connection was idle), in which case r awaits a
// continuation request on sync.
func (pc *conn) enqueue(r *request, sync chan struct{}) (ok, alone bool) {
	pc.mu.Lock()
	defer pc.mu.Unlock()
	if pc.err != nil {
		return false, false
	}
	if len(pc.queue) == 0 {
		r.cont = sync
	}
	pc.next++
	r.tag = "P" + strconv.Itoa(pc.next)
	r.start = time.Now()
	pc.queue = append(pc.queue, r)
	select {
	case pc.kick <- struct{}{}:
	default:
	}
	return true, len(pc.queue) == 1
}

// fail kills pc: every request in flight finishes with err (the first
// error wins) and the network connection is closed.
func (pc *conn) fail(err error) {
	pc.mu.Lock()
	if pc.err == nil {
		pc.err = err
	}
	err, queue := pc.err, pc.queue
	pc.queue = nil
	pc.mu.Unlock()
	_ = pc.s.Conn.Close()
	for _, r := range queue {
		finish(r, 0, err)
	}
}

// take removes and returns the request tagged tag, or nil.
func (pc *conn) take(tag string) *request {
	pc.mu.Lock()
	defer pc.mu.Unlock()
	i := slices.IndexFunc(pc.queue, func(r *request) bool { return r.tag == tag })
	if i < 0 {
		return nil
	}
	r := pc.queue[i]
	pc.queue = slices.Delete(pc.queue, i, i+1)
	return r
}

func finish(r *request, uid uint32, err error) {
	r.uid, r.err = uid, err
	close(r.done)
	r.release()
}

// read is the reader goroutine: it finishes requests as their tagged
// answers arrive, skips untagged data (literals included), signals
// continuation requests, and fails everything in flight when the
// connection ends. After BYE it goes on reading, since answers sent
// before the BYE may still be in the stream.
func (pc *conn) read() {
	defer close(pc.done)
	var bye error
	for {
		line, err := wire.ReadResponse(pc.s.R)
		if err != nil {
			if bye == nil {
				bye = fmt.Errorf("read: %w", err)
			}
			pc.fail(session.Temporary(bye))
			return
		}
		st := wire.ParseStatus(line)
		switch {
		case st.Tag == "*" && st.Kind == "BYE":
			bye = fmt.Errorf("server said BYE: %s", st.Text)
		case st.Tag == "+":
			pc.continued()
		case st.Tag != "*":
			if r := pc.take(st.Tag); r != nil {
				finish(r, st.AppendUID(), st.Err())
			}
		}
	}
}

// continued hands a continuation request to the request awaiting one.
func (pc *conn) continued() {
	pc.mu.Lock()
	defer pc.mu.Unlock()
	for _, r := range pc.queue {
		if r.cont != nil {
			close(r.cont)
			r.cont = nil
			return
		}
	}
}

// watch is the watchdog goroutine: it kills pc when the oldest request
// has waited its timeout, counted from its start or from the last octet
// read, whichever is later.
func (pc *conn) watch() {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		wait, busy := pc.wait()
		if busy && wait <= 0 {
			pc.fail(session.Temporary(session.ErrTimeout))
			return
		}
		if !busy {
			wait = time.Hour
		}
		timer.Reset(wait)
		select {
		case <-timer.C:
		case <-pc.kick:
		case <-pc.done:
			return
		}
	}
}

// wait returns how long the oldest request may still wait.
func (pc *conn) wait() (time.Duration, bool) {
	pc.mu.Lock()
	defer pc.mu.Unlock()
	if len(pc.queue) == 0 {
		return 0, false
	}
	r := pc.queue[0]
	from := r.start
	if last := time.Unix(0, pc.s.LastRead.Load()); last.After(from) {
		from = last
	}
	return time.Until(from.Add(r.timeout)), true
}

// send writes r's command and literal; the caller holds the slot. A
// request sent while the connection was idle uses a synchronizing literal:
// a connection the server closed meanwhile is found before the message
// leaves, and r fails with errNotSent. A body that cannot be read kills
// the connection. A done ctx while the literal is written kills the
// connection too (the others in flight get a temporary error).
func (pc *conn) send(ctx context.Context, r *request, head string, body io.ReaderAt, size int64) error {
	sync := make(chan struct{})
	ok, alone := pc.enqueue(r, sync)
	if !ok {
		return errNotSent
	}
	w := pc.s.W
	_ = pc.s.Conn.SetWriteDeadline(time.Now().Add(r.timeout))
	lit := ""
	if r.binary {
		lit = "~"
	}
	if alone {
		fmt.Fprintf(w, "%s %s%s{%d}\r\n", r.tag, head, lit, size)
		if err := pc.awaitCont(ctx, r, sync); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(w, "%s %s%s{%d+}\r\n", r.tag, head, lit, size)
	}
	stop := context.AfterFunc(ctx, func() { pc.fail(session.Temporary(errors.New("an APPEND was cancelled while sent"))) })
	defer stop()
	src := &BodyReader{R: io.NewSectionReader(body, 0, size)}
	n, err := io.Copy(w, src)
	if err == nil {
		_, err = w.WriteString("\r\n")
	}
	if err == nil {
		err = w.Flush()
	}
	if src.Err != nil || (err == nil && n != size) {
		pc.fail(session.Temporary(errors.New("message body unreadable: connection dropped")))
		return fmt.Errorf("%w: read %d of %d octets: %v", ErrBody, n, size, src.Err)
	}
	if err != nil {
		pc.fail(session.Temporary(fmt.Errorf("write: %w", err)))
	}
	return nil
}

// awaitCont flushes the command line and waits for the server's "+". It
// returns errNotSent when the connection died first, nil when the literal
// may be sent or when the server answered at once (r is then finished).
func (pc *conn) awaitCont(ctx context.Context, r *request, sync chan struct{}) error {
	if err := pc.s.W.Flush(); err != nil {
		pc.fail(session.Temporary(fmt.Errorf("write: %w", err)))
		return errNotSent
	}
	select {
	case <-sync:
		return nil
	case <-r.done:
		if session.AsIMAP(r.err) != nil || errors.Is(r.err, session.ErrTimeout) {
			return errAnswered // final, as on the go-imap path
		}
		return errNotSent
	case <-ctx.Done():
		pc.fail(session.Temporary(errors.New("an APPEND was cancelled while sent")))
		return ctx.Err()
	}
}

// errAnswered means the request finished before its literal was sent,
// with a final result: the server's answer (Dovecot's [TRYCREATE],
// [TOOBIG]) or a timeout, which is not retried here.
var errAnswered = errors.New("answered before the literal")
