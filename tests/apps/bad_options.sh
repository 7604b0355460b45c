#!/bin/bash
# bad_options: dpwsk-echo and dpwsk-cat refuse a bad command line with one line on stderr
# ("prog: error: ..."), nothing on stdout, exit status 2, before anything starts (no EAL, no
# network: "lo" exists in every namespace and is never opened, so no topology is needed).
# --help prints the usage on stdout and exits 0.
#   bash tests/apps/bad_options.sh
. "$(dirname "$0")/apps_lib.sh"
for p in "$DPW_ECHO" "$DPW_CAT"; do
	[ -x "$p" ] || { echo "FAIL: $DPW_TEST: $p not built"; exit 1; }
done
DPW_TMP=$(mktemp -d "${TMPDIR:-/tmp}/dpw-$DPW_TEST.XXXXXX") || exit 1
trap 'rm -rf "$DPW_TMP"' EXIT

PORT_ARGS=(--iface lo --ip 198.18.0.2/24)

# refuse NAME PROGRAM ARGS...: status 2, stdout empty, exactly one stderr line, an error.
refuse() {
	local name=$1 prog=$2 rc lines msg
	shift 2
	timeout 20 "$prog" "$@" >"$DPW_TMP/out" 2>"$DPW_TMP/err" </dev/null
	rc=$?
	lines=$(wc -l <"$DPW_TMP/err")
	if [ "$rc" = 2 ] && [ ! -s "$DPW_TMP/out" ] && [ "$lines" = 1 ] &&
		grep -q "^$(basename "$prog"): error: " "$DPW_TMP/err"; then
		pass "$name" "$(cat "$DPW_TMP/err")"
	else
		msg="status $rc, stdout '$(head -c 100 "$DPW_TMP/out")',"
		fail "$name" "$msg stderr ($lines lines) '$(head -c 300 "$DPW_TMP/err")'"
	fi
}

refuse echo-unknown-option "$DPW_ECHO" "${PORT_ARGS[@]}" --bogus
refuse echo-tcp-port-range "$DPW_ECHO" "${PORT_ARGS[@]}" --tcp-port 70000
refuse echo-udp-port-word "$DPW_ECHO" "${PORT_ARGS[@]}" --udp-port seven
refuse echo-port-no-value "$DPW_ECHO" "${PORT_ARGS[@]}" --tcp-port
refuse echo-both-ports-off "$DPW_ECHO" "${PORT_ARGS[@]}" --tcp-port 0 --udp-port 0
refuse echo-no-address "$DPW_ECHO" --iface lo
refuse echo-discard-is-echo "$DPW_ECHO" "${PORT_ARGS[@]}" --tcp-port 9 --discard-port 9
refuse echo-discard-range "$DPW_ECHO" "${PORT_ARGS[@]}" --discard-port 65536

refuse cat-no-target "$DPW_CAT" "${PORT_ARGS[@]}"
refuse cat-target-word "$DPW_CAT" "${PORT_ARGS[@]}" somewhere
refuse cat-target-no-port "$DPW_CAT" "${PORT_ARGS[@]}" 198.18.0.1
refuse cat-target-any "$DPW_CAT" "${PORT_ARGS[@]}" 0.0.0.0:5000
refuse cat-target-port-range "$DPW_CAT" "${PORT_ARGS[@]}" 198.18.0.1:65536
refuse cat-listen-and-target "$DPW_CAT" "${PORT_ARGS[@]}" --listen 5000 198.18.0.1:5000
refuse cat-listen-word "$DPW_CAT" "${PORT_ARGS[@]}" --listen here
refuse cat-wait-negative "$DPW_CAT" "${PORT_ARGS[@]}" --wait -1 198.18.0.1:5000
refuse cat-unknown-option "$DPW_CAT" "${PORT_ARGS[@]}" --bogus 198.18.0.1:5000
refuse cat-two-targets "$DPW_CAT" "${PORT_ARGS[@]}" 198.18.0.1:1 198.18.0.1:2
refuse cat-no-address "$DPW_CAT" --iface lo 198.18.0.1:5000
# IPv6 targets and listen addresses: the reason is in the line.
refuse_says() {   # refuse_says NAME PATTERN PROGRAM ARGS...: refuse, and the line says PATTERN
	local name=$1 pattern=$2
	shift 2
	refuse "$name" "$@"
	grep -q -- "$pattern" "$DPW_TMP/err" && pass "$name-says" "$pattern" ||
		fail "$name-says" "expected '$pattern' in '$(head -c 200 "$DPW_TMP/err")'"
}
# The engine's capture options (every program has them).
refuse_says echo-capture-limit-alone 'without --capture' "$DPW_ECHO" "${PORT_ARGS[@]}" \
	--capture-limit 5
