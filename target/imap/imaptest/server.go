package imaptest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-imap/v2/imapserver/imapmemserver"
)

// Server is a running in-memory IMAP server with one user whose INBOX
// exists. Its methods are safe for concurrent use.
type Server struct {
	// Addr is host:port of the clear-text listener, which also offers
	// STARTTLS.
	Addr string
	// TLSAddr is host:port of the implicit-TLS listener.
	TLSAddr string

	user, pass string
	mem        *imapmemserver.User
	srv        *imapserver.Server
	certs      *x509.CertPool
	tlsConfig  *tls.Config
	conns      *connSet
	rec        *recorder
	listeners  []net.Listener
	wg         sync.WaitGroup
}

// NewServer starts a server for user with password pass on 127.0.0.1 and
// closes it when the test ends. It fails the test if it cannot start.
func NewServer(t testing.TB, user, pass string) *Server {
	t.Helper()
	s, err := Start(user, pass)
	if err != nil {
		t.Fatalf("imaptest.Start: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// Start starts a server for user with password pass on two free ports of
// 127.0.0.1, for use outside tests (the demo command). Call Close to stop
// it.
func Start(user, pass string) (*Server, error) {
	cfg, pool, err := selfSigned()
	if err != nil {
		return nil, fmt.Errorf("imaptest: certificate: %w", err)
	}
	s := &Server{user: user, pass: pass, certs: pool, tlsConfig: cfg, conns: newConnSet(), rec: newRecorder()}
	s.mem = imapmemserver.NewUser(user, pass)
	if err := s.mem.Create("INBOX", nil); err != nil {
		return nil, err
	}
	mem := imapmemserver.New()
	mem.AddUser(s.mem)
	s.srv = imapserver.New(&imapserver.Options{
		NewSession: func(conn *imapserver.Conn) (imapserver.Session, *imapserver.GreetingData, error) {
			sess := mem.NewSession().(imapserver.SessionIMAP4rev2)
			return &recordingSession{SessionIMAP4rev2: sess, rec: s.rec, conn: conn}, nil, nil
		},
		Caps: imap.CapSet{
			imap.CapIMAP4rev1:   {},
			imap.CapUIDPlus:     {},
			imap.CapLiteralPlus: {},
			imap.CapNamespace:   {},
		},
		TLSConfig:    cfg,
		InsecureAuth: true,
		Logger:       log.New(io.Discard, "", 0),
	})
	if err := s.listen(); err != nil {
		_ = s.srv.Close()
		return nil, err
	}
	return s, nil
}

// listen opens both listeners and serves them.
func (s *Server) listen() error {
	plain, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("imaptest: listen: %w", err)
	}
	secure, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		_ = plain.Close()
		return fmt.Errorf("imaptest: listen: %w", err)
	}
	s.Addr, s.TLSAddr = plain.Addr().String(), secure.Addr().String()
	s.listeners = []net.Listener{plain, secure}
	for _, ln := range []net.Listener{
		trackedListener{plain, s.conns},
		tls.NewListener(trackedListener{secure, s.conns}, s.tlsConfig),
	} {
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			_ = s.srv.Serve(ln)
		}()
	}
	return nil
}

// Close stops the server and drops every connection.
func (s *Server) Close() error {
	err := s.srv.Close()
	for _, ln := range s.listeners {
		_ = ln.Close() // Serve may not have started: close them here too
	}
	s.conns.closeAll()
	s.wg.Wait()
	return err
}

// CertPool returns a pool holding the server's self-signed certificate,
// valid for 127.0.0.1 and localhost, for a client's tls.Config.RootCAs.
func (s *Server) CertPool() *x509.CertPool { return s.certs }

// DropConnections closes the server side of every open connection, as a
// server restart or a network failure would, and returns how many it
// closed. The server keeps listening.
func (s *Server) DropConnections() int { return s.conns.closeAll() }

// CreateFolder creates a folder directly in the store.
func (s *Server) CreateFolder(name string) error {
	return s.mem.Create(name, nil)
}

// A Message is one stored message as a client reads it back.
type Message struct {
	UID   uint32
	Flags []string
	Date  time.Time
	Body  []byte
}

