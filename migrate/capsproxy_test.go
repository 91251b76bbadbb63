package migrate_test

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// capsProxy forwards loopback IMAP connections to upstream and makes the
// server look like one without the capabilities in hide: they leave the
// greeting's [CAPABILITY ...], every CAPABILITY response and the
// [CAPABILITY ...] after login; with UIDPLUS hidden the server's
// [APPENDUID]/[COPYUID] codes go too, and with SPECIAL-USE hidden the
// special-use attributes of LIST. Literals pass byte for byte both ways.
// It notes every client command that uses a hidden capability (a
// non-synchronizing literal without LITERAL+, a literal8 without BINARY,
// MOVE, UNSELECT, NAMESPACE, RETURN (SPECIAL-USE), CREATE ... USE):
// a client that ignores what the server announces shows up there.
//
// An APPEND whose literal holds one of the cut marks (each once) is let
// through; the server's answer is then dropped and both connections reset:
// the server stored the message, the client never hears so.
type capsProxy struct {
	upstream string
	hide     map[string]bool
	ln       net.Listener

	mu       sync.Mutex
	cutMarks []string // marks still to cut at
	misuse   []string
	cuts     int // marked APPENDs sent, whose answer is dropped
	capsCut  int // capabilities removed from the server's lists
	codesCut int // APPENDUID/COPYUID codes removed
	attrsCut int // special-use attributes removed from LIST
	lit8     int // client literal8s ("~{n}")
}

func newCapsProxy(t *testing.T, upstream string, hide []string, cutMarks ...string) *capsProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &capsProxy{upstream: upstream, hide: map[string]bool{}, ln: ln, cutMarks: cutMarks}
	for _, c := range hide {
		p.hide[strings.ToUpper(c)] = true
	}
	t.Cleanup(func() { ln.Close() })
	go acceptLoop(ln, p.handle)
	return p
}

func (p *capsProxy) addr() string { return p.ln.Addr().String() }

// report says what the proxy saw, for a test's log and checks.
func (p *capsProxy) report() (misuse []string, cuts, capsCut, codesCut, attrsCut, lit8 int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.misuse...), p.cuts, p.capsCut, p.codesCut, p.attrsCut, p.lit8
}

// A proxied connection: the tag whose answer is to be dropped is handed
// from the client's side to the server's.
type capsConn struct {
	p     *capsProxy
	reset func()
	mu    sync.Mutex
	cut   map[string]bool // tags of APPENDs to cut at when the server answers
}

func (p *capsProxy) handle(c net.Conn) {
	u, reset, ok := dialUpstream(c, p.upstream)
	if !ok {
		return
	}
	cc := &capsConn{p: p, reset: reset, cut: map[string]bool{}}
	go func() { cc.fromClient(bufio.NewReader(c), u); reset() }()
	cc.fromServer(bufio.NewReader(u), c)
	reset()
}

// literalRe matches a literal announced at a line's end: "~" for a
// literal8, "+" or "-" for a non-synchronizing one.
var literalRe = regexp.MustCompile(`(~?)\{(\d+)([+-]?)\}\r\n$`)

// fromClient forwards the client's commands, inspecting their lines (not
// their literals) for hidden capabilities in use.
func (cc *capsConn) fromClient(r *bufio.Reader, w io.Writer) {
	start := true // the next line starts a command
	var tag, verb string
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		if start {
			tag, verb = commandOf(line)
			cc.p.checkCommand(verb, line)
		}
		if _, err := io.WriteString(w, line); err != nil {
			return
		}
		m := literalRe.FindStringSubmatch(line)
		if m == nil {
			start = true
			continue
		}
		start = false
		cc.p.checkLiteral(m[1] == "~", m[3] != "")
		n, _ := strconv.Atoi(m[2])
		lit := make([]byte, n)
		if _, err := io.ReadFull(r, lit); err != nil {
			return
		}
		if verb == "APPEND" && cc.p.takeCut(lit) {
			cc.mu.Lock()
			cc.cut[tag] = true
			cc.mu.Unlock()
		}
		if _, err := w.Write(lit); err != nil {
			return
		}
	}
}

// commandOf returns a command line's tag and verb (after UID), upper case.
func commandOf(line string) (tag, verb string) {
	f := strings.Fields(line)
	if len(f) < 2 {
		return "", ""
	}
	verb = strings.ToUpper(f[1])
	if verb == "UID" && len(f) > 2 {
		verb = strings.ToUpper(f[2])
	}
	return f[0], verb
}

