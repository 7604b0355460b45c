/* Software steering between the engines of one port (steer.c) and the gathering of IP
 * fragments for it (reassembly.c), as pure functions of frames built here byte by byte:
 * - flows to a listening port spread over the queues by the remote address and port, the same
 *   way every time; flows to an ephemeral port go to the queue that port names;
 * - ARP replies and neighbour advertisements go to every engine, other ARP to queue 0;
 * - an ICMP or ICMPv6 error goes to the owner of the flow whose packet it quotes (a "packet too
 *   big" for a connection of queue 1 reaches queue 1's lwIP, which lowers its MSS);
 * - IPv4 and IPv6 fragments are classed as fragments (a last one of one byte too; an IPv6
 *   atomic fragment is not: it is steered by its ports); gathered, last first, they give back
 *   the datagram byte for byte (IPv4's header checksum valid), whose owner is the flow's; a
 *   fragment with a bad header checksum is dropped;
 * - a datagram that never completes gives its mbufs back when the table goes;
 * - a pinned port's frames all go to its queue (and only that protocol's port);
 * - steered by a port's hash (rss.c): the Toeplitz hash gives Microsoft's published values;
 *   a TCP flow goes to the queue the RETA names for it (checked from the published hash, not
 *   from our code's), but for a pinned port and the ports binds take, which keep the port
 *   rule, as UDP does; an ICMP error quoting a TCP flow follows the flow;
 * - lwIP's port hook: a connect knowing its remote takes only ports whose flow the hash puts
 *   on its queue (each checked against the steering rule), any other pick only a port the
 *   port rule gives it; the hash of a flow is its hash with local port 0 XOR the port's part
 *   (Toeplitz is linear), for every published vector;
 * - lwIP's next-port hook: one round of the search tries every port the port hook takes
 *   (none missed), and by the port rule only those (one try per port, not one per engine).
 * No engine and no lwIP: the EAL for the mbuf pool only. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_mbuf.h>

#include "dpw/engine.h"
#include "check.h"
#include "reassembly.h"
#include "rss.h"
#include "steer.h"

/* lwIP's LWIP_HOOK_LOCAL_PORT_OK and LWIP_HOOK_LOCAL_PORT_NEXT (steer.c). */
int dpw_local_port_ok(unsigned short port);
int dpw_local_port_next(unsigned short port);

#define ETH 14
#define IP4 20
#define IP6 40
#define FRAG6 8

static struct rte_mempool *pool;
static const struct dpw_steer_pins *pins;   /* the ports pinned for the frames built here */
static const struct dpw_rss *rss;           /* the hash TCP flows are steered by, or NULL */
static const uint8_t remote6[16] = { 0x20, 0x01, 0x00, 0x02, [15] = 1 };
static const uint8_t local6[16] = { 0x20, 0x01, 0x00, 0x02, [15] = 2 };
static const uint32_t remote4 = 0xc6120001, local4 = 0xc6120002;   /* 198.18.0.1, .2 */

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16));
	put16(p + 2, (uint16_t)v);
}

/* When set, frames arrive with this hash from the device (RTE_MBUF_F_RX_RSS_HASH). */
static const uint32_t *device_hash;

static struct rte_mbuf *mbuf_of(const uint8_t *bytes, uint32_t len)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(pool);
	char *d = m != NULL ? rte_pktmbuf_append(m, (uint16_t)len) : NULL;

	if (d == NULL) {
		fprintf(stderr, "test_steer: out of mbufs\n");
		exit(1);
	}
	memcpy(d, bytes, len);
	if (device_hash != NULL) {
		m->ol_flags |= RTE_MBUF_F_RX_RSS_HASH;
		m->hash.rss = *device_hash;
	}
	return m;
}

/* Ethernet of the given type; the rest is the caller's. */
static uint32_t eth(uint8_t *f, uint16_t type)
{
	memset(f, 0, ETH);
	f[0] = 0x02, f[6] = 0x02, f[11] = 1;
	put16(f + 12, type);
	return ETH;
}

/* An IPv4 header at f (checksum filled in). */
static void ip4(uint8_t *f, uint8_t proto, uint32_t src, uint32_t dst, uint16_t payload,
		uint16_t frag_field)
{
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)f;

	memset(f, 0, IP4);
	f[0] = 0x45;
	put16(f + 2, (uint16_t)(IP4 + payload));
	put16(f + 4, 0x1234);   /* identification */
	put16(f + 6, frag_field);
	f[8] = 64;
	f[9] = proto;
	put32(f + 12, src);
	put32(f + 16, dst);
	ip->hdr_checksum = rte_ipv4_cksum(ip);
}

static void ip6(uint8_t *f, uint8_t next, const uint8_t *src, const uint8_t *dst,
		uint16_t payload)
{
	memset(f, 0, IP6);
	f[0] = 0x60;
	put16(f + 4, payload);
	f[6] = next;
	f[7] = 64;
	memcpy(f + 8, src, 16);
	memcpy(f + 24, dst, 16);
}

