#!/usr/bin/env bash
# leadq test environment: Debian's redis-server and a real Apache Kafka (KRaft, single node).
#
#   scripts/testenv.sh up      start both (installs redis-server / Java / Maven with apt if missing,
#                              resolves Kafka jars from Maven Central once), wait until they answer,
#                              write <repo>/.testenv/env and print it
#   scripts/testenv.sh down    stop both, delete Kafka's data (the next `up` starts clean)
#   scripts/testenv.sh status  say what runs (exit 0 only when both answer)
#   scripts/testenv.sh env     print <repo>/.testenv/env
#
# Progress goes to stderr; `up` and `env` print only the export lines on stdout, so
# `eval "$(scripts/testenv.sh up)"` and `source .testenv/env` both work.
#
# Environment:
#   LEADQ_TESTENV_REDIS_PORT            Redis port (default 6390)
#   LEADQ_TESTENV_KAFKA_PORT            Kafka PLAINTEXT port (default 19092)
#   LEADQ_TESTENV_KAFKA_CONTROLLER_PORT KRaft CONTROLLER port (default KAFKA_PORT+1)
#   LEADQ_TESTENV_TIMEOUT               seconds to wait for readiness (default 90)
#   LEADQ_TESTENV_KAFKA_JAVA_OPTS       JVM options for the broker (default -Xmx512m ...)
#   LEADQ_CACHE                         jar cache (default ~/.cache/leadq)
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
REPO=$(cd "$SCRIPT_DIR/.." && pwd -P)
TE=$REPO/.testenv
ENV_FILE=$TE/env

KAFKA_VERSION=4.1.1 # keep in sync with scripts/kafka/pom.xml
REDIS_PORT=${LEADQ_TESTENV_REDIS_PORT:-6390}
KAFKA_PORT=${LEADQ_TESTENV_KAFKA_PORT:-19092}
KAFKA_CONTROLLER_PORT=${LEADQ_TESTENV_KAFKA_CONTROLLER_PORT:-$((KAFKA_PORT + 1))}
TIMEOUT=${LEADQ_TESTENV_TIMEOUT:-90}
STOP_TIMEOUT=20
KAFKA_JAVA_OPTS=${LEADQ_TESTENV_KAFKA_JAVA_OPTS:--Xms256m -Xmx512m -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:+ExitOnOutOfMemoryError -Djava.awt.headless=true}

CACHE=${LEADQ_CACHE:-${HOME:-/root}/.cache/leadq}
KAFKA_HOME=$CACHE/kafka-$KAFKA_VERSION
LIBS=$KAFKA_HOME/libs
LIBS_STAMP=$KAFKA_HOME/libs.complete
POM=$SCRIPT_DIR/kafka/pom.xml

REDIS_DIR=$TE/redis
REDIS_PIDFILE=$REDIS_DIR/redis.pid
REDIS_LOG=$REDIS_DIR/redis.log

KDIR=$TE/kafka
KDATA=$KDIR/data
KPROPS=$KDIR/server.properties
KPIDFILE=$KDIR/kafka.pid
KOUT=$KDIR/kafka.out         # JVM stdout/stderr
KLOG=$KDIR/kafka-server.log  # log4j2, WARN and up
KFORMAT_STAMP=$KDIR/format.stamp

REDIS_URL="redis://127.0.0.1:$REDIS_PORT/0"
KAFKA_BROKERS="127.0.0.1:$KAFKA_PORT"

log() { echo "testenv: $*" >&2; }
die() { log "ERROR: $*"; exit 1; }

for p in "$REDIS_PORT" "$KAFKA_PORT" "$KAFKA_CONTROLLER_PORT" "$TIMEOUT"; do
	[[ $p =~ ^[0-9]+$ ]] || die "not a number: '$p'"
done

