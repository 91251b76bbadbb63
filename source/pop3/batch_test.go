package pop3

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/mailferry/mailferry/source"
	"github.com/mailferry/mailferry/source/pop3/pop3test"
)

func TestBatchEarlyReturnStaysInSync(t *testing.T) {
	msgs := pop3test.SampleMessages(30)
	srv := newServer(t, pop3test.Options{}, msgs)
	opts := plainOptions(srv)
	opts.Pipeline = 4
	s := dial(t, opts)
	refs := listAll(t, s)

	// fn reads only a few bytes of every other message.
	i := 0
	err := s.OpenBatch(context.Background(), refs, func(ref source.Ref, r io.Reader) error {
		want := msgs[i]
		if i%2 == 1 {
			want = want[:7]
		}
		got := make([]byte, len(want))
		if _, err := io.ReadFull(r, got); err != nil {
			return err
		}
		checkBytes(t, fmt.Sprintf("message %d", i+1), got, want)
		i++
		return nil
	})
	if err != nil || i != len(refs) {
		t.Fatalf("OpenBatch() = %v after %d messages, want nil after %d", err, i, len(refs))
	}

	// fn fails at the third message, with RETRs still in flight.
	stopErr := errors.New("stop here")
	calls := 0
	err = s.OpenBatch(context.Background(), refs[10:], func(ref source.Ref, r io.Reader) error {
		calls++
		if calls == 3 {
			return stopErr
		}
		return nil
	})
	if err != stopErr || calls != 3 {
		t.Fatalf("OpenBatch() = %v after %d calls, want fn's error as is after 3", err, calls)
	}
	checkBytes(t, "message 6 after the stopped batch", readOpen(t, s, refs[5]), msgs[5])
	// The stopped batch had sent RETR for messages 1-6 (its third
	// message and a window of 4 from there): 6, the extra 3 dropped.
	if n := srv.Count("RETR"); n != 30+6+1 {
		t.Errorf("server got %d RETR, want %d (30, 6 for the stopped batch, 1)", n, 30+6+1)
	}
}

func TestPipelining(t *testing.T) {
	msgs := pop3test.SampleMessages(20)
	for _, tc := range []struct {
		name     string
		noPipe   bool
		pipeline int
		want     bool
	}{
		{"announced", false, 0, true},
		{"not announced", true, 0, false},
		{"disabled", false, 1, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := newServer(t, pop3test.Options{NoPipelining: tc.noPipe, Latency: 5 * time.Millisecond}, msgs)
			opts := plainOptions(srv)
			opts.Pipeline = tc.pipeline
			s := dial(t, opts)
			refs := listAll(t, s)
			n := 0
			err := s.OpenBatch(context.Background(), refs, func(ref source.Ref, r io.Reader) error {
				got, err := io.ReadAll(r)
				checkBytes(t, ref.ID, got, msgs[n])
				n++
				return err
			})
			if err != nil || n != len(msgs) {
				t.Fatalf("OpenBatch() = %v after %d messages, want nil after %d", err, n, len(msgs))
			}
			if q := srv.MaxQueued(); (q > 0) != tc.want {
				t.Errorf("server saw up to %d commands queued; want pipelining %v", q, tc.want)
			}
		})
	}
}

func TestContextCancelUnblocksStalledServer(t *testing.T) {
	release := make(chan struct{})
	msgs := pop3test.SampleMessages(3)
	srv := newServer(t, pop3test.Options{Fault: func(cmd, _ string) (string, bool) {
		if cmd == "RETR" {
			<-release
		}
		return "", false
	}}, msgs)
	t.Cleanup(func() { close(release) }) // runs before the server's Close
	s := dial(t, plainOptions(srv))
	refs := listAll(t, s)

	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := s.OpenBatch(ctx, refs, func(source.Ref, io.Reader) error { return nil })
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("OpenBatch() = %v, want context.DeadlineExceeded", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("OpenBatch() returned after %v, want within 3s", d)
	}
	if _, err := s.Open(context.Background(), refs[0]); err == nil {
		t.Errorf("Open() after a cancelled batch = nil error, want the session broken")
	}
}

// stallMidBody is a server that sends half a message and then nothing.
func stallMidBody(c net.Conn) {
	r := bufio.NewReader(c)
	fmt.Fprint(c, "+OK ready\r\n")
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		switch strings.TrimSpace(line) {
		case "CAPA":
			fmt.Fprint(c, "-ERR no\r\n")
		case "UIDL":
			fmt.Fprint(c, "+OK\r\n1 abc\r\n.\r\n")
		case "LIST":
			fmt.Fprint(c, "+OK\r\n1 100\r\n.\r\n")
		case "RETR 1":
			fmt.Fprint(c, "+OK\r\nSubject: half\r\n\r\nfirst half of a li")
		default:
			fmt.Fprint(c, "+OK\r\n")
		}
	}
}

