package mbox

import (
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mailferry/mailferry/source/sourcetest"
)

// The cases below follow the kinds of input in the table Thunderbird's
// own mbox reader is tested with (its mailnews gtest MboxTestData.cpp:
// valid files, odd ones, ambiguous ones), with text of our own, and
// check that the boundaries are Thunderbird's.

// rdQuote quotes a message the way an mboxrd writer does: every line
// matching "^>*From " gets one more '>'.
func rdQuote(msg string) string {
	return regexp.MustCompile(`(?m)^(>*From )`).ReplaceAllString(msg, ">$1")
}

// tbWrite joins messages the way Thunderbird 122 to 131 wrote its mbox
// files: a bare "From " line, the message quoted as mboxrd, a blank
// line. Each message must end with CRLF.
func tbWrite(msgs ...string) string {
	var b strings.Builder
	for _, m := range msgs {
		b.WriteString("From \r\n" + rdQuote(m) + "\r\n")
	}
	return b.String()
}

// checkFile reads file as a single mbox and wants exactly the messages
// want (bytes as Open must give them).
func checkFile(t *testing.T, file string, opts Options, want ...string) {
	t.Helper()
	var w []sourcetest.Message
	for _, m := range want {
		w = append(w, sourcetest.Message{Body: []byte(m)})
	}
	sourcetest.Check(t, fileSource(t, file, opts), w)
}

// TestThunderbirdWritten reads files as Thunderbird writes them, each
// message back as it was given to the writer.
func TestThunderbirdWritten(t *testing.T) {
	hdr := func(id string) string {
		return "Message-ID: <" + id + "@tb.invalid>\r\nFrom: Ann <ann@tb.invalid>\r\nTo: Ben <ben@tb.invalid>\r\n\r\n"
	}
	tests := []struct {
		name string
		msgs []string
	}{
		{"two plain messages", []string{hdr("one") + "First body.\r\n", hdr("two") + "Second body.\r\n"}},
		{"blank lines ending a body", []string{hdr("tail") + "Text.\r\n\r\n\r\n\r\n"}},
		{"blank lines inside a body", []string{hdr("inner") + "A\r\n\r\n\r\n\r\nB\r\n"}},
		{"several, each ending in blank lines", []string{
			hdr("t1") + "one\r\n\r\n\r\n", hdr("t2") + "two\r\n\r\n", hdr("t3") + "three\r\n"}},
		{"From lines to quote, and quoted ones", []string{
			hdr("quote") + "From the start.\r\n>From once quoted\r\n>>From twice\r\n>not a From line\r\nmid-line From here\r\n"}},
		{"a folded field first in the next message", []string{
			hdr("before") + "short\r\n",
			"Received: from relay.tb.invalid by mx.tb.invalid;\r\n\tSat, 14 Oct 2023 09:30:00 +0200\r\n" + hdr("folded") + "body\r\n"}},
		{"a body that looks like an mbox", []string{
			hdr("nested") + "Look:\r\n\r\nFrom \r\nTo: nobody@tb.invalid\r\n\r\nNot a message of its own.\r\n\r\n"}},
		{"near misses", []string{hdr("near") +
			"F\r\nFr\r\nFro\r\nFrom\r\nFrom,From\r\ntext >>>>From text\r\n From\r\n>From\r\n>>From\r\n> From \r\n \r\n"}},
		{"From lines quoted with a space (older Thunderbird)", []string{
			hdr("space") + " From \r\n From - Sat Oct 14 09:30:00 2023\r\nend\r\n", hdr("after") + "x\r\n"}},
		{"folded fields", []string{"X-Long: one\r\n  two\r\n\tthree\r\n" + hdr("fold") + "x\r\n"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkFile(t, tbWrite(tt.msgs...), Options{}, tt.msgs...)
		})
	}
}

