#!/usr/bin/env bash
# make test-clients: stock third-party clients against a fresh localnet.
# Installs the pinned npm packages (npm ci, from package-lock.json), starts
# scripts/localnet.sh (build/localnet, the standard ports), creates subnet 1,
# then runs node's test runner: the CosmJS suite, every snippet of
# docs/clients.md, and docs/payment.md's user walkthrough against a demo
# network (official `openai` npm client, curl).
set -euo pipefail
cd "$(dirname "$0")/../.."

start=$SECONDS
(cd tests/clients && npm ci --no-audit --no-fund --loglevel=error)
echo "npm ci: $((SECONDS - start)) s"

./scripts/localnet.sh start >/dev/null
trap './scripts/localnet.sh stop >/dev/null' EXIT
build/meritd tx subnet create-subnet demo "{\"model_name\":\"merit-tiny\",\"model_sha256\":\"$(build/merit-miner model info | sed -n 's/^id: *merit-tiny@sha256://p')\",\"engine_format\":\"llama2c\",\"max_tokens\":64}" \
  --from alice -y --keyring-backend test --home build/localnet

# docs/payment.md's walkthrough runs against `make demo`: start one (the
# same logs folder, so its env.sh is where the doc says) and stop it after.
rm -f build/demo-logs/env.sh
setsid go run ./scripts/demo -bin build -logs build/demo-logs -epochs 0 >build/clients-demo.out 2>&1 &
demo=$!
trap 'kill -INT -- -$demo 2>/dev/null || true; wait $demo 2>/dev/null || true; ./scripts/localnet.sh stop >/dev/null' EXIT
for _ in $(seq 240); do
  [ -f build/demo-logs/env.sh ] && break
  kill -0 $demo 2>/dev/null || { cat build/clients-demo.out; echo "the demo stopped"; exit 1; }
  sleep 1
done
[ -f build/demo-logs/env.sh ] || { cat build/clients-demo.out; echo "the demo did not start in 240 s"; exit 1; }
echo "demo up: $((SECONDS - start)) s"

(cd tests/clients && npm test)
echo "test-clients: $((SECONDS - start)) s"
