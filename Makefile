# mailferry — the two commands a fresh machine needs are `make demo` and `make test`.
GO ?= go
SHELL := /bin/bash
STATICCHECK ?= $(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2

.PHONY: build demo test test-fast test-servers bench fuzz vet lint image

# ./mailferry, as the README's `go build -o mailferry ./cmd/mailferry`,
# with the version that `mailferry --version` prints.
build:
	$(GO) build -ldflags "-X main.version=$$(git describe --tags --always --dirty 2>/dev/null)" -o mailferry ./cmd/mailferry
	@echo "built ./mailferry"

# A complete migration between embedded servers, then a second run that copies nothing.
demo:
	$(GO) run ./cmd/mailferry demo

# Unit tests, in-process servers and the integration tests against a private
# Dovecot (and Cyrus, Courier, popa3d after `make test-servers`). With CI=true
# a missing server fails the tests instead of skipping them. The output ends
# with the list of skipped tests and why (internal/testsum).
# Then the Kubernetes manifests' checks (configs/kubernetes/check, a
# module of its own so that mailferry's go.mod has no k8s.io dependency).
test: vet
	set -o pipefail; $(GO) test -race -count=1 -timeout 20m -json ./... | $(GO) run ./internal/testsum
	cd configs/kubernetes/check && $(GO) vet ./... && $(GO) test -count=1 ./...

# The fast tests: no external server started (MAILFERRY_TEST_SERVERS=none),
# no race detector, -short; under a minute on 2 cores. Ends with the list of
# what it skipped.
test-fast:
	set -o pipefail; MAILFERRY_TEST_SERVERS=none $(GO) test -short -count=1 -json ./... | $(GO) run ./internal/testsum

# Once per machine, as root: unpack Cyrus, Courier and popa3d (never
# installed: they would remove Dovecot) into $MAILFERRY_SERVERS, default
# /var/cache/mailferry-servers. Without it, `make test` skips the tests that
# need them (unless CI=true: then they fail).
test-servers:
	.ci/servers

vet:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "gofmt needed"; exit 1; }
	$(GO) vet ./...

# staticcheck and a tidy go.mod, also of the nested configs/kubernetes/check (run by CI).
lint:
	$(GO) mod tidy -diff
	$(STATICCHECK) ./...
	cd configs/kubernetes/check && $(GO) mod tidy -diff && $(STATICCHECK) ./...

# The speed and memory benchmark against Dovecot (see README, Performance).
bench:
	$(GO) test -run '^$$' -bench '$(or $(BENCH),.)' -benchtime 1x -timeout 30m ./internal/bench/

# The container image of configs/kubernetes/Containerfile (FROM scratch,
# static binary, non-root), as $(IMAGE), with buildah (or BUILDER=podman).
# BUILDAH_ISOLATION=chroot and STORAGE_DRIVER=vfs let it run inside a
# container as root (CI).
IMAGE ?= localhost/mailferry:latest
BUILDER ?= buildah
image:
	set -e; ctx=$$(mktemp -d); trap 'rm -rf "$$ctx"' EXIT; \
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "-s -w -X main.version=$$(git describe --tags --always --dirty 2>/dev/null)" -o "$$ctx/mailferry" ./cmd/mailferry; \
	cp /etc/ssl/certs/ca-certificates.crt "$$ctx/"; \
	$(BUILDER) build --layers=false -f configs/kubernetes/Containerfile -t $(IMAGE) "$$ctx"
	@echo "built $(IMAGE)"

# A short bounded run of every fuzz target (go test -fuzz takes one target
# per package per run), about 50s in all. Not part of `test`. The budgets
# are counts of inputs, not durations: Go 1.26's fuzzing coordinator can
# fail a target with "context deadline exceeded" when a -fuzztime duration
# ends (go.dev/issue/75804, fixed in Go 1.27); a count has no deadline.
# -timeout bounds each run on a slow machine.
FUZZ = $(GO) test -run '^$$' -timeout 5m
fuzz:
	$(FUZZ) -fuzz '^FuzzReader$$' -fuzztime 50000x ./source/mbox/
	$(FUZZ) -fuzz '^FuzzEMLX$$' -fuzztime 250000x ./source/eml/
	$(FUZZ) -fuzz '^FuzzIdentity$$' -fuzztime 40000x ./migrate/identity/
	$(FUZZ) -fuzz '^FuzzDotReader$$' -fuzztime 40000x ./source/pop3/
	$(FUZZ) -fuzz '^FuzzStatus$$' -fuzztime 60000x ./source/pop3/
