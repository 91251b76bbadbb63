package bench

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mailferry/mailferry/internal/dovecottest"
)

// archiveFolders are the mbox files of the generated Thunderbird
// account ("Local Folders"), with the IMAP folder each lands in.
var archiveFolders = []struct{ file, folder string }{
	{"Inbox", "INBOX"}, {"Sent", "Sent"}, {"Drafts", "Drafts"}, {"Archives", "Archives"}, {"Junk", "Junk"},
	{"Inbox.sbd/Work", "INBOX/Work"}, {"Inbox.sbd/Lists", "INBOX/Lists"},
	{"Inbox.sbd/Family", "INBOX/Family"}, {"Inbox.sbd/Receipts", "INBOX/Receipts"},
	{"Archives.sbd/2015", "Archives/2015"}, {"Archives.sbd/2016", "Archives/2016"},
	{"Archives.sbd/2017", "Archives/2017"}, {"Archives.sbd/2018", "Archives/2018"},
	{"Archives.sbd/2019", "Archives/2019"}, {"Archives.sbd/2020", "Archives/2020"},
	{"Archives.sbd/2021", "Archives/2021"}, {"Projects", "Projects"}, {"Projects.sbd/Alpha", "Projects/Alpha"},
	{"Projects.sbd/Beta", "Projects/Beta"}, {"Projects.sbd/Gamma", "Projects/Gamma"},
	{"Clubs", "Clubs"}, {"Travel", "Travel"}, {"Newsletters", "Newsletters"}, {"Receipts 2022", "Receipts 2022"},
}

// writeMbox writes msgs (CRLF) to path as an mboxrd file with LF line
// endings, as a Unix mail client keeps it.
func writeMbox(path string, msgs [][]byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	for _, m := range msgs {
		fmt.Fprintf(w, "From sender@example.org Sat May  4 03:02:01 2019\n")
		for _, line := range bytes.SplitAfter(bytes.ReplaceAll(m, []byte("\r\n"), []byte("\n")), []byte("\n")) {
			if bytes.HasPrefix(bytes.TrimLeft(line, ">"), []byte("From ")) {
				w.WriteByte('>')
			}
			w.Write(line)
		}
		if !bytes.HasSuffix(m, []byte("\n")) {
			w.WriteByte('\n')
		}
		w.WriteByte('\n')
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// BenchmarkArchive migrates a generated Thunderbird account (an mbox
// tree with .msf files) of at least 1 GiB (set
// by -archive-mb) into Dovecot, and the same messages with the pipelined
// bare client into the same folders of another user, in the same run.
func BenchmarkArchive(b *testing.B) {
	s := dovecottest.Start(b, dovecottest.Options{Users: []dovecottest.User{
		{Name: "ferry", Password: password}, {Name: "bare", Password: password}}})
	dir := b.TempDir()
	tree := filepath.Join(dir, "profile", "Mail", "Local Folders")
	var all [][]byte
	var total int64
	used := map[string]bool{}
	byFolder := map[string][][]byte{}
	for i := 0; total < int64(*archiveMB)<<20; i++ {
		c := Generate(2000, uint64(1000+i))
		af := archiveFolders[i%len(archiveFolders)]
		if err := writeMbox(filepath.Join(tree, af.file), c.Msgs); err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(tree, af.file+".msf"), []byte("// <!-- <mdb:mork:z v=\"1.4\"/> -->\n"), 0o644); err != nil {
			b.Fatal(err)
		}
		used[af.folder] = true
		byFolder[af.folder] = append(byFolder[af.folder], c.Msgs...)
		all = append(all, c.Msgs...)
		total += c.Bytes
	}
	b.Logf("archive: %d messages, %.1f MB in %d mbox files", len(all), float64(total)/1e6, len(used))

	// The bare client fills the same folders, one after the other, each
	// with LITERAL+ pipelining: into one folder of 50,000 messages
	// Dovecot slows down far more than across ten.
	start := time.Now()
	if err := bareFolders(b, s.IMAPAddr, "bare", byFolder); err != nil {
		b.Fatalf("bare client: %v", err)
	}
	bare := time.Since(start)

	bin, err := BuildMailferry(b.Context(), dir)
	if err != nil {
		b.Fatal(err)
	}
	j := &Job{Bin: bin, Dir: dir, Target: s.IMAPAddr, TargetUser: "ferry", TargetPass: password,
		Sources: fmt.Sprintf("  - url: %q\n", "thunderbird:"+tree)}
	res, err := j.Run(b.Context())
	if err != nil {
		b.Fatal(err)
	}
	stored := 0
	for _, af := range archiveFolders {
		if !used[af.folder] {
			continue
		}
		n, err := Count(b.Context(), s.IMAPAddr, "ferry", password, af.folder)
		if err != nil {
			b.Fatalf("count %s: %v", af.folder, err)
		}
		stored += n
	}
	if stored != len(all) || res.Copied != len(all) {
		b.Fatalf("mailferry copied %d, Dovecot holds %d, want %d\n%s", res.Copied, stored, len(all), res.Output)
	}
	rate := func(d time.Duration) float64 { return float64(len(all)) / d.Seconds() }
	mb := func(d time.Duration) float64 { return float64(total) / 1e6 / d.Seconds() }
	b.ReportMetric(rate(res.Wall), "msgs/s")
	fmt.Printf("\n| archive %.0f MB, %d msgs | time | msgs/s | MB/s | peak RSS | ratio |\n| --- | ---: | ---: | ---: | ---: | ---: |\n",
		float64(total)/1e6, len(all))
	fmt.Printf("| bare client, LITERAL+ pipelined, same folders | %v | %.0f | %.1f | — | 1.00 |\n", bare.Round(time.Millisecond), rate(bare), mb(bare))
	fmt.Printf("| mailferry, Thunderbird account, %d folders | %v | %.0f | %.1f | %.1f MiB | %.2f |\n", len(archiveFolders),
		res.Wall.Round(time.Millisecond), rate(res.Wall), mb(res.Wall), float64(res.MaxRSS)/(1<<20), bare.Seconds()/res.Wall.Seconds())
	if strings.Contains(res.Output, "level=WARN") {
		b.Logf("warnings:\n%s", res.Output)
	}
}

// bareFolders appends each folder's messages with the pipelined bare
// client as user, creating the folders first.
func bareFolders(b *testing.B, addr, user string, byFolder map[string][][]byte) error {
	cl, err := Login(b.Context(), nil, addr, user, password)
	if err != nil {
		return err
	}
	defer cl.Logout()
	for folder, msgs := range byFolder {
		if folder != "INBOX" {
			if _, err := cl.command("CREATE " + quote(folder)); err != nil {
				return fmt.Errorf("create %s: %w", folder, err)
			}
		}
		if err := cl.AppendPipelined(folder, msgs, window); err != nil {
			return err
		}
	}
	return nil
}
