GO ?= go
PKGS := ./...

.PHONY: run test test-short fuzz bench vet fmt build clean

## run: everything in one process (embedded NATS, simulator, api, worker)
run:
	$(GO) run ./cmd/patchbay-dev

## build: all binaries into ./bin
build:
	CGO_ENABLED=0 $(GO) build -trimpath -o bin/ ./cmd/...

## test: vet, and every test with the race detector (fuzz seed corpora included)
test: vet
	$(GO) test -race -count=1 -timeout 20m $(PKGS)

test-short:
	$(GO) test -count=1 -short $(PKGS)

vet:
	@test -z "$$(gofmt -l . | tee /dev/stderr)" || (echo "gofmt: files above need formatting" && exit 1)
	$(GO) vet $(PKGS)

## fuzz: run each fuzz target for FUZZTIME (default 30s)
FUZZTIME ?= 30s
fuzz:
	$(GO) test ./internal/schema -run '^$$' -fuzz FuzzValidatePeeringUpdate -fuzztime $(FUZZTIME)
	$(GO) test ./internal/schema -run '^$$' -fuzz FuzzValidateIntegrationUpdate -fuzztime $(FUZZTIME)
	$(GO) test ./internal/client -run '^$$' -fuzz FuzzParseRetryAfter -fuzztime $(FUZZTIME)
	$(GO) test ./internal/client -run '^$$' -fuzz FuzzDecodeResponse -fuzztime $(FUZZTIME)

## bench: benchmarks (see README for the figures and how they were made)
bench:
	$(GO) test -run '^$$' -bench . -benchmem -benchtime 3s ./...

clean:
	rm -rf bin .patchbay-dev
