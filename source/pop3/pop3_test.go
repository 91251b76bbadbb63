package pop3

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"

	"github.com/mailferry/mailferry/source"
	"github.com/mailferry/mailferry/source/pop3/pop3test"
)

// trickyMessages are messages whose bytes a careless client changes.
func trickyMessages(t testing.TB) map[string][]byte {
	hdr := "From: a@example.org\r\nSubject: x\r\n\r\n"
	m := map[string][]byte{
		"dot lines":    []byte(hdr + ".\r\n..\r\n...\r\n.x\r\nmid.dle\r\n. \r\n.\r\n"),
		"dot last":     []byte(hdr + "body\r\n." + "\r\n"),
		"dot cr":       []byte(hdr + ".\rnot an end\r\n.\r.\r\n"),
		"10k line":     []byte(hdr + strings.Repeat("0123456789", 1000) + "\r\n"),
		"1M line":      []byte(hdr + strings.Repeat(".abcdefghi", 100_000) + "\r\n"),
		"bare LF":      []byte("From: a@example.org\nSubject: lf\n\nline one\n.\n..dots\nlast\n"),
		"mixed ending": []byte(hdr + "crlf\r\nlf\n.lf dot\ncr\rinside\r\n"),
		"NUL":          []byte(hdr + "a\x00b\r\n\x00\r\n.\x00\r\n"),
		"8-bit":        []byte("Subject: Gr\xfc\xdfe \xe2\x80\x93 Stra\xc3\x9fe\r\n\r\n\xff\xfe\x80\x81 raw\r\n"),
		"empty lines":  []byte(hdr + "\r\n\r\n\r\n"),
	}
	if !testing.Short() {
		m["25 MB"] = bigMessage(25 << 20)
	}
	return m
}

// bigMessage returns a message of about size bytes with lines of varied
// length, some starting with ".".
func bigMessage(size int) []byte {
	var b bytes.Buffer
	b.WriteString("From: big@example.org\r\nSubject: big\r\n\r\n")
	for i := 0; b.Len() < size; i++ {
		if i%13 == 0 {
			b.WriteByte('.')
		}
		b.WriteString(strings.Repeat(string(rune('a'+i%26)), 1+(i*7919)%3000))
		b.WriteString("\r\n")
	}
	return b.Bytes()
}

func TestExactBytes(t *testing.T) {
	cases := trickyMessages(t)
	var names []string
	var msgs [][]byte
	for name, m := range cases {
		names = append(names, name)
		msgs = append(msgs, m)
	}
	srv := newServer(t, pop3test.Options{}, msgs)
	s := dial(t, plainOptions(srv))
	refs := listAll(t, s)
	if len(refs) != len(msgs) {
		t.Fatalf("List() gave %d refs, want %d", len(refs), len(msgs))
	}
	for i, ref := range refs {
		if ref.Size != int64(len(msgs[i])) {
			t.Errorf("%s: Ref.Size = %d, want %d", names[i], ref.Size, len(msgs[i]))
		}
		if want := pop3test.UIDL(msgs[i], 0); ref.ID != want {
			t.Errorf("%s: Ref.ID = %q, want %q", names[i], ref.ID, want)
		}
		checkBytes(t, names[i]+" via Open", readOpen(t, s, ref), msgs[i])
	}
	i := 0
	err := s.OpenBatch(context.Background(), refs, func(ref source.Ref, r io.Reader) error {
		got, err := io.ReadAll(r)
		if err != nil {
			return err
		}
		checkBytes(t, names[i]+" via OpenBatch", got, msgs[i])
		i++
		return nil
	})
	if err != nil || i != len(refs) {
		t.Fatalf("OpenBatch() = %v after %d messages, want nil after %d", err, i, len(refs))
	}
}

