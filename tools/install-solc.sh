#!/usr/bin/env bash
# Expose the npm solcjs as a native-looking solc for py-solc-x: $SOLCX_BINARY_PATH/solc-v<version>.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
version=$(node -p "require('$root/node_modules/solc/package.json').version")
target="$root/.tools/solcx/solc-v$version"
mkdir -p "$root/.tools/solcx"
if [ -x "$target" ] && grep -q "tools/solc.js" "$target"; then exit 0; fi
printf '#!/bin/sh\nexec node "%s/tools/solc.js" "$@"\n' "$root" > "$target"
chmod +x "$target"
echo "solc $version -> $target"