/* A TCP SYN's first 20 bytes, or a UDP header and `data` bytes of a pattern. */
static uint16_t l4(uint8_t *f, uint8_t proto, uint16_t sport, uint16_t dport, uint16_t data)
{
	uint16_t len = proto == IPPROTO_TCP ? 20 : (uint16_t)(8 + data);

	memset(f, 0, len);
	put16(f, sport);
	put16(f + 2, dport);
	if (proto == IPPROTO_TCP) {
		f[12] = 0x50;
		f[13] = 0x02;
	} else {
		put16(f + 4, len);
		for (uint16_t i = 0; i < data; i++)
			f[8 + i] = (uint8_t)(i * 7 + 3);
	}
	return len;
}

/* The owner of a segment from the remote's sport to the local dport, over IPv4 or IPv6. */
static uint16_t owner_ip(bool v6, uint8_t proto, uint16_t sport, uint16_t dport,
			 uint16_t queues)
{
	uint8_t f[128];
	uint32_t l3 = v6 ? IP6 : IP4;
	uint16_t n = l4(f + ETH + l3, proto, sport, dport, 0);
	struct rte_mbuf *m;
	uint16_t o;

	eth(f, v6 ? RTE_ETHER_TYPE_IPV6 : RTE_ETHER_TYPE_IPV4);
	if (v6)
		ip6(f + ETH, proto, remote6, local6, n);
	else
		ip4(f + ETH, proto, remote4, local4, n, 0);
	m = mbuf_of(f, ETH + l3 + n);
	o = dpw_steer_owner(m, queues, pins, rss);
	rte_pktmbuf_free(m);
	return o;
}

#define owner4(...) owner_ip(false, __VA_ARGS__)
#define owner6(...) owner_ip(true, __VA_ARGS__)

static uint16_t owner_of(const uint8_t *f, uint32_t len, uint16_t queues)
{
	struct rte_mbuf *m = mbuf_of(f, len);
	uint16_t o = dpw_steer_owner(m, queues, pins, rss);

	rte_pktmbuf_free(m);
	return o;
}

static void test_spread_and_ports(void)
{
	unsigned per[2] = { 0, 0 }, per6[2] = { 0, 0 }, same = 0;

	for (uint16_t i = 0; i < 64; i++) {
		uint16_t o = owner4(IPPROTO_TCP, (uint16_t)(40000 + i), 7, 2);
		uint16_t o6 = owner6(IPPROTO_TCP, (uint16_t)(40000 + i), 7, 2);

		same += o == owner4(IPPROTO_TCP, (uint16_t)(40000 + i), 7, 2);
		same += owner4(IPPROTO_UDP, (uint16_t)(40000 + i), 7, 2) == o;   /* one rule */
		if (o < 2)
			per[o]++;
		if (o6 < 2)
			per6[o6]++;
	}
	CHECK_EQ_U(per[0] + per[1], 64);
	CHECK_EQ_U(per6[0] + per6[1], 64);
	CHECK(per[0] > 8 && per[1] > 8);     /* both queues get a fair part */
	CHECK(per6[0] > 8 && per6[1] > 8);
	CHECK_EQ_U(same, 128);
	printf("test_steer: 64 flows to port 7: %u and %u (IPv4), %u and %u (IPv6)\n", per[0],
	       per[1], per6[0], per6[1]);

	/* An ephemeral port names its queue. */
	CHECK_EQ_U(owner4(IPPROTO_TCP, 80, 0xc005, 2), 1);
	CHECK_EQ_U(owner4(IPPROTO_TCP, 80, 0xc006, 4), 2);
	CHECK_EQ_U(owner6(IPPROTO_UDP, 53, 0xc007, 4), 3);
	/* One queue: everything is its. */
	CHECK_EQ_U(owner4(IPPROTO_TCP, 40001, 7, 1), 0);
}

/* TCP over IPv4 with options in its header: the full parse decides it (steer.c's plain_tcp4
 * takes only 20-byte headers), and must agree with the short path for the same flow. */
static uint16_t owner4_with_options(uint16_t sport, uint16_t dport, uint16_t queues)
{
	uint8_t f[128];
	uint16_t n = l4(f + ETH + IP4 + 4, IPPROTO_TCP, sport, dport, 0);
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(f + ETH);

	eth(f, RTE_ETHER_TYPE_IPV4);
	ip4(f + ETH, IPPROTO_TCP, remote4, local4, (uint16_t)(4 + n), 0);
	f[ETH] = 0x46;                               /* 24-byte header */
	memset(f + ETH + IP4, 1, 4);                 /* four NOP options */
	ip->hdr_checksum = 0;
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	return owner_of(f, ETH + IP4 + 4 + n, queues);
}

