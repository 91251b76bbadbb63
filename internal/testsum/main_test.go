package main

import (
	"strings"
	"testing"
)

const run = `{"Action":"run","Package":"p","Test":"TestA"}
{"Action":"output","Package":"p","Test":"TestA","Output":"=== RUN   TestA\n"}
{"Action":"output","Package":"p","Test":"TestA","Output":"    a_test.go:9: dovecottest: skipping, Dovecot not available\n"}
{"Action":"output","Package":"p","Test":"TestA","Output":"--- SKIP: TestA (0.00s)\n"}
{"Action":"skip","Package":"p","Test":"TestA"}
{"Action":"output","Package":"p","Test":"TestB","Output":"    b_test.go:3: got 1, want 2\n"}
{"Action":"fail","Package":"p","Test":"TestB"}
{"Action":"pass","Package":"q","Test":"TestC"}
{"Action":"pass","Package":"q","Elapsed":1.5}
{"Action":"fail","Package":"p","Elapsed":0.2}
`

func TestSummary(t *testing.T) {
	var out strings.Builder
	s := &summary{out: &out, output: map[string][]string{}}
	if err := s.read(strings.NewReader(run + "# p\nx.go:1: undefined: y\n")); err != nil {
		t.Fatal(err)
	}
	s.printSkipped()
	got := out.String()
	for _, want := range []string{
		"got 1, want 2",
		"ok  \tq\t1.500s",
		"skipped: 1 tests\n  p TestA: a_test.go:9: dovecottest: skipping, Dovecot not available",
		"x.go:1: undefined: y",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
	if !s.failed {
		t.Error("failed = false after a failed test")
	}
}

func TestNothingSkipped(t *testing.T) {
	var out strings.Builder
	s := &summary{out: &out, output: map[string][]string{}}
	s.read(strings.NewReader(`{"Action":"pass","Package":"q","Elapsed":1}` + "\n"))
	s.printSkipped()
	if !strings.Contains(out.String(), "skipped: none") || s.failed {
		t.Errorf("got %q, failed=%v", out.String(), s.failed)
	}
}
