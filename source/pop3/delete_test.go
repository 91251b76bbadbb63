package pop3

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/mailferry/mailferry/source"
	"github.com/mailferry/mailferry/source/pop3/pop3test"
)

func deleteMsgs(n int) [][]byte {
	var msgs [][]byte
	for i := range n {
		msgs = append(msgs, fmt.Appendf(nil, "Subject: %d\r\n\r\nbody %d\r\n", i, i))
	}
	return msgs
}

func ids(refs []source.Ref) string {
	var s []string
	for _, r := range refs {
		s = append(s, r.ID)
	}
	return strings.Join(s, " ")
}

func TestDeleteRemovesOnlyThoseNamed(t *testing.T) {
	for _, pipelining := range []bool{true, false} {
		t.Run(fmt.Sprintf("pipelining=%v", pipelining), func(t *testing.T) {
			msgs := deleteMsgs(5)
			srv := newServer(t, pop3test.Options{NoPipelining: !pipelining}, msgs)
			s := dial(t, plainOptions(srv))
			refs := listAll(t, s)
			gone := []source.Ref{refs[0], refs[2], {ID: "not-in-the-maildrop"}, refs[4]}
			deleted, err := s.Delete(context.Background(), gone)
			if err != nil {
				t.Fatalf("Delete() = %v, want nil", err)
			}
			if got := ids(deleted); got != ids([]source.Ref{refs[0], refs[2], refs[4]}) {
				t.Fatalf("Delete() deleted %v, want refs 0, 2, 4", deleted)
			}
			left := srv.Messages(testUser)
			if len(left) != 2 || string(left[0]) != string(msgs[1]) || string(left[1]) != string(msgs[3]) {
				t.Fatalf("maildrop after Delete holds %q, want messages 1 and 3", left)
			}
			if err := s.List(context.Background(), func(source.Ref) error { return nil }); err == nil {
				t.Fatal("List after Delete = nil, want an error: the session is over")
			}
		})
	}
}

// A DELE the server refuses leaves that message and the others go.
func TestDeleteRefusedMessageStays(t *testing.T) {
	msgs := deleteMsgs(3)
	srv := newServer(t, pop3test.Options{Fault: func(cmd, arg string) (string, bool) {
		if cmd == "DELE" && arg == "2" {
			return "-ERR message 2 is locked", true
		}
		return "", false
	}}, msgs)
	s := dial(t, plainOptions(srv))
	refs := listAll(t, s)
	deleted, err := s.Delete(context.Background(), refs)
	if err != nil {
		t.Fatalf("Delete() = %v, want nil", err)
	}
	if got := ids(deleted); got != ids([]source.Ref{refs[0], refs[2]}) {
		t.Fatalf("Delete() deleted %v, want refs 0 and 2", deleted)
	}
	if left := srv.Messages(testUser); len(left) != 1 || string(left[0]) != string(msgs[1]) {
		t.Fatalf("maildrop holds %q, want message 1 only", left)
	}
}

// Without an acknowledged QUIT the server rolls the deletions back, and
// Delete says it failed.
func TestDeleteWithoutQuitRemovesNothing(t *testing.T) {
	for _, reply := range []string{"", "-ERR [SYS/TEMP] could not remove the messages"} {
		msgs := deleteMsgs(3)
		srv := newServer(t, pop3test.Options{Fault: func(cmd, _ string) (string, bool) {
			return reply, cmd == "QUIT"
		}}, msgs)
		s := dial(t, plainOptions(srv))
		refs := listAll(t, s)
		_, err := s.Delete(context.Background(), refs)
		if err == nil {
			t.Fatalf("QUIT answered %q: Delete() = nil, want an error", reply)
		}
		var te *source.TemporaryError
		if !errors.As(err, &te) {
			t.Errorf("QUIT answered %q: Delete() = %v, want a temporary error", reply, err)
		}
		if left := srv.Messages(testUser); len(left) != 3 {
			t.Fatalf("QUIT answered %q: maildrop holds %d messages, want all 3", reply, len(left))
		}
	}
}
