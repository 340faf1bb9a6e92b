#!/usr/bin/env bash
# The end-to-end layer, in two lanes at once, each suite with a local runtime of its own:
# - test/e2e: the suites that time or count what they see under load (a burst's overlap at a system's
#   connection limit, a release's rate, the quick benchmark), one after another, alone but for lane two;
# - test/beside: the suites that assert no timing (the small chaos run, record sizes, fuzzing, access
#   control, …), one after another in a process of their own. Most of their minutes are spent waiting for
#   retries, deadlines and restarts: beside the first lane they cost the layer little time where running
#   them after it would cost all of it. (The quick benchmark was tried there and taken back: its load
#   made a concurrency check of the DSL suite see no overlap.)
# The second lane's report follows the first's.
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-chromium.sh || exit 1
node=(node --no-concurrent-sparkplug --no-concurrent-recompilation --import tsx --test --test-reporter=spec)
beside_log="$(mktemp)"
trap 'rm -f "$beside_log"' EXIT
"${node[@]}" --test-concurrency=1 --test-timeout=900000 "test/beside/**/*.test.ts" >"$beside_log" 2>&1 &
beside=$!
"${node[@]}" --test-concurrency=1 --test-timeout=300000 "test/e2e/**/*.test.ts"
suites=$?
wait "$beside"
beside_status=$?
echo "── beside them: the suites that assert no timing (test/beside) ──"
cat "$beside_log"
if [ "$suites" -ne 0 ] || [ "$beside_status" -ne 0 ]; then exit 1; fi
