package identity

import (
	"crypto/sha256"
	"math/rand/v2"
	"testing"
)

// A copy as an IMAP server gives it back (NUL as 0x80, CR CR LF as CR LF,
// LF as CRLF) has its source message's identity; a lone CR still counts.
func TestServerFormSameIdentity(t *testing.T) {
	cases := []struct {
		name, src, server string
		same              bool
	}{
		{"NUL", "a\x00b\r\n", "a\x80b\r\n", true},
		{"CR CR LF", "line\r\r\nnext\r\n", "line\r\nnext\r\n", true},
		{"LF", "line\nnext\n", "line\r\nnext\r\n", true},
		{"CRs then NUL", "x\r\r\x00\r\n", "x\r\r\x80\r\n", true},
		{"lone CR kept", "a\rb\r\n", "ab\r\n", false},
		{"trailing CR kept", "a\r", "a", false},
		{"other byte", "a\x01b\r\n", "a\x80b\r\n", false},
	}
	for _, c := range cases {
		for _, keyed := range []bool{true, false} {
			h := ""
			if keyed {
				h = "From: a@example.org\r\nMessage-ID: <" + c.name + "@x>\r\n\r\n"
			} else {
				h = "From: a@example.org\r\n\r\n"
			}
			src, server := Of([]byte(h+c.src)), Of([]byte(h+c.server))
			got := src.BodyHash == server.BodyHash && src.ContentHash == server.ContentHash && src.Key == server.Key
			if got != c.same {
				t.Errorf("%s (keyed %v): same identity = %v, want %v", c.name, keyed, got, c.same)
			}
			// Written byte by byte, the source hashes the same.
			hs := New()
			for _, b := range []byte(h + c.src) {
				hs.Write([]byte{b})
			}
			if split := hs.Sum(); split.BodyHash != src.BodyHash || split.ContentHash != src.ContentHash {
				t.Errorf("%s (keyed %v): hashing byte by byte differs from one write", c.name, keyed)
			}
		}
	}
}

func TestServerSize(t *testing.T) {
	for msg, want := range map[string]int64{
		"a\r\nb\r\n":   6,
		"a\nb\n":       6,
		"a\r\r\nb":     4,
		"a\rb":         3,
		"a\x00b\r\r\r": 6,
		"":             0,
	} {
		if got := Of([]byte(msg)).ServerSize; got != want {
			t.Errorf("ServerSize(%q) = %d, want %d", msg, got, want)
		}
	}
}

// write (runs of lines in one piece) and writeSlow (byte class by byte
// class) hash every input alike, however it is split.
func TestCRLFHashFastMatchesSlow(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	alphabet := []byte("a\r\n\r\n\x00")
	for range 20000 {
		in := make([]byte, rng.IntN(40))
		for i := range in {
			in[i] = alphabet[rng.IntN(len(alphabet))]
		}
		slow := crlfHash{h: sha256.New()}
		slow.writeSlow(in)
		fast := crlfHash{h: sha256.New()}
		for rest := in; len(rest) > 0; {
			n := 1 + rng.IntN(len(rest))
			fast.write(rest[:n])
			rest = rest[n:]
		}
		if f, s := fast.sum(), slow.sum(); f != s || fast.n != slow.n {
			t.Fatalf("%q: split writes hash %s (%d bytes), writeSlow %s (%d bytes)", in, f[:8], fast.n, s[:8], slow.n)
		}
	}
}
