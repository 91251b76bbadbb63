package main

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/spf13/viper"
)

const tbConfig = "state: x\ntarget:\n  url: imaps://a@b\nsources:\n  - url: thunderbird:/home/me/.thunderbird/p\n"

// TestMergeAccountsSetting checks the forms merge_accounts takes in a
// thunderbird: source, and what it becomes for the source.
func TestMergeAccountsSetting(t *testing.T) {
	for text, want := range map[string][]string{
		"":                            nil,
		"    merge_accounts: false\n": nil,
		"    merge_accounts: true\n":  {"*"},
		"    merge_accounts: Work\n":  {"Work"},
		"    merge_accounts: [Work, \"pop.club.example\"]\n":   {"Work", "pop.club.example"},
		"    merge_accounts:\n      - \"René \\\"work\\\"\"\n": {`René "work"`},
	} {
		c, err := loadConfig(viper.New(), writeConfig(t, tbConfig+text))
		if err != nil {
			t.Errorf("%q: %v", text, err)
			continue
		}
		if got, err := c.Sources[0].mergeAccounts(0); err != nil || !slices.Equal(got, want) {
			t.Errorf("%q: mergeAccounts() = %q, %v; want %q", text, got, err, want)
		}
	}
	for name, text := range map[string]string{
		"not thunderbird": minimal + "    merge_accounts: true\n",
		"a number":        tbConfig + "    merge_accounts: 3\n",
		"an empty name":   tbConfig + "    merge_accounts: [Work, \"\"]\n",
		"a map":           tbConfig + "    merge_accounts:\n      Work: true\n",
	} {
		_, err := loadConfig(viper.New(), writeConfig(t, text))
		var ce *configError
		if !errors.As(err, &ce) || !strings.Contains(err.Error(), "merge_accounts") {
			t.Errorf("%s: err = %v, want a config error about merge_accounts", name, err)
		}
	}
}
