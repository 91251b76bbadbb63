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

// barProgress draws a bar on a terminal: bytes with ETA, messages in the
// description.
type barProgress struct {
	counts
	w   io.Writer
	bar *progressbar.ProgressBar
	log *slog.Logger
}

func newBarProgress(w io.Writer, log *slog.Logger) *barProgress {
	return &barProgress{w: w, log: log}
}

func (p *barProgress) Event(e migrate.Event) {
	if e.Kind == migrate.EventRetry || e.Kind == migrate.EventFailed {
		p.clear()
		p.log.Warn(e.Kind.String(), "source", e.Source, "message", e.Ref.ID, "error", e.Err)
	}
	if !p.count(e) {
		return
	}
	if p.bar == nil {
		p.bar = progressbar.NewOptions64(max(p.totalBytes, 1),
			progressbar.OptionSetWriter(p.w), progressbar.OptionShowBytes(true),
			progressbar.OptionSetPredictTime(true),
			progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionSetWidth(30), progressbar.OptionShowElapsedTimeOnFinish(),
			progressbar.OptionClearOnFinish())
	}
	if e.Kind == migrate.EventListed {
		p.bar.ChangeMax64(max(p.totalBytes, 1))
	}
	p.bar.Describe(fmt.Sprintf("%d/%d messages, %s of %s", p.doneMessages, p.totalMessages, humanBytes(p.doneBytes), humanBytes(p.totalBytes)))
	p.bar.Set64(min(p.doneBytes, p.totalBytes))
}

func (p *barProgress) clear() {
	if p.bar != nil {
		p.bar.Clear()
	}
}

func (p *barProgress) Done() {
	if p.bar != nil {
		p.bar.Finish()
		p.bar.Exit()
	}
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
		"msgs_per_s", fmt.Sprintf("%.1f", float64(p.doneMessages)/max(secs, 0.001)))
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
