package batch

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

func shardAccounts(from, to int) []Account {
	var out []Account
	for k := from; k < to; k++ {
		out = append(out, Account{SourceURL: "pop3s://pop.example.net", SourceUser: fmt.Sprintf("u%d", k),
			TargetUser: fmt.Sprintf("u%d@example.org", k)})
	}
	return out
}

// TestShard: shards 0..3 of 50 accounts hold each exactly once; adding
// accounts and reordering the list move none.
func TestShard(t *testing.T) {
	const n = 4
	accounts := shardAccounts(0, 50)
	where := map[string]int{}
	sizes := make([]int, n)
	for i := range n {
		for _, a := range Shard(accounts, i, n) {
			if prev, dup := where[a.Key()]; dup {
				t.Fatalf("%s in shards %d and %d", a.Name(), prev, i)
			}
			where[a.Key()] = i
			sizes[i]++
		}
	}
	if len(where) != len(accounts) {
		t.Fatalf("%d accounts in the shards, want %d", len(where), len(accounts))
	}
	for i, s := range sizes {
		if s == 0 {
			t.Errorf("shard %d is empty (sizes %v)", i, sizes)
		}
	}
	t.Logf("shard sizes %v", sizes)

	more := append(shardAccounts(0, 80), Account{SourceURL: "mbox:/x", TargetUser: "z"})
	rand.New(rand.NewPCG(1, 2)).Shuffle(len(more), func(a, b int) { more[a], more[b] = more[b], more[a] })
	seen := 0
	for i := range n {
		for _, a := range Shard(more, i, n) {
			if w, ok := where[a.Key()]; ok {
				seen++
				if w != i {
					t.Errorf("%s moved from shard %d to %d", a.Name(), w, i)
				}
			}
		}
	}
	if seen != len(accounts) {
		t.Errorf("%d of the first accounts found again, want %d", seen, len(accounts))
	}
	if got := Shard(accounts, 0, 1); len(got) != len(accounts) {
		t.Errorf("one shard: %d accounts, want all", len(got))
	}
}

func TestParseShard(t *testing.T) {
	for _, tc := range []struct {
		spec   string
		shards int
		index  string
		i, n   int
		ok     bool
		err    bool
	}{
		{"", 0, "3", 0, 1, false, false},
		{"2/4", 0, "", 2, 4, true, false},
		{" 0 / 1 ", 0, "", 0, 1, true, false},
		{"", 4, "3", 3, 4, true, false},
		{"", 4, "4", 0, 0, false, true},
		{"", 4, "", 0, 0, false, true},
		{"", 4, "x", 0, 0, false, true},
		{"", -1, "0", 0, 0, false, true},
		{"4/4", 0, "", 0, 0, false, true},
		{"-1/4", 0, "", 0, 0, false, true},
		{"0/0", 0, "", 0, 0, false, true},
		{"/4", 0, "1", 1, 4, true, false},
		{"/4", 0, "", 0, 0, false, true},
		{"/0", 0, "0", 0, 0, false, true},
		{"4", 0, "", 0, 0, false, true},
		{"1/4", 4, "1", 0, 0, false, true},
	} {
		i, n, ok, err := ParseShard(tc.spec, tc.shards, tc.index)
		if (err != nil) != tc.err || (!tc.err && (i != tc.i || n != tc.n || ok != tc.ok)) {
			t.Errorf("ParseShard(%q, %d, %q) = %d, %d, %v, %v", tc.spec, tc.shards, tc.index, i, n, ok, err)
		}
	}
}
