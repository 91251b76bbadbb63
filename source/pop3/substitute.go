package pop3

import (
	"bytes"
	"fmt"
	"io"
	"regexp"

	"github.com/mailferry/mailferry/source"
)

// A server that supports UTF8 (RFC 6856) may serve a client that has not
// turned UTF-8 mode on a message it makes up in place of one whose header
// fields hold raw 8-bit bytes (RFC 6856 section 3.2 lets it). Courier
// POP3 5.0 does so for any 8-bit byte in the header, UTF-8 or not; what it
// sends, byte for byte but for the boundary ("=_" PID "-" number, new in
// each session) and the attached original, is:
//
//	From: Mail Delivery Subsystem <postmaster>
//	Subject: Cannot display Unicode content
//	Mime-Version: 1.0
//	Content-Type: multipart/mixed; boundary="=_51-1796486905"
//	(three empty lines)
//	--=_51-1796486905
//	Content-Type: text/plain
//	(an empty line)
//	This E-mail message was determined to be Unicode-formatted
//	but your E-mail reader does not support Unicode E-mail.
//	...
//	--=_51-1796486905
//	Content-Type: message/global
//	(an empty line, the original, an empty line)
//	--=_51-1796486905--
//
// Its LIST size is the original's. Copied, it would stand in for the
// message: another message every run (the boundary changes), the original
// never. substitutePrefix matches its start up to the first line of the
// text, and nothing else: a header of exactly those four fields, no Date,
// no Message-ID, no Received, is not something a mail system delivers.
var substitutePrefix = regexp.MustCompile(`^From: Mail Delivery Subsystem <postmaster>\r?\n` +
	`Subject: Cannot display Unicode content\r?\n` +
	`Mime-Version: 1\.0\r?\n` +
	`Content-Type: multipart/mixed; boundary="([^"\r\n]{1,70})"\r?\n` +
	`(?:\r?\n)+` +
	`--([^\r\n]{1,70})\r?\n` +
	`Content-Type: text/plain\r?\n\r?\n` +
	`This E-mail message was determined to be Unicode-formatted\r?\n`)

// substitutePeek is how many bytes of a message are read ahead to look
// for a substitute: more than its prefix with the longest boundary.
const substitutePeek = 512

// isSubstitute reports whether head, the start of a message as served,
// is a server's substitute for a message with 8-bit header fields.
func isSubstitute(head []byte) bool {
	m := substitutePrefix.FindSubmatch(head)
	return m != nil && bytes.Equal(m[1], m[2])
}

// errSubstitute is the failure of a message the server replaced by a
// substitute: permanent for this session, the message is not copied and
// is tried again on the next run.
func (s *Source) errSubstitute(num int) error {
	why := "the server did not announce UTF8 in CAPA"
	switch {
	case s.utf8Refused != nil:
		why = fmt.Sprintf("the server refused the UTF8 command (%v)", s.utf8Refused)
	case s.hasCap("UTF8"):
		why = "this session did not turn it on"
	}
	return fmt.Errorf("pop3 retr %d: %w: the server sent a substitute (\"Cannot display Unicode content\", "+
		"the original attached) instead of the message, whose header holds 8-bit bytes: it serves such "+
		"a message as stored only in UTF-8 mode (RFC 6856), and %s; not copied, tried again on the next run",
		num, source.ErrUnreadable, why)
}

// guard returns what a caller reads of message num: r itself when the
// session is in UTF-8 mode (no server makes substitutes then), else r
// behind a check for a substitute.
func (s *Source) guard(num int, r io.Reader) io.Reader {
	if s.utf8On {
		return r
	}
	return &substituteGuard{r: r, fail: func() error { return s.errSubstitute(num) }}
}

// substituteGuard reads the first substitutePeek bytes of a message
// ahead; if they are a substitute's, every Read fails with fail's error
// and nothing of the message is returned. Otherwise it returns the
// message unchanged. The session stays in sync: what is left unread is
// drained by the caller of fn, or by Close.
type substituteGuard struct {
	r       io.Reader
	fail    func() error
	checked bool
	head    []byte // read ahead, not yet returned
	err     error  // returned once head is empty
}

func (g *substituteGuard) Read(p []byte) (int, error) {
	if !g.checked {
		g.checked = true
		g.peek()
	}
	if len(g.head) > 0 {
		n := copy(p, g.head)
		g.head = g.head[n:]
		return n, nil
	}
	if g.err != nil {
		return 0, g.err
	}
	return g.r.Read(p)
}

// peek reads the start of the message and judges it.
func (g *substituteGuard) peek() {
	buf := make([]byte, substitutePeek)
	n, err := io.ReadFull(g.r, buf)
	switch {
	case err == io.EOF || err == io.ErrUnexpectedEOF:
		// io.ReadFull's own values, unwrapped: the message ended (io.EOF
		// from r) before the peek was full, and all of it is in buf. A
		// cut stream is r's error, which wraps io.ErrUnexpectedEOF.
		g.err = io.EOF
	case err != nil:
		g.err = err // after what was read, as an unguarded read would
	}
	if isSubstitute(buf[:n]) {
		g.err = g.fail()
		return
	}
	g.head = buf[:n]
}
