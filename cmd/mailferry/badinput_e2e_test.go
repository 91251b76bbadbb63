package main

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/mailferry/mailferry/internal/dovecottest"
)

// The bad-input corpus: messages that are malformed in every way an
// archive or a maildrop can hold them, each between good messages, spread
// over the four kinds of source, migrated into Dovecot by the command.
// Each must arrive byte for byte, or be listed as failed with a reason a
// person can act on; nothing else in the run may change.
//
// What a source defines as a message's bytes (what must arrive):
//   - mbox: the bytes between the separators (the blank line before the
//     next From line belongs to the separator), ">From " unquoted, bare LF
//     made CRLF (source/mbox);
//   - Maildir and .eml: the file, bare LF made CRLF; .emlx: the counted
//     bytes, bare LF made CRLF (source/maildir, source/eml, through
//     source/internal/crlf: CRLF and lone CR are kept);
//   - POP3: what Dovecot's POP3 server sends, dot-unstuffed. It serves the
//     maildrop file with bare LF made CRLF and passes NUL, lone CR and
//     8-bit bytes through unchanged, but it ends the data with CRLF: a
//     message whose last byte is not LF gains CRLF (RFC 1939 has no way
//     to carry one), so an empty message arrives as CRLF alone.
//
// Dovecot runs with mail_save_crlf = yes: it then stores what APPEND sent
// exactly. With the default (no) it stores LF line ends and so turns CR
// CR LF into CR LF, a change of its own that would hide one made by
// mailferry. Messages are read back with BINARY.PEEK[]: BODY[] serves a
// NUL as 0x80 (RFC 3501 forbids NUL in a literal), BINARY[] as stored.

// A corpusMsg is one message as a source stores it and what must come of
// it: want arrives, or it fails with a reason containing every word of
// reason.
type corpusMsg struct {
	name   string
	stored []byte
	want   []byte   // nil: must fail
	reason []string // for a failure
	ref    string   // for a failure: part of the ref ID the summary names
}

// badHeader is a header for case name of source tag, without Message-ID.
func badHeader(name, tag string) string {
	return "From: Alice <alice@example.org>\r\nTo: bob@example.org\r\nSubject: " + name + " (" + tag +
		")\r\nDate: Mon, 2 Mar 2026 09:00:00 +0000\r\n"
}

func badID(name, tag string) string {
	return "Message-ID: <" + name + "-" + tag + "@bad.example>\r\n"
}

// bigHeader is a header block of about n bytes: many fields, one of them
// folded over many lines, and the Message-ID after all of them.
func bigHeader(name, tag string, n int) string {
	var b strings.Builder
	b.WriteString(badHeader(name, tag))
	b.WriteString("X-Folded: start\r\n")
	for i := 0; b.Len() < n/2; i++ {
		fmt.Fprintf(&b, "\tcontinuation %06d of one very long folded field, padded to look real\r\n", i)
	}
	for i := 0; b.Len() < n; i++ {
		fmt.Fprintf(&b, "X-Filler-%06d: a header field among thousands, padded to about 80 bytes\r\n", i)
	}
	b.WriteString(badID(name, tag))
	return b.String()
}

