package migrate_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mailferry/mailferry/migrate"
	"github.com/mailferry/mailferry/source"
	"github.com/mailferry/mailferry/source/eml"
	"github.com/mailferry/mailferry/source/maildir"
	"github.com/mailferry/mailferry/source/mbox"
	"github.com/mailferry/mailferry/source/thunderbird"
	"github.com/mailferry/mailferry/state"
	"github.com/mailferry/mailferry/target/imap"
	"github.com/mailferry/mailferry/target/imap/imaptest"
)

// zoneMsgs are messages whose Date: ends with each obsolete zone of RFC
// 5322 section 4.3 (and a numeric one), with the offset it means in
// hours: 10:00 on 15 Jan 2024 in that zone.
var zoneMsgs = []struct {
	zone string
	off  int
}{
	{"EST", -5}, {"EDT", -4}, {"CST", -6}, {"CDT", -5}, {"MST", -7}, {"MDT", -6},
	{"PST", -8}, {"PDT", -7}, {"UT", 0}, {"GMT", 0}, {"Z", 0}, {"A", 0}, {"m", 0}, {"+0100", 1},
}

func zoneMsg(i int) string {
	z := zoneMsgs[i].zone
	return fmt.Sprintf("From: a@example.org\r\nSubject: zone %s\r\nMessage-ID: <zone-%d@example.org>\r\n"+
		"Date: Mon, 15 Jan 2024 10:00:00 %s\r\n\r\nA message written at 10:00 %s.\r\n", z, i, z, z)
}

func zoneWant(i int) time.Time {
	return time.Date(2024, 1, 15, 10, 0, 0, 0, time.FixedZone("", zoneMsgs[i].off*3600))
}

// fileTime is the modification time of the files the tests write: not a
// date any message says.
var fileTime = time.Date(2020, 2, 2, 2, 2, 2, 0, time.UTC)

func writeAt(t *testing.T, path, content string, mtime time.Time) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(path, mtime, mtime); err != nil {
		t.Fatal(err)
	}
}