now() { echo "${EPOCHREALTIME/,/.}"; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

# show_tail FILE [N]: print the last lines of a log to stderr.
show_tail() {
	local f=$1 n=${2:-40}
	if [[ -s $f ]]; then
		echo "----- last $n lines of $f -----" >&2
		tail -n "$n" "$f" >&2
		echo "-----" >&2
	fi
}

# pid_alive PID: running and not a zombie.
pid_alive() {
	local pid=${1:-} st
	[[ $pid =~ ^[0-9]+$ && -r /proc/$pid/stat ]] || return 1
	st=$(sed 's/.*) //' "/proc/$pid/stat" 2>/dev/null | cut -d' ' -f1) || return 1
	[[ -n $st && $st != Z && $st != X ]]
}

# port_open PORT: something accepts TCP connections on 127.0.0.1:PORT.
port_open() {
	timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null
}

# ---------------------------------------------------------------- installs

APT_UPDATED=0
apt_install() {
	local sudo=() aptlog=$TE/apt.log
	if [[ $(id -u) -ne 0 ]]; then
		command -v sudo >/dev/null || die "need root (or sudo) to apt-get install $*"
		sudo=(sudo -n)
	fi
	mkdir -p "$TE"
	local opts=(-y -q -o DPkg::Lock::Timeout=300 -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold)
	if [[ $APT_UPDATED == 0 ]]; then
		if ! "${sudo[@]}" apt-get "${opts[@]}" update >>"$aptlog" 2>&1; then
			show_tail "$aptlog"
			die "apt-get update failed (log: $aptlog)"
		fi
		APT_UPDATED=1
	fi
	if ! "${sudo[@]}" apt-get "${opts[@]}" install --no-install-recommends "$@" >>"$aptlog" 2>&1; then
		show_tail "$aptlog"
		die "apt-get install $* failed (log: $aptlog)"
	fi
}

ensure_redis_installed() {
	if ! command -v redis-server >/dev/null || ! command -v redis-cli >/dev/null; then
		log "installing redis-server…"
		apt_install redis-server
		command -v redis-server >/dev/null || die "redis-server still missing after apt-get install"
	fi
}

java_major() { # java_major JAVA_BIN -> 17
	"$1" -version 2>&1 | awk -F'"' '/version/ { split($2, v, "."); print (v[1] == "1" ? v[2] : v[1]); exit }'
}

JAVA=
ensure_java() {
	[[ -n $JAVA ]] && return
	local j
	j=$(command -v java || true)
	if [[ -n $j && $(java_major "$j") -ge 17 ]]; then
		JAVA=$j
		return
	fi
	log "installing openjdk-17-jre-headless…"
	apt_install openjdk-17-jre-headless
	for j in /usr/lib/jvm/java-17-openjdk-*/bin/java; do
		[[ -x $j ]] && JAVA=$j && return
	done
	die "no Java 17 found after installing openjdk-17-jre-headless"
}

ensure_mvn() {
	if ! command -v mvn >/dev/null; then
		log "installing maven…"
		apt_install maven
	fi
}

# ---------------------------------------------------------------- redis

redis_cli() { timeout 5 redis-cli -h 127.0.0.1 -p "$REDIS_PORT" "$@"; }
redis_ping() { [[ $(redis_cli ping 2>/dev/null) == PONG ]]; }
redis_is_ours() { [[ $(redis_cli config get dir 2>/dev/null | sed -n 2p) == "$REDIS_DIR" ]]; }
redis_pid() {
	local pid
	pid=$(redis_cli info server 2>/dev/null | tr -d '\r' | sed -n 's/^process_id://p')
	[[ -n $pid ]] || pid=$(cat "$REDIS_PIDFILE" 2>/dev/null || true)
	echo "$pid"
}

redis_start() {
	ensure_redis_installed
	mkdir -p "$REDIS_DIR"
	if redis_ping; then
		if redis_is_ours; then
			log "redis already running on 127.0.0.1:$REDIS_PORT (pid $(redis_pid))"
		else
			log "WARNING: a Redis not started by testenv answers on 127.0.0.1:$REDIS_PORT; using it as is"
		fi
		return
	fi
	# A pid file whose process is gone (or is something else) is stale.
	local old
	old=$(cat "$REDIS_PIDFILE" 2>/dev/null || true)
	if [[ -n $old ]] && pid_alive "$old" && grep -q redis "/proc/$old/comm" 2>/dev/null; then
		if ! tr '\0' ' ' <"/proc/$old/cmdline" | grep -q ":$REDIS_PORT\b"; then
			die "testenv's redis (pid $old) runs on another port ($(tr '\0' ' ' <"/proc/$old/cmdline" | tr -s ' ')); run '$0 down' first"
		fi
		log "redis pid $old does not answer PING; killing it"
		kill -9 "$old" 2>/dev/null || true
		sleep 0.2
	fi
	rm -f "$REDIS_PIDFILE"
	if port_open "$REDIS_PORT"; then
		die "port 127.0.0.1:$REDIS_PORT is taken by something that is not Redis; set LEADQ_TESTENV_REDIS_PORT"
	fi
	log "starting redis-server on 127.0.0.1:$REDIS_PORT…"
	if ! redis-server --daemonize yes --bind 127.0.0.1 --port "$REDIS_PORT" \
		--save '' --appendonly no --protected-mode yes \
		--dir "$REDIS_DIR" --pidfile "$REDIS_PIDFILE" --logfile "$REDIS_LOG" \
		</dev/null >"$REDIS_DIR/redis-start.out" 2>&1 9>&-; then
		show_tail "$REDIS_DIR/redis-start.out"
		show_tail "$REDIS_LOG"
		die "redis-server failed to start"
	fi
}

redis_wait() {
	local t0 deadline
	t0=$(now)
	deadline=$((SECONDS + TIMEOUT))
	until redis_ping; do
		if ((SECONDS >= deadline)); then
			show_tail "$REDIS_LOG"
			die "redis not answering PING on 127.0.0.1:$REDIS_PORT after ${TIMEOUT}s"
		fi
		sleep 0.1
	done
	log "redis ready in $(since "$t0")s"
}

redis_stop() {
	local pid
	if redis_ping; then
		if ! redis_is_ours; then
			log "redis on 127.0.0.1:$REDIS_PORT was not started by testenv; leaving it alone"
			return
		fi
		pid=$(redis_pid)
		redis_cli shutdown nosave >/dev/null 2>&1 || true
	else
		pid=$(cat "$REDIS_PIDFILE" 2>/dev/null || true)
		pid_alive "$pid" && grep -q redis "/proc/$pid/comm" 2>/dev/null || pid=
	fi
	if [[ -n $pid ]]; then
		local deadline=$((SECONDS + 10))
		while pid_alive "$pid" && ((SECONDS < deadline)); do sleep 0.1; done
		if pid_alive "$pid"; then
			log "redis pid $pid still alive; kill -9"
			kill -9 "$pid" 2>/dev/null || true
		fi
		log "redis stopped"
	else
		log "redis not running"
	fi
	rm -f "$REDIS_PIDFILE"
}

# ---------------------------------------------------------------- kafka

kafka_resolve_jars() {
	local want
	want=$({ echo "$KAFKA_VERSION"; cat "$POM"; } | sha256sum | cut -d' ' -f1)
	if [[ -f $LIBS_STAMP && $(cat "$LIBS_STAMP") == "$want" ]] && compgen -G "$LIBS/kafka_2.13-$KAFKA_VERSION.jar" >/dev/null; then
		return
	fi
	ensure_mvn
	log "resolving Kafka jars from Maven Central (first run only)…"
	local t0 work=$KAFKA_HOME/resolve mvnlog=$KAFKA_HOME/mvn.log
	t0=$(now)
	mkdir -p "$KAFKA_HOME"
	rm -f "$LIBS_STAMP"
	rm -rf "$work" "$LIBS.tmp"
	mkdir -p "$work"
	cp "$POM" "$work/pom.xml" # run Maven outside the repo (it may create target/)
	if ! (cd "$work" && mvn -q -B -ntp --strict-checksums -Dmaven.repo.local="$CACHE/m2" \
		org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy-dependencies \
		-DincludeScope=runtime -DoutputDirectory="$LIBS.tmp") </dev/null >"$mvnlog" 2>&1; then
		show_tail "$mvnlog"
		die "Maven could not resolve Kafka $KAFKA_VERSION (log: $mvnlog)"
	fi
	compgen -G "$LIBS.tmp/kafka_2.13-$KAFKA_VERSION.jar" >/dev/null || die "kafka_2.13-$KAFKA_VERSION.jar missing after Maven run"
	rm -rf "$LIBS" "$work"
	mv "$LIBS.tmp" "$LIBS"
	echo "$want" >"$LIBS_STAMP"
	log "kafka jars cached in $LIBS ($(find "$LIBS" -name '*.jar' | wc -l) jars, $(since "$t0")s)"
}

kafka_write_config() {
	mkdir -p "$KDIR"
	cat >"$KPROPS.tmp" <<EOF
# Generated by scripts/testenv.sh: single-node KRaft broker+controller for tests.
process.roles=broker,controller
node.id=1
controller.quorum.bootstrap.servers=127.0.0.1:$KAFKA_CONTROLLER_PORT
controller.listener.names=CONTROLLER
listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT,CONTROLLER://127.0.0.1:$KAFKA_CONTROLLER_PORT
advertised.listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=$KDATA
num.partitions=4
default.replication.factor=1
min.insync.replicas=1
auto.create.topics.enable=true
delete.topic.enable=true
offsets.topic.replication.factor=1
offsets.topic.num.partitions=8
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=4
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
# After an unclean stop the restarted broker waits one session timeout (default 9 s) for its old
# registration to expire: keep it short.
broker.session.timeout.ms=3000
broker.heartbeat.interval.ms=1000
num.network.threads=2
num.io.threads=4
num.recovery.threads.per.data.dir=1
log.retention.hours=24
EOF
	mv "$KPROPS.tmp" "$KPROPS"

	cat >"$KDIR/log4j2.xml" <<EOF
<?xml version="1.0" encoding="UTF-8"?>
<Configuration status="WARN" name="leadq-testenv-kafka">
  <Appenders>
    <File name="file" fileName="$KLOG" append="true">
      <PatternLayout pattern="[%d] %p %m (%c)%n"/>
    </File>
  </Appenders>
  <Loggers>
    <Logger name="kafka.server.KafkaRaftServer" level="INFO"/>
    <Root level="WARN"><AppenderRef ref="file"/></Root>
  </Loggers>
</Configuration>
EOF
	cat >"$KDIR/log4j2-tools.xml" <<'EOF'
<?xml version="1.0" encoding="UTF-8"?>
<Configuration status="WARN" name="leadq-testenv-tools">
  <Appenders>
    <Console name="stderr" target="SYSTEM_ERR"><PatternLayout pattern="%p %m (%c)%n"/></Console>
  </Appenders>
  <Loggers>
    <Root level="ERROR"><AppenderRef ref="stderr"/></Root>
  </Loggers>
</Configuration>
EOF
}

# kafka_tool CLASS ARGS...: run a Kafka CLI class with the cached jars (e.g. org.apache.kafka.tools.TopicCommand).
kafka_tool() {
	ensure_java
	"$JAVA" -Xmx256m -XX:TieredStopAtLevel=1 -Dlog4j2.configurationFile="$KDIR/log4j2-tools.xml" -cp "$LIBS/*" "$@"
}

# A Kafka cluster id: 16 random bytes, base64url without padding (what StorageTool random-uuid prints).
new_cluster_id() {
	local id
	while :; do
		id=$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')
		[[ ${#id} == 22 && $id != -* ]] && break
	done
	echo "$id"
}

kafka_format_if_needed() {
	local want
	want=$(sha256sum "$KPROPS" | cut -d' ' -f1)
	if [[ -f $KDATA/meta.properties && -f $KFORMAT_STAMP && $(cat "$KFORMAT_STAMP") == "$want" ]]; then
		return
	fi
	[[ -e $KDATA ]] && log "kafka data dir unformatted or from another config; wiping it"
	rm -rf "$KDATA" "$KFORMAT_STAMP"
	mkdir -p "$KDATA"
	local id
	id=$(new_cluster_id)
	log "formatting kafka storage (cluster id $id)…"
	if ! kafka_tool kafka.tools.StorageTool format --standalone -t "$id" -c "$KPROPS" >"$KDIR/format.log" 2>&1; then
		show_tail "$KDIR/format.log"
		die "kafka storage format failed"
	fi
	echo "$want" >"$KFORMAT_STAMP"
}

kafka_is_ours() { # PID
	local cmd
	cmd=$(tr '\0' ' ' 2>/dev/null <"/proc/$1/cmdline") || return 1
	[[ $cmd == *" kafka.Kafka $KPROPS"* ]]
}

# Pids of Kafka brokers running with our server.properties (pid file first, then a /proc scan
# so that an instance whose pid file was lost is still found).
kafka_pids() {
	local pid d seen=" "
	pid=$(cat "$KPIDFILE" 2>/dev/null || true)
	if pid_alive "$pid" && kafka_is_ours "$pid"; then
		echo "$pid"
		seen=" $pid "
	fi
	for d in /proc/[0-9]*; do
		pid=${d#/proc/}
		[[ $seen == *" $pid "* ]] && continue
		pid_alive "$pid" && kafka_is_ours "$pid" && echo "$pid"
	done
	return 0
}

# A real Metadata (v4) request over bash's /dev/tcp: passes only when the broker serves requests
# and reports node 1 as a live broker.
kafka_probe() {
	local hex
	hex=$(timeout 3 bash -c '
		exec 3<>/dev/tcp/127.0.0.1/'"$KAFKA_PORT"' || exit 1
		printf "\x00\x00\x00\x13\x00\x03\x00\x04\x00\x00\x00\x07\x00\x04ldqt\x00\x00\x00\x00\x00" >&3
		head -c 20 <&3 | od -An -v -tx1' 2>/dev/null | tr -d ' \n') || return 1
	# size(4) correlation(4)=7 throttle(4) broker_count(4)>=1 first node_id(4)=1
	[[ ${#hex} == 40 && ${hex:8:8} == 00000007 && ${hex:24:8} != 00000000 && ${hex:32:8} == 00000001 ]]
}

KAFKA_STARTED_PID=
kafka_start() {
	local pids
	pids=$(kafka_pids)
	if [[ -n $pids ]]; then
		pids=${pids%%$'\n'*}
		local want="listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT,CONTROLLER://127.0.0.1:$KAFKA_CONTROLLER_PORT"
		if [[ ! -f $KPROPS ]]; then
			# Its checkout was deleted under it (a re-cloned work tree): stale, stop it.
			log "stopping a stale kafka (pid $pids) whose configuration is gone"
			kill -9 $pids 2>/dev/null || true
			sleep 1
			pids=
		fi
	fi
	if [[ -n $pids ]]; then
		if ! grep -qxF "$want" "$KPROPS" 2>/dev/null; then
			die "testenv's kafka (pid $pids) runs with other ports ($(grep '^listeners=' "$KPROPS" 2>/dev/null)); run '$0 down' first"
		fi
		echo "$pids" >"$KPIDFILE"
		if kafka_probe; then
			log "kafka already running on $KAFKA_BROKERS (pid $pids)"
		else
			log "kafka pid $pids is running but not answering yet; waiting for it"
		fi
		KAFKA_STARTED_PID=$pids
		return
	fi
	rm -f "$KPIDFILE"
	local p
	for p in "$KAFKA_PORT" "$KAFKA_CONTROLLER_PORT"; do
		if port_open "$p"; then
			die "port 127.0.0.1:$p is taken by another process (not our Kafka); set LEADQ_TESTENV_KAFKA_PORT"
		fi
	done
	ensure_java
	kafka_resolve_jars
	kafka_write_config
	kafka_format_if_needed
	log "starting kafka $KAFKA_VERSION on $KAFKA_BROKERS…"
	echo "=== $(date -Is) start" | tee -a "$KLOG" >>"$KOUT"
	# shellcheck disable=SC2086 # KAFKA_JAVA_OPTS is a word list
	(cd "$KDIR" && exec setsid nohup "$JAVA" $KAFKA_JAVA_OPTS \
		-Dlog4j2.configurationFile="$KDIR/log4j2.xml" -Dkafka.logs.dir="$KDIR" \
		-cp "$LIBS/*" kafka.Kafka "$KPROPS" </dev/null >>"$KOUT" 2>&1 9>&-) &
	local pid=$!
	sleep 0.2
	if ! kafka_is_ours "$pid"; then # setsid forked after all: find the JVM
		pid=$(kafka_pids | head -n 1)
		[[ -n $pid ]] || pid=$!
	fi
	echo "$pid" >"$KPIDFILE"
	KAFKA_STARTED_PID=$pid
}

# Show what the latest start wrote (the logs are appended to, each start marked by "=== ... start").
kafka_show_logs() {
	local f
	for f in "$KOUT" "$KLOG"; do
		[[ -s $f ]] || continue
		echo "----- $f (latest start, last 40 lines) -----" >&2
		awk '/^=== .* start$/ { n = 0; delete buf } { buf[++n] = $0 } END { for (i = (n > 40 ? n - 39 : 1); i <= n; i++) print buf[i] }' "$f" >&2
		echo "-----" >&2
	done
}

kafka_wait() {
	local t0 deadline pid=$KAFKA_STARTED_PID
	t0=$(now)
	deadline=$((SECONDS + TIMEOUT))
	until kafka_probe; do
		if ! pid_alive "$pid"; then
			rm -f "$KPIDFILE"
			kafka_show_logs
			die "kafka (pid $pid) died during start-up (logs: $KOUT, $KLOG)"
		fi
		if ((SECONDS >= deadline)); then
			kafka_show_logs
			die "kafka not ready on $KAFKA_BROKERS after ${TIMEOUT}s (pid $pid still running; try: $0 down)"
		fi
		sleep 0.2
	done
	log "kafka ready in $(since "$t0")s"
}

kafka_stop() {
	local pids pid deadline
	pids=$(kafka_pids | tr '\n' ' ')
	if [[ -n ${pids// /} ]]; then
		log "stopping kafka (pid ${pids% })…"
		# shellcheck disable=SC2086
		kill -TERM $pids 2>/dev/null || true
		deadline=$((SECONDS + STOP_TIMEOUT))
		for pid in $pids; do
			while pid_alive "$pid" && ((SECONDS < deadline)); do sleep 0.2; done
			if pid_alive "$pid"; then
				log "kafka pid $pid still alive after ${STOP_TIMEOUT}s; kill -9"
				kill -9 "$pid" 2>/dev/null || true
			fi
		done
		for pid in $pids; do
			deadline=$((SECONDS + 5))
			while pid_alive "$pid" && ((SECONDS < deadline)); do sleep 0.1; done
		done
		log "kafka stopped"
	else
		log "kafka not running"
	fi
	rm -f "$KPIDFILE"
	rm -rf "$KDATA" "$KFORMAT_STAMP"
}

# ---------------------------------------------------------------- commands

write_env() {
	mkdir -p "$TE"
	cat >"$ENV_FILE.tmp" <<EOF
export LEADQ_TEST_REDIS_URL=$REDIS_URL
export LEADQ_TEST_KAFKA_BROKERS=$KAFKA_BROKERS
EOF
	mv "$ENV_FILE.tmp" "$ENV_FILE"
}

lock() {
	mkdir -p "$TE"
	exec 9>"$TE/.lock"
	if ! flock -w 600 9; then die "another testenv.sh holds $TE/.lock"; fi
}

cmd_up() {
	local t0
	t0=$(now)
	lock
	redis_start
	kafka_start
	redis_wait
	kafka_wait
	write_env
	log "up in $(since "$t0")s; env in $ENV_FILE"
	cat "$ENV_FILE"
}

cmd_down() {
	lock
	kafka_stop
	redis_stop
	rm -f "$ENV_FILE"
}

cmd_status() {
	local ok=0 pid
	if redis_ping; then
		if redis_is_ours; then
			echo "redis: running (pid $(redis_pid)) on 127.0.0.1:$REDIS_PORT"
		else
			echo "redis: a Redis not started by testenv answers on 127.0.0.1:$REDIS_PORT"
		fi
	else
		echo "redis: not running (127.0.0.1:$REDIS_PORT)"
		ok=1
	fi
	pid=$(kafka_pids | head -n 1)
	if [[ -n $pid ]] && kafka_probe; then
		echo "kafka: running (pid $pid) on $KAFKA_BROKERS, metadata OK"
	elif [[ -n $pid ]]; then
		echo "kafka: process $pid alive but not answering on $KAFKA_BROKERS (starting, or hung: see $KOUT, $KLOG)"
		ok=1
	elif kafka_probe; then
		echo "kafka: a broker not started by testenv answers on $KAFKA_BROKERS"
	else
		echo "kafka: not running ($KAFKA_BROKERS)"
		ok=1
	fi
	if [[ -f $ENV_FILE ]]; then echo "env: $ENV_FILE"; else echo "env: $ENV_FILE missing (run: $0 up)"; fi
	return "$ok"
}

cmd_env() {
	[[ -f $ENV_FILE ]] || die "$ENV_FILE missing: run '$0 up' first"
	cat "$ENV_FILE"
}

usage() {
	echo "usage: $0 up|down|status|env" >&2
	exit 2
}

[[ $# == 1 ]] || usage
case $1 in
up) cmd_up ;;
down) cmd_down ;;
status) cmd_status ;;
env) cmd_env ;;
-h | --help | help) sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//' ;;
*) usage ;;
esac