// badMessages returns the malformed messages every source carries, as RFC
// 5322 text with CRLF (or the line ends the case is about). The tag makes
// them differ between sources, so that dedup keeps each.
func badMessages(tag string) map[string]string {
	h := func(name string) string { return badHeader(name, tag) + badID(name, tag) }
	return map[string]string{
		"nul": badHeader("nul", tag) + "X-Nul: a\x00b\r\n" + badID("nul", tag) +
			"\r\nNUL\x00in the body\r\n\x00\r\n",
		"cr-only": strings.ReplaceAll(h("cr-only")+"\r\nold Mac line ends\r\nonly CR\r\n", "\r\n", "\r"),
		"mixed": strings.Replace(badHeader("mixed", tag), "\r\n", "\n", 2) + badID("mixed", tag) +
			"\nLF\nCRLF\r\nlone CR\rthen LF\nend\r\n",
		"cr-cr-lf": h("cr-cr-lf") + "\r\nconverted twice\r\r\nand again\r\r\n",
		"8bit": "From: J\xfcrgen <j@example.org>\r\nSubject: \xc3\x28 not UTF-8 \xff\xfe (" + tag + ")\r\n" +
			"X-Raw: \x80\x9f\xa0 =?bogus?Q?=FF?=\r\n" + badID("8bit", tag) + "\r\n\xe4\xf6\xfc Latin-1 body\r\n",
		"id-space": badHeader("id-space", tag) + "Message-ID: <has space-" + tag + "@bad.example>\r\n\r\nspace\r\n",
		"id-bare":  badHeader("id-bare", tag) + "Message-ID: bare-" + tag + "@bad.example\r\n\r\nno brackets\r\n",
		"two-ids":  badHeader("two-ids", tag) + badID("first", tag) + badID("second", tag) + "\r\ntwo IDs\r\n",
		"id-nul":   badHeader("id-nul", tag) + "Message-ID: <nul\x00-" + tag + "@bad.example>\r\n\r\nNUL in the ID\r\n",
		"mime": h("mime") + "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"never-used\"\r\n\r\n" +
			"--wrong\r\nContent-Type: multipart/alternative; boundary=\r\n\r\n--\r\n--\r\nunterminated\r\n" +
			"--wrong\r\nContent-Transfer-Encoding: base64\r\n\r\n!!! not base64 !!!\r\n",
		"header-2mb": bigHeader("header-2mb", tag, 2<<20) + "\r\nafter a 2 MB header\r\n",
	}
}

// goodMessage is the i-th good message of a source.
func goodMessage(tag string, i int) []byte {
	return mail(fmt.Sprintf("good-%s-%d@bad.example", tag, i), fmt.Sprintf("good %d (%s)", i, tag),
		fmt.Sprintf("a good message, number %d\r\n", i))
}

// interleave puts a good message before every bad one and one at the end.
func interleave(tag string, bad []corpusMsg, good func(m []byte) corpusMsg) []corpusMsg {
	var out []corpusMsg
	for i, b := range bad {
		out = append(out, good(goodMessage(tag, i)), b)
	}
	return append(out, good(goodMessage(tag, len(bad))))
}

