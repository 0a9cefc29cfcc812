#!/usr/bin/env bash
# `npm run bench`: raises the open-file limit (the realtime group opens 10,000 sockets on each
# side), then runs test/bench/run.ts with the arguments given.
set -euo pipefail
cd "$(dirname "$0")/../.."
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
exec node --import tsx test/bench/run.ts "$@"
