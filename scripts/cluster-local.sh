#!/usr/bin/env bash
# `npm run cluster:local`: a three-node cluster on this machine, to try what README "Several nodes"
# describes: a redis-server on loopback (nothing persisted) and three servers on 127.0.0.1:3001-3003
# (media ports 41000, 42000, 43000), sharing one random JWT secret, in development mode so that
# /dev/token works on each. Open http://127.0.0.1:3001/ and http://127.0.0.1:3002/ in two browsers
# with the same room: both end up on the node that owns it. Ctrl-C stops everything it started.
# CLUSTER_LOCAL_SENTINEL=1: Redis behind Sentinel instead (a master, a replica on the next port and one
# sentinel on the one after, master name "telemed"): `kill -9` the master and the nodes follow the
# replica Sentinel promotes.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
. scripts/lib.sh
bash scripts/setup.sh
apt_install redis-server
use_project_node
require_node

redis_port="${CLUSTER_LOCAL_REDIS_PORT:-6390}"
secret="$(node -e "console.log(require('node:crypto').randomBytes(32).toString('hex'))")"
data="$(mktemp -d -t telemed-cluster-XXXXXX)"
pids=()
stop() {
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  log "cluster stopped (data kept in $data)"
}
trap stop EXIT INT TERM

redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no >"$data/redis.log" 2>&1 &
pids+=($!)
redis_env=(REDIS_URL="redis://127.0.0.1:$redis_port")
if [[ "${CLUSTER_LOCAL_SENTINEL:-0}" == 1 ]]; then
  replica_port=$((redis_port + 1)) sentinel_port=$((redis_port + 2))
  # A replica writes the snapshot it receives to its folder, `--save ''` or not: the data folder, not here.
  redis-server --port "$replica_port" --bind 127.0.0.1 --save '' --appendonly no --replicaof 127.0.0.1 "$redis_port" \
    --dir "$data" --dbfilename replica.rdb >"$data/replica.log" 2>&1 &
  pids+=($!)
  # Sentinel rewrites its configuration file as it learns: it gets one of its own in the data folder.
  printf '%s\n' "port $sentinel_port" 'bind 127.0.0.1' "dir $data" "sentinel monitor telemed 127.0.0.1 $redis_port 1" \
    'sentinel down-after-milliseconds telemed 2000' 'sentinel failover-timeout telemed 10000' >"$data/sentinel.conf"
  redis-server "$data/sentinel.conf" --sentinel >"$data/sentinel.log" 2>&1 &
  pids+=($!)
  redis_env=(REDIS_SENTINELS="127.0.0.1:$sentinel_port" REDIS_SENTINEL_NAME=telemed)
  log "redis master 127.0.0.1:$redis_port, replica :$replica_port, sentinel :$sentinel_port (master pid ${pids[0]})"
fi
for i in 1 2 3; do
  mkdir -p "$data/node-$i"
  env "${redis_env[@]}" APP_MODE=development JWT_SECRETS="$secret" HTTP_PORT="300$i" MEDIA_PORT="4${i}000" MEDIA_WORKERS=1 \
    CLUSTER_NODE_ID="node-$i" CLUSTER_ROUTE="http://127.0.0.1:300$i" \
    DATA_DIR="$data/node-$i" DRAIN_DEADLINE_SECONDS=30 node dist/server/main.js >"$data/node-$i.log" 2>&1 &
  pids+=($!)
done
for i in 1 2 3; do
  for _ in $(seq 1 60); do
    if node -e "fetch('http://127.0.0.1:300$i/readyz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))" 2>/dev/null; then break; fi
    sleep 0.5
  done
done
log "cluster up: http://127.0.0.1:3001  http://127.0.0.1:3002  http://127.0.0.1:3003 (redis 127.0.0.1:$redis_port; logs in $data)"
log "try: kill -TERM <a node's pid> to drain it; Ctrl-C to stop all (pids: ${pids[*]})"
wait
