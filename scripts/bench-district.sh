#!/bin/sh
# bench-district.sh — the district's scale-out benchmark (issue #24), on this
# machine: Mosquitto + 1, 2 and 4 `gatescreen-district ingest` replicas in one
# shared-subscription group + one PostgreSQL (fsync on, as deployed), with
# `gatescreen-district loadgen` simulating BOXES boxes at RATE events/s
# (a flat, sustained load) for DURATION each.
#
#   scripts/bench-district.sh                      # 2,000 boxes, 20,000 events/s, 5 min per replica count
#   BENCH_DURATION=60s scripts/bench-district.sh   # a shorter run
#
# Environment: BENCH_DURATION (5m), BENCH_BOXES (2000), BENCH_RATE (20000),
# BENCH_REPLICAS ("1 2 4"), BENCH_TICK (100ms), BENCH_BATCH (1000),
# BENCH_DRAIN_MAX (120 s after the load to commit the rest: what is not
# committed by then counts as lost), BENCH_KEEP=1 keeps the work folder. Needs mosquitto and postgresql
# (scripts/deps.sh). Prints, per replica count: events/s committed,
# publish → committed p50/p99 (the probe), the oldest-unacknowledged age per
# tenth of the run, lost and duplicate counts, and a TARGET PASS/FAIL line;
# exits 1 when any target is missed.
set -eu

DURATION=${BENCH_DURATION:-5m}
BOXES=${BENCH_BOXES:-2000}
RATE=${BENCH_RATE:-20000}
REPLICAS=${BENCH_REPLICAS:-1 2 4}
TICK=${BENCH_TICK:-100ms}
BATCH=${BENCH_BATCH:-1000}
DRAIN_MAX=${BENCH_DRAIN_MAX:-120}

cd "$(dirname "$0")/.."
command -v mosquitto >/dev/null || [ -x /usr/sbin/mosquitto ] || { echo "bench-district: mosquitto not installed (scripts/deps.sh)" >&2; exit 2; }
MOSQUITTO=$(command -v mosquitto || echo /usr/sbin/mosquitto)
PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[ -n "$PGBIN" ] || { echo "bench-district: postgresql not installed (scripts/deps.sh)" >&2; exit 2; }