func TestSampleMessagesRoundTrip(t *testing.T) {
	msgs := pop3test.SampleMessages(40)
	srv := newServer(t, pop3test.Options{}, msgs)
	s := dial(t, plainOptions(srv))
	refs := listAll(t, s)
	var got [][]byte
	err := s.OpenBatch(context.Background(), refs, func(_ source.Ref, r io.Reader) error {
		b, err := io.ReadAll(r)
		got = append(got, b)
		return err
	})
	if err != nil {
		t.Fatalf("OpenBatch() = %v, want nil", err)
	}
	if len(got) != len(msgs) {
		t.Fatalf("OpenBatch() gave %d messages, want %d", len(got), len(msgs))
	}
	for i := range msgs {
		checkBytes(t, fmt.Sprintf("sample %d", i), got[i], msgs[i])
	}
}

func TestListOrderAndCapabilities(t *testing.T) {
	msgs := pop3test.SampleMessages(5)
	srv := newServer(t, pop3test.Options{}, msgs)
	s := dial(t, plainOptions(srv))
	refs := listAll(t, s)
	for i, ref := range refs {
		want := source.Ref{ID: pop3test.UIDL(msgs[i], 0), Size: int64(len(msgs[i]))}
		if ref.ID != want.ID || ref.Size != want.Size || ref.Folder != "" {
			t.Errorf("ref %d = %+v, want %+v", i, ref, want)
		}
	}
	caps := strings.Join(s.Capabilities(), ",")
	if !strings.Contains(caps, "PIPELINING") || !strings.Contains(caps, "UIDL") {
		t.Errorf("Capabilities() = %q, want PIPELINING and UIDL", caps)
	}
	if n := srv.Count("AUTH"); n != 1 {
		t.Errorf("server got %d AUTH, want 1 (SASL PLAIN is offered)", n)
	}
}

func TestUserPass(t *testing.T) {
	msgs := pop3test.SampleMessages(2)
	srv := newServer(t, pop3test.Options{NoSASL: true}, msgs)
	s := dial(t, plainOptions(srv))
	if refs := listAll(t, s); len(refs) != 2 {
		t.Errorf("List() gave %d refs, want 2", len(refs))
	}
	if a, p := srv.Count("AUTH"), srv.Count("PASS"); a != 0 || p != 1 {
		t.Errorf("server got AUTH %d, PASS %d times; want 0 and 1", a, p)
	}
}

func TestOldServerWithoutCAPA(t *testing.T) {
	msgs := pop3test.SampleMessages(3)
	srv := newServer(t, pop3test.Options{Fault: func(cmd, _ string) (string, bool) {
		return "-ERR unknown command", cmd == "CAPA"
	}}, msgs)
	s := dial(t, plainOptions(srv))
	if caps := s.Capabilities(); len(caps) != 0 {
		t.Errorf("Capabilities() = %q, want none", caps)
	}
	refs := listAll(t, s)
	checkBytes(t, "message 3", readOpen(t, s, refs[2]), msgs[2])
	if n := srv.MaxQueued(); n != 0 {
		t.Errorf("server saw %d commands queued, want 0: no PIPELINING, no pipelining", n)
	}
}

func TestWrongPassword(t *testing.T) {
	for _, noSASL := range []bool{false, true} {
		t.Run(fmt.Sprintf("NoSASL=%v", noSASL), func(t *testing.T) {
			srv := newServer(t, pop3test.Options{NoSASL: noSASL}, nil)
			opts := plainOptions(srv)
			opts.Password = "wrong-" + testPass
			_, err := Dial(context.Background(), opts)
			if !errors.Is(err, source.ErrAuth) {
				t.Fatalf("Dial() = %v, want an error wrapping ErrAuth", err)
			}
			if isTemporary(err) {
				t.Errorf("Dial() = %v, temporary; want permanent", err)
			}
			if !strings.Contains(err.Error(), "invalid user name or password") {
				t.Errorf("Dial() = %q, want the server's text in it", err)
			}
			if strings.Contains(err.Error(), testPass) {
				t.Errorf("Dial() = %q contains the password", err)
			}
		})
	}
}

func TestPasswordEchoedByServerIsMasked(t *testing.T) {
	srv := newServer(t, pop3test.Options{NoSASL: true, Fault: func(cmd, arg string) (string, bool) {
		return "-ERR bad password " + arg, cmd == "PASS"
	}}, nil)
	_, err := Dial(context.Background(), plainOptions(srv))
	if !errors.Is(err, source.ErrAuth) || strings.Contains(err.Error(), testPass) {
		t.Fatalf("Dial() = %q, want ErrAuth without the password", err)
	}
}

