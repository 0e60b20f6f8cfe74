#!/usr/bin/env bash
# HTTP system benchmarks of leadq over loopback, each side by side in the same
# run with a bare Fiber server (bench/http/baseline) on the same machine and
# the same real Redis. Prints a Markdown section on stdout, progress on stderr.
#
#   . .testenv/env && bench/http/run.sh            full run (about 5 minutes)
#   . .testenv/env && bench/http/run.sh --quick    short runs, 100k queued leads (tooling check)
#
# Order: POST /v1/score; POST /v1/leads; pulls of the leads just created
# through the form (they have feature state, unlike the loaded ones); load
# the queue with bench/http/loadqueue (not over HTTP); pull cost at 10k, 100k
# and 1M queued leads; open-loop pulls at 1,000/s; saturated pulls.
#
# Environment (defaults in brackets): BENCH_HTTP_DURATION [12] seconds per
# measured wrk run, BENCH_HTTP_WARMUP [3], BENCH_HTTP_QUEUE [1000000] queued
# leads, BENCH_HTTP_RATE [1000] open-loop pulls/s, BENCH_HTTP_OPEN [10]
# open-loop seconds, BENCH_HTTP_GROW_N [3000] pulls per growth run,
# BENCH_HTTP_GROW_SIZES ["10000 100000"] smaller queue sizes compared with
# BENCH_HTTP_QUEUE, BENCH_HTTP_KEEP=1 keeps the work directory (logs, profiles).
set -euo pipefail
cd "$(dirname "$0")/../.."
export GODEBUG=cgocheck=0
: "${LEADQ_TEST_REDIS_URL:?run scripts/testenv.sh up and source .testenv/env}"
: "${LEADQ_TEST_KAFKA_BROKERS:?run scripts/testenv.sh up and source .testenv/env}"

DUR=${BENCH_HTTP_DURATION:-12}
WARM=${BENCH_HTTP_WARMUP:-3}
QUEUE=${BENCH_HTTP_QUEUE:-1000000}
RATE=${BENCH_HTTP_RATE:-1000}
OPEN=${BENCH_HTTP_OPEN:-10}
GROW_N=${BENCH_HTTP_GROW_N:-3000}
GROW_SIZES=${BENCH_HTTP_GROW_SIZES:-10000 100000}
CONNS=16
THREADS=2
cmdline="bench/http/run.sh $*"
ONLY="" # empty: every part; "forms": only POST /v1/score and POST /v1/leads
while (($#)); do
	case $1 in
	--quick) DUR=3 WARM=1 QUEUE=100000 OPEN=3 GROW_N=1000 GROW_SIZES="10000" ;;
	--forms-only) ONLY=forms ;;
	-h | --help)
		cat <<'USAGE'
usage: bench/http/run.sh [--quick] [--forms-only]
  --quick       short runs and 100k queued leads (a tooling check, not a result)
  --forms-only  only POST /v1/score and POST /v1/leads (no queue loading, no pulls)
Environment: see the comment at the top of this script.
USAGE
		exit 0
		;;
	*) echo "bench/http: unknown argument $1 (see --help)" >&2; exit 2 ;;
	esac
	shift
done

log() { echo "bench/http: $*" >&2; }
die() { log "ERROR: $*"; exit 1; }

run=bh$(date +%s)$RANDOM
work=$(mktemp -d "${TMPDIR:-/tmp}/leadq-bench-http.XXXXXX")
prefix="bench:$run:"
bprefix="bench:$run:base:"
topic="bench.$run.events"
dlq="bench.$run.dlq"
alerts="bench.$run.alerts"
fkey="form-$run-secret" dkey="dialer-$run-secret" ikey="ingest-$run-secret" akey="admin-$run-secret"
leadq_pid="" base_pid=""

