package main

import (
	"errors"
	"testing"

	"github.com/spf13/viper"
)

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
	o := JobFlags{Sources: []string{"pop3s://alice@pop.example.net"}, Folder: "INBOX"}
	c, err := o.config(viper.New())
	if err != nil {
		t.Fatalf("config() = %v, want the target from the environment", err)
	}
	if c.Target.URL != "imaps://bob@mail.example.org" || len(c.Sources) != 1 {
		t.Fatalf("target %q, %d sources", c.Target.URL, len(c.Sources))
	}
}
