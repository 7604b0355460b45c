#!/bin/bash
# Run every test: unit tests (no network) and namespace tests against Linux peers, in the
# normal build and again in an AddressSanitizer + UndefinedBehaviorSanitizer build; the
# threading tests (many application threads against the provider) also in a ThreadSanitizer
# build.
#   scripts/test.sh                  both builds
#   scripts/test.sh --no-sanitize    the normal build only
#   scripts/test.sh --suite unit     one Meson suite (unit, integration), or fuzz: only the
#                                    fuzzers' bounded runs
# Ends with one line "N passed, N failed" (and ", N skipped" when some were skipped).
set -uo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
sanitize=1
suite=()
while [ $# -gt 0 ]; do
    case "$1" in
    --no-sanitize) sanitize=0 ;;
    --suite) suite=(--suite "$2"); shift ;;
    *) echo "test.sh: unknown option $1" >&2; exit 2 ;;
    esac
    shift
done

"$here/scripts/setup.sh" --no-build || exit 1

# configure DIR [meson options...]: set up once, reconfigure never (options are fixed per dir)
configure() {
    local dir=$1; shift
    if [ ! -f "$dir/build.ninja" ]; then
        meson setup "$dir" "$here" "$@" >"$dir.setup.log" 2>&1 ||
            { tail -n 40 "$dir.setup.log"; return 1; }
    fi
    ninja -C "$dir" >/dev/null 2>&1 || { ninja -C "$dir" 2>&1 | tail -n 40; return 1; }
}

builds=("$here/build")
configure "$here/build" || { echo "0 passed, 1 failed"; exit 1; }
if [ $sanitize = 1 ]; then
    builds+=("$here/build-asan" "$here/build-tsan")
    configure "$here/build-asan" -Db_sanitize=address,undefined -Db_lundef=false \
        -Dbuildtype=debug || { echo "0 passed, 1 failed"; exit 1; }
    configure "$here/build-tsan" -Db_sanitize=thread -Db_lundef=false \
        -Dbuildtype=debug || { echo "0 passed, 1 failed"; exit 1; }
fi

# DPDK's own allocations at exit are not ours to report; real leaks in our code still are.
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:halt_on_error=1:${ASAN_OPTIONS:-}"
export LSAN_OPTIONS="suppressions=$here/tests/lsan.supp:print_suppressions=0:${LSAN_OPTIONS:-}"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:${UBSAN_OPTIONS:-}"
export TSAN_OPTIONS="halt_on_error=1:exitcode=66:suppressions=$here/tests/tsan.supp:${TSAN_OPTIONS:-}"

passed=0 failed=0 skipped=0
[ ${#suite[@]} -gt 0 ] && [ "${suite[1]}" = fuzz ] && builds=()   # the fuzzers only
for b in "${builds[@]}"; do
    echo "=== tests in ${b#$here/}"
    which=("${suite[@]}")
    # ThreadSanitizer: the threaded code is the provider, driven by the WSK tests, and the
    # tests in suites "threads" and "lcores2" (several lwIP instances on several threads).
    # Not the other engine unit tests: they hand frames over through net_ring, whose burst
    # functions live in DPDK's uninstrumented library, so TSan cannot see that
    # synchronisation.
    [ "$b" = "$here/build-tsan" ] && [ ${#which[@]} = 0 ] &&
        which=(--suite wsk --suite threads --suite lcores2)
    meson test -C "$b" --print-errorlogs "${which[@]}" --num-processes 1
    log="$b/meson-logs/testlog.json"
    if [ -f "$log" ]; then
        read -r p f s < <(python3 - "$log" <<'PY'
import json, sys
p = f = s = 0
for line in open(sys.argv[1]):
    r = json.loads(line).get("result")
    if r in ("OK", "EXPECTEDFAIL"): p += 1
    elif r == "SKIP": s += 1
    else: f += 1
print(p, f, s)
PY
)
        passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + s))
    else
        failed=$((failed + 1))
    fi
done

# The fuzzers, a bounded run each (scripts/fuzz.sh runs them for hours): one result per
# harness, failed on any finding. Needs clang (scripts/setup.sh installs it); without it the
# run is counted as skipped. Their corpus and regression inputs were replayed above already,
# in every build, as the unit test fuzz-frames-replay.
if [ ${#suite[@]} = 0 ] || [ "${suite[1]}" = fuzz ]; then
    echo "=== fuzzers (scripts/fuzz.sh, 60 s each)"
    for h in frames api; do
        if ! command -v clang >/dev/null; then
            echo "fuzz $h: SKIP (no clang)"
            skipped=$((skipped + 1))
        elif "$here/scripts/fuzz.sh" "$h" 60; then
            passed=$((passed + 1))
        else
            failed=$((failed + 1))
        fi
    done
fi

if [ $skipped -gt 0 ]; then
    echo "$passed passed, $failed failed, $skipped skipped"
else
    echo "$passed passed, $failed failed"
fi
[ $failed = 0 ]
