package maildir

import "testing"

func TestDecodeMUTF7(t *testing.T) {
	tests := []struct {
		in, want string
		bad      bool
	}{
		{in: "INBOX", want: "INBOX"},
		{in: "", want: ""},
		{in: "&-", want: "&"},
		{in: "Tom &- Jerry", want: "Tom & Jerry"},
		{in: "Envoy&AOk-s", want: "Envoyés"},
		{in: "&AOkA6QDp-", want: "ééé"},
		{in: "&ZeVnLIqe-", want: "日本語"},
		{in: "&2D3eAA-", want: "\U0001F600"},
		{in: "Gel&APY-scht &- Alt", want: "Gelöscht & Alt"},
		{in: "Envoyés", want: "Envoyés"}, // Dovecot's UTF-8 option
		{in: "&AOk", bad: true},          // unterminated
		{in: "&AO-", bad: true},          // one byte, not a UTF-16 unit
		{in: "&A-", bad: true},           // not base64
		{in: "&AOl-", bad: true},         // trailing bits set
		{in: "&2D0-", bad: true},         // high surrogate alone
		{in: "&3gA-", bad: true},         // low surrogate alone
		{in: "&2D0AQQ-", bad: true},      // high surrogate then 'A'
		{in: "&AO/-", bad: true},         // "/" is not in the alphabet
		{in: "\xff", bad: true},
	}
	for _, tt := range tests {
		got, err := decodeMUTF7(tt.in)
		if tt.bad {
			if err == nil {
				t.Errorf("decodeMUTF7(%q) = %q, want an error", tt.in, got)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("decodeMUTF7(%q) = %q, %v, want %q", tt.in, got, err, tt.want)
		}
	}
}
