package batch

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// IndexEnv is the environment variable a Kubernetes Indexed Job sets to
// each pod's index: the shard a pod runs when --shards gives only N.
const IndexEnv = "JOB_COMPLETION_INDEX"

// ShardOf is the shard, 0..n-1, of the account: the SHA-256 of its Key
// (the key that names its state file) modulo n. It depends only on the
// account itself, not on its place in the list, so adding, removing or
// reordering other accounts never moves it to another shard.
func ShardOf(a Account, n int) int {
	if n <= 1 {
		return 0
	}
	sum := sha256.Sum256([]byte(a.Key()))
	return int(binary.BigEndian.Uint64(sum[:8]) % uint64(n))
}

// Shard returns the accounts of shard i of n, in the list's order. The
// shards 0..n-1 are disjoint and together hold every account.
func Shard(accounts []Account, i, n int) []Account {
	var out []Account
	for _, a := range accounts {
		if ShardOf(a, n) == i {
			out = append(out, a)
		}
	}
	return out
}

// ParseShard reads a shard: spec "I/N" (I from 0), or, when spec is "/N",
// or spec is "" and shards is set, N = shards and I from index (the value of
// IndexEnv; "" is an error). Both spec and shards set is an error, as are
// N < 1 and I outside 0..N-1. ok is false when neither is set (no
// sharding).
func ParseShard(spec string, shards int, index string) (i, n int, ok bool, err error) {
	switch {
	case spec != "" && shards != 0:
		return 0, 0, false, errors.New("give --shard I/N or --shards N, not both")
	case spec != "":
		is, ns, found := strings.Cut(spec, "/")
		if !found {
			return 0, 0, false, fmt.Errorf("--shard %q: want I/N, for example 0/4", spec)
		}
		if n, err = strconv.Atoi(strings.TrimSpace(ns)); err != nil {
			return 0, 0, false, fmt.Errorf("--shard %q: N is not a number", spec)
		}
		if strings.TrimSpace(is) == "" { // "/N": I from index
			if n < 1 {
				return 0, 0, false, fmt.Errorf("shard count %d: want at least 1", n)
			}
			return ParseShard("", n, index)
		}
		if i, err = strconv.Atoi(strings.TrimSpace(is)); err != nil {
			return 0, 0, false, fmt.Errorf("--shard %q: I is not a number", spec)
		}
	case shards != 0:
		n = shards
		if strings.TrimSpace(index) == "" {
			return 0, 0, false, fmt.Errorf("%d shards: the environment variable %s (the shard index, from 0) is not set; "+
				"set it or give --shard I/N", shards, IndexEnv)
		}
		if i, err = strconv.Atoi(strings.TrimSpace(index)); err != nil {
			return 0, 0, false, fmt.Errorf("%s=%q is not a number", IndexEnv, index)
		}
	default:
		return 0, 1, false, nil
	}
	if n < 1 {
		return 0, 0, false, fmt.Errorf("shard count %d: want at least 1", n)
	}
	if i < 0 || i >= n {
		return 0, 0, false, fmt.Errorf("shard index %d: want 0 to %d for %d shards", i, n-1, n)
	}
	return i, n, true, nil
}
