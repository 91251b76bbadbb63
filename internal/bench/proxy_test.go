package bench

import (
	"bytes"
	"io"
	"math/rand/v2"
	"net"
	"testing"
	"time"
)

// echoServer answers every connection by echoing it until EOF, then
// closes.
func echoServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				io.Copy(c, c)
			}()
		}
	}()
	return ln.Addr().String()
}

func startProxy(t *testing.T, p *Proxy) *Proxy {
	t.Helper()
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// TestProxyBytes sends 4 MiB through a delaying proxy to an echo server
// and back: every byte arrives, in order, and EOF travels both ways.
func TestProxyBytes(t *testing.T) {
	p := startProxy(t, &Proxy{Upstream: echoServer(t), Delay: 2 * time.Millisecond})
	c, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	want := make([]byte, 4<<20)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range want {
		want[i] = byte(r.Uint32())
	}
	go func() {
		c.Write(want)
		c.(*net.TCPConn).CloseWrite()
	}()
	got, err := io.ReadAll(c) // ends only if the half-close went through
	if err != nil {
		t.Fatalf("ReadAll() = %v", err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("echoed %d bytes, want the %d sent, equal", len(got), len(want))
	}
}

// TestProxyDelay checks that a round trip takes at least twice Delay,
// and logs how far apart back-to-back chunks arrive: a queue keeps them
// as far apart as they were sent, a serial sleep would space them Delay
// apart.
func TestProxyDelay(t *testing.T) {
	const delay = 25 * time.Millisecond
	p := startProxy(t, &Proxy{Upstream: echoServer(t), Delay: delay})
	c, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	buf := make([]byte, 1)
	start := time.Now()
	c.Write([]byte("x"))
	if _, err := io.ReadFull(c, buf); err != nil {
		t.Fatal(err)
	}
	if rtt := time.Since(start); rtt < 2*delay {
		t.Errorf("round trip %v, want at least %v", rtt, 2*delay)
	}
	const n = 10
	go func() {
		for range n {
			c.Write([]byte("y"))
			time.Sleep(2 * time.Millisecond)
		}
	}()
	start = time.Now()
	if _, err := io.ReadFull(c, make([]byte, n)); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d chunks sent 2ms apart came back in %v (serial sleeping: >= %v)", n, time.Since(start), n*2*delay)
}

// TestProxyMatches counts a word split across reads and connections.
func TestProxyMatches(t *testing.T) {
	p := startProxy(t, &Proxy{Upstream: echoServer(t), Match: []byte("RETR ")})
	for range 2 {
		c, err := net.Dial("tcp", p.Addr())
		if err != nil {
			t.Fatal(err)
		}
		for _, part := range []string{"RETR 1\r\nRE", "TR 2\r\nR", "ETR 3\r\nLIST\r\n"} {
			c.Write([]byte(part))
			time.Sleep(5 * time.Millisecond) // separate reads, most likely
		}
		c.(*net.TCPConn).CloseWrite()
		io.Copy(io.Discard, c)
		c.Close()
	}
	if got := p.Matches(); got != 6 {
		t.Errorf("Matches() = %d, want 6", got)
	}
}

func TestCount(t *testing.T) {
	var p Proxy
	carry := p.count(nil, []byte("xxRET"), []byte("RETR "))
	carry = p.count(carry, []byte("R 1 RETR "), []byte("RETR "))
	p.count(carry, []byte("RETR"), []byte("RETR "))
	if got := p.Matches(); got != 2 {
		t.Errorf("matches = %d, want 2", got)
	}
}
