package imap

import (
	"bytes"
	"net"
	"sync"
	"testing"

	"github.com/mailferry/mailferry/target"
)

// msgOf makes a message of s, without flags or date.
func msgOf(s string) target.Message {
	return target.Message{Body: bytes.NewReader([]byte(s)), Size: int64(len(s))}
}

// listenSilent accepts connections on 127.0.0.1 and never writes.
func listenSilent(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		_ = ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			_ = c.Close()
		}
	})
	return ln.Addr().String()
}
