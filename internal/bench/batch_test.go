package bench

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mailferry/mailferry/internal/dovecottest"
)

// BenchmarkBatch: issue 12's fleet of 50 POP3 maildrops of ~40 messages
// of ~20 KB moved into 50 IMAP accounts of one Dovecot, three ways, each
// into targets of its own: `mailferry batch --parallel 8`, `mailferry
// batch --parallel 1`, and the baseline: 50 `mailferry migrate` processes
// one after another. Each child runs through the RSS wrapper (rss.go).
const (
	batchAccounts = 50
	batchMsgs     = 40
	batchSize     = 20 << 10
	batchCap      = 16 // max_connections_per_server
)

// batchMode is one way of moving the fleet.
type batchMode struct {
	name   string // metric prefix and target user prefix
	label  string // the table's
	run    func(e *batchEnv, b *testing.B, m batchMode) batchSample
	repeat int // --parallel for a batch
}

// A batchSample is one run of a mode over the whole fleet.
type batchSample struct {
	wall time.Duration
	rss  int64 // peak RSS of the batch process, or the largest of the migrate processes
	cpu  time.Duration
}

type batchEnv struct {
	s      *dovecottest.Server
	bin    string
	dir    string
	corpus [][][]byte // by account
	msgs   int
	bytes  int64
}

var batchModes = []batchMode{
	{name: "seq", label: "50 × `mailferry migrate`, one after another", run: (*batchEnv).runSeq},
	{name: "p8", label: "`mailferry batch --parallel 8`", run: (*batchEnv).runBatch, repeat: 8},
	{name: "p1", label: "`mailferry batch --parallel 1`", run: (*batchEnv).runBatch, repeat: 1},
}

func batchSrc(i int) string                 { return fmt.Sprintf("fleet%02d", i) }
func batchTarget(mode string, i int) string { return fmt.Sprintf("%s-%02d", mode, i) }

// BenchmarkBatch runs each mode once per iteration (use -benchtime 1x)
// and reports, per mode, msgs/s, the ratio to the one-by-one baseline
// and the peak RSS; and the peak RSS per account of --parallel 8 (its
// peak over 8) next to a single account's.
func BenchmarkBatch(b *testing.B) {
	e := &batchEnv{dir: b.TempDir()}
	e.bin = os.Getenv("MAILFERRY_BENCH_BIN")
	if e.bin == "" {
		bin, err := BuildMailferry(b.Context(), e.dir)
		if err != nil {
			b.Fatal(err)
		}
		e.bin = bin
	}
	var users []dovecottest.User
	for i := 1; i <= batchAccounts; i++ {
		users = append(users, dovecottest.User{Name: batchSrc(i), Password: password})
		for it := range b.N {
			for _, m := range batchModes {
				users = append(users, dovecottest.User{Name: batchTarget(fmt.Sprintf("%s%d", m.name, it), i), Password: password})
			}
		}
	}
	e.s = dovecottest.Start(b, dovecottest.Options{Users: users})
	for i := 1; i <= batchAccounts; i++ {
		msgs := fleetMail(i)
		e.corpus = append(e.corpus, msgs)
		e.msgs += len(msgs)
		for _, m := range msgs {
			e.bytes += int64(len(m))
		}
		e.s.Seed(b, batchSrc(i), "", msgs)
	}
	syscall.Sync()
	samples := map[string][]batchSample{}
	b.ResetTimer()
	for it := range b.N {
		for _, m := range batchModes {
			name := m.name
			m.name = fmt.Sprintf("%s%d", name, it) // targets of their own
			s := m.run(e, b, m)
			e.checkFleet(b, m.name)
			samples[name] = append(samples[name], s)
			b.Logf("%s: %d messages in %v (%.0f msgs/s), peak RSS %.1f MiB, CPU %v", m.label, e.msgs, s.wall.Round(time.Millisecond),
				float64(e.msgs)/s.wall.Seconds(), float64(s.rss)/(1<<20), s.cpu.Round(time.Millisecond))
		}
	}
	b.StopTimer()
	mean := func(name string) batchSample {
		var m batchSample
		for _, s := range samples[name] {
			m.wall += s.wall
			m.cpu += s.cpu
			m.rss = max(m.rss, s.rss)
		}
		m.wall /= time.Duration(len(samples[name]))
		m.cpu /= time.Duration(len(samples[name]))
		return m
	}
	base := mean("seq")
	fmt.Printf("\nfleet: %d POP3 accounts × %d messages (%.1f MB in all), plain POP3 → IMAP on loopback Dovecot, max_connections_per_server %d\n",
		batchAccounts, batchMsgs, float64(e.bytes)/1e6, batchCap)
	fmt.Printf("| mode | msgs | time | msgs/s | ratio vs one by one | peak RSS | CPU |\n| --- | ---: | ---: | ---: | ---: | ---: | ---: |\n")
	for _, m := range batchModes {
		s := mean(m.name)
		rate := float64(e.msgs) / s.wall.Seconds()
		ratio := base.wall.Seconds() / s.wall.Seconds()
		rssMiB := float64(s.rss) / (1 << 20)
		b.ReportMetric(rate, m.name+"-msgs/s")
		b.ReportMetric(ratio, m.name+"-ratio")
		b.ReportMetric(rssMiB, m.name+"-peak-RSS-MiB")
		fmt.Printf("| %s | %d | %v | %.0f | %.2f | %.1f MiB | %v |\n", m.label, e.msgs, s.wall.Round(time.Millisecond), rate, ratio,
			rssMiB, s.cpu.Round(time.Millisecond))
	}
	p8 := mean("p8")
	b.ReportMetric(float64(p8.rss)/(1<<20)/8, "p8-RSS-per-account-MiB")
	b.ReportMetric(float64(base.rss)/(1<<20), "single-account-RSS-MiB")
	fmt.Printf("peak RSS per account: %.1f MiB (--parallel 8's peak / 8); one account alone: %.1f MiB (largest of the 50 migrate processes)\n\n",
		float64(p8.rss)/(1<<20)/8, float64(base.rss)/(1<<20))
}