static void test_ip_options(void)
{
	struct dpw_rss r;
	unsigned agree = 0, agree_rss = 0;

	for (uint16_t i = 0; i < 64; i++) {
		uint16_t sport = (uint16_t)(40000 + 7 * i), dport = i % 2 ? 7 : (uint16_t)(0xc000 + i);

		agree += owner4_with_options(sport, dport, 4) == owner4(IPPROTO_TCP, sport, dport, 4);
	}
	dpw_rss_emulate(&r, 4);
	rss = &r;
	for (uint16_t i = 0; i < 64; i++) {
		uint16_t sport = (uint16_t)(40000 + 7 * i), dport = i % 2 ? 7 : (uint16_t)(0xc000 + i);

		agree_rss += owner4_with_options(sport, dport, 4) ==
			     owner4(IPPROTO_TCP, sport, dport, 4);
	}
	rss = NULL;
	CHECK_EQ_U(agree, 64);
	CHECK_EQ_U(agree_rss, 64);
}

static void test_arp_and_nd(void)
{
	uint8_t f[128] = { 0 };
	uint32_t n = eth(f, RTE_ETHER_TYPE_ARP);

	put16(f + n, 1), put16(f + n + 2, 0x0800), f[n + 4] = 6, f[n + 5] = 4;
	put16(f + n + 6, 2);   /* reply */
	CHECK_EQ_U(owner_of(f, n + 28, 2), DPW_STEER_ALL);
	put16(f + n + 6, 1);   /* request */
	CHECK_EQ_U(owner_of(f, n + 28, 2), 0);

	n = eth(f, RTE_ETHER_TYPE_IPV6);
	ip6(f + n, IPPROTO_ICMPV6, remote6, local6, 24);
	memset(f + n + IP6, 0, 24);
	f[n + IP6] = 136;   /* neighbour advertisement */
	CHECK_EQ_U(owner_of(f, n + IP6 + 24, 2), DPW_STEER_ALL);
	f[n + IP6] = 128;   /* echo request */
	CHECK_EQ_U(owner_of(f, n + IP6 + 24, 2), 0);
}

/* An ICMP error from a router (remote4 stands in) quoting a packet this side sent from
 * local_port to remote_port. */
static uint16_t icmp4_error_owner(uint8_t type, uint16_t local_port, uint16_t remote_port)
{
	uint8_t f[160];
	uint32_t n = eth(f, RTE_ETHER_TYPE_IPV4);
	uint8_t *icmp = f + n + IP4;

	memset(icmp, 0, 8);
	icmp[0] = type;
	icmp[1] = type == 3 ? 4 : 0;   /* fragmentation needed */
	ip4(icmp + 8, IPPROTO_TCP, local4, remote4, 20, 0);
	l4(icmp + 8 + IP4, IPPROTO_TCP, local_port, remote_port, 0);
	ip4(f + n, IPPROTO_ICMP, 0xc6120063, local4, 8 + IP4 + 8, 0);
	return owner_of(f, n + IP4 + 8 + IP4 + 8, 2);
}

static uint16_t icmp6_error_owner(uint8_t type, uint16_t local_port, uint16_t remote_port)
{
	uint8_t f[200];
	uint32_t n = eth(f, RTE_ETHER_TYPE_IPV6);
	uint8_t *icmp = f + n + IP6;

	memset(icmp, 0, 8);
	icmp[0] = type;
	ip6(icmp + 8, IPPROTO_TCP, local6, remote6, 20);
	l4(icmp + 8 + IP6, IPPROTO_TCP, local_port, remote_port, 0);
	ip6(f + n, IPPROTO_ICMPV6, remote6, local6, 8 + IP6 + 20);
	return owner_of(f, n + IP6 + 8 + IP6 + 20, 2);
}

static void test_icmp_errors(void)
{
	unsigned agree = 0, agree6 = 0;

	/* Of a connection from an ephemeral port: that port's queue. */
	CHECK_EQ_U(icmp4_error_owner(3, 0xc005, 80), 1);
	CHECK_EQ_U(icmp4_error_owner(11, 0xc004, 80), 0);
	CHECK_EQ_U(icmp6_error_owner(2, 0xc005, 80), 1);   /* packet too big */
	CHECK_EQ_U(icmp6_error_owner(1, 0xc004, 80), 0);
	/* Of an accepted connection: the queue its client's frames go to. */
	for (uint16_t i = 0; i < 32; i++) {
		agree += icmp4_error_owner(3, 7, (uint16_t)(40000 + i)) ==
			 owner4(IPPROTO_TCP, (uint16_t)(40000 + i), 7, 2);
		agree6 += icmp6_error_owner(2, 7, (uint16_t)(40000 + i)) ==
			  owner6(IPPROTO_TCP, (uint16_t)(40000 + i), 7, 2);
	}
	CHECK_EQ_U(agree, 32);
	CHECK_EQ_U(agree6, 32);
	/* Not an error: queue 0. */
	CHECK_EQ_U(icmp4_error_owner(8, 0xc005, 80), 0);
	CHECK_EQ_U(icmp6_error_owner(128, 0xc005, 80), 0);
}

/* Fixed ports pinned to an engine (step 5a): every frame to a pinned TCP port goes to its
 * queue, whatever the remote, an ICMP error quoting such a connection too; the same port over
 * UDP, other ports and ephemeral ports keep their rules; unpinned, the port spreads again. */
