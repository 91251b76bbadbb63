package bench

import (
	"cmp"
	"context"
	"flag"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/mailferry/mailferry/internal/dovecottest"
)

// The benchmark's mailbox and link.
const (
	lanMsgs  = 2000
	wanMsgs  = 500 // WAN scenarios take the first 500 messages, to keep `make bench` short
	wanDelay = 10 * time.Millisecond
	seed     = 20260601
	window   = 256 // APPENDs in flight for the pipelined bare client
	password = "bench-secret"
)

// rounds: on a small VM, Dovecot's cost per APPEND drifts by several times
// within a minute (mostly kernel time creating files, which depends on
// what the machine created and deleted just before), so one sample per
// scenario taken at different times makes a poor ratio. Every round runs
// every scenario once, and a ratio compares figures of the same round.
var (
	rounds    = flag.Int("rounds", 3, "interleaved rounds of all scenarios; the table gives medians")
	archiveMB = flag.Int("archive-mb", 1024, "size of the generated archive of BenchmarkArchive, in MiB")
)

// A scenario is one line of the table.
type scenario struct {
	name string // "LAN/..." or "WAN/..."
	base string // the scenario the ratio compares with, in the same round
	run  func(e *benv, b *testing.B, round int) sample
}

var scenarios = []scenario{
	{"LAN/bare-literal+-pipelined", lanBase, bareRun("lan-pipe", false, 0)},
	{"LAN/bare-sync-1conn", lanBase, bareRun("lan-sync1", false, 1)},
	{"LAN/bare-sync-8conn", lanBase, bareRun("lan-sync8", false, 8)},
	{"LAN/mailferry", lanBase, (*benv).ferryLAN},
	{"LAN/mailferry-rerun", "", (*benv).ferryRerun},
	{"WAN/bare-literal+-pipelined", wanBase, bareRun("wan-pipe", true, 0)},
	{"WAN/bare-sync-1conn", wanBase, bareRun("wan-sync1", true, 1)},
	{"WAN/bare-sync-8conn", wanBase, bareRun("wan-sync8", true, 8)},
	{"WAN/mailferry", wanBase, (*benv).ferryWAN},
}

const (
	lanBase = "LAN/bare-literal+-pipelined"
	wanBase = "WAN/bare-sync-8conn"
)

// targets are the target users of one round; each gets a suffix per round.
var targets = []string{"lan-pipe", "lan-sync1", "lan-sync8", "lan-ferry", "wan-pipe", "wan-sync1", "wan-sync8", "wan-ferry"}

// POP3 maildrops: the whole mailbox, and the WAN subset; and the user of
// the untimed warm-up.
const popLAN, popWAN, warmup = "pop", "popwan", "warmup"

// A sample is one run of a scenario.
type sample struct {
	msgs  int
	bytes int64
	wall  time.Duration
	rss   int64         // bytes; 0: not measured
	cpu   time.Duration // mailferry's user+system time
	notes string
}

func (s sample) rate() float64 { return float64(s.msgs) / s.wall.Seconds() }
func (s sample) mbps() float64 { return float64(s.bytes) / 1e6 / s.wall.Seconds() }

// benv is the benchmark's shared setup and results.
type benv struct {
	s       *dovecottest.Server
	lan     *Corpus
	wan     *Corpus
	bin     string
	dir     string
	lanPOP  *Proxy // no delay, counts RETR
	wanPOP  *Proxy // 10 ms each way, counts RETR
	wanIMAP *Proxy // 10 ms each way, counts non-synchronizing literals
	samples map[string][]sample
	byRound map[string]map[int]sample
	ferried map[int]bool // rounds whose LAN state holds a complete run
}

func TestMain(m *testing.M) {
	if IsRSSWrapper() {
		os.Exit(RSSWrapperMain())
	}
	os.Exit(m.Run())
}

// BenchmarkMigrate runs every scenario once per round and prints the
// table. It fails only when a target does not hold the expected messages.
func BenchmarkMigrate(b *testing.B) {
	e := setup(b)
	for round := range *rounds {
		for _, sc := range scenarios {
			b.Run(sc.name, func(b *testing.B) {
				s := sc.run(e, b, round)
				e.record(b, sc, round, s)
			})
		}
	}
	e.print()
}

