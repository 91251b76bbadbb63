package pop3

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/mailferry/mailferry/source"
)

// stuff returns msg as a server sends it in a multi-line reply (RFC 1939
// section 3), the way pop3test does: a "." before every line that starts
// with one, "\r\n" if msg is not empty and does not end with "\n", then
// the terminating line.
func stuff(msg []byte) []byte {
	var b bytes.Buffer
	for rest := msg; len(rest) > 0; {
		line := rest
		if i := bytes.IndexByte(rest, '\n'); i >= 0 {
			line = rest[:i+1]
		}
		if line[0] == '.' {
			b.WriteByte('.')
		}
		b.Write(line)
		rest = rest[len(line):]
	}
	if len(msg) > 0 && msg[len(msg)-1] != '\n' {
		b.WriteString("\r\n")
	}
	b.WriteString(".\r\n")
	return b.Bytes()
}

// readDot reads a reply from wire through a dotReader on a bufio.Reader of
// bufLen bytes, in reads of up to chunk bytes, a byte at a time from the
// network when slow. It returns what was read, the error that ended it
// and the readers.
//
//lint:ignore ST1008 the error is part of what was read, compared by the caller
func readDot(wire []byte, bufLen, chunk int, slow bool) ([]byte, error, *dotReader, *bufio.Reader) {
	var src io.Reader = bytes.NewReader(wire)
	if slow {
		src = iotest.OneByteReader(src)
	}
	r := bufio.NewReaderSize(src, bufLen)
	d := newDotReader(r)
	var got []byte
	p := make([]byte, chunk)
	for {
		n, err := d.Read(p)
		got = append(got, p[:n]...)
		if err != nil {
			return got, err, d, r
		}
		if n == 0 {
			return got, errors.New("Read returned 0, nil"), d, r
		}
	}
}

