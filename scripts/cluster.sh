#!/usr/bin/env bash
# npm run cluster: CLUSTER_SERVERS servers + CLUSTER_WORKERS workers behind HAProxy on
# http://localhost:$CLUSTER_PORT (round robin, no stickiness), until Ctrl-C or SIGTERM.
#
#   bash scripts/cluster.sh [run]   start and stay in the foreground (the default)
#   bash scripts/cluster.sh stop    stop the cluster recorded in CLUSTER_DIR (or its leftovers)
#
# Environment:
#   CLUSTER_PORT (8080)          the load balancer's port
#   CLUSTER_BASE_PORT (CLUSTER_PORT+100): HAProxy stats on base, servers on base+1.., their
#                                METRICS_PORT on base+11.., workers' WORKER_HEALTH_PORT on base+21..
#   CLUSTER_SERVERS (3), CLUSTER_WORKERS (2)   counts, 1..9 and 0..9
#   CLUSTER_BIND (127.0.0.1)     address HAProxy listens on
#   CLUSTER_DIR (.data/cluster)  haproxy.cfg, pids/<name>.pid, logs/<name>.log, metrics, ready
#   CLUSTER_NO_BUILD=1           run what is built; CLUSTER_WAIT_S (90) startup budget
#   CLUSTER_MAXCONN              HAProxy maxconn (default 20000, less if `ulimit -Hn` is low)
#   PUBLIC_URL                   default http://localhost:$CLUSTER_PORT for every server
#   PRISM_SERVER_ENTRY / PRISM_WORKER_ENTRY, PRISM_STOP_GRACE_S (25)
#   CLUSTER_CPU_PROF=DIR         every server and worker writes a V8 CPU profile into DIR/<name>/
#                                when it stops (node --cpu-prof; NODE_OPTIONS may not carry it);
#                                server/bench/profile-top.ts tabulates them
#   CLUSTER_REDIS=cluster        run on a private Redis Cluster (3 masters + 3 replicas, started
#                                and stopped with the fleet; REDIS_CLUSTER=true for every child)
#   Everything else (REDIS_URL, STORAGE_URL, LOG_LEVEL, ...) passes through to every child.
#
# While it runs:
#   - a child that dies (say, kill -9 for a failover test) is reported and not replaced; the rest
#     keeps running. `kill -USR1 $(cat $CLUSTER_DIR/pids/cluster.pid)` restarts dead children.
#   - $CLUSTER_DIR/ready holds the cluster's URL once everything answers, and $CLUSTER_DIR/metrics
#     the servers' /metrics URLs, one a line; both are removed on stop.
# Children run as `node <entry>` with cwd at the repository root, each in its own session, so their
# pid files name the node processes themselves and the relative STORAGE_URL is shared.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=redis-cluster.sh
source "$(dirname "${BASH_SOURCE[0]}")/redis-cluster.sh"
prism_root

CLUSTER_PORT=${CLUSTER_PORT:-8080}
BASE=${CLUSTER_BASE_PORT:-$((CLUSTER_PORT + 100))}
NSERVERS=${CLUSTER_SERVERS:-3}
NWORKERS=${CLUSTER_WORKERS:-2}
BIND=${CLUSTER_BIND:-127.0.0.1}
DIR=${CLUSTER_DIR:-.data/cluster}
WAIT_S=${CLUSTER_WAIT_S:-90}
# HAProxy needs about two descriptors per connection and refuses to start when maxconn needs more
# than the hard limit allows: by default take what the limit allows, up to 20000.
fd_limit=$(ulimit -Hn)
[[ $fd_limit =~ ^[0-9]+$ ]] || fd_limit=1000000
MAXCONN=${CLUSTER_MAXCONN:-$(((fd_limit - 200) / 2 < 20000 ? (fd_limit - 200) / 2 : 20000))}
SERVER_ENTRY=${PRISM_SERVER_ENTRY:-server/dist/main.js}
WORKER_ENTRY=${PRISM_WORKER_ENTRY:-worker/dist/main.js}
GRACE=${PRISM_STOP_GRACE_S:-25}
URL="http://localhost:$CLUSTER_PORT"