// migrateInto runs one source into a fresh in-process IMAP server and
// returns the internal date of each message of INBOX by subject.
func migrateInto(t *testing.T, spec migrate.SourceSpec) map[string]time.Time {
	t.Helper()
	srv := imaptest.NewServer(t, "u", "imap-secret")
	st, err := state.Open(filepath.Join(t.TempDir(), "state.db"), state.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	tgt, err := imap.New(context.Background(), imap.Options{Addr: srv.Addr, TLS: imap.TLSNone, Username: "u",
		Password: "imap-secret", Connections: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer tgt.Close()
	m := &migrate.Migrator{Target: tgt, State: st, Options: migrate.Options{Settle: time.Millisecond},
		Sources: []migrate.SourceSpec{spec}}
	rep, err := m.Run(context.Background())
	if err != nil || rep.Copied != len(zoneMsgs) {
		t.Fatalf("Run() = %v, copied %d, want %d", err, rep.Copied, len(zoneMsgs))
	}
	msgs, err := srv.Fetch("INBOX")
	if err != nil {
		t.Fatal(err)
	}
	dates := map[string]time.Time{}
	for _, m := range msgs {
		dates[subjectOf(m.Body)] = m.Date
	}
	return dates
}

func subjectOf(b []byte) string {
	for _, line := range strings.Split(string(b), "\r\n") {
		if v, ok := strings.CutPrefix(line, "Subject: "); ok {
			return v
		}
	}
	return ""
}

// checkDates wants the internal date of message i to be want(i): the
// same instant and the same offset.
func checkDates(t *testing.T, dates map[string]time.Time, want func(i int) time.Time) {
	t.Helper()
	for i, z := range zoneMsgs {
		got, ok := dates["zone "+z.zone]
		_, gotOff := got.Zone()
		_, wantOff := want(i).Zone()
		if !ok || !got.Equal(want(i)) || gotOff != wantOff {
			t.Errorf("zone %s: internal date %v, want %v", z.zone, got, want(i))
		}
	}
}

func open[S source.Source](s S, err error) (source.Source, error) { return s, err }

// TestObsoleteZoneDates checks, for every source kind, the internal date
// each message is appended with when its Date: has an obsolete zone.
func TestObsoleteZoneDates(t *testing.T) {
	var all []string
	for i := range zoneMsgs {
		all = append(all, zoneMsg(i))
	}
	t.Run("pop3", func(t *testing.T) {
		var msgs [][]byte
		for _, m := range all {
			msgs = append(msgs, []byte(m))
		}
		r := newRig(t, msgs)
		if rep := r.run(); rep.Copied != len(msgs) {
			t.Fatalf("copied %d, want %d", rep.Copied, len(msgs))
		}
		got, err := r.imap.Fetch("INBOX")
		if err != nil {
			t.Fatal(err)
		}
		dates := map[string]time.Time{}
		for _, m := range got {
			dates[subjectOf(m.Body)] = m.Date
		}
		checkDates(t, dates, zoneWant)
	})
	t.Run("mbox", func(t *testing.T) {
		// The From lines' date is another day: the Date: field wins.
		path := filepath.Join(t.TempDir(), "zones")
		var b strings.Builder
		for _, m := range all {
			b.WriteString("From a@example.org Sun Jan 14 03:00:00 2024\n" + strings.ReplaceAll(m, "\r\n", "\n") + "\n")
		}
		writeAt(t, path, b.String(), fileTime)
		checkDates(t, migrateInto(t, migrate.SourceSpec{Name: "mbox:" + path, Folder: "INBOX",
			Open: func(context.Context) (source.Source, error) { return open(mbox.New(mbox.Options{Path: path})) }}), zoneWant)
	})
	t.Run("eml", func(t *testing.T) {
		dir := t.TempDir()
		for i, m := range all {
			writeAt(t, filepath.Join(dir, fmt.Sprintf("%02d.eml", i)), m, fileTime)
		}
		checkDates(t, migrateInto(t, migrate.SourceSpec{Name: "eml:" + dir,
			Open: func(context.Context) (source.Source, error) { return open(eml.New(eml.Options{Path: dir})) }}), zoneWant)
	})
	t.Run("maildir", func(t *testing.T) {
		// Dovecot's rule: the file's mtime is the internal date, whatever
		// the Date: field says.
		dir := t.TempDir()
		os.MkdirAll(filepath.Join(dir, "new"), 0o755)
		mtime := func(i int) time.Time { return fileTime.Add(time.Duration(i) * time.Hour) }
		for i, m := range all {
			writeAt(t, filepath.Join(dir, "cur", fmt.Sprintf("%d.M1.host:2,S", 1000+i)), m, mtime(i))
		}
		checkDates(t, migrateInto(t, migrate.SourceSpec{Name: "maildir:" + dir,
			Open: func(context.Context) (source.Source, error) { return open(maildir.New(maildir.Options{Path: dir})) }}), mtime)
	})
	t.Run("thunderbird mbox store", func(t *testing.T) {
		acct := filepath.Join(t.TempDir(), "Local Folders")
		var b strings.Builder
		for _, m := range all {
			b.WriteString("From - Sun Jan 14 03:00:00 2024\n" + strings.ReplaceAll(m, "\r\n", "\n") + "\n")
		}
		writeAt(t, filepath.Join(acct, "Inbox"), b.String(), fileTime)
		writeAt(t, filepath.Join(acct, "Inbox.msf"), "mork", fileTime)
		checkDates(t, migrateInto(t, migrate.SourceSpec{Name: "thunderbird:" + acct,
			Open: func(context.Context) (source.Source, error) {
				return open(thunderbird.New(thunderbird.Options{Path: acct}))
			}}), zoneWant)
	})
	t.Run("thunderbird maildir store", func(t *testing.T) {
		// The header's date wins over the file's mtime when it parses.
		acct := filepath.Join(t.TempDir(), "Local Folders")
		for i, m := range all {
			writeAt(t, filepath.Join(acct, "Inbox", "cur", fmt.Sprint(i+1)), "From - Sun Jan 14 03:00:00 2024\r\n"+m, fileTime)
		}
		checkDates(t, migrateInto(t, migrate.SourceSpec{Name: "thunderbird:" + acct,
			Open: func(context.Context) (source.Source, error) {
				return open(thunderbird.New(thunderbird.Options{Path: acct}))
			}}), zoneWant)
	})
}
