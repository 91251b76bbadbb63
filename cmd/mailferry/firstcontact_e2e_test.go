package main

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// interruptedLine is what a run stopped by a signal says last.
var interruptedLine = regexp.MustCompile(`interrupted: (\d+) of (\d+) copied; run the same command again to finish`)

// TestDovecotSignalSaysWhatToDo stops a run with SIGTERM, the next with
// SIGINT: each exits 130 saying how far it got and to run the same
// command again, with no "context canceled"; a third run finishes.
func TestDovecotSignalSaysWhatToDo(t *testing.T) {
	var seed [][]byte
	for i := range 1200 {
		seed = append(seed, mail(fmt.Sprintf("sig%04d@example.org", i), "signal", strings.Repeat("body line\r\n", 200)))
	}
	e := newE2E(t, seed)
	for i, sig := range []os.Signal{syscall.SIGTERM, os.Interrupt} {
		cmd, out := e.start(nil)
		exited := make(chan struct{})
		go func() { cmd.Wait(); close(exited) }()
		if !waitFor(out, "msg=listed", exited, 30*time.Second) {
			t.Fatalf("%v: no listing before the end:\n%s", sig, out)
		}
		time.Sleep(300 * time.Millisecond) // some copied
		cmd.Process.Signal(sig)
		select {
		case <-exited:
		case <-time.After(30 * time.Second):
			cmd.Process.Kill()
			t.Fatalf("mailferry did not stop within 30s of %v:\n%s", sig, out)
		}
		text := out.String()
		code := cmd.ProcessState.ExitCode()
		m := interruptedLine.FindStringSubmatch(text)
		if code != exitInterrupted || m == nil || strings.Contains(text, "context canceled") {
			t.Fatalf("%v: exit %d, want %d, %q and no \"context canceled\":\n%s", sig, code, exitInterrupted, interruptedLine, text)
		}
		copied, _ := strconv.Atoi(m[1])
		total, _ := strconv.Atoi(m[2])
		if copied > total || (i == 0 && total != len(seed)) {
			t.Errorf("%v: %q: want at most all of the %d to do (%d on the first run)", sig, m[0], total, len(seed))
		}
		t.Logf("%v: %s", sig, m[0])
	}
	if code, out := e.run(nil); code != exitOK {
		t.Fatalf("run after the interrupts: exit %d:\n%s", code, out)
	}
	wantEachOnce(t, e.target(), seed)
}

// TestDovecotSettleWaitIsShown kills a run after some APPENDs, so that it
// leaves pending records: the next run says it waits for the target to
// settle, and when it is over, in progress lines (not a raw log line of
// the engine and a silent wait).
func TestDovecotSettleWaitIsShown(t *testing.T) {
	var seed [][]byte
	for i := range 40 {
		seed = append(seed, mail(fmt.Sprintf("settle%02d@example.org", i), "settle", "body\r\n"))
	}
	e := newE2E(t, seed)
	text, _ := os.ReadFile(e.config)
	os.WriteFile(e.config, append([]byte("settle: 1s\n"), text...), 0o600)
	cmd, killed := e.start([]string{crashEnv + "=append:5"})
	cmd.Wait()
	if !strings.Contains(killed.String(), "crash: append 5") {
		t.Fatalf("the run was not killed at the 5th APPEND:\n%s", killed)
	}
	code, out := e.run(nil)
	if code != exitOK {
		t.Fatalf("run after the kill: exit %d:\n%s", code, out)
	}
	waiting := strings.Index(out, `msg="waiting for the target to store what the interrupted run sent" pending=`)
	settled := strings.Index(out, `msg="the target settled; looking for the interrupted run's messages"`)
	if waiting < 0 || settled < waiting || !strings.Contains(out, "wait_at_least=1s") {
		t.Fatalf("the settle wait is not shown as it starts and ends:\n%s", out)
	}
	wantEachOnce(t, e.target(), seed)
}

// TestDovecotNoSummaryBeforeTheRun: a login that fails has no summary of
// zeros after it, in text or in JSON; with -q --log-format json every
// line is JSON, the error too; a run in JSON mode writes its summary as
// JSON.
func TestDovecotNoSummaryBeforeTheRun(t *testing.T) {
	seed, _ := trickyMail(false)
	e := newE2E(t, seed)
	for _, args := range [][]string{nil, {"-q", "--log-format", "json"}, {"--log-format", "json"}} {
		code, out := e.run([]string{"MAILFERRY_SOURCE_PASSWORD=wrong"}, args...)
		if code != exitConnect {
			t.Fatalf("%v: exit %d, want %d:\n%s", args, code, exitConnect, out)
		}
		for _, no := range []string{"failed:", `"failed"`, "copied:", `"summary"`} {
			if strings.Contains(out, no) {
				t.Errorf("%v: a summary of a run that never started (%s):\n%s", args, no, out)
			}
		}
		if len(args) > 0 {
			allJSON(t, out)
			if !strings.Contains(out, `"level":"ERROR"`) || !strings.Contains(out, `"exit":3`) {
				t.Errorf("%v: no JSON error line with the exit code:\n%s", args, out)
			}
		}
	}
	code, out := e.run(nil, "--log-format", "json")
	if code != exitOK || !strings.Contains(out, `"msg":"summary"`) {
		t.Fatalf("json run: exit %d, want 0 and a JSON summary:\n%s", code, out)
	}
	allJSON(t, out)
}