static void test_pinned_ports(void)
{
	struct dpw_steer_pins *table = calloc(1, sizeof(*table));
	unsigned to1 = 0, to1_6 = 0, icmp1 = 0, udp[2] = { 0, 0 }, other[2] = { 0, 0 };
	unsigned back[2] = { 0, 0 };

	CHECK(table != NULL);
	if (table == NULL)
		return;
	pins = table;
	atomic_store(&table->owner[0][7], 2);   /* TCP port 7: queue 1 */
	for (uint16_t i = 0; i < 64; i++) {
		uint16_t sport = (uint16_t)(40000 + i);

		to1 += owner4(IPPROTO_TCP, sport, 7, 2) == 1;
		to1_6 += owner6(IPPROTO_TCP, sport, 7, 2) == 1;
		icmp1 += icmp4_error_owner(3, 7, sport) == 1;
		udp[owner4(IPPROTO_UDP, sport, 7, 2) & 1]++;
		other[owner4(IPPROTO_TCP, sport, 8, 2) & 1]++;
	}
	CHECK_EQ_U(to1, 64);
	CHECK_EQ_U(to1_6, 64);
	CHECK_EQ_U(icmp1, 64);
	CHECK(udp[0] > 8 && udp[1] > 8);       /* UDP 7 is another port: still spread */
	CHECK(other[0] > 8 && other[1] > 8);   /* TCP 8: still spread */
	CHECK_EQ_U(owner4(IPPROTO_TCP, 80, 0xc006, 2), 0);   /* ephemeral: its own rule */
	/* A pin beyond the queue count (a table shared with more queues): ignored. */
	atomic_store(&table->owner[0][7], 3);
	for (uint16_t i = 0; i < 64; i++)
		back[owner4(IPPROTO_TCP, (uint16_t)(40000 + i), 7, 2) & 1]++;
	CHECK(back[0] > 8 && back[1] > 8);
	/* Unpinned: spread again. */
	atomic_store(&table->owner[0][7], 0);
	back[0] = back[1] = 0;
	for (uint16_t i = 0; i < 64; i++)
		back[owner4(IPPROTO_TCP, (uint16_t)(40000 + i), 7, 2) & 1]++;
	CHECK(back[0] > 8 && back[1] > 8);
	pins = NULL;
	free(table);
}

static bool same_bytes(const struct rte_mbuf *m, const uint8_t *want, uint32_t len)
{
	uint8_t got[2048];
	const void *p;

	if (rte_pktmbuf_pkt_len(m) != len || len > sizeof(got))
		return false;
	p = rte_pktmbuf_read(m, 0, len, got);
	return p != NULL && memcmp(p, want, len) == 0;
}

/* A UDP datagram from remote port 40003 to local port 7 with 1200 bytes of data, whole (f)
 * and in three fragments of 512, 512 and 184 bytes of IP payload (frag[]), IPv4 or IPv6. */
struct cut {
	uint8_t whole[1400], frag[3][700];
	uint32_t whole_len, frag_len[3];
};

static void cut_datagram(struct cut *c, bool v6)
{
	uint32_t l3 = v6 ? IP6 : IP4, payload, off = 0;
	uint8_t *p = c->whole + ETH + l3;

	payload = l4(p, IPPROTO_UDP, 40003, 7, 1200);
	eth(c->whole, v6 ? RTE_ETHER_TYPE_IPV6 : RTE_ETHER_TYPE_IPV4);
	if (v6)
		ip6(c->whole + ETH, IPPROTO_UDP, remote6, local6, (uint16_t)payload);
	else
		ip4(c->whole + ETH, IPPROTO_UDP, remote4, local4, (uint16_t)payload, 0);
	c->whole_len = ETH + l3 + payload;
	for (int i = 0; i < 3; i++, off += 512) {
		uint32_t len = payload - off < 512 ? payload - off : 512;
		uint8_t *f = c->frag[i];
		bool more = off + len < payload;

		eth(f, v6 ? RTE_ETHER_TYPE_IPV6 : RTE_ETHER_TYPE_IPV4);
		if (v6) {
			ip6(f + ETH, IPPROTO_FRAGMENT, remote6, local6, (uint16_t)(FRAG6 + len));
			memset(f + ETH + IP6, 0, FRAG6);
			f[ETH + IP6] = IPPROTO_UDP;
			put16(f + ETH + IP6 + 2, (uint16_t)(off | (more ? 1 : 0)));
			put32(f + ETH + IP6 + 4, 0xabcd);
			memcpy(f + ETH + IP6 + FRAG6, p + off, len);
			c->frag_len[i] = ETH + IP6 + FRAG6 + len;
		} else {
			ip4(f + ETH, IPPROTO_UDP, remote4, local4, (uint16_t)len,
			    (uint16_t)(off / 8 | (more ? RTE_IPV4_HDR_MF_FLAG : 0)));
			memcpy(f + ETH + IP4, p + off, len);
			c->frag_len[i] = ETH + IP4 + len;
		}
	}
}

/* Microsoft's RSS verification suite: TCP flows and the hash its key gives each (the
 * frame's source first). */
