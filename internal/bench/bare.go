package bench

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
)

// A Client is a bare IMAP client: net and bufio, no library. It knows
// LOGIN, APPEND (pipelined with LITERAL+, or one at a time with
// synchronizing literals), STATUS and LOGOUT, and assumes that server
// responses hold no literals other than those it skips. It is meant as a
// yardstick, not for real use: it is not safe for concurrent use, except
// that AppendPipelined runs its own reader and writer.
type Client struct {
	conn net.Conn
	r    *bufio.Reader
	w    *bufio.Writer
	tag  int
}

// Dialer opens a TCP connection; a net.Dialer's DialContext is one.
type Dialer func(ctx context.Context, network, addr string) (net.Conn, error)

// Login connects to addr with dial (nil: a net.Dialer), reads the greeting
// and logs in with LOGIN.
func Login(ctx context.Context, dial Dialer, addr, user, pass string) (*Client, error) {
	if dial == nil {
		var d net.Dialer
		dial = d.DialContext
	}
	conn, err := dial(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	c := &Client{conn: conn, r: bufio.NewReaderSize(conn, 64<<10), w: bufio.NewWriterSize(conn, 64<<10)}
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	greeting, err := c.readLine()
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("greeting: %w", err)
	}
	if !strings.HasPrefix(greeting, "* OK") {
		conn.Close()
		return nil, fmt.Errorf("greeting %q", greeting)
	}
	if _, err := c.command("LOGIN " + quote(user) + " " + quote(pass)); err != nil {
		conn.Close()
		return nil, fmt.Errorf("login: %w", err)
	}
	return c, nil
}

// Close closes the connection without LOGOUT.
func (c *Client) Close() error { return c.conn.Close() }

// Logout sends LOGOUT and closes the connection.
func (c *Client) Logout() error {
	_, err := c.command("LOGOUT")
	return errors.Join(err, c.conn.Close())
}

func quote(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

func (c *Client) nextTag() string {
	c.tag++
	return "A" + strconv.Itoa(c.tag)
}

// readLine reads one response line without its CRLF. A line that ends in
// a literal announcement {n} has the literal and the rest of the line
// appended, so a response is always one string.
func (c *Client) readLine() (string, error) {
	var sb strings.Builder
	for {
		line, err := c.r.ReadString('\n')
		if err != nil {
			return "", err
		}
		line = strings.TrimRight(line, "\r\n")
		sb.WriteString(line)
		n, ok := literalSize(line)
		if !ok {
			return sb.String(), nil
		}
		if _, err := io.CopyN(&sb, c.r, n); err != nil {
			return "", err
		}
	}
}

// literalSize reports the size of a literal announced at the end of line.
func literalSize(line string) (int64, bool) {
	if !strings.HasSuffix(line, "}") {
		return 0, false
	}
	i := strings.LastIndexByte(line, '{')
	if i < 0 {
		return 0, false
	}
	n, err := strconv.ParseInt(strings.TrimSuffix(line[i+1:len(line)-1], "+"), 10, 64)
	return n, err == nil
}

// command sends a command without literals and returns the untagged
// responses before its tagged OK; NO or BAD is an error.
func (c *Client) command(cmd string) ([]string, error) {
	tag := c.nextTag()
	if _, err := c.w.WriteString(tag + " " + cmd + "\r\n"); err != nil {
		return nil, err
	}
	if err := c.w.Flush(); err != nil {
		return nil, err
	}
	return c.untilTagged(tag)
}

// untilTagged reads responses up to the tagged one for tag.
func (c *Client) untilTagged(tag string) ([]string, error) {
	var untagged []string
	for {
		line, err := c.readLine()
		if err != nil {
			return untagged, err
		}
		if rest, ok := strings.CutPrefix(line, tag+" "); ok {
			return untagged, statusErr(rest)
		}
		untagged = append(untagged, line)
	}
}

// statusErr turns the text after a tag into nil for OK, else an error.
func statusErr(rest string) error {
	if strings.HasPrefix(rest, "OK") {
		return nil
	}
	return fmt.Errorf("server: %s", rest)
}

// Status returns the MESSAGES count of mailbox.
func (c *Client) Status(mailbox string) (int, error) {
	lines, err := c.command("STATUS " + quote(mailbox) + " (MESSAGES)")
	if err != nil {
		return 0, err
	}
	for _, l := range lines {
		if _, after, ok := strings.Cut(l, "(MESSAGES "); ok && strings.HasPrefix(l, "* STATUS") {
			return strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(after), ")"))
		}
	}
	return 0, fmt.Errorf("no STATUS response in %q", lines)
}

