// Package source defines what mailferry reads mail from: the Source
// interface, the Ref that names one message stably across runs, and the
// error values every source kind returns. Each kind lives in a subpackage
// (source/pop3, and later source/mbox, source/maildir, ...).
package source
