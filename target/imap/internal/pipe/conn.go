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
	sess *session.Session
	next int // tag counter, used by the writer

	mu    sync.Mutex
	queue []*request // in flight, oldest first
	err   error      // set once the connection is dead
	kick  chan struct{}
	done  chan struct{} // closed when the reader ends
}

func newConn(s *session.Session) *conn {
	c := &conn{sess: s, kick: make(chan struct{}, 1), done: make(chan struct{})}
	go c.read()
	go c.watch()
	return c
}

// alive reports whether c can take another command.
func (c *conn) alive() bool {
	if c == nil {
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err == nil
}

// inFlight returns how many requests await an answer.
func (c *conn) inFlight() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.queue)
}

// enqueue adds r unless c is dead; it reports whether r was added and
// whether it is alone (the connection was idle), in which case r awaits a
// continuation request on contReady.
func (c *conn) enqueue(r *request, contReady chan struct{}) (ok, alone bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return false, false
	}
	if len(c.queue) == 0 {
		r.cont = contReady
	}
	c.next++
	r.tag = "P" + strconv.Itoa(c.next)
	r.start = time.Now()
	c.queue = append(c.queue, r)
	select {
	case c.kick <- struct{}{}:
	default:
	}
	return true, len(c.queue) == 1
}

// fail kills c: every request in flight finishes with err (the first
// error wins) and the network connection is closed.
func (c *conn) fail(err error) {
	c.mu.Lock()
	if c.err == nil {
		c.err = err
	}
	err, queue := c.err, c.queue
	c.queue = nil
	c.mu.Unlock()
	_ = c.sess.Conn.Close()
	for _, r := range queue {
		finish(r, 0, err)
	}
}

// take removes and returns the request tagged tag, or nil.
func (c *conn) take(tag string) *request {
	c.mu.Lock()
	defer c.mu.Unlock()
	i := slices.IndexFunc(c.queue, func(r *request) bool { return r.tag == tag })
	if i < 0 {
		return nil
	}
	r := c.queue[i]
	c.queue = slices.Delete(c.queue, i, i+1)
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
func (c *conn) read() {
	defer close(c.done)
	var bye error
	for {
		line, err := wire.ReadResponse(c.sess.R)
		if err != nil {
			if bye == nil {
				bye = fmt.Errorf("read: %w", err)
			}
			c.fail(session.Temporary(bye))
			return
		}
		st := wire.ParseStatus(line)
		switch {
		case st.Tag == "*" && st.Kind == "BYE":
			bye = fmt.Errorf("server said BYE: %s", st.Text)
		case st.Tag == "+":
			c.continued()
		case st.Tag != "*":
			if r := c.take(st.Tag); r != nil {
				finish(r, st.AppendUID(), st.Err())
			}
			if st.Kind == "NO" && session.NotConnected(st.Text) {
				// Broken on the server's side: the next APPEND goes on a
				// new connection.
				c.fail(session.Temporary(fmt.Errorf("server session broken: %s", st.Text)))
			}
		}
	}
}

// continued hands a continuation request to the request awaiting one.
func (c *conn) continued() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, r := range c.queue {
		if r.cont != nil {
			close(r.cont)
			r.cont = nil
			return
		}
	}
}

// watch is the watchdog goroutine: it kills c when the oldest request
// has waited its timeout, counted from its start or from the last octet
// read, whichever is later.
func (c *conn) watch() {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		wait, busy := c.wait()
		if busy && wait <= 0 {
			c.fail(session.Temporary(session.ErrTimeout))
			return
		}
		if !busy {
			wait = time.Hour
		}
		timer.Reset(wait)
		select {
		case <-timer.C:
		case <-c.kick:
		case <-c.done:
			return
		}
	}
}

// wait returns how long the oldest request may still wait.
func (c *conn) wait() (time.Duration, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.queue) == 0 {
		return 0, false
	}
	r := c.queue[0]
	from := r.start
	if last := time.Unix(0, c.sess.LastRead.Load()); last.After(from) {
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
func (c *conn) send(ctx context.Context, r *request, head string, body io.ReaderAt, size int64) error {
	contReady := make(chan struct{})
	ok, alone := c.enqueue(r, contReady)
	if !ok {
		return errNotSent
	}
	w := c.sess.W
	_ = c.sess.Conn.SetWriteDeadline(time.Now().Add(r.timeout))
	lit := ""
	if r.binary {
		lit = "~"
	}
	if alone {
		fmt.Fprintf(w, "%s %s%s{%d}\r\n", r.tag, head, lit, size)
		if err := c.awaitCont(ctx, r, contReady); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(w, "%s %s%s{%d+}\r\n", r.tag, head, lit, size)
	}
	stop := context.AfterFunc(ctx, func() { c.fail(session.Temporary(errors.New("an APPEND was cancelled while sent"))) })
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
		c.fail(session.Temporary(errors.New("message body unreadable: connection dropped")))
		return fmt.Errorf("%w: read %d of %d octets: %v", ErrBody, n, size, src.Err)
	}
	if err != nil {
		c.fail(session.Temporary(fmt.Errorf("write: %w", err)))
	}
	return nil
}

// awaitCont flushes the command line and waits for the server's "+". It
// returns errNotSent when the connection died first, nil when the literal
// may be sent or when the server answered at once (r is then finished).
func (c *conn) awaitCont(ctx context.Context, r *request, contReady chan struct{}) error {
	if err := c.sess.W.Flush(); err != nil {
		c.fail(session.Temporary(fmt.Errorf("write: %w", err)))
		return errNotSent
	}
	select {
	case <-contReady:
		return nil
	case <-r.done:
		if session.AsIMAP(r.err) != nil || errors.Is(r.err, session.ErrTimeout) {
			return errAnswered // final, as on the go-imap path
		}
		return errNotSent
	case <-ctx.Done():
		c.fail(session.Temporary(errors.New("an APPEND was cancelled while sent")))
		return ctx.Err()
	}
}

// errAnswered means the request finished before its literal was sent,
// with a final result: the server's answer (Dovecot's [TRYCREATE],
// [TOOBIG]) or a timeout, which is not retried here.
var errAnswered = errors.New("answered before the literal")
