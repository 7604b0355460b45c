#!/bin/bash
# httpd_ipv6: dpwsk-httpd with --ip6 listens on [::]:80 (an AF_INET6 listener) besides
# 0.0.0.0:80. From the peer namespace, curl -6: a GET with the right body, two transfers
# kept alive on one connection, a 300,000-byte body sha256-checked; and a GET over IPv4 from
# the same server. Then the server is back to its two listeners, no connection, its mbufs
# idle.
#   DPW_TOPO_IPV6=1 scripts/netns.sh run tests/apps/httpd_ipv6.sh   (or run it directly)
export DPW_TOPO_IPV6=1
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/httpd_lib.sh"
httpd_init curl sha256sum head
[ -n "${DPW_IP6_STACK:-}" ] || fatal topology "no IPv6 topology (netns.sh without DPW_TOPO_IPV6=1?)"

url6() { echo "http://[$DPW_IP6_STACK]:$HTTP_PORT/$1"; }

stack_start --body-size 300000
grep -q "^dpwsk: ready .* ip6=$DPW_IP6_STACK .* httpd port=80 body=300000\( queues=[0-9]*\)\?\$" "$STACK_OUT" &&
	pass ready-line || fail ready-line "$(grep '^dpwsk: ready' "$STACK_OUT")"
httpd_stats || fatal stats "no stats from dpwsk-httpd"
assert_eq idle-sockets-open 2 "$(wsk_get sockets_open)"   # 0.0.0.0:80 and [::]:80

# The body the server sends: "Hello, dpwsk\n" repeated, cut at 300,000 bytes.
python3 -c 'import sys; b = b"Hello, dpwsk\n" * 23077; sys.stdout.buffer.write(b[:300000])' \
	>"$DPW_TMP/want"

# 1. GET over IPv6.
got=$(pcurl -6 -g -o "$DPW_TMP/body" -w '%{http_code} %{size_download} %{remote_ip}' "$(url6)")
assert_eq get6-curl "200 300000 $DPW_IP6_STACK" "$got"
assert_eq get6-body "$(sha "$DPW_TMP/want")" "$(sha "$DPW_TMP/body")"

# 2. Keep-alive over IPv6: two transfers, one connection.
got=$(pcurl -6 -g -o /dev/null -o /dev/null -w '%{http_code} %{num_connects}\n' \
	"$(url6 a)" "$(url6 b)" | tr '\n' ' ')
assert_eq keepalive6 "200 1 200 0 " "$got"

# 3. IPv4 from the same server.
got=$(pcurl -4 -o "$DPW_TMP/body4" -w '%{http_code} %{size_download}' "$(url)")
assert_eq get4-curl "200 300000" "$got"
assert_eq get4-body "$(sha "$DPW_TMP/want")" "$(sha "$DPW_TMP/body4")"

# 4. Back to idle: the two listeners alone, every mbuf back.
for ((i = 0; i < 50; i++)); do
	httpd_stats || fatal stats "no stats from dpwsk-httpd"
	[ "$(wsk_get sockets_open)" = 2 ] && [ "$(httpd_get connections)" = 0 ] &&
		[ "$(stats_get mbuf_in_use)" = "$(stats_get mbuf_idle)" ] && break
	sleep 0.2
done
assert_eq idle-again-sockets-open 2 "$(wsk_get sockets_open)"
assert_eq idle-again-connections 0 "$(httpd_get connections)"
assert_eq idle-again-mbufs "$(stats_get mbuf_idle)" "$(stats_get mbuf_in_use)"
assert_eq accepted 3 "$(httpd_get accepted)"   # 1, 2 (kept alive), 3
assert_eq requests 4 "$(httpd_get requests)"
echo "httpd: $HTTPD"

stack_stop
dpw_finish
