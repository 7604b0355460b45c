#!/bin/bash
# One-time (and harmless to repeat) setup on Debian 12: packages, lwIP's source, the build.
#   scripts/setup.sh            install, fetch, configure and build (in ./build)
#   scripts/setup.sh --no-build install and fetch only
# Needs root for apt-get (run with sudo).
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
build=1
[ "${1:-}" = "--no-build" ] && build=0

packages=(
    # build
    gcc pkg-config meson ninja-build dpkg-dev patch
    # the fuzzers (scripts/fuzz.sh): clang, and its libFuzzer and sanitizer runtimes (only a
    # recommendation of Debian 12's clang-14, which we install without recommendations)
    clang libclang-rt-14-dev
    # DPDK 22.11 from Debian: headers, libraries, PMD plugins, dpdk-devbind.py, dpdk-testpmd
    dpdk dpdk-dev libdpdk-dev
    # the namespace topology and the Linux peers the tests talk to
    iproute2 ethtool tcpdump netcat-openbsd curl iputils-ping python3 procps
    # HTTP load generators for dpwsk-httpd's tests (ab is in apache2-utils)
    apache2-utils wrk
    # bench/plot.py (the benchmark's picture)
    python3-matplotlib
)

missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
        missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    [ "$(id -u)" = 0 ] || { echo "setup.sh: run as root (sudo) to install: ${missing[*]}" >&2; exit 1; }
    echo "setup.sh: installing ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        "${missing[@]}" >/dev/null
fi

"$here/scripts/fetch-lwip.sh"

# Quiet when all goes well, the whole story when it does not.
run_logged() {
    local log
    log=$(mktemp)
    if ! "$@" >"$log" 2>&1; then
        tail -n 40 "$log" >&2
        rm -f "$log"
        echo "setup.sh: failed: $*" >&2
        exit 1
    fi
    rm -f "$log"
}

if [ $build = 1 ]; then
    if [ ! -f "$here/build/build.ninja" ]; then
        run_logged meson setup "$here/build" "$here"
    fi
    run_logged ninja -C "$here/build"
    echo "setup.sh: built into build/"
fi
