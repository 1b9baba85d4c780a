#!/usr/bin/env bash
# bash scripts/ensure.sh deps [redis] [haproxy] [chromium]
# Runs the named ensure_* steps from lib.sh in order. "redis" leaves a private Redis it starts
# running (that is the point of ensuring it); stop it with: redis-cli -p PORT shutdown nosave
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
prism_root

(($#)) || prism_die "usage: bash scripts/ensure.sh deps|redis|haproxy|chromium ..."
for what in "$@"; do
  case $what in
    deps) ensure_deps ;;
    redis)
      ensure_redis
      if [[ -n ${PRISM_STARTED_REDIS_PID:-} ]]; then
        prism_log "private Redis left running at $REDIS_URL (pid $PRISM_STARTED_REDIS_PID)"
      fi
      ;;
    haproxy) ensure_haproxy ;;
    chromium) ensure_chromium ;;
    *) prism_die "ensure.sh: unknown step '$what' (deps, redis, haproxy, chromium)" ;;
  esac
done
