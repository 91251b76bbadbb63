package eml

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"

	"github.com/mailferry/mailferry/source"
	"github.com/mailferry/mailferry/source/sourcetest"
)

// bigBodies are messages larger than the converter's chunks (32 KiB),
// with CR, LF and CRLF at and around the chunk boundaries.
func bigBodies() map[string]string {
	lf := "From: a@example.org\nSubject: big\n\n" + strings.Repeat("a line of base64 text, as long as such lines usually are..\n", 4000)
	edge := "Subject: edge\n\n" + strings.Repeat("x", 32<<10-16) + "\r\n\n\r\r\n" + strings.Repeat("y\n", 20000) + "\r"
	return map[string]string{"lf": lf, "crlf": strings.ReplaceAll(lf, "\n", "\r\n"), "edge": edge}
}

// TestBigBytesUnchanged checks that Open gives exactly the bytes of the
// file (of the .emlx message) with bare LFs turned into CRLF, whether
// read with Read (io.ReadAll) or through WriteTo (io.Copy into a writer
// without ReadFrom, as the reader of migrate copies).
func TestBigBytesUnchanged(t *testing.T) {
	var files []sourcetest.File
	want := map[string][]byte{}
	for name, b := range bigBodies() {
		files = append(files, sourcetest.File{Path: name + ".eml", Body: b},
			sourcetest.File{Path: "A.mbox/Messages/" + name + ".emlx", Body: emlx(b, emlxRead, intDate(received))})
		want[name+".eml"] = sourcetest.CRLF([]byte(b))
		want["A.mbox/Messages/"+name+".emlx"] = want[name+".eml"]
	}
	src := newSource(t, Options{Path: sourcetest.Build(t, files)})
	refs := listAll(t, src)
	if len(refs) != len(want) {
		t.Fatalf("listed %d messages, want %d", len(refs), len(want))
	}
	for id, ref := range refs {
		got, err := readAll(src, ref)
		if err != nil || !bytes.Equal(got, want[id]) {
			t.Errorf("%s: read %d bytes, err %v; want the %d bytes of the file with CRLF", id, len(got), err, len(want[id]))
		}
		var w bytes.Buffer
		if err := copyOut(src, ref, io.MultiWriter(&w)); err != nil || !bytes.Equal(w.Bytes(), want[id]) {
			t.Errorf("%s: io.Copy gave %d bytes, err %v; want the %d bytes of the file with CRLF", id, w.Len(), err, len(want[id]))
		}
	}
}

func copyOut(src *Source, ref source.Ref, w io.Writer) error {
	rc, err := src.Open(context.Background(), ref)
	if err != nil {
		return err
	}
	defer rc.Close()
	_, err = io.Copy(w, rc)
	return err
}
