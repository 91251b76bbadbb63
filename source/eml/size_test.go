package eml

import (
	"context"
	"io"
	"strings"
	"testing"

	"github.com/mailferry/mailferry/source"
	"github.com/mailferry/mailferry/source/sourcetest"
)

// TestRefSizes checks every Ref's SizeEstimate against what Open
// returns: the message's bytes (the file's, or the emlx byte count's)
// plus 1/32, which for lines of usual length is at least the real size
// and less than 1/32 above it. Size stays 0: nothing here is exact.
func TestRefSizes(t *testing.T) {
	lf := "From: a@example.org\nSubject: sizes\n\n" + strings.Repeat("a line of text as long as lines of mail usually are, or so\n", 40)
	crlf := strings.ReplaceAll(lf, "\n", "\r\n")
	root := sourcetest.Build(t, []sourcetest.File{
		{Path: "lf.eml", Body: lf},
		{Path: "crlf.eml", Body: crlf},
		{Path: "A.mbox/Messages/1.emlx", Body: emlx(lf, emlxRead, intDate(received))},
		{Path: "bad.emlx", Body: "12\nshort"}, // malformed: no estimate, Open fails
	})
	src := newSource(t, Options{Path: root})
	est := map[string]int64{"lf.eml": int64(len(lf) + len(lf)/32), "crlf.eml": int64(len(crlf) + len(crlf)/32),
		"A.mbox/Messages/1.emlx": int64(len(lf) + len(lf)/32), "bad.emlx": 0}
	n := 0
	err := src.List(context.Background(), func(ref source.Ref) error {
		n++
		if ref.Size != 0 || ref.SizeEstimate != est[ref.ID] {
			t.Errorf("%s: Size %d, SizeEstimate %d, want 0, %d", ref.ID, ref.Size, ref.SizeEstimate, est[ref.ID])
		}
		if ref.SizeEstimate == 0 {
			return nil
		}
		rc, err := src.Open(context.Background(), ref)
		if err != nil {
			t.Fatal(err)
		}
		defer rc.Close()
		b, err := io.ReadAll(rc)
		if err != nil {
			t.Fatal(err)
		}
		if got := int64(len(b)); ref.SizeEstimate < got || ref.SizeEstimate > got*33/32+1 {
			t.Errorf("%s: SizeEstimate %d, Open gave %d bytes: want an estimate within 1/32 above", ref.ID, ref.SizeEstimate, got)
		}
		return nil
	})
	if err != nil || n != len(est) {
		t.Fatalf("List() = %v after %d messages, want %d", err, n, len(est))
	}
}
