package identity

import (
	"fmt"
	"runtime"
	"slices"
	"strings"
	"testing"
)

// parseHeaderQuadratic is ParseHeader as it was before it was made
// linear: the reference for what unfolding gives (an empty line being
// any number of CRs and an LF, as isBlank has it).
func parseHeaderQuadratic(raw string) Header {
	var hd Header
	for _, line := range strings.SplitAfter(raw, "\n") {
		if strings.TrimLeft(line, "\r") == "\n" || line == "" {
			break
		}
		text := strings.TrimRight(line, "\r\n")
		if text == "" {
			continue
		}
		if text[0] == ' ' || text[0] == '\t' {
			if len(hd) > 0 {
				last := &hd[len(hd)-1]
				last.Value = strings.TrimSpace(last.Value + " " + strings.TrimSpace(text))
			}
			continue
		}
		name, value, ok := strings.Cut(text, ":")
		name = strings.TrimRight(name, " \t")
		if !ok || name == "" || strings.ContainsAny(name, " \t") {
			continue
		}
		hd = append(hd, Field{Name: name, Value: strings.TrimSpace(value)})
	}
	return hd
}

func TestParseHeaderUnfolds(t *testing.T) {
	for _, raw := range []string{
		"Subject: a\r\n b\r\n\tc\r\nTo: x\r\n\r\n",
		"Subject:\r\n \r\n  \t\r\n b \r\n\r\n",
		"Subject: a\r\ngarbage line\r\n continues Subject\r\nTo: x\r\n",
		" orphan continuation\r\nSubject: s\r\n\r\n",
		"Subject: a\r\n\r\r\n b\r\n",
		"Subject: \xc2\r\n \x85x\r\n",
		"A: 1\nB:\n\n",
		"Message-ID:\r\n <folded@example.org>\r\n\r\nx\r\n",
	} {
		if got, want := ParseHeader([]byte(raw)), parseHeaderQuadratic(raw); !slices.Equal(got, want) {
			t.Errorf("ParseHeader(%q) = %q, want %q", raw, got, want)
		}
	}
}

// A field folded over thousands of lines (a 2 MB header block of bad
// input) must cost its size, not its size squared: before the fix, a 2 MB
// folded field took seconds and allocated gigabytes per message.
func TestParseHeaderLongFoldIsLinear(t *testing.T) {
	var b strings.Builder
	b.WriteString("X-Folded: start\r\n")
	for i := 0; b.Len() < 2<<20; i++ {
		fmt.Fprintf(&b, "\tcontinuation %06d of one very long folded field\r\n", i)
	}
	b.WriteString("Message-ID: <after@fold>\r\n\r\nbody\r\n")
	raw := []byte(b.String())
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	id := Of(raw)
	runtime.ReadMemStats(&after)
	if id.Key != "<after@fold>" {
		t.Fatalf("Key = %q, want <after@fold>", id.Key)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 64<<20 {
		t.Fatalf("Of allocated %d MiB for a %d KiB header, want under 64 MiB", alloc>>20, len(raw)>>10)
	}
}

// A Message-ID with a control character in it is not a usable key: a NUL
// would make the state refuse the message and stop the whole run. Such a
// message is keyed by its content.
func TestMessageIDWithControlCharacters(t *testing.T) {
	for _, v := range []string{"<nul\x00id@x>", "<soh\x01@x>", "<del\x7f@x>", "<esc\x1b[31m@x>"} {
		if got := ParseMessageID(v); got != "" {
			t.Errorf("ParseMessageID(%q) = %q, want \"\"", v, got)
		}
		id := Of([]byte("Message-ID: " + v + "\r\n\r\nbody\r\n"))
		if id.Key != id.ContentHash || id.MessageID != "" {
			t.Errorf("Of(Message-ID %q): Key %q, MessageID %q, want the content hash", v, id.Key, id.MessageID)
		}
	}
	if got := ParseMessageID("<caf\xc3\xa9@x>"); got != "caf\xc3\xa9@x" {
		t.Errorf("ParseMessageID(UTF-8) = %q, want it kept (RFC 6532)", got)
	}
}