func sortedNames(m map[string]string) []string {
	var names []string
	for n := range m {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// popServed is what Dovecot's POP3 server sends for a maildrop file.
func popServed(stored []byte) []byte {
	b := crlf(stored)
	if !bytes.HasSuffix(b, []byte("\n")) {
		b = append(b, "\r\n"...)
	}
	return b
}

// fileCorpus writes the messages of a one-message-per-file source (a
// Maildir or an eml tree) under dir with name(i, m), and returns them
// with what must arrive.
func fileCorpus(t *testing.T, tag string, extra []corpusMsg, name func(i int, m corpusMsg) string, dir string) []corpusMsg {
	bad := badMessages(tag)
	var cases []corpusMsg
	for _, n := range sortedNames(bad) {
		m := []byte(bad[n])
		cases = append(cases, corpusMsg{name: n, stored: m, want: crlf(m)})
	}
	lfOnly := lf([]byte(h2(tag, "lf-file") + "\r\nstored with LF line ends\r\n"))
	cases = append(cases,
		corpusMsg{name: "lf-file", stored: lfOnly, want: crlf(lfOnly)},
		corpusMsg{name: "truncated", stored: []byte(h2(tag, "truncated") + "X-Cut: the header stops mid-line"),
			want: []byte(h2(tag, "truncated") + "X-Cut: the header stops mid-line")},
		corpusMsg{name: "empty", stored: []byte{}, reason: []string{"zero byte message"}})
	cases = append(cases, extra...)
	all := interleave(tag, cases, func(m []byte) corpusMsg { return corpusMsg{name: "good", stored: m, want: m} })
	for i := range all {
		p := name(i, all[i])
		writeFile(t, filepath.Join(dir, p), all[i].stored, time.Time{})
		all[i].ref = filepath.Base(p)
		if j := strings.IndexAny(all[i].ref, ":!"); j >= 0 {
			all[i].ref = all[i].ref[:j] // a Maildir ref names the unique name
		}
	}
	return all
}

func h2(tag, name string) string { return badHeader(name, tag) + badID(name, tag) }

// maildirCorpus writes a Maildir whose file names take every form: with
// and without ":2,", with "!2,", with an info of another version, in
// cur/ and in new/.
func maildirCorpus(t *testing.T, dir string) []corpusMsg {
	for _, sub := range []string{"cur", "new", "tmp"} {
		os.MkdirAll(filepath.Join(dir, sub), 0o755)
	}
	infos := []string{"", ":2,", ":2,S", "!2,S", ":1,experimental", ""}
	return fileCorpus(t, "maildir", nil, func(i int, m corpusMsg) string {
		info := infos[i%len(infos)]
		sub := "cur"
		if i%len(infos) == len(infos)-1 {
			sub = "new"
		}
		return fmt.Sprintf("%s/17000%05d.M%dP1.bad.example%s", sub, i, i, info)
	}, dir)
}

// emlx returns an .emlx file: count, the message, a plist.
func emlx(count int, msg []byte) []byte {
	plist := `<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
<dict>
	<key>date-received</key>
	<integer>1700000000</integer>
	<key>flags</key>
	<integer>1</integer>
</dict>
</plist>
`
	return append(append([]byte(fmt.Sprintf("%d\n", count)), msg...), plist...)
}

func emlCorpus(t *testing.T, dir string) []corpusMsg {
	ok := lf([]byte(h2("eml", "emlx-ok") + "\r\nan Apple Mail message\r\n"))
	big := lf([]byte(h2("eml", "emlx-count-big") + "\r\nthe count says more\r\n"))
	small := lf([]byte(h2("eml", "emlx-count-small") + "\r\nthe count says less\r\n"))
	extra := []corpusMsg{
		{name: "emlx-ok", stored: emlx(len(ok), ok), want: crlf(ok)},
		{name: "emlx-count-big", stored: emlx(len(big)+1000, big),
			reason: []string{"malformed emlx", "byte count", "exceeds"}},
		{name: "emlx-count-small", stored: emlx(len(small)-10, small),
			reason: []string{"malformed emlx", "not its plist", "wrong byte count"}},
	}
	return fileCorpus(t, "eml", extra, func(i int, m corpusMsg) string {
		if strings.HasPrefix(m.name, "emlx") {
			return fmt.Sprintf("%03d-%s.emlx", i, m.name)
		}
		return fmt.Sprintf("%03d-%s.eml", i, m.name)
	}, dir)
}

func pop3Corpus() []corpusMsg {
	bad := badMessages("pop3")
	var cases []corpusMsg
	for _, n := range sortedNames(bad) {
		m := []byte(bad[n])
		cases = append(cases, corpusMsg{name: n, stored: m, want: popServed(m)})
	}
	dots := []byte(h2("pop3", "dots") + "\r\n.\r\n..\r\n.leading dot\r\n")
	trunc := []byte(h2("pop3", "truncated") + "X-Cut: the header stops mid-line")
	cases = append(cases,
		corpusMsg{name: "dots", stored: dots, want: dots},
		corpusMsg{name: "truncated", stored: trunc, want: popServed(trunc)},
		corpusMsg{name: "empty", stored: []byte{}, want: []byte("\r\n")},
		corpusMsg{name: "ends-in-cr", stored: []byte(h2("pop3", "ends-in-cr") + "\r\nlast byte CR\r"),
			want: []byte(h2("pop3", "ends-in-cr") + "\r\nlast byte CR\r\r\n")})
	return interleave("pop3", cases, func(m []byte) corpusMsg { return corpusMsg{name: "good", stored: m, want: m} })
}

// mboxCorpus writes an mbox file per case group under dir and returns the
// messages of each folder.
func mboxCorpus(t *testing.T, dir string, bigLine int) map[string][]corpusMsg {
	out := map[string][]corpusMsg{}
	bad := badMessages("mbox")
	var cases []corpusMsg
	for _, n := range sortedNames(bad) {
		m := []byte(bad[n])
		if n == "cr-only" {
			m = append(m, '\n') // the separator needs a line end; CR LF it is
		}
		cases = append(cases, corpusMsg{name: n, stored: m, want: crlf(m)})
	}
	quoted := lf([]byte(h2("mbox", "from-lines") + "\r\n>From quoted\r\nFrom not after a blank line\r\n\r\nFrom here on, not a separator\r\n"))
	cases = append(cases, corpusMsg{name: "from-lines", stored: quoted,
		want: crlf(bytes.Replace(quoted, []byte("\n>From quoted"), []byte("\nFrom quoted"), 1))})
	all := interleave("mbox", cases, func(m []byte) corpusMsg { return corpusMsg{name: "good", stored: lf(m), want: m} })
	// The last message is cut short: no line end, and a Content-Length
	// that promises more than the file holds.
	trunc := []byte(h2("mbox", "truncated") + "Content-Length: 5000\r\n\r\nthe file ends in the middle of this li")
	all = append(all, corpusMsg{name: "truncated", stored: trunc, want: trunc})
	writeFile(t, filepath.Join(dir, "cases"), mboxFile(all), time.Time{})
	out["cases"] = all

	// A file whose start was lost (NUL blocks, as a crash can leave), then
	// messages: those arrive, the lost start is reported.
	lost := "\x00\x00\x00\x00 lost start of a message\n"
	after := []corpusMsg{
		{name: "damaged start", ref: "corrupt#0#",
			reason: []string{fmt.Sprintf(`its first %d bytes come before any "From " line`, len(lost)), "not copied"}},
		{name: "good", stored: lf(goodMessage("corrupt", 0)), want: goodMessage("corrupt", 0)},
		{name: "good", stored: lf(goodMessage("corrupt", 1)), want: goodMessage("corrupt", 1)},
	}
	writeFile(t, filepath.Join(dir, "corrupt"), append([]byte(lost+"\n"), mboxFile(after[1:])...), time.Time{})
	out["corrupt"] = after

	// An empty entry: a From line followed by the next one.
	empty := []corpusMsg{{name: "good", stored: lf(goodMessage("empty", 0)), want: goodMessage("empty", 0)}}
	writeFile(t, filepath.Join(dir, "empty"), append([]byte("From nobody Mon Mar  2 09:00:00 2026\n\n"),
		mboxFile(empty)...), time.Time{})
	out["empty"] = empty

	out["huge"] = hugeMbox(t, filepath.Join(dir, "huge"), bigLine)
	return out
}

const fromLine = "From alice@example.org Mon Mar  2 09:00:00 2026\n"

// mboxFile joins messages into an mbox: each after a From line, a blank
// line between them.
func mboxFile(msgs []corpusMsg) []byte {
	var b []byte
	for i, m := range msgs {
		if i > 0 {
			b = append(b, '\n')
		}
		b = append(b, fromLine...)
		b = append(b, m.stored...)
	}
	return b
}

// hugeMbox writes an mbox holding one message with a line of n bytes
// between good messages, without holding it in memory, and returns the
// messages; the huge one's want is its SHA-256.
func hugeMbox(t *testing.T, path string, n int) []corpusMsg {
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w := bufio.NewWriterSize(f, 1<<20)
	sum := sha256.New()
	head := h2("mbox", "long-line") + "\r\n"
	goods := []corpusMsg{
		{name: "good", stored: lf(goodMessage("huge", 0)), want: goodMessage("huge", 0)},
		{name: "good", stored: lf(goodMessage("huge", 1)), want: goodMessage("huge", 1)},
	}
	w.Write(mboxFile(goods[:1]))
	w.WriteString("\n" + fromLine + string(lf([]byte(head))))
	sum.Write([]byte(head))
	chunk := bytes.Repeat([]byte("0123456789abcdef"), 4096)
	for left := n; left > 0; left -= len(chunk) {
		c := chunk[:min(left, len(chunk))]
		w.Write(c)
		sum.Write(c)
	}
	w.WriteString("\n\n")
	sum.Write([]byte("\r\n"))
	w.Write(mboxFile(goods[1:]))
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	return append(goods, corpusMsg{name: "long-line", want: []byte(fmt.Sprintf("sha256:%x", sum.Sum(nil)))})
}

// binaryFetch returns the messages of folder as Dovecot stores them
// (BINARY.PEEK[]), in UID order.
func binaryFetch(t *testing.T, dc *dovecottest.Server, folder string) [][]byte {
	t.Helper()
	c, err := imapclient.DialInsecure(dc.IMAPAddr, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Login("bob", imapPass).Wait(); err != nil {
		t.Fatal(err)
	}
	defer c.Logout()
	sel, err := c.Select(folder, &imap.SelectOptions{ReadOnly: true}).Wait()
	if err != nil {
		t.Errorf("select %q: %v", folder, err)
		return nil
	}
	if sel.NumMessages == 0 {
		return nil
	}
	sec := &imap.FetchItemBinarySection{Peek: true}
	msgs, err := c.Fetch(imap.UIDSet{{Start: 1, Stop: 0}}, &imap.FetchOptions{
		UID: true, BinarySection: []*imap.FetchItemBinarySection{sec}}).Collect()
	if err != nil {
		t.Fatalf("fetch %q: %v", folder, err)
	}
	slices.SortFunc(msgs, func(a, b *imapclient.FetchMessageBuffer) int { return int(a.UID) - int(b.UID) })
	var out [][]byte
	for _, m := range msgs {
		out = append(out, m.FindBinarySection(sec))
	}
	return out
}

// exactlyOnce checks that got holds each message of want that must
// arrive once, byte for byte, and nothing else. A want of "sha256:..."
// stands for a message too big to hold twice.
func exactlyOnce(t *testing.T, folder string, got [][]byte, want []corpusMsg) {
	t.Helper()
	key := func(b []byte) string {
		if len(b) > 1<<20 {
			return fmt.Sprintf("sha256:%x", sha256.Sum256(b))
		}
		return string(b)
	}
	left := map[string]string{}
	for _, w := range want {
		if w.want != nil && bytes.HasPrefix(w.want, []byte("sha256:")) {
			left[string(w.want)] = w.name
		} else if w.want != nil {
			left[key(w.want)] = w.name
		}
	}
	for i, g := range got {
		k := key(g)
		if _, ok := left[k]; !ok {
			t.Errorf("%s: message %d (%d bytes, %.100q) is unexpected, changed or a duplicate", folder, i, len(g), g)
			continue
		}
		delete(left, k)
	}
	for w, name := range left {
		t.Errorf("%s: %q did not arrive byte for byte (%d bytes, %.100q)", folder, name, len(w), w)
	}
}

// failureLines returns the summary's failure lines.
func failureLines(out string) []string {
	var lines []string
	in := false
	for _, l := range strings.Split(out, "\n") {
		switch {
		case strings.HasPrefix(l, "failed:"):
			in = true
		case in && strings.HasPrefix(l, "  "):
			lines = append(lines, l)
		default:
			in = false
		}
	}
	return lines
}

// runMeasured runs mailferry to its end with the Go runtime tracing its
// garbage collections (GODEBUG=gctrace=1, documented in package runtime)
// and returns its exit code, its output without the trace, and the
// largest live heap a collection found, in bytes.
func (e *e2e) runMeasured() (int, string, int64) {
	e.t.Helper()
	cmd, out := e.start([]string{"GODEBUG=gctrace=1"})
	err := cmd.Wait()
	code := cmd.ProcessState.ExitCode()
	if err != nil && code < 0 {
		e.t.Fatalf("mailferry did not exit: %v", err)
	}
	var kept []string
	var peak int64
	for _, l := range strings.SplitAfter(out.String(), "\n") {
		m := gcTrace.FindStringSubmatch(l)
		if m == nil {
			kept = append(kept, l)
			continue
		}
		live, _ := strconv.ParseInt(m[1], 10, 64)
		peak = max(peak, live<<20)
	}
	if peak == 0 {
		e.t.Fatalf("no garbage collection traced:\n%s", out)
	}
	return code, strings.Join(kept, ""), peak
}

// gcTrace matches a gctrace line; the group is the live heap in MB.
var gcTrace = regexp.MustCompile(`^gc \d+ @.* \d+->\d+->(\d+) MB`)

// badInput is the corpus written to its sources, a Dovecot and the job.
type badInput struct {
	t       *testing.T
	dc      *dovecottest.Server
	e       *e2e
	arch    string                 // the archives' directory
	want    map[string][]corpusMsg // by target folder
	sources map[string]string      // source names, by the first part of their folder
}

// newBadInput writes the corpus: the maildrop into alice's INBOX, the
// archives under a temp dir; each source lands in its own folder.
func newBadInput(t *testing.T, bigLine int) *badInput {
	dc := dovecottest.Start(t, dovecottest.Options{Config: "mail_save_crlf = yes\n", Users: []dovecottest.User{
		{Name: "alice", Password: popPass}, {Name: "bob", Password: imapPass}}})
	dir := t.TempDir()
	b := &badInput{t: t, dc: dc, arch: filepath.Join(dir, "archives")}
	pop := pop3Corpus()
	var seed [][]byte
	for _, m := range pop {
		seed = append(seed, m.stored)
	}
	dc.Seed(t, "alice", "INBOX", seed)
	maildir, mbox, eml := filepath.Join(b.arch, "Maildir"), filepath.Join(b.arch, "mbox"), filepath.Join(b.arch, "eml")
	b.want = map[string][]corpusMsg{"INBOX": nil, "pop3": pop, "maildir": maildirCorpus(t, maildir), "eml": emlCorpus(t, eml)}
	for f, msgs := range mboxCorpus(t, mbox, bigLine) {
		b.want["mbox/"+f] = msgs
	}
	b.sources = map[string]string{"pop3": "pop3://alice@" + dc.POP3Addr, "maildir": "maildir:" + maildir,
		"eml": "eml:" + eml, "mbox": "mbox:" + mbox}
	b.e = &e2e{t: t, dc: dc, dir: dir, config: filepath.Join(dir, "mailferry.yaml")}
	cfg := plainTarget(dir, dc) + "sources:\n" + plainPOP3(dc) + fmt.Sprintf(`    folder: pop3
  - url: maildir:%s
    folder: maildir
  - url: mbox:%s
    folder: mbox
  - url: eml:%s
    folder: eml
`, maildir, mbox, eml)
	if err := os.WriteFile(b.e.config, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return b
}

// arrivals is the number of messages that must arrive.
func (b *badInput) arrivals() int {
	n := 0
	for _, msgs := range b.want {
		for _, m := range msgs {
			if m.want != nil {
				n++
			}
		}
	}
	return n
}

// check checks a run's exit code, its failures, every target folder, and
// that no other folder exists.
func (b *badInput) check(run string, code int, out string) {
	t := b.t
	t.Helper()
	if code != exitFailed {
		t.Errorf("%s: exit %d, want %d (done, some messages failed)", run, code, exitFailed)
	}
	wantFailures(t, run, out, b.want, b.sources)
	for folder, msgs := range b.want {
		exactlyOnce(t, run+": "+folder, binaryFetch(t, b.dc, folder), msgs)
	}
	wantFolders := []string{"INBOX", "eml", "maildir", "mbox", "mbox/cases", "mbox/corrupt", "mbox/empty", "mbox/huge", "pop3"}
	if got := b.dc.Folders(t, "bob"); !slices.Equal(got, wantFolders) {
		t.Errorf("%s: folders %q, want %q", run, got, wantFolders)
	}
	// An mbox entry of no bytes is no message: a warning, not a failure.
	if !strings.Contains(out, `mbox/empty note="empty message at offset 37 skipped"`) {
		t.Errorf("%s: no warning about the empty mbox entry", run)
	}
}

// TestDovecotBadInput migrates the corpus twice. Outcomes, by case:
//
//   - arrive byte for byte from every source: NUL in header and body,
//     CR-only line ends, mixed LF/CRLF/lone CR, CR CR LF, raw 8-bit and
//     invalid UTF-8 headers, a Message-ID with a space, a NUL or without
//     <> (keyed by content; a NUL in the key used to stop the whole run
//     at the state), two Message-IDs (the first counts), broken MIME
//     boundaries, a 2 MB header block (with a 1 MB folded field), a
//     message cut off inside its header (no line end);
//   - mbox: a 100 MB line (spooled; the live heap stays far below it),
//     ">From " unquoted, a truncated last message with a Content-Length
//     that promises more (read to the end of the file), and a file whose
//     start is damaged: its messages arrive, the bytes before the first
//     From line fail with a reason; an entry of zero bytes is no message
//     and only warned about;
//   - Maildir: file names without ":2,", with "!2,", with a "1," info,
//     in cur/ and new/ all arrive;
//   - .emlx with a byte count too large or too small fails, naming the
//     count; an empty .eml or Maildir file fails ("Can't save a zero byte
//     message", Dovecot's answer);
//   - POP3 carries NUL and lone CR unchanged, so those arrive as stored;
//     it adds CRLF after a last line without one, and an empty message
//     arrives as CRLF alone (see popServed).
//
// The re-run copies nothing and lists the same failures.
func TestDovecotBadInput(t *testing.T) {
	bigLine := 100 << 20
	if testing.Short() {
		bigLine = 3 << 20
	}
	b := newBadInput(t, bigLine)
	before := snapshot(t, b.arch)

	start := time.Now()
	code, out, heap := b.e.runMeasured()
	t.Logf("first run: exit %d in %v, peak live heap %d MiB", code, time.Since(start).Round(time.Millisecond), heap>>20)
	b.check("first run", code, out)
	if !strings.Contains(out, fmt.Sprintf("copied:          %d (", b.arrivals())) {
		t.Errorf("first run: summary does not say %d copied", b.arrivals())
	}
	if heap > maxHeap && !testing.Short() {
		t.Errorf("peak live heap %d MiB, want under %d MiB: the %d MiB line was held in memory", heap>>20, maxHeap>>20, bigLine>>20)
	}
	if t.Failed() {
		t.Fatalf("first run:\n%s", out)
	}

	code, out = b.e.run(nil)
	b.check("re-run", code, out)
	if !strings.Contains(out, "copied:          0 (") || !strings.Contains(out, fmt.Sprintf("done before:     %d\n", b.arrivals())) {
		t.Errorf("re-run: summary does not say 0 copied, %d done before", b.arrivals())
	}
	if after := snapshot(t, b.arch); !maps(after, before) {
		t.Errorf("archive files changed")
	}
	if t.Failed() {
		t.Logf("re-run:\n%s", out)
	}
}

// maxHeap bounds the live heap of a run with a 100 MiB line: the engine
// holds at most 16 MiB of message bytes and spools larger messages.
const maxHeap = 48 << 20

// wantFailures checks that the summary lists exactly the messages of
// want that must fail, each once, with its reason.
func wantFailures(t *testing.T, run, out string, want map[string][]corpusMsg, sources map[string]string) {
	t.Helper()
	lines := failureLines(out)
	n := 0
	for folder, msgs := range want {
		src := sources[strings.Split(folder, "/")[0]]
		for _, m := range msgs {
			if m.want != nil {
				continue
			}
			n++
			var found []string
			for _, l := range lines {
				if strings.HasPrefix(l, "  "+src+" message ") && strings.Contains(l, m.ref) && strings.Contains(l, " -> "+folder+": ") {
					found = append(found, l)
				}
			}
			if len(found) != 1 {
				t.Errorf("%s: %d summary lines for %s %q (%s), want 1:\n%s", run, len(found), folder, m.name, m.ref, strings.Join(lines, "\n"))
				continue
			}
			for _, r := range m.reason {
				if !strings.Contains(found[0], r) {
					t.Errorf("%s: failure of %s %q does not say %q:\n%s", run, folder, m.name, r, found[0])
				}
			}
		}
	}
	if len(lines) != n || !strings.Contains(out, fmt.Sprintf("failed:          %d\n", n)) {
		t.Errorf("%s: %d failures listed, want %d:\n%s", run, len(lines), n, strings.Join(lines, "\n"))
	}
}

// TestDovecotNotAnMboxFile gives an mbox source a file without any From
// line: a configuration mistake, so the run stops with exit 2 and a
// message naming the file, before anything is written.
func TestDovecotNotAnMboxFile(t *testing.T) {
	dc := dovecottest.Start(t, dovecottest.Options{Users: []dovecottest.User{
		{Name: "alice", Password: popPass}, {Name: "bob", Password: imapPass}}})
	dc.Seed(t, "alice", "INBOX", [][]byte{goodMessage("pop", 0)})
	dir := t.TempDir()
	notes := filepath.Join(dir, "notes.mbox")
	writeFile(t, notes, lf(goodMessage("eml", 0)), time.Time{}) // one message without a From line
	// A good archive listed first: the bad one must stop the job before
	// anything is copied, not when the run reaches it.
	good := filepath.Join(dir, "good")
	for i := range 200 {
		writeFile(t, filepath.Join(good, fmt.Sprintf("%03d.eml", i)), goodMessage("eml", 1+i), time.Time{})
	}
	e := &e2e{t: t, dc: dc, dir: dir, config: filepath.Join(dir, "mailferry.yaml")}
	cfg := plainTarget(dir, dc) + fmt.Sprintf("sources:\n  - url: eml:%s\n  - url: mbox:%s\n", good, notes) + plainPOP3(dc)
	if err := os.WriteFile(e.config, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out := e.run(nil)
	if want := `mbox ` + notes + `: not an mbox file: no line starting "From " begins a message in it`; code != exitUsage || !strings.Contains(out, want) {
		t.Fatalf("exit %d, want %d and %q:\n%s", code, exitUsage, want, out)
	}
	if got := dc.Folders(t, "bob"); !slices.Equal(got, []string{"INBOX"}) || len(dc.Fetch(t, "bob", "INBOX")) != 0 {
		t.Fatalf("folders %q, INBOX not empty: want nothing written", got)
	}
}
