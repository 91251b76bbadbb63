package maildir

import (
	"fmt"
	"strings"
	"testing"

	"github.com/mailferry/mailferry/source/sourcetest"
)

func TestSizeOf(t *testing.T) {
	tests := []struct {
		unique         string
		n              int64
		size, estimate int64
	}{
		{"1.M1.host,S=100,W=104", 100, 104, 0},
		{"1.M1.host,W=104", 100, 104, 0},           // no S=
		{"1.M1.host,W=100,S=100", 100, 100, 0},     // CRLF file: W = S
		{"1.M1.host,S=99,W=104", 100, 0, 103},      // S= is not the file's size: stale name
		{"1.M1.host,S=100,W=99", 100, 0, 103},      // W below the file's size
		{"1.M1.host,S=100,W=201", 100, 0, 103},     // W above twice it
		{"1.M1.host,S=100,W=+104", 100, 0, 103},    // not a plain number
		{"1.M1.host,S=100", 100, 0, 103},           // Courier: S= only
		{"1.M1.host", 100, 0, 103},                 // no sizes
		{"1.M1.host,S=0,W=0", 0, 0, 0},             // empty file
		{"1.M1.hostW=104", 100, 0, 103},            // not a field
		{"1.M1.host,S=100,W=104,X=1", 100, 104, 0}, // other fields
	}
	for _, tt := range tests {
		if s, e := sizeOf(tt.unique, tt.n); s != tt.size || e != tt.estimate {
			t.Errorf("sizeOf(%q, %d) = %d, %d, want %d, %d", tt.unique, tt.n, s, e, tt.size, tt.estimate)
		}
	}
}

// TestRefSizes lists files named as Dovecot names them and as other
// agents do, and checks each Ref's size against what Open returns: W=
// is exact, an estimate is the file size plus 1/32.
func TestRefSizes(t *testing.T) {
	lfBody := "From: a@example.org\nSubject: sizes\n\n" + strings.Repeat("a line of text as long as lines of mail usually are, or so\n", 40)
	crlfBody := strings.ReplaceAll(lfBody, "\n", "\r\n")
	w := len(crlfBody)
	root := sourcetest.Build(t, []sourcetest.File{
		{Path: fmt.Sprintf("cur/1.M1.h,S=%d,W=%d:2,S", len(lfBody), w), Body: lfBody},
		{Path: fmt.Sprintf("cur/2.M1.h,S=%d,W=%d:2,S", w, w), Body: crlfBody},
		{Path: "cur/3.M1.h:2,S", Body: lfBody},
		{Path: fmt.Sprintf("new/4.M1.h,S=%d,W=%d", len(lfBody)+1, w+1), Body: lfBody}, // changed since named
	})
	src := newSource(t, Options{Path: root})
	refs := listAll(t, src)
	want := map[string][2]int64{
		"/1.M1.h," + fmt.Sprintf("S=%d,W=%d", len(lfBody), w): {int64(w), 0},
		"/2.M1.h," + fmt.Sprintf("S=%d,W=%d", w, w):           {int64(w), 0},
		"/3.M1.h": {0, int64(len(lfBody) + len(lfBody)/32)},
		"/4.M1.h," + fmt.Sprintf("S=%d,W=%d", len(lfBody)+1, w+1): {0, int64(len(lfBody) + len(lfBody)/32)},
	}
	if len(refs) != len(want) {
		t.Fatalf("listed %d messages, want %d", len(refs), len(want))
	}
	for id, ref := range refs {
		got, err := readAll(t, src, ref)
		if err != nil {
			t.Fatal(err)
		}
		if wnt, ok := want[id]; !ok || ref.Size != wnt[0] || ref.SizeEstimate != wnt[1] {
			t.Errorf("%s: Size %d, SizeEstimate %d, want %v", id, ref.Size, ref.SizeEstimate, want[id])
		}
		if ref.Size != 0 && ref.Size != int64(len(got)) {
			t.Errorf("%s: Size %d, Open gave %d bytes", id, ref.Size, len(got))
		}
		if e := ref.SizeEstimate; e != 0 && (e < int64(len(got)) || e > int64(len(got))*33/32+1) {
			t.Errorf("%s: SizeEstimate %d, Open gave %d bytes: want an estimate within 1/32 above", id, e, len(got))
		}
	}
}
