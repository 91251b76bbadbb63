package mailnet

import (
	"errors"
	"io"
	"testing"
)

func TestTLSModeString(t *testing.T) {
	for m, want := range map[TLSMode]string{TLSImplicit: "implicit", TLSStartTLS: "starttls", TLSNone: "none", 7: "TLSMode(7)"} {
		if got := m.String(); got != want {
			t.Errorf("TLSMode(%d).String() = %q, want %q", int(m), got, want)
		}
	}
}

func TestTemporary(t *testing.T) {
	if Temporary(nil) != nil {
		t.Error("Temporary(nil) != nil")
	}
	err := Temporary(io.EOF)
	var te *TemporaryError
	if !errors.As(err, &te) || !te.Temporary() || !errors.Is(err, io.EOF) || err.Error() != io.EOF.Error() {
		t.Errorf("Temporary(io.EOF) = %#v, want a TemporaryError wrapping io.EOF", err)
	}
}
