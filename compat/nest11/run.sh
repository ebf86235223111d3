#!/usr/bin/env bash
# The compatibility job: Stent installed from its packed tarball into a separate app on NestJS 11,
# TypeORM 0.3 and the sqlite3 driver (package.json and package-lock.json here pin them), then that app's
# suite. It runs in a copy outside the repository, so nothing resolves to the main tree's NestJS 12 or
# TypeORM 1.x. Needs the library built (npm run build at the root).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
work="$(mktemp -d "${TMPDIR:-/tmp}/stent-compat-nest11.XXXXXX")"
trap 'rm -rf "$work"' EXIT

cp "$here/package.json" "$here/package-lock.json" "$here/tsconfig.json" "$work/"
cp -r "$here/test" "$work/test"
cd "$work"
npm ci --no-audit --no-fund --ignore-scripts
# sqlite3 has no prebuilt binary here (downloads are blocked), so it compiles from source: reuse the
# binary the root install built when it is the same version (same Node.js), else build it.
wanted="$(node -p "require('./node_modules/sqlite3/package.json').version")"
built="$root/node_modules/sqlite3/build/Release/node_sqlite3.node"
if [ -f "$built" ] && [ "$(node -p "require('$root/node_modules/sqlite3/package.json').version")" = "$wanted" ]; then
  mkdir -p node_modules/sqlite3/build/Release
  cp "$built" node_modules/sqlite3/build/Release/
else
  npm rebuild sqlite3
fi

# The library as an application gets it: packed, then unpacked in place of an install.
(cd "$root/libs/stent" && npm pack --silent --pack-destination "$work" >/dev/null)
mkdir -p node_modules/nestjs-stent
tar xzf "$work"/nestjs-stent-*.tgz -C node_modules/nestjs-stent --strip-components=1

npx tsc -p tsconfig.json
node --test --test-concurrency=1 --test-reporter=spec dist/