cleanup() {
	local rc=$?
	set +e
	for pid in $leadq_pid $base_pid; do
		kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	done
	if [[ -x $work/loadqueue ]]; then
		"$work/loadqueue" -clean -prefix "$prefix" -topics "$topic,$dlq,$alerts" >&2
		"$work/loadqueue" -clean -prefix "$bprefix" >&2
	fi
	if [[ ${BENCH_HTTP_KEEP:-} == 1 || $rc != 0 ]]; then
		log "work directory kept: $work"
	else
		rm -rf "$work"
	fi
	exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# free_port: a loopback port nobody listens on.
free_port() {
	local p
	for _ in $(seq 100); do
		p=$((20000 + RANDOM % 40000))
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			echo "$p"
			return
		fi
	done
	die "no free port"
}

wait_ready() { # url seconds pid
	local deadline=$((SECONDS + $2))
	until curl -fsS -o /dev/null "$1" 2>/dev/null; do
		kill -0 "$3" 2>/dev/null || die "server for $1 exited; see $work"
		((SECONDS < deadline)) || die "$1 not ready after $2 s; see $work"
		sleep 0.2
	done
}

# field LINE NAME: the value of NAME=value in a RESULT line.
field() { sed -nE "s/.*[ ]$2=([^ ]+).*/\1/p" <<<"$1"; }
ms() { awk -v u="$1" 'BEGIN { printf "%.2f ms", u / 1000 }'; }
num() { awk -v x="$1" 'BEGIN { printf "%.0f\n", x }' | sed -E ':a;s/([0-9])([0-9]{3})($|,)/\1,\2\3/;ta'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b == 0) print "-"; else printf "%.2f", a / b }'; }
# met COND-AWK-EXPR: "met" or "**NOT met**".
met() { if awk "BEGIN { exit !($1) }"; then echo met; else echo "**NOT met**"; fi; }

# wrkrun LABEL KEY SCRIPT URL SECONDS: one wrk run, its RESULT line on stdout.
wrkrun() {
	local out line
	out=$(BENCH_WRK_DIR=$PWD/bench/http/wrk BENCH_KEY=$2 BENCH_TAG="${WRK_TAG:-$run-$1-$RANDOM}" \
		wrk -t"$THREADS" -c"$CONNS" -d"$5"s --timeout 5s -s "bench/http/wrk/$3" "$4" 2>&1) || die "wrk $1: $out"
	line=$(grep '^RESULT' <<<"$out") || die "wrk $1 printed no RESULT: $out"
	log "$1: $line"
	echo "$line"
}

# wrkpair NAME KEY SCRIPT PATH: warm both, then measure baseline and leadq.
wrkpair() {
	wrkrun "$1-warm-base" "" "$3" "$base_url$4" "$WARM" >/dev/null
	wrkrun "$1-warm-leadq" "$2" "$3" "$leadq_url$4" "$WARM" >/dev/null
	B=$(wrkrun "$1-base" "" "$3" "$base_url$4" "$DUR")
	L=$(wrkrun "$1-leadq" "$2" "$3" "$leadq_url$4" "$DUR")
}

queued() { "$work/loadqueue" -prefix "$prefix" -pool "${1:-default}" -count; }

machine() { echo "$(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), load average $(cut -d' ' -f1-3 /proc/loadavg)"; }

row() { # metric leadq base ratio bar met
	echo "| $1 | $2 | $3 | $4 | $5 | $6 |"
}
hdr() { echo "| | leadq | baseline | leadq/baseline | bar | |"; echo "|---|---:|---:|---:|---|---|"; }
# clean LINE: 1 if wrk counted no failed request (status >= 400, socket errors, timeouts), else 0; for met.
clean() { [[ -z $(nonok "$1") ]] && echo 1 || echo 0; }
nonok() { # a RESULT line's failures, for a footnote
	local e
	e=$(($(field "$1" non2xx) + $(field "$1" connect) + $(field "$1" read) + $(field "$1" write) + $(field "$1" timeout)))
	((e == 0)) || echo "($e failed) "
}