static const struct {
	bool v6;
	const char *src, *dst;
	uint16_t sport, dport;
	uint32_t hash;
} vectors[] = {
	{ false, "66.9.149.187", "161.142.100.80", 2794, 1766, 0x51ccc178 },
	{ false, "199.92.111.2", "65.69.140.83", 14230, 4739, 0xc626b0ea },
	{ false, "24.19.198.95", "12.22.207.184", 12898, 38024, 0x5c2b394a },
	{ false, "38.27.205.30", "209.142.163.6", 48228, 2217, 0xafc7327f },
	{ false, "153.39.163.191", "202.188.127.2", 44251, 1303, 0x10e828a2 },
	{ true, "3ffe:2501:200:1fff::7", "3ffe:2501:200:3::1", 2794, 1766, 0x40207d3d },
	{ true, "3ffe:501:8::260:97ff:fe40:efab", "ff02::1", 14230, 4739, 0xdde51bbf },
	{ true, "3ffe:1900:4545:3:200:f8ff:fe21:67cf", "fe80::200:f8ff:fe21:67cf", 44251, 38024,
	  0x02d1feef },
};

/* The owner of a TCP segment from src:sport to dst:dport (addresses in network order). */
static uint16_t tcp_owner(bool v6, const void *src, const void *dst, uint16_t sport,
			  uint16_t dport, uint16_t queues)
{
	uint8_t f[128];
	uint32_t l3 = v6 ? IP6 : IP4, s4, d4;
	uint16_t n = l4(f + ETH + l3, IPPROTO_TCP, sport, dport, 0);

	eth(f, v6 ? RTE_ETHER_TYPE_IPV6 : RTE_ETHER_TYPE_IPV4);
	if (v6) {
		ip6(f + ETH, IPPROTO_TCP, src, dst, n);
	} else {
		memcpy(&s4, src, 4), memcpy(&d4, dst, 4);
		ip4(f + ETH, IPPROTO_TCP, ntohl(s4), ntohl(d4), n, 0);
	}
	return owner_of(f, ETH + l3 + n, queues);
}

static void test_rss_vectors(void)
{
	struct dpw_rss r;
	unsigned right = 0, steered = 0, linear = 0;

	dpw_rss_emulate(&r, 3);   /* the suite's key, a RETA of 128 over 3 queues */
	rss = &r;
	for (size_t i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
		uint8_t src[16], dst[16];
		int af = vectors[i].v6 ? AF_INET6 : AF_INET;
		uint32_t h, h0;

		CHECK(inet_pton(af, vectors[i].src, src) == 1 && inet_pton(af, vectors[i].dst, dst) == 1);
		h = dpw_rss_hash(&r, vectors[i].v6, src, dst, vectors[i].sport, vectors[i].dport);
		h0 = dpw_rss_hash(&r, vectors[i].v6, src, dst, vectors[i].sport, 0);
		linear += dpw_rss_hash_dst_port(&r, vectors[i].v6, h0, vectors[i].dport) ==
			  vectors[i].hash;
		if (h == vectors[i].hash)
			right++;
		else
			fprintf(stderr, "test_steer: vector %zu: hash 0x%08x, published 0x%08x\n", i,
				h, vectors[i].hash);
		/* The emulated RETA: entry i is queue i mod 3; the NIC indexes it by the low bits. */
		steered += tcp_owner(vectors[i].v6, src, dst, vectors[i].sport, vectors[i].dport,
				     3) == (vectors[i].hash & 127) % 3;
	}
	CHECK_EQ_U(right, sizeof(vectors) / sizeof(vectors[0]));
	CHECK_EQ_U(linear, sizeof(vectors) / sizeof(vectors[0]));
	CHECK_EQ_U(steered, sizeof(vectors) / sizeof(vectors[0]));
	rss = NULL;
}

static void test_rss_rules(void)
{
	struct dpw_rss r;
	struct dpw_steer_pins *table = calloc(1, sizeof(*table));
	unsigned per[2] = { 0, 0 }, agree = 0, icmp = 0, udp_same = 0, pinned = 0;
	const uint32_t rem = htonl(remote4), loc = htonl(local4);

	CHECK(table != NULL);
	if (table == NULL)
		return;
	dpw_rss_emulate(&r, 2);
	rss = &r;
	for (uint16_t i = 0; i < 64; i++) {
		uint16_t port = (uint16_t)(0xc000 + 3 * i);   /* connect slice */
		uint16_t o = owner4(IPPROTO_TCP, 80, port, 2);

		per[o & 1]++;
		agree += o == dpw_rss_queue(&r, false, &rem, &loc, 80, port);
		icmp += icmp4_error_owner(3, port, 80) == o;
		rss = NULL;
		o = owner4(IPPROTO_UDP, (uint16_t)(40000 + i), 53, 2);
		rss = &r;
		udp_same += owner4(IPPROTO_UDP, (uint16_t)(40000 + i), 53, 2) == o;
	}
	CHECK_EQ_U(agree, 64);
	CHECK_EQ_U(icmp, 64);
	CHECK_EQ_U(udp_same, 64);   /* UDP: the stack's rules, hash or not */
	CHECK(per[0] > 8 && per[1] > 8);
	/* Binds take their ports from DPW_EPHEMERAL_BIND_FIRST: the port rule, for TCP too. */
	CHECK_EQ_U(owner4(IPPROTO_TCP, 80, 0xe001, 2), 1);
	CHECK_EQ_U(owner6(IPPROTO_TCP, 80, 0xe002, 2), 0);
	CHECK_EQ_U(owner4(IPPROTO_UDP, 80, 0xc005, 2), 1);
	/* A pinned port: its queue, whatever the hash. */
	pins = table;
	atomic_store(&table->owner[0][7], 2);
	for (uint16_t i = 0; i < 32; i++)
		pinned += owner4(IPPROTO_TCP, (uint16_t)(40000 + i), 7, 2) == 1;
	CHECK_EQ_U(pinned, 32);
	pins = NULL;
	rss = NULL;
	free(table);
}

