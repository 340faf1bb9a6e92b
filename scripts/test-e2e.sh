#!/usr/bin/env bash
# The end-to-end layer: every suite under test/e2e one after another (they time what they see), and the
# small chaos run (test/chaos) beside them in a process of its own. The chaos run spends most of its
# minutes waiting for retries and for its runtime to come back, so running it alongside costs the
# layer little time where running it after would cost all of it. Its report follows the others'.
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-chromium.sh || exit 1
node=(node --no-concurrent-sparkplug --no-concurrent-recompilation --import tsx --test --test-reporter=spec)
chaos_log="$(mktemp)"
trap 'rm -f "$chaos_log"' EXIT
"${node[@]}" --test-timeout=900000 "test/chaos/**/*.test.ts" >"$chaos_log" 2>&1 &
chaos=$!
"${node[@]}" --test-concurrency=1 --test-timeout=300000 "test/e2e/**/*.test.ts"
suites=$?
wait "$chaos"
chaos_status=$?
echo "── the small chaos run (test/chaos) ──"
cat "$chaos_log"
if [ "$suites" -ne 0 ] || [ "$chaos_status" -ne 0 ]; then exit 1; fi
