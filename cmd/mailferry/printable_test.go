package main

import (
	"strings"
	"testing"
	"time"

	"github.com/mailferry/mailferry/migrate"
)

func TestPrintable(t *testing.T) {
	for in, want := range map[string]string{
		"plain/Reçus":            "plain/Reçus",
		"cr\rlf\nx/1.eml":        `cr\rlf\nx/1.eml`,
		"nul\x00esc\x1b[2J":      `nul\x00esc\x1b[2J`,
		"caf\xe9 \u009b":         `caf\xe9 \u009b`,
		`quote"d back\slash {5}`: `quote"d back\slash {5}`,
	} {
		if got := printable(in); got != want {
			t.Errorf("printable(%q) = %q, want %q", in, got, want)
		}
	}
}

// A name from an archive cannot add a line to the summary.
func TestSummaryEscapesNames(t *testing.T) {
	var b strings.Builder
	printSummary(&b, &migrate.Report{Start: time.Now(), End: time.Now(), Failures: []migrate.Failure{{
		Source: "eml:/a", RefID: "x\nfailed:          0\n/1.eml", Folder: "em/x%0A", Reason: "eml: open /a/x\n/1.eml: bad"}}}, endpoints{})
	out := b.String()
	if strings.Contains(out, "\nfailed:          0") || !strings.Contains(out, `  eml:/a message x\nfailed:          0\n/1.eml -> em/x%0A: eml: open /a/x\n/1.eml: bad`+"\n") {
		t.Errorf("summary:\n%s", out)
	}
}
