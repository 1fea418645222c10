#!/usr/bin/env bash
# Smoke test of a running stack (docker compose, npm start, or Kubernetes behind port-forwards):
#   1. a /live subscriber is connected,  2. the producer accepts an event (202),
#   3. a processor stores it (GET /logs returns it),  4. the subscriber receives it.
# Needs bash, curl and node (≥ 20; the WebSocket client is node's own or the `ws` package of this repo).
#   PRODUCER_URL=http://localhost:8001 GATEWAY_URL=http://localhost:8002 scripts/smoke.sh
# Optional: SMOKE_TIMEOUT (seconds, default 60), READ_TOKEN / INGEST_TOKEN when the stack has tokens.
set -euo pipefail

PRODUCER_URL="${PRODUCER_URL:-http://localhost:8001}"
GATEWAY_URL="${GATEWAY_URL:-http://localhost:8002}"
TIMEOUT="${SMOKE_TIMEOUT:-60}"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
MARKER="smoke-$(date +%s)-$RANDOM"
WORK="$(mktemp -d)"
SUB_PID=""
cleanup() {
  [ -n "$SUB_PID" ] && kill "$SUB_PID" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

pass() { printf 'ok    %s\n' "$*"; }
fail() { printf 'FAIL  %s\n' "$*" >&2; exit 1; }
# Written for bash 3.2 too (macOS): no mapfile, and empty arrays expanded as ${a[@]+"${a[@]}"} under `set -u`.
INGEST_AUTH=()
[ -n "${INGEST_TOKEN:-}" ] && INGEST_AUTH=(-H "Authorization: Bearer $INGEST_TOKEN")
READ_AUTH=()
[ -n "${READ_TOKEN:-}" ] && READ_AUTH=(-H "Authorization: Bearer $READ_TOKEN")

# 0. Both ends ready (their dependencies reachable).
for url in "$PRODUCER_URL" "$GATEWAY_URL"; do
  deadline=$((SECONDS + TIMEOUT))
  until [ "$(curl -s -o /dev/null -w '%{http_code}' "$url/ready")" = 200 ]; do
    [ $SECONDS -ge $deadline ] && fail "$url/ready did not answer 200 within ${TIMEOUT}s"
    sleep 1
  done
  pass "$url/ready"
done

# 1. A /live subscriber filtered on this run's marker; it exits 0 once it has received the event.
WS_URL="${GATEWAY_URL/#http/ws}/live?service=smoke&q=${MARKER}${READ_TOKEN:+&token=$READ_TOKEN}"
cat > "$WORK/live.mjs" <<'JS'
// Prints "subscribed" after the hello frame, then "received <id>" when a row with the marker arrives.
import { createRequire } from 'node:module';
const [url, marker, timeoutS, repo] = process.argv.slice(2);
let WS = globalThis.WebSocket;
if (!WS) {
  try { WS = createRequire(`${repo}/`)('ws'); } catch { console.error('no WebSocket client: use node ≥ 22 or run npm ci'); process.exit(2); }
}
const ws = new WS(url);
const timer = setTimeout(() => { console.error(`no row with ${marker} within ${timeoutS}s`); process.exit(1); }, Number(timeoutS) * 1000);
ws.onerror = (e) => { console.error(`websocket error: ${e.message ?? e.type}`); process.exit(1); };
ws.onmessage = (ev) => {
  const frame = JSON.parse(typeof ev.data === 'string' ? ev.data : ev.data.toString());
  if (frame.type === 'hello') console.log('subscribed');
  if (frame.type === 'error') console.error(`error frame: ${JSON.stringify(frame)}`);
  if (frame.type === 'logs') {
    const item = frame.items.find((i) => i.message === marker);
    if (item) { console.log(`received ${item.id}`); clearTimeout(timer); ws.close(); process.exit(0); }
  }
};
JS
NODE_FLAGS=()
# Node 20 has a built-in WebSocket client behind a flag (21+ without); the `ws` package is the fallback.
if [ "$(node -e 'process.stdout.write(typeof WebSocket)')" = undefined ] && node --experimental-websocket -e '' 2>/dev/null; then
  NODE_FLAGS=(--experimental-websocket --no-warnings)
fi
node ${NODE_FLAGS[@]+"${NODE_FLAGS[@]}"} "$WORK/live.mjs" "$WS_URL" "$MARKER" "$TIMEOUT" "$HERE/.." > "$WORK/live.out" 2> "$WORK/live.err" &
SUB_PID=$!
deadline=$((SECONDS + TIMEOUT))
until grep -q subscribed "$WORK/live.out" 2>/dev/null; do
  kill -0 "$SUB_PID" 2>/dev/null || fail "the /live subscriber stopped: $(cat "$WORK/live.err")"
  [ $SECONDS -ge $deadline ] && fail "no hello frame from $WS_URL within ${TIMEOUT}s"
  sleep 0.2
done
pass "/live subscriber connected"

# 2. The producer accepts one event.
code="$(curl -s -o "$WORK/send.json" -w '%{http_code}' ${INGEST_AUTH[@]+"${INGEST_AUTH[@]}"} "$PRODUCER_URL/send?message=${MARKER}&service=smoke&level=info")"
[ "$code" = 202 ] || fail "GET /send answered $code: $(cat "$WORK/send.json")"
grep -q '"accepted":1' "$WORK/send.json" || fail "GET /send did not accept the event: $(cat "$WORK/send.json")"
pass "producer accepted the event: $(cat "$WORK/send.json")"

# 3. A processor stores it: the gateway's /logs (PostgreSQL) returns it.
deadline=$((SECONDS + TIMEOUT))
until curl -s ${READ_AUTH[@]+"${READ_AUTH[@]}"} "$GATEWAY_URL/logs?service=smoke&q=${MARKER}&limit=10" > "$WORK/logs.json" && grep -Eq "\"message\" ?: ?\"${MARKER}\"" "$WORK/logs.json"; do
  [ $SECONDS -ge $deadline ] && fail "GET /logs did not return the event within ${TIMEOUT}s: $(cat "$WORK/logs.json")"
  sleep 0.5
done
pass "stored and returned by GET /logs"

# 4. The /live subscriber received it.
if wait "$SUB_PID"; then
  SUB_PID=""
  pass "/live subscriber $(grep received "$WORK/live.out")"
else
  SUB_PID=""
  fail "the /live subscriber did not receive the event: $(cat "$WORK/live.err")"
fi
echo "smoke test passed ($PRODUCER_URL, $GATEWAY_URL)"
