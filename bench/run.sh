#!/usr/bin/env bash
# System benchmarks against the real servers scripts/testenv.sh starts.
# `make bench` runs this; results print as Markdown and are kept in
# bench/results/<timestamp>.md for copying into BENCHMARKS.md.
set -euo pipefail
cd "$(dirname "$0")/.."
export GODEBUG=cgocheck=0
: "${LEADQ_TEST_REDIS_URL:?run scripts/testenv.sh up and source .testenv/env}"
mkdir -p bench/results
out="bench/results/$(date -u +%Y%m%dT%H%M%SZ).md"
{
	echo "# make bench, $(date -u +%FT%TZ), $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(go version | cut -d' ' -f3)"
	echo
	echo "## Go micro-benchmarks (go test -bench)"
	echo
	echo '```'
	go test -run='^$' -bench=. -benchmem -benchtime=1s ./model/ ./features/ ./api/ 2>&1 | grep -E '^(Benchmark|goos|cpu)' || true
	echo '```'
	echo
	echo "## Ingest: go run ./bench/ingest"
	echo
	go run ./bench/ingest
	echo
	echo "## Model: bench/model/run.sh"
	echo
	bench/model/run.sh
	echo
	bench/http/run.sh # prints its own "## HTTP over loopback" section
	echo
	echo "## Scale: go run ./bench/scale (retrain 100,000 rows, rescore 1,000,000 leads)"
	echo
	go run ./bench/scale
} | tee "$out"
echo "results kept in $out" >&2
