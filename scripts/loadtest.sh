#!/usr/bin/env bash
# npm run loadtest -- <scenario> [k6 run options...]
#
# Runs loadtest/scenarios/<scenario>.js with k6 against TARGET_URL, or against a cluster it starts
# on free ports (3 servers + 2 workers behind HAProxy, a unique REDIS_KEY_PREFIX, the Bedrock
# stand-in as the model at 60 tokens/s and 800 ms to the first token) and stops at exit. Then, for
# the scenarios that have one, the raw Socket.IO + Redis adapter baseline (loadtest/baseline/) at
# the same load. Writes loadtest/results/<scenario>-<timestamp>.{json,md} (k6's handleSummary data
# and a short table), baseline-<scenario>-<timestamp>.{json,md}, and report-<scenario>-<timestamp>.md
# (both, the ratio, CPU per process), and k6's own HTML report (its web dashboard's export) as
# report-<scenario>-<timestamp>.html. Exits non-zero when a threshold fails.
#
# Several load generators (one per machine) split one scenario with k6's execution segments:
#   npm run loadtest -- <scenario> --segment I/N     (or LOADTEST_SEGMENT=I/N; I in 1..N)
# runs the I-th of N equal parts (--execution-segment (I-1)/N:I/N, --execution-segment-sequence
# 0,1/N,...,1), with no baseline, into its own results directory (LOADTEST_RESULTS, default
# loadtest/results/<scenario>-<timestamp>-segment-I-of-N): the summary JSON and markdown,
# report.html, samples.json.gz (k6's every sample) and checks.ndjson (each reviewer's final
# sequence check with its raw sequences). `npm run loadtest:merge -- <dirs...>` combines them.
#
# Environment:
#   LOADTEST_SEGMENT      I/N, as --segment
#   LOADTEST_RESULTS      a results directory of its own for this run (also without a segment):
#                         then it holds samples.json.gz and checks.ndjson too, for the merge
#   TARGET_URL            a running Prism to load instead of starting a cluster (no kills, no CPU
#                         figures of its processes)
#   PRISM_NO_BUILD=1      use server/dist and worker/dist as they are (else built when stale)
#   BASELINE=0            skip the baseline run
#   K6_VERSION            the k6 release built when k6 is not on PATH (default below)
#   K6_GOGC / K6_GOMEMLIMIT  k6's Go collector settings (off / half the memory available at start)
#   LOADTEST_SERVERS / LOADTEST_WORKERS   cluster size (3 / 2)
#   STANDIN_TPS / STANDIN_TTFT_MS          the model's pace (60 / 800)
#   LOADTEST_PIN=1        pin k6 and the model stand-in to CPU 0 and the servers, workers, HAProxy
#                         (and a Redis the cluster starts) to CPU 1 with taskset, Prism's and the
#                         baseline's alike, so the load generator's cost stays off the servers' core
#   Scenario knobs pass through with -e, e.g. `npm run loadtest -- smoke -e REVIEWERS=50`.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
prism_root

# The newest k6 v1 release when this was written; `go install` builds it in a few minutes.
K6_VERSION=${K6_VERSION:-v1.8.1}
# LOADTEST_PIN=1: the load side on CPU 0, the servers' side on CPU 1 (children inherit it).
pin_load=() pin_servers=()
if [[ ${LOADTEST_PIN:-} == 1 ]]; then
  command -v taskset >/dev/null 2>&1 || prism_die "LOADTEST_PIN=1 needs taskset (apt-get install util-linux)"
  (($(nproc) >= 2)) || prism_die "LOADTEST_PIN=1 needs at least 2 CPUs"
  pin_load=(taskset -c 0) pin_servers=(taskset -c 1)
fi
SERVERS=${LOADTEST_SERVERS:-3}
WORKERS=${LOADTEST_WORKERS:-2}
TPS=${STANDIN_TPS:-60}
TTFT=${STANDIN_TTFT_MS:-800}

