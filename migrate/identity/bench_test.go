package identity

import (
	"bytes"
	"fmt"
	"testing"
)

// BenchmarkOf hashes a 100 KB message of 70-character CRLF lines, the
// shape of most mail, to show the identity pass is far from the network's
// pace.
func BenchmarkOf(b *testing.B) {
	var msg bytes.Buffer
	msg.WriteString("From: a@example.org\r\nMessage-ID: <bench@x>\r\nSubject: bench\r\n\r\n")
	for i := 0; msg.Len() < 100<<10; i++ {
		fmt.Fprintf(&msg, "%068d\r\n", i)
	}
	b.SetBytes(int64(msg.Len()))
	for b.Loop() {
		Of(msg.Bytes())
	}
}
