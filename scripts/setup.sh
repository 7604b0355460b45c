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
    # the public headers' C++17 test (WSK client code is often C++)
    g++
    # the fuzzers (scripts/fuzz.sh): clang, and its libFuzzer and sanitizer runtimes (only a
    # recommendation of Debian 12's clang-14, which we install without recommendations)
    clang libclang-rt-14-dev
    # DPDK 22.11 from Debian: headers, libraries, PMD plugins, dpdk-devbind.py, dpdk-testpmd
    dpdk dpdk-dev libdpdk-dev
    # the namespace topology and the Linux peers the tests talk to
    iproute2 ethtool tcpdump netcat-openbsd curl iputils-ping python3 procps
    # HTTP load generators for dpwsk-httpd's tests (ab is in apache2-utils); nginx, the kernel
    # stack's web server bench/nginx.sh measures dpwsk against (run only by that script)
    apache2-utils wrk nginx
    # bench/plot.py (the benchmark's picture)
    python3-matplotlib
    # bench/pathlen.sh counts instructions per connection with callgrind
    valgrind
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
    # Debian's nginx starts a server on port 80 of this machine when installed, and at every
    # boot: the benchmark runs its own, in a namespace. policy-rc.d (if none exists) stops the
    # start; the service is disabled afterwards.
    own_policy=0
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
        chmod 755 /usr/sbin/policy-rc.d
        own_policy=1
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        "${missing[@]}" >/dev/null || install_rc=$?
    [ $own_policy = 0 ] || rm -f /usr/sbin/policy-rc.d
    [ "${install_rc:-0}" = 0 ] || { echo "setup.sh: apt-get install failed" >&2; exit 1; }
    if command -v systemctl >/dev/null && [ -d /run/systemd/system ]; then
        systemctl disable --now nginx.service >/dev/null 2>&1 || true
    fi
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
