package identity

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

const base = "Received: from a by b; Tue, 3 Mar 2026 10:00:00 +0000\r\n" +
	"Message-ID: <abc@example.org>\r\n" +
	"Date: Mon, 2 Mar 2026 09:00:00 +0000\r\n" +
	"Subject: hi\r\n\r\nbody line 1\r\n.dot\r\n"

func TestKeyAndBodyHash(t *testing.T) {
	id := Of([]byte(base))
	if id.Key != "<abc@example.org>" || id.MessageID != "abc@example.org" {
		t.Fatalf("Key = %q, MessageID = %q, want <abc@example.org>", id.Key, id.MessageID)
	}
	if id.Size != int64(len(base)) {
		t.Fatalf("Size = %d, want %d", id.Size, len(base))
	}
	// A re-delivery that only gained a Received: header has the same key
	// and body hash.
	redelivered := Of([]byte("Received: from x by y; Wed, 4 Mar 2026 10:00:00 +0000\r\n" + base))
	if redelivered.Key != id.Key || redelivered.BodyHash != id.BodyHash {
		t.Fatalf("redelivery: got %q/%s, want %q/%s", redelivered.Key, redelivered.BodyHash, id.Key, id.BodyHash)
	}
	// A different message reusing the Message-ID differs by body.
	other := Of([]byte(strings.Replace(base, "body line 1", "another body", 1)))
	if other.Key != id.Key || other.BodyHash == id.BodyHash {
		t.Fatalf("reused ID: key %q body %s, want same key, different body", other.Key, other.BodyHash)
	}
}

func TestSplitWritesAndLineEndings(t *testing.T) {
	whole := Of([]byte(base))
	lf := Of([]byte(strings.ReplaceAll(base, "\r\n", "\n")))
	if lf.BodyHash != whole.BodyHash || lf.ContentHash != whole.ContentHash {
		t.Fatalf("LF copy hashes differ from CRLF: %s vs %s", lf.ContentHash, whole.ContentHash)
	}
	for split := 1; split < len(base); split++ {
		h := New()
		h.Write([]byte(base[:split]))
		h.Write([]byte(base[split:]))
		got := h.Sum()
		if got != whole {
			t.Fatalf("split at %d: got %+v, want %+v", split, got, whole)
		}
	}
}

func TestContentKey(t *testing.T) {
	cases := map[string]string{
		"missing":       "Subject: x\r\n\r\nbody\r\n",
		"no brackets":   "Message-ID: abc@example.org\r\n\r\nbody\r\n",
		"space inside":  "Message-ID: <abc @example.org>\r\n\r\nbody\r\n",
		"empty":         "Message-ID: <>\r\n\r\nbody\r\n",
		"unterminated":  "Message-ID: <abc@example.org\r\n\r\nbody\r\n",
		"header only":   "Subject: x",
		"empty message": "",
	}
	for name, msg := range cases {
		id := Of([]byte(msg))
		if !strings.HasPrefix(id.Key, "sha256:") || id.MessageID != "" || id.Key != id.ContentHash {
			t.Errorf("%s: Key = %q, MessageID = %q, want a sha256: content key", name, id.Key, id.MessageID)
		}
	}
	if Of([]byte(cases["missing"])).Key == Of([]byte(cases["no brackets"])).Key {
		t.Fatal("different messages got the same content key")
	}
}

func TestContentHashIgnoresClientHeaders(t *testing.T) {
	plain := "Subject: x\r\nFrom: a@b\r\n\r\nbody\r\n"
	local := "From a@b Tue Mar  3 10:00:00 2026\r\nX-Mozilla-Status: 0001\r\nX-Mozilla-Status2: 00000000\r\n" +
		"Subject: x\r\nStatus: RO\r\nX-Status: A\r\nFrom: a@b\r\nContent-Length: 6\r\nLines: 1\r\nX-UIDL: 123\r\n\r\nbody\r\n"
	if a, b := Of([]byte(plain)).ContentHash, Of([]byte(local)).ContentHash; a != b {
		t.Fatalf("content hash with client headers = %s, want %s", b, a)
	}
	changed := "Subject: y\r\nFrom: a@b\r\n\r\nbody\r\n"
	if Of([]byte(plain)).ContentHash == Of([]byte(changed)).ContentHash {
		t.Fatal("a changed Subject gave the same content hash")
	}
}

func TestFoldedMessageIDAndCase(t *testing.T) {
	msg := "message-id:\r\n <folded@example.org>\r\n\r\nx\r\n"
	if got := Of([]byte(msg)).Key; got != "<folded@example.org>" {
		t.Fatalf("Key = %q, want <folded@example.org>", got)
	}
}

func TestInternalDate(t *testing.T) {
	msg := "Received: from a; Tue, 3 Mar 2026 10:00:00 +0000\r\n" +
		"Received: from b; Wed, 4 Mar 2026 11:00:00 +0100\r\n" +
		"Received: garbage\r\nDate: Mon, 2 Mar 2026 09:00:00 +0000\r\n\r\n"
	want := time.Date(2026, 3, 4, 10, 0, 0, 0, time.UTC)
	if got := Of([]byte(msg)).Date; !got.Equal(want) {
		t.Fatalf("Date = %v, want %v (newest Received)", got, want)
	}
	onlyDate := "Date: Mon, 2 Mar 2026 09:00:00 +0000\r\n\r\n"
	if got := Of([]byte(onlyDate)).Date; !got.Equal(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)) {
		t.Fatalf("Date = %v, want the Date: field", got)
	}
	if got := Of([]byte("Subject: x\r\n\r\n")).Date; !got.IsZero() {
		t.Fatalf("Date = %v, want zero", got)
	}
}

func TestLongHeaderLineStreams(t *testing.T) {
	long := "X-Long: " + strings.Repeat("a", MaxHeader+10) + "\r\n"
	msg := "Message-ID: <l@x>\r\n" + long + "\r\nbody\r\n"
	whole := Of([]byte(msg))
	h := New()
	for b := []byte(msg); len(b) > 0; {
		n := min(len(b), 65536)
		h.Write(b[:n])
		b = b[n:]
	}
	if got := h.Sum(); got != whole || got.Key != "<l@x>" {
		t.Fatalf("chunked = %+v, want %+v with key <l@x>", got, whole)
	}
	if Of(bytes.Replace([]byte(msg), []byte("aaaa"), []byte("aaab"), 1)).ContentHash == whole.ContentHash {
		t.Fatal("a change inside a long header line was not hashed")
	}
}

func TestCROnlyHeaderLine(t *testing.T) {
	// A CRLF file converted twice has CR CR LF line ends; found by fuzzing.
	for _, msg := range []string{"\r", "Subject: x\r\n\r\r\nbody", "Message-ID: <a@b>\r\r\n\r\n"} {
		id := Of([]byte(msg))
		if id.Size != int64(len(msg)) {
			t.Errorf("Of(%q).Size = %d, want %d", msg, id.Size, len(msg))
		}
	}
}
