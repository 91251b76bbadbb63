package main

import (
	"context"
	"log/slog"

	"github.com/mailferry/mailferry/migrate"
	"github.com/mailferry/mailferry/migrate/job"
)

// testHookJob, when set (only by this package's tests, in a child process
// they start), may wrap the migrator's target, state and sources, for
// example to kill the process at exact instants.
var testHookJob func(*migrate.Migrator)

// buildJob builds the job c describes (see job.Build).
func buildJob(ctx context.Context, c *Config, dryRun bool, log *slog.Logger) (*job.Job, error) {
	jc, err := c.jobConfig()
	if err != nil {
		return nil, err
	}
	jc.DryRun = dryRun
	j, err := job.Build(ctx, jc, log)
	if err != nil {
		return nil, usageError(err)
	}
	if testHookJob != nil {
		testHookJob(j.Migrator)
	}
	return j, nil
}
