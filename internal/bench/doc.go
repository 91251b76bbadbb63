// Package bench measures mailferry's speed and memory against a private
// Dovecot, beside the ceiling a bare IMAP client reaches on the same server.
//
// The benchmark is BenchmarkMigrate (`make bench`, which runs
//
//	go test -run '^$' -bench . -benchtime 1x -timeout 30m ./internal/bench/
//
// ). It generates a realistic mailbox (Generate), seeds it into a POP3
// user, and compares, on loopback and through a proxy that adds a 20 ms
// round trip (Proxy):
//
//   - a bare client (Client: net + bufio, no go-imap) that pipelines
//     APPENDs with LITERAL+ on one connection: the ceiling of Dovecot's
//     write path;
//   - the bare client with 1 or 8 connections, each waiting for the
//     continuation request of a synchronizing literal and for the answer
//     before the next APPEND, as go-imap does;
//   - mailferry itself, built and run as a child process (`mailferry
//     migrate`) so that its peak RSS can be read, and run a second time
//     with nothing new to copy.
//
// Every scenario runs once per round, rounds interleaved (-rounds, default
// 3), and a ratio compares figures of the same round: on a small VM the
// server's cost per APPEND drifts by several times within a minute. The
// table gives medians.
//
// It reports figures and never asserts on time; it fails only when the
// target does not hold exactly the expected messages afterwards. The
// helpers of this package exist for the benchmark and its quick tests.
// MAILFERRY_BENCH_BIN measures a given mailferry binary instead of
// building ./cmd/mailferry.
package bench
