#!/usr/bin/env bash
# Build ipfs-cluster-service and ipfs-cluster-ctl from the Go module proxy into .tools/bin
# (skipped when that version of both is already there). `go install ...@v$version` asks the proxy
# for the module's version list (to check for a deprecation), which the proxy refuses here; the
# pinned version itself is served: download the module and `go build` inside it, as for Kubo.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
version=${IPFS_CLUSTER_VERSION:-1.1.6}
bin="$root/.tools/bin"
have() { [ -x "$bin/$1" ] && "$bin/$1" --version 2>/dev/null | grep -qw "$version"; }
if have ipfs-cluster-service && have ipfs-cluster-ctl; then exit 0; fi
mkdir -p "$bin"
echo "building IPFS Cluster v$version from the Go module proxy (a few minutes on 2 cores)..."
dir=$(go mod download -json "github.com/ipfs-cluster/ipfs-cluster@v$version" \
      | python3 -c 'import json,sys; print(json.load(sys.stdin)["Dir"])')
for cmd in ipfs-cluster-service ipfs-cluster-ctl; do
  (cd "$dir" && go build -trimpath -o "$bin/$cmd" "./cmd/$cmd")
done
"$bin/ipfs-cluster-service" --version
"$bin/ipfs-cluster-ctl" --version
