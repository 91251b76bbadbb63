package pop3test

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"encoding/base64"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"
)

// command is one line received, with the time it arrived.
type command struct {
	line string
	at   time.Time
	err  error
}

// session is one connection. Commands are read by a goroutine of their
// own (readLoop), so that their arrival time is known while earlier
// replies are still being written; the session goroutine answers them in
// order.
type session struct {
	srv    *Server
	conn   net.Conn
	w      *bufio.Writer
	cmds   chan command
	resume chan *bufio.Reader // after STLS: the reader to go on with
	done   chan struct{}

	tls     bool
	user    string // from USER
	authed  string // the logged-in user, "" before
	msgs    [][]byte
	uidls   []string
	deleted map[int]bool
	quit    bool
}

func newSession(srv *Server, c net.Conn) *session {
	_, isTLS := c.(*tls.Conn)
	return &session{
		srv:    srv,
		conn:   c,
		w:      bufio.NewWriterSize(c, 64<<10),
		cmds:   make(chan command, 1024),
		resume: make(chan *bufio.Reader),
		done:   make(chan struct{}),
		tls:    isTLS,
	}
}

func (s *session) run() {
	defer close(s.done)
	defer func() {
		if s.authed != "" { // the connection ended without QUIT
			s.srv.logout(s.authed, nil, false)
		}
	}()
	go s.readLoop(bufio.NewReader(s.conn))
	s.reply("+OK pop3test ready")
	for !s.quit {
		c, ok := s.next()
		if !ok {
			return
		}
		if !s.handle(c.line) {
			return
		}
	}
}

// readLoop reads command lines and sends them to s.cmds. After STLS it
// waits for the reader to go on with, so as not to read the handshake.
func (s *session) readLoop(r *bufio.Reader) {
	for {
		line, err := r.ReadString('\n')
		select {
		case s.cmds <- command{line: strings.TrimRight(line, "\r\n"), at: time.Now(), err: err}:
		case <-s.done:
			return
		}
		if err != nil {
			return
		}
		if verb, _, _ := strings.Cut(line, " "); strings.EqualFold(strings.TrimSpace(verb), "STLS") {
			select {
			case nr := <-s.resume:
				if nr != nil {
					r = nr
				}
			case <-s.done:
				return
			}
		}
	}
}

// next returns the next command once Latency after its arrival has
// passed.
func (s *session) next() (command, bool) {
	var c command
	select {
	case c = <-s.cmds:
	case <-s.srv.quit:
		return c, false
	}
	if c.err != nil {
		return c, false
	}
	s.srv.count(strings.ToUpper(verbOf(c.line)), len(s.cmds))
	time.Sleep(time.Until(c.at.Add(s.srv.opts.Latency)))
	return c, true
}

func verbOf(line string) string {
	verb, _, _ := strings.Cut(line, " ")
	return verb
}

// handle answers one command; false ends the session.
func (s *session) handle(line string) bool {
	verb, arg, _ := strings.Cut(line, " ")
	verb = strings.ToUpper(verb)
	if f := s.srv.opts.Fault; f != nil {
		if reply, ok := f(verb, arg); ok {
			if verb == "STLS" {
				defer func() { s.resume <- nil }()
			}
			if reply == "" {
				return false
			}
			return s.reply(reply)
		}
	}
	switch verb {
	case "CAPA":
		return s.capa()
	case "QUIT":
		// Update and unlock before the reply, so that a client that
		// saw +OK finds the maildrop updated and free.
		s.quit = true
		if s.authed != "" {
			s.srv.logout(s.authed, s.deletedMsgs(), true)
			s.authed = ""
		}
		return s.reply("+OK bye")
	case "NOOP":
		return s.reply("+OK")
	case "STLS":
		return s.stls()
	}
	if s.authed == "" {
		return s.handleAuth(verb, arg)
	}
	return s.handleTransaction(verb, arg)
}

