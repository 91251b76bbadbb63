package pop3test

import (
	"bytes"
	"crypto/sha1"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Options configure a Server. The zero value serves an empty server with
// no users, plaintext only.
type Options struct {
	// Users maps a user name to its password.
	Users map[string]string
	// Messages maps a user to its maildrop. Each message is sent exactly
	// as given, dot-stuffed on the wire; a message that does not end with
	// "\n" gets "\r\n" before the terminating line, as real servers do.
	Messages map[string][][]byte
	// TLSConfig, with a certificate, enables STLS, or TLS from the first
	// byte when ImplicitTLS is set.
	TLSConfig   *tls.Config
	ImplicitTLS bool
	// NoUIDL answers UIDL with -ERR and leaves it out of CAPA.
	// NoPipelining leaves PIPELINING out of CAPA (commands sent ahead are
	// still answered, in order). NoSASL leaves SASL out of CAPA and
	// refuses AUTH.
	NoUIDL, NoPipelining, NoSASL bool
	// Latency delays each reply until Latency after its command arrived,
	// like a network round trip: commands sent together are answered
	// together, commands sent one after the other wait Latency each.
	Latency time.Duration
	// Fault, if set, sees every command (upper case) and its argument
	// before the server does. When it returns ok, reply is sent instead,
	// followed by CRLF, in one write, and the command has no other effect;
	// an empty reply closes the connection. Fault may block to stall the
	// session. It is called from the sessions' goroutines.
	Fault func(cmd string, arg string) (reply string, ok bool)
}

// Server is a POP3 server (RFC 1939, with CAPA, PIPELINING, UIDL, STLS,
// SASL PLAIN and response codes) serving maildrops held in memory.
type Server struct {
	// Addr is the address it listens on, 127.0.0.1:port.
	Addr string

	opts Options
	ln   net.Listener
	wg   sync.WaitGroup

	mu        sync.Mutex
	msgs      map[string][][]byte
	locked    map[string]bool
	counts    map[string]int
	maxQueued int
	conns     map[net.Conn]bool
	closed    bool
	quit      chan struct{} // closed by Close
}

// Start listens on 127.0.0.1 at a free port and serves until Close.
func Start(opts Options) (*Server, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	if opts.ImplicitTLS {
		if opts.TLSConfig == nil {
			ln.Close()
			return nil, errors.New("pop3test: ImplicitTLS needs a TLSConfig")
		}
		ln = tls.NewListener(ln, opts.TLSConfig)
	}
	s := &Server{
		Addr:   ln.Addr().String(),
		opts:   opts,
		ln:     ln,
		msgs:   make(map[string][][]byte),
		locked: make(map[string]bool),
		counts: make(map[string]int),
		conns:  make(map[net.Conn]bool),
		quit:   make(chan struct{}),
	}
	for user, msgs := range opts.Messages {
		s.SetMessages(user, msgs)
	}
	s.wg.Add(1)
	go s.serve()
	return s, nil
}

// NewServer starts a server that t.Cleanup closes; it fails t if it
// cannot listen.
func NewServer(t testing.TB, opts Options) *Server {
	t.Helper()
	s, err := Start(opts)
	if err != nil {
		t.Fatalf("pop3test: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// Close stops listening, closes every session and waits for them.
func (s *Server) Close() error {
	s.mu.Lock()
	if !s.closed {
		close(s.quit)
	}
	s.closed = true
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	err := s.ln.Close()
	s.wg.Wait()
	return err
}

// SetMessages replaces user's maildrop; sessions already logged in keep
// the maildrop they saw at login, as POP3 requires.
func (s *Server) SetMessages(user string, msgs [][]byte) {
	cp := make([][]byte, len(msgs))
	for i, m := range msgs {
		cp[i] = append([]byte(nil), m...)
	}
	s.mu.Lock()
	s.msgs[user] = cp
	s.mu.Unlock()
}

// Messages returns user's maildrop as it stands (after the deletions of
// sessions that ended with QUIT).
func (s *Server) Messages(user string) [][]byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([][]byte(nil), s.msgs[user]...)
}

// Count returns how many times cmd (e.g. "RETR", any case) was received,
// across sessions.
func (s *Server) Count(cmd string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.counts[strings.ToUpper(cmd)]
}

// MaxQueued returns the largest number of commands seen waiting, already
// received, while the server began to answer another: above 0 means a
// client pipelined.
func (s *Server) MaxQueued() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.maxQueued
}

// UIDL returns the UIDL the server gives msg when it is the n-th (from 0)
// message with these exact bytes in its maildrop: the hex SHA-1 of the
// bytes, then for n > 0 of the bytes and n.
func UIDL(msg []byte, n int) string {
	h := sha1.New()
	h.Write(msg)
	if n > 0 {
		h.Write([]byte(strconv.Itoa(n)))
	}
	return hex.EncodeToString(h.Sum(nil))
}

func (s *Server) serve() {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		if !s.track(c) {
			c.Close()
			return
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer s.untrack(c)
			newSession(s, c).run()
		}()
	}
}

func (s *Server) track(c net.Conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.conns[c] = true
	return true
}

func (s *Server) untrack(c net.Conn) {
	c.Close()
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
}

func (s *Server) count(cmd string, queued int) {
	s.mu.Lock()
	s.counts[cmd]++
	s.maxQueued = max(s.maxQueued, queued)
	s.mu.Unlock()
}

// login checks the credentials and locks the maildrop; it returns the
// maildrop's messages, or the -ERR reply.
func (s *Server) login(user, pass string) ([][]byte, string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	want, ok := s.opts.Users[user]
	if !ok || want != pass {
		return nil, "-ERR [AUTH] invalid user name or password"
	}
	if s.locked[user] {
		return nil, "-ERR [IN-USE] maildrop already locked by another session"
	}
	s.locked[user] = true
	return append([][]byte(nil), s.msgs[user]...), ""
}

// logout unlocks user's maildrop and, when update is set (QUIT in the
// TRANSACTION state, RFC 1939's UPDATE), removes the deleted messages:
// for each, the first message with the same bytes.
func (s *Server) logout(user string, deleted [][]byte, update bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.locked, user)
	if !update {
		return
	}
	for _, d := range deleted {
		msgs := s.msgs[user]
		if i := slices.IndexFunc(msgs, func(m []byte) bool { return bytes.Equal(m, d) }); i >= 0 {
			s.msgs[user] = slices.Delete(msgs, i, i+1)
		}
	}
}