func (p *capsProxy) checkCommand(verb, line string) {
	up := strings.ToUpper(line)
	var bad string
	switch {
	case verb == "MOVE" && p.hide["MOVE"], verb == "UNSELECT" && p.hide["UNSELECT"],
		verb == "NAMESPACE" && p.hide["NAMESPACE"]:
		bad = verb
	case verb == "LIST" && strings.Contains(up, "SPECIAL-USE") && p.hide["SPECIAL-USE"]:
		bad = "LIST RETURN (SPECIAL-USE)"
	case verb == "CREATE" && strings.Contains(up, "USE (") && p.hide["CREATE-SPECIAL-USE"]:
		bad = "CREATE ... USE"
	case verb == "FETCH" && strings.Contains(up, "BINARY") && p.hide["BINARY"]:
		bad = "FETCH BINARY"
	}
	if bad != "" {
		p.mu.Lock()
		p.misuse = append(p.misuse, fmt.Sprintf("%s: %.60q", bad, line))
		p.mu.Unlock()
	}
}

func (p *capsProxy) checkLiteral(binary, nonSync bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if binary {
		p.lit8++
		if p.hide["BINARY"] {
			p.misuse = append(p.misuse, "literal8 without BINARY")
		}
	}
	if nonSync && p.hide["LITERAL+"] {
		p.misuse = append(p.misuse, "non-synchronizing literal without LITERAL+")
	}
}

// takeCut reports whether lit holds a cut mark not used yet, using it.
func (p *capsProxy) takeCut(lit []byte) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	for i, m := range p.cutMarks {
		if bytes.Contains(lit, []byte(m)) {
			p.cutMarks = append(p.cutMarks[:i:i], p.cutMarks[i+1:]...)
			p.cuts++
			return true
		}
	}
	return false
}

// fromServer forwards the server's responses with the hidden
// capabilities left out, literals untouched.
func (cc *capsConn) fromServer(r *bufio.Reader, w io.Writer) {
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		tag, _, _ := strings.Cut(line, " ")
		cc.mu.Lock()
		cut := cc.cut[tag]
		cc.mu.Unlock()
		if cut {
			cc.reset() // any other marked APPEND in flight here is cut too
			return
		}
		if _, err := io.WriteString(w, cc.p.rewrite(line)); err != nil {
			return
		}
		if m := literalRe.FindStringSubmatch(line); m != nil {
			n, _ := strconv.ParseInt(m[2], 10, 64)
			if _, err := io.CopyN(w, r, n); err != nil {
				return
			}
		}
	}
}

var (
	capCodeRe = regexp.MustCompile(`(?i)\[CAPABILITY ([^\]]*)\]`)
	uidCodeRe = regexp.MustCompile(`(?i)\[(APPENDUID|COPYUID) [^\]]*\] ?`)
	listRe    = regexp.MustCompile(`(?i)^\* (LIST|LSUB) \(([^)]*)\)`)
)

// specialUse are the RFC 6154 attributes.
var specialUse = map[string]bool{`\ALL`: true, `\ARCHIVE`: true, `\DRAFTS`: true, `\FLAGGED`: true,
	`\JUNK`: true, `\SENT`: true, `\TRASH`: true}

// rewrite returns a server line without what hide takes away.
func (p *capsProxy) rewrite(line string) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	if rest, ok := strings.CutPrefix(line, "* CAPABILITY "); ok {
		return "* CAPABILITY " + p.filterCaps(strings.TrimRight(rest, "\r\n")) + "\r\n"
	}
	line = capCodeRe.ReplaceAllStringFunc(line, func(code string) string {
		return "[CAPABILITY " + p.filterCaps(capCodeRe.FindStringSubmatch(code)[1]) + "]"
	})
	if p.hide["UIDPLUS"] {
		line = uidCodeRe.ReplaceAllStringFunc(line, func(string) string { p.codesCut++; return "" })
	}
	if p.hide["SPECIAL-USE"] {
		line = listRe.ReplaceAllStringFunc(line, func(s string) string {
			m := listRe.FindStringSubmatch(s)
			var kept []string
			for _, a := range strings.Fields(m[2]) {
				if specialUse[strings.ToUpper(a)] {
					p.attrsCut++
					continue
				}
				kept = append(kept, a)
			}
			return "* " + m[1] + " (" + strings.Join(kept, " ") + ")"
		})
	}
	return line
}

// filterCaps drops the hidden capabilities from a space-separated list;
// the caller holds p.mu.
func (p *capsProxy) filterCaps(list string) string {
	var kept []string
	for _, c := range strings.Fields(list) {
		if p.hide[strings.ToUpper(c)] {
			p.capsCut++
			continue
		}
		kept = append(kept, c)
	}
	return strings.Join(kept, " ")
}