/* A device that hashes TCP gives each frame its hash: steering takes that one, not its own
 * (the same Toeplitz hash of the same fields, without computing it). Not for the flow an
 * ICMP error quotes, nor where the key and RETA are not the device's (toeplitz). */
static void test_device_hash(void)
{
	struct dpw_rss r;
	unsigned followed = 0, quoted = 0, computed = 0, udp = 0;
	const uint32_t rem = htonl(remote4), loc = htonl(local4);

	dpw_rss_emulate(&r, 2);   /* RETA: entry i is queue i % 2 */
	rss = &r;
	for (uint16_t i = 0; i < 64; i++) {
		uint16_t port = (uint16_t)(0xc000 + 3 * i);
		uint16_t want = dpw_rss_queue(&r, false, &rem, &loc, 80, port);
		uint32_t other = 1u - want;   /* a hash whose RETA entry is the other queue */
		uint16_t udp_owner;

		r.device = false;
		udp_owner = owner4(IPPROTO_UDP, 80, (uint16_t)(40000 + i), 2);
		device_hash = &other;
		r.device = true;
		followed += owner4(IPPROTO_TCP, 80, port, 2) == other;
		quoted += icmp4_error_owner(3, port, 80) == want;
		udp += owner4(IPPROTO_UDP, 80, (uint16_t)(40000 + i), 2) == udp_owner;
		r.device = false;
		computed += owner4(IPPROTO_TCP, 80, port, 2) == want;
		device_hash = NULL;
	}
	CHECK_EQ_U(followed, 64);
	CHECK_EQ_U(quoted, 64);
	CHECK_EQ_U(udp, 64);
	CHECK_EQ_U(computed, 64);
	rss = NULL;
}

/* With the hook set for queue of queues, the ephemeral ports it accepts: how many, and how
 * many of those the steering rule would send elsewhere. */
static void hook_ports(uint16_t queue, uint16_t queues, bool v6, const void *remote,
		       const void *local, unsigned *ok, unsigned *elsewhere)
{
	*ok = *elsewhere = 0;
	for (uint32_t port = DPW_EPHEMERAL_FIRST; port <= 0xffff; port++) {
		if (!dpw_local_port_ok((uint16_t)port))
			continue;
		(*ok)++;
		*elsewhere += tcp_owner(v6, remote, local, 443, (uint16_t)port, queues) != queue;
	}
}

static void test_rss_port_pick(void)
{
	struct dpw_rss r;
	const uint32_t rem = htonl(remote4), loc = htonl(local4);
	unsigned ok, elsewhere;

	dpw_rss_emulate(&r, 4);
	rss = &r;
	for (uint16_t q = 0; q < 4; q++) {
		dpw_steer_set_queue(q, 4, &r);
		/* A connect to remote:443: ports of the connect slice that hash here. */
		dpw_steer_connect_begin(false, &loc, &rem, 443);
		hook_ports(q, 4, false, &rem, &loc, &ok, &elsewhere);
		dpw_steer_connect_end();
		CHECK_EQ_U(elsewhere, 0);
		CHECK(ok > 1800 && ok < 2300);   /* 8192 ports, a quarter of them */
		dpw_steer_connect_begin(true, local6, remote6, 443);
		hook_ports(q, 4, true, remote6, local6, &ok, &elsewhere);
		dpw_steer_connect_end();
		CHECK_EQ_U(elsewhere, 0);
		CHECK(ok > 1800 && ok < 2300);
		/* A connect that found every such port taken falls back, once, to the port
		 * rule, whose ports all steer here too. */
		dpw_steer_connect_begin(false, &loc, &rem, 443);
		CHECK(dpw_steer_connect_fallback());
		CHECK(!dpw_steer_connect_fallback());
		hook_ports(q, 4, false, &rem, &loc, &ok, &elsewhere);
		dpw_steer_connect_end();
		CHECK_EQ_U(ok, 8192 / 4);
		CHECK_EQ_U(elsewhere, 0);
		/* Any other pick: the bind slice's ports of this queue, exactly. */
		hook_ports(q, 4, false, &rem, &loc, &ok, &elsewhere);
		CHECK_EQ_U(ok, 8192 / 4);
		CHECK_EQ_U(elsewhere, 0);
	}
	/* Steered by the stack's rules, a connect picks as any other pick: its quarter of all. */
	rss = NULL;
	dpw_steer_set_queue(1, 4, NULL);
	dpw_steer_connect_begin(false, &loc, &rem, 443);
	hook_ports(1, 4, false, &rem, &loc, &ok, &elsewhere);
	dpw_steer_connect_end();
	CHECK_EQ_U(ok, 16384 / 4);
	CHECK_EQ_U(elsewhere, 0);
	dpw_steer_set_queue(0, 1, NULL);
}

