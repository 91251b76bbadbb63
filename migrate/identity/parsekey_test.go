package identity

import "testing"

func TestParseKey(t *testing.T) {
	for _, msg := range []string{
		"Message-ID: <a.b@example.net>\r\n\r\nbody\r\n",
		"Subject: no id\r\n\r\nbody\r\n",
		"Message-ID: <x@y>\r\nSubject: caf\xc3\xa9\r\n\r\n",
	} {
		id := Of([]byte(msg))
		mid, hash := ParseKey(id.Key)
		wantHash := ""
		if id.MessageID == "" {
			wantHash = id.ContentHash
		}
		if mid != id.MessageID || hash != wantHash {
			t.Errorf("ParseKey(%q) = %q, %q; want %q, %q", id.Key, mid, hash, id.MessageID, wantHash)
		}
		if key(mid, hash) != id.Key {
			t.Errorf("key(ParseKey(%q)) = %q", id.Key, key(mid, hash))
		}
	}
	if mid, hash := ParseKey("<>"); mid != "" || hash != "" {
		t.Errorf(`ParseKey("<>") = %q, %q`, mid, hash)
	}
}
