package imap

import (
	"bufio"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/mailferry/mailferry/target/imap/internal/wire"
)

// An appendAction says how the fake server answers one APPEND.
type appendAction int

const (
	appendOK       appendAction = iota // "+", read the literal, OK [APPENDUID]
	appendHang                         // never answer
	appendNoBefore                     // NO before the "+", as Dovecot does
	appendNoAfter                      // "+", read the literal, then NO
	appendBye                          // BYE and close before the "+"
	appendSilent                       // read the literal, never answer
	appendByeAfter                     // read the literal, then BYE and close
)

// A fakeServer is a scripted IMAP server on 127.0.0.1 that speaks just
// enough IMAP for login and APPEND; everything else is answered NO.
type fakeServer struct {
	addr string
	caps string // announced capabilities
	user string
	pass string

	mu      sync.Mutex
	action  func(n int) (appendAction, string) // n counts APPENDs from 0
	created map[string]bool
	conns   []net.Conn
	// refuseCreate, when set, is the text of a NO to every CREATE.
	refuseCreate string
	// fetchBody, when set, makes EXAMINE show one message, UID 1, and
	// is what follows "BODY[] " in the answer to every UID FETCH (a
	// literal with its marker).
	fetchBody string

	accepted atomic.Int32
	appends  atomic.Int32
	logins   atomic.Int32
	authUsed atomic.Value // "LOGIN" or "AUTHENTICATE"
}

// newFakeServer starts a fake server; the default action is appendOK.
func newFakeServer(t *testing.T, caps string) *fakeServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	f := &fakeServer{addr: ln.Addr().String(), caps: caps, user: "u", pass: "p4ss", created: map[string]bool{}}
	f.setAction(func(int) (appendAction, string) { return appendOK, "" })
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			f.accepted.Add(1)
			f.mu.Lock()
			f.conns = append(f.conns, c)
			f.mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				f.serve(c)
			}()
		}
	}()
	t.Cleanup(func() {
		_ = ln.Close()
		f.dropAll()
		wg.Wait()
	})
	return f
}

func (f *fakeServer) setAction(a func(n int) (appendAction, string)) {
	f.mu.Lock()
	f.action = a
	f.mu.Unlock()
}

// always makes every APPEND get act with resp-text text.
func (f *fakeServer) always(act appendAction, text string) {
	f.setAction(func(int) (appendAction, string) { return act, text })
}

func (f *fakeServer) dropAll() {
	f.mu.Lock()
	conns := f.conns
	f.conns = nil
	f.mu.Unlock()
	for _, c := range conns {
		_ = c.Close()
	}
}

func (f *fakeServer) serve(c net.Conn) {
	defer c.Close()
	r := bufio.NewReader(c)
	w := bufio.NewWriter(c)
	reply := func(format string, args ...any) {
		fmt.Fprintf(w, format+"\r\n", args...)
		_ = w.Flush()
	}
	reply("* OK [CAPABILITY %s] fake ready", f.caps)
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		tag, rest, _ := strings.Cut(strings.TrimRight(line, "\r\n"), " ")
		verb, args, _ := strings.Cut(rest, " ")
		if !f.handle(c, r, reply, tag, strings.ToUpper(verb), args) {
			return
		}
	}
}