// reply writes one line and flushes it; false if the connection failed.
func (s *session) reply(line string) bool {
	s.w.WriteString(line)
	s.w.WriteString("\r\n")
	return s.w.Flush() == nil
}

func (s *session) capa() bool {
	caps := []string{"+OK capability list follows", "TOP", "USER", "RESP-CODES", "AUTH-RESP-CODE"}
	if !s.srv.opts.NoUIDL {
		caps = append(caps, "UIDL")
	}
	if !s.srv.opts.NoPipelining {
		caps = append(caps, "PIPELINING")
	}
	if !s.srv.opts.NoSASL {
		caps = append(caps, "SASL PLAIN")
	}
	if s.srv.opts.TLSConfig != nil && !s.tls && s.authed == "" {
		caps = append(caps, "STLS")
	}
	caps = append(caps, "IMPLEMENTATION pop3test", ".")
	return s.reply(strings.Join(caps, "\r\n"))
}

// stls answers STLS and, when it accepts, runs the TLS handshake. It
// always hands readLoop the reader to go on with.
func (s *session) stls() bool {
	if s.srv.opts.TLSConfig == nil || s.tls || s.authed != "" {
		s.resume <- nil
		return s.reply("-ERR STLS not available")
	}
	if !s.reply("+OK begin TLS negotiation") {
		s.resume <- nil
		return false
	}
	tc := tls.Server(s.conn, s.srv.opts.TLSConfig)
	tc.SetDeadline(time.Now().Add(10 * time.Second))
	err := tc.Handshake()
	tc.SetDeadline(time.Time{})
	if err != nil {
		s.resume <- nil
		return false
	}
	s.conn, s.tls = tc, true
	s.w = bufio.NewWriterSize(tc, 64<<10)
	s.resume <- bufio.NewReader(tc)
	return true
}

// handleAuth answers the commands of the AUTHORIZATION state.
func (s *session) handleAuth(verb, arg string) bool {
	switch verb {
	case "USER":
		s.user = arg
		return s.reply("+OK")
	case "PASS":
		if s.user == "" {
			return s.reply("-ERR USER first")
		}
		return s.login(s.user, arg)
	case "AUTH":
		return s.authPlain(arg)
	}
	return s.reply("-ERR unknown command in AUTHORIZATION state")
}

// authPlain runs AUTH PLAIN, with or without an initial response.
func (s *session) authPlain(arg string) bool {
	mech, ir, hasIR := strings.Cut(arg, " ")
	if s.srv.opts.NoSASL || !strings.EqualFold(mech, "PLAIN") {
		return s.reply("-ERR unsupported mechanism")
	}
	if !hasIR {
		if !s.reply("+ ") {
			return false
		}
		c, ok := s.next()
		if !ok {
			return false
		}
		ir = c.line
	}
	if ir == "*" {
		return s.reply("-ERR authentication cancelled")
	}
	if ir == "=" {
		ir = ""
	}
	b, err := base64.StdEncoding.DecodeString(ir)
	parts := bytes.Split(b, []byte{0})
	if err != nil || len(parts) != 3 {
		return s.reply("-ERR malformed PLAIN response")
	}
	return s.login(string(parts[1]), string(parts[2]))
}

func (s *session) login(user, pass string) bool {
	msgs, refusal := s.srv.login(user, pass)
	if refusal != "" {
		return s.reply(refusal)
	}
	s.authed, s.msgs, s.deleted = user, msgs, make(map[int]bool)
	s.uidls = uidls(msgs)
	return s.reply(fmt.Sprintf("+OK %d messages", len(msgs)))
}

// uidls gives each message its UIDL (see UIDL).
func uidls(msgs [][]byte) []string {
	seen := make(map[string]int)
	ids := make([]string, len(msgs))
	for i, m := range msgs {
		ids[i] = UIDL(m, seen[string(m)])
		seen[string(m)]++
	}
	return ids
}

func (s *session) deletedMsgs() [][]byte {
	var out [][]byte
	for i := range s.msgs {
		if s.deleted[i] {
			out = append(out, s.msgs[i])
		}
	}
	return out
}