// appendDate is the internal date the bare client gives every message,
// as mailferry gives each message its own.
const appendDate = `"01-Mar-2014 08:00:00 +0000"`

// AppendSync appends msg to mailbox as go-imap does against Dovecot: it
// sends the command with a synchronizing literal {n}, waits for the
// server's continuation request, sends the message, and waits for the
// tagged answer. One APPEND costs two round trips.
func (c *Client) AppendSync(mailbox string, msg []byte) error {
	tag := c.nextTag()
	fmt.Fprintf(c.w, "%s APPEND %s %s {%d}\r\n", tag, quote(mailbox), appendDate, len(msg))
	if err := c.w.Flush(); err != nil {
		return err
	}
	for {
		line, err := c.readLine()
		if err != nil {
			return err
		}
		if strings.HasPrefix(line, "+") {
			break
		}
		if rest, ok := strings.CutPrefix(line, tag+" "); ok {
			return fmt.Errorf("literal refused: %w", statusErr(rest))
		}
	}
	c.w.Write(msg)
	c.w.WriteString("\r\n")
	if err := c.w.Flush(); err != nil {
		return err
	}
	_, err := c.untilTagged(tag)
	return err
}

// AppendPipelined appends msgs to mailbox in order with non-synchronizing
// literals {n+} (LITERAL+, RFC 7888): a writer sends APPENDs while at
// most window of them await their answer, and the caller's goroutine reads
// the answers as they come. It returns the first error.
func (c *Client) AppendPipelined(mailbox string, msgs [][]byte, window int) error {
	window = max(window, 1)
	slots := make(chan struct{}, window)
	done := make(chan struct{})
	werr := make(chan error, 1)
	first := c.tag + 1
	go func() {
		werr <- c.writeAppends(mailbox, msgs, slots, done)
	}()
	err := c.readAppends(first, len(msgs), slots)
	close(done)
	if err != nil {
		c.conn.Close() // unblocks the writer
	}
	return errors.Join(err, <-werr)
}

func (c *Client) writeAppends(mailbox string, msgs [][]byte, slots chan struct{}, done chan struct{}) error {
	for _, msg := range msgs {
		select {
		case slots <- struct{}{}:
		case <-done:
			return nil
		}
		tag := c.nextTag()
		fmt.Fprintf(c.w, "%s APPEND %s %s {%d+}\r\n", tag, quote(mailbox), appendDate, len(msg))
		c.w.Write(msg)
		c.w.WriteString("\r\n")
		if err := c.w.Flush(); err != nil {
			return err
		}
	}
	return nil
}

func (c *Client) readAppends(first, n int, slots chan struct{}) error {
	for next := first; next < first+n; {
		line, err := c.readLine()
		if err != nil {
			return err
		}
		if line == "" || line[0] == '*' {
			continue
		}
		if line[0] == '+' {
			return fmt.Errorf("unexpected continuation request %q with LITERAL+", line)
		}
		tag := "A" + strconv.Itoa(next)
		rest, ok := strings.CutPrefix(line, tag+" ")
		if !ok {
			return fmt.Errorf("answer %q, want tag %s", line, tag)
		}
		if err := statusErr(rest); err != nil {
			return fmt.Errorf("APPEND %s: %w", tag, err)
		}
		<-slots
		next++
	}
	return nil
}

// AppendAll logs conns clients in and has each append a share of msgs one
// at a time with AppendSync, taking the next message as soon as its
// previous one is answered. It returns when all are stored.
func AppendAll(ctx context.Context, dial Dialer, addr, user, pass, mailbox string, msgs [][]byte, conns int) error {
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make([]error, conns)
	for k := range conns {
		wg.Go(func() {
			c, err := Login(ctx, dial, addr, user, pass)
			if err != nil {
				errs[k] = err
				return
			}
			defer c.Logout()
			for {
				i := int(next.Add(1)) - 1
				if i >= len(msgs) || ctx.Err() != nil {
					return
				}
				if err := c.AppendSync(mailbox, msgs[i]); err != nil {
					errs[k] = fmt.Errorf("message %d: %w", i, err)
					next.Store(int64(len(msgs))) // stop the others
					return
				}
			}
		})
	}
	wg.Wait()
	return errors.Join(append(errs, ctx.Err())...)
}

// Count returns the number of messages in mailbox of user.
func Count(ctx context.Context, addr, user, pass, mailbox string) (int, error) {
	c, err := Login(ctx, nil, addr, user, pass)
	if err != nil {
		return 0, err
	}
	defer c.Logout()
	return c.Status(mailbox)
}
