// Package target defines where mailferry writes mail: the Target interface,
// the Message it appends, and the error values every target kind returns.
// The IMAP kind lives in target/imap.
package target