// TestDovecotSummaryNamesEnds: the summary names the sources and the
// target, gives the rate in MiB/s, and no rate on a run with nothing to
// do.
func TestDovecotSummaryNamesEnds(t *testing.T) {
	seed, _ := trickyMail(false)
	e := newE2E(t, seed)
	code, out := e.run(nil)
	for _, want := range []string{
		"sources:         pop3s://alice@" + e.dc.POP3SAddr + "\n",
		"target:          imaps://bob@" + e.dc.IMAPSAddr + "\n",
		" MiB/s\n",
	} {
		if code != exitOK || !strings.Contains(out, want) {
			t.Errorf("exit %d, want 0 and %q:\n%s", code, want, out)
		}
	}
	if strings.Contains(out, "KiB/s") || strings.Contains(out, " B/s") {
		t.Errorf("a rate in another unit than MiB/s:\n%s", out)
	}
	code, out = e.run(nil)
	if code != exitOK || strings.Contains(out, "msgs/s") || strings.Contains(out, "MiB/s") || !strings.Contains(out, "time:") {
		t.Errorf("nothing to do: exit %d, want 0, a time and no rate:\n%s", code, out)
	}
}

// TestDovecotStateBesideConfig runs from another working directory with
// state: ./mailferry.db in the config: the state file is beside the config
// file, the log says so once, and a second run from yet another
// directory finds it (nothing copied again).
func TestDovecotStateBesideConfig(t *testing.T) {
	seed, _ := trickyMail(false)
	e := newE2E(t, seed)
	text, _ := os.ReadFile(e.config)
	text = bytes.Replace(text, []byte("state: "+filepath.Join(e.dir, "state.db")), []byte("state: ./mailferry.db"), 1)
	os.WriteFile(e.config, text, 0o600)
	run := func() (int, string) {
		t.Helper()
		exe, _ := os.Executable()
		cmd := exec.Command(exe, "migrate", "--config", e.config)
		cmd.Dir = t.TempDir()
		cmd.Env = append(os.Environ(), "MAILFERRY_TEST_AS_MAIN=1",
			"MAILFERRY_SOURCE_PASSWORD="+popPass, "MAILFERRY_TARGET_PASSWORD="+imapPass)
		out, _ := cmd.CombinedOutput()
		return cmd.ProcessState.ExitCode(), string(out)
	}
	want := filepath.Join(e.dir, "mailferry.db")
	for i := range 2 {
		code, out := run()
		if code != exitOK || strings.Count(out, "relative to the config file's directory: using "+want) != 1 {
			t.Fatalf("run %d: exit %d, want 0 and the state path said once:\n%s", i, code, out)
		}
		if i == 1 && !strings.Contains(out, "copied:          0 (") {
			t.Fatalf("second run from elsewhere copied again:\n%s", out)
		}
	}
	if _, err := os.Stat(want); err != nil {
		t.Fatalf("no state file beside the config: %v", err)
	}
}

// TestDovecotSecondSignalQuits interrupts a run whose target stopped
// answering: the first signal leaves the run waiting for the answers to
// the APPENDs in flight; the second quits at once (exit 130, saying so)
// instead of being swallowed. The next run finishes with every message
// once.
func TestDovecotSecondSignalQuits(t *testing.T) {
	var seed [][]byte
	for i := range 1200 {
		seed = append(seed, mail(fmt.Sprintf("twice%04d@example.org", i), "twice", strings.Repeat("body line\r\n", 200)))
	}
	e := newE2E(t, seed)
	p := newStallProxy(t, e.dc.IMAPSAddr)
	text, _ := os.ReadFile(e.config)
	os.WriteFile(e.config, bytes.Replace(text, []byte(e.dc.IMAPSAddr), []byte(p.addr), 1), 0o600)
	cmd, out := e.start(nil)
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	if !waitFor(out, "msg=listed", exited, 30*time.Second) {
		t.Fatalf("no listing before the end:\n%s", out)
	}
	time.Sleep(300 * time.Millisecond) // some copied
	p.stall()
	cmd.Process.Signal(os.Interrupt)
	select {
	case <-exited:
		t.Fatalf("the first signal ended a run whose target does not answer: nothing to test:\n%s", out)
	case <-time.After(time.Second):
	}
	cmd.Process.Signal(os.Interrupt)
	select {
	case <-exited:
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("a second signal did not end the run within 30s:\n%s", out)
	}
	if code := cmd.ProcessState.ExitCode(); code != exitInterrupted || !strings.Contains(out.String(), quitLine) {
		t.Fatalf("exit %d, want %d and %q:\n%s", code, exitInterrupted, quitLine, out)
	}
	p.close()
	os.WriteFile(e.config, text, 0o600)
	if code, out := e.run(nil); code != exitOK {
		t.Fatalf("run after the second signal: exit %d:\n%s", code, out)
	}
	wantEachOnce(t, e.target(), seed)
}

// stallProxy forwards loopback TCP connections to a server until stall,
// after which it forwards nothing either way and keeps the connections
// open: a server that stopped answering.
type stallProxy struct {
	addr    string
	ln      net.Listener
	stalled chan struct{}
	once    sync.Once
	mu      sync.Mutex
	conns   []net.Conn
}

func newStallProxy(t *testing.T, server string) *stallProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &stallProxy{addr: ln.Addr().String(), ln: ln, stalled: make(chan struct{})}
	t.Cleanup(p.close)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s, err := net.Dial("tcp", server)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, s)
			p.mu.Unlock()
			go p.pipe(s, c)
			go p.pipe(c, s)
		}
	}()
	return p
}

// pipe copies from src to dst until stall or an error.
func (p *stallProxy) pipe(dst, src net.Conn) {
	buf := make([]byte, 16<<10)
	for {
		n, err := src.Read(buf)
		select {
		case <-p.stalled: // drop the bytes, keep the connections open
			return
		default:
		}
		if n > 0 {
			if _, err := dst.Write(buf[:n]); err != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

func (p *stallProxy) stall() { p.once.Do(func() { close(p.stalled) }) }

func (p *stallProxy) close() {
	p.stall()
	p.ln.Close()
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}
