#!/bin/bash
# Run a fuzz harness of tests/fuzz under libFuzzer (clang, ASan+UBSan) for a while.
#   scripts/fuzz.sh frames|api [SECONDS]     default 3600; one worker process per core
#   DPW_FUZZ_JOBS=N                       workers (default: the number of cores)
#   DPW_FUZZ_WORK=DIR                     corpus, findings, logs (default build-fuzz/fuzz-work/NAME)
#   DPW_FUZZ_IN_TREE=1                    grow the committed corpus (tests/fuzz/corpus/NAME)
#   DPW_FUZZ_TIMEOUT=S                    seconds one input may take (default 10); libFuzzer
#                                         counts wall-clock time, so on a machine loaded far
#                                         beyond its cores a starved worker reports a timeout
#                                         that replaying the input in milliseconds disproves
# It builds build-fuzz first (CC=clang, -Dfuzz=true). The run starts from the committed seeds
# and regression inputs plus what earlier runs kept in the work directory, and ends with one
# line: executions (all workers), executions a second, coverage (cov, ft: the best worker's),
# corpus size, findings. Findings (crash-*, leak-*, timeout-*, oom-* inputs) are left in
# WORK/findings; replay one with build-fuzz/tests/fuzz/fuzz_NAME FILE, or FUZZ_TRACE=1 and
# build/tests/fuzz/fuzz_NAME_replay FILE to see what the engine sent.
# Exit status: 0 no finding, 1 findings, 2 cannot run.
set -uo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
name=${1:-}
secs=${2:-3600}
case "$name" in
frames|api) ;;
*) echo "usage: scripts/fuzz.sh frames|api [SECONDS]" >&2; exit 2 ;;
esac
[[ "$secs" =~ ^[0-9]+$ ]] && [ "$secs" -gt 0 ] || { echo "fuzz.sh: bad duration '$secs'" >&2; exit 2; }
command -v clang >/dev/null || { echo "fuzz.sh: clang is needed (scripts/setup.sh installs it)" >&2; exit 2; }

build="$here/build-fuzz"
if [ ! -f "$build/build.ninja" ]; then
    CC=clang meson setup "$build" "$here" -Dfuzz=true -Db_sanitize=address,undefined \
        -Db_lundef=false -Dintegration_tests=false >"$build.setup.log" 2>&1 ||
        { tail -n 30 "$build.setup.log"; echo "fuzz.sh: meson setup failed" >&2; exit 2; }
fi
ninja -C "$build" "tests/fuzz/fuzz_$name" >"$build/fuzz-ninja.log" 2>&1 ||
    { tail -n 30 "$build/fuzz-ninja.log"; echo "fuzz.sh: build failed" >&2; exit 2; }

work=${DPW_FUZZ_WORK:-$build/fuzz-work/$name}
corpus="$work/corpus"
[ "${DPW_FUZZ_IN_TREE:-0}" = 1 ] && corpus="$here/tests/fuzz/corpus/$name"
logs="$work/logs/$(date +%Y%m%d-%H%M%S)"
mkdir -p "$corpus" "$work/findings" "$logs"
jobs=${DPW_FUZZ_JOBS:-$(nproc)}
before=$(ls "$work/findings" | wc -l)

# One libFuzzer process per core (-jobs = -workers), each with its own engine and EAL
# instance, sharing the corpus directory (each reloads what the others added). A worker
# stops at its first finding and saves the input; the others go on. A timeout is an input
# over 10 s (an engine stuck in a loop). Entropic scheduling's bookkeeping of the 100 rarest
# features took most of the time with this harness's many features (380 executions a
# second against 2,000 with 20).
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:${ASAN_OPTIONS:-}"
export LSAN_OPTIONS="suppressions=$here/tests/lsan.supp:print_suppressions=0:${LSAN_OPTIONS:-}"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:${UBSAN_OPTIONS:-}"
echo "fuzz.sh: $name for $secs s, $jobs worker(s), corpus $corpus, logs in $logs"
# A harness with no finding yet has no regressions directory (git keeps no empty ones).
inputs=("$corpus" "$here/tests/fuzz/corpus/$name")
[ -d "$here/tests/fuzz/regressions/$name" ] && inputs+=("$here/tests/fuzz/regressions/$name")
start=$SECONDS
(cd "$logs" && "$build/tests/fuzz/fuzz_$name" -jobs="$jobs" -workers="$jobs" -reload=1 \
    -timeout="${DPW_FUZZ_TIMEOUT:-10}" -entropic_number_of_rarest_features=20 -max_total_time="$secs" \
    -artifact_prefix="$work/findings/" -print_final_stats=1 "${inputs[@]}") \
    >"$logs/driver.log" 2>&1

# Per worker: the executions (final stats) and the last progress line's coverage, e.g.
# "#123456  REDUCE cov: 2345 ft: 7890 corp: 321/40Kb ...".
execs=0 cov=0 ft=0 corp=0 workers=0
for l in "$logs"/fuzz-*.log; do
    [ -f "$l" ] || continue
    n=$(sed -nE 's/^stat::number_of_executed_units: ([0-9]+).*/\1/p' "$l" | tail -n 1)
    [ -z "$n" ] && n=$(grep -E '^#[0-9]+' "$l" | tail -n 1 | sed -nE 's/^#([0-9]+).*/\1/p')
    [ -z "$n" ] && continue
    last=$(grep -E '^#[0-9]+.* cov: ' "$l" | tail -n 1)
    c=$(sed -nE 's/.* cov: ([0-9]+).*/\1/p' <<<"$last")
    f=$(sed -nE 's/.* ft: ([0-9]+).*/\1/p' <<<"$last")
    k=$(sed -nE 's/.* corp: ([0-9]+).*/\1/p' <<<"$last")
    execs=$((execs + n)) workers=$((workers + 1))
    [ "${c:-0}" -gt $cov ] && cov=$c
    [ "${f:-0}" -gt $ft ] && ft=$f
    [ "${k:-0}" -gt $corp ] && corp=$k
done
# Workers that stopped at a finding ran shorter: the rate is over the time actually taken.
elapsed=$((SECONDS - start))
[ $elapsed -gt 0 ] || elapsed=1
found=$(( $(ls "$work/findings" | wc -l) - before ))
if [ $workers = 0 ]; then
    tail -n 30 "$logs"/*.log
    echo "fuzz.sh: $name did not run" >&2
    exit 2
fi
echo "fuzz.sh: $name: $elapsed s, $workers worker(s), $execs executions, $((execs / elapsed)) exec/s, cov $cov, ft $ft, corpus $corp, findings $found"
if [ "$found" -gt 0 ]; then
    ls -t "$work/findings" | head -n "$found" | sed "s|^|  $work/findings/|"
    grep -hE '^(==[0-9]+==ERROR|SUMMARY):|fuzz_frames: |fuzz_api: |lwIP assertion' "$logs"/fuzz-*.log |
        sed -E 's/^==[0-9]+==//' | sort | uniq -c | head -n 20
    exit 1
fi
exit 0
