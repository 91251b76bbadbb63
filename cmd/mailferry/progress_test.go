package main

import (
	"testing"

	"github.com/mailferry/mailferry/migrate"
	"github.com/mailferry/mailferry/source"
)

// TestCountsEndWithRealBytes lists three messages whose sizes are
// estimated, then reads two of them (their real sizes differ from the
// estimates) and loses the third before reading: the totals end with the
// bytes really read, plus the estimate of the one never read.
func TestCountsEndWithRealBytes(t *testing.T) {
	var c counts
	refs := []source.Ref{{ID: "a", SizeEstimate: 1030}, {ID: "b", SizeEstimate: 2060}, {ID: "c", SizeEstimate: 515}}
	c.count(migrate.Event{Kind: migrate.EventListed, Count: 3, Bytes: 1030 + 2060 + 515})
	c.count(migrate.Event{Kind: migrate.EventCopied, Ref: refs[0], Bytes: 1012})
	c.count(migrate.Event{Kind: migrate.EventDuplicate, Ref: refs[1], Bytes: 2100})
	if c.doneMessages != 2 || c.doneBytes != 1012+2100 || c.totalBytes != 1012+2100+515 {
		t.Fatalf("after two read: done %d, bytes %d of %d; want 2, %d of %d", c.doneMessages, c.doneBytes, c.totalBytes, 1012+2100, 1012+2100+515)
	}
	c.count(migrate.Event{Kind: migrate.EventVanished, Ref: refs[2]})
	if c.doneMessages != 3 || c.doneBytes != c.totalBytes || c.totalBytes != 1012+2100+515 {
		t.Fatalf("at the end: done %d, bytes %d of %d; want 3 and %d of %d", c.doneMessages, c.doneBytes, c.totalBytes, 1012+2100+515, 1012+2100+515)
	}
}