scenarios() {
  local f names=()
  for f in loadtest/scenarios/*.js; do
    f=${f##*/}
    [[ $f == baseline.js ]] || names+=("${f%.js}")
  done
  echo "${names[*]}"
}
scenario=${1:-}
if [[ -z $scenario || $scenario == -h || $scenario == --help ]]; then
  echo "usage: npm run loadtest -- <scenario> [k6 run options]   (scenarios: $(scenarios))" >&2
  exit 2
fi
shift
# --segment I/N (anywhere among the options) or LOADTEST_SEGMENT; the rest goes to k6.
segment=${LOADTEST_SEGMENT:-}
k6_args=()
while (($#)); do
  case $1 in
    --segment)
      (($# >= 2)) || prism_die "--segment needs I/N, e.g. --segment 1/2"
      segment=$2
      shift 2
      ;;
    --segment=*)
      segment=${1#--segment=}
      shift
      ;;
    *)
      k6_args+=("$1")
      shift
      ;;
  esac
done
set -- "${k6_args[@]}"
seg_i="" seg_n=""
if [[ -n $segment ]]; then
  [[ $segment =~ ^([1-9][0-9]*)/([1-9][0-9]*)$ ]] && ((BASH_REMATCH[1] <= BASH_REMATCH[2])) ||
    prism_die "--segment '$segment': give I/N with 1 <= I <= N (the I-th of N load generators), e.g. 1/2"
  seg_i=${BASH_REMATCH[1]} seg_n=${BASH_REMATCH[2]}
fi
[[ $scenario =~ ^[a-z0-9-]+$ && -f loadtest/scenarios/$scenario.js && $scenario != baseline ]] ||
  prism_die "no scenario '$scenario' (there are: $(scenarios))"

# ---------------------------------------------------------------------------------------------
# k6: on PATH (a v1), else built once with Go into $PRISM_CACHE/bin

k6_is_v1() { "$1" version 2>/dev/null | grep -q '^k6 v1\.'; }

ensure_k6() {
  local cached="$PRISM_CACHE/bin/k6" stamp="$PRISM_CACHE/bin/k6.version"
  if command -v k6 >/dev/null 2>&1 && k6_is_v1 "$(command -v k6)"; then
    K6=$(command -v k6)
    return
  fi
  if [[ -x $cached && -f $stamp && $(<"$stamp") == "$K6_VERSION" ]] && k6_is_v1 "$cached"; then
    K6=$cached
    return
  fi
  if ! command -v go >/dev/null 2>&1; then
    prism_die "k6 v1 is not installed and Go is not there to build it. Install one of:
  - k6 v1 (https://grafana.com/docs/k6/latest/set-up/install-k6/, e.g. the k6 .deb or brew install k6), or
  - Go >= 1.24 (https://go.dev/dl/); then this script builds k6 $K6_VERSION once into $PRISM_CACHE/bin"
  fi
  mkdir -p "$PRISM_CACHE/bin"
  prism_log "building k6 $K6_VERSION with $(go version | cut -d' ' -f3) into $PRISM_CACHE/bin (once; a few minutes)"
  local started=$SECONDS
  (
    # One build at a time on this machine (two test runs may start together).
    exec 9>"$PRISM_CACHE/bin/k6.lock"
    flock 9
    if [[ -x $cached && -f $stamp && $(<"$stamp") == "$K6_VERSION" ]]; then exit 0; fi
    GOBIN="$PRISM_CACHE/bin" go install "go.k6.io/k6@$K6_VERSION" >&2
    echo "$K6_VERSION" >"$stamp"
  ) || prism_die "go install go.k6.io/k6@$K6_VERSION failed (see above)"
  prism_log "k6 built in $((SECONDS - started)) s"
  K6=$cached
}

ensure_k6
ensure_deps
prism_log "k6: $("$K6" version | head -n1)"

# ---------------------------------------------------------------------------------------------
# What this run starts, stopped on exit in reverse order

run_id=$(date -u +%Y%m%dT%H%M%SZ)
results=loadtest/results
# A results directory of its own (segments, or LOADTEST_RESULTS): everything the merge reads.
named_results=0
if [[ -n ${LOADTEST_RESULTS:-} ]]; then
  results=${LOADTEST_RESULTS%/}
  named_results=1
elif [[ -n $seg_n ]]; then
  results="loadtest/results/$scenario-$run_id-segment-$seg_i-of-$seg_n"
  named_results=1
fi
if [[ -n $seg_n ]]; then
  # k6's fractions: the I-th of N equal parts of the sequence 0,1/N,...,1.
  frac() { if (($1 == 0)); then echo 0; elif (($1 == seg_n)); then echo 1; else echo "$1/$seg_n"; fi; }
  seg_sequence=$(for ((k = 0; k <= seg_n; k++)); do frac "$k"; done | paste -sd,)
  seg_args=(--execution-segment "$(frac $((seg_i - 1))):$(frac "$seg_i")" --execution-segment-sequence "$seg_sequence" -e SEGMENT="$seg_i/$seg_n")
else
  seg_args=()
fi
# The pid too: generators started in the same second on one machine get directories of their own.
work=".data/loadtest/$run_id-$$"
mkdir -p "$results" "$work"
work=$(cd "$work" && pwd)
# Absolute from here on (a relative LOADTEST_RESULTS is taken from the repository's root).
results_abs=$(cd "$results" && pwd)
results=$results_abs
prefix="loadtest:$run_id:$$:"
cluster_pid="" standin_pid="" control_pid="" cpu_pid="" k6_pid="" baseline_pids=() baseline_haproxy=""
cluster_dir="$work/cluster"

stop_cluster() {
  if [[ -n $cluster_pid ]] && prism_alive "$cluster_pid"; then
    prism_log "stopping the cluster"
    kill -TERM "$cluster_pid" 2>/dev/null || true
    local i
    for ((i = 0; i < 200; i++)); do
      prism_alive "$cluster_pid" || break
      prism_sleep 0.2
    done
  fi
  [[ -z $cluster_pid ]] || wait "$cluster_pid" 2>/dev/null || true
  # Leftovers (children of a cluster script that was killed) are recorded in its pid files.
  if [[ -n $cluster_pid && -d $cluster_dir/pids ]]; then
    CLUSTER_DIR=$cluster_dir bash scripts/cluster.sh stop >/dev/null 2>&1 || true
  fi
  cluster_pid=""
  if [[ -n $standin_pid ]]; then stop_pids 5 "$standin_pid"; fi
  standin_pid=""
}

stop_baseline() {
  if ((${#baseline_pids[@]})) || [[ -n $baseline_haproxy ]]; then
    stop_pids 10 "${baseline_pids[@]}" "$baseline_haproxy"
  fi
  baseline_pids=()
  baseline_haproxy=""
}

# Deletes this run's keys from the shared Redis.
# shellcheck disable=SC2317 # called from the EXIT trap
drop_keys() {
  command -v redis-cli >/dev/null 2>&1 || return 0
  local p
  for p in "$prefix" "lt-baseline:$run_id:"; do
    redis-cli -u "$REDIS_URL" --scan --pattern "$p*" 2>/dev/null |
      xargs -r -n 500 redis-cli -u "$REDIS_URL" unlink >/dev/null 2>&1 || true
  done
}

# shellcheck disable=SC2317 # trap handlers
cleanup() {
  local rc=$?
  trap - EXIT
  prism_stopping
  [[ -z $k6_pid ]] || stop_pids 10 "$k6_pid" # interrupted mid-run
  [[ -z $cpu_pid ]] || stop_pids 5 "$cpu_pid"
  stop_baseline
  stop_cluster
  [[ -z $control_pid ]] || stop_pids 5 "$control_pid"
  drop_keys
  rm -rf "$work/objects" # uploaded copies of the fixture; logs stay in $work
  stop_private_redis
  exit "$rc"
}
trap cleanup EXIT
trap 'prism_log "interrupted"; exit 130' INT TERM HUP
prism_watch_npm

ensure_redis
export REDIS_URL

# A base port with `span` free ports after it (the cluster lays its ports out from its base).
free_block() {
  local span=$1 base i ok
  for _ in $(seq 1 50); do
    # Below the ephemeral range (32768+ on Linux), which the run's own outgoing connections use:
    # thousands of sockets make a collision with a listener started later likely there.
    base=$((10000 + RANDOM % (32768 - 10000 - span - 1)))
    ok=1
    for ((i = 0; i <= span; i++)); do
      if port_in_use $((base + i)); then
        ok=0
        break
      fi
    done
    ((ok)) && {
      echo "$base"
      return 0
    }
  done
  return 1
}

# wait_file FILE SECS PID: until FILE exists; fails early when PID dies.
wait_file() {
  local deadline=$((SECONDS + $2))
  until [[ -s $1 ]]; do
    prism_alive "$3" || return 1
    ((SECONDS < deadline)) || return 1
    prism_sleep 0.2
  done
}

# ---------------------------------------------------------------------------------------------
# Prism: TARGET_URL, or our own cluster

dist_stale() {
  [[ -f server/dist/main.js && -f worker/dist/main.js ]] || return 0
  local newer
  newer=$(find core/src store/src server/src worker/src -name '*.ts' ! -name '*.test.ts' \
    \( -newer server/dist/main.js -o -newer worker/dist/main.js \) -print -quit 2>/dev/null)
  [[ -n $newer ]]
}

if [[ -n ${TARGET_URL:-} ]]; then
  target=${TARGET_URL%/}
  prism_log "loading $target (TARGET_URL): nothing is started, nothing killed"
else
  if [[ -n ${PRISM_SERVER_ENTRY:-} || -n ${PRISM_WORKER_ENTRY:-} ]]; then
    prism_log "using PRISM_SERVER_ENTRY/PRISM_WORKER_ENTRY as built"
  elif [[ ${PRISM_NO_BUILD:-} != 1 ]] && dist_stale; then
    prism_log "server/worker dist is missing or older than the sources: npm run build"
    npm run build || prism_die "the build failed (see above)"
  fi

  port=$(free_port)
  # node --import tsx (not the tsx CLI, which runs the script in a child process): one pid to stop.
  prism_spawn standin_pid "${pin_load[@]}" node --import tsx test/bedrock/stand-in.ts --port "$port" --tps "$TPS" --ttft "$TTFT" \
    >"$work/stand-in.log" 2>&1
  standin_url="http://127.0.0.1:$port"
  wait_http "$standin_url/__control" 30 "$standin_pid" || prism_die "the Bedrock stand-in did not start ($work/stand-in.log)"
  prism_log "Bedrock stand-in on $standin_url ($TPS tokens/s, $TTFT ms to the first token)"

  base=$(free_block 30) || prism_die "no block of 31 free ports found"
  cport=$(free_port)
  # Every reviewer of a run comes from this one machine: lift the per-address limits (meant for
  # real clients) so thousands of sessions, uploads and invites a minute are not refused.
  prism_spawn cluster_pid "${pin_servers[@]}" env CLUSTER_PORT="$cport" CLUSTER_BASE_PORT="$base" CLUSTER_DIR="$cluster_dir" \
    CLUSTER_NO_BUILD=1 CLUSTER_SERVERS="$SERVERS" CLUSTER_WORKERS="$WORKERS" \
    REDIS_KEY_PREFIX="$prefix" STORAGE_URL="file:$work/objects" LOG_LEVEL="${LOG_LEVEL:-warn}" \
    RATE_LIMIT_SESSIONS_PER_IP=1000000 RATE_LIMIT_UPLOADS_PER_IP=1000000 RATE_LIMIT_INVITES_PER_IP=1000000 \
    AI_PROVIDER=bedrock BEDROCK_ENDPOINT_URL="$standin_url" AWS_ACCESS_KEY_ID=loadtest \
    AWS_SECRET_ACCESS_KEY=loadtest AWS_REGION=eu-north-1 \
    BEDROCK_MODELS=eu.anthropic.claude-sonnet-4-5-20250929-v1:0 \
    bash scripts/cluster.sh >"$work/cluster.log" 2>&1
  if ! wait_file "$cluster_dir/ready" 150 "$cluster_pid"; then
    tail -n 30 "$work/cluster.log" >&2 || true
    prism_die "the cluster did not come up (logs in $cluster_dir/logs)"
  fi
  target="http://127.0.0.1:$cport"
  prism_log "Prism cluster on $target ($SERVERS servers, $WORKERS workers, key prefix $prefix, logs in ${cluster_dir#"$PRISM_ROOT"/}/logs)"
fi

# The control process (fan-out aggregation, failover kills, server lag per ramp stage) and the
# CPU sampler.
metrics_urls=""
if [[ -n $cluster_pid ]]; then metrics_urls=$(tr '\n' ' ' <"$cluster_dir/metrics"); fi
checks_file=""
if ((named_results)); then
  checks_file="$results_abs/checks.ndjson"
  : >"$checks_file"
fi
prism_spawn control_pid env CHECKS_FILE="$checks_file" CLUSTER_DIR="$([[ -n $cluster_pid ]] && echo "$cluster_dir")" \
  METRICS_URLS="$metrics_urls" node loadtest/lib/control.mjs >"$work/control.url" 2>"$work/control.log"
wait_file "$work/control.url" 10 "$control_pid" || prism_die "the control process did not start"
control_url=$(head -n1 "$work/control.url")

redis_pid=$(redis-cli -u "$REDIS_URL" info server 2>/dev/null | tr -d '\r' | sed -n 's/^process_id://p' || true)
start_cpu() { # start_cpu OUT name=pid...  (plus the cluster's pid files when it runs)
  local out=$1
  shift
  prism_spawn cpu_pid node loadtest/lib/cpu.mjs --out "$out" --pids-dir "$([[ -n $cluster_pid ]] && echo "$cluster_dir/pids")" \
    "redis=${redis_pid:-}" "$@" 2>"$work/cpu.log"
}

# Half of MemAvailable (at least 1 GiB) as a Go memory limit, e.g. 11000MiB.
k6_memory_limit() {
  local kb
  kb=$(awk '/^MemAvailable:/ {print $2}' /proc/meminfo 2>/dev/null || true)
  [[ $kb =~ ^[0-9]+$ ]] || kb=4194304
  echo "$((kb / 2048 > 1024 ? kb / 2048 : 1024))MiB"
}

run_k6() { # run_k6 SCRIPT HTML ARGS...: runs k6, records its CPU too; returns k6's exit code
  local script=$1 html=$2 rc=0
  shift 2
  # k6 runs in the background so a signal reaches this script's trap (which stops it) at once.
  # --quiet: no progress bar (a line a second in CI logs); the summary is printed by handleSummary.
  # k6's Go collector runs only when its heap reaches half the memory available (GOGC=off plus
  # GOMEMLIMIT): at thousands of sockets each collection marks a heap of a gigabyte or more, takes
  # a core for seconds and delays k6's socket reads, which is what a ramp level then measures.
  # K6_GOGC / K6_GOMEMLIMIT override.
  # k6's web dashboard writes its HTML report at the end; port -1: no dashboard server (parallel
  # runs on one machine would collide on its port 5665, and k6 would wait for open browsers). A
  # snapshot every 2 s (its default 10 s leaves a short run with too few to report: none written).
  # --address: k6's REST API on a free port, for the same reason.
  GOGC=${K6_GOGC:-off} GOMEMLIMIT=${K6_GOMEMLIMIT:-$(k6_memory_limit)} K6_NO_USAGE_REPORT=true K6_AUTO_EXTENSION_RESOLUTION=false \
    K6_WEB_DASHBOARD=true K6_WEB_DASHBOARD_PORT=-1 K6_WEB_DASHBOARD_PERIOD="${K6_WEB_DASHBOARD_PERIOD:-2s}" \
    K6_WEB_DASHBOARD_EXPORT="$html" "${pin_load[@]}" "$K6" run --no-usage-report --quiet --address 127.0.0.1:0 \
    -e TARGET_URL="$target" -e CONTROL_URL="$control_url" -e RUN_ID="$run_id" -e RESULTS_DIR="$results_abs" \
    -e MODEL_TTFT_MS="$TTFT" -e CAN_KILL="$([[ -n $cluster_pid ]] && echo 1 || echo 0)" "$@" "$script" &
  k6_pid=$!
  echo "$k6_pid" >"$work/k6.pid"
  wait "$k6_pid" || rc=$?
  k6_pid=""
  return "$rc"
}

prism_log "running $scenario against $target"
start_cpu "$work/cpu-$scenario.json" "stand-in=${standin_pid:-}" "control=$control_pid" "k6=@$work/k6.pid"
rc=0
prism_html="$results_abs/report-$scenario-$run_id.html"
samples_args=()
if ((named_results)); then
  prism_html="$results_abs/report.html"
  # Every sample (gzip by the .gz name), for percentiles of several generators' merged samples.
  samples_args=(--out "json=$results_abs/samples.json.gz")
fi
run_k6 "loadtest/scenarios/$scenario.js" "$prism_html" -e SCENARIO="$scenario" "${seg_args[@]}" "${samples_args[@]}" "$@" || rc=$?
stop_pids 5 "$cpu_pid"
cpu_pid=""
if [[ -n $cluster_pid ]]; then
  # The servers' own delivery lag (their /metrics), for the report, while they still run: a last
  # reading for the whole run ("done") beside those the ramp took as each stage started.
  { curl -fsS --max-time 10 -X POST -d '{"mark":"done"}' "$control_url/lag-mark" >/dev/null &&
    curl -fsS --max-time 5 "$control_url/lag-marks" >"$work/lag-marks-$scenario.json"; } ||
    prism_log "the servers' lag could not be read"
fi
prism_result="$results/$scenario-$run_id.json"
[[ -f $prism_result ]] || prism_result=""
if [[ -z $prism_result ]]; then
  # Its handleSummary failed (the error is in k6's output above): the run cannot be read, so it
  # cannot pass, whatever its thresholds said.
  prism_log "k6 wrote no results file (exit code $rc)"
  ((rc != 0)) || rc=1
fi

# ---------------------------------------------------------------------------------------------
# The baseline: raw Socket.IO + Redis adapter behind the same HAProxy layout, same load

baseline_rc=0
baseline_result=""
case $scenario in
  smoke | room | ramp) has_baseline=1 ;; # failover kills processes: no baseline for that
  *) has_baseline=0 ;;
esac
# A segment's generator shares the fleet with the others: no baseline of its own.
[[ -z $seg_n ]] || has_baseline=0
if [[ ${BASELINE:-1} != 0 && $has_baseline == 1 && -n $prism_result ]]; then
  stop_cluster # the baseline gets the machine to itself, as Prism had
  prism_log "baseline: raw Socket.IO + @socket.io/redis-adapter, $SERVERS servers behind HAProxy"
  ensure_haproxy
  bbase=$(free_block 10) || prism_die "no free ports for the baseline"
  bport=$(free_port)
  mkdir -p "$work/baseline/pids"
  server_lines=""
  for ((i = 1; i <= SERVERS; i++)); do
    p=$((bbase + i))
    prism_spawn pid "${pin_servers[@]}" env PORT="$p" REDIS_URL="$REDIS_URL" BASELINE_PREFIX="lt-baseline:$run_id:" INSTANCE_ID="baseline-$i" \
      node loadtest/baseline/server.mjs >"$work/baseline/server-$i.log" 2>&1
    baseline_pids+=("$pid")
    echo "$pid" >"$work/baseline/pids/baseline-$i.pid"
    server_lines+="    server baseline-$i 127.0.0.1:$p"$'\n'
  done
  for ((i = 1; i <= SERVERS; i++)); do
    wait_http "http://127.0.0.1:$((bbase + i))/health" 30 "${baseline_pids[$((i - 1))]}" ||
      prism_die "baseline server $i did not start ($work/baseline/server-$i.log)"
  done
  # The same HAProxy configuration as the cluster's (scripts/haproxy.cfg.tmpl).
  cfg=$(<scripts/haproxy.cfg.tmpl)
  cfg=${cfg//@CLUSTER_PORT@/$bport}
  cfg=${cfg//@BIND@/127.0.0.1}
  cfg=${cfg//@STATS_PORT@/$bbase}
  # As cluster.sh: about two descriptors per connection, within the hard limit.
  fd_limit=$(ulimit -Hn)
  [[ $fd_limit =~ ^[0-9]+$ ]] || fd_limit=1000000
  cfg=${cfg//@MAXCONN@/$(((fd_limit - 200) / 2 < 20000 ? (fd_limit - 200) / 2 : 20000))}
  cfg=${cfg//@SERVERS@/${server_lines%$'\n'}}
  printf '%s\n' "$cfg" >"$work/baseline/haproxy.cfg"
  prism_spawn baseline_haproxy "${pin_servers[@]}" haproxy -db -f "$work/baseline/haproxy.cfg" >"$work/baseline/haproxy.log" 2>&1
  echo "$baseline_haproxy" >"$work/baseline/pids/haproxy.pid"
  wait_http "http://127.0.0.1:$bport/health" 30 "$baseline_haproxy" || prism_die "the baseline's HAProxy did not start"
  sleep 4 # HAProxy's first health checks (rise 2, inter 2 s) before traffic

  target="http://127.0.0.1:$bport"
  sampled=("control=$control_pid" "k6=@$work/k6.pid" "haproxy=$baseline_haproxy")
  for ((i = 1; i <= SERVERS; i++)); do sampled+=("server-$i=${baseline_pids[$((i - 1))]}"); done
  start_cpu "$work/cpu-baseline-$scenario.json" "${sampled[@]}"
  run_k6 loadtest/scenarios/baseline.js "$results_abs/report-baseline-$scenario-$run_id.html" -e SCENARIO="$scenario" -e PRISM_RESULT="$prism_result" "$@" || baseline_rc=$?
  stop_pids 5 "$cpu_pid"
  cpu_pid=""
  stop_baseline
  baseline_result="$results/baseline-$scenario-$run_id.json"
  [[ -f $baseline_result ]] || baseline_result=""
  ((baseline_rc == 0)) || prism_log "the baseline run's thresholds failed (exit code $baseline_rc): it is a reference, not a gate"
fi

# ---------------------------------------------------------------------------------------------
# The report: both runs, the ratio, and what limited them

if [[ -n $prism_result ]]; then
  node loadtest/lib/report.mjs --prism "$prism_result" --baseline "$baseline_result" \
    --cpu "$work/cpu-$scenario.json" --baseline-cpu "$work/cpu-baseline-$scenario.json" \
    --lag-marks "$work/lag-marks-$scenario.json" \
    --out "$results/report-$scenario-$run_id.md" || prism_log "the report could not be written"
  [[ ! -f $results/report-$scenario-$run_id.md ]] || cat "$results/report-$scenario-$run_id.md"
fi
if ((rc == 99)); then
  prism_log "$scenario: thresholds FAILED (results in $results/)"
elif ((rc != 0)); then
  prism_log "$scenario: k6 exited with code $rc"
else
  prism_log "$scenario: passed (results in $results/)"
fi
exit "$rc"
