package main

import (
	"strings"
	"testing"
	"time"

	"github.com/spf13/viper"
)

func TestFilterAndRateKeys(t *testing.T) {
	t.Setenv("MAILFERRY_TARGET_MAX_BYTES_PER_SECOND", "2m")
	c, err := loadConfig(viper.New(), writeConfig(t, minimal+`    since: 2024-01-31
    before: "2025-02-01T08:00:00+01:00"
    max_message_size: 10m
  - url: mbox:/dev/null
    max_message_size: 4096
`))
	if err != nil {
		t.Fatal(err)
	}
	jc, err := c.jobConfig()
	if err != nil {
		t.Fatal(err)
	}
	if jc.Target.MaxBytesPerSecond != 2<<20 {
		t.Errorf("max_bytes_per_second %d, want 2 MiB from the environment", jc.Target.MaxBytesPerSecond)
	}
	s := jc.Sources[0]
	if want := time.Date(2024, 1, 31, 0, 0, 0, 0, time.Local); !s.Since.Equal(want) {
		t.Errorf("since %v, want local midnight %v", s.Since, want)
	}
	if want := time.Date(2025, 2, 1, 7, 0, 0, 0, time.UTC); !s.Before.Equal(want) {
		t.Errorf("before %v, want %v", s.Before, want)
	}
	if s.MaxMessageSize != 10<<20 || jc.Sources[1].MaxMessageSize != 4096 {
		t.Errorf("max_message_size %d and %d, want 10 MiB and 4096", s.MaxMessageSize, jc.Sources[1].MaxMessageSize)
	}
}

func TestFilterKeyMistakes(t *testing.T) {
	for _, tc := range []struct{ extra, want string }{
		{"    since: yesterday\n", "sources[0].since: yesterday is not a date"},
		{"    max_message_size: ten\n", "sources[0].max_message_size: ten is not a size"},
		{"    max_message_size: -5\n", "max_message_size"},
		{"    max_bytes_per_second: 1000\n", "sources[0].max_bytes_per_second: applies to the target only"},
		{"    since: 2025-01-01\n    before: 2024-01-01\n", "is not before before"},
	} {
		_, err := loadConfig(viper.New(), writeConfig(t, minimal+tc.extra))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: error %v, want %q", tc.extra, err, tc.want)
		}
	}
}