/* One round of lwIP's search (tcp_new_port, lwip-0022) from after start: the distinct ports
 * the next hook gives before it comes back to one (tried), those the port hook takes (taken),
 * and the ports the port hook would take that the round never tried (missed). */
static void search_round(uint16_t start, unsigned *tried, unsigned *taken, unsigned *missed)
{
	static bool seen[65536];
	uint16_t p = start;

	memset(seen, 0, sizeof(seen));
	*tried = *taken = *missed = 0;
	for (unsigned n = 0; n <= DPW_EPHEMERAL_END - DPW_EPHEMERAL_FIRST; n++) {
		p = (uint16_t)dpw_local_port_next(p);
		if (p < DPW_EPHEMERAL_FIRST || p >= DPW_EPHEMERAL_END) {
			*missed = 65536;   /* out of lwIP's range: wrong whatever else */
			return;
		}
		if (seen[p])
			break;
		seen[p] = true;
		(*tried)++;
		*taken += dpw_local_port_ok(p) != 0;
	}
	for (uint32_t port = DPW_EPHEMERAL_FIRST; port < DPW_EPHEMERAL_END; port++)
		*missed += !seen[port] && dpw_local_port_ok((uint16_t)port);
}

static void test_port_next(void)
{
	struct dpw_rss r;
	const uint32_t rem = htonl(remote4), loc = htonl(local4);
	const uint16_t starts[] = { 0, DPW_EPHEMERAL_FIRST, 0xd001, 0xdfff, 0xe000, 0xfffe };
	unsigned tried, taken, missed;

	/* One engine: lwIP's own order, every port of the range. */
	dpw_steer_set_queue(0, 1, NULL);
	search_round(DPW_EPHEMERAL_FIRST, &tried, &taken, &missed);
	CHECK_EQ_U(tried, DPW_EPHEMERAL_END - DPW_EPHEMERAL_FIRST);
	CHECK_EQ_U(taken, tried);
	CHECK_EQ_U(missed, 0);
	dpw_rss_emulate(&r, 4);
	for (uint16_t q = 0; q < 4; q++)
		for (size_t i = 0; i < sizeof(starts) / sizeof(starts[0]); i++) {
			/* The port rule: exactly this engine's ports, from anywhere. */
			dpw_steer_set_queue(q, 4, NULL);
			search_round(starts[i], &tried, &taken, &missed);
			CHECK_EQ_U(missed, 0);
			CHECK_EQ_U(taken, tried);
			CHECK(tried >= 4095 && tried <= 4096);   /* 16,383 ports: a quarter */
			/* Under a hash, any pick but a connect's: the bind slice's quarter. */
			dpw_steer_set_queue(q, 4, &r);
			search_round(starts[i], &tried, &taken, &missed);
			CHECK_EQ_U(missed, 0);
			CHECK_EQ_U(taken, tried);
			CHECK(tried >= 2047 && tried <= 2048);
			/* A connect by hash: the connect slice, where the hash decides. */
			dpw_steer_connect_begin(false, &loc, &rem, 443);
			search_round(starts[i], &tried, &taken, &missed);
			CHECK_EQ_U(missed, 0);
			CHECK_EQ_U(tried, DPW_EPHEMERAL_BIND_FIRST - DPW_EPHEMERAL_FIRST);
			CHECK(taken > 1800 && taken < 2300);
			/* ...which, fallen back, takes the port rule's. */
			CHECK(dpw_steer_connect_fallback());
			search_round(starts[i], &tried, &taken, &missed);
			CHECK_EQ_U(missed, 0);
			CHECK_EQ_U(taken, tried);
			dpw_steer_connect_end();
		}
	dpw_steer_set_queue(0, 1, NULL);
}

/* The edges of fragment classing: a last IPv4 fragment of one byte is a fragment too (not
 * "too short for ports"); an IPv6 atomic fragment (offset 0, no more) is a whole packet,
 * steered by the ports behind its fragment header. */
