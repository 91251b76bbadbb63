package job

import (
	"testing"
	"time"
)

func TestDeleteSetting(t *testing.T) {
	for text, want := range map[string]time.Duration{
		"after-upload": 0,
		"keep-days:0":  0,
		"keep-days:14": 14 * 24 * time.Hour,
	} {
		p, err := ParseDelete(text)
		if err != nil || p == nil || p.KeepFor != want {
			t.Errorf("ParseDelete(%q) = %+v, %v; want KeepFor %v", text, p, err, want)
		}
	}
	for _, text := range []string{"", "leave"} {
		if p, err := ParseDelete(text); p != nil || err != nil {
			t.Errorf("ParseDelete(%q) = %+v, %v; want nil, nil (leave)", text, p, err)
		}
	}
	for _, text := range []string{"yes", "after_upload", "keep-days:", "keep-days:-1", "keep-days:1.5", "keep-days:99999", "Keep-Days:3"} {
		if p, err := ParseDelete(text); err == nil {
			t.Errorf("ParseDelete(%q) = %+v, want an error", text, p)
		}
	}
}
