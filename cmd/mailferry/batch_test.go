package main

import (
	"bytes"
	"testing"
)

func TestStatusWriter(t *testing.T) {
	var b bytes.Buffer
	s := &statusWriter{w: &b}
	s.Write([]byte("first\n"))
	s.set("3/6 done")
	s.Write([]byte("second\n"))
	s.set("")
	want := "first\n\r\x1b[K3/6 done\r\x1b[Ksecond\n3/6 done\r\x1b[K"
	if b.String() != want {
		t.Errorf("wrote %q, want %q", b.String(), want)
	}
}
