# shellcheck shell=bash
# A private Redis Cluster for tests and the local fleet: three masters and three replicas
# (`redis-server --cluster-enabled yes` on free ports, `redis-cli --cluster create
# --cluster-replicas 1`), no persistence, data and logs in .data/redis-cluster/<port>.
# Source it after lib.sh; it defines functions and runs nothing.
#
#   start_redis_cluster   start it and wait for cluster_state:ok; exports PRISM_CLUSTER_URL
#                         (redis://127.0.0.1:<first port>) and PRISM_CLUSTER_PORTS
#   stop_redis_cluster    stop every node it started (safe to call twice)

PRISM_CLUSTER_NODES=${PRISM_CLUSTER_NODES:-6}

start_redis_cluster() {
  prism_ensure_command redis-server redis-server "install it (apt-get install redis-server)"
  prism_ensure_command redis-cli redis-tools "install it (apt-get install redis-tools)"
  local ports=() port i dir base="$PRISM_ROOT/.data/redis-cluster"
  for ((i = 0; i < PRISM_CLUSTER_NODES; i++)); do
    # A cluster node also listens on port + 10000 (the cluster bus).
    while :; do
      port=$(free_port)
      ((port < 55535)) && ! port_in_use $((port + 10000)) && [[ " ${ports[*]} " != *" $port "* ]] && break
    done
    ports+=("$port")
  done
  PRISM_CLUSTER_PORTS="${ports[*]}"
  export PRISM_CLUSTER_PORTS
  for port in "${ports[@]}"; do
    dir="$base/$port"
    rm -rf "$dir"
    mkdir -p "$dir"
    redis-server --daemonize yes --dir "$dir" --pidfile "$dir/redis.pid" --logfile "$dir/redis.log" \
      --port "$port" --bind 127.0.0.1 --cluster-enabled yes --cluster-config-file "$dir/nodes.conf" \
      --cluster-node-timeout 3000 --save "" --appendonly no >&2 ||
      prism_die "a cluster node did not start on $port; see $dir/redis.log"
  done
  for port in "${ports[@]}"; do
    for ((i = 0; i < 50; i++)); do
      redis-cli -p "$port" ping 2>/dev/null | grep -q PONG && break
      prism_sleep 0.1
    done
  done
  local hosts=()
  for port in "${ports[@]}"; do hosts+=("127.0.0.1:$port"); done
  prism_log "creating a Redis Cluster: 3 masters + 3 replicas on ${ports[*]}"
  redis-cli --cluster create "${hosts[@]}" --cluster-replicas 1 --cluster-yes >"$base/create.log" 2>&1 ||
    { tail -n 20 "$base/create.log" >&2; prism_die "redis-cli --cluster create failed"; }
  # Every node must agree before a client connects: state ok, all slots assigned, replicas in sync.
  for ((i = 0; i < 200; i++)); do
    local ok=1
    for port in "${ports[@]}"; do
      redis-cli -p "$port" cluster info 2>/dev/null | grep -q '^cluster_state:ok' || ok=0
    done
    ((ok)) && break
    prism_sleep 0.1
  done
  ((ok)) || prism_die "the Redis Cluster did not reach cluster_state:ok within 20 s"
  PRISM_CLUSTER_URL="redis://127.0.0.1:${ports[0]}"
  export PRISM_CLUSTER_URL
  prism_log "Redis Cluster ready at $PRISM_CLUSTER_URL"
}

stop_redis_cluster() {
  local port pid base="$PRISM_ROOT/.data/redis-cluster"
  for port in ${PRISM_CLUSTER_PORTS:-}; do
    pid=$(cat "$base/$port/redis.pid" 2>/dev/null) || continue
    [[ -n $pid ]] && kill "$pid" 2>/dev/null || true
  done
  PRISM_CLUSTER_PORTS=""
}
