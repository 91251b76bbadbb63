package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
)

// quitLine is what a second signal prints before the process quits.
const quitLine = "interrupted again: quitting at once; messages in flight are found and not copied twice by the next run: run the same command again to finish"

// onSignals returns a context cancelled by the first SIGINT or SIGTERM:
// the run stops reading, lets what is in flight land and records it
// (exit 130). A second signal quits at once (exit 130): the state file is
// consistent at any instant (a killed run is resumed like an interrupted
// one), so nothing is lost, only the wait for the in-flight messages is
// cut short. stop releases the signals.
func onSignals(root *cobra.Command, stderr io.Writer, exit func(int)) (ctx context.Context, stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		select {
		case <-sigs:
		case <-done:
			return
		}
		cancel()
		if isTerminal(stderr) && !jsonLogs(root, os.Args[1:]) {
			fmt.Fprintf(stderr, "\nmailferry: stopping: letting the messages in flight land and recording them (Ctrl-C again quits at once)\n")
		}
		select {
		case <-sigs:
		case <-done:
			return
		}
		if jsonLogs(root, os.Args[1:]) {
			slog.New(slog.NewJSONHandler(stderr, nil)).Warn(quitLine, "exit", exitInterrupted)
		} else {
			fmt.Fprintf(stderr, "mailferry: %s\n", quitLine)
		}
		exit(exitInterrupted)
	}()
	return ctx, func() {
		signal.Stop(sigs)
		close(done)
		cancel()
	}
}
