# mailferry — the two commands a fresh machine needs are `make demo` and `make test`.
GO ?= go

.PHONY: build demo test test-servers test-short bench fuzz vet

build:
	$(GO) build -o bin/mailferry ./cmd/mailferry

# A complete migration between embedded servers, then a second run that copies nothing.
demo:
	$(GO) run ./cmd/mailferry demo

# Unit tests, in-process servers and the integration tests against a private Dovecot.
# With CI=true a missing Dovecot fails the tests instead of skipping them.
test: vet
	$(GO) test -race -count=1 -timeout 20m ./...

# Once per machine, as root: unpack Cyrus, Courier and popa3d (never
# installed: they would remove Dovecot) into $MAILFERRY_SERVERS, default
# /var/cache/mailferry-servers. Without it, `make test` skips the tests that
# need them (unless CI=true: then they fail).
test-servers:
	.ci/servers

test-short:
	$(GO) test -short -count=1 ./...

vet:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "gofmt needed"; exit 1; }
	$(GO) vet ./...

# The speed and memory benchmark against Dovecot (see README, Performance).
bench:
	$(GO) test -run '^$$' -bench . -benchtime 1x -timeout 30m ./internal/bench/

# A short bounded run of every fuzz target (go test -fuzz takes one target
# per package per run), about 50s in all. Not part of `test`.
fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzReader$$' -fuzztime 10s ./source/mbox/
	$(GO) test -run '^$$' -fuzz '^FuzzEMLX$$' -fuzztime 8s ./source/eml/
	$(GO) test -run '^$$' -fuzz '^FuzzIdentity$$' -fuzztime 10s ./migrate/identity/
	$(GO) test -run '^$$' -fuzz '^FuzzDotReader$$' -fuzztime 8s ./source/pop3/
	$(GO) test -run '^$$' -fuzz '^FuzzStatus$$' -fuzztime 6s ./source/pop3/
