#!/usr/bin/env bash
# npm test: every check, in order, stopping at the first failure:
# types, lint, build, vitest (unit + integration against a real Redis), the cluster tier (the
# integration files in scripts/cluster-tier.txt against a private Redis Cluster: 3 masters + 3
# replicas, REDIS_CLUSTER=true), browser end to end (when web/e2e exists), infra tests (when
# infra has a "test" script).
# A private Redis is started when none answers at REDIS_URL, and stopped at exit; so is the cluster.
# PRISM_SKIP_CLUSTER_TIER=1 leaves the cluster tier out (a quick local run).
# With CI=true each step's elapsed seconds are printed.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=redis-cluster.sh
source "$(dirname "${BASH_SOURCE[0]}")/redis-cluster.sh"
prism_root

ensure_deps
trap 'stop_private_redis; stop_redis_cluster' EXIT
ensure_redis
export REDIS_URL
ensure_test_tools

steps_run=0
step() {
  local name=$1 start=$SECONDS rc=0
  shift
  steps_run=$((steps_run + 1))
  printf '\nprism: ===== %s: %s =====\n' "$name" "$*" >&2
  "$@" || rc=$?
  if [[ ${CI:-} == true ]]; then
    prism_log "$name took $((SECONDS - start)) s"
  fi
  if ((rc != 0)); then
    prism_log "FAILED: $name (exit code $rc)"
    exit "$rc"
  fi
}

has_script() { # has_script DIR NAME: DIR/package.json has scripts.NAME
  [[ -f $1/package.json ]] &&
    node -e 'process.exit(require(process.argv[1]).scripts?.[process.argv[2]] ? 0 : 1)' \
      "$PRISM_ROOT/$1/package.json" "$2"
}

step typecheck npm run typecheck
step lint npm run lint
# Built before the tests: some start real server processes and the cluster from dist/.
step build npm run build
mkdir -p .data
# Built once per machine into ~/.cache/prism (about 2.5 minutes the first time).
step "S3-API test server" npx --no-install tsx test/prepare.ts
step "unit + integration" npx --no-install vitest run --reporter=default --reporter=json --outputFile.json=.data/vitest-report.json
# One plain closing line for whoever reads the log: N passed, N failed.
node -e 'const r = require(process.argv[1]); console.log(`tests: ${r.numPassedTests} passed, ${r.numFailedTests} failed`)' \
  "$PRISM_ROOT/.data/vitest-report.json"
if [[ ${PRISM_SKIP_CLUSTER_TIER:-} != 1 ]]; then
  start_redis_cluster
  mapfile -t cluster_files < <(grep -v '^\s*\(#\|$\)' scripts/cluster-tier.txt)
  step "integration on a Redis Cluster" env REDIS_URL="$PRISM_CLUSTER_URL" REDIS_CLUSTER=true \
    npx --no-install vitest run --project integration --reporter=default --reporter=json \
    --outputFile.json=.data/vitest-cluster-report.json "${cluster_files[@]}"
  node -e 'const r = require(process.argv[1]); console.log(`cluster tier: ${r.numPassedTests} passed, ${r.numFailedTests} failed`)' \
    "$PRISM_ROOT/.data/vitest-cluster-report.json"
  # A master failover and a slot migration under live reviewers move slots: on their own, after
  # the tier, so no other file's review is caught in the move.
  step "failover and slot migration on the Redis Cluster" env REDIS_URL="$PRISM_CLUSTER_URL" REDIS_CLUSTER=true \
    npx --no-install vitest run --project integration server/test/cluster-failover.cluster.int.test.ts
  stop_redis_cluster
fi
if has_script web test; then
  step "web unit" npm test -w web
fi
if [[ -d web/e2e ]]; then
  ensure_chromium
  step "browser end to end" npm run test:e2e -w web
fi
if has_script infra test; then
  step infra npm test -w infra
fi
prism_log "all $steps_run steps passed"
