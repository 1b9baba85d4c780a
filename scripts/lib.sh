# shellcheck shell=bash
# Shared helpers for Prism's scripts. Source it; it defines functions and a few variables and
# runs nothing else. Every message goes to stderr prefixed "prism:".
#
#   prism_root            cd to the repository root (PRISM_ROOT)
#   ensure_deps           npm dependencies installed and current; Node >= 22.17 first on PATH
#   ensure_redis          a Redis answers at REDIS_URL, starting a private one if needed
#   stop_private_redis    stop the Redis that ensure_redis started (if it did)
#   ensure_haproxy        haproxy on PATH (installed with apt-get when possible)
#   ensure_chromium       a chromium binary on PATH (for browser tests)
#   redis_ping URL        0 if a Redis answers at URL
#   free_port             print a free TCP port on 127.0.0.1
#   port_in_use PORT, ports_free PORT...   is something listening on 127.0.0.1:PORT
#   wait_http URL SECS [PID...]   wait for a 2xx; fail early if one of the PIDs dies
#   stop_pids SECS PID... SIGTERM, then SIGKILL whatever is still alive after SECS
#
# Environment: PRISM_CACHE (default ~/.cache/prism) for anything kept outside the repository;
# PRISM_SKIP_INSTALL=1 makes ensure_deps trust node_modules as it is (never runs npm).

PRISM_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PRISM_CACHE="${PRISM_CACHE:-${HOME:-/tmp}/.cache/prism}"
PRISM_MIN_NODE="22.17"
export PRISM_ROOT PRISM_CACHE

prism_log() { printf 'prism: %s\n' "$*" >&2; }
prism_die() {
  prism_log "$*"
  exit 1
}

prism_root() { cd "$PRISM_ROOT" || exit 1; }

# A Ctrl-C on the terminal also kills a sleep running in the foreground: under `set -e` that must
# not end the script in the middle of stopping its children.
prism_sleep() { sleep "$1" || true; }

# ---------------------------------------------------------------------------------------------
# System packages

# prism_apt_install PKG...: install Debian packages when we are root and have apt-get. The package
# lists are refreshed once per machine (stamp under PRISM_CACHE), and once more if an install
# fails with old lists. Returns 1 (without a message) when apt-get cannot be used here.
prism_apt_install() {
  [[ ${EUID:-$(id -u)} -eq 0 ]] && command -v apt-get >/dev/null 2>&1 || return 1
  local stamp="$PRISM_CACHE/apt-updated"
  mkdir -p "$PRISM_CACHE"
  if [[ ! -e $stamp ]]; then
    prism_log "apt-get update (once per machine)"
    apt-get update -qq >&2 && touch "$stamp"
  fi
  prism_log "apt-get install $*"
  if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >&2; then
    prism_log "install failed; refreshing package lists and trying once more"
    apt-get update -qq >&2 && touch "$stamp"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >&2 || return 1
  fi
  hash -r
}

# prism_ensure_command CMD PKG HINT: CMD on PATH, installing PKG with apt-get if needed.
prism_ensure_command() {
  local cmd=$1 pkg=$2 hint=$3
  command -v "$cmd" >/dev/null 2>&1 && return 0
  prism_apt_install "$pkg" || true
  command -v "$cmd" >/dev/null 2>&1 ||
    prism_die "$cmd is not installed and could not be installed here; $hint"
}

ensure_haproxy() {
  prism_ensure_command haproxy haproxy "install it (apt-get install haproxy, or your OS's package)"
}

# The tools the integration tests drive for real: HAProxy (the cluster), LibreOffice and
# pdftotext (a reviewed .docx must open as Word users see it), Go (builds the S3-API server).
ensure_test_tools() {
  ensure_haproxy
  prism_ensure_command soffice libreoffice-writer "install it (apt-get install libreoffice-writer) for the export tests"
  prism_ensure_command pdftotext poppler-utils "install it (apt-get install poppler-utils) for the export tests"
  command -v go >/dev/null 2>&1 || [[ -x /usr/local/go/bin/go ]] ||
    prism_die "Go is not installed; install Go >= 1.22 (https://go.dev/doc/install) to build the S3-API test server"
  [[ -x /usr/local/go/bin/go ]] && PATH="$PATH:/usr/local/go/bin"
  export PATH
}

