#!/usr/bin/env bash
# Realtime figures (push latency, memory per idle socket): raises the open-file limit for
# 10,000 sockets on each side, then runs the bench. Usage: test/bench/realtime.sh [--quick]
set -euo pipefail
cd "$(dirname "$0")/../.."
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
echo "open files limit: $(ulimit -n)" >&2
exec npx tsx test/bench/push-latency.ts "$@"