// handle answers one command and reports whether to go on.
func (f *fakeServer) handle(c net.Conn, r *bufio.Reader, reply func(string, ...any), tag, verb, args string) bool {
	switch verb {
	case "CAPABILITY":
		reply("* CAPABILITY %s", f.caps)
		reply("%s OK done", tag)
	case "AUTHENTICATE":
		f.authUsed.Store(verb)
		reply("+ ")
		line, err := r.ReadString('\n')
		if err != nil {
			return false
		}
		raw, _ := base64.StdEncoding.DecodeString(strings.TrimSpace(line))
		f.loginReply(reply, tag, string(raw) == "\x00"+f.user+"\x00"+f.pass)
	case "LOGIN":
		f.authUsed.Store(verb)
		f.loginReply(reply, tag, args == fmt.Sprintf("%q %q", f.user, f.pass) || args == f.user+" "+f.pass)
	case "LOGOUT":
		reply("* BYE bye")
		reply("%s OK done", tag)
		return false
	case "NOOP":
		reply("%s OK done", tag)
	case "LIST":
		reply("%s OK done", tag)
	case "CREATE":
		f.mu.Lock()
		refuse := f.refuseCreate
		if refuse == "" {
			f.created[strings.Trim(args, `"`)] = true
		}
		f.mu.Unlock()
		if refuse != "" {
			reply("%s NO %s", tag, refuse)
			break
		}
		reply("%s OK created", tag)
	case "APPEND":
		return f.append(c, r, reply, tag, args)
	case "EXAMINE", "UID":
		f.mu.Lock()
		body := f.fetchBody
		f.mu.Unlock()
		if body == "" {
			reply("%s NO not in this fake", tag)
		} else if verb == "EXAMINE" {
			reply("* 1 EXISTS")
			reply("%s OK [READ-ONLY] examined", tag)
		} else {
			reply("* 1 FETCH (UID 1 BODY[] %s)", body)
			reply("%s OK fetched", tag)
		}
	default:
		reply("%s NO not in this fake", tag)
	}
	return true
}

func (f *fakeServer) loginReply(reply func(string, ...any), tag string, ok bool) {
	if !ok {
		reply("%s NO [AUTHENTICATIONFAILED] Authentication failed.", tag)
		return
	}
	f.logins.Add(1)
	reply("%s OK [CAPABILITY %s] Logged in", tag, f.caps)
}

// append plays the scripted action for one APPEND.
func (f *fakeServer) append(c net.Conn, r *bufio.Reader, reply func(string, ...any), tag, args string) bool {
	n := int(f.appends.Add(1)) - 1
	f.mu.Lock()
	act, text := f.action(n)
	f.mu.Unlock()
	size, err := literalSize(args)
	if err != nil {
		reply("%s BAD %v", tag, err)
		return false
	}
	if strings.HasSuffix(args, "+}") {
		return f.appendPlus(r, reply, tag, act, text, size, n)
	}
	switch act {
	case appendHang:
		_, _ = io.Copy(io.Discard, r) // until the client closes
		return false
	case appendNoBefore:
		reply("%s NO %s", tag, text)
		return true
	case appendBye:
		reply("* BYE %s", text)
		return false
	}
	reply("+ go ahead")
	if _, err := io.CopyN(io.Discard, r, size); err != nil {
		return false
	}
	if _, err := r.ReadString('\n'); err != nil {
		return false
	}
	switch act {
	case appendNoAfter:
		reply("%s NO %s", tag, text)
		return true
	case appendSilent:
		return true
	case appendByeAfter:
		reply("* BYE %s", text)
		return false
	}
	reply("%s OK [APPENDUID 7 %d] appended", tag, n+1)
	return true
}

// literalSize reads N from an APPEND's trailing "{N}", "{N+}" or "~{N}".
func literalSize(args string) (int64, error) {
	n, _, ok := wire.LiteralMarker(args)
	if !ok {
		return 0, fmt.Errorf("no literal in %q", args)
	}
	return n, nil
}

// appendPlus plays act for an APPEND with a non-synchronizing literal,
// which is read before any answer.
func (f *fakeServer) appendPlus(r *bufio.Reader, reply func(string, ...any), tag string, act appendAction, text string, size int64, n int) bool {
	if act == appendHang {
		_, _ = io.Copy(io.Discard, r)
		return false
	}
	if _, err := io.CopyN(io.Discard, r, size); err != nil {
		return false
	}
	if _, err := r.ReadString('\n'); err != nil {
		return false
	}
	switch act {
	case appendSilent:
		return true
	case appendBye, appendByeAfter:
		reply("* BYE %s", text)
		return false
	case appendNoBefore, appendNoAfter:
		reply("%s NO %s", tag, text)
		return true
	}
	reply("%s OK [APPENDUID 7 %d] appended", tag, n+1)
	return true
}