ensure_chromium() {
  local c
  for c in chromium chromium-browser google-chrome; do
    command -v "$c" >/dev/null 2>&1 && return 0
  done
  prism_ensure_command chromium chromium "install it (apt-get install chromium) for the browser tests"
}

# ---------------------------------------------------------------------------------------------
# Node and npm dependencies

prism_node_ok() {
  command -v node >/dev/null 2>&1 &&
    node -e 'const [a, b] = process.versions.node.split(".").map(Number);
             const [x, y] = process.argv[1].split(".").map(Number);
             process.exit(a > x || (a === x && b >= y) ? 0 : 1)' "$PRISM_MIN_NODE" 2>/dev/null
}

# prism_bootstrap_node: when the machine's Node is older than PRISM_MIN_NODE, put a Node of the
# version the "node" devDependency names first on PATH before npm installs anything, so npm itself
# runs on it (an npm on an older Node warns EBADENGINE for every package that needs a newer one).
# Kept under PRISM_CACHE; the same version then lands in node_modules/.bin with the dependencies.
prism_bootstrap_node() {
  prism_node_ok && return 0
  command -v npm >/dev/null 2>&1 || return 0
  local spec dir
  spec=$(node -p 'require(process.argv[1]).devDependencies?.node ?? ""' "$PRISM_ROOT/package.json" 2>/dev/null) || spec=""
  [[ -n $spec ]] || return 0
  dir="$PRISM_CACHE/node-bootstrap"
  if [[ ! -x $dir/node_modules/.bin/node || $(cat "$dir/spec" 2>/dev/null) != "$spec" ]]; then
    prism_log "installing Node $spec for npm itself (once per machine, into $dir)"
    mkdir -p "$dir"
    printf '{"private":true,"dependencies":{"node":"%s"},"allowScripts":{"node":true}}\n' "$spec" >"$dir/package.json"
    (cd "$dir" && npm install --no-audit --no-fund --no-package-lock >&2) ||
      { prism_log "could not install Node $spec for npm; npm runs on $(node -v)"; return 0; }
    printf '%s' "$spec" >"$dir/spec"
  fi
  PATH="$dir/node_modules/.bin:$PATH"
  export PATH
  hash -r
}

ensure_deps() {
  prism_bootstrap_node
  (
    prism_root
    [[ ${PRISM_SKIP_INSTALL:-} == 1 ]] && exit 0
    command -v npm >/dev/null 2>&1 ||
      prism_die "npm is not installed; install Node.js (any version with npm) first: the repository brings its own Node 24"
    if [[ -f package-lock.json ]]; then
      # npm writes node_modules/.package-lock.json after package-lock.json, so a lockfile newer
      # than it means someone changed the dependencies (pull, branch switch) since the install.
      if [[ ! -d node_modules || package-lock.json -nt node_modules/.package-lock.json ]]; then
        prism_log "installing npm dependencies (npm ci)"
        # npm configured with omit-lockfile-registry-resolved (as on this project's machines) writes
        # lockfiles without other platforms' optional packages, which `npm ci` then refuses as out of
        # sync; `npm install` installs the same locked versions and fills the gaps.
        if ! npm ci --no-audit --no-fund >&2; then
          prism_log "npm ci refused the lockfile; installing with npm install instead"
          npm install --no-audit --no-fund >&2 || prism_die "npm install failed (see above)"
        fi
      fi
    elif [[ ! -d node_modules ]]; then
      prism_log "no package-lock.json; installing npm dependencies (npm install)"
      npm install --no-audit --no-fund >&2 || prism_die "npm install failed (see above)"
    fi
  ) || exit 1

  # The "node" devDependency puts Node 24 in node_modules/.bin: use it even outside npm run.
  case ":$PATH:" in
    *":$PRISM_ROOT/node_modules/.bin:"*) ;;
    *) PATH="$PRISM_ROOT/node_modules/.bin:$PATH" ;;
  esac
  export PATH
  hash -r

  if ! prism_node_ok; then
    local found="none"
    command -v node >/dev/null 2>&1 && found="$(node -v 2>/dev/null || echo broken) at $(command -v node)"
    if [[ ! -x $PRISM_ROOT/node_modules/.bin/node ]]; then
      prism_die "Node >= $PRISM_MIN_NODE is needed (found $found) and node_modules/.bin/node is missing: the \"node\" package's install script did not run (run: npm rebuild node, or rm -rf node_modules && npm ci)"
    fi
    prism_die "Node >= $PRISM_MIN_NODE is needed but node_modules/.bin/node gives $found (run: rm -rf node_modules && npm ci)"
  fi
}

