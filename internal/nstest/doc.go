// Package nstest runs a mail server for tests in a private mount and PID
// namespace, from Debian packages unpacked into a cache directory (see
// .ci/servers), on loopback, without installing anything or changing the host.
//
// The server's package root is overlaid on /usr (read-only), /etc and /var
// (writable, changes kept in a tmpfs of the namespace, so users added there
// exist only there), /run is a fresh tmpfs, and /dev/log is a datagram
// socket the test process reads, so that daemons that log only to syslog
// (Cyrus, popa3d, Courier's authdaemond) are visible in the test log.
//
// Stopping kills exactly the processes of that instance: the first process
// of the namespace is its PID 1, and when it ends the kernel ends every
// other process of the namespace. It is started with a parent-death signal,
// so a test binary that dies (timeout panic, kill -9) takes its servers
// along.
//
// The servers need root (mounts, PAM, setuid). Need turns "cannot run here"
// into a skip, or into a failure when the environment has CI=true.
//
// The harnesses built on it (internal/cyrustest, internal/couriertest,
// internal/popa3dtest) share its Start (Need, start, stop in t.Cleanup),
// NS.StartSteps (prepare, launch on fresh ports again while one was
// taken, check), CheckStop and CheckBusyPortRetried; what needs no
// namespace (free ports, the retry, log tails, reaping) is in
// internal/harness, which internal/dovecottest uses too.
package nstest