// Messages returns the exact bytes of every message in folder, in UID
// order: the folder is listed through a client connection, and each
// message's bytes are those its APPEND carried (see record.go: the
// server's own BODY[] re-encodes the header). A missing folder is an
// error.
func (s *Server) Messages(folder string) ([][]byte, error) {
	msgs, err := s.Fetch(folder)
	if err != nil {
		return nil, err
	}
	bodies := make([][]byte, len(msgs))
	for i, m := range msgs {
		bodies[i] = m.Body
	}
	return bodies, nil
}

// Fetch returns every message in folder with its UID, flags, internal
// date and exact bytes, in UID order, read through a client connection
// without setting \Seen. A missing folder is an error.
func (s *Server) Fetch(folder string) ([]Message, error) {
	c, err := imapclient.DialInsecure(s.Addr, nil)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	if err := c.Login(s.user, s.pass).Wait(); err != nil {
		return nil, err
	}
	data, err := c.Select(folder, &imap.SelectOptions{ReadOnly: true}).Wait()
	if err != nil {
		return nil, fmt.Errorf("imaptest: examine %q: %w", folder, err)
	}
	if data.NumMessages == 0 {
		return nil, nil
	}
	msgs, err := fetchAll(c)
	for i, m := range msgs {
		if raw, ok := s.rec.get(data.UIDValidity, imap.UID(m.UID)); ok {
			msgs[i].Body = raw
		}
	}
	return msgs, err
}

// fetchAll reads every message of the selected mailbox.
func fetchAll(c *imapclient.Client) ([]Message, error) {
	section := &imap.FetchItemBodySection{Peek: true}
	bufs, err := c.Fetch(imap.SeqSet{imap.SeqRange{Start: 1, Stop: 0}}, &imap.FetchOptions{
		UID:          true,
		Flags:        true,
		InternalDate: true,
		BodySection:  []*imap.FetchItemBodySection{section},
	}).Collect()
	if err != nil {
		return nil, err
	}
	msgs := make([]Message, 0, len(bufs))
	for _, b := range bufs {
		m := Message{UID: uint32(b.UID), Date: b.InternalDate, Body: b.FindBodySection(section)}
		for _, f := range b.Flags {
			m.Flags = append(m.Flags, string(f))
		}
		if m.Body == nil {
			return nil, errors.New("imaptest: server sent no body")
		}
		msgs = append(msgs, m)
	}
	sort.Slice(msgs, func(i, j int) bool { return msgs[i].UID < msgs[j].UID })
	return msgs, nil
}

// selfSigned makes a server configuration with a fresh ECDSA certificate
// for 127.0.0.1 and localhost, and a pool that trusts it.
func selfSigned() (*tls.Config, *x509.CertPool, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(time.Now().UnixNano()),
		Subject:               pkix.Name{CommonName: "imaptest"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(7 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		DNSNames:              []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, err
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, nil, err
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	cfg := &tls.Config{
		Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}},
		MinVersion:   tls.VersionTLS12,
	}
	return cfg, pool, nil
}

// A connSet tracks the server side of open connections.
type connSet struct {
	mu    sync.Mutex
	conns map[net.Conn]struct{}
}

func newConnSet() *connSet { return &connSet{conns: make(map[net.Conn]struct{})} }

func (s *connSet) add(c net.Conn) {
	s.mu.Lock()
	s.conns[c] = struct{}{}
	s.mu.Unlock()
}

func (s *connSet) remove(c net.Conn) {
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
}

// closeAll closes every tracked connection and returns how many.
func (s *connSet) closeAll() int {
	s.mu.Lock()
	conns := s.conns
	s.conns = make(map[net.Conn]struct{})
	s.mu.Unlock()
	for c := range conns {
		_ = c.Close()
	}
	return len(conns)
}

// A trackedListener records each accepted connection in a connSet.
type trackedListener struct {
	net.Listener
	set *connSet
}

func (l trackedListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	tc := &trackedConn{Conn: c, set: l.set}
	l.set.add(tc)
	return tc, nil
}

// A trackedConn leaves its connSet when closed.
type trackedConn struct {
	net.Conn
	set *connSet
}

func (c *trackedConn) Close() error {
	c.set.remove(c)
	return c.Conn.Close()
}

// OpenConnections returns how many connections the server side holds
// open. A connection the client closed counts until the server notices.
func (s *Server) OpenConnections() int {
	s.conns.mu.Lock()
	defer s.conns.mu.Unlock()
	return len(s.conns.conns)
}
