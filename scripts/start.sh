#!/usr/bin/env bash
# npm start: install what is missing, build, and run one server and one worker on
# http://localhost:$PORT (3000) until Ctrl-C, SIGTERM or either of them exits.
#
# Environment (besides what the server and worker read themselves):
#   PORT (3000), METRICS_PORT (9464), WORKER_HEALTH_PORT (3001), REDIS_URL
#   PRISM_NO_BUILD=1        skip `npm run build` (run what is built)
#   PRISM_SERVER_ENTRY / PRISM_WORKER_ENTRY  (server/dist/main.js / worker/dist/main.js)
#   PRISM_STOP_GRACE_S (25) seconds between SIGTERM and SIGKILL when stopping
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
prism_root

SERVER_ENTRY=${PRISM_SERVER_ENTRY:-server/dist/main.js}
WORKER_ENTRY=${PRISM_WORKER_ENTRY:-worker/dist/main.js}
GRACE=${PRISM_STOP_GRACE_S:-25}
export PORT=${PORT:-3000}
export METRICS_PORT=${METRICS_PORT:-9464}
export WORKER_HEALTH_PORT=${WORKER_HEALTH_PORT:-3001}

ensure_deps
if [[ ${PRISM_NO_BUILD:-} != 1 ]]; then
  prism_log "building (npm run build)"
  npm run build || prism_die "the build failed (see above)"
fi
for entry in "$SERVER_ENTRY" "$WORKER_ENTRY"; do
  [[ -f $entry ]] || prism_die "$entry does not exist: is there a \"build\" script in its workspace?"
done
ports_free "$PORT" "$METRICS_PORT" "$WORKER_HEALTH_PORT" ||
  prism_die "is Prism already running? (or set PORT, METRICS_PORT, WORKER_HEALTH_PORT)"
mkdir -p .data

server_pid="" worker_pid=""
# shellcheck disable=SC2317 # trap handlers
cleanup() {
  local rc=$?
  trap - EXIT
  prism_stopping
  stop_pids "$GRACE" "$server_pid" "$worker_pid"
  stop_private_redis
  exit "$rc"
}
# shellcheck disable=SC2317 # trap handler
on_signal() {
  prism_stopping
  prism_log "stopping (Ctrl-C again to kill at once)"
  stop_pids "$GRACE" "$server_pid" "$worker_pid"
  exit 0 # a stop that was asked for is a success; cleanup (EXIT) stops the private Redis
}
trap cleanup EXIT
trap on_signal INT TERM HUP
prism_watch_npm

ensure_redis

# cwd is the repository root for both, so the default STORAGE_URL (file:.data/objects) is shared.
INSTANCE_ID=${INSTANCE_ID:-server-1} prism_spawn server_pid node "$SERVER_ENTRY"
INSTANCE_ID=${INSTANCE_ID:-worker-1} prism_spawn worker_pid node "$WORKER_ENTRY"

wait_http "http://127.0.0.1:$PORT/health" 60 "$server_pid" ||
  prism_die "the server did not come up on port $PORT"
wait_http "http://127.0.0.1:$WORKER_HEALTH_PORT/health" 60 "$worker_pid" ||
  prism_die "the worker did not come up (health port $WORKER_HEALTH_PORT)"
echo "Prism is running on http://localhost:$PORT"

# Sleep until a child exits (or a signal runs on_signal). Either child ending on its own ends both.
died=""
wait -n -p died "$server_pid" "$worker_pid" && rc=0 || rc=$?
name=server
[[ ${died:-} == "$worker_pid" ]] && name=worker
prism_log "the $name exited on its own (code $rc); stopping"
((rc != 0)) || rc=1
exit "$rc"