// fleetMail returns account i's messages: batchMsgs of about batchSize
// (±25%), distinct across accounts.
func fleetMail(i int) [][]byte {
	r := rand.New(rand.NewPCG(seed, uint64(i)))
	start := time.Date(2020, 1, 1, 8, 0, 0, 0, time.UTC)
	var msgs [][]byte
	for j := range batchMsgs {
		g := gen{r: r, i: j, date: start.Add(time.Duration(i*batchMsgs+j) * time.Hour)}
		msgs = append(msgs, g.message(batchSize*3/4+r.IntN(batchSize/2)))
	}
	return msgs
}

// runBatch runs `mailferry batch --parallel m.repeat` over the fleet into
// the targets of m.
func (e *batchEnv) runBatch(b *testing.B, m batchMode) batchSample {
	dir := filepath.Join(e.dir, m.name)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		b.Fatal(err)
	}
	var csv strings.Builder
	csv.WriteString("source_url,source_user,target_user,source_password_env,target_password_env\n")
	for i := 1; i <= batchAccounts; i++ {
		fmt.Fprintf(&csv, "pop3://%s,%s,%s,BENCH_PW,BENCH_PW\n", e.s.POP3Addr, batchSrc(i), batchTarget(m.name, i))
	}
	accounts, config := filepath.Join(dir, "accounts.csv"), filepath.Join(dir, "base.yaml")
	base := fmt.Sprintf(`state_dir: state
max_connections_per_server: %d
target:
  url: %q
  tls: none
  allow_plaintext: true
sources:
  - tls: none
    allow_plaintext: true
    folder: INBOX
`, batchCap, "imap://x@"+e.s.IMAPAddr)
	for path, text := range map[string]string{accounts: csv.String(), config: base} {
		if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
			b.Fatal(err)
		}
	}
	out, s := e.child(b, dir, "batch", "--config", config, "--accounts", accounts, "--parallel", fmt.Sprint(m.repeat))
	b.Logf("%s:\n%s", m.label, lastLines(out, 3))
	return s
}

// runSeq runs one `mailferry migrate` per account, one after another.
func (e *batchEnv) runSeq(b *testing.B, m batchMode) batchSample {
	var total batchSample
	for i := 1; i <= batchAccounts; i++ {
		j := &Job{Bin: e.bin, Dir: filepath.Join(e.dir, m.name, batchSrc(i)), Target: e.s.IMAPAddr,
			TargetUser: batchTarget(m.name, i), TargetPass: password, Source: e.s.POP3Addr, SourceUser: batchSrc(i), SourcePass: password}
		if err := os.MkdirAll(j.Dir, 0o700); err != nil {
			b.Fatal(err)
		}
		res, err := j.Run(b.Context())
		if err != nil {
			b.Fatal(err)
		}
		if res.Copied != len(e.corpus[i-1]) {
			b.Fatalf("account %d: copied %d, want %d\n%s", i, res.Copied, len(e.corpus[i-1]), res.Output)
		}
		total.wall += res.Wall
		total.cpu += res.CPU
		total.rss = max(total.rss, res.MaxRSS)
	}
	return total
}

// child runs mailferry with args through the RSS wrapper; the password
// goes through the environment, and no MAILFERRY_* variable of the caller.
func (e *batchEnv) child(b *testing.B, dir string, args ...string) (string, batchSample) {
	self, err := os.Executable()
	if err != nil {
		b.Fatal(err)
	}
	rssFile := filepath.Join(dir, "rss")
	cmd := exec.CommandContext(b.Context(), self, append([]string{e.bin}, args...)...)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "MAILFERRY_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, rssEnv+"="+rssFile, "BENCH_PW="+password)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	err = cmd.Run()
	wall := time.Since(start)
	if err != nil {
		b.Fatalf("mailferry %s: %v\n%s", args[0], err, out.String())
	}
	u, err := readUsage(rssFile)
	if err != nil {
		b.Fatalf("peak RSS: %v", err)
	}
	return out.String(), batchSample{wall: wall, rss: u.maxRSS, cpu: u.user + u.sys}
}

// checkFleet fails the benchmark unless each target of mode holds its
// account's messages: a correctness check, not a timing one.
func (e *batchEnv) checkFleet(b *testing.B, mode string) {
	for i := 1; i <= batchAccounts; i++ {
		n, err := Count(context.Background(), e.s.IMAPAddr, batchTarget(mode, i), password, "INBOX")
		if err != nil {
			b.Fatalf("count %s: %v", batchTarget(mode, i), err)
		}
		if n != len(e.corpus[i-1]) {
			b.Fatalf("%s holds %d messages, want %d", batchTarget(mode, i), n, len(e.corpus[i-1]))
		}
	}
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}
