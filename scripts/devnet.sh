#!/usr/bin/env bash
# Runs the 4-validator devnet of networks/devnet on loopback.
#   scripts/devnet.sh start|stop|reset|status
# Each node's home and log live in build/devnet/node<i> (DEVNET_HOME to change).
set -euo pipefail
cd "$(dirname "$0")/.."

MERITD=${MERITD:-build/meritd}
NET=networks/devnet
HOME_ROOT=${DEVNET_HOME:-build/devnet}
NODES=4
rpc_port() { echo $((27000 + 100 * $1 + 57)); }

height() {
  { "$MERITD" status --node "tcp://127.0.0.1:$(rpc_port "$1")" 2>/dev/null || true; } |
    sed -n 's/.*"latest_block_height":"\([0-9]*\)".*/\1/p'
}

stop() {
  for i in $(seq 0 $((NODES - 1))); do
    pidf="$HOME_ROOT/node$i/meritd.pid"
    [ -f "$pidf" ] || continue
    pid=$(cat "$pidf")
    if kill -0 "$pid" 2>/dev/null; then
      kill "$pid"
      for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -9 "$pid" 2>/dev/null || true
      echo "stopped node$i (pid $pid)"
    fi
    rm -f "$pidf"
  done
}

start() {
  [ -x "$MERITD" ] || { echo "$MERITD not found; run 'make build' first" >&2; exit 1; }
  for i in $(seq 0 $((NODES - 1))); do
    home="$HOME_ROOT/node$i"
    if [ -f "$home/meritd.pid" ] && kill -0 "$(cat "$home/meritd.pid")" 2>/dev/null; then
      echo "node$i already running"; continue
    fi
    if [ ! -d "$home/data" ]; then
      mkdir -p "$home/data"
      cp -r "$NET/node$i/config" "$home/"
      echo '{"height":"0","round":0,"step":0}' >"$home/data/priv_validator_state.json"
    fi
    nohup "$MERITD" start --home "$home" >>"$home/meritd.log" 2>&1 &
    echo $! >"$home/meritd.pid"
  done
  for _ in $(seq 1 300); do
    ok=1
    for i in $(seq 0 $((NODES - 1))); do
      h=$(height "$i"); [ -n "$h" ] && [ "$h" -ge 2 ] || ok=0
    done
    [ $ok = 1 ] && break
    sleep 0.2
  done
  status
  echo "keys: --keyring-backend test --keyring-dir $NET (val0-3, user0-7, hk0-63)"
}

status() {
  for i in $(seq 0 $((NODES - 1))); do
    p=$((27000 + 100 * i))
    echo "node$i  height $(height "$i" || true)  rpc http://127.0.0.1:$((p + 57))  grpc 127.0.0.1:$((p + 90))  rest http://127.0.0.1:$((p + 17))  log $HOME_ROOT/node$i/meritd.log"
  done
}

case "${1:-start}" in
  start) start ;;
  stop) stop ;;
  reset) stop; rm -rf "$HOME_ROOT"; echo "wiped $HOME_ROOT" ;;
  status) status ;;
  *) echo "usage: $0 start|stop|reset|status" >&2; exit 2 ;;
esac