func TestContextCancelMidBody(t *testing.T) {
	addr := scriptServer(t, stallMidBody)
	s := dial(t, Options{Addr: addr, TLS: TLSNone, Username: "u", Password: "p"})
	refs := listAll(t, s)
	ctx, cancel := context.WithCancel(context.Background())
	rc, err := s.Open(ctx, refs[0])
	if err != nil {
		t.Fatalf("Open() = %v, want nil", err)
	}
	time.AfterFunc(100*time.Millisecond, cancel)
	start := time.Now()
	got, err := io.ReadAll(rc)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("ReadAll() = %v, want context.Canceled", err)
	}
	if want := "Subject: half\r\n\r\nfirst half of a li"; string(got) != want {
		t.Errorf("ReadAll() read %q, want %q", got, want)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("ReadAll() returned after %v, want within 3s", d)
	}
	if err := rc.Close(); !errors.Is(err, context.Canceled) {
		t.Errorf("Close() = %v, want context.Canceled", err)
	}
}

func TestIdleTimeout(t *testing.T) {
	addr := scriptServer(t, stallMidBody)
	opts := Options{Addr: addr, TLS: TLSNone, Username: "u", Password: "p", Timeout: 300 * time.Millisecond}
	s := dial(t, opts)
	refs := listAll(t, s)
	start := time.Now()
	err := s.OpenBatch(context.Background(), refs, func(_ source.Ref, r io.Reader) error {
		_, err := io.Copy(io.Discard, r)
		return err
	})
	var ne net.Error
	if !isTemporary(err) || !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("OpenBatch() = %v, want a temporary timeout", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("OpenBatch() returned after %v, want about 300ms", d)
	}
}

func TestServerClosesMidBody(t *testing.T) {
	addr := scriptServer(t, func(c net.Conn) {
		r := bufio.NewReader(c)
		fmt.Fprint(c, "+OK ready\r\n")
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				return
			}
			if strings.HasPrefix(line, "RETR") {
				fmt.Fprint(c, "+OK\r\nSubject: cut\r\n\r\npartial")
				return
			}
			reply, ok := map[string]string{"CAPA\r\n": "-ERR\r\n", "UIDL\r\n": "+OK\r\n1 a\r\n.\r\n", "LIST\r\n": "+OK\r\n1 9\r\n.\r\n"}[line]
			if !ok {
				reply = "+OK\r\n"
			}
			fmt.Fprint(c, reply)
		}
	})
	s := dial(t, Options{Addr: addr, TLS: TLSNone, Username: "u", Password: "p"})
	refs := listAll(t, s)
	rc, err := s.Open(context.Background(), refs[0])
	if err != nil {
		t.Fatal(err)
	}
	_, err = io.ReadAll(rc)
	if !isTemporary(err) || !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("ReadAll() = %v, want a temporary unexpected EOF", err)
	}
	rc.Close()
}

func TestDialTimeoutOnSilentServer(t *testing.T) {
	addr := scriptServer(t, func(c net.Conn) { io.Copy(io.Discard, c) })
	start := time.Now()
	_, err := Dial(context.Background(), Options{Addr: addr, TLS: TLSNone, Timeout: 200 * time.Millisecond})
	if !isTemporary(err) {
		t.Fatalf("Dial() = %v, want a temporary timeout", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("Dial() returned after %v, want about 200ms", d)
	}
}

// BenchmarkOpenBatch retrieves 200 small messages from a server 10 ms
// away, pipelined and one at a time, and reports messages per second.
func BenchmarkOpenBatch(b *testing.B) {
	msgs := pop3test.SampleMessages(200)
	for _, pipeline := range []int{1, 64} {
		b.Run(fmt.Sprintf("pipeline=%d", pipeline), func(b *testing.B) {
			srv := newServer(b, pop3test.Options{Latency: 10 * time.Millisecond}, msgs)
			opts := plainOptions(srv)
			opts.Pipeline = pipeline
			s := dial(b, opts)
			refs := listAll(b, s)
			n := 0
			for b.Loop() {
				n++
				err := s.OpenBatch(context.Background(), refs, func(_ source.Ref, r io.Reader) error {
					_, err := io.Copy(io.Discard, r)
					return err
				})
				if err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(n*len(refs))/b.Elapsed().Seconds(), "msgs/s")
		})
	}
}
