#!/usr/bin/env bash
# The fault-tolerance demo against the docker compose stack (`docker compose up -d`; with fewer than 2 processors
# running it scales them to 2 first, as `docker compose up -d --scale processor=2` would):
#   1. one processor stopped: events sent meanwhile are stored by the others;
#   2. every processor stopped: events wait in the Redis stream, nothing is stored; processors started again:
#      every event is stored, each exactly once.
# Needs docker compose, curl and node.  PRODUCER_URL / GATEWAY_URL as in scripts/smoke.sh; FAILOVER_EVENTS (100).
set -euo pipefail

PRODUCER_URL="${PRODUCER_URL:-http://localhost:8001}"
GATEWAY_URL="${GATEWAY_URL:-http://localhost:8002}"
N="${FAILOVER_EVENTS:-100}"
TIMEOUT="${SMOKE_TIMEOUT:-60}"
RUN="fo$(date +%s)$RANDOM"

pass() { printf 'ok    %s\n' "$*"; }
fail() { printf 'FAIL  %s\n' "$*" >&2; exit 1; }

# Send N events whose messages start with $1, in one all-or-nothing request.
send() {
  local body code
  body="$(node -e 'const [p, n] = process.argv.slice(1); console.log(JSON.stringify(Array.from({ length: +n }, (_, i) => ({ message: `${p}-${i}`, service: "failover" }))))' "$1" "$N")"
  code="$(curl -s -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/json' --data-binary "$body" "$PRODUCER_URL/send")"
  [ "$code" = 202 ] || fail "POST /send answered $code"
}
# Stored rows whose message starts with $1, and how many distinct messages they hold ("rows distinct").
stored() {
  curl -s "$GATEWAY_URL/logs?service=failover&q=$1-&limit=1000" |
    node -e 'let s = ""; process.stdin.on("data", (c) => (s += c)).on("end", () => { const m = JSON.parse(s).items.map((i) => i.message); console.log(m.length, new Set(m).size); })'
}
wait_for_rows() {
  local deadline=$((SECONDS + TIMEOUT)) got
  while :; do
    got="$(stored "$1")"
    [ "$got" = "$N $N" ] && return 0
    [ $SECONDS -ge $deadline ] && fail "$1: expected $N rows, each once; have (rows distinct) $got"
    sleep 1
  done
}
wait_healthy() {
  local deadline=$((SECONDS + TIMEOUT)) id
  for id in "$@"; do
    until [ "$(docker inspect -f '{{.State.Health.Status}}' "$id")" = healthy ]; do
      [ $SECONDS -ge $deadline ] && fail "container $id not healthy within ${TIMEOUT}s"
      sleep 1
    done
  done
}

# shellcheck disable=SC2207 # container ids: no spaces
PROCESSORS=($(docker compose ps -q processor))
if [ "${#PROCESSORS[@]}" -lt 2 ]; then
  # Step 1 needs a processor left running while one is stopped.
  printf '..    %s processor(s) running: scaling to 2 (docker compose up -d --scale processor=2)\n' "${#PROCESSORS[@]}"
  docker compose up -d --no-recreate --scale processor=2 processor >/dev/null 2>&1 || fail "could not scale to 2 processors: docker compose up -d --scale processor=2"
  # shellcheck disable=SC2207
  PROCESSORS=($(docker compose ps -q processor))
  [ "${#PROCESSORS[@]}" -ge 2 ] || fail "still ${#PROCESSORS[@]} processor(s) after scaling: docker compose up -d --scale processor=2"
  wait_healthy "${PROCESSORS[@]}"
fi
pass "${#PROCESSORS[@]} processors running"

# 1. One processor stopped (SIGTERM: it finishes and acks its batch); the others keep storing.
docker stop "${PROCESSORS[0]}" >/dev/null
send "$RUN-one"
wait_for_rows "$RUN-one"
pass "one processor down: $N events stored by the others, each once"
docker start "${PROCESSORS[0]}" >/dev/null
wait_healthy "${PROCESSORS[0]}"
pass "processor restarted and healthy"

# 2. Every processor stopped: the events wait in the stream.
docker compose stop processor >/dev/null 2>&1
send "$RUN-all"
sleep 2
[ "$(stored "$RUN-all")" = "0 0" ] || fail "rows were stored while no processor ran"
pass "no processor running: $N events accepted, none stored yet"
docker compose start processor >/dev/null 2>&1
wait_healthy "${PROCESSORS[@]}"
wait_for_rows "$RUN-all"
sleep 2
[ "$(stored "$RUN-all")" = "$N $N" ] || fail "duplicates appeared after the catch-up: $(stored "$RUN-all")"
pass "processors back: all $N waiting events stored, each exactly once"
echo "failover test passed"
