package bench

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// BuildMailferry builds ./cmd/mailferry into dir and returns the binary.
// With MAILFERRY_BENCH_PROFILE=dir set, the binary writes CPU profiles
// into dir (see profileOverlay).
func BuildMailferry(ctx context.Context, dir string) (string, error) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "mailferry")
	args := []string{"build", "-o", bin}
	ov, err := profileOverlay(dir)
	if err != nil {
		return "", err
	}
	if ov != "" {
		args = append(args, ov)
	}
	cmd := exec.CommandContext(ctx, goBin, append(args, "github.com/mailferry/mailferry/cmd/mailferry")...)
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build: %v\n%s", err, out)
	}
	return bin, nil
}

// A Job is one `mailferry migrate` run: plain IMAP and POP3 on loopback,
// everything else at its default.
type Job struct {
	Bin        string
	Dir        string // holds the config and the state file
	Target     string // IMAP host:port
	TargetUser string
	TargetPass string
	Source     string // POP3 host:port
	SourceUser string
	SourcePass string
	// Sources, when set, replaces the POP3 source: the YAML list items
	// of the config's sources (for archive sources).
	Sources string
}

// A Result is what one run of the child took and printed.
type Result struct {
	Wall   time.Duration // from start to exit of the child
	MaxRSS int64         // peak resident set of mailferry, in bytes
	// RSSFloor is the wrapper's RSS when it started mailferry: MaxRSS
	// cannot be measured below it (see rss.go).
	RSSFloor int64
	CPU      time.Duration // user + system CPU time of mailferry
	Copied   int           // "copied:" of the summary
	Engine   time.Duration // "time:" of the summary: the engine's own span
	Output   string        // stdout and stderr
	ExitErr  error
}

// Config returns the YAML the child reads.
func (j *Job) Config() string {
	if j.Sources != "" {
		return fmt.Sprintf("state: %q\ntarget:\n  url: %q\n  tls: none\n  allow_plaintext: true\nsources:\n%s",
			filepath.Join(j.Dir, "state.db"), "imap://"+j.TargetUser+"@"+j.Target, j.Sources)
	}
	return fmt.Sprintf(`state: %q
target:
  url: %q
  tls: none
  allow_plaintext: true
sources:
  - url: %q
    tls: none
    allow_plaintext: true
    folder: INBOX
`, filepath.Join(j.Dir, "state.db"), "imap://"+j.TargetUser+"@"+j.Target, "pop3://"+j.SourceUser+"@"+j.Source)
}

// Run writes the config and runs `mailferry migrate` once, through the
// RSS wrapper: the running binary must be a test binary whose TestMain
// calls RSSWrapperMain when IsRSSWrapper. Passwords go through the
// environment; MAILFERRY_* variables of the caller are left out so that
// they cannot change the job.
func (j *Job) Run(ctx context.Context) (*Result, error) {
	cfg := filepath.Join(j.Dir, "mailferry.yaml")
	if err := os.WriteFile(cfg, []byte(j.Config()), 0o600); err != nil {
		return nil, err
	}
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	rssFile := filepath.Join(j.Dir, "rss")
	os.Remove(rssFile)
	cmd := exec.CommandContext(ctx, self, j.Bin, "migrate", "--config", cfg)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "MAILFERRY_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, rssEnv+"="+rssFile,
		"MAILFERRY_SOURCE_PASSWORD="+j.SourcePass, "MAILFERRY_TARGET_PASSWORD="+j.TargetPass)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	err = cmd.Run()
	res := &Result{Wall: time.Since(start), Output: out.String(), ExitErr: err}
	res.Copied, res.Engine = parseSummary(res.Output)
	if err != nil {
		return res, fmt.Errorf("mailferry: %w\n%s", err, res.Output)
	}
	u, err := readUsage(rssFile)
	if err != nil {
		return res, fmt.Errorf("peak RSS: %w", err)
	}
	res.MaxRSS, res.RSSFloor, res.CPU = u.maxRSS, u.floor, u.user+u.sys
	return res, nil
}

var (
	copiedRe = regexp.MustCompile(`(?m)^copied:\s+(\d+)`)
	timeRe   = regexp.MustCompile(`(?m)^time:\s+(\S+),`)
)

// parseSummary reads the copied count and the engine's time from the
// summary; -1 and 0 when missing.
func parseSummary(out string) (copied int, engine time.Duration) {
	copied = -1
	if m := copiedRe.FindStringSubmatch(out); m != nil {
		copied, _ = strconv.Atoi(m[1])
	}
	if m := timeRe.FindStringSubmatch(out); m != nil {
		engine, _ = time.ParseDuration(m[1])
	}
	return copied, engine
}
