package testenv

import "testing"

// recorder is a testing.TB that records a skip or a failure.
type recorder struct {
	testing.TB
	skipped, failed bool
}

func (r *recorder) Helper()               {}
func (r *recorder) Skipf(string, ...any)  { r.skipped = true }
func (r *recorder) Fatalf(string, ...any) { r.failed = true }

func TestNeedServers(t *testing.T) {
	for _, tc := range []struct {
		servers, ci string
		skip, fail  bool
	}{
		{"", "", false, false},
		{"none", "", true, false},
		{"none", "true", false, true},
		{"", "true", false, false},
	} {
		t.Setenv(Env, tc.servers)
		t.Setenv("CI", tc.ci)
		r := &recorder{TB: t}
		NeedServers(r, "x")
		if r.skipped != tc.skip || r.failed != tc.fail {
			t.Errorf("%s=%q CI=%q: skipped %v failed %v, want %v %v", Env, tc.servers, tc.ci, r.skipped, r.failed, tc.skip, tc.fail)
		}
	}
}
