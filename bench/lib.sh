# Shell pieces the benchmark scripts share (sourced; bash).
#   alive PID                       the process exists and is not a zombie
#   wait_line FILE PATTERN PID SECS until a line of FILE matches (grep -E), bounded; 1 if
#                                   it never does or PID ends first
#   linux_server_start BIN PORT OUT [ARGS...]
#                                   bench/linux/linux-server in the peer namespace on PORT,
#                                   output to OUT, waited for (10 s at most) until it listens;
#                                   its PID in LINUX_SERVER_PID; exits 1 with its output if not

alive() {
	local st
	st=$(sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1)
	[ -n "$st" ] && [ "$st" != Z ] && [ "$st" != X ]
}

wait_line() {
	local i
	for ((i = 0; i < $4 * 20; i++)); do
		grep -qE -- "$2" "$1" 2>/dev/null && return 0
		alive "$3" || break
		sleep 0.05
	done
	grep -qE -- "$2" "$1" 2>/dev/null
}

linux_server_start() {
	local bin=$1 port=$2 out=$3
	shift 3
	ip netns exec "$DPW_NS_PEER" "$bin" --port "$port" "$@" >"$out" 2>&1 &
	LINUX_SERVER_PID=$!
	wait_line "$out" '^linux-server: listening' "$LINUX_SERVER_PID" 10 ||
		{ cat "$out" >&2; echo "linux-server did not start" >&2; exit 1; }
}
