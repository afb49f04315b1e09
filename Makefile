# Everything a person repeats. `make help` lists the targets.
GO            ?= go
PKGS          ?= ./...
FUZZTIME      ?= 60s
BENCHTIME     ?= 1s
GOLANGCI      ?= golangci-lint
GOLANGCI_VER  ?= v2.15.0

.DEFAULT_GOAL := help

.PHONY: help
help: ## list the targets
	@awk 'BEGIN{FS=":.*## "} /^[a-zA-Z_-]+:.*## /{printf "  %-10s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

.PHONY: test
test: ## run every test with the race detector, then the TypeScript reader's (installs redis-server if missing)
	@scripts/ensure-redis.sh
	$(GO) test -race -count=1 -timeout 30m $(PKGS)
	@# The devnet end-to-end test and test/e2e (the three services as separate processes) run the
	@# whole system; under -race on two cores the simulated chains and venues cannot keep up, so they
	@# are built for this second pass only (tag !race).
	$(GO) test -count=1 -timeout 10m -run '^TestDevnet' ./cmd/rebalancer/internal/app
	$(GO) test -count=1 -timeout 10m ./test/e2e
	$(MAKE) test-ts

.PHONY: bench
bench: ## run the benchmarks; figures are ratios against baselines measured in the same run
	$(GO) test -run '^$$' -bench . -benchmem -benchtime $(BENCHTIME) $(PKGS)

.PHONY: fuzz
# Minimising a new input can take most of a short run (Go's default allows 60 s per input), so
# minimisation is capped and the run spends its time executing.
fuzz: ## run every fuzz target for FUZZTIME each (default 60s)
	@for pkg in $$($(GO) list $(PKGS)); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg 2>/dev/null | grep '^Fuzz'); do \
	    echo "== $$pkg $$f"; \
	    $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) -fuzzminimizetime 5s $$pkg || exit 1; \
	  done; \
	done

.PHONY: lint
lint: ## gofmt, go vet and golangci-lint (installed at GOLANGCI_VER if missing)
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "gofmt: files above need formatting"; exit 1; }
	$(GO) vet $(PKGS)
	@command -v $(GOLANGCI) >/dev/null 2>&1 || $(GO) install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(GOLANGCI_VER)
	$(GOLANGCI) run $(PKGS)

.PHONY: devnet
devnet: ## run the whole system on this machine (same as the README's first command)
	$(GO) run ./cmd/rebalancer devnet

.PHONY: build
build: ## build the production binary (no simulators: -tags nodevnet) into bin/
	CGO_ENABLED=0 $(GO) build -tags nodevnet -trimpath -o bin/rebalancer ./cmd/rebalancer

.PHONY: tidy
tidy: ## go mod tidy and check nothing else changed
	$(GO) mod tidy

.PHONY: test-ts
test-ts: ## test the TypeScript ledger reader (clients/ts): fixtures, a live redis-server, a live devnet (builds the Go binary)
	@scripts/ensure-redis.sh
	cd clients/ts && npm ci --no-audit --no-fund && npm test
