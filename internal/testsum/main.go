// Command testsum reads `go test -json` on its standard input and prints
// what `go test` would print without -v (a line per package, the output of
// every failed test), then the tests that were skipped and why, so that a
// green run cannot hide a test that did not run. It exits 1 when a test or
// package failed.
//
//	go test -json ./... | go run ./internal/testsum
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
)

// event is one line of `go test -json` (cmd/test2json).
type event struct {
	Action  string
	Package string
	Test    string
	Elapsed float64
	Output  string
}

// skip is a skipped test and the last line it logged.
type skip struct {
	pkg, test, reason string
}

// summary collects a run's events.
type summary struct {
	out     io.Writer
	output  map[string][]string // package + "\x00" + test -> output lines
	skipped []skip
	failed  bool
}

func main() {
	s := &summary{out: os.Stdout, output: map[string][]string{}}
	if err := s.read(os.Stdin); err != nil {
		fmt.Fprintln(os.Stderr, "testsum:", err)
		os.Exit(2)
	}
	s.printSkipped()
	if s.failed {
		os.Exit(1)
	}
}

func (s *summary) read(r io.Reader) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for sc.Scan() {
		var e event
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil || e.Action == "" {
			fmt.Fprintln(s.out, sc.Text()) // not an event: build errors and the like
			continue
		}
		s.add(e)
	}
	return sc.Err()
}

func (s *summary) add(e event) {
	k := e.Package + "\x00" + e.Test
	switch e.Action {
	case "output":
		s.output[k] = append(s.output[k], e.Output)
	case "skip":
		if e.Test != "" {
			s.skipped = append(s.skipped, skip{e.Package, e.Test, reason(s.output[k])})
		} else {
			fmt.Fprintf(s.out, "?   \t%s\t[no test files]\n", e.Package)
		}
		delete(s.output, k)
	case "pass":
		if e.Test == "" {
			fmt.Fprintf(s.out, "ok  \t%s\t%.3fs\n", e.Package, e.Elapsed)
		}
		delete(s.output, k)
	case "fail":
		s.failed = true
		for _, line := range s.output[k] {
			fmt.Fprint(s.out, line)
		}
		delete(s.output, k)
	}
}

// reason is the last line a skipped test logged before its "--- SKIP".
func reason(lines []string) string {
	for i := len(lines) - 1; i >= 0; i-- {
		l := strings.TrimSpace(lines[i])
		if l == "" || strings.HasPrefix(l, "--- SKIP") || strings.HasPrefix(l, "=== ") {
			continue
		}
		return l
	}
	return "(no reason given)"
}

func (s *summary) printSkipped() {
	if len(s.skipped) == 0 {
		fmt.Fprintln(s.out, "skipped: none")
		return
	}
	sort.Slice(s.skipped, func(i, j int) bool {
		a, b := s.skipped[i], s.skipped[j]
		return a.pkg+"\x00"+a.test < b.pkg+"\x00"+b.test
	})
	fmt.Fprintf(s.out, "skipped: %d tests\n", len(s.skipped))
	for _, sk := range s.skipped {
		fmt.Fprintf(s.out, "  %s %s: %s\n", strings.TrimPrefix(sk.pkg, "github.com/mailferry/mailferry/"), sk.test, sk.reason)
	}
}
