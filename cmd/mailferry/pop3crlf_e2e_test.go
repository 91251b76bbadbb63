package main

import (
	"bytes"
	"testing"
)

// TestPOP3StoredCRLFIntoDovecot: a message whose file holds CR LF line
// ends (a Maildir file or an mbox written with CR LF) is served by
// courier-pop and popa3d with CR CR LF everywhere, its header's end
// included; Dovecot stores CR LF. Such a copy must be recognised: verify
// OK, and a run with the state file lost copies nothing. (When
// migrate/identity took only "\n" and "\r\n" for the empty line that
// ends a header, the served message was all header: verify reported it
// "differing" and a run with the state lost copied it again.)
func TestPOP3StoredCRLFIntoDovecot(t *testing.T) {
	drop := []dropMsg{
		{name: "stored-crlf", raw: true, text: mail("crlf@pop.example", "stored with CR LF", "line one\r\nline two\r\n")},
		{name: "plain", text: mail("plain@pop.example", "plain", "plain\r\n")},
	}
	for _, name := range []string{"courier", "popa3d"} {
		t.Run(name, func(t *testing.T) {
			src := startPOP3Source(t, name, drop)
			served := retrAll(t, src.addr, "alice", popPass)
			want := bytes.ReplaceAll(drop[0].text, []byte("\n"), []byte("\r\n"))
			if name == "popa3d" {
				// popa3d sees no empty line in the message (CR LF is not
				// one to it), takes the empty line before the next "From "
				// for the header's end and serves it.
				want = append(want, "\r\n"...)
			}
			if !bytes.Equal(served[0].body, want) {
				t.Fatalf("RETR 1 = %q, want %q", served[0].body, want)
			}
			src.served = func(b []byte) []byte { return b }
			src.stored = func() [][]byte { return [][]byte{served[0].body, served[1].body} }
			testPOP3Source(t, src)
		})
	}
}
