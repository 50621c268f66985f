#!/usr/bin/env bash
# Starts a single-node Merit chain in a throwaway home, in the background.
#   scripts/localnet.sh [start|stop|status]
# Environment: LOCALNET_HOME (default build/localnet), MERITD (default build/meritd),
# LOCALNET_VOTING_PERIOD (default 20s) so governance can be tried in minutes.
set -euo pipefail
cd "$(dirname "$0")/.."

MERITD=${MERITD:-build/meritd}
HOME_DIR=${LOCALNET_HOME:-build/localnet}
CHAIN_ID=${CHAIN_ID:-merit-local-1}
VOTING_PERIOD=${LOCALNET_VOTING_PERIOD:-20s}
KR=(--keyring-backend test --home "$HOME_DIR")
PIDFILE="$HOME_DIR/meritd.pid"
LOG="$HOME_DIR/meritd.log"
RPC=tcp://127.0.0.1:26657

stop() {
  if [ -f "$PIDFILE" ]; then
    pid=$(cat "$PIDFILE")
    if kill -0 "$pid" 2>/dev/null; then
      echo "stopping meritd (pid $pid)"
      kill "$pid"
      for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -9 "$pid" 2>/dev/null || true
    fi
    rm -f "$PIDFILE"
  fi
}

height() {
  { "$MERITD" status --node "$RPC" 2>/dev/null || true; } | sed -n 's/.*"latest_block_height":"\([0-9]*\)".*/\1/p'
}

case "${1:-start}" in
  stop) stop; exit 0 ;;
  status) h=$(height); echo "height ${h:-unreachable}"; exit 0 ;;
  start) ;;
  *) echo "usage: $0 [start|stop|status]" >&2; exit 2 ;;
esac

[ -x "$MERITD" ] || { echo "$MERITD not found; run 'make build' first" >&2; exit 1; }
stop
if "$MERITD" status --node "$RPC" >/dev/null 2>&1; then
  echo "another node already answers on $RPC; stop it first" >&2
  exit 1
fi
rm -rf "$HOME_DIR"

"$MERITD" init localnet --chain-id "$CHAIN_ID" --default-denom umerit --home "$HOME_DIR" >/dev/null 2>&1
for name in validator alice bob carol; do
  "$MERITD" keys add "$name" "${KR[@]}" --output json >"$HOME_DIR/$name.key.json" 2>&1
  "$MERITD" genesis add-genesis-account "$name" 1000000000000umerit "${KR[@]}"
done
"$MERITD" genesis gentx validator 100000000000umerit --chain-id "$CHAIN_ID" "${KR[@]}" >/dev/null 2>&1
"$MERITD" genesis collect-gentxs --home "$HOME_DIR" >/dev/null 2>&1
# Shorter governance and unbonding periods so both can be tried during a local session.
sed -i "s/\"voting_period\": \"[0-9]*s\"/\"voting_period\": \"$VOTING_PERIOD\"/; s/\"expedited_voting_period\": \"[0-9]*s\"/\"expedited_voting_period\": \"10s\"/" \
  "$HOME_DIR/config/genesis.json"
sed -i "s/\"unbonding_period\": \"[0-9]*\"/\"unbonding_period\": \"${LOCALNET_UNBONDING_BLOCKS:-10}\"/" "$HOME_DIR/config/genesis.json"
"$MERITD" genesis validate "$HOME_DIR/config/genesis.json" --home "$HOME_DIR" >/dev/null

# client.toml: so `meritd --home $HOME_DIR` commands need no chain-id/keyring flags.
cat >"$HOME_DIR/config/client.toml" <<TOML
chain-id = "$CHAIN_ID"
keyring-backend = "test"
keyring-default-keyname = ""
output = "text"
node = "$RPC"
broadcast-mode = "sync"
TOML

nohup "$MERITD" start --home "$HOME_DIR" >"$LOG" 2>&1 &
echo $! >"$PIDFILE"

for _ in $(seq 1 150); do
  h=$(height)
  if [ -n "$h" ] && [ "$h" -ge 1 ]; then break; fi
  if ! kill -0 "$(cat "$PIDFILE")" 2>/dev/null; then
    echo "meritd exited; last lines of $LOG:" >&2; tail -n 20 "$LOG" >&2; exit 1
  fi
  sleep 0.1
done
[ -n "$(height)" ] || { echo "meritd did not produce a block in 15 s; see $LOG" >&2; exit 1; }

cat <<INFO
Merit localnet is running (chain-id $CHAIN_ID, pid $(cat "$PIDFILE"), height $(height)).
  RPC   http://127.0.0.1:26657
  gRPC  127.0.0.1:9090
  REST  http://127.0.0.1:1317
  home  $HOME_DIR   log $LOG
Funded test keys (keyring-backend test): validator alice bob carol
Try:   $MERITD q subnet params --output json
       $MERITD keys list --home $HOME_DIR --keyring-backend test
Stop:  make localnet-stop
INFO