func TestTemporaryReplies(t *testing.T) {
	for _, reply := range []string{"-ERR [IN-USE] locked", "-ERR [SYS/TEMP] try later", "-ERR [LOGIN-DELAY] wait"} {
		for _, cmd := range []string{"AUTH", "UIDL", "RETR"} {
			t.Run(reply+" on "+cmd, func(t *testing.T) {
				msgs := pop3test.SampleMessages(1)
				srv := newServer(t, pop3test.Options{Fault: func(c, _ string) (string, bool) { return reply, c == cmd }}, msgs)
				s, err := Dial(context.Background(), plainOptions(srv))
				if err == nil {
					defer s.Close()
					_, err = s.Open(context.Background(), source.Ref{ID: pop3test.UIDL(msgs[0], 0)})
				}
				if !isTemporary(err) {
					t.Fatalf("got %v, want a temporary error", err)
				}
				if errors.Is(err, source.ErrAuth) || errors.Is(err, source.ErrNotFound) {
					t.Errorf("got %v, want neither ErrAuth nor ErrNotFound", err)
				}
				if !strings.Contains(err.Error(), reply[len("-ERR "):]) {
					t.Errorf("got %q, want the server's text", err)
				}
			})
		}
	}
}

func TestMaildropInUse(t *testing.T) {
	srv := newServer(t, pop3test.Options{}, pop3test.SampleMessages(1))
	dial(t, plainOptions(srv))
	_, err := Dial(context.Background(), plainOptions(srv))
	if !isTemporary(err) || !strings.Contains(err.Error(), "IN-USE") {
		t.Fatalf("second Dial() = %v, want a temporary [IN-USE] error", err)
	}
	if errors.Is(err, source.ErrAuth) {
		t.Errorf("second Dial() = %v wraps ErrAuth, want not", err)
	}
}

func TestRetrRefused(t *testing.T) {
	msgs := pop3test.SampleMessages(3)
	srv := newServer(t, pop3test.Options{Fault: func(cmd, arg string) (string, bool) {
		return "-ERR no such message", cmd == "RETR" && arg == "2"
	}}, msgs)
	s := dial(t, plainOptions(srv))
	refs := listAll(t, s)
	_, err := s.Open(context.Background(), refs[1])
	if !errors.Is(err, source.ErrNotFound) || !strings.Contains(err.Error(), "no such message") {
		t.Fatalf("Open(message 2) = %v, want ErrNotFound with the server's text", err)
	}
	var seen []string
	err = s.OpenBatch(context.Background(), refs, func(ref source.Ref, r io.Reader) error {
		seen = append(seen, ref.ID)
		return nil
	})
	if !errors.Is(err, source.ErrNotFound) || len(seen) != 1 || seen[0] != refs[0].ID {
		t.Fatalf("OpenBatch() = %v after %d messages, want ErrNotFound after message 1", err, len(seen))
	}
	checkBytes(t, "message 3 after the refusal", readOpen(t, s, refs[2]), msgs[2])
	_, err = s.Open(context.Background(), source.Ref{ID: "no-such-uidl"})
	if !errors.Is(err, source.ErrNotFound) {
		t.Errorf("Open(unknown ID) = %v, want ErrNotFound", err)
	}
}

func TestOpenBeforeList(t *testing.T) {
	msgs := pop3test.SampleMessages(4)
	srv := newServer(t, pop3test.Options{}, msgs)
	s := dial(t, plainOptions(srv))
	got := readOpen(t, s, source.Ref{ID: pop3test.UIDL(msgs[3], 0)})
	checkBytes(t, "message 4", got, msgs[3])
}

