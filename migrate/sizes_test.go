package migrate_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/mailferry/mailferry/source"
)

// lyingSizes announces wrong sizes for the messages of a source: too
// small, far too large, an estimate, none.
type lyingSizes struct{ source.Source }

func (l lyingSizes) List(ctx context.Context, fn func(source.Ref) error) error {
	i := 0
	return l.Source.List(ctx, func(r source.Ref) error {
		switch i % 4 {
		case 0:
			r.Size = 1
		case 1:
			r.Size = r.Size * 50
		case 2:
			r.Size, r.SizeEstimate = 0, r.Size/2
		case 3:
			r.Size = 0
		}
		i++
		return fn(r)
	})
}

// TestWrongSizesStillExact migrates messages whose announced sizes are
// wrong every way, through a memory budget of a few messages and a small
// spool threshold: every message arrives once, byte for byte, and the
// run does not stall waiting for memory.
func TestWrongSizesStillExact(t *testing.T) {
	var msgs [][]byte
	for i := range 40 {
		msgs = append(msgs, msg(fmt.Sprintf("size-%d@x", i), strings.Repeat(fmt.Sprintf("line %d of a message\r\n", i), 1+i*i*10)))
	}
	r := newRig(t, msgs)
	r.source = func(s source.Source) source.Source { return lyingSizes{s} }
	r.opts.MemoryBytes = 64 << 10
	r.opts.SpoolThreshold = 32 << 10
	rep := r.run()
	if rep.Copied != len(msgs) || rep.Failed() != 0 {
		t.Fatalf("copied %d, failed %d, want %d and 0", rep.Copied, rep.Failed(), len(msgs))
	}
	wantOnce(t, r.inbox(), msgs)
}