// handleTransaction answers the commands of the TRANSACTION state.
func (s *session) handleTransaction(verb, arg string) bool {
	switch verb {
	case "STAT":
		n, size := s.stat()
		return s.reply(fmt.Sprintf("+OK %d %d", n, size))
	case "LIST":
		return s.scan(arg, func(i int) string { return strconv.Itoa(len(s.msgs[i])) })
	case "UIDL":
		if s.srv.opts.NoUIDL {
			return s.reply("-ERR unknown command")
		}
		return s.scan(arg, func(i int) string { return s.uidls[i] })
	case "RETR":
		return s.retr(arg, -1)
	case "TOP":
		num, lines, _ := strings.Cut(arg, " ")
		n, err := strconv.Atoi(lines)
		if err != nil || n < 0 {
			return s.reply("-ERR bad line count")
		}
		return s.retr(num, n)
	case "DELE":
		i, ok := s.msgIndex(arg)
		if !ok {
			return s.reply("-ERR no such message")
		}
		s.deleted[i] = true
		return s.reply("+OK deleted")
	case "RSET":
		clear(s.deleted)
		return s.reply("+OK")
	}
	return s.reply("-ERR unknown command")
}

func (s *session) stat() (n, size int) {
	for i, m := range s.msgs {
		if !s.deleted[i] {
			n++
			size += len(m)
		}
	}
	return n, size
}

// msgIndex returns the index of the message numbered arg, if it exists
// and is not deleted.
func (s *session) msgIndex(arg string) (int, bool) {
	n, err := strconv.Atoi(strings.TrimSpace(arg))
	if err != nil || n < 1 || n > len(s.msgs) || s.deleted[n-1] {
		return 0, false
	}
	return n - 1, true
}

// scan answers LIST or UIDL: one message when arg names it, else all.
func (s *session) scan(arg string, field func(int) string) bool {
	if arg != "" {
		i, ok := s.msgIndex(arg)
		if !ok {
			return s.reply("-ERR no such message")
		}
		return s.reply(fmt.Sprintf("+OK %d %s", i+1, field(i)))
	}
	s.w.WriteString("+OK\r\n")
	for i := range s.msgs {
		if !s.deleted[i] {
			fmt.Fprintf(s.w, "%d %s\r\n", i+1, field(i))
		}
	}
	return s.reply(".")
}

// retr sends a message, dot-stuffed; lines >= 0 sends the header and
// that many body lines (TOP).
func (s *session) retr(arg string, lines int) bool {
	i, ok := s.msgIndex(arg)
	if !ok {
		return s.reply("-ERR no such message")
	}
	msg := s.msgs[i]
	if lines >= 0 {
		msg = top(msg, lines)
	}
	fmt.Fprintf(s.w, "+OK %d octets\r\n", len(s.msgs[i]))
	writeStuffed(s.w, msg)
	return s.reply(".")
}

// writeStuffed writes msg with a "." before every line that starts with
// one, and a final CRLF if msg does not end with "\n".
func writeStuffed(w *bufio.Writer, msg []byte) {
	if len(msg) > 0 && msg[len(msg)-1] != '\n' {
		defer w.WriteString("\r\n")
	}
	for len(msg) > 0 {
		line := msg
		if i := bytes.IndexByte(msg, '\n'); i >= 0 {
			line = msg[:i+1]
		}
		if line[0] == '.' {
			w.WriteByte('.')
		}
		w.Write(line)
		msg = msg[len(line):]
	}
}

// top returns the header of msg and its first n body lines.
func top(msg []byte, n int) []byte {
	end := bytes.Index(msg, []byte("\r\n\r\n"))
	if end < 0 {
		return msg
	}
	end += 4
	for ; n > 0 && end < len(msg); n-- {
		i := bytes.IndexByte(msg[end:], '\n')
		if i < 0 {
			return msg
		}
		end += i + 1
	}
	return msg[:end]
}
