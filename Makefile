# leadq — every target carries GODEBUG=cgocheck=0: golearn's logistic
# regression passes Go pointers to C and panics without it (shared/FACTS.md).
export GODEBUG := cgocheck=0

GO       ?= go
BIN      := bin/leadq
VERSION  ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
LDFLAGS  := -X=main.version=$(VERSION)
FUZZTIME ?= 10s
# Integration tests read LEADQ_TEST_REDIS_URL and LEADQ_TEST_KAFKA_BROKERS
# from the file scripts/testenv.sh writes.
TESTENV  := . ./.testenv/env

.PHONY: run build test test-short vet fuzz bench testenv-up testenv-down clean

# Development keys for `make run` only (the README's tour uses them); set
# LEADQ_API_KEYS to your own anywhere else.
DEV_KEYS := admin:dev-admin-key,form:dev-form-key,dialer:dev-dialer-key,ingest:dev-ingest-key

## run: build and start leadq on its embedded Redis and Kafka (nothing to install)
run: build
	LEADQ_API_KEYS="$${LEADQ_API_KEYS:-$(DEV_KEYS)}" ./$(BIN) serve

## build: compile the leadq binary into bin/
build:
	$(GO) build -ldflags='$(LDFLAGS)' -o $(BIN) ./cmd/leadq

## test: start real Redis and Kafka, then vet, race-test everything and fuzz briefly
test: testenv-up vet
	$(TESTENV) && $(GO) test -race -count=1 -timeout 20m ./...
	$(MAKE) fuzz

## test-short: unit tests only, no servers needed
test-short:
	$(GO) test -short -race ./...

vet:
	$(GO) vet ./...

## fuzz: a short fuzzing run of every decoder, from the checked-in corpus
fuzz:
	@for target in $$(grep -rhoE '^func Fuzz[A-Za-z0-9_]+' --include='*_test.go' . | sed 's/^func //' | sort -u); do \
		pkg=$$(grep -rlE "^func $$target\(" --include='*_test.go' . | head -n1 | xargs dirname); \
		echo "fuzz $$target in $$pkg for $(FUZZTIME)"; \
		$(GO) test -run='^$$' -fuzz="^$$target$$" -fuzztime=$(FUZZTIME) $$pkg || exit 1; \
	done

## bench: system benchmarks against real servers; results go to BENCHMARKS.md
bench: testenv-up
	$(TESTENV) && ./bench/run.sh

testenv-up:
	./scripts/testenv.sh up

testenv-down:
	./scripts/testenv.sh down

clean:
	rm -rf bin
