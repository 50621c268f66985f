# Merit — build, test and run. Needs only Go (see README); proto-gen also needs
# protoc from Debian (apt-get install protobuf-compiler libprotobuf-dev).

BUILDDIR ?= $(CURDIR)/build
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT   ?= $(shell git rev-parse HEAD 2>/dev/null)
SDKVER   := github.com/cosmos/cosmos-sdk/version
LDFLAGS  := -X $(SDKVER).Name=merit -X $(SDKVER).AppName=meritd \
            -X $(SDKVER).Version=$(VERSION) -X $(SDKVER).Commit=$(COMMIT)
BINARIES := meritd merit-miner merit-validator
GO_TEST_FLAGS ?= -count=1 -timeout 20m
# make test runs the unit and integration packages under the race detector.
RACE ?= -race

# Linters are pinned: `make lint` installs this exact version on first use
# (into build/tools, by `go install`, a few minutes cold).
GOLANGCI_LINT_VERSION := v2.15.0
GOLANGCI_LINT := $(BUILDDIR)/tools/golangci-lint-$(GOLANGCI_LINT_VERSION)/golangci-lint

.PHONY: demo all build install test test-e2e test-devnet test-dashboard lint proto-gen proto-check localnet localnet-stop devnet devnet-stop devnet-reset devnet-gen clean test-walkthrough test-clients

all: build

# The whole network on the built-in model with a paying user, printed live;
# EPOCHS=0 runs until Ctrl-C, which stops it.
EPOCHS ?= 6
demo: build
	go run ./scripts/demo -bin $(BUILDDIR) -logs $(BUILDDIR)/demo-logs -epochs $(EPOCHS)

build:
	@mkdir -p $(BUILDDIR)
	@for b in $(BINARIES); do \
	  echo "go build ./cmd/$$b -> build/$$b"; \
	  go build -ldflags '$(LDFLAGS)' -o $(BUILDDIR)/$$b ./cmd/$$b || exit 1; \
	done

install:
	@for b in $(BINARIES); do go install -ldflags '$(LDFLAGS)' ./cmd/$$b || exit 1; done

# Unit, keeper and in-process chain tests, plus the daemons' integration tests
# against a real meritd (built once here). The long suites have their own targets.
test: build
	MERITD_BIN=$(BUILDDIR)/meritd go test $(GO_TEST_FLAGS) $(RACE) $$(go list ./... | grep -v -e /tests/e2e -e /tests/devnet)

# End-to-end suites start real binaries on loopback; they grow with the demo.
test-e2e: build
	MERITD_BIN=$(BUILDDIR)/meritd E2E_LOGS=$(BUILDDIR)/e2e-logs go test $(GO_TEST_FLAGS) ./tests/e2e/... -args -ginkgo.no-color -ginkgo.v

# The README's walkthrough, run as written (blocks read from README.md) against
# a fresh localnet: a miner serves, a validator gets a permit and sets weights.
test-walkthrough: build
	./tests/walkthrough/run.sh

# Stock third-party clients (CosmJS, pinned by tests/clients/package-lock.json and
# installed by npm ci) and every snippet of docs/clients.md, against a fresh
# localnet. Needs Node.js 20+ and npm.
test-clients: build
	./tests/clients/run.sh

# Renders the validator dashboard in headless Chromium and checks the screenshot
# (needs Debian's chromium: apt-get install -y chromium).
test-dashboard:
	./validator/dashboard/screenshot.sh $(BUILDDIR)/dashboard.png

# gofmt, go vet, then golangci-lint with .golangci.yml.
lint: $(GOLANGCI_LINT)
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	go vet ./...
	$(GOLANGCI_LINT) run ./...

$(GOLANGCI_LINT):
	GOBIN=$(dir $(GOLANGCI_LINT)) go install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(GOLANGCI_LINT_VERSION)

proto-gen:
	./scripts/protocgen.sh

# Regenerates and fails when the committed generated code differs.
proto-check: proto-gen
	@stale=$$(git status --porcelain -- 'x/*.pb.go' 'x/*.pb.gw.go'); \
	if [ -n "$$stale" ]; then echo "generated code differs from the commit; run 'make proto-gen' and commit:"; echo "$$stale"; exit 1; fi
	@echo "generated code is up to date"

localnet: build
	./scripts/localnet.sh start

localnet-stop:
	./scripts/localnet.sh stop

# Four chain validators on loopback from networks/devnet (see networks/README.md).
devnet: build
	MERITD=$(BUILDDIR)/meritd ./scripts/devnet.sh start

devnet-stop:
	./scripts/devnet.sh stop

devnet-reset:
	./scripts/devnet.sh reset

# Regenerates networks/devnet (new keys and genesis); commit the result.
devnet-gen: build
	go run ./scripts/devnetgen -meritd $(BUILDDIR)/meritd -out networks/devnet

# Fault-tolerance and agreement tests on the 4-node devnet (ginkgo).
test-devnet: build
	MERITD_BIN=$(BUILDDIR)/meritd go test $(GO_TEST_FLAGS) ./tests/devnet/... -args -ginkgo.no-color -ginkgo.v

clean:
	-./scripts/localnet.sh stop 2>/dev/null
	-./scripts/devnet.sh stop 2>/dev/null
	rm -rf $(BUILDDIR)
