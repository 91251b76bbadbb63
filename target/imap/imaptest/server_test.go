package imaptest

import (
	"bytes"
	"crypto/tls"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

func login(t *testing.T, c *imapclient.Client, err error) *imapclient.Client {
	t.Helper()
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	if err := c.Login("u", "p").Wait(); err != nil {
		t.Fatalf("Login() = %v", err)
	}
	return c
}

func appendRaw(t *testing.T, c *imapclient.Client, folder string, body []byte) *imap.AppendData {
	t.Helper()
	cmd := c.Append(folder, int64(len(body)), nil)
	if _, err := cmd.Write(body); err != nil {
		t.Fatalf("append write: %v", err)
	}
	if err := cmd.Close(); err != nil {
		t.Fatalf("append close: %v", err)
	}
	data, err := cmd.Wait()
	if err != nil {
		t.Fatalf("APPEND = %v", err)
	}
	return data
}

func TestMessagesExactBytes(t *testing.T) {
	s := NewServer(t, "u", "p")
	c, err := imapclient.DialInsecure(s.Addr, nil)
	c = login(t, c, err)
	bodies := [][]byte{
		[]byte("Subject: lf\n\nbare LF header\n"),
		{},
		[]byte("Subject: \xe9\r\n\r\n\x80\xff\r\n"),
	}
	for _, b := range bodies {
		if data := appendRaw(t, c, "INBOX", b); data.UID == 0 {
			t.Errorf("APPEND gave no APPENDUID")
		}
	}
	got, err := s.Messages("INBOX")
	if err != nil || len(got) != len(bodies) {
		t.Fatalf("Messages() = %d, %v; want %d", len(got), err, len(bodies))
	}
	for i := range bodies {
		if !bytes.Equal(got[i], bodies[i]) {
			t.Errorf("message %d = %q, want %q", i, got[i], bodies[i])
		}
	}
	if _, err := s.Messages("Missing"); err == nil {
		t.Errorf("Messages(Missing) = nil error, want one")
	}
}

func TestTLSAndStartTLS(t *testing.T) {
	s := NewServer(t, "u", "p")
	cfg := &tls.Config{RootCAs: s.CertPool()}
	c, err := imapclient.DialTLS(s.TLSAddr, &imapclient.Options{TLSConfig: cfg})
	login(t, c, err)
	c, err = imapclient.DialStartTLS(s.Addr, &imapclient.Options{TLSConfig: cfg})
	login(t, c, err)
	if _, err := imapclient.DialTLS(s.TLSAddr, nil); err == nil {
		t.Errorf("DialTLS without the pool = nil error, want an untrusted certificate")
	}
}

func TestAppendHookAndDrop(t *testing.T) {
	s := NewServer(t, "u", "p")
	s.SetAppendHook(func(folder string, size int64) error {
		return &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeOverQuota, Text: "full " + folder}
	})
	c, err := imapclient.DialInsecure(s.Addr, nil)
	c = login(t, c, err)
	cmd := c.Append("INBOX", 1, nil)
	_, _ = cmd.Write([]byte("x"))
	_ = cmd.Close()
	_, err = cmd.Wait()
	var imapErr *imap.Error
	if !errors.As(err, &imapErr) || imapErr.Code != imap.ResponseCodeOverQuota || !strings.Contains(imapErr.Text, "INBOX") {
		t.Errorf("APPEND = %v, want NO [OVERQUOTA] full INBOX", err)
	}
	if got, _ := s.Messages("INBOX"); len(got) != 0 {
		t.Errorf("INBOX holds %d messages after a refused APPEND, want 0", len(got))
	}
	if n := s.DropConnections(); n < 1 {
		t.Errorf("DropConnections() = %d, want at least 1", n)
	}
	if err := c.Noop().Wait(); err == nil {
		t.Errorf("NOOP after drop = nil error, want a closed connection")
	}
}

func TestStartClose(t *testing.T) {
	s, err := Start("u", "p")
	if err != nil {
		t.Fatalf("Start() = %v", err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("Close() = %v", err)
	}
	if c, err := net.DialTimeout("tcp", s.Addr, time.Second); err == nil {
		c.Close()
		t.Errorf("dial %s after Close succeeded, want refused", s.Addr)
	}
}