static void test_fragment_edges(void)
{
	uint8_t f[160], g[160];
	uint32_t n = eth(f, RTE_ETHER_TYPE_IPV4);
	uint16_t plain;

	ip4(f + n, IPPROTO_UDP, remote4, local4, 1, 1480 / 8);   /* offset 1480, last */
	f[n + IP4] = 0x42;
	CHECK_EQ_U(owner_of(f, n + IP4 + 1, 2), DPW_STEER_FRAGMENT);

	n = eth(g, RTE_ETHER_TYPE_IPV6);
	plain = l4(g + n + IP6, IPPROTO_UDP, 40011, 7, 4);
	ip6(g + n, IPPROTO_UDP, remote6, local6, plain);
	n = eth(f, RTE_ETHER_TYPE_IPV6);
	ip6(f + n, IPPROTO_FRAGMENT, remote6, local6, (uint16_t)(FRAG6 + plain));
	memset(f + n + IP6, 0, FRAG6);
	f[n + IP6] = IPPROTO_UDP;
	put32(f + n + IP6 + 4, 0x77);
	memcpy(f + n + IP6 + FRAG6, g + n + IP6, plain);
	for (uint16_t q = 2; q <= 4; q++)
		CHECK_EQ_U(owner_of(f, n + IP6 + FRAG6 + plain, q), owner_of(g, n + IP6 + plain, q));
	put16(f + n + IP6 + 2, 1);   /* M set: a real first fragment */
	CHECK_EQ_U(owner_of(f, n + IP6 + FRAG6 + plain, 2), DPW_STEER_FRAGMENT);
}

/* A fragment whose IPv4 header checksum is wrong is dropped, not gathered (lwIP checks it
 * before its own reassembly; the whole datagram gets a fresh checksum). */
static void test_gather_bad_checksum(void)
{
	static struct cut c;
	struct dpw_reassembly *r = dpw_reassembly_create(SOCKET_ID_ANY);
	struct rte_mbuf *got = NULL;

	CHECK(r != NULL);
	if (r == NULL)
		return;
	cut_datagram(&c, false);
	c.frag[1][ETH + 10] ^= 0x5a;   /* the middle one's header checksum */
	for (int i = 0; i < 3; i++) {
		got = dpw_reassembly_add(r, mbuf_of(c.frag[i], c.frag_len[i]));
		CHECK(got == NULL);
	}
	CHECK_EQ_U(rte_mempool_in_use_count(pool), 2);   /* the two good ones, held */
	rte_pktmbuf_free(got);
	dpw_reassembly_destroy(r);
	CHECK_EQ_U(rte_mempool_in_use_count(pool), 0);
}

static void test_gather(bool v6)
{
	static struct cut c;
	struct dpw_reassembly *r = dpw_reassembly_create(SOCKET_ID_ANY);
	struct rte_mbuf *got[3];
	unsigned classed = 0;

	CHECK(r != NULL);
	if (r == NULL)
		return;
	cut_datagram(&c, v6);
	/* Last first, as a reordering path may deliver them. */
	for (int i = 2; i >= 0; i--) {
		struct rte_mbuf *m = mbuf_of(c.frag[i], c.frag_len[i]);

		classed += dpw_steer_owner(m, 2, NULL, NULL) == DPW_STEER_FRAGMENT;
		got[i] = dpw_reassembly_add(r, m);
	}
	CHECK_EQ_U(classed, 3);
	CHECK(got[2] == NULL && got[1] == NULL && got[0] != NULL);
	if (got[0] != NULL) {
		CHECK(same_bytes(got[0], c.whole, c.whole_len));
		CHECK_EQ_U(dpw_steer_owner(got[0], 2, NULL, NULL), owner_of(c.whole, c.whole_len, 2));
		CHECK(dpw_steer_owner(got[0], 2, NULL, NULL) < 2);
		rte_pktmbuf_free(got[0]);
	}

	/* Two of three fragments, never the third: held, then given back with the table. */
	for (int i = 0; i < 2; i++)
		CHECK(dpw_reassembly_add(r, mbuf_of(c.frag[i], c.frag_len[i])) == NULL);
	CHECK_EQ_U(rte_mempool_in_use_count(pool), 2);
	dpw_reassembly_destroy(r);
	CHECK_EQ_U(rte_mempool_in_use_count(pool), 0);
	printf("test_steer: an %s datagram in 3 fragments, last first, gathered whole\n",
	       v6 ? "IPv6" : "IPv4");
}

int main(int argc, char **argv)
{
	char prefix[64], err[DPW_ERRLEN];
	char *eal[] = { argv[0], "--no-huge", "--no-pci", "--no-shconf", "-m", "256",
			"--no-telemetry", "--log-level=*:warning", "-l", "0", prefix, NULL };

	(void)argc;
	snprintf(prefix, sizeof(prefix), "--file-prefix=dpwsk-steer-%d", (int)getpid());
	if (dpw_eal_init(11, eal, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s: %s\n", argv[0], err);
		return 1;
	}
	pool = rte_pktmbuf_pool_create("steer_test", 1023, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
				       SOCKET_ID_ANY);
	if (pool == NULL) {
		fprintf(stderr, "%s: no mbuf pool\n", argv[0]);
		return 1;
	}
	test_spread_and_ports();
	test_ip_options();
	test_arp_and_nd();
	test_icmp_errors();
	test_pinned_ports();
	test_rss_vectors();
	test_rss_rules();
	test_device_hash();
	test_rss_port_pick();
	test_port_next();
	test_fragment_edges();
	test_gather(false);
	test_gather(true);
	test_gather_bad_checksum();
	CHECK_EQ_U(rte_mempool_in_use_count(pool), 0);
	rte_mempool_free(pool);
	dpw_eal_cleanup();
	return check_report("steer");
}
