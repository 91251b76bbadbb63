package main

import (
	"errors"
	"testing"
	"time"

	"github.com/spf13/viper"
)

func TestDeleteSetting(t *testing.T) {
	for text, want := range map[string]time.Duration{
		"after-upload": 0,
		"keep-days:0":  0,
		"keep-days:14": 14 * 24 * time.Hour,
	} {
		p, err := parseDelete(text)
		if err != nil || p == nil || p.KeepFor != want {
			t.Errorf("parseDelete(%q) = %+v, %v; want KeepFor %v", text, p, err, want)
		}
	}
	for _, text := range []string{"", "leave"} {
		if p, err := parseDelete(text); p != nil || err != nil {
			t.Errorf("parseDelete(%q) = %+v, %v; want nil, nil (leave)", text, p, err)
		}
	}
	for _, text := range []string{"yes", "after_upload", "keep-days:", "keep-days:-1", "keep-days:1.5", "keep-days:99999", "Keep-Days:3"} {
		if p, err := parseDelete(text); err == nil {
			t.Errorf("parseDelete(%q) = %+v, want an error", text, p)
		}
	}
}

func TestDeleteConfigErrors(t *testing.T) {
	cases := map[string]string{
		"bad delete":          minimal + "    delete: always\n",
		"delete an archive":   "state: x\ntarget:\n  url: imaps://a@b\nsources:\n  - url: mbox:/tmp/Inbox\n    delete: after-upload\n",
		"settle out of range": minimal + "settle: 1h\n",
	}
	for name, text := range cases {
		_, err := loadConfig(viper.New(), writeConfig(t, text))
		var ce *configError
		if !errors.As(err, &ce) || exitCode(err) != exitUsage {
			t.Errorf("%s: err = %v, want a config error (exit %d)", name, err, exitUsage)
		}
	}
	c, err := loadConfig(viper.New(), writeConfig(t, minimal+"    delete: keep-days:7\n"))
	if err != nil || c.Sources[0].Delete != "keep-days:7" {
		t.Fatalf("delete: keep-days:7 read as %q, %v", c.Sources[0].Delete, err)
	}
}

// The target may come from MAILFERRY_TARGET_URL with --source and no
// config file.
func TestTargetFromEnvironmentWithoutConfig(t *testing.T) {
	t.Setenv("MAILFERRY_TARGET_URL", "imaps://bob@mail.example.org")
	o := MigrateOptions{Sources: []string{"pop3s://alice@pop.example.net"}, Folder: "INBOX"}
	c, err := o.config(viper.New())
	if err != nil {
		t.Fatalf("config() = %v, want the target from the environment", err)
	}
	if c.Target.URL != "imaps://bob@mail.example.org" || len(c.Sources) != 1 {
		t.Fatalf("target %q, %d sources", c.Target.URL, len(c.Sources))
	}
}
