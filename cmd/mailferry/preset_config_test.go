package main

import (
	"testing"

	"github.com/spf13/viper"
)

// target.preset from the environment and sources[].preset from the file
// reach the job, and a URL without a host takes the preset's.
func TestConfigPresetKeys(t *testing.T) {
	t.Setenv("MAILFERRY_TARGET_PRESET", "microsoft365")
	c, err := loadConfig(viper.New(), writeConfig(t, `
state: /tmp/x.db
target:
  url: imaps://alice@
sources:
  - url: pop3s://alice@
    preset: fastmail
`))
	if err != nil {
		t.Fatal(err)
	}
	jc, err := c.jobConfig()
	if err != nil {
		t.Fatal(err)
	}
	if err := jc.Validate(); err != nil {
		t.Fatal(err)
	}
	tsrv, _ := jc.Target.Parse("imap")
	ssrv, _ := jc.Sources[0].Parse("pop3")
	if tsrv.Addr != "outlook.office365.com:993" || ssrv.Addr != "pop.fastmail.com:995" {
		t.Errorf("target %q source %q", tsrv.Addr, ssrv.Addr)
	}
}