// setup builds mailferry, starts Dovecot with the users, generates and
// seeds the mailbox and starts the proxies.
func setup(b *testing.B) *benv {
	e := &benv{dir: b.TempDir(), samples: map[string][]sample{}, byRound: map[string]map[int]sample{}, ferried: map[int]bool{}}
	// MAILFERRY_BENCH_BIN measures a given binary instead (an older
	// release, or a local build with extra instrumentation).
	e.bin = os.Getenv("MAILFERRY_BENCH_BIN")
	if e.bin == "" {
		bin, err := BuildMailferry(b.Context(), e.dir)
		if err != nil {
			b.Fatal(err)
		}
		e.bin = bin
	}
	users := []dovecottest.User{{Name: popLAN, Password: password}, {Name: popWAN, Password: password},
		{Name: warmup, Password: password}}
	for round := range *rounds {
		for _, t := range targets {
			users = append(users, dovecottest.User{Name: user(t, round), Password: password})
		}
	}
	e.s = dovecottest.Start(b, dovecottest.Options{Users: users})
	e.lan = Generate(lanMsgs, seed)
	e.wan = e.lan.Subset(wanMsgs)
	e.s.Seed(b, popLAN, "", e.lan.Msgs)
	e.s.Seed(b, popWAN, "", e.wan.Msgs)
	syscall.Sync() // the seeded files' writeback must not slow the first scenario's fsyncs
	e.lanPOP = e.proxy(b, &Proxy{Upstream: e.s.POP3Addr, Match: []byte("RETR ")})
	e.wanPOP = e.proxy(b, &Proxy{Upstream: e.s.POP3Addr, Delay: wanDelay, Match: []byte("RETR ")})
	e.wanIMAP = e.proxy(b, &Proxy{Upstream: e.s.IMAPAddr, Delay: wanDelay, Match: []byte("+}\r\n")})
	// The first scenario after the setup ran up to 2x slower than later
	// ones: one untimed pass of the pipelined client absorbs that.
	if err := pipelined(b.Context(), nil, e.s.IMAPAddr, warmup, e.lan.Msgs); err != nil {
		b.Fatalf("warm-up: %v", err)
	}
	return e
}

func user(target string, round int) string { return fmt.Sprintf("%s-%d", target, round+1) }

func (e *benv) proxy(b *testing.B, p *Proxy) *Proxy {
	if err := p.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { p.Close() })
	return p
}

// directTo dials addr whatever address it is asked for: the bare client
// then reaches Dovecot through a proxy while naming Dovecot's address.
func directTo(addr string) Dialer {
	return func(ctx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, network, addr)
	}
}

// reset empties user's INBOX and removes stateDir's state file before
// iterations after the first (b.N > 1, not under `make bench`), so that
// every iteration starts from an empty target. The first iteration has
// a fresh user: the benchmark deletes no files while it measures.
func (e *benv) reset(b *testing.B, i int, user, stateDir string) {
	if i == 0 {
		return
	}
	b.StopTimer()
	defer b.StartTimer()
	e.s.Exec(b, "expunge", "-u", user, "mailbox", "INBOX", "all")
	if stateDir != "" {
		os.Remove(filepath.Join(stateDir, "state.db"))
	}
	syscall.Sync()
}

// check fails the benchmark unless user's INBOX holds exactly want
// messages: a correctness check, not a timing one.
func (e *benv) check(b *testing.B, user string, want int) {
	got, err := Count(b.Context(), e.s.IMAPAddr, user, password, "INBOX")
	if err != nil {
		b.Fatalf("count %s: %v", user, err)
	}
	if got != want {
		b.Fatalf("%s INBOX holds %d messages, want %d", user, got, want)
	}
}

// bareRun returns the bare client scenario: pipelined with LITERAL+ when
// conns is 0, else conns connections with synchronizing literals; through
// the WAN proxy when wan is set.
func bareRun(target string, wan bool, conns int) func(*benv, *testing.B, int) sample {
	return func(e *benv, b *testing.B, round int) sample {
		u, c, dial := user(target, round), e.lan, Dialer(nil)
		if wan {
			c, dial = e.wan, directTo(e.wanIMAP.Addr())
		}
		s := sample{msgs: len(c.Msgs), bytes: c.Bytes}
		for i := range b.N {
			e.reset(b, i, u, "")
			start := time.Now()
			var err error
			if conns == 0 {
				err = pipelined(b.Context(), dial, e.s.IMAPAddr, u, c.Msgs)
			} else {
				err = AppendAll(b.Context(), dial, e.s.IMAPAddr, u, password, "INBOX", c.Msgs, conns)
			}
			took := time.Since(start)
			if err != nil {
				b.Fatalf("bare client: %v", err)
			}
			s.wall += took
			b.Logf("%d messages in %v", len(c.Msgs), took)
			e.check(b, u, len(c.Msgs))
		}
		s.wall /= time.Duration(b.N)
		return s
	}
}