[[ $CLUSTER_PORT =~ ^[0-9]+$ && $BASE =~ ^[0-9]+$ ]] || prism_die "CLUSTER_PORT and CLUSTER_BASE_PORT must be numbers"
[[ $NSERVERS =~ ^[1-9]$ ]] || prism_die "CLUSTER_SERVERS must be 1..9 (got '$NSERVERS')"
[[ $NWORKERS =~ ^[0-9]$ ]] || prism_die "CLUSTER_WORKERS must be 0..9 (got '$NWORKERS')"
mkdir -p "$DIR/pids" "$DIR/logs"
DIR=$(cd "$DIR" && pwd) # absolute, so messages and pid files do not depend on cwd

# pid_of NAME: the live process recorded in pids/NAME.pid whose command line contains WORD.
# Checking the command line keeps a recycled pid from being mistaken for ours.
pid_of() {
  local name=$1 word=$2 pid
  [[ -s $DIR/pids/$name.pid ]] || return 1
  pid=$(<"$DIR/pids/$name.pid")
  [[ $pid =~ ^[0-9]+$ ]] && prism_alive "$pid" || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$word" || return 1
  echo "$pid"
}

# Stop processes recorded in $DIR/pids by a run that is gone (killed with -9, say).
stop_leftovers() {
  local f name pid pids=() redis=""
  for f in "$DIR"/pids/*.pid; do
    [[ -e $f ]] || continue
    name=$(basename "$f" .pid)
    case $name in
      cluster) continue ;;
      haproxy) pid=$(pid_of haproxy haproxy) || pid="" ;;
      redis) redis=$(pid_of redis redis-server) || redis="" ;;
      *) pid=$(pid_of "$name" node) || pid="" ;;
    esac
    if [[ $name != redis && -n $pid ]]; then pids+=("$pid"); fi
  done
  if ((${#pids[@]})) || [[ -n $redis ]]; then
    prism_log "stopping leftovers of an earlier cluster run: ${pids[*]} $redis"
    stop_pids "$GRACE" "${pids[@]}"
    [[ -z $redis ]] || stop_pids 5 "$redis"
  fi
  rm -f "$DIR/ready" "$DIR/metrics"
  for f in "$DIR"/pids/*.pid; do
    [[ $f == */cluster.pid ]] || rm -f "$f"
  done
}

if [[ ${1:-run} == stop ]]; then
  if pid=$(pid_of cluster cluster.sh); then
    prism_log "stopping the cluster script (pid $pid)"
    kill -TERM "$pid"
    for ((i = 0; i < (GRACE + 15) * 5; i++)); do
      prism_alive "$pid" || break
      prism_sleep 0.2
    done
  fi
  stop_leftovers
  rm -f "$DIR/pids/cluster.pid"
  exit 0
elif [[ ${1:-run} != run ]]; then
  prism_die "usage: bash scripts/cluster.sh [run|stop]"
fi

if pid=$(pid_of cluster cluster.sh); then
  prism_die "a cluster is already running from $DIR (pid $pid): stop it (bash scripts/cluster.sh stop) or set CLUSTER_DIR"
fi
echo "$$" >"$DIR/pids/cluster.pid" # first, so that `cluster.sh stop` finds us from now on
stop_leftovers

ports=("$CLUSTER_PORT" "$BASE")
for ((i = 1; i <= NSERVERS; i++)); do ports+=($((BASE + i)) $((BASE + 10 + i))); done
for ((i = 1; i <= NWORKERS; i++)); do ports+=($((BASE + 20 + i))); done
ports_free "${ports[@]}" || prism_die "choose others with CLUSTER_PORT / CLUSTER_BASE_PORT"

