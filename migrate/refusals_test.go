package migrate_test

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	imapv2 "github.com/emersion/go-imap/v2"

	"github.com/mailferry/mailferry/migrate"
)

func noWith(code imapv2.ResponseCode, text string) error {
	return &imapv2.Error{Type: imapv2.StatusResponseTypeNo, Code: code, Text: text}
}

// TestServerRefusals answers the engine's APPENDs and RETRs with the
// refusals servers give, on the wire, and checks the outcome of each.
func TestServerRefusals(t *testing.T) {
	t.Run("OVERQUOTA stops the job, connect class", func(t *testing.T) {
		r := newRig(t, tricky())
		r.imap.SetAppendHook(func(string, int64) error { return noWith(imapv2.ResponseCodeOverQuota, "quota exceeded") })
		rep, err := r.runErr(context.Background())
		if migrate.ClassOf(err) != migrate.ClassConnect || rep.Copied != 0 {
			t.Fatalf("Run() = %v (class %v), copied %d; want a connect-class error and nothing copied", err, migrate.ClassOf(err), rep.Copied)
		}
		if !strings.Contains(err.Error(), "quota") {
			t.Fatalf("error %q does not say why", err)
		}
		r.imap.SetAppendHook(nil)
		if rep := r.run(); rep.Copied != len(tricky()) {
			t.Fatalf("after the quota was raised: copied %d, want %d", rep.Copied, len(tricky()))
		}
		wantOnce(t, r.inbox(), tricky())
	})
	for _, code := range []imapv2.ResponseCode{imapv2.ResponseCodeUnavailable, imapv2.ResponseCodeInUse} {
		t.Run(string(code)+" is retried", func(t *testing.T) {
			r := newRig(t, tricky())
			r.opts.Backoff, r.opts.MaxBackoff = time.Millisecond, 5*time.Millisecond
			var n atomic.Int32
			r.imap.SetAppendHook(func(string, int64) error {
				if n.Add(1) <= 3 {
					return noWith(code, "try later")
				}
				return nil
			})
			rep := r.run()
			if rep.Copied != len(tricky()) || rep.Failed() != 0 {
				t.Fatalf("copied %d failed %d, want all copied after retries", rep.Copied, rep.Failed())
			}
			wantOnce(t, r.inbox(), tricky())
		})
	}
	t.Run("LIMIT on one message fails it alone", func(t *testing.T) {
		msgs := tricky()
		r := newRig(t, msgs)
		big := int64(len(msgs[2])) // the 10,000-character line
		r.imap.SetAppendHook(func(_ string, size int64) error {
			if size == big {
				return noWith(imapv2.ResponseCodeLimit, "message too large")
			}
			return nil
		})
		rep := r.run()
		if rep.Copied != len(msgs)-1 || rep.Failed() != 1 || !strings.Contains(rep.Failures[0].Reason, "too large") {
			t.Fatalf("copied %d failures %+v, want %d copied and one LIMIT failure", rep.Copied, rep.Failures, len(msgs)-1)
		}
	})
	t.Run("POP3 IN-USE at login is retried", func(t *testing.T) {
		r := newRig(t, tricky())
		r.opts.Backoff, r.opts.MaxBackoff = time.Millisecond, 5*time.Millisecond
		var n atomic.Int32
		r.popFault(func(cmd, arg string) (string, bool) {
			if (cmd == "PASS" || cmd == "AUTH") && n.Add(1) == 1 {
				return "-ERR [IN-USE] maildrop locked by another session", true
			}
			return "", false
		})
		if rep := r.run(); rep.Copied != len(tricky()) {
			t.Fatalf("copied %d, want %d after the lock was released", rep.Copied, len(tricky()))
		}
	})
	t.Run("POP3 -ERR on one RETR: that message vanished, the rest copied", func(t *testing.T) {
		msgs := tricky()
		r := newRig(t, msgs)
		r.popFault(func(cmd, arg string) (string, bool) {
			if cmd == "RETR" && arg == "2" {
				return "-ERR no such message", true
			}
			return "", false
		})
		rep := r.run()
		if rep.Copied != len(msgs)-1 || rep.Vanished != 1 || rep.Failed() != 0 {
			t.Fatalf("copied %d vanished %d failed %d, want %d, 1, 0", rep.Copied, rep.Vanished, rep.Failed(), len(msgs)-1)
		}
		r.popFault(nil)
		if rep := r.run(); rep.Copied != 1 {
			t.Fatalf("next run copied %d, want the one that could not be read", rep.Copied)
		}
		wantOnce(t, r.inbox(), msgs)
	})
	t.Run("wrong POP3 password stops at once", func(t *testing.T) {
		r := newRig(t, tricky())
		r.popFault(func(cmd, arg string) (string, bool) {
			if cmd == "PASS" || cmd == "AUTH" {
				return "-ERR [AUTH] invalid credentials", true
			}
			return "", false
		})
		rep, err := r.runErr(context.Background())
		if migrate.ClassOf(err) != migrate.ClassConnect || rep.Copied != 0 {
			t.Fatalf("Run() = %v, copied %d; want a connect-class error, nothing copied", err, rep.Copied)
		}
		if errors.Is(err, context.Canceled) {
			t.Fatal("reported as interrupted")
		}
	})
}
