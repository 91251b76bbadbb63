package main

import (
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/mailferry/mailferry/migrate"
)

// A progress shows a run as it goes. Event is called one event at a time.
type progress interface {
	Event(e migrate.Event)
	Done()
}

// counts is what every progress display tracks.
type counts struct {
	totalMessages, doneMessages int
	totalBytes, doneBytes       int64
}

// count counts e and reports whether it changed the counts.
func (c *counts) count(e migrate.Event) bool {
	switch e.Kind {
	case migrate.EventListed:
		c.totalMessages += e.Count
		c.totalBytes += e.Bytes
	case migrate.EventFiltered:
		if e.Bytes == 0 {
			return false // left out at the listing: not in the totals
		}
		c.doneMessages++
		c.totalBytes += e.Bytes - e.Ref.ApproxSize()
		c.doneBytes += e.Bytes
	case migrate.EventCopied, migrate.EventRestored, migrate.EventPresent, migrate.EventDuplicate, migrate.EventFailed,
		migrate.EventVanished:
		// The listing counted the size the source announced, perhaps an
		// estimate; a message that was read counts its real bytes, in
		// the total too, so that the totals end exact.
		c.doneMessages++
		size := e.Ref.ApproxSize()
		if e.Bytes > 0 {
			c.totalBytes += e.Bytes - size
			size = e.Bytes
		}
		c.doneBytes += size
	default:
		return false
	}
	return true
}

// barProgress draws a bar on a terminal: bytes, with messages, the rate
// and the time in words after it.
type barProgress struct {
	counts
	w      io.Writer
	bar    *progressbar.ProgressBar
	log    *slog.Logger
	start  time.Time
	status *statusLine // the settle wait, while it lasts
}

func newBarProgress(w io.Writer, log *slog.Logger) *barProgress {
	return &barProgress{w: w, log: log}
}

func (p *barProgress) Event(e migrate.Event) {
	if p.status != nil && e.Kind != migrate.EventSettling {
		p.status.Stop()
		p.status = nil
	}
	if e.Kind == migrate.EventSettling {
		start := time.Now()
		p.status = startStatus(p.w, 200*time.Millisecond, func() string {
			return settleText(e.Count, time.Since(start), e.Wait)
		})
		return
	}
	if e.Kind == migrate.EventRetry || e.Kind == migrate.EventFailed {
		p.clear()
		p.log.Warn(e.Kind.String(), "source", e.Source, "message", e.Ref.ID, "error", e.Err)
	}
	if !p.count(e) {
		return
	}
	if p.bar == nil {
		p.start = time.Now()
		p.bar = progressbar.NewOptions64(max(p.totalBytes, 1),
			progressbar.OptionSetWriter(p.w),
			progressbar.OptionSetPredictTime(false), progressbar.OptionSetElapsedTime(false),
			progressbar.OptionShowDescriptionAtLineEnd(),
			progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionSetWidth(30),
			progressbar.OptionClearOnFinish())
	}
	if e.Kind == migrate.EventListed {
		p.bar.ChangeMax64(max(p.totalBytes, 1))
	}
	p.bar.Describe(barText(p.counts, time.Since(p.start)))
	p.bar.Set64(min(p.doneBytes, p.totalBytes))
}

// barText is what follows the bar: messages and MiB done of all, the rate
// in MiB/s (the summary's unit), the time elapsed and the time left.
func barText(c counts, elapsed time.Duration) string {
	const mib = 1 << 20
	text := fmt.Sprintf("%d/%d messages, %.1f of %.1f MiB", c.doneMessages, c.totalMessages,
		float64(c.doneBytes)/mib, float64(c.totalBytes)/mib)
	secs := elapsed.Seconds()
	if secs < 1 || c.doneBytes == 0 {
		return text
	}
	text += ", " + mibPerSecond(c.doneBytes, secs) + ", elapsed " + elapsed.Round(time.Second).String()
	left := time.Duration(float64(max(c.totalBytes-c.doneBytes, 0)) / (float64(c.doneBytes) / secs) * float64(time.Second))
	return text + ", left " + left.Round(time.Second).String()
}

// settleText is the status line of the settle wait.
func settleText(pending int, waited, wait time.Duration) string {
	return fmt.Sprintf("waiting for the target to store what the interrupted run sent (%d message(s) to look for): %s of at least %s",
		pending, waited.Round(time.Second), wait)
}

func (p *barProgress) clear() {
	if p.bar != nil {
		p.bar.Clear()
	}
}

func (p *barProgress) Done() {
	if p.status != nil {
		p.status.Stop()
		p.status = nil
	}
	if p.bar != nil {
		p.bar.Finish()
		p.bar.Exit()
	}
}

// statusLine is one line on a terminal, redrawn in place every tick until
// Stop clears it.
type statusLine struct {
	w    io.Writer
	stop chan struct{}
	done chan struct{}
}

func startStatus(w io.Writer, every time.Duration, text func() string) *statusLine {
	s := &statusLine{w: w, stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			fmt.Fprintf(s.w, "\r%s\x1b[K", text())
			select {
			case <-s.stop:
				fmt.Fprint(s.w, "\r\x1b[K")
				return
			case <-t.C:
			}
		}
	}()
	return s
}

// Stop clears the line and returns when nothing more is written.
func (s *statusLine) Stop() {
	close(s.stop)
	<-s.done
}

// lineProgress logs a line now and then: for logs, cron and CI.
type lineProgress struct {
	counts
	log   *slog.Logger
	every time.Duration
	last  time.Time
	start time.Time
}

func newLineProgress(log *slog.Logger, every time.Duration) *lineProgress {
	now := time.Now()
	return &lineProgress{log: log, every: every, last: now, start: now}
}

func (p *lineProgress) Event(e migrate.Event) {
	switch e.Kind {
	case migrate.EventRetry:
		p.log.Warn("retrying", "source", e.Source, "message", e.Ref.ID, "error", e.Err)
	case migrate.EventFailed:
		p.log.Warn("failed", "source", e.Source, "message", e.Ref.ID, "folder", e.Folder, "error", e.Err)
	case migrate.EventListed:
		p.log.Info("listed", "source", e.Source, "to_read", e.Count, "bytes", e.Bytes)
	case migrate.EventSettling:
		p.log.Info("waiting for the target to store what the interrupted run sent", "pending", e.Count, "wait_at_least", e.Wait)
	case migrate.EventSettled:
		p.log.Info("the target settled; looking for the interrupted run's messages", "pending", e.Count,
			"waited", e.Wait.Round(time.Millisecond))
	}
	if !p.count(e) || time.Since(p.last) < p.every {
		return
	}
	p.last = time.Now()
	p.line()
}

func (p *lineProgress) line() {
	secs := time.Since(p.start).Seconds()
	p.log.Info("progress", "done", p.doneMessages, "total", p.totalMessages, "bytes", p.doneBytes, "total_bytes", p.totalBytes,
		"msgs_per_s", fmt.Sprintf("%.1f", float64(p.doneMessages)/max(secs, 0.001)),
		"mib_per_s", fmt.Sprintf("%.2f", float64(p.doneBytes)/(1<<20)/max(secs, 0.001)))
}

func (p *lineProgress) Done() {}

// quietProgress shows nothing: the summary and warnings are enough.
type quietProgress struct{ log *slog.Logger }

func (p quietProgress) Event(e migrate.Event) {
	if e.Kind == migrate.EventFailed {
		p.log.Warn("failed", "source", e.Source, "message", e.Ref.ID, "folder", e.Folder, "error", e.Err)
	}
}

func (quietProgress) Done() {}
