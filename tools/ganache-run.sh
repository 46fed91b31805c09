#!/usr/bin/env bash
# Run one command against a fresh ganache (via npx) on a free port; `{rpc}` in the arguments
# becomes its RPC URL. Ganache is stopped afterwards whatever happens.
set -euo pipefail
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
log=$(mktemp)
setsid npx --no-install ganache --server.host 127.0.0.1 --server.port "$port" --chain.chainId 1337 \
  --chain.hardfork shanghai --wallet.mnemonic "test test test test test test test test test test test junk" \
  --wallet.totalAccounts 10 --wallet.defaultBalance 10000 --miner.blockGasLimit 30000000 \
  --logging.quiet > "$log" 2>&1 &
pid=$!
# npx runs ganache as a child: stop the whole process group, not just npx.
trap 'status=$?; kill -- -$pid 2>/dev/null; wait $pid 2>/dev/null || true; rm -f "$log"; exit $status' EXIT
for _ in $(seq 1 100); do
  curl -s -o /dev/null -X POST -H 'content-type: application/json' \
    --data '{"jsonrpc":"2.0","id":1,"method":"eth_chainId","params":[]}' "http://127.0.0.1:$port" && break
  sleep 0.2
done
args=()
for arg in "$@"; do args+=("${arg//\{rpc\}/http://127.0.0.1:$port}"); done
"${args[@]}"