func pipelined(ctx context.Context, dial Dialer, addr, user string, msgs [][]byte) error {
	cl, err := Login(ctx, dial, addr, user, password)
	if err != nil {
		return err
	}
	if err := cl.AppendPipelined("INBOX", msgs, window); err != nil {
		cl.Close()
		return err
	}
	return cl.Logout()
}

// job returns the mailferry job of a target user; its state lives in a
// directory of its own.
func (e *benv) job(target, targetAddr, sourceAddr, sourceUser string) *Job {
	dir := filepath.Join(e.dir, target)
	os.MkdirAll(dir, 0o700)
	return &Job{Bin: e.bin, Dir: dir, Target: targetAddr, TargetUser: target, TargetPass: password,
		Source: sourceAddr, SourceUser: sourceUser, SourcePass: password}
}

// ferry runs the job b.N times into an empty target with no state; each
// run must copy all of c.
func (e *benv) ferry(b *testing.B, j *Job, c *Corpus, retr *Proxy, wan bool) sample {
	s := sample{msgs: len(c.Msgs), bytes: c.Bytes}
	for i := range b.N {
		e.reset(b, i, j.TargetUser, j.Dir)
		before, lits := retr.Matches(), e.wanIMAP.Matches()
		res, err := j.Run(b.Context())
		if err != nil {
			b.Fatal(err)
		}
		if res.Copied != len(c.Msgs) {
			b.Fatalf("mailferry copied %d, want %d\n%s", res.Copied, len(c.Msgs), res.Output)
		}
		e.check(b, j.TargetUser, len(c.Msgs))
		b.Logf("copied %d in %v, peak RSS %.1f MiB (floor %.1f MiB), CPU %v", res.Copied, res.Wall,
			float64(res.MaxRSS)/(1<<20), float64(res.RSSFloor)/(1<<20), res.CPU)
		s.wall += res.Wall
		s.cpu += res.CPU
		s.rss = max(s.rss, res.MaxRSS)
		s.notes = fmt.Sprintf("engine %v; %d RETR", res.Engine.Round(time.Millisecond), retr.Matches()-before)
		if wan {
			s.notes += fmt.Sprintf("; %d of %d APPEND literals non-synchronizing", e.wanIMAP.Matches()-lits, len(c.Msgs))
		}
	}
	s.wall /= time.Duration(b.N)
	s.cpu /= time.Duration(b.N)
	return s
}

func (e *benv) ferryLAN(b *testing.B, round int) sample {
	j := e.job(user("lan-ferry", round), e.s.IMAPAddr, e.lanPOP.Addr(), popLAN)
	s := e.ferry(b, j, e.lan, e.lanPOP, false)
	e.ferried[round] = true
	return s
}

// ferryRerun runs the round's LAN job again with nothing new: it should
// read no message and copy nothing.
func (e *benv) ferryRerun(b *testing.B, round int) sample {
	j := e.job(user("lan-ferry", round), e.s.IMAPAddr, e.lanPOP.Addr(), popLAN)
	if !e.ferried[round] { // run alone (-bench filter): make the first run now
		b.StopTimer()
		if _, err := j.Run(b.Context()); err != nil {
			b.Fatal(err)
		}
		e.ferried[round] = true
		b.StartTimer()
	}
	var s sample
	for range b.N {
		before := e.lanPOP.Matches()
		res, err := j.Run(b.Context())
		if err != nil {
			b.Fatal(err)
		}
		if res.Copied != 0 {
			b.Fatalf("re-run copied %d, want 0\n%s", res.Copied, res.Output)
		}
		e.check(b, j.TargetUser, len(e.lan.Msgs))
		s.wall += res.Wall
		s.cpu += res.CPU
		s.rss = max(s.rss, res.MaxRSS)
		s.notes = fmt.Sprintf("nothing new: copied 0, %d RETR, engine %v", e.lanPOP.Matches()-before, res.Engine.Round(time.Millisecond))
	}
	s.wall /= time.Duration(b.N)
	s.cpu /= time.Duration(b.N)
	return s
}

