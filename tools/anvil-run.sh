#!/usr/bin/env bash
# Run one command against a fresh anvil on a free port; `{rpc}` in the arguments becomes its RPC
# URL (like tools/ganache-run.sh). Brownie's own anvil always takes port 8545, which collides when
# two checkouts test at once; anvil is also faster than ganache for long stateful runs (make fuzz).
set -euo pipefail
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
log=$(mktemp)
# anvil pages old states out to $HOME/.foundry/anvil/tmp and never removes them: a HOME of its own
home=$(mktemp -d)
HOME="$home" setsid "$(dirname "$0")/../node_modules/.bin/anvil" --port "$port" --accounts 10 --balance 10000 --hardfork shanghai --gas-limit 30000000 --steps-tracing > "$log" 2>&1 &
pid=$!
trap 'status=$?; kill -- -$pid 2>/dev/null; wait $pid 2>/dev/null || true; rm -rf "$log" "$home"; exit $status' EXIT
for _ in $(seq 1 100); do
  curl -s -o /dev/null -X POST -H 'content-type: application/json' \
    --data '{"jsonrpc":"2.0","id":1,"method":"eth_chainId","params":[]}' "http://127.0.0.1:$port" && break
  sleep 0.2
done
args=()
for arg in "$@"; do args+=("${arg//\{rpc\}/http://127.0.0.1:$port}"); done
"${args[@]}"
