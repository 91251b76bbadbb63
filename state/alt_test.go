package state_test

import (
	"context"
	"testing"

	"github.com/mailferry/mailferry/state"
)

// A pending record keeps its alternative identity across a reopen (crash
// recovery reads it); the committed record, Lookup and Keys do not carry
// it; a pending record without one reads as none.
func TestPendingAltIdentity(t *testing.T) {
	s, _ := openTemp(t)
	ctx := context.Background()
	alt := state.KeyRecord{Key: "<\xc3\xa9@x>", BodyHash: "b1", Folder: "INBOX", Size: 40, Source: "s", RefID: "1",
		At: at, AltKey: "<XX@x>", AltBodyHash: "b1"}
	plain := state.KeyRecord{Key: "sha256:aa", BodyHash: "b2", Folder: "INBOX", Size: 41, Source: "s", RefID: "2", At: at}
	for _, k := range []state.KeyRecord{alt, plain} {
		if err := s.Begin(ctx, k); err != nil {
			t.Fatalf("Begin(%q) = %v", k.Key, err)
		}
	}
	s = reopen(t, s)
	alt.Pending, plain.Pending = true, true
	checkPending(t, s, alt, plain) // in key order
	bare := alt
	bare.AltKey, bare.AltBodyHash = "", ""
	checkLookup(t, s, alt.Key, bare)
	if err := s.Keys(func(k state.KeyRecord) error {
		if k.AltKey != "" || k.AltBodyHash != "" {
			t.Errorf("Keys gave %+v, want no alternative identity", k)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := s.Commit(ctx, alt, "s", "1", state.RefRecord{}); err != nil {
		t.Fatal(err)
	}
	s = reopen(t, s)
	checkPending(t, s, plain)
	bare.Pending = false
	checkLookup(t, s, alt.Key, bare)
}
