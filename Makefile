GO ?= go
PKGS := ./...

.PHONY: profile run test test-short test-rules fuzz bench bench-goodput bench-cluster bench-workers vet vulncheck fmt build clean

## run: everything in one process (embedded NATS, simulators, api, worker, notifier)
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
	$(GO) test ./internal/ccloud -run '^$$' -fuzz FuzzParseRetryAfter -fuzztime $(FUZZTIME)
	$(GO) test ./internal/ccloud -run '^$$' -fuzz FuzzDecodeResponse -fuzztime $(FUZZTIME)
	$(GO) test ./internal/ccloud -run '^$$' -fuzz FuzzRequestTarget -fuzztime $(FUZZTIME)
	$(GO) test ./internal/webhooksig -run '^$$' -fuzz FuzzVerify -fuzztime $(FUZZTIME)
	$(GO) test ./internal/redact -run '^$$' -fuzz FuzzJSON -fuzztime $(FUZZTIME)
	$(GO) test ./internal/slackapp -run '^$$' -fuzz FuzzParseCommand -fuzztime $(FUZZTIME)
	$(GO) test ./internal/notify/ticket -run '^$$' -fuzz FuzzTicket -fuzztime $(FUZZTIME)
	$(GO) test ./internal/notify -run '^$$' -fuzz FuzzParseRetryAfter -fuzztime $(FUZZTIME)
	$(GO) test ./internal/notify -run '^$$' -fuzz FuzzParseRateLimitReset -fuzztime $(FUZZTIME)

## bench: benchmarks (see README for the figures and how they were made):
## the in-process pipeline (internal/app/bench_test.go), then the real
## binaries as separate processes (bench/cmd/patchbay-bench), built into a
## temporary directory that is removed afterwards, then bench-goodput.
## About 2 minutes on 2 cores (build cache warm) plus bench-goodput's 6-8.
## Extra driver flags: make bench BENCH_FLAGS="-clients 8".
BENCH_FLAGS ?=
## BENCH_BUILD builds nats-server, api, worker and patchbay-bench into $$dir,
## a temporary directory removed when the recipe's shell exits.
BENCH_BUILD = set -e; dir=$$(mktemp -d "$${TMPDIR:-/tmp}/patchbay-bench-bin.XXXXXX"); trap 'rm -rf "$$dir"' EXIT; \
	echo "== building nats-server, api, worker, patchbay-bench into $$dir"; \
	$(GO) build -o "$$dir/nats-server" github.com/nats-io/nats-server/v2; \
	CGO_ENABLED=0 $(GO) build -trimpath -o "$$dir/" ./cmd/api ./cmd/worker ./bench/cmd/patchbay-bench
BENCH_BINS = -nats-server "$$dir/nats-server" -api "$$dir/api" -worker "$$dir/worker"
bench:
	@$(BENCH_BUILD); \
	echo "== in-process benchmarks (internal/app)"; \
	$(GO) test -run '^$$' -bench '^(BenchmarkIntake|BenchmarkIntakeClosedLoop|BenchmarkEndToEnd)$$' -benchmem -benchtime 20000x -timeout 10m ./internal/app; \
	$(GO) test -run '^$$' -bench '^BenchmarkIntakeLatency$$' -benchtime 10000x -timeout 10m ./internal/app; \
	$(GO) test -run '^$$' -bench '^BenchmarkEndToEndLatency$$' -benchtime 2000x -timeout 10m ./internal/app; \
	echo "== real binaries as separate processes (bench/cmd/patchbay-bench)"; \
	"$$dir/patchbay-bench" $(BENCH_BINS) $(BENCH_FLAGS); \
	echo "== goodput under a rate limit (bench/cmd/patchbay-bench -scenario goodput)"; \
	"$$dir/patchbay-bench" $(BENCH_BINS) -scenario goodput $(GOODPUT_FLAGS); \
	echo "== worker order, fencing and throughput (bench/cmd/patchbay-bench -scenario workers)"; \
	"$$dir/patchbay-bench" $(BENCH_BINS) -scenario workers $(WORKERS_FLAGS)

## bench-goodput: goodput under an upstream rate limit of 20 and 100
## requests/s (issues 4 and 12): 2,000 changes through nats-server, api and 3
## worker processes, and the same through go-retryablehttp with its defaults
## and the same concurrency; then 1,200 changes under a limit that goes
## 40 -> 10 (at 10 s) -> 40 (at 16 s) requests/s. 7-9 minutes, each run
## bounded, the whole by -timeout (15 min).
## Extra flags: make bench-goodput GOODPUT_FLAGS="-goodput-limits 50 -keep -dir /tmp/gp".
GOODPUT_FLAGS ?=
bench-goodput:
	@$(BENCH_BUILD); \
	"$$dir/patchbay-bench" $(BENCH_BINS) -scenario goodput $(GOODPUT_FLAGS)

## bench-cluster: intake and end-to-end throughput on a 3-node R3 JetStream
## cluster (three nats-server processes) next to a single node, in one run
## (issue 7). About 1 minute, at most 3.
## Extra flags: make bench-cluster CLUSTER_FLAGS="-cluster-workers 3".
CLUSTER_FLAGS ?=
bench-cluster:
	@$(BENCH_BUILD); \
	"$$dir/patchbay-bench" $(BENCH_BINS) -scenario cluster $(CLUSTER_FLAGS)

## bench-workers: the worker's order, fencing and throughput with real
## processes (issue 11): healthy changes next to 4 resources failing every
## call, 600 resources at 300 ms upstream latency with 3 workers, and a
## worker frozen with SIGSTOP / its NATS link stalled 12 s with a 6 s lease.
## About 3 minutes.
## Extra flags: make bench-workers WORKERS_FLAGS="-workers-only frozen -keep -dir /tmp/wb".
WORKERS_FLAGS ?=
bench-workers:
	@$(BENCH_BUILD); \
	"$$dir/patchbay-bench" $(BENCH_BINS) -scenario workers $(WORKERS_FLAGS)

clean:
	rm -rf bin .patchbay-dev

## profile: CPU profile of the intake alone (BenchmarkIntakeClosedLoop); the
## test binary and cpu.out go to a temporary directory (printed), never the tree.
profile:
	@dir=$$(mktemp -d "$${TMPDIR:-/tmp}/patchbay-profile.XXXXXX"); \
	$(GO) test ./internal/app -run '^$$' -bench IntakeClosedLoop -benchtime 20000x -o "$$dir/app.test" -cpuprofile "$$dir/cpu.out" && \
	$(GO) tool pprof -top -cum "$$dir/app.test" "$$dir/cpu.out" | head -40; \
	echo "profile kept in $$dir (go tool pprof $$dir/app.test $$dir/cpu.out)"