func TestNoUIDL(t *testing.T) {
	msgs := pop3test.SampleMessages(6)
	msgs = append(msgs, msgs[2]) // a byte-identical copy
	srv := newServer(t, pop3test.Options{NoUIDL: true}, msgs)
	s := dial(t, plainOptions(srv))
	err := s.List(context.Background(), func(source.Ref) error { return nil })
	if err == nil || !strings.Contains(err.Error(), "allow_no_uidl") {
		t.Fatalf("List() = %v, want an error naming allow_no_uidl", err)
	}
	s.Close()

	opts := plainOptions(srv)
	opts.AllowNoUIDL = true
	s = dial(t, opts)
	refs := listAll(t, s)
	if n := srv.Count("RETR"); n != len(msgs) {
		t.Errorf("server got %d RETR during List, want %d", n, len(msgs))
	}
	if len(refs) != 6 {
		t.Fatalf("List() gave %d refs, want 6 (the identical copy left out)", len(refs))
	}
	for i, ref := range refs {
		sum := sha256.Sum256(msgs[i])
		if want := "sha256:" + hex.EncodeToString(sum[:]); ref.ID != want || ref.Size != int64(len(msgs[i])) {
			t.Errorf("ref %d = %+v, want ID %s, Size %d", i, ref, want, len(msgs[i]))
		}
	}
	checkBytes(t, "message 5", readOpen(t, s, refs[4]), msgs[4])
}

func TestCloseSendsQuitNeverDele(t *testing.T) {
	msgs := pop3test.SampleMessages(3)
	srv := newServer(t, pop3test.Options{}, msgs)
	s := dial(t, plainOptions(srv))
	for _, ref := range listAll(t, s) {
		readOpen(t, s, ref)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close() = %v, want nil", err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close() = %v, want nil", err)
	}
	if q, d := srv.Count("QUIT"), srv.Count("DELE"); q != 1 || d != 0 {
		t.Errorf("server got QUIT %d, DELE %d times; want 1 and 0", q, d)
	}
	if got := srv.Messages(testUser); len(got) != 3 {
		t.Errorf("maildrop holds %d messages after the session, want 3", len(got))
	}
	if _, err := s.Open(context.Background(), source.Ref{ID: "x"}); err == nil {
		t.Errorf("Open() after Close = nil error, want one")
	}
}

func TestOpenReaderMustBeClosed(t *testing.T) {
	msgs := pop3test.SampleMessages(3)
	srv := newServer(t, pop3test.Options{}, msgs)
	s := dial(t, plainOptions(srv))
	refs := listAll(t, s)
	rc, err := s.Open(context.Background(), refs[0])
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Open(context.Background(), refs[1]); err == nil {
		t.Errorf("Open() with a reader open = nil error, want one")
	}
	buf := make([]byte, 10)
	if _, err := io.ReadFull(rc, buf); err != nil {
		t.Fatal(err)
	}
	if err := rc.Close(); err != nil {
		t.Fatalf("Close() of a half-read message = %v, want nil", err)
	}
	checkBytes(t, "message 2 after a half-read one", readOpen(t, s, refs[1]), msgs[1])
}

func TestSTLS(t *testing.T) {
	cert, pool := testCert(t)
	msgs := pop3test.SampleMessages(3)
	srv := newServer(t, pop3test.Options{TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}}}, msgs)
	opts := plainOptions(srv)
	opts.TLS = TLSStartTLS
	opts.TLSConfig = &tls.Config{RootCAs: pool}
	s := dial(t, opts)
	if _, ok := s.conn.(*tls.Conn); !ok {
		t.Fatalf("connection is %T after STLS, want *tls.Conn", s.conn)
	}
	for _, c := range s.Capabilities() {
		if c == "STLS" {
			t.Errorf("Capabilities() after STLS = %q, want the list asked again under TLS", s.Capabilities())
		}
	}
	refs := listAll(t, s)
	checkBytes(t, "message 2 over STLS", readOpen(t, s, refs[1]), msgs[1])
}

func TestSTLSRequired(t *testing.T) {
	srv := newServer(t, pop3test.Options{}, nil)
	opts := plainOptions(srv)
	opts.TLS = TLSStartTLS
	_, err := Dial(context.Background(), opts)
	if err == nil || !strings.Contains(err.Error(), "STLS") {
		t.Fatalf("Dial() = %v, want an error about missing STLS", err)
	}
	if srv.Count("USER")+srv.Count("AUTH") != 0 {
		t.Errorf("credentials were sent in plaintext")
	}
}

