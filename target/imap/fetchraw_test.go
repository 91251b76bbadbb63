package imap

import (
	"bufio"
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/mailferry/mailferry/target/imap/internal/wire"
)

// TestFetchLiteral8Fake: a FETCH answer go-imap cannot parse is read again
// without go-imap only when it is a literal8 from a server that announces
// BINARY; any other answer that trips go-imap the same way stays an error.
func TestFetchLiteral8Fake(t *testing.T) {
	cases := []struct {
		name, caps, body string
		want             string // the bytes, or "" for an error
		errHas           string
	}{
		{"literal8", "IMAP4rev1 BINARY", "~{5}\r\nab\x00cd", "ab\x00cd", ""},
		{"another atom", "IMAP4rev1 BINARY", "X{5}\r\nabcde", "", "without a literal8"},
		{"no BINARY", "IMAP4rev1", "~{5}\r\nab\x00cd", "", lit8Error},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeServer(t, tc.caps)
			f.fetchBody = tc.body
			ctx := context.Background()
			tgt, err := New(ctx, Options{Addr: f.addr, TLS: TLSNone, Username: f.user, Password: f.pass,
				Connections: 1, Timeout: 5 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			defer tgt.Close()
			got, err := tgt.Fetch(ctx, "INBOX", 1)
			if tc.want != "" {
				if err != nil || string(got) != tc.want {
					t.Fatalf("Fetch() = %q, %v; want %q", got, err, tc.want)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.errHas) {
				t.Fatalf("Fetch() = %q, %v; want an error saying %q", got, err, tc.errHas)
			}
			if tc.caps == "IMAP4rev1" && strings.Contains(err.Error(), "without go-imap") {
				t.Errorf("Fetch() = %v: read again on a server without BINARY", err)
			}
		})
	}
}

// TestBodyOf reads FETCH responses with readWhole and picks the BODY[]
// literal of the asked UID, telling a literal8 from a literal.
func TestBodyOf(t *testing.T) {
	cases := []struct {
		wire     string
		uid      uint32
		body     string
		lit8, ok bool
	}{
		{"* 1 FETCH (UID 7 BODY[] ~{5}\r\nab\x00cd)\r\n", 7, "ab\x00cd", true, true},
		{"* 1 FETCH (UID 7 BODY[] {5}\r\nabcde)\r\n", 7, "abcde", false, true},
		{"* 1 fetch (body[] ~{9}\r\nUID 8 x\x00y UID 7)\r\n", 7, "UID 8 x\x00y", true, true},
		{"* 1 FETCH (UID 7 BODY[] ~{5}\r\nab\x00cd)\r\n", 8, "", false, false},
		{"* 1 FETCH (UID 7 BODY[] X{5}\r\nabcde)\r\n", 7, "abcde", false, true},
		{"* 1 FETCH (UID 7 BODY[HEADER] {3}\r\nabc)\r\n", 7, "", false, false},
		{"* 1 FETCH (UID 7 FLAGS (\\Seen))\r\n", 7, "", false, false},
		{"* OK [UIDNEXT 3] BODY[] {3}\r\nabc\r\n", 7, "", false, false},
	}
	for _, tc := range cases {
		resp, err := wire.ReadWhole(bufio.NewReader(strings.NewReader(tc.wire)), true, nil)
		if err != nil {
			t.Fatalf("wire.ReadWhole(%q) = %v", tc.wire, err)
		}
		body, lit8, ok := bodyOf(resp, tc.uid)
		if string(body) != tc.body || lit8 != tc.lit8 || ok != tc.ok {
			t.Errorf("bodyOf(%q, %d) = %q, %v, %v; want %q, %v, %v", tc.wire, tc.uid, body, lit8, ok, tc.body, tc.lit8, tc.ok)
		}
	}
	_, err := wire.ReadWhole(bufio.NewReader(strings.NewReader("* 1 FETCH (UID 7 BODY[] ~{50}\r\nshort")), true, nil)
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("wire.ReadWhole(cut literal) = %v, want io.ErrUnexpectedEOF", err)
	}
}