report_forms() {
cat <<EOF
## HTTP over loopback: bench/http/run.sh

Machine: $load_start at the start, $(cut -d' ' -f1-3 /proc/loadavg) at the end (wrk, leadq, the
baseline, Redis and Kafka share the cores; other work on the machine shows in the load; Redis served
${redis_ops:-?} ops/s for other users just before the run). leadq
$leadq_version, Redis $(redis-cli -u "$LEADQ_TEST_REDIS_URL" info server 2>/dev/null | sed -n 's/^redis_version:\(.*\)\r$/\1/p' || echo "?"),
wrk $CONNS connections / $THREADS threads, ${DUR} s measured after ${WARM} s warm-up, baseline first then leadq.
Command: \`. .testenv/env && $cmdline\`

### POST /v1/score (baseline (a): Fiber, decode the same body, constant answer)

$(hdr)
$(row "req/s" "$(nonok "$SL")$(num "$(field "$SL" rps)")" "$(nonok "$SB")$(num "$(field "$SB" rps)")" "$(ratio "$(field "$SL" rps)" "$(field "$SB" rps)")" "≥ 0.70 and ≥ 20,000" "$(met "$(field "$SL" rps) >= 0.7 * $(field "$SB" rps) && $(field "$SL" rps) >= 20000 && $(clean "$SL") && $(clean "$SB")")")
$(row "p50" "$(ms "$(field "$SL" p50_us)")" "$(ms "$(field "$SB" p50_us)")" "$(ratio "$(field "$SL" p50_us)" "$(field "$SB" p50_us)")" "" "")
$(row "p99" "$(ms "$(field "$SL" p99_us)")" "$(ms "$(field "$SB" p99_us)")" "$(ratio "$(field "$SL" p99_us)" "$(field "$SB" p99_us)")" "≤ 1.5" "$(met "$(field "$SL" p99_us) <= 1.5 * $(field "$SB" p99_us) && $(clean "$SL") && $(clean "$SB")")")

### POST /v1/leads (baseline (b): decode the same body, one EVALSHA HSET of 4 fields)

Every request is a new lead (unique email). leadq also dedups, applies two events together with
their copies in the Redis outbox (a forwarder in the same process writes them to Kafka, acks=all,
and the consumer reads them back), scores, places the lead in the queue and records a snapshot.
Both servers decode form bodies with goccy/go-json (leadq's api.decodeForm, which hands any
error to encoding/json for its wording), on both routes.

$(hdr)
$(row "req/s" "$(nonok "$LL")$(num "$(field "$LL" rps)")" "$(nonok "$LB")$(num "$(field "$LB" rps)")" "$(ratio "$(field "$LL" rps)" "$(field "$LB" rps)")" "≥ 0.70" "$(met "$(field "$LL" rps) >= 0.7 * $(field "$LB" rps) && $(clean "$LL") && $(clean "$LB")")")
$(row "p50" "$(ms "$(field "$LL" p50_us)")" "$(ms "$(field "$LB" p50_us)")" "$(ratio "$(field "$LL" p50_us)" "$(field "$LB" p50_us)")" "" "")
$(row "p99" "$(ms "$(field "$LL" p99_us)")" "$(ms "$(field "$LB" p99_us)")" "$(ratio "$(field "$LL" p99_us)" "$(field "$LB" p99_us)")" "" "")
EOF
}

# ---------------------------------------------------------------- build, start
command -v wrk >/dev/null || die "wrk is not installed (apt-get install wrk)"
load_start=$(machine)
redis_ops=$(redis-cli -u "$LEADQ_TEST_REDIS_URL" info stats | tr -d '\r' | sed -n 's/^instantaneous_ops_per_sec://p')
log "run $run, work directory $work; $load_start"
make -s build >&2
for t in baseline loadqueue openloop; do
	go build -o "$work/$t" "./bench/http/$t"
done

lport=$(free_port)
LEADQ_REDIS_URL=$LEADQ_TEST_REDIS_URL LEADQ_KAFKA_BROKERS=$LEADQ_TEST_KAFKA_BROKERS \
	LEADQ_HTTP_ADDR=127.0.0.1:$lport LEADQ_KEY_PREFIX=$prefix LEADQ_TOPIC=$topic LEADQ_DLQ_TOPIC=$dlq LEADQ_ALERT_TOPIC=$alerts \
	LEADQ_GROUP_ID=bench-$run LEADQ_API_KEYS="form:$fkey,dialer:$dkey,ingest:$ikey,admin:$akey" \
	LEADQ_LEASE=30m LEADQ_RATE_LIMIT=1e9 LEADQ_FORM_RATE_LIMIT=1e9 LEADQ_LOG_LEVEL=warn \
	./bin/leadq serve >"$work/leadq.log" 2>&1 &
leadq_pid=$!
bport=$(free_port)
"$work/baseline" -addr "127.0.0.1:$bport" -redis "$LEADQ_TEST_REDIS_URL" -prefix "$bprefix" >"$work/baseline.log" 2>&1 &
base_pid=$!
leadq_url=http://127.0.0.1:$lport base_url=http://127.0.0.1:$bport
wait_ready "$leadq_url/readyz" 60 "$leadq_pid"
wait_ready "$base_url/readyz" 30 "$base_pid"
log "leadq on $leadq_url (pid $leadq_pid), baseline on $base_url (pid $base_pid)"

# ------------------------------------------------------------- POST /v1/score
wrkpair score "$fkey" score.lua /v1/score
SB=$B SL=$L

# ------------------------------------------------------------- POST /v1/leads
wrkpair leads "$fkey" leads.lua /v1/leads
LB=$B LL=$L
if [[ $ONLY == forms ]]; then
	leadq_version=$(git describe --always --dirty 2>/dev/null || echo dev)
	report_forms
	exit 0
fi

# --------------------------------- pulls of the leads created through the form
ids=$work/ids.txt
formq=$(queued)
fr_n=$((formq < 6000 ? formq : 6000))
FR="" FD=""
if ((fr_n >= 1000)); then
	warm=0.5
	FR=$("$work/openloop" -url "$leadq_url/v1/queue/next" -key "$dkey" -tag "$run-f" -mode open -rate "$RATE" \
		-warmup ${warm}s -duration "$(awk -v n="$fr_n" -v r="$RATE" -v w=$warm 'BEGIN { printf "%.1fs", n / r - w - 0.2 }')" -ids "$ids")
	log "pulls of form leads: $FR"
fi
rest=$(queued)
if ((rest > 0)); then # drain them so the queue benchmarks see only loaded leads
	FD=$("$work/openloop" -url "$leadq_url/v1/queue/next" -key "$dkey" -tag "$run-d" -mode closed -conns $CONNS -n "$rest" -ids "$ids")
	log "drained form leads: $FD"
fi

# -------------------------------------------------------------- load the queue
log "loading the queue (${GROW_SIZES// /, } and $QUEUE leads) and the baseline's sorted set"
"$work/baseline" -redis "$LEADQ_TEST_REDIS_URL" -prefix "$bprefix" -fill "$QUEUE" -fill-only >&2 &
fill_pid=$!
from=0
gpools=()
for n in $GROW_SIZES; do
	"$work/loadqueue" -prefix "$prefix" -pool "g$n" -from $from -n "$n" >&2
	gpools+=("g$n")
	from=$((from + n))
done
load_line=$("$work/loadqueue" -prefix "$prefix" -pool default -from $from -n "$QUEUE")
from=$((from + QUEUE))
log "$load_line"
wait "$fill_pid" || die "filling the baseline's sorted set failed"

# ------------------------------------------------- pull cost against queue size
# The same closed-loop run (16 connections, GROW_N pulls) on a pool of each
# size, in rounds small→large→large→small, each run followed by a top-up of
# GROW_N new leads so every run starts at its size. Besides pulls/s (which
# other work on a shared machine disturbs), the CPU leadq and Redis spend per
# pull is measured from /proc and INFO cpu.
cpu_leadq() { awk '{ print $14 + $15 }' "/proc/$leadq_pid/stat"; } # clock ticks
cpu_redis() { redis-cli -u "$LEADQ_TEST_REDIS_URL" info cpu | tr -d '\r' | awk -F: '/^used_cpu_(sys|user):/ { t += $2 } END { printf "%.6f\n", t }'; }
tick=$(getconf CLK_TCK)
declare -A grow_rps grow_p50 grow_lcpu grow_rcpu
sizes=($GROW_SIZES "$QUEUE")
pools=("${gpools[@]}" default)
order=()
for _ in 1 2; do
	for i in "${!sizes[@]}"; do order+=("$i"); done
	for ((i = ${#sizes[@]} - 1; i >= 0; i--)); do order+=("$i"); done
done
for i in "${order[@]}"; do
	body="{\"sdr_id\":\"rep-{run}-{n}\",\"pools\":[\"${pools[$i]}\"]}"
	"$work/openloop" -url "$leadq_url/v1/queue/next" -key "$dkey" -tag "$run-gw$i-$RANDOM" -mode closed -conns $CONNS -n 50 -body "$body" -ids "$ids" >/dev/null
	l0=$(cpu_leadq) r0=$(cpu_redis)
	G=$("$work/openloop" -url "$leadq_url/v1/queue/next" -key "$dkey" -tag "$run-g$i-$RANDOM" -mode closed -conns $CONNS -n "$GROW_N" -body "$body" -ids "$ids")
	l1=$(cpu_leadq) r1=$(cpu_redis)
	lc=$(awk -v a="$l0" -v b="$l1" -v t="$tick" -v n="$GROW_N" 'BEGIN { printf "%.0f", (b - a) / t * 1e6 / n }')
	rc=$(awk -v a="$r0" -v b="$r1" -v n="$GROW_N" 'BEGIN { printf "%.1f", (b - a) * 1e6 / n }')
	log "pull cost at ${sizes[$i]} queued: $G leadq_cpu_us=$lc redis_cpu_us=$rc load=$(cut -d' ' -f1 /proc/loadavg)"
	[[ $(field "$G" other) == - && $(field "$G" errors) == 0 ]] || die "growth run at ${sizes[$i]}: not every pull answered 200: $G"
	grow_rps[$i]="${grow_rps[$i]:-} $(field "$G" rps)"
	grow_p50[$i]="${grow_p50[$i]:-} $(field "$G" p50_us)"
	grow_lcpu[$i]="${grow_lcpu[$i]:-} $lc"
	grow_rcpu[$i]="${grow_rcpu[$i]:-} $rc"
	"$work/loadqueue" -prefix "$prefix" -pool "${pools[$i]}" -from $from -n "$GROW_N" >/dev/null # top up
	from=$((from + GROW_N))
done

# ------------------------------------------------------ open loop at 1,000/s
O=$("$work/openloop" -url "$leadq_url/v1/queue/next" -key "$dkey" -tag "$run-o" -mode open -rate "$RATE" -warmup 2s -duration "${OPEN}s" -ids "$ids" 2>"$work/openloop.err")
log "open loop: $O $(cat "$work/openloop.err")"
OB=$("$work/openloop" -url "$base_url/v1/queue/next" -tag "$run-ob" -mode open -rate "$RATE" -warmup 2s -duration "${OPEN}s" 2>"$work/openloop-base.err")
log "open loop, baseline: $OB $(cat "$work/openloop-base.err")"

# ---------------------------------------------------------- saturated pulls
wrkrun next-warm-base "" next.lua "$base_url/v1/queue/next" "$WARM" >/dev/null
wrkrun next-warm-leadq "$dkey" next.lua "$leadq_url/v1/queue/next" "$WARM" >/dev/null
# The open loop and the warm-up popped the baseline's set: refill it so that
# its measured run starts, like leadq's, at about $QUEUE members (and cannot
# run dry: an empty set answers 503, which wrk counts).
"$work/baseline" -redis "$LEADQ_TEST_REDIS_URL" -prefix "$bprefix" -fill "$QUEUE" -fill-only >&2
NB=$(wrkrun next-base "" next.lua "$base_url/v1/queue/next" "$DUR")
before=$(queued)
nl_tag=$run-next-leadq
NL=$(WRK_TAG=$nl_tag wrkrun next-leadq "$dkey" next.lua "$leadq_url/v1/queue/next" "$DUR")
after=$(queued)
nl_ok=$(($(field "$NL" requests) - $(field "$NL" non2xx)))
# The saturated run's leads, read from the reps' open-claim ledgers after the
# run (wrk keeps no bodies): exact, in-flight requests included, and appended
# to the ids the duplicate check reads.
NC=$("$work/loadqueue" -prefix "$prefix" -claims "rep-$nl_tag-" -ids "$ids")
log "saturated run's claims: $NC"
nl_claims=$(field "$NC" claims) nl_distinct=$(field "$NC" distinct)
load_end=$(machine)

# ------------------------------------------------------------------- report
dups_all=$(sort "$ids" | uniq -d | wc -l)
claimed_all=$(wc -l <"$ids")
leadq_version=$(git describe --always --dirty 2>/dev/null || echo dev)

report_forms
cat <<EOF
### POST /v1/queue/next with $(num "$QUEUE") queued leads (baseline (c): one Lua ZPOPMAX on a $(num "$QUEUE")-member sorted set)

Queue loaded with bench/http/loadqueue (Queue.UpsertBatch, not HTTP): $load_line.
Every pull comes from a different rep (rep cap 1). Loaded leads have no feature state, so these
pulls skip the lead's features and queue state in the answer; the form-lead row below has them.

| | leadq | baseline | leadq/baseline | bar | |
|---|---:|---:|---:|---|---|
| open loop, $RATE pulls/s offered for ${OPEN} s: p50 | $(ms "$(field "$O" p50_us)") | $(ms "$(field "$OB" p50_us)") | $(ratio "$(field "$O" p50_us)" "$(field "$OB" p50_us)") | | |
| open loop: p99 (p99.9, max) | $(ms "$(field "$O" p99_us)") ($(ms "$(field "$O" p999_us)"), $(ms "$(field "$O" max_us)")) | $(ms "$(field "$OB" p99_us)") ($(ms "$(field "$OB" p999_us)"), $(ms "$(field "$OB" max_us)")) | $(ratio "$(field "$O" p99_us)" "$(field "$OB" p99_us)") | ≤ 2 ms | $(met "$(field "$O" p99_us) <= 2000 && $(field "$O" errors) == 0 && \"$(field "$O" other)\" == \"-\"") |
| open loop: answers 200 / other / errors | $(field "$O" ok) / $(field "$O" other) / $(field "$O" errors) | $(field "$OB" ok) / $(field "$OB" other) / $(field "$OB" errors) | | | |
| open loop: generator's send lag p50 / p99 (inside the latencies above); latency from actual send p50 / p99 | $(ms "$(field "$O" lag_p50_us)") / $(ms "$(field "$O" lag_p99_us)"); $(ms "$(field "$O" sent_p50_us)") / $(ms "$(field "$O" sent_p99_us)") | $(ms "$(field "$OB" lag_p50_us)") / $(ms "$(field "$OB" lag_p99_us)"); $(ms "$(field "$OB" sent_p50_us)") / $(ms "$(field "$OB" sent_p99_us)") | | | |
| saturated, wrk $CONNS connections: pulls/s | $(nonok "$NL")$(num "$(field "$NL" rps)") | $(nonok "$NB")$(num "$(field "$NB" rps)") | $(ratio "$(field "$NL" rps)" "$(field "$NB" rps)") | ≥ 0.70 | $(met "$(field "$NL" rps) >= 0.7 * $(field "$NB" rps) && $(clean "$NL") && $(clean "$NB")") |
| saturated: p50 / p99 | $(ms "$(field "$NL" p50_us)") / $(ms "$(field "$NL" p99_us)") | $(ms "$(field "$NB" p50_us)") / $(ms "$(field "$NB" p99_us)") | | | |
EOF
if [[ -n $FR ]]; then
	cat <<EOF
| form-created leads (with features), open loop $RATE/s, $(field "$FR" measured) pulls: p50 / p99 | $(ms "$(field "$FR" p50_us)") / $(ms "$(field "$FR" p99_us)") | | | (≤ 2 ms) | $(met "$(field "$FR" p99_us) <= 2000 && $(field "$FR" errors) == 0 && \"$(field "$FR" other)\" == \"-\"") |
EOF
fi
echo
echo "Pull cost against queue size (closed loop, $CONNS connections, $GROW_N pulls per run, each size run ${#order[@]}/${#sizes[@]} times in rounds"
echo "small→large→small, topped up after each run; median of the runs, every run in brackets; CPU per pull from /proc/<leadq>/stat and Redis INFO cpu):"
echo
echo "| queued leads | pulls/s | p50 | leadq CPU per pull | Redis CPU per pull | time per pull vs $(num "${sizes[0]}") | Redis CPU vs $(num "${sizes[0]}") |"
echo "|---:|---:|---:|---:|---:|---:|---:|"
median() { tr ' ' '\n' <<<"$1" | grep . | sort -g | awk '{ a[NR] = $1 } END { print (NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2) }'; }
b_rps="" b_rc=""
worst=1 worst_rc=1
for i in "${!sizes[@]}"; do
	m_rps=$(median "${grow_rps[$i]}") m_p50=$(median "${grow_p50[$i]}") m_lc=$(median "${grow_lcpu[$i]}") m_rc=$(median "${grow_rcpu[$i]}")
	[[ -n $b_rps ]] || b_rps=$m_rps b_rc=$m_rc
	rel=$(awk -v b="$b_rps" -v m="$m_rps" 'BEGIN { printf "%.2f", b / m }')
	relrc=$(awk -v b="$b_rc" -v m="$m_rc" 'BEGIN { printf "%.2f", m / b }')
	worst=$(awk -v w="$worst" -v r="$rel" 'BEGIN { print (r > w ? r : w) }')
	worst_rc=$(awk -v w="$worst_rc" -v r="$relrc" 'BEGIN { print (r > w ? r : w) }')
	echo "| $(num "${sizes[$i]}") | $(num "$m_rps") ($(echo ${grow_rps[$i]})) | $(ms "$m_p50") | $m_lc µs ($(echo ${grow_lcpu[$i]})) | $m_rc µs ($(echo ${grow_rcpu[$i]})) | $rel | $relrc |"
done
echo
echo "Flat within 20% (slowest median time per pull ≤ 1.2× the $(num "${sizes[0]}") one): $(met "$worst <= 1.2") ($worst). Diagnostic, not the bar:"
echo "Redis CPU per pull grew up to ${worst_rc}× (INFO cpu counts every client of the shared test Redis, so other users inflate it)."
echo
echo "Never the same lead twice: $claimed_all leads handed out by the open- and closed-loop pull runs and the saturated wrk run"
echo "(its leads read from the reps' claim ledgers: $nl_claims claims on $nl_distinct distinct leads), $dups_all handed out twice: $(met "$dups_all == 0 && $claimed_all > 0 && $nl_claims == $nl_distinct && $nl_claims >= $nl_ok");"
echo "saturated wrk run: $nl_ok answers 200 counted by wrk, $nl_claims claims recorded (wrk does not count the ≤ $CONNS requests in flight when it stops),"
echo "every answer 200 holds a claim: $(met "$nl_claims >= $nl_ok && $nl_claims <= $nl_ok + $CONNS") (queued leads went from $before to $after: $((before - after)) left the queue)."
echo
echo "Machine at the end: $load_end."