func TestSTLSInjectionRefused(t *testing.T) {
	cert, pool := testCert(t)
	srv := newServer(t, pop3test.Options{
		TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}},
		Fault: func(cmd, _ string) (string, bool) {
			return "+OK\r\n-ERR injected", cmd == "STLS"
		},
	}, nil)
	opts := plainOptions(srv)
	opts.TLS = TLSStartTLS
	opts.TLSConfig = &tls.Config{RootCAs: pool}
	_, err := Dial(context.Background(), opts)
	if err == nil || !strings.Contains(err.Error(), "injection") {
		t.Fatalf("Dial() = %v, want the injection refused", err)
	}
	if isTemporary(err) {
		t.Errorf("Dial() = %v is temporary, want permanent", err)
	}
	if srv.Count("USER")+srv.Count("AUTH") != 0 {
		t.Errorf("credentials were sent after the injection")
	}
}

func TestImplicitTLS(t *testing.T) {
	cert, pool := testCert(t)
	msgs := pop3test.SampleMessages(2)
	srv := newServer(t, pop3test.Options{ImplicitTLS: true, TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}}}, msgs)
	opts := plainOptions(srv)
	opts.TLS = TLSImplicit
	opts.TLSConfig = &tls.Config{RootCAs: pool}
	s := dial(t, opts)
	refs := listAll(t, s)
	checkBytes(t, "message 2 over TLS", readOpen(t, s, refs[1]), msgs[1])
}

func TestUntrustedCertificate(t *testing.T) {
	cert, _ := testCert(t)
	for _, mode := range []TLSMode{TLSImplicit, TLSStartTLS} {
		t.Run(mode.String(), func(t *testing.T) {
			srv := newServer(t, pop3test.Options{ImplicitTLS: mode == TLSImplicit, TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}}}, nil)
			opts := plainOptions(srv)
			opts.TLS = mode // nil TLSConfig: system roots, which do not hold the test CA
			_, err := Dial(context.Background(), opts)
			var cve *tls.CertificateVerificationError
			if !errors.As(err, &cve) {
				t.Fatalf("Dial() = %v, want a certificate verification error", err)
			}
			if isTemporary(err) || errors.Is(err, source.ErrAuth) {
				t.Errorf("Dial() = %v, want permanent and not ErrAuth", err)
			}
			if srv.Count("USER")+srv.Count("AUTH") != 0 {
				t.Errorf("credentials were sent to an untrusted server")
			}
		})
	}
}

func TestCustomDialer(t *testing.T) {
	srv := newServer(t, pop3test.Options{}, pop3test.SampleMessages(1))
	opts := plainOptions(srv)
	var dialed []string
	opts.Addr = "pop.example.invalid:110"
	opts.Dialer = func(ctx context.Context, network, addr string) (net.Conn, error) {
		dialed = append(dialed, network+" "+addr)
		var d net.Dialer
		return d.DialContext(ctx, network, srv.Addr)
	}
	s := dial(t, opts)
	if len(dialed) != 1 || dialed[0] != "tcp pop.example.invalid:110" {
		t.Errorf("Dialer called with %q, want [\"tcp pop.example.invalid:110\"]", dialed)
	}
	if refs := listAll(t, s); len(refs) != 1 {
		t.Errorf("List() gave %d refs, want 1", len(refs))
	}
}

func TestCredentialsWithLineBreakRefused(t *testing.T) {
	srv := newServer(t, pop3test.Options{NoSASL: true}, nil)
	opts := plainOptions(srv)
	opts.Password = "x\r\nDELE 1"
	_, err := Dial(context.Background(), opts)
	if !errors.Is(err, source.ErrAuth) || strings.Contains(err.Error(), "DELE") {
		t.Fatalf("Dial() = %v, want ErrAuth without the password", err)
	}
	if n := srv.Count("PASS") + srv.Count("DELE"); n != 0 {
		t.Errorf("server got %d PASS/DELE, want 0", n)
	}
}
