#!/bin/sh
# Put lwIP 2.1.3's source tarball from Debian's source package into subprojects/packagecache/,
# where Meson's lwip.wrap picks it up and checks its sha256. Harmless to re-run.
# Needs apt "deb-src" entries; when the machine has none, they are derived from its "deb" ones.
set -eu

here=$(cd "$(dirname "$0")/.." && pwd)
cache="$here/subprojects/packagecache"
tarball=lwip_2.1.3+dfsg1.orig.tar.xz
want=$(sed -n 's/^source_hash *= *//p' "$here/subprojects/lwip.wrap")

have_hash() { [ -f "$cache/$tarball" ] && echo "$want  $cache/$tarball" | sha256sum -c --status; }

if have_hash; then
    echo "fetch-lwip: $tarball already in subprojects/packagecache"
    exit 0
fi

if ! apt-get source --print-uris lwip >/dev/null 2>&1 || \
   [ -z "$(apt-get source --print-uris lwip 2>/dev/null | grep orig.tar)" ]; then
    echo "fetch-lwip: adding deb-src entries derived from the apt sources" >&2
    if [ -f /etc/apt/sources.list.d/debian.sources ]; then
        sed 's/^Types:.*/Types: deb-src/' /etc/apt/sources.list.d/debian.sources \
            > /etc/apt/sources.list.d/dpwsk-deb-src.sources
    fi
    if [ -f /etc/apt/sources.list ]; then
        grep -E '^deb ' /etc/apt/sources.list | sed 's/^deb /deb-src /' \
            > /etc/apt/sources.list.d/dpwsk-deb-src.list || true
    fi
    apt-get update -qq
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# The unprivileged _apt user cannot write into a root-owned mktemp dir; let it.
chmod 0777 "$work"
(cd "$work" && apt-get source --download-only -qq lwip)
mkdir -p "$cache"
cp "$work/$tarball" "$cache/$tarball"
if ! have_hash; then
    echo "fetch-lwip: $tarball does not match the sha256 in subprojects/lwip.wrap" >&2
    rm -f "$cache/$tarball"
    exit 1
fi
echo "fetch-lwip: $tarball placed in subprojects/packagecache (sha256 ok)"
