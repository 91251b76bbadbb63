package bench

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mailferry/mailferry/internal/dovecottest"
)

var (
	treeMsgs  = flag.Int("tree-msgs", 50000, "messages in each tree of BenchmarkTrees (one Maildir++, one of .eml files)")
	treeKinds = flag.String("trees", "maildir,eml", "the trees BenchmarkTrees runs, comma-separated (maildir, eml)")
)

// A tree is one archive of BenchmarkTrees: how to write it and the
// source URL that reads it.
type tree struct {
	name   string // "maildir" or "eml"
	scheme string // the source URL's scheme
	write  func(root, folder string, i int, msg []byte) error
}

var trees = []tree{
	{"maildir", "maildir:", writeMaildirMsg},
	{"eml", "eml:", writeEMLMsg},
}

// BenchmarkTrees migrates a generated Maildir++ tree and a generated tree
// of .eml files (-tree-msgs messages each, default 50,000, in the 24
// folders of BenchmarkArchive) into Dovecot, each beside the pipelined
// bare client filling the same folders of another user in the same run,
// and prints the rates and the byte totals mailferry's progress showed.
// MAILFERRY_BENCH_BIN_BEFORE names a second mailferry binary (an older
// build) to run on each tree too, between the bare client and the
// current binary: a before/after comparison in the same conditions.
// -trees picks the trees; MAILFERRY_BENCH_PROFILE=dir has the current
// binary (when built here) write CPU profiles into dir.
func BenchmarkTrees(b *testing.B) {
	before := os.Getenv("MAILFERRY_BENCH_BIN_BEFORE")
	var users []dovecottest.User
	for _, t := range trees {
		for _, u := range []string{"bare-", "before-", "ferry-"} {
			users = append(users, dovecottest.User{Name: u + t.name, Password: password})
		}
	}
	s := dovecottest.Start(b, dovecottest.Options{Users: users})
	dir := b.TempDir()
	byFolder, total, n := treeCorpus(*treeMsgs)
	bin := os.Getenv("MAILFERRY_BENCH_BIN")
	if bin == "" {
		var err error
		if bin, err = BuildMailferry(b.Context(), dir); err != nil {
			b.Fatal(err)
		}
	}
	var rows []string
	for _, t := range trees {
		if !slices.Contains(strings.Split(*treeKinds, ","), t.name) {
			continue
		}
		root := filepath.Join(dir, t.name)
		if err := writeTree(root, t, byFolder); err != nil {
			b.Fatal(err)
		}
		syscall.Sync() // the tree's writeback must not slow the timed runs
		start := time.Now()
		if err := bareFolders(b, s.IMAPAddr, "bare-"+t.name, byFolder); err != nil {
			b.Fatalf("bare client: %v", err)
		}
		bare := time.Since(start)
		rows = append(rows, fmt.Sprintf("| %s, bare client, LITERAL+ pipelined | %v | %.0f | %.1f | | | 1.00 | | |", t.name,
			bare.Round(time.Millisecond), float64(n)/bare.Seconds(), float64(total)/1e6/bare.Seconds()))
		run := func(label, user, bin string) {
			res := ferryTree(b, s.IMAPAddr, filepath.Join(dir, "job-"+user), user, bin, t.scheme+root)
			checkTree(b, s.IMAPAddr, user, byFolder, res)
			listed, last := progressFigures(res.Output)
			ratio := bare.Seconds() / res.Wall.Seconds()
			b.ReportMetric(ratio, user+"-ratio")
			rows = append(rows, fmt.Sprintf("| %s, %s | %v | %.0f | %.1f | %.1f MiB | %v | %.2f | %s | %s |", t.name, label,
				res.Wall.Round(time.Millisecond), float64(n)/res.Wall.Seconds(), float64(total)/1e6/res.Wall.Seconds(),
				float64(res.MaxRSS)/(1<<20), res.CPU.Round(10*time.Millisecond), ratio, listed, last))
		}
		if before != "" {
			run("mailferry before ("+filepath.Base(before)+")", "before-"+t.name, before)
		}
		run("mailferry", "ferry-"+t.name, bin)
	}
	fmt.Printf("\n%d messages in each tree, %.0f MB as sent (CRLF: %d bytes), in %d folders\n\n", n, float64(total)/1e6, total, len(byFolder))
	fmt.Printf("| tree, client | time | msgs/s | MB/s | peak RSS | CPU | ratio | progress: listed | last progress line |\n")
	fmt.Printf("| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- |\n")
	for _, r := range rows {
		fmt.Println(r)
	}
	fmt.Println()
}