// TestThunderbirdOdd reads damaged or unusual files as Thunderbird does.
func TestThunderbirdOdd(t *testing.T) {
	const h = "To: ben@tb.invalid\r\nFrom: ann@tb.invalid\r\nSubject: odd\r\n"
	tests := []struct {
		name, file string
		want       []string
	}{
		{"empty file", "", nil},
		{"header cut off", "From \r\nTo: ben@tb.invalid\r\nFrom: ann@tb.in", []string{"To: ben@tb.invalid\r\nFrom: ann@tb.in"}},
		{"header only", "From \r\n" + h, []string{h}},
		// Here Thunderbird keeps the blank line; every writer (Thunderbird
		// too) puts one after each message, so it is the separator's:
		// the message is given as it was written.
		{"header and blank line", "From \r\n" + h + "\r\n", []string{h}},
		{"header and blank line, then a message", "From \r\n" + h + "\r\nFrom \r\n" + h + "\r\nbody\r\n",
			[]string{h, h + "\r\nbody\r\n"}},
		{"header, blank line, empty body", "From \r\n" + h + "\r\n\r\nFrom \r\n" + h + "\r\nbody\r\n",
			[]string{h + "\r\n", h + "\r\nbody\r\n"}},
		{"no line end at the end", "From \r\n" + h + "\r\nlast words", []string{h + "\r\nlast words"}},
		{"ends in quote marks", "From \r\n" + h + "\r\nline\r\n>>>>>>>>", []string{h + "\r\nline\r\n>>>>>>>>"}},
		{"ends in a quoted From", "From \r\n" + h + "\r\nline\r\n>>>From ", []string{h + "\r\nline\r\n>>From "}},
		{"second message cut off in a folded field",
			"From \r\n" + h + "\r\nhello\r\n\r\nFrom \r\nX-Cut: part one\r\n  part two\r\n\tpart three\r\n",
			[]string{h + "\r\nhello\r\n", "X-Cut: part one\r\n  part two\r\n\tpart three\r\n"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { checkFile(t, tt.file, Options{}, tt.want...) })
	}
	// A lone "From " is a message of no bytes for Thunderbird: nothing to
	// copy, so it is left out with a warning.
	var warned []string
	s := fileSource(t, "From ", Options{Warn: func(_ string, err error) { warned = append(warned, err.Error()) }})
	if refs := listAll(t, s); len(refs) != 0 || len(warned) != 1 || !strings.Contains(warned[0], "empty message") {
		t.Errorf(`"From " alone: %d refs, warnings %q; want none and one warning`, len(refs), warned)
	}
}

// TestThunderbirdAmbiguous reads files with unquoted "From " lines and
// separators without a blank line before them: a "From " line that is
// not after a blank line, or is not the full "From sender date" form,
// separates messages only when a header follows it.
func TestThunderbirdAmbiguous(t *testing.T) {
	const a = "To: ben@tb.invalid\r\nFrom: ann@tb.invalid\r\nSubject: first\r\n\r\n"
	const b = "To: ann@tb.invalid\r\nFrom: ben@tb.invalid\r\nSubject: second\r\n\r\n"
	tests := []struct {
		name, file string
		want       []string
	}{
		{"separator without a blank line before",
			"From \r\n" + a + "A new message follows.\r\nFrom \r\n" + b + "It did.\r\n\r\n",
			[]string{a + "A new message follows.\r\n", b + "It did.\r\n"}},
		{"unquoted From in a body, text after it",
			"From \r\n" + a + "Body\r\nFrom \r\nthis\r\nis\r\ntext.\r\n\r\n",
			[]string{a + "Body\r\nFrom \r\nthis\r\nis\r\ntext.\r\n"}},
		{"unquoted From in a body, one field-like line after it",
			"From \r\n" + a + "Looks like a new message\r\nFrom there\r\nNote: it is not one.\r\nLast line.\r\n\r\n",
			[]string{a + "Looks like a new message\r\nFrom there\r\nNote: it is not one.\r\nLast line.\r\n"}},
		{"unquoted From in a body, a long field-like line after it",
			"From \r\n" + a + "Body\r\nFrom \r\nNote: " + strings.Repeat("long ", 400) + "\r\nand text.\r\n\r\n",
			[]string{a + "Body\r\nFrom \r\nNote: " + strings.Repeat("long ", 400) + "\r\nand text.\r\n"}},
		{"unquoted From after a blank line (older Thunderbird)",
			"From \r\n" + a + "Older versions did not quote:\r\n\r\nFrom \r\nso this stays here.\r\n\r\nFrom \r\n" + b + "two\r\n\r\n",
			[]string{a + "Older versions did not quote:\r\n\r\nFrom \r\nso this stays here.\r\n", b + "two\r\n"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { checkFile(t, tt.file, Options{}, tt.want...) })
	}
}

// TestThunderbirdMixed reads a file that Thunderbird wrote with "From -
// date" lines and, after an update to 122, appended to with bare "From "
// lines: three messages, not one.
func TestThunderbirdMixed(t *testing.T) {
	m := func(n string) string {
		return "X-Mozilla-Status: 0001\r\nX-Mozilla-Status2: 00000000\r\nMessage-ID: <" + n + "@tb.invalid>\r\nSubject: " + n + "\r\n\r\nbody " + n + "\r\n"
	}
	file := "From - Mon Jan 15 10:00:00 2024\r\n" + m("old") + "\r\n" + tbWrite(m("new1"), m("new2"))
	refs := listAll(t, fileSource(t, file, Options{Mozilla: true}))
	if len(refs) != 3 {
		t.Fatalf("List gave %d messages, want 3", len(refs))
	}
	for i, r := range refs {
		if !equalStrings(r.Flags, `\Seen`) {
			t.Errorf("message %d: flags %q, want [\\Seen] from X-Mozilla-Status", i, r.Flags)
		}
	}
	// The date of a "From - date" line when the header has none; a bare
	// line has none to give.
	if want := time.Date(2024, 1, 15, 10, 0, 0, 0, time.UTC); !refs[0].Date.Equal(want) || !refs[1].Date.IsZero() {
		t.Errorf("Dates %v, %v: want %v and none", refs[0].Date, refs[1].Date, want)
	}
	checkFile(t, file, Options{}, m("old"), m("new1"), m("new2"))
	// The same with LF line ends, as older versions wrote on Linux.
	lf := strings.ReplaceAll(file, "\r\n", "\n")
	checkFile(t, lf, Options{}, m("old"), m("new1"), m("new2"))
}

// TestOtherWriters reads what git, mutt, procmail and Python write.
func TestOtherWriters(t *testing.T) {
	patch := func(n, sha string) (sep, msg string) {
		return "From " + sha + " Mon Sep 17 00:00:00 2001\n",
			"From: Dev <dev@git.invalid>\nDate: Tue, 2 Jan 2024 10:0" + n + ":00 +0100\nSubject: [PATCH " + n + "/3] change " + n + "\n\n" +
				"---\n file.c | 2 +-\n\ndiff --git a/file.c b/file.c\n--- a/file.c\n+++ b/file.c\n@@ -1 +1 @@\n-old\n+new\n-- \n2.43.0\n"
	}
	var gitNoBlank, gitBlank string
	var patches []string
	for i, sha := range []string{strings.Repeat("a1", 20), strings.Repeat("b2", 20), strings.Repeat("c3", 20)} {
		sep, msg := patch(string(rune('1'+i)), sha)
		gitNoBlank += sep + msg
		gitBlank += sep + msg + "\n"
		patches = append(patches, string(sourcetest.CRLF([]byte(msg))))
	}
	mail := func(n string) string { return "From: a@x.invalid\nSubject: " + n + "\n\nbody " + n + "\n" }
	c := func(s string) string { return string(sourcetest.CRLF([]byte(s))) }
	tests := []struct {
		name, file string
		want       []string
	}{
		{"git format-patch, mailsplit style: no blank line before From", gitNoBlank, patches},
		{"git format-patch with blank lines", gitBlank, patches},
		{"white space before the first From line",
			" \t\n\n  \r\n\f\n" + from1 + mail("ws") + "\n" + from2 + mail("ws2"),
			[]string{c(mail("ws")), c(mail("ws2"))}},
		{"white space, then a bare separator and a header of one field",
			"  \n\t\nFrom \nSubject: one field\n\nbody\n",
			[]string{"Subject: one field\r\n\r\nbody\r\n"}},
		{"text after the date (first line and later)",
			"From bob@x.invalid Fri Jul  8 12:08:34 2011 +0200 (CEST)\n" + mail("t1") + "\nFrom carol Sat Jul  9 10:00:00 2011 via relay\n" + mail("t2"),
			[]string{c(mail("t1")), c(mail("t2"))}},
		{"a date without a sender",
			"From Fri Jul  8 12:08:34 2011\n" + mail("d1") + "\nFrom Sat Jul  9 10:00:00 2011\n" + mail("d2"),
			[]string{c(mail("d1")), c(mail("d2"))}},
		{"full From line in a body, not after a blank line, text after it",
			from1 + mail("unq") + "quoted below:\nFrom dave Fri Jul  8 12:08:34 2011\nhello there\n\n" + from2 + mail("next"),
			[]string{c(mail("unq") + "quoted below:\nFrom dave Fri Jul  8 12:08:34 2011\nhello there\n"), c(mail("next"))}},
		{"From lines in a header are fields or junk, never separators",
			from1 + "From : old@x.invalid\nFrom bob Fri Jul  8 12:08:34 2011\nTo: x@x.invalid\nSubject: h\n\nbody\n",
			[]string{c("From : old@x.invalid\nFrom bob Fri Jul  8 12:08:34 2011\nTo: x@x.invalid\nSubject: h\n\nbody\n")}},
		{"an obsolete From field after a blank line",
			from1 + mail("obs") + "\nFrom : a@x.invalid\nTo: b@x.invalid\n",
			[]string{c(mail("obs") + "\nFrom : a@x.invalid\nTo: b@x.invalid\n")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { checkFile(t, tt.file, Options{}, tt.want...) })
	}
}

// TestContentLengthOverHeuristic: a Content-Length that fits is
// evidence enough to keep a body whole, even where a "From " line
// followed by field-like lines would otherwise separate messages; bare
// separators after such bodies are accepted.
func TestContentLengthOverHeuristic(t *testing.T) {
	body := "Forwarded:\nFrom \nTo: x@x.invalid\nSubject: inner\n\nnot a message of its own\n"
	msg := "Subject: outer\nContent-Length: " + strconv.Itoa(len(body)) + "\n\n" + body
	file := "From \n" + msg + "\nFrom \nSubject: next\nTo: y@x.invalid\n\nnext body\n"
	checkFile(t, file, Options{}, string(sourcetest.CRLF([]byte(msg))), "Subject: next\r\nTo: y@x.invalid\r\n\r\nnext body\r\n")
	// Without the Content-Length, the heuristic splits it, as
	// Thunderbird does.
	plain := strings.Replace(file, "Content-Length: "+strconv.Itoa(len(body))+"\n", "", 1)
	if refs := listAll(t, fileSource(t, plain, Options{})); len(refs) != 3 {
		t.Errorf("without Content-Length: %d messages, want 3", len(refs))
	}
}

// TestFromLineDates: Ref.Date comes from a dated separator when the
// header has no date, also from one with text after the date.
func TestFromLineDates(t *testing.T) {
	file := "From bob Fri Jul  8 12:08:34 2011 +0200 (CEST)\nSubject: a\n\nx\n"
	refs := listAll(t, fileSource(t, file, Options{}))
	if want := time.Date(2011, 7, 8, 10, 8, 34, 0, time.UTC); len(refs) != 1 || !refs[0].Date.Equal(want) {
		t.Errorf("refs %+v, want one dated %v", refs, want)
	}
}
