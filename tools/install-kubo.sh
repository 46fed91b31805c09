#!/usr/bin/env bash
# Build Kubo from the Go module proxy into .tools/bin (skipped when that version is already there).
# v0.39.0 does not build with Go 1.26 (cockroachdb/swiss linknames); v0.43.1 replaces libp2p with a
# fork the proxy does not serve; v0.43.0 builds. Its go.mod has `exclude` lines, so `go install` refuses
# it: download the module and `go build` inside it.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
version=${KUBO_VERSION:-0.43.0}
target="$root/.tools/bin/ipfs"
if [ -x "$target" ] && [ "$("$target" version --number 2>/dev/null)" = "$version" ]; then exit 0; fi
mkdir -p "$root/.tools/bin"
echo "building Kubo v$version from the Go module proxy (a few minutes on 2 cores)..."
dir=$(go mod download -json "github.com/ipfs/kubo@v$version" | python3 -c 'import json,sys; print(json.load(sys.stdin)["Dir"])')
(cd "$dir" && go build -trimpath -o "$target" ./cmd/ipfs)
"$target" version
