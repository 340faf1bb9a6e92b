#!/usr/bin/env bash
# The end-to-end layer: every suite under test/e2e one after another (they time what they see), and
# beside them, in a process of its own, the small chaos run (test/beside), which asserts no timing and
# spends most of its minutes waiting for retries and for its runtime to come back: alongside, it costs
# the layer little time where running it after would cost all of it. (The quick benchmark was tried
# there too and taken back: its load made a concurrency check of the DSL suite see no overlap.) Its
# report follows the others'.
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
echo "── beside them: the small chaos run (test/beside) ──"
cat "$beside_log"
if [ "$suites" -ne 0 ] || [ "$beside_status" -ne 0 ]; then exit 1; fi
