#!/usr/bin/env bash
# make test-clients: stock third-party clients against a fresh localnet.
# Installs the pinned npm packages (npm ci, from package-lock.json), starts
# scripts/localnet.sh (build/localnet, the standard ports), creates subnet 1,
# then runs node's test runner: the CosmJS suite and every snippet of
# docs/clients.md.
set -euo pipefail
cd "$(dirname "$0")/../.."

start=$SECONDS
(cd tests/clients && npm ci --no-audit --no-fund --loglevel=error)
echo "npm ci: $((SECONDS - start)) s"

./scripts/localnet.sh start >/dev/null
trap './scripts/localnet.sh stop >/dev/null' EXIT
build/meritd tx subnet create-subnet demo "{\"model_name\":\"merit-tiny\",\"model_sha256\":\"$(build/merit-miner model info | sed -n 's/^id: *merit-tiny@sha256://p')\",\"engine_format\":\"llama2c\",\"max_tokens\":64}" \
  --from alice -y --keyring-backend test --home build/localnet

(cd tests/clients && npm test)
echo "test-clients: $((SECONDS - start)) s"
