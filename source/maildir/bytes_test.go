package maildir

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"

	"github.com/mailferry/mailferry/source/sourcetest"
)

// TestBigBytesUnchanged checks that Open gives exactly the bytes of the
// file with bare LFs turned into CRLF, for messages larger than the
// converter's chunks (32 KiB), whether read with Read or through WriteTo
// (io.Copy into a writer without ReadFrom, as the reader of migrate
// copies).
func TestBigBytesUnchanged(t *testing.T) {
	lf := "From: a@example.org\nSubject: big\n\n" + strings.Repeat("a line of base64 text, as long as such lines usually are..\n", 4000)
	edge := "Subject: edge\n\n" + strings.Repeat("x", 32<<10-16) + "\r\n\n\r\r\n" + strings.Repeat("y\n", 20000) + "\r"
	bodies := map[string]string{"1.M1.h": lf, "2.M1.h": strings.ReplaceAll(lf, "\n", "\r\n"), "3.M1.h": edge}
	var files []sourcetest.File
	for u, b := range bodies {
		files = append(files, sourcetest.File{Path: "cur/" + u + ":2,S", Body: b})
	}
	src := newSource(t, Options{Path: sourcetest.Build(t, files)})
	refs := listAll(t, src)
	if len(refs) != len(bodies) {
		t.Fatalf("listed %d messages, want %d", len(refs), len(bodies))
	}
	for id, ref := range refs {
		want := sourcetest.CRLF([]byte(bodies[strings.TrimPrefix(id, "/")]))
		got, err := readAll(t, src, ref)
		if err != nil || got != string(want) {
			t.Errorf("%s: read %d bytes, err %v; want the %d bytes of the file with CRLF", id, len(got), err, len(want))
		}
		rc, err := src.Open(context.Background(), ref)
		if err != nil {
			t.Fatal(err)
		}
		var w bytes.Buffer
		_, err = io.Copy(io.MultiWriter(&w), rc)
		rc.Close()
		if err != nil || !bytes.Equal(w.Bytes(), want) {
			t.Errorf("%s: io.Copy gave %d bytes, err %v; want the %d bytes of the file with CRLF", id, w.Len(), err, len(want))
		}
	}
}
