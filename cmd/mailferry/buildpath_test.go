package main

import (
	"os"
	"regexp"
	"testing"
)

// TestBuildPathsAgree: `make build` writes the binary where the README's
// build command does, and the README runs it from there.
func TestBuildPathsAgree(t *testing.T) {
	mk, err := os.ReadFile("../../Makefile")
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^build:\n(?:#.*\n|\t.*\n)*?\t\$\(GO\) build .*-o (\S+) \./cmd/mailferry`).FindSubmatch(mk)
	if m == nil {
		t.Fatal("no go build -o PATH ./cmd/mailferry in the Makefile's build target")
	}
	made := string(m[1])
	for _, b := range regexp.MustCompile(`go build -o (\S+) \./cmd/mailferry`).FindAllSubmatch(readme, -1) {
		if string(b[1]) != made {
			t.Errorf("README builds %s, make build %s", b[1], made)
		}
	}
	for _, r := range regexp.MustCompile(`(?m)^\$ (\./\S*mailferry) `).FindAllSubmatch(readme, -1) {
		if string(r[1]) != "./"+made {
			t.Errorf("README runs %s, make build writes %s", r[1], made)
		}
	}
}
