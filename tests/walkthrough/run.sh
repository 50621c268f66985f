#!/usr/bin/env bash
# Runs the README's walkthrough ("Running a miner and a validator against a
# chain") exactly as written, then checks that it did what it says: the miner
# serves and its endpoint is on chain, the validator holds a permit and its
# weights on the miner are on chain.
#
#   tests/walkthrough/run.sh [README.md]        (make test-walkthrough)
#
# Every ```sh block of that section runs, in order, in its own `bash -euo
# pipefail` from the repository root; a failing block fails the test. An HTML
# comment on the line before a block (invisible on the rendered page) tells
# the harness what a reader does by hand:
#   <!-- walkthrough: background NAME -->  the block keeps running (a second
#        terminal): it runs in the background, output in
#        build/walkthrough/NAME.log, and is stopped at the end;
#   <!-- walkthrough: until PATTERN -->    the reader waits: the block is
#        re-run every 2 s until it succeeds and its output matches the
#        extended regexp PATTERN (WALKTHROUGH_TIMEOUT seconds, default 180);
#   <!-- walkthrough: stop-background -->  the reader stops the background
#        commands (Ctrl-C) before this block: the harness checks the network,
#        then stops them.
set -euo pipefail
cd "$(dirname "$0")/../.."

README=${1:-README.md}
SECTION='## Running a miner and a validator against a chain'
TIMEOUT=${WALKTHROUGH_TIMEOUT:-180}
OUT=build/walkthrough
rm -rf "$OUT" && mkdir -p "$OUT"

# Split the section into numbered block files, each with its directive.
awk -v section="$SECTION" -v out="$OUT" '
  $0 == section { on = 1; next }
  on && /^## / { exit }
  !on { next }
  /^<!-- walkthrough: .* -->$/ { d = $0; sub(/^<!-- walkthrough: /, "", d); sub(/ -->$/, "", d); next }
  /^```sh$/ { n++; f = sprintf("%s/block%02d.sh", out, n); printf "%s\n", d > (f ".directive"); d = ""; inblock = 1; next }
  inblock && /^```$/ { inblock = 0; close(f); next }
  inblock { print > f; next }
  /^[^ \t]/ && !/^<!--/ { d = "" }
' "$README"

blocks=("$OUT"/block*.sh)
[ -e "${blocks[0]}" ] || { echo "walkthrough: no sh blocks under '$SECTION' in $README" >&2; exit 1; }
echo "walkthrough: ${#blocks[@]} blocks from $README"

bg_pids=()
stop_background() {
  for pid in "${bg_pids[@]}"; do
    kill -INT -- "-$pid" 2>/dev/null || true
  done
  for pid in "${bg_pids[@]}"; do
    for _ in $(seq 1 100); do kill -0 -- "-$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 -- "-$pid" 2>/dev/null || true
  done
  bg_pids=()
}
cleanup() {
  status=$?
  stop_background
  if [ $status -ne 0 ]; then
    for log in "$OUT"/*.log build/localnet/meritd.log; do
      [ -f "$log" ] && { echo "--- last lines of $log"; tail -n 30 "$log"; }
    done
  fi
  ./scripts/localnet.sh stop >/dev/null 2>&1 || true
}
trap cleanup EXIT

# The walkthrough's own promises, checked independently of its commands.
check_network() {
  local meritd=build/meritd home=(--home build/localnet) deadline=$((SECONDS + TIMEOUT))
  curl -fsS http://127.0.0.1:8091/healthz >/dev/null || { echo "walkthrough: the miner does not answer /healthz" >&2; return 1; }
  until "$meritd" q subnet neuron 1 0 -o json "${home[@]}" | grep -q '"address": "127.0.0.1:8091"'; do
    [ $SECONDS -lt $deadline ] || { echo "walkthrough: the miner's endpoint is not on chain" >&2; return 1; }
    sleep 2
  done
  "$meritd" q subnet neuron 1 1 -o json "${home[@]}" | grep -q '"validator_permit": true' ||
    { echo "walkthrough: UID 1 holds no validator permit" >&2; return 1; }
  local w
  w=$("$meritd" q scoring weights 1 1 -o json "${home[@]}" | tr -d ' \n')
  case "$w" in
    *'"uids":[0]'*'"values":['[1-9]*) ;;
    *) echo "walkthrough: no weight of UID 1 on the miner (UID 0): $w" >&2; return 1 ;;
  esac
  echo "walkthrough: miner serves, validator has a permit and weights on chain"
}

start=$SECONDS
for b in "${blocks[@]}"; do
  directive=$(cat "$b.directive")
  echo "=== $(basename "$b") ${directive:+[$directive] }($((SECONDS - start)) s)"
  sed 's/^/    /' "$b"
  case "$directive" in
    background\ *)
      name=${directive#background }
      # Its own process group, so stopping it reaches the daemon too.
      setsid bash -euo pipefail "$b" >"$OUT/$name.log" 2>&1 &
      bg_pids+=($!)
      ;;
    until\ *)
      pattern=${directive#until }
      deadline=$((SECONDS + TIMEOUT))
      until out=$(bash -euo pipefail "$b" 2>&1) && grep -Eq -- "$pattern" <<<"$out"; do
        if [ $SECONDS -ge $deadline ]; then
          echo "walkthrough: $(basename "$b") did not print /$pattern/ within $TIMEOUT s; last output:" >&2
          echo "$out" >&2
          exit 1
        fi
        for pid in "${bg_pids[@]}"; do
          kill -0 "$pid" 2>/dev/null || { echo "walkthrough: a background command exited" >&2; exit 1; }
        done
        sleep 2
      done
      echo "$out"
      ;;
    stop-background)
      check_network
      stop_background
      bash -euo pipefail "$b"
      ;;
    "")
      bash -euo pipefail "$b"
      ;;
    *)
      echo "walkthrough: unknown directive '$directive' before $(basename "$b")" >&2
      exit 1
      ;;
  esac
done
echo "walkthrough: passed in $((SECONDS - start)) s"
