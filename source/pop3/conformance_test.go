package pop3

import (
	"bytes"
	"maps"
	"slices"
	"testing"

	"github.com/mailferry/mailferry/source/pop3/pop3test"
	"github.com/mailferry/mailferry/source/sourcetest"
)

// TestConformance runs the conformance suite of every source kind against
// the in-process server, with realistic mail and the messages whose bytes
// a careless client changes, all with CRLF line endings as RFC 1939 has a
// server send them: the listing is stable, Open gives the bytes as stored
// with CRLF line endings, Ref.Size is their length, and the maildrop is
// the same after the session. (A message that a server sends with bare
// LF is kept as sent: see TestExactBytes and the package doc.)
func TestConformance(t *testing.T) {
	msgs := pop3test.SampleMessages(20)
	tricky := trickyMessages(t)
	for _, name := range slices.Sorted(maps.Keys(tricky)) {
		if m := tricky[name]; bytes.Equal(sourcetest.CRLF(m), m) { // not "bare LF", "mixed ending"
			msgs = append(msgs, m)
		}
	}
	srv := newServer(t, pop3test.Options{}, msgs)
	s := dial(t, plainOptions(srv))
	want := make([]sourcetest.Message, len(msgs))
	for i, m := range msgs {
		want[i] = sourcetest.Message{Body: m}
	}
	sourcetest.Check(t, s, want)
	sourcetest.StopEarly(t, s)
	if err := s.Close(); err != nil {
		t.Fatalf("Close() = %v, want nil", err)
	}
	if got := srv.Messages(testUser); !slices.EqualFunc(got, msgs, bytes.Equal) || srv.Count("DELE") != 0 {
		t.Errorf("after the session the maildrop holds %d messages (DELE sent %d times), want the %d as they were",
			len(got), srv.Count("DELE"), len(msgs))
	}
}