WORK=$(mktemp -d /tmp/bench-district.XXXXXX)
chmod 755 "$WORK"
PIDS=""
cleanup() {
	for p in $PIDS; do kill "$p" 2>/dev/null || true; done
	as_pg "$PGBIN/pg_ctl" -D "$WORK/pg" -m immediate stop >/dev/null 2>&1 || true
	[ "${BENCH_KEEP:-}" = 1 ] && echo "bench-district: kept $WORK" || rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

# PostgreSQL refuses to run as root: as the user postgres then.
as_pg() {
	if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

go build -o "$WORK/gatescreen-district" ./cmd/gatescreen-district
BIN=$WORK/gatescreen-district

# PostgreSQL: durable (fsync, synchronous_commit on), sized for a 2-core VM.
PGPORT=$(free_port)
mkdir -p "$WORK/pg" "$WORK/pgsock"
[ "$(id -u)" = 0 ] && chown postgres "$WORK/pg" "$WORK/pgsock"
as_pg "$PGBIN/initdb" -D "$WORK/pg" -U postgres --auth=trust -E UTF8 --no-instructions >/dev/null
as_pg "$PGBIN/pg_ctl" -D "$WORK/pg" -l "$WORK/pg/server.log" -w -o "-p $PGPORT -k $WORK/pgsock -c listen_addresses=127.0.0.1 \
 -c shared_buffers=256MB -c max_wal_size=4GB -c checkpoint_timeout=15min -c wal_compression=on \
 -c synchronous_commit=on -c fsync=on -c max_connections=50" start >/dev/null

# Mosquitto: queues that never drop QoS 1, a window large enough for batches.
MQPORT=$(free_port)
cat >"$WORK/mosquitto.conf" <<CONF
listener $MQPORT 127.0.0.1
allow_anonymous true
max_connections -1
max_queued_messages 10000000
max_queued_bytes 0
max_inflight_messages 1000
log_dest stderr
log_type error
log_type warning
CONF
[ "$(id -u)" = 0 ] && echo "user root" >>"$WORK/mosquitto.conf"
ulimit -n 65536 2>/dev/null || true
"$MOSQUITTO" -c "$WORK/mosquitto.conf" 2>"$WORK/mosquitto.log" &
PIDS="$PIDS $!"
sleep 0.5

psql_q() { as_pg "$PGBIN/psql" -h 127.0.0.1 -p "$PGPORT" -U postgres -d "$1" -Atqc "$2"; }
val() { awk -v k="$1:" '$1 == k { print $2 }' "$2"; }

echo "bench-district: $BOXES boxes, $RATE events/s flat, $DURATION per run, replicas: $REPLICAS ($(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg))"
FAIL=0
RATE1=""
for N in $REPLICAS; do
	DB=bench_r$N
	psql_q postgres "CREATE DATABASE $DB" >/dev/null
	DSN="postgres://postgres@127.0.0.1:$PGPORT/$DB?sslmode=disable"
	RPIDS=""
	i=1
	while [ "$i" -le "$N" ]; do
		"$BIN" ingest -broker "tcp://127.0.0.1:$MQPORT" -district "r$N" -group bench -client-id "bench-r$N-$i" \
			-db "$DSN" -batch "$BATCH" -log-format json 2>"$WORK/ingest-r$N-$i.log" &
		RPIDS="$RPIDS $!"
		i=$((i + 1))
	done
	PIDS="$PIDS $RPIDS"
	i=1
	while [ "$i" -le "$N" ]; do # by name: a glob could run before the files exist
		until grep -qs '"subscribed"' "$WORK/ingest-r$N-$i.log"; do sleep 0.2; done
		i=$((i + 1))
	done
	"$BIN" loadgen -broker "tcp://127.0.0.1:$MQPORT" -district "r$N" -prefix "r$N" -boxes "$BOXES" -rate "$RATE" \
		-duration "$DURATION" -profile flat -tick "$TICK" -db "$DSN" -log-format json \
		>"$WORK/loadgen-r$N.out" 2>"$WORK/loadgen-r$N.log" || { echo "r$N: loadgen failed:"; tail -5 "$WORK/loadgen-r$N.log"; FAIL=1; }
	OUT=$WORK/loadgen-r$N.out
	PUBLISHED=$(val published_ids "$OUT")
	PUBLISHED=${PUBLISHED:-0}
	# Drain: until every published event (and probe) is committed, or 10 s without progress.
	T0=$(date +%s.%N)
	LASTN=-1
	STALL=0
	while :; do
		STORED=$(psql_q "$DB" "SELECT count(*) FROM events WHERE box NOT LIKE 'r${N}probe%'")
		[ "$STORED" -ge "$PUBLISHED" ] && break
		if [ "$STORED" = "$LASTN" ]; then STALL=$((STALL + 1)); else STALL=0; fi
		[ "$STALL" -ge 20 ] && break
		[ "$(echo "$(date +%s.%N) $T0 $DRAIN_MAX" | awk '{ print ($1 - $2 > $3) }')" = 1 ] && break
		LASTN=$STORED
		sleep 0.5
	done
	DRAIN=$(echo "$(date +%s.%N) $T0" | awk '{ printf "%.1f", $1 - $2 }')
	ELAPSED=$(val elapsed_s "$OUT")
	DUP_ROWS=$(psql_q "$DB" "SELECT count(*) - count(DISTINCT id) FROM events")
	REDELIVERED=0
	for p in $RPIDS; do kill -TERM "$p" 2>/dev/null || true; done
	for p in $RPIDS; do wait "$p" 2>/dev/null || true; done
	for f in "$WORK"/ingest-r$N-*.log; do
		d=$(grep '"message":"stopped"' "$f" | sed -n 's/.*"duplicates":\([0-9]*\).*/\1/p' | tail -1)
		REDELIVERED=$((REDELIVERED + ${d:-0}))
	done
	LOST=$((PUBLISHED - STORED))
	COMMITTED_RATE=$(echo "$STORED $ELAPSED $DRAIN" | awk '{ printf "%.0f", $1 / ($2 + $3) }')
	# Bounded: the last tenth's oldest age no more than twice the run's median tenth plus 1 s.
	AGES=$(awk '$1 == "oldest_unacked_ms_by_tenth:" { $1 = ""; print }' "$OUT")
	MED=$(echo "$AGES" | tr ' ' '\n' | grep . | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] + 0 }')
	BOUNDED=$(echo "$AGES $MED" | awk '{ print ($(NF-1) <= 2 * $NF + 1000) ? "yes" : "no" }')
	echo "--- $N replica(s)"
	echo "  published $PUBLISHED events in $(val messages "$OUT") messages; broker PUBACKed $(val events_per_s "$OUT") events/s (PUBACK p50 $(val puback_p50_ms "$OUT") ms, p99 $(val puback_p99_ms "$OUT") ms)"
	echo "  committed $STORED; drain after the load $DRAIN s; committed events/s over the run $COMMITTED_RATE"
	PROBES=$(val probes "$OUT")
	echo "  publish→committed p50 $(val commit_p50_ms "$OUT") ms, p99 $(val commit_p99_ms "$OUT") ms, max $(val commit_max_ms "$OUT") ms (probe, $(val probes "$OUT") readings, $(val probes_missing "$OUT") missing)"
	echo "  oldest unacknowledged, ms per tenth of the run:$AGES"
	echo "  lost $LOST, duplicate rows $DUP_ROWS (redelivered and dropped by id: $REDELIVERED)"
	TGT=PASS
	WHY=""
	[ "$COMMITTED_RATE" -ge "$RATE" ] || { TGT=FAIL; WHY="$WHY committed $COMMITTED_RATE < $RATE events/s;"; }
	[ "$LOST" -eq 0 ] || { TGT=FAIL; WHY="$WHY $LOST lost;"; }
	[ "$DUP_ROWS" -eq 0 ] || { TGT=FAIL; WHY="$WHY $DUP_ROWS duplicate rows;"; }
	[ "$BOUNDED" = yes ] || { TGT=FAIL; WHY="$WHY oldest-unacknowledged age grows;"; }
	[ "${PROBES:-0}" -ge 10 ] || { TGT=FAIL; WHY="$WHY only ${PROBES:-0} probes sent: latency not measured;"; }
	echo "TARGET $TGT replicas=$N >= $RATE events/s, 0 lost, 0 duplicates, bounded oldest-unacked${WHY:+:$WHY}"
	[ "$TGT" = PASS ] || FAIL=1
	[ -n "$RATE1" ] || RATE1=$COMMITTED_RATE
	[ "$N" = 1 ] || echo "  ratio to 1 replica: $(echo "$COMMITTED_RATE $RATE1" | awk '{ printf "%.2f", $1 / $2 }')"
	psql_q "$DB" "SELECT pg_size_pretty(pg_database_size('$DB')) || ', events table ' || pg_size_pretty(pg_total_relation_size('events'))
		|| ' with indexes: ' || (pg_total_relation_size('events') / greatest(count(*), 1)) || ' bytes an event' FROM events" | sed "s/^/  database size: /"
done
exit $FAIL
