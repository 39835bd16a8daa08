GO ?= go
PKGS := ./...

.PHONY: run test test-short test-rules fuzz bench vet vulncheck fmt build clean

## run: everything in one process (embedded NATS, simulator, api, worker)
run:
	$(GO) run ./cmd/patchbay-dev

## build: all binaries into ./bin
build:
	CGO_ENABLED=0 $(GO) build -trimpath -o bin/ ./cmd/...

## test: vet, the Prometheus rules and config, and every test with the race
## detector (fuzz seed corpora included)
test: vet test-rules
	$(GO) test -race -count=1 -timeout 20m $(PKGS)

## test-rules: promtool check config/rules and the alert unit tests in
## deploy/prometheus/tests. Without promtool it fails in CI (CI=true) and is
## skipped with a message elsewhere (.ci/run installs Debian's prometheus).
PROMTOOL ?= promtool
test-rules:
	@if ! command -v $(PROMTOOL) >/dev/null 2>&1; then \
		if [ "$$CI" = "true" ]; then echo "test-rules: $(PROMTOOL) not found (CI=true): install it (apt-get install prometheus)" >&2; exit 1; fi; \
		echo "test-rules: SKIPPED, $(PROMTOOL) not found (apt-get install prometheus, or set PROMTOOL=)" >&2; exit 0; \
	fi; \
	cd deploy/prometheus && $(PROMTOOL) check config prometheus.yml && \
	$(PROMTOOL) check rules patchbay-rules.yml && \
	$(PROMTOOL) test rules tests/*.yml

## vulncheck: govulncheck ./... (warns instead of failing when the
## vulnerability database cannot be reached); .ci/run installs govulncheck.
vulncheck:
	./.ci/vulncheck

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
	$(GO) test ./internal/client -run '^$$' -fuzz FuzzRequestTarget -fuzztime $(FUZZTIME)
	$(GO) test ./internal/webhooksig -run '^$$' -fuzz FuzzVerify -fuzztime $(FUZZTIME)
	$(GO) test ./internal/redact -run '^$$' -fuzz FuzzJSON -fuzztime $(FUZZTIME)

## bench: benchmarks (see README for the figures and how they were made):
## the in-process pipeline (internal/process/bench_test.go), then the real
## binaries as separate processes (cmd/patchbay-bench), built into a
## temporary directory that is removed afterwards. About 2 minutes on 2 cores
## (build cache warm). Extra driver flags: make bench BENCH_FLAGS="-clients 8".
BENCH_FLAGS ?=
bench:
	@set -e; dir=$$(mktemp -d "$${TMPDIR:-/tmp}/patchbay-bench-bin.XXXXXX"); trap 'rm -rf "$$dir"' EXIT; \
	echo "== building nats-server, api, worker, patchbay-bench into $$dir"; \
	$(GO) build -o "$$dir/nats-server" github.com/nats-io/nats-server/v2; \
	CGO_ENABLED=0 $(GO) build -trimpath -o "$$dir/" ./cmd/api ./cmd/worker ./cmd/patchbay-bench; \
	echo "== in-process benchmarks (internal/process)"; \
	$(GO) test -run '^$$' -bench '^(BenchmarkIntake|BenchmarkIntakeClosedLoop|BenchmarkEndToEnd)$$' -benchmem -benchtime 20000x -timeout 10m ./internal/process; \
	$(GO) test -run '^$$' -bench '^BenchmarkIntakeLatency$$' -benchtime 10000x -timeout 10m ./internal/process; \
	$(GO) test -run '^$$' -bench '^BenchmarkEndToEndLatency$$' -benchtime 2000x -timeout 10m ./internal/process; \
	echo "== real binaries as separate processes (cmd/patchbay-bench)"; \
	"$$dir/patchbay-bench" -nats-server "$$dir/nats-server" -api "$$dir/api" -worker "$$dir/worker" $(BENCH_FLAGS)

clean:
	rm -rf bin .patchbay-dev