rm -f "$DIR"/logs/*.log # one run's logs at a time (restarted children append to theirs)

names=() # children, in start order
declare -A pid_by_name=() env_by_name=() entry_by_name=()
haproxy_pid=""

# shellcheck disable=SC2317 # called from traps
stop_all() {
  trap - USR1
  local name pids=()
  for name in "${names[@]}"; do pids+=("${pid_by_name[$name]}"); done
  if ((${#pids[@]})); then prism_log "stopping ${#pids[@]} children"; fi
  stop_pids "$GRACE" "${pids[@]}"
  stop_pids 5 "$haproxy_pid"
  stop_private_redis
  stop_redis_cluster
  rm -f "$DIR/ready" "$DIR/metrics" "$DIR"/pids/*.pid
}
# shellcheck disable=SC2317
on_exit() {
  local rc=$?
  trap - EXIT
  prism_stopping
  stop_all
  exit "$rc"
}
# shellcheck disable=SC2317
on_signal() {
  prism_stopping
  prism_log "stopping the cluster (Ctrl-C again to kill at once)"
  stop_all
  trap - EXIT
  exit 0
}
trap on_exit EXIT
trap on_signal INT TERM HUP
prism_watch_npm

# start_child NAME: start (or restart) a child from what was recorded for NAME.
start_child() {
  local name=$1 log="$DIR/logs/$1.log" pid
  local -a vars
  read -r -a vars <<<"${env_by_name[$name]}"
  printf '\n=== %s starting %s (%s)\n' "$(date -Is)" "$name" "${vars[*]}" >>"$log"
  local -a prof=()
  if [[ -n ${CLUSTER_CPU_PROF:-} ]]; then
    mkdir -p "$CLUSTER_CPU_PROF/$name"
    prof=(--cpu-prof "--cpu-prof-dir=$CLUSTER_CPU_PROF/$name")
  fi
  prism_spawn pid env "INSTANCE_ID=$name" "${vars[@]}" node "${prof[@]}" "${entry_by_name[$name]}" >>"$log" 2>&1
  pid_by_name[$name]=$pid
  echo "$pid" >"$DIR/pids/$name.pid"
  prism_log "$name started (pid $pid, ${vars[*]}), log ${log#"$PRISM_ROOT"/}"
}

# shellcheck disable=SC2317 # trap handler
restart_dead() {
  local name
  for name in "${names[@]}"; do
    prism_alive "${pid_by_name[$name]}" || start_child "$name"
  done
}

ensure_deps
if [[ ${CLUSTER_NO_BUILD:-} != 1 ]]; then
  prism_log "building (npm run build)"
  npm run build || prism_die "the build failed (see above)"
fi
for entry in "$SERVER_ENTRY" "$WORKER_ENTRY"; do
  [[ -f $entry ]] || prism_die "$entry does not exist: is there a \"build\" script in its workspace?"
done
if [[ ${CLUSTER_REDIS:-} == cluster ]]; then
  start_redis_cluster
  export REDIS_URL=$PRISM_CLUSTER_URL REDIS_CLUSTER=true
else
  ensure_redis
  [[ -z ${PRISM_STARTED_REDIS_PID:-} ]] || echo "$PRISM_STARTED_REDIS_PID" >"$DIR/pids/redis.pid"
fi
ensure_haproxy

# Render haproxy.cfg: @NAME@ placeholders, done in bash so the server list can span lines.
server_lines=""
for ((i = 1; i <= NSERVERS; i++)); do
  server_lines+="    server server-$i 127.0.0.1:$((BASE + i))"$'\n'
done
cfg=$(<scripts/haproxy.cfg.tmpl)
cfg=${cfg//@CLUSTER_PORT@/$CLUSTER_PORT}
cfg=${cfg//@BIND@/$BIND}
cfg=${cfg//@STATS_PORT@/$BASE}
cfg=${cfg//@MAXCONN@/$MAXCONN}
cfg=${cfg//@SERVERS@/${server_lines%$'\n'}}
[[ ! $cfg =~ @[A-Z_]+@ ]] || prism_die "scripts/haproxy.cfg.tmpl has a placeholder cluster.sh does not fill"
printf '%s\n' "$cfg" >"$DIR/haproxy.cfg"
haproxy -c -q -f "$DIR/haproxy.cfg" || prism_die "HAProxy rejects $DIR/haproxy.cfg (see above)"

mkdir -p .data
public_url=${PUBLIC_URL:-$URL}
for ((i = 1; i <= NSERVERS; i++)); do
  name=server-$i
  names+=("$name")
  entry_by_name[$name]=$SERVER_ENTRY
  # The servers sit behind HAProxy on loopback: trust its X-Forwarded-* headers.
  env_by_name[$name]="PORT=$((BASE + i)) METRICS_PORT=$((BASE + 10 + i)) PUBLIC_URL=$public_url TRUST_PROXY=${TRUST_PROXY:-loopback}"
  start_child "$name"
done
for ((i = 1; i <= NWORKERS; i++)); do
  name=worker-$i
  names+=("$name")
  entry_by_name[$name]=$WORKER_ENTRY
  env_by_name[$name]="WORKER_HEALTH_PORT=$((BASE + 20 + i))"
  start_child "$name"
done
# Wait for every process to answer, each with the time left of one budget. HAProxy starts once the
# servers answer: a server its first check finds closed is marked down for `rise` checks (4 s).
deadline=$((SECONDS + WAIT_S))
time_left() { echo $((deadline > SECONDS ? deadline - SECONDS : 1)); }
not_ready() { # not_ready NAME
  prism_log "$1 is not ready; the end of its log:"
  tail -n 20 "$DIR/logs/$1.log" >&2 || true
  prism_die "the cluster did not come up"
}
wait_for() { # wait_for NAME URL PID
  wait_http "$2" "$(time_left)" "$3" || not_ready "$1"
}
for ((i = 1; i <= NSERVERS; i++)); do
  wait_for "server-$i" "http://127.0.0.1:$((BASE + i))/ready" "${pid_by_name[server-$i]}"
done
for ((i = 1; i <= NWORKERS; i++)); do
  wait_for "worker-$i" "http://127.0.0.1:$((BASE + 20 + i))/health" "${pid_by_name[worker-$i]}"
done

prism_spawn haproxy_pid haproxy -db -f "$DIR/haproxy.cfg" >>"$DIR/logs/haproxy.log" 2>&1
echo "$haproxy_pid" >"$DIR/pids/haproxy.pid"
prism_log "haproxy started (pid $haproxy_pid) on $BIND:$CLUSTER_PORT, stats on http://127.0.0.1:$BASE/"
wait_for haproxy "http://127.0.0.1:$CLUSTER_PORT/health" "$haproxy_pid"

# servers_up: how many servers HAProxy's own checks see UP (its stats CSV: field 18 is status).
servers_up() {
  local csv line n=0
  local -a f
  csv=$(curl -fsS --max-time 2 "http://127.0.0.1:$BASE/;csv" 2>/dev/null) || {
    echo 0
    return
  }
  while IFS= read -r line; do
    IFS=, read -r -a f <<<"$line"
    [[ ${f[0]} == prism_servers && ${f[1]} == server-* && ${f[17]:-} == UP ]] && n=$((n + 1))
  done <<<"$csv"
  echo "$n"
}
until (($(servers_up) == NSERVERS)); do
  if ((SECONDS >= deadline)) || ! prism_alive "$haproxy_pid"; then not_ready haproxy; fi
  prism_sleep 0.2
done

for ((i = 1; i <= NSERVERS; i++)); do echo "http://127.0.0.1:$((BASE + 10 + i))/metrics"; done >"$DIR/metrics"
echo "$URL" >"$DIR/ready"
trap restart_dead USR1
echo "Prism cluster on $URL ($NSERVERS servers, $NWORKERS workers)"

# Report children that die; stop everything only if HAProxy does.
while :; do
  live=("$haproxy_pid")
  for name in "${names[@]}"; do
    prism_alive "${pid_by_name[$name]}" && live+=("${pid_by_name[$name]}")
  done
  died=""
  rc=0
  wait -n -p died "${live[@]}" || rc=$?
  [[ -n ${died:-} ]] || continue # a signal (USR1) interrupted the wait, and unset died
  if [[ $died == "$haproxy_pid" ]]; then
    prism_die "haproxy exited (code $rc); see $DIR/logs/haproxy.log"
  fi
  for name in "${names[@]}"; do
    if [[ ${pid_by_name[$name]} == "$died" ]]; then
      prism_log "$name (pid $died) exited with code $rc; the others keep running (kill -USR1 $$ restarts it)"
      rm -f "$DIR/pids/$name.pid"
    fi
  done
done
