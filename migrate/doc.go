// Package migrate is mailferry's engine: it lists the messages of each
// source, reads them once, decides by identity and state whether each is
// new, appends the new ones to the target and records every step in the
// state so that a run killed at any instant can be re-run to the same end
// with each message copied once.
//
// One message goes through: read from the source into a spool (memory, or
// a temp file past a threshold) while its identity is computed; claim its
// key so that no two uploaders handle the same message at once; look it up
// in the state and in the target folder's index; record it as pending,
// durably; append it; commit the UID the server gave it. At start, pending
// records left by a killed run are resolved by asking the target.
//
// Run (run.go) goes through the stages, each a type in the file named
// after it: plan (the target's folders), recover (pending records), then
// for every message read, prepare, upload and commit, and last delete
// (from sources with a DeletePolicy). Whether a message is new is decided
// in dedup.go; where it is on the target in locate.go; every retry takes
// its budget from retry.go. Verify (verify.go) reads as Run does and
// compares.
//
// The package knows no protocol, file format, terminal or database file:
// sources, the target and the state come in through interfaces.
package migrate