func (e *benv) ferryWAN(b *testing.B, round int) sample {
	j := e.job(user("wan-ferry", round), e.wanIMAP.Addr(), e.wanPOP.Addr(), popWAN)
	return e.ferry(b, j, e.wan, e.wanPOP, true)
}

// record keeps s and reports its metrics.
func (e *benv) record(b *testing.B, sc scenario, round int, s sample) {
	e.samples[sc.name] = append(e.samples[sc.name], s)
	if e.byRound[sc.name] == nil {
		e.byRound[sc.name] = map[int]sample{}
	}
	e.byRound[sc.name][round] = s
	if s.msgs > 0 {
		b.ReportMetric(s.rate(), "msgs/s")
		b.ReportMetric(s.mbps(), "MB/s")
	} else {
		b.ReportMetric(float64(s.wall.Microseconds())/1e3, "wall-ms")
	}
	if s.rss > 0 {
		b.ReportMetric(float64(s.rss)/(1<<20), "peak-RSS-MiB")
	}
	if base, ok := e.byRound[sc.base][round]; ok && s.msgs > 0 {
		b.ReportMetric(s.rate()/base.rate(), "ratio")
	}
}

// ratios returns the per-round ratios of a scenario to its base.
func (e *benv) ratios(sc scenario) []float64 {
	var rs []float64
	for round, s := range e.byRound[sc.name] {
		if base, ok := e.byRound[sc.base][round]; ok && s.msgs > 0 {
			rs = append(rs, s.rate()/base.rate())
		}
	}
	slices.Sort(rs)
	return rs
}

// median returns the sample with the median wall time.
func median(ss []sample) sample {
	ss = slices.Clone(ss)
	slices.SortFunc(ss, func(a, b sample) int { return cmp.Compare(a.wall, b.wall) })
	return ss[len(ss)/2]
}

// print writes the markdown table and what it measured.
func (e *benv) print() {
	fmt.Printf("\nmailbox: %d messages, %.1f MB, median %d B, largest %d B, %d without Message-ID\n",
		len(e.lan.Msgs), float64(e.lan.Bytes)/1e6, e.lan.Median(), e.lan.Max(), len(e.lan.Msgs)/NoIDEvery)
	fmt.Printf("LAN: loopback, Dovecot plain IMAP/POP3; mailferry's POP3 through a counting proxy without delay.\n")
	fmt.Printf("WAN: the first %d messages (%.1f MB), IMAP and POP3 through a proxy delaying each direction by %v (RTT %v).\n",
		len(e.wan.Msgs), float64(e.wan.Bytes)/1e6, wanDelay, 2*wanDelay)
	fmt.Printf("mailferry: child process `mailferry migrate`, default options; its time is wall time from start to exit.\n")
	fmt.Printf("%d interleaved rounds after an untimed warm-up: figures are medians over rounds (peak RSS: the largest);\n", *rounds)
	fmt.Printf("ratio is the median of per-round ratios to the \"vs\" scenario of the same round [min-max]. CPU: mailferry's user+system.\n\n")
	fmt.Printf("| scenario | msgs | time | msgs/s | MB/s | peak RSS | CPU | ratio | vs | notes |\n")
	fmt.Printf("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- |\n")
	for _, sc := range scenarios {
		ss := e.samples[sc.name]
		if len(ss) == 0 {
			continue
		}
		m := median(ss)
		rate, mbps, rss, cpu, ratio := "—", "—", "—", "—", "—"
		if m.msgs > 0 {
			rate, mbps = fmt.Sprintf("%.0f", m.rate()), fmt.Sprintf("%.1f", m.mbps())
		}
		var peak int64
		for _, s := range ss {
			peak = max(peak, s.rss)
		}
		if peak > 0 {
			rss = fmt.Sprintf("%.1f MiB", float64(peak)/(1<<20))
		}
		if m.cpu > 0 {
			cpu = m.cpu.Round(10 * time.Millisecond).String()
		}
		if rs := e.ratios(sc); len(rs) > 0 {
			ratio = fmt.Sprintf("%.2f [%.2f-%.2f]", rs[len(rs)/2], rs[0], rs[len(rs)-1])
		}
		fmt.Printf("| %s | %d | %v | %s | %s | %s | %s | %s | %s | %s |\n", sc.name, m.msgs,
			m.wall.Round(time.Millisecond), rate, mbps, rss, cpu, ratio, sc.base, m.notes)
	}
	fmt.Println()
}
