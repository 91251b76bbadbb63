package pop3

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"time"

	"github.com/mailferry/mailferry/source"
)

// deadlineConn sets a deadline of timeout from now before every Read and
// Write: an idle timeout that any progress renews.
type deadlineConn struct {
	net.Conn
	timeout time.Duration
}

func (c *deadlineConn) Read(p []byte) (int, error) {
	if err := c.Conn.SetReadDeadline(time.Now().Add(c.timeout)); err != nil {
		return 0, err
	}
	return c.Conn.Read(p)
}

func (c *deadlineConn) Write(p []byte) (int, error) {
	if err := c.Conn.SetWriteDeadline(time.Now().Add(c.timeout)); err != nil {
		return 0, err
	}
	return c.Conn.Write(p)
}

// ServerError is a -ERR reply.
type ServerError struct {
	// Code is the RFC 2449 response code without brackets ("IN-USE",
	// "SYS/TEMP", "AUTH", ...), "" if the reply has none.
	Code string
	// Text is the reply after "-ERR ", code included, as sent.
	Text string
}

func (e *ServerError) Error() string { return fmt.Sprintf("server said -ERR %s", e.Text) }

// Temporary reports whether the code says trying later may succeed.
func (e *ServerError) Temporary() bool {
	switch {
	case e.Code == "IN-USE", e.Code == "LOGIN-DELAY", e.Code == "SYS/TEMP", strings.HasPrefix(e.Code, "SYS/TEMP/"):
		return true
	}
	return false
}

// parseErr builds the error for a -ERR reply whose text follows "-ERR";
// a temporary code makes it a source.TemporaryError.
func parseErr(text string) error {
	e := &ServerError{Text: text}
	if rest, ok := strings.CutPrefix(text, "["); ok {
		if code, _, ok := strings.Cut(rest, "]"); ok {
			e.Code = strings.ToUpper(code)
		}
	}
	if e.Temporary() {
		return source.Temporary(e)
	}
	return e
}

// cmd writes one command line and flushes it.
func (s *Source) cmd(line string) error {
	s.w.WriteString(line)
	s.w.WriteString("\r\n")
	return s.flush()
}

// flush sends the buffered commands; a failure breaks the session.
func (s *Source) flush() error {
	if err := s.w.Flush(); err != nil {
		return s.ioError(err)
	}
	return nil
}

// ioError breaks the session and returns err as temporary: after a
// network error the stream cannot be trusted to be in sync.
func (s *Source) ioError(err error) error {
	if errors.Is(err, io.EOF) {
		err = fmt.Errorf("connection closed by server: %w", io.ErrUnexpectedEOF)
	}
	err = source.Temporary(err)
	s.breakSession(err)
	return err
}

// readLine returns one line without its line ending (CRLF or LF).
func (s *Source) readLine() (string, error) {
	b, err := s.r.ReadSlice('\n')
	if errors.Is(err, bufio.ErrBufferFull) {
		err = fmt.Errorf("reply line longer than %d bytes", bufSize)
		s.breakSession(err)
		return "", err
	}
	if err != nil {
		return "", s.ioError(err)
	}
	b = b[:len(b)-1]
	if n := len(b); n > 0 && b[n-1] == '\r' {
		b = b[:n-1]
	}
	return string(b), nil
}

// readStatus reads a status line: the text after "+OK", or the -ERR as
// an error (see parseErr). Anything else breaks the session.
func (s *Source) readStatus() (string, error) {
	line, err := s.readLine()
	if err != nil {
		return "", err
	}
	if rest, ok := cutStatus(line, "+OK"); ok {
		return rest, nil
	}
	if rest, ok := cutStatus(line, "-ERR"); ok {
		return "", parseErr(rest)
	}
	err = fmt.Errorf("unexpected reply %.80q", line)
	s.breakSession(err)
	return "", err
}

// cutStatus is strings.CutPrefix for a status indicator, which must be
// followed by a space or end the line.
func cutStatus(line, status string) (string, bool) {
	rest, ok := strings.CutPrefix(line, status)
	if !ok || (rest != "" && rest[0] != ' ') {
		return "", false
	}
	return strings.TrimPrefix(rest, " "), true
}

// readLines reads the lines of a multi-line reply up to its "." line,
// un-stuffed, calling fn for each. After an error from fn it goes on
// reading so that the session stays in sync, then returns that error.
func (s *Source) readLines(fn func(string) error) error {
	var fnErr error
	for {
		line, err := s.readLine()
		if err != nil {
			return err
		}
		if line == "." {
			return fnErr
		}
		if fnErr == nil {
			fnErr = fn(strings.TrimPrefix(line, "."))
		}
	}
}

// capa asks CAPA and keeps the answer; -ERR (a server older than RFC
// 2449) leaves no capabilities.
func (s *Source) capa() error {
	if err := s.cmd("CAPA"); err != nil {
		return fmt.Errorf("pop3 capa: %w", err)
	}
	if _, err := s.readStatus(); err != nil {
		var se *ServerError
		if errors.As(err, &se) && !se.Temporary() {
			s.caps = nil
			return nil
		}
		return fmt.Errorf("pop3 capa: %w", err)
	}
	var caps []string
	err := s.readLines(func(line string) error {
		caps = append(caps, line)
		return nil
	})
	if err != nil {
		return fmt.Errorf("pop3 capa: %w", err)
	}
	s.caps = caps
	return nil
}

// ctxError returns ctx.Err() when ctx has ended (the connection was
// closed because of it), else err.
func ctxError(ctx context.Context, err error) error {
	if err != nil && ctx.Err() != nil {
		return ctx.Err()
	}
	return err
}