// ferryTree runs mailferry (bin) once from source into user's account.
func ferryTree(b *testing.B, addr, dir, user, bin, source string) *Result {
	os.MkdirAll(dir, 0o700)
	j := &Job{Bin: bin, Dir: dir, Target: addr, TargetUser: user, TargetPass: password,
		Sources: fmt.Sprintf("  - url: %q\n", source)}
	res, err := j.Run(b.Context())
	if err != nil {
		b.Fatal(err)
	}
	if strings.Contains(res.Output, "level=WARN") {
		b.Logf("warnings:\n%s", res.Output)
	}
	return res
}

// treeCorpus generates at least n messages spread over the folders of
// archiveFolders, 2,000 at a time, and returns them by IMAP folder.
func treeCorpus(n int) (byFolder map[string][][]byte, total int64, count int) {
	byFolder = map[string][][]byte{}
	for i := 0; count < n; i++ {
		c := Generate(min(2000, n-count), uint64(5000+i))
		f := archiveFolders[i%len(archiveFolders)].folder
		byFolder[f] = append(byFolder[f], c.Msgs...)
		total += c.Bytes
		count += len(c.Msgs)
	}
	return byFolder, total, count
}

// writeTree writes every message of byFolder with t.write under root.
func writeTree(root string, t tree, byFolder map[string][][]byte) error {
	i := 0
	for folder, msgs := range byFolder {
		for _, m := range msgs {
			if err := t.write(root, folder, i, m); err != nil {
				return err
			}
			i++
		}
	}
	return nil
}

// writeMaildirMsg writes message i of folder into a Maildir++ tree with
// LF line endings, as Dovecot stores mail. Three files in four are named
// as Dovecot names them, with the file's size (S=) and the size with
// CRLF (W=); the others as other delivery agents do, without sizes.
func writeMaildirMsg(root, folder string, i int, msg []byte) error {
	dir := root
	if folder != "INBOX" {
		dir = filepath.Join(root, "."+strings.ReplaceAll(folder, "/", "."))
	}
	for _, sub := range []string{"cur", "new", "tmp"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
			return err
		}
	}
	lf := bytes.ReplaceAll(msg, []byte("\r\n"), []byte("\n"))
	name := fmt.Sprintf("%d.M%dP%d.bench", 1500000000+i, i%1000000, 4242)
	if i%4 != 3 {
		name += fmt.Sprintf(",S=%d,W=%d", len(lf), len(msg))
	}
	return os.WriteFile(filepath.Join(dir, "cur", name+":2,S"), lf, 0o644)
}

// writeEMLMsg writes message i of folder as a .eml file in the folder's
// directory ("INBOX" is the top). Folders alternate between CRLF line
// endings (as Windows clients export) and LF (Unix tools).
func writeEMLMsg(root, folder string, i int, msg []byte) error {
	dir := root
	if folder != "INBOX" {
		dir = filepath.Join(root, filepath.FromSlash(folder))
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if len(folder)%2 == 0 {
		msg = bytes.ReplaceAll(msg, []byte("\r\n"), []byte("\n"))
	}
	return os.WriteFile(filepath.Join(dir, fmt.Sprintf("%07d.eml", i)), msg, 0o644)
}

// checkTree fails b unless every folder of user holds its messages'
// count and mailferry copied them all.
func checkTree(b *testing.B, addr, user string, byFolder map[string][][]byte, res *Result) {
	want := 0
	for folder, msgs := range byFolder {
		got, err := Count(b.Context(), addr, user, password, folder)
		if err != nil {
			b.Fatalf("count %s of %s: %v", folder, user, err)
		}
		if got != len(msgs) {
			b.Fatalf("%s of %s holds %d messages, want %d\n%s", folder, user, got, len(msgs), res.Output)
		}
		want += len(msgs)
	}
	if res.Copied != want {
		b.Fatalf("mailferry copied %d, want %d\n%s", res.Copied, want, res.Output)
	}
}

var (
	listedRe   = regexp.MustCompile(`(?m)msg=listed .*\bbytes=(\d+)`)
	progressRe = regexp.MustCompile(`(?m)msg=progress .*\bbytes=(\d+) total_bytes=(\d+)`)
)

// progressFigures returns, from the child's log lines, the bytes of its
// "listed" line and the bytes and total of its last "progress" line.
func progressFigures(out string) (listed, last string) {
	listed, last = "none", "none"
	if m := listedRe.FindStringSubmatch(out); m != nil {
		listed = "bytes=" + m[1]
	}
	if ms := progressRe.FindAllStringSubmatch(out, -1); ms != nil {
		m := ms[len(ms)-1]
		done, _ := strconv.ParseInt(m[1], 10, 64)
		tot, _ := strconv.ParseInt(m[2], 10, 64)
		last = fmt.Sprintf("bytes=%d total_bytes=%d", done, tot)
	}
	return listed, last
}
