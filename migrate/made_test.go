package migrate

import (
	"testing"

	"github.com/mailferry/mailferry/migrate/identity"
)

// A UID this run appended to holds only the message appended there: in a
// folder made anew, a restored message takes the UID an older record of
// another message names, and that other message must not count as held
// (it was reported a duplicate and never restored, 1 run in 100 of
// TestRecheckRestoresDeletedFolder).
func TestMadeCopyHoldsOnlyItsMessage(t *testing.T) {
	c := newIndexCache(nil, nil)
	a := identity.ID{Key: "<a@x>", BodyHash: "ha"}
	c.madeCopy("Old/Mail", 2, a)
	for _, tc := range []struct {
		name          string
		key, bodyHash string
		want          bool
	}{
		{"the message appended there", "<a@x>", "ha", true},
		{"a record without a body hash, same key", "<a@x>", "", true},
		{"another message's record naming that UID", "<b@x>", "hb", false},
		{"same Message-ID, another body", "<a@x>", "hz", false},
	} {
		got, err := c.holds(t.Context(), "Old/Mail", 2, tc.key, tc.bodyHash)
		if err != nil || got != tc.want {
			t.Errorf("%s: holds = %v, %v; want %v", tc.name, got, err, tc.want)
		}
	}
}
