package identity

import (
	"bytes"
	"strings"
	"testing"
)

// The munged form of a message (ID.Munged) is the identity of the copy a
// server that munges 8-bit header bytes stores: Of(Munge(m)).
func TestMungedFormIsTheMungedCopy(t *testing.T) {
	cases := map[string]string{
		"8-bit subject, ASCII ID": "From: a@example.org\r\nSubject: caf\xc3\xa9\r\nMessage-ID: <a@x>\r\n\r\nna\xc3\xafve\r\n",
		"8-bit ID":                "From: a@example.org\r\nMessage-ID: <\xc3\xa9t\xc3\xa9@x>\r\n\r\nbody\r\n",
		"no ID, 8-bit subject":    "From: J\xfcrgen <j@example.org>\r\nSubject: \xff\xfe\r\n folded \xe9\r\n\r\nbody \xe9\r\n",
		"mbox From line":          "From J\xfcrgen Mon Jan  1 00:00:00 2024\r\nSubject: x\r\n\r\nbody\r\n",
		"header only":             "Subject: caf\xc3\xa9",
		"LF line ends":            "Subject: caf\xc3\xa9\nMessage-ID: <b@x>\n\nbody\xe9\n",
		"skipped field only":      "Subject: x\r\nX-Mozilla-Keys: \xe9\r\n\r\nbody\r\n",
	}
	for name, m := range cases {
		id := OfFull([]byte(m))
		munged := Munge([]byte(m))
		if len(munged) != len(m) || bytes.Equal(munged, []byte(m)) {
			t.Errorf("%s: Munge changed the size or nothing: %q", name, munged)
		}
		if i := strings.Index(m, "\r\n\r\n"); i >= 0 && string(munged[i:]) != m[i:] {
			t.Errorf("%s: Munge changed the body: %q", name, munged[i:])
		}
		cp := OfFull(munged)
		want := Form{Key: cp.Key, MessageID: cp.MessageID, BodyHash: cp.BodyHash, ContentHash: cp.ContentHash, Full: cp.Full}
		if id.Munged != want {
			t.Errorf("%s: Munged = %+v, want the munged copy's %+v", name, id.Munged, want)
		}
		if cp.Munged != (Form{}) || cp.ServerSize != id.ServerSize {
			t.Errorf("%s: the munged copy has Munged %+v (want none) and server size %d (want %d)", name, cp.Munged, cp.ServerSize, id.ServerSize)
		}
		if id.Full == cp.Full || id.Full == "" {
			t.Errorf("%s: Full %q: the munged copy must differ", name, id.Full)
		}
		// Written byte by byte, the same.
		h := NewFull()
		for _, b := range []byte(m) {
			h.Write([]byte{b})
		}
		if got := h.Sum(); got != id {
			t.Errorf("%s: byte by byte %+v, want %+v", name, got, id)
		}
	}
}

// A message with an ASCII header block is its own munged form; Of leaves
// Full empty.
func TestNoMungedFormForASCIIHeaders(t *testing.T) {
	m := []byte("From: a@example.org\r\nMessage-ID: <a@x>\r\n\r\n8-bit body \xe9\xff\r\n")
	if id := Of(m); id.Munged != (Form{}) || id.Full != "" {
		t.Errorf("Of = %+v, want no munged form and no Full", id)
	}
	if !bytes.Equal(Munge(m), m) {
		t.Errorf("Munge changed a message with an ASCII header block")
	}
	full := OfFull(m)
	if full.Full == "" || OfFull(bytes.ReplaceAll(m, []byte("\r\n"), []byte("\n"))).Full != full.Full {
		t.Errorf("Full %q: want it set and the same for the LF copy (as a server gives it back)", full.Full)
	}
	if OfFull(append([]byte("X-Extra: 1\r\n"), m...)).Full == full.Full {
		t.Errorf("Full does not see a header field")
	}
}
