#!/usr/bin/env bash
# The README's fault-tolerance demo, as one command: events sent while no processor runs wait in the Redis stream
# and are stored once each when a processor returns.
#   1. starts a producer, a gateway and a processor (npm run …) and waits until each answers /ready,
#   2. stops the processor, sends N events (each must be answered 202) and shows that none is stored yet,
#   3. starts a processor again and waits until all N are stored, then checks that each is stored once.
# It runs its own services: stop `npm start` first (it says so when a port is taken). Exit 0 when all N events
# were stored exactly once. Same Redis, PostgreSQL and `.env` as the other commands; ports from PRODUCER_PORT,
# GATEWAY_PORT, PROCESSOR_PORT (8001, 8002, 8003); N events (100); DEMO_TIMEOUT seconds per wait (60).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# The ports npm start would use, from the environment or .env (real environment variables win).
env_or_dotenv() {
  local name=$1 default=$2 value=${!1:-}
  if [ -z "$value" ] && [ -f .env ]; then value=$(sed -n "s/^$name=//p" .env | tail -n 1); fi
  printf '%s' "${value:-$default}"
}
PRODUCER_PORT=$(env_or_dotenv PRODUCER_PORT 8001)
GATEWAY_PORT=$(env_or_dotenv GATEWAY_PORT 8002)
PROCESSOR_PORT=$(env_or_dotenv PROCESSOR_PORT 8003)
N=${N:-100}
TIMEOUT=${DEMO_TIMEOUT:-60}
PRODUCER=http://127.0.0.1:$PRODUCER_PORT
GATEWAY=http://127.0.0.1:$GATEWAY_PORT
# A service name of its own per run, so that a second run does not count the first one's events.
SERVICE="fault-demo-$(date +%s)-$RANDOM"
LOGS=$(mktemp -d)

say() { printf '%s\n' "$*"; }
fail() { say "fault-demo: $*" >&2; exit 1; }

pids=()
cleanup() {
  # npm runs each service with `exec node …`, so the signal reaches the service itself.
  for pid in ${pids[@]+"${pids[@]}"}; do kill "$pid" 2>/dev/null || true; done
  for pid in ${pids[@]+"${pids[@]}"}; do wait "$pid" 2>/dev/null || true; done
}
trap cleanup EXIT

for port in "$PRODUCER_PORT" "$GATEWAY_PORT" "$PROCESSOR_PORT"; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    fail "port $port is taken (is \`npm start\` still running? stop it first, or set PRODUCER_PORT, GATEWAY_PORT, PROCESSOR_PORT)"
  fi
done

start() { # name port → pid of its npm in $started
  PORT=$2 npm run -s "$1" >"$LOGS/$1-$2.log" 2>&1 &
  started=$!
  pids+=("$started")
}
wait_ready() { # name url pid
  local deadline=$((SECONDS + TIMEOUT))
  until [ "$(curl -s -o /dev/null -w '%{http_code}' "$2/ready")" = 200 ]; do
    kill -0 "$3" 2>/dev/null || fail "$1 exited: $(tail -n 5 "$LOGS"/"$1"-*.log)"
    [ $SECONDS -lt $deadline ] || fail "$1 not ready within ${TIMEOUT}s: $(tail -n 5 "$LOGS"/"$1"-*.log)"
    sleep 0.5
  done
  say "$1 ready on $2"
}
# Rows of this run: "<rows> <distinct messages>".
stored() {
  curl -fsS "$GATEWAY/logs?service=$SERVICE&limit=1000" |
    node -e 'let s="";process.stdin.on("data",(d)=>(s+=d)).on("end",()=>{const m=JSON.parse(s).items.map((i)=>i.message);console.log(m.length,new Set(m).size)})'
}

start producer "$PRODUCER_PORT"; producer=$started
start gateway "$GATEWAY_PORT"; gateway=$started
start processor "$PROCESSOR_PORT"; processor=$started
wait_ready producer "$PRODUCER" "$producer"
wait_ready gateway "$GATEWAY" "$gateway"
wait_ready processor "http://127.0.0.1:$PROCESSOR_PORT" "$processor"

kill "$processor"
wait "$processor" 2>/dev/null || true
say "processor stopped"

for i in $(seq 1 "$N"); do
  curl -fsS -o /dev/null "$PRODUCER/send?service=$SERVICE&message=while-down-$i" || fail "event $i was not accepted"
done
say "$N events sent, each answered 202"
sleep 1
read -r rows _ < <(stored)
say "stored while the processor is down: $rows (they wait in the stream)"
[ "$rows" -eq 0 ] || fail "$rows rows were stored while this demo's processor was down: another processor consumes the same REDIS_STREAM"

start processor "$PROCESSOR_PORT"; processor=$started
wait_ready processor "http://127.0.0.1:$PROCESSOR_PORT" "$processor"
deadline=$((SECONDS + TIMEOUT))
while read -r rows distinct < <(stored); [ "$rows" -lt "$N" ] && [ $SECONDS -lt $deadline ]; do sleep 0.5; done
say "stored after the processor came back: $rows rows, $distinct distinct events of $N"
[ "$rows" -eq "$N" ] && [ "$distinct" -eq "$N" ] || fail "expected $N rows, each once"
say "ok: every event stored exactly once"