refuse_says echo-capture-limit-0 'capture-limit' "$DPW_ECHO" "${PORT_ARGS[@]}" --capture x \
	--capture-limit 0
refuse_says echo-capture-limit-word 'capture-limit' "$DPW_ECHO" "${PORT_ARGS[@]}" --capture x \
	--capture-limit lots
refuse_says cat-capture-empty 'file name' "$DPW_CAT" "${PORT_ARGS[@]}" --capture '' \
	198.18.0.1:5000
# --memif: the role and the socket's path are checked before anything starts.
refuse_says echo-memif-no-role 'server:PATH or client:PATH' "$DPW_ECHO" --memif /tmp/m.sock \
	--ip 198.18.0.2/24
refuse_says echo-memif-bad-role 'server:PATH or client:PATH' "$DPW_ECHO" --memif peer:/tmp/m \
	--ip 198.18.0.2/24
refuse_says echo-memif-relative 'absolute' "$DPW_ECHO" --memif server:m.sock --ip 198.18.0.2/24
refuse_says echo-memif-long 'at most 107' "$DPW_ECHO" --ip 198.18.0.2/24 \
	--memif "server:/tmp/$(printf 'x%.0s' $(seq 1 120))"
refuse_says echo-memif-and-iface 'one of --iface, --memif and --port' "$DPW_ECHO" \
	"${PORT_ARGS[@]}" --memif server:/tmp/m.sock
PORT6_ARGS=("${PORT_ARGS[@]}" --ip6 2001:2::2/64)
refuse_says cat-target6-no-brackets 'brackets' "$DPW_CAT" "${PORT6_ARGS[@]}" 2001:2::1:5000
refuse_says cat-target6-no-close "missing ']'" "$DPW_CAT" "${PORT6_ARGS[@]}" '[2001:2::1:5000'
refuse_says cat-target6-no-port ':PORT' "$DPW_CAT" "${PORT6_ARGS[@]}" '[2001:2::1]'
refuse_says cat-target6-port-range 'port' "$DPW_CAT" "${PORT6_ARGS[@]}" '[2001:2::1]:65536'
refuse_says cat-target6-bad 'not an IPv6 address' "$DPW_CAT" "${PORT6_ARGS[@]}" '[2001:2::g]:1'
refuse_says cat-target6-any 'unspecified' "$DPW_CAT" "${PORT6_ARGS[@]}" '[::]:5000'
refuse_says cat-target6-multicast 'multicast' "$DPW_CAT" "${PORT6_ARGS[@]}" '[ff02::1]:5000'
refuse_says cat-target4-multicast 'multicast' "$DPW_CAT" "${PORT6_ARGS[@]}" 239.1.1.1:5000
refuse_says cat-listen6-no-close "missing ']'" "$DPW_CAT" "${PORT6_ARGS[@]}" --listen '[::5000'
refuse_says cat-listen6-bad 'not an IPv6 address' "$DPW_CAT" "${PORT6_ARGS[@]}" --listen '[x]:1'
refuse_says cat-listen6-multicast 'multicast' "$DPW_CAT" "${PORT6_ARGS[@]}" --listen '[ff02::1]:1'
refuse_says cat-listen6-port-0 'port' "$DPW_CAT" "${PORT6_ARGS[@]}" --listen '[::]:0'
refuse_says echo-bad-ip6 'ip6' "$DPW_ECHO" "${PORT_ARGS[@]}" --ip6 2001:2::2/48

for p in "$DPW_ECHO" "$DPW_CAT"; do
	n=$(basename "$p")
	timeout 20 "$p" --help >"$DPW_TMP/out" 2>"$DPW_TMP/err"
	rc=$?
	if [ "$rc" = 0 ] && grep -q "^usage: " "$DPW_TMP/out" && [ ! -s "$DPW_TMP/err" ]; then
		pass "$n-help"
	else
		msg="status $rc, stdout '$(head -c 100 "$DPW_TMP/out")',"
		fail "$n-help" "$msg stderr '$(head -c 200 "$DPW_TMP/err")'"
	fi
done

dpw_finish
