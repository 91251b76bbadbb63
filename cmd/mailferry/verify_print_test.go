package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/mailferry/mailferry/migrate"
)

// A message stored altered by the server is printed in its own column
// (shown only then) and list, with the copy's UID and the reason, under a WARNING verdict; it
// fails verify only with --fail-altered. A missing message fails it.
func TestVerifyPrintsAltered(t *testing.T) {
	start := time.Now()
	altered := migrate.VerifyItem{Source: "pop3://a@x", RefID: "u1", Folder: "INBOX", UID: 7, Key: "<XXtXX@x>",
		Subject: "été", Reason: migrate.AlteredMunged}
	rep := &migrate.VerifyReport{Start: start, End: start, Listed: 2,
		Folders: []migrate.FolderCheck{{Folder: "INBOX", Expected: 2, Present: 1, Altered: 1}},
		Altered: []migrate.VerifyItem{altered}}
	var out bytes.Buffer
	printVerify(&out, rep, migrate.DedupAccount, 20, false)
	t.Logf("verify prints:\n%s", out.String())
	for _, want := range []string{
		"ALTERED",
		"altered (in the target, not byte for byte) (1):",
		`pop3://a@x message u1 -> INBOX UID 7 "été" <XXtXX@x>: ` + migrate.AlteredMunged,
		"WARNING: every source message is in the target, but 1 stored altered",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	if strings.Contains(out.String(), "OK: every") {
		t.Errorf("output says OK:\n%s", out.String())
	}
	if err := verifyResult(rep, false); err != nil {
		t.Errorf("verifyResult(altered) = %v, want nil (exit 0 with the warning)", err)
	}
	if err := verifyResult(rep, true); !errors.Is(err, errMessagesFailed) {
		t.Errorf("verifyResult(altered, --fail-altered) = %v, want errMessagesFailed", err)
	}
	out.Reset()
	printVerify(&out, rep, migrate.DedupAccount, 20, true)
	if !strings.Contains(out.String(), "NOT OK: every source message is in the target, but 1 stored altered (--fail-altered)") {
		t.Errorf("with --fail-altered:\n%s", out.String())
	}
	rep.Missing = []migrate.VerifyItem{{Source: "pop3://a@x", RefID: "u2", Folder: "INBOX"}}
	if err := verifyResult(rep, false); !errors.Is(err, errMessagesFailed) {
		t.Errorf("verifyResult(missing) = %v, want errMessagesFailed", err)
	}
	exact := &migrate.VerifyReport{Start: start, End: start, Listed: 1,
		Folders: []migrate.FolderCheck{{Folder: "INBOX", Expected: 1, Present: 1}}}
	out.Reset()
	printVerify(&out, exact, migrate.DedupAccount, 20, false)
	if !strings.Contains(out.String(), "OK: every source message is in the target, byte for byte") || verifyResult(exact, true) != nil ||
		strings.Contains(out.String(), "ALTERED") {
		t.Errorf("byte-exact report:\n%s", out.String())
	}
}

// A missing message: verify says how to copy it again; no hint when
// nothing is missing.
func TestVerifyPointsToRecheck(t *testing.T) {
	start := time.Now()
	hint := "run `mailferry migrate --recheck` to copy the missing messages again"
	rep := &migrate.VerifyReport{Start: start, End: start, Listed: 2,
		Folders: []migrate.FolderCheck{{Folder: "INBOX", Expected: 2, Present: 1, Missing: 1}},
		Missing: []migrate.VerifyItem{{Source: "pop3://a@x", RefID: "u2", Folder: "INBOX"}}}
	var out bytes.Buffer
	printVerify(&out, rep, migrate.DedupAccount, 20, false)
	if !strings.Contains(out.String(), hint) {
		t.Errorf("verify with a missing message lacks the hint:\n%s", out.String())
	}
	rep.Missing, rep.Folders[0].Missing, rep.Folders[0].Present = nil, 0, 2
	out.Reset()
	printVerify(&out, rep, migrate.DedupAccount, 20, false)
	if strings.Contains(out.String(), "--recheck") {
		t.Errorf("verify with nothing missing gives the hint:\n%s", out.String())
	}
}

// With --log-format json verify's report is one JSON line: the counts,
// the folders, the items and the verdict, so that a monitor reads it
// without parsing the table.
func TestVerifyPrintsJSON(t *testing.T) {
	start := time.Now()
	missing := migrate.VerifyItem{Source: "pop3://a@x", RefID: "u2", Folder: "INBOX", Key: "<m2@x>", Subject: "lost"}
	rep := &migrate.VerifyReport{Start: start, End: start.Add(1500 * time.Millisecond), Listed: 2,
		Folders: []migrate.FolderCheck{{Folder: "INBOX", Expected: 2, Present: 1, Missing: 1}},
		Missing: []migrate.VerifyItem{missing}}
	var out bytes.Buffer
	printVerifyJSON(&out, rep, 20, false)
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 1 {
		t.Fatalf("want one line, got %d:\n%s", len(lines), out.String())
	}
	var got struct {
		Msg          string
		OK           bool
		Verdict      string
		Read         int
		Missing      int
		Next         string
		Seconds      float64
		Folders      []map[string]any
		MissingItems []map[string]any `json:"missing_items"`
	}
	if err := json.Unmarshal([]byte(lines[0]), &got); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, lines[0])
	}
	if got.Msg != "verify" || got.OK || got.Read != 2 || got.Missing != 1 || got.Seconds != 1.5 ||
		!strings.HasPrefix(got.Verdict, "NOT OK") || got.Next != recheckHint ||
		len(got.Folders) != 1 || got.Folders[0]["missing"] != 1.0 ||
		len(got.MissingItems) != 1 || got.MissingItems[0]["key"] != "<m2@x>" || got.MissingItems[0]["message"] != "u2" {
		t.Errorf("verify JSON = %+v\n%s", got, lines[0])
	}
}