# ---------------------------------------------------------------------------------------------
# Redis

# redis_url_parts URL: prints "scheme host port" (defaults redis, 127.0.0.1, 6379).
redis_url_parts() {
  local url=${1:-redis://127.0.0.1:6379} scheme=redis rest host port=6379
  if [[ $url == *://* ]]; then
    scheme=${url%%://*}
    rest=${url#*://}
  else
    rest=$url
  fi
  rest=${rest%%/*}  # drop /db
  rest=${rest%%\?*} # drop ?options
  rest=${rest##*@}  # drop user:password@
  if [[ $rest == \[* ]]; then # [::1]:6379
    host=${rest%%]*}
    host=${host#[}
    [[ $rest == *]:* ]] && port=${rest##*]:}
  elif [[ $rest == *:* ]]; then
    host=${rest%%:*}
    port=${rest##*:}
  else
    host=$rest
  fi
  printf '%s %s %s\n' "$scheme" "${host:-127.0.0.1}" "${port:-6379}"
}

prism_is_local_host() {
  case $1 in
    127.* | localhost | ::1) return 0 ;;
    *) return 1 ;;
  esac
}

# redis_ping URL: 0 if a Redis answers (an auth error is an answer: the server is there).
redis_ping() {
  local url=${1:-redis://127.0.0.1:6379} scheme host port out
  read -r scheme host port < <(redis_url_parts "$url")
  if command -v redis-cli >/dev/null 2>&1; then
    # REDISCLI_AUTH keeps REDIS_PASSWORD off the command line; rediss:// makes redis-cli use TLS.
    local auth=()
    [[ -n ${REDIS_PASSWORD:-} ]] && auth=("REDISCLI_AUTH=$REDIS_PASSWORD")
    out=$(env "${auth[@]}" timeout 3 redis-cli -u "$url" ping 2>&1) || true
    [[ $out == *PONG* || $out == *NOAUTH* || $out == *WRONGPASS* ]]
    return
  fi
  [[ $scheme == rediss ]] && return 1 # no TLS client without redis-cli
  # shellcheck disable=SC2016 # $0/$1 are for the inner shell
  timeout 2 bash -c 'exec 3<>"/dev/tcp/$0/$1" || exit 1
    printf "PING\r\n" >&3
    IFS= read -r -t 2 line <&3 || exit 1
    [[ $line == "+PONG"* || $line == "-NOAUTH"* ]]' "$host" "$port" 2>/dev/null
}

# ensure_redis: make a Redis answer at REDIS_URL (exported, default redis://127.0.0.1:6379).
# Starts a private one for a local URL when nothing answers, and exports
# PRISM_STARTED_REDIS_PID/PRISM_STARTED_REDIS_PIDFILE so callers can stop_private_redis in a trap.
ensure_redis() {
  export REDIS_URL=${REDIS_URL:-redis://127.0.0.1:6379}
  if redis_ping "$REDIS_URL"; then
    prism_log "using the Redis at $REDIS_URL"
    return 0
  fi
  local scheme host port
  read -r scheme host port < <(redis_url_parts "$REDIS_URL")
  if [[ $scheme != redis ]] || ! prism_is_local_host "$host"; then
    prism_die "no Redis answers at $REDIS_URL and it is not a local redis:// address, so none is started for it; check REDIS_URL/REDIS_PASSWORD"
  fi
  if ! command -v redis-server >/dev/null 2>&1; then
    prism_apt_install redis-server || true
    command -v redis-server >/dev/null 2>&1 ||
      prism_die "no Redis answers at $REDIS_URL and redis-server is not installed; install it (apt-get install redis-server) or set REDIS_URL"
    # On a machine with systemd the package starts its own service on 6379.
    prism_sleep 1
    if redis_ping "$REDIS_URL"; then
      prism_log "using the Redis at $REDIS_URL (the redis-server package's service)"
      return 0
    fi
  fi

  local dir="$PRISM_ROOT/.data/redis-$port"
  local bind="127.0.0.1 -::1" # "-": optional, so a machine without IPv6 still starts
  [[ $host == ::1 ]] && bind="::1 -127.0.0.1"
  mkdir -p "$dir"
  rm -f "$dir/redis.pid"
  prism_log "starting a private Redis on $host:$port (data and log in .data/redis-$port)"
  # No persistence: it is a scratch server for this run. Daemonized, so it is not in our process
  # group and a Ctrl-C on the terminal reaches it only through stop_private_redis.
  # shellcheck disable=SC2086 # $bind is two words on purpose
  redis-server --daemonize yes --dir "$dir" --pidfile "$dir/redis.pid" --logfile "$dir/redis.log" \
    --save "" --appendonly no --bind $bind --port "$port" >&2 ||
    prism_die "redis-server did not start; see $dir/redis.log"

  local i
  for ((i = 0; i < 50; i++)); do
    if [[ -s $dir/redis.pid ]] && redis_ping "$REDIS_URL"; then
      PRISM_STARTED_REDIS_PID=$(<"$dir/redis.pid")
      PRISM_STARTED_REDIS_PIDFILE="$dir/redis.pid"
      export PRISM_STARTED_REDIS_PID PRISM_STARTED_REDIS_PIDFILE
      return 0
    fi
    prism_sleep 0.2
  done
  tail -n 5 "$dir/redis.log" >&2 2>/dev/null || true
  prism_die "the private Redis on port $port did not answer within 10 s; see $dir/redis.log"
}

# stop_private_redis: stop the Redis ensure_redis started in this shell, if any. Safe to call twice.
stop_private_redis() {
  local pid=${PRISM_STARTED_REDIS_PID:-}
  [[ -n $pid ]] || return 0
  if [[ -n ${PRISM_STARTED_REDIS_PIDFILE:-} && -s $PRISM_STARTED_REDIS_PIDFILE ]]; then
    pid=$(<"$PRISM_STARTED_REDIS_PIDFILE")
  fi
  unset PRISM_STARTED_REDIS_PID PRISM_STARTED_REDIS_PIDFILE
  kill -0 "$pid" 2>/dev/null || return 0
  prism_log "stopping the private Redis (pid $pid)"
  kill -TERM "$pid" 2>/dev/null || return 0
  local i
  for ((i = 0; i < 50; i++)); do
    kill -0 "$pid" 2>/dev/null || return 0
    prism_sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
}

# ---------------------------------------------------------------------------------------------
# Processes and ports

# port_in_use PORT: something accepts connections on 127.0.0.1:PORT.
port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# ports_free PORT...: fail with one line naming the ports already in use (a stray process there
# could otherwise answer our health checks in place of the process we start).
ports_free() {
  local p busy=()
  for p in "$@"; do
    if port_in_use "$p"; then busy+=("$p"); fi
  done
  ((${#busy[@]} == 0)) || {
    prism_log "ports already in use: ${busy[*]}"
    return 1
  }
}

free_port() {
  node -e 'const s = require("node:net").createServer();
           s.listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); });'
}

# wait_http URL TIMEOUT_S [PID...]: poll until URL answers 2xx. Fails after TIMEOUT_S, or as soon
# as one of the PIDs is gone (no point waiting for a process that died).
wait_http() {
  local url=$1 timeout=${2:-30} pid
  shift 2 || shift $#
  prism_ensure_command curl curl "install curl"
  local deadline=$((SECONDS + timeout))
  until curl -fsS -o /dev/null --max-time 2 "$url" 2>/dev/null; do
    for pid in "$@"; do
      prism_alive "$pid" || {
        prism_log "process $pid exited while waiting for $url"
        return 1
      }
    done
    if ((SECONDS >= deadline)); then
      prism_log "$url did not answer 2xx within ${timeout} s"
      return 1
    fi
    prism_sleep 0.2
  done
}

# prism_spawn VAR CMD...: start CMD in the background in its own session, so a Ctrl-C on the
# terminal reaches only the calling script, which then stops its children in order (SIGTERM,
# drain, SIGKILL). Stores the child's pid in VAR ($! is the command itself: setsid does not fork
# when its caller is not a process-group leader, which a background job of a script never is).
prism_spawn() {
  local -n _pid_var=$1
  shift
  if command -v setsid >/dev/null 2>&1; then
    setsid "$@" &
  else
    "$@" &
  fi
  # shellcheck disable=SC2034 # nameref
  _pid_var=$!
}

# prism_alive PID: the process exists and is not a zombie (a zombie still answers kill -0).
prism_alive() {
  kill -0 "$1" 2>/dev/null || return 1
  local stat
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 0 # no /proc: trust kill -0
  stat=${stat##*) }                                    # the state follows "(comm) "
  [[ $stat != Z* ]]
}

# prism_watch_npm: when run by npm, SIGTERM this script once npm or its `sh -c` is gone. npm
# forwards a SIGTERM it receives to `sh`, which dies without passing it on, so `kill <npm pid>`
# (a test harness stopping `npm run cluster &`) would otherwise leave this script and its
# children running. Sets PRISM_WATCHDOG_PID; prism_stop_watchdog ends it.
prism_watch_npm() {
  [[ -n ${npm_lifecycle_event:-} ]] || return 0
  local sh_pid=$PPID npm_pid stat
  stat=$(cat "/proc/$sh_pid/stat" 2>/dev/null) || return 0
  stat=${stat##*) }
  read -r _ npm_pid _ <<<"$stat" # state, ppid
  (
    trap - INT TERM HUP
    while kill -0 "$sh_pid" 2>/dev/null && kill -0 "$npm_pid" 2>/dev/null; do sleep 1; done
    prism_log "npm is gone; stopping"
    kill -TERM $$
  ) &
  PRISM_WATCHDOG_PID=$!
}
prism_stop_watchdog() {
  [[ -z ${PRISM_WATCHDOG_PID:-} ]] || kill "$PRISM_WATCHDOG_PID" 2>/dev/null || true
  PRISM_WATCHDOG_PID=""
}

# prism_stopping: call when a stop begins. From then on INT/TERM/HUP only set PRISM_FORCE_STOP
# (stop_pids then SIGKILLs at once), and only when they come over a second after the stop began:
# npm forwards the terminal's Ctrl-C to its script, so one press can arrive twice. The trap is a
# plain command on purpose: bash 5.2 corrupts its state when a function trap runs nested inside
# another function ("pop_var_context: head of shell_variables not a function context").
prism_stopping() {
  prism_stop_watchdog
  # shellcheck disable=SC2034 # read by the trap
  PRISM_STOP_AT_US=${EPOCHREALTIME/[.,]/}
  trap 'if ((${EPOCHREALTIME/[.,]/} - PRISM_STOP_AT_US > 1000000)); then PRISM_FORCE_STOP=1; fi' INT TERM HUP
}

# stop_pids SECS PID...: SIGTERM every PID, wait up to SECS for all to exit (or until
# PRISM_FORCE_STOP=1), then SIGKILL the rest. Works for non-children too; reaps our children.
stop_pids() {
  local grace=$1 pid alive
  shift
  local pids=()
  for pid in "$@"; do
    [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null && pids+=("$pid")
  done
  ((${#pids[@]})) || return 0
  kill -TERM "${pids[@]}" 2>/dev/null || true
  local deadline=$((SECONDS + grace))
  while :; do
    alive=()
    for pid in "${pids[@]}"; do
      prism_alive "$pid" && alive+=("$pid")
    done
    ((${#alive[@]})) || break
    if ((SECONDS >= deadline)) || [[ ${PRISM_FORCE_STOP:-} == 1 ]]; then
      prism_log "still running after $((SECONDS + grace - deadline)) s, killing: ${alive[*]}"
      kill -KILL "${alive[@]}" 2>/dev/null || true
      break
    fi
    prism_sleep 0.2
  done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
}
