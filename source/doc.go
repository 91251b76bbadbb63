// Package source defines what mailferry reads mail from: the Source
// interface, the Ref that names one message stably across runs, and the
// error values every source kind returns. Each kind lives in a subpackage:
// source/pop3 (a POP3 maildrop), source/mbox, source/maildir, source/eml
// (.eml and .emlx files) and source/thunderbird (a Thunderbird profile's
// local folders). Every kind runs the conformance suite source/sourcetest.
package source
