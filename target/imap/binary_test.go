package imap_test

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"testing"

	goimap "github.com/emersion/go-imap/v2"

	"github.com/mailferry/mailferry/internal/cyrustest"
	"github.com/mailferry/mailferry/internal/dovecottest"
	"github.com/mailferry/mailferry/internal/servertest"
	"github.com/mailferry/mailferry/target"
	"github.com/mailferry/mailferry/target/imap"
)

// nulMessage is a message whose body holds NUL octets, as broken mailers
// and some archives have them.
func nulMessage(i int) []byte {
	return fmt.Appendf(nil, "From: a@example.org\r\nMessage-ID: <nul%d@example.org>\r\nSubject: nul %d\r\n\r\n"+
		"before\x00after %d\r\n\x00\x00 two more\r\n", i, i, i)
}

// binaryServer is a real server that announces BINARY (RFC 3516).
type binaryServer struct {
	name, addr, user, pass, folder string
}

func startBinaryServers(t *testing.T) []binaryServer {
	cy := cyrustest.Start(t, cyrustest.Options{})
	dc := dovecottest.Start(t, dovecottest.Options{})
	return []binaryServer{
		{"cyrus", cy.IMAPAddr, cy.Users[0].Name, cy.Users[0].Password, "INBOX"},
		{"dovecot", dc.IMAPAddr, "alice", "alice-secret", "INBOX"},
	}
}

// TestAppendNULAsBinary appends messages holding NUL to Cyrus 3.6 and
// Dovecot, which both announce BINARY, on the pipelined path (several in
// flight, "~{n+}" after the first) and on the go-imap path (Pipeline 1:
// a connection of its own per message, "~{n}"): each is stored byte for
// byte (read back with BINARY.PEEK[]). Cyrus refuses NUL in a plain
// literal ("NO Message contains NUL characters").
func TestAppendNULAsBinary(t *testing.T) {
	for _, srv := range startBinaryServers(t) {
		for _, pipeline := range []int{0, 1} {
			t.Run(fmt.Sprintf("%s/pipeline=%d", srv.name, pipeline), func(t *testing.T) {
				appendNUL(t, srv, pipeline)
			})
		}
	}
}

func appendNUL(t *testing.T, srv binaryServer, pipeline int) {
	ctx := context.Background()
	tgt, err := imap.New(ctx, imap.Options{Addr: srv.addr, TLS: imap.TLSNone, Username: srv.user,
		Password: srv.pass, Connections: 2, Pipeline: pipeline})
	if err != nil {
		t.Fatal(err)
	}
	defer tgt.Close()
	if !tgt.Caps().Has(goimap.CapBinary) {
		t.Fatalf("%s does not announce BINARY: %v", srv.name, tgt.Caps())
	}
	folder := fmt.Sprintf("bin%d", pipeline)
	if srv.name == "cyrus" {
		folder = "INBOX.bin" + fmt.Sprint(pipeline)
	}
	const n = 6
	uids := make([]uint32, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	if err := tgt.EnsureFolder(ctx, folder); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			m := nulMessage(i)
			uids[i], errs[i] = tgt.Append(ctx, folder, target.Message{Body: bytes.NewReader(m), Size: int64(len(m))})
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil || uids[i] == 0 {
			t.Fatalf("Append(nul %d) = UID %d, %v; want a UID", i, uids[i], err)
		}
	}
	got := fetchBinary(t, srv, folder)
	for i := range n {
		if want := nulMessage(i); !bytes.Equal(got[uids[i]], want) {
			t.Errorf("UID %d holds %q, want %q", uids[i], got[uids[i]], want)
		}
	}
	if len(got) != n {
		t.Errorf("%s holds %d messages, want %d", folder, len(got), n)
	}
}

// fetchBinary returns the messages of folder by UID, read with
// BINARY.PEEK[] (go-imap reads a literal8 only there).
func fetchBinary(t *testing.T, srv binaryServer, folder string) map[uint32][]byte {
	t.Helper()
	c, err := servertest.Login(srv.addr, srv.user, srv.pass)
	if err != nil {
		t.Fatal(err)
	}
	defer servertest.Logout(c)
	if _, err := c.Select(folder, &goimap.SelectOptions{ReadOnly: true}).Wait(); err != nil {
		t.Fatal(err)
	}
	sec := &goimap.FetchItemBinarySection{Peek: true}
	msgs, err := c.Fetch(goimap.UIDSet{{Start: 1, Stop: 0}}, &goimap.FetchOptions{UID: true,
		BinarySection: []*goimap.FetchItemBinarySection{sec}}).Collect()
	if err != nil {
		t.Fatal(err)
	}
	out := map[uint32][]byte{}
	for _, m := range msgs {
		out[uint32(m.UID)] = m.FindBinarySection(sec)
	}
	return out
}