// FuzzDotReader stuffs any message as a server does and reads it back:
// the reader must give the message exactly (plus the CRLF a server adds
// when the message lacks a final LF), stop right after the terminating
// line, and report a reply cut short anywhere as io.ErrUnexpectedEOF.
func FuzzDotReader(f *testing.F) {
	for _, s := range []string{
		"", ".", "..", ".\r\n", "..\r\n", ".\n", "\n", "\r\n", "\r",
		"a\r\nb\r\n", "a\nb", ".\r.\r\n.", "\r\n.\r\n", "\n.\n", ".\rx\r\n",
		"Subject: x\r\n\r\n.sig\r\n..\r\n...\r\nb\n.c", "\x00\xff\r\n.\x00\r\n",
		strings.Repeat("x", 40) + "\r\n." + strings.Repeat("y", 40),
	} {
		f.Add([]byte(s), uint16(0), uint8(0))
		f.Add([]byte(s), uint16(3), uint8(200))
	}
	const sentinel = "+OK next reply\r\n"
	f.Fuzz(func(t *testing.T, msg []byte, bufSel uint16, readSel uint8) {
		want := msg
		if len(msg) > 0 && msg[len(msg)-1] != '\n' {
			want = append(bytes.Clone(msg), "\r\n"...)
		}
		wire := stuff(msg)
		bufLen := 16 + int(bufSel)%4096 // bufio's minimum is 16
		chunk := 1 + int(readSel)%64
		slow := bufSel&0x8000 != 0
		if readSel >= 128 {
			chunk = 32 << 10
		}

		got, err, d, r := readDot(append(bytes.Clone(wire), sentinel...), bufLen, chunk, slow)
		if err != io.EOF {
			t.Fatalf("wire %q: read ended with %v, want io.EOF", wire, err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("wire %q: read %q, want %q", wire, got, want)
		}
		if n, err := d.Read(make([]byte, 1)); n != 0 || err != io.EOF {
			t.Fatalf("wire %q: Read after the end = %d, %v; want 0, io.EOF", wire, n, err)
		}
		rest, _ := io.ReadAll(r)
		if string(rest) != sentinel {
			t.Fatalf("wire %q: left %q after the reply, want %q", wire, rest, sentinel)
		}

		// Cut short: every strict prefix of the reply is incomplete.
		cut := len(wire) - 1
		if len(msg) > 0 {
			cut = int(msg[0]) * len(wire) / 256
		}
		got, err, _, _ = readDot(wire[:cut], bufLen, chunk, slow)
		if err != io.ErrUnexpectedEOF {
			t.Fatalf("wire cut to %q: read %q, %v; want io.ErrUnexpectedEOF", wire[:cut], got, err)
		}
		if !bytes.HasPrefix(want, got) {
			t.Fatalf("wire cut to %q: read %q, not a prefix of %q", wire[:cut], got, want)
		}
	})
}

// nopConn stands in for the transport of a Source that only reads from a
// buffer: breaking the session closes it, which does nothing.
type nopConn struct{ net.Conn }

func (nopConn) Close() error { return nil }

// FuzzStatus reads any bytes as a status line: no panic; "+OK" gives its
// text; "-ERR" gives a *ServerError with the code in brackets, temporary
// only for the codes that say so; anything else breaks the session.
func FuzzStatus(f *testing.F) {
	for _, s := range []string{
		"+OK\r\n", "+OK 2 messages\r\n", "+OK\n", "+OKAY\r\n", "+ok\r\n",
		"-ERR\r\n", "-ERR no such message\r\n", "-ERR [IN-USE] locked\r\n",
		"-ERR [in-use] locked\r\n", "-ERR [SYS/TEMP] busy\r\n", "-ERR [SYS/TEMP/DISK] x\r\n",
		"-ERR [SYS/PERM] gone\r\n", "-ERR [LOGIN-DELAY] 300\r\n", "-ERR [AUTH] bad\r\n",
		"-ERR [IN-USE locked\r\n", "-ERR []\r\n", "-ERR ][IN-USE]\r\n", "-ERR  [IN-USE] x\r\n",
		"-ERR[IN-USE]\r\n", "-ERR [IN-USE]", "", "\r\n", "* OK imap\r\n", "-ERR [\xff\x00]\r\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		s := &Source{raw: nopConn{}, r: bufio.NewReaderSize(bytes.NewReader(data), bufSize)}
		text, err := s.readStatus()

		line, _, complete := bytes.Cut(data, []byte("\n"))
		line = bytes.TrimSuffix(line, []byte("\r"))
		if !complete || len(line)+1 > bufSize {
			if err == nil {
				t.Fatalf("%q: no complete line, but readStatus = %q, nil", data, text)
			}
			if s.broken == nil {
				t.Fatalf("%q: no complete line, session not broken", data)
			}
			return
		}
		okRest, isOK := cutStatus(string(line), "+OK")
		errRest, isErr := cutStatus(string(line), "-ERR")
		var se *ServerError
		switch {
		case isOK:
			if err != nil || text != okRest {
				t.Fatalf("%q: readStatus = %q, %v; want %q, nil", line, text, err, okRest)
			}
		case isErr:
			if !errors.As(err, &se) {
				t.Fatalf("%q: readStatus error %v is not a *ServerError", line, err)
			}
			if se.Text != errRest {
				t.Fatalf("%q: Text = %q, want %q", line, se.Text, errRest)
			}
			wantCode := ""
			if rest, ok := strings.CutPrefix(errRest, "["); ok {
				if code, _, ok := strings.Cut(rest, "]"); ok {
					wantCode = strings.ToUpper(code)
				}
			}
			if se.Code != wantCode {
				t.Fatalf("%q: Code = %q, want %q", line, se.Code, wantCode)
			}
			var te *source.TemporaryError
			if temp := errors.As(err, &te); temp != se.Temporary() || temp != temporaryCode(se.Code) {
				t.Fatalf("%q: code %q: wrapped as temporary %v, Temporary() %v, want %v",
					line, se.Code, temp, se.Temporary(), temporaryCode(se.Code))
			}
			if s.broken != nil {
				t.Fatalf("%q: a -ERR broke the session: %v", line, s.broken)
			}
		default:
			if err == nil || errors.As(err, &se) {
				t.Fatalf("%q: readStatus = %q, %v; want an unexpected-reply error", line, text, err)
			}
			if s.broken == nil {
				t.Fatalf("%q: unexpected reply did not break the session", line)
			}
		}
	})
}

// temporaryCode says which RFC 2449/3206 response codes mean "try later".
// SYS/TEMP and its sub-codes (SYS/TEMP/DISK) count, a made-up
// "SYS/TEMPX" does not (RFC 3206 codes are "/"-separated).
func temporaryCode(code string) bool {
	return code == "IN-USE" || code == "LOGIN-DELAY" || code == "SYS/TEMP" || strings.HasPrefix(code, "SYS/TEMP/")
}
