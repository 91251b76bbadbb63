package identity

import (
	"regexp"
	"strings"
	"testing"
	"time"
)

var contentHashRE = regexp.MustCompile(`^sha256:[0-9a-f]{64}$`)
var hexHashRE = regexp.MustCompile(`^[0-9a-f]{64}$`)

// FuzzIdentity checks Of on any input: it must not panic, it must agree
// with a Hasher fed the same bytes in pieces, the key must be a bracketed
// Message-ID or the content hash, Size must be the input length, and
// turning bare LF into CRLF must not change the hashes.
func FuzzIdentity(f *testing.F) {
	for _, s := range []string{
		"",
		base,
		strings.ReplaceAll(base, "\r\n", "\n"),
		"Subject: no separator\r\nMessage-ID: <a@b>\r\n",
		"Message-ID: <a@b>",
		"Message-ID:\r\n <folded@example.org>\r\n\r\nbody\r\n",
		"Message-ID: <first@x>\r\nMessage-ID: <second@x>\r\n\r\nb\r\n",
		"Message-ID: <nul\x00id@x>\r\nSubject: \x00\r\n\r\n\x00body\x00\r\n",
		"Subject: x\rMessage-ID: <cr@only>\r\rbody\r",
		"Subject: caf\xe9 \xff\xfe\r\nMessage-ID: <\xe9t\xe9@x>\r\n\r\n\x80\x81\n",
		"From a@b Mon Mar  2 09:00:00 2026\nX-Mozilla-Status: 0001\nStatus: RO\nContent-Length: 2\nLines: 1\n\nhi\n",
		"Message-ID: abc@example.org\r\n\r\nbody",
		"Message-ID: <abc @x>\r\n\r\n",
		"Received: a; Tue, 3 Mar 2026 10:00:00 +0000\nReceived: b; Wed, 4 Mar 2026 10:00:00 +0000\nDate: x\n\n",
		"\n\n\n",
		"\r\n",
		" leading continuation\r\nSubject: x\r\n\r\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		id, ok := of(t, in)
		if !ok {
			return
		}
		if got := split(in); !sameID(got, id) {
			t.Fatalf("Hasher fed in pieces = %+v, Of = %+v", got, id)
		}
		if id.Size != int64(len(in)) {
			t.Fatalf("Size = %d, want %d", id.Size, len(in))
		}
		if !contentHashRE.MatchString(id.ContentHash) {
			t.Fatalf("ContentHash = %q, want sha256: and 64 hex", id.ContentHash)
		}
		if !hexHashRE.MatchString(id.BodyHash) {
			t.Fatalf("BodyHash = %q, want 64 hex", id.BodyHash)
		}
		switch {
		case id.MessageID == "":
			if id.Key != id.ContentHash {
				t.Fatalf("no Message-ID: Key = %q, want ContentHash %q", id.Key, id.ContentHash)
			}
		default:
			if id.Key != "<"+id.MessageID+">" {
				t.Fatalf("Key = %q, want <%s>", id.Key, id.MessageID)
			}
			if strings.ContainsAny(id.MessageID, " \t\r\n<>\x00\x01\x7f") {
				t.Fatalf("MessageID %q has white space, a control character or a bracket", id.MessageID)
			}
		}
		norm := crlf(in)
		nid, ok := of(t, norm)
		if !ok {
			return
		}
		if nid.BodyHash != id.BodyHash || nid.ContentHash != id.ContentHash {
			t.Fatalf("CRLF copy %q: BodyHash %s ContentHash %s, original %s %s",
				norm, nid.BodyHash, nid.ContentHash, id.BodyHash, id.ContentHash)
		}
	})
}

// of returns Of(in); a panic fails the test.
func of(t *testing.T, in []byte) (id ID, ok bool) {
	defer func() {
		if r := recover(); r != nil {
			t.Fatalf("Of(%q) panicked: %v", in, r)
		}
	}()
	return Of(in), true
}

// split feeds in to a Hasher in pieces whose sizes come from the bytes of
// in, so a failing input always splits the same way.
func split(in []byte) ID {
	h := New()
	rest := in
	for i := 0; len(rest) > 0; i++ {
		n := 1
		if len(in) > 0 {
			n = int(in[(i*7)%len(in)])%17 + i%3
		}
		n = min(n, len(rest))
		h.Write(rest[:n]) // n may be 0: an empty write must be harmless
		rest = rest[n:]
	}
	return h.Sum()
}

// sameID compares IDs, dates as instants: each parse of a numeric zone
// makes its own Location.
func sameID(a, b ID) bool {
	return a.Date.Equal(b.Date) && a.Date.Format(time.RFC3339Nano) == b.Date.Format(time.RFC3339Nano) &&
		a.Key == b.Key && a.MessageID == b.MessageID && a.BodyHash == b.BodyHash &&
		a.ContentHash == b.ContentHash && a.Size == b.Size
}

// crlf turns every LF not preceded by CR into CRLF.
func crlf(in []byte) []byte {
	out := make([]byte, 0, len(in)+len(in)/8)
	for i, c := range in {
		if c == '\n' && (i == 0 || in[i-1] != '\r') {
			out = append(out, '\r')
		}
		out = append(out, c)
	}
	return out
}
