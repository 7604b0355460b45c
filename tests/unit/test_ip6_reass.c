/* Regression test for lwip-0006 (upstream 56b29f8b): a datagram whose reassembly entry was
 * made but whose first fragment was then dropped for want of room holds no pbuf; freeing
 * it (for a newer datagram when the pool is empty, or when it expires) read ipr->p->payload
 * through NULL in lwIP 2.1.3: a remote crash (SIGSEGV) with two kinds of frames.
 *
 * The empty entry: an IPv6 fragment in a chain of more pbufs than IP_REASS_MAX_PBUFS (one
 * per mbuf segment; an embedding application or a scattering NIC hands such chains in)
 * gets an entry, and is then dropped by the pbuf limit. The entry's release: first
 * fragments of more datagrams until the entry pool is empty, so lwIP frees the oldest
 * entry, the empty one. Afterwards reassembly still works (a fragmented echo request is
 * answered) and, once the engine is shut down, every mbuf is back. */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include <rte_mbuf.h>

#include "check.h"
#include "dpw/engine.h"
#include "engine_fixture.h"
#include "frames.h"
#include "reass6_probe.h"

#define MAX_OUT 256
#define ECHO_ID 0x4444
#define ECHO_SEQ 7

static struct rte_mbuf *out[MAX_OUT];
static uint8_t stack_ip[16], peer_ip[16];

/* Ethernet and IPv6 headers into b (54 bytes): peer -> stack, next header nh. */
static void ip6_head(uint8_t *b, uint8_t nh, uint16_t plen, uint8_t hops)
{
	memcpy(b, peer.dst_mac, 6);
	memcpy(b + 6, peer.src_mac, 6);
	b[12] = 0x86, b[13] = 0xdd;
	memset(b + 14, 0, 40);
	b[14] = 0x60;
	b[18] = (uint8_t)(plen >> 8), b[19] = (uint8_t)plen;
	b[20] = nh, b[21] = hops;
	memcpy(b + 22, peer_ip, 16);
	memcpy(b + 38, stack_ip, 16);
}

/* An 8-byte fragment header: offset in bytes, more fragments or not. */
static void frag_head(uint8_t *b, uint8_t nh, uint16_t offset, int more, uint32_t id)
{
	uint16_t off = (uint16_t)(offset | (more ? 1 : 0));

	b[0] = nh, b[1] = 0;
	b[2] = (uint8_t)(off >> 8), b[3] = (uint8_t)off;
	b[4] = (uint8_t)(id >> 24), b[5] = (uint8_t)(id >> 16);
	b[6] = (uint8_t)(id >> 8), b[7] = (uint8_t)id;
}

/* The ICMPv6 checksum of msg (its checksum field zero) from peer to stack. */
static uint16_t icmp6_sum(const uint8_t *msg, uint32_t len)
{
	uint32_t sum = 0;

	for (int i = 0; i < 16; i += 2)
		sum += (uint32_t)(peer_ip[i] << 8 | peer_ip[i + 1]) +
		       (uint32_t)(stack_ip[i] << 8 | stack_ip[i + 1]);
	sum += len + 58;
	for (uint32_t i = 0; i < len; i += 2)
		sum += (uint32_t)msg[i] << 8 | (i + 1 < len ? msg[i + 1] : 0);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static void set_sum(uint8_t *msg, uint32_t len)
{
	uint16_t s;

	msg[2] = msg[3] = 0;
	s = icmp6_sum(msg, len);
	msg[2] = (uint8_t)(s >> 8), msg[3] = (uint8_t)s;
}

/* A Neighbor Solicitation for the stack's address with the peer's MAC: the stack answers
 * and knows the peer from then on, as ARP does for IPv4. */
static void solicit(void)
{
	uint8_t f[54 + 32];
	uint8_t *ns = f + 54;

	ip6_head(f, 58, 32, 255);
	memset(ns, 0, 32);
	ns[0] = 135;
	memcpy(ns + 8, stack_ip, 16);
	ns[24] = 1, ns[25] = 1;   /* source link-layer address option */
	memcpy(ns + 26, peer.src_mac, 6);
	set_sum(ns, 32);
	CHECK(fixture_inject(frame_raw(pool, f, sizeof(f))));
	free_all(out, run_and_collect(out, MAX_OUT));
}

/* One fragment of datagram id in one mbuf: bytes [offset, offset + len) of body. */
static void fragment(uint32_t id, uint8_t nh, uint16_t offset, int more, const uint8_t *body,
		     uint16_t len)
{
	uint8_t f[54 + 8 + 1280];

	ip6_head(f, 44, (uint16_t)(8 + len), 64);
	frag_head(f + 54, nh, offset, more, id);
	memcpy(f + 62, body + offset, len);
	CHECK(fixture_inject(frame_raw(pool, f, (uint16_t)(62 + len))));
}

/* A first fragment whose 264 data bytes come one per mbuf segment: a chain of 265 pbufs,
 * more than IP_REASS_MAX_PBUFS (256) allow. */
static struct rte_mbuf *long_chain_fragment(uint32_t id)
{
	enum { DATA = 264 };
	uint8_t head[62];
	struct rte_mbuf *m, *tail;

	ip6_head(head, 44, 8 + DATA, 64);
	frag_head(head + 54, 17, 0, 1, id);
	m = frame_raw(pool, head, sizeof(head));
	if (m == NULL)
		return NULL;
	tail = m;
	for (int i = 0; i < DATA; i++) {
		struct rte_mbuf *s = rte_pktmbuf_alloc(pool);
		char *p = s != NULL ? rte_pktmbuf_append(s, 1) : NULL;

		if (p == NULL) {
			rte_pktmbuf_free(s);
			rte_pktmbuf_free(m);
			return NULL;
		}
		*p = (char)i;
		tail->next = s;
		tail = s;
		m->nb_segs++;
		m->pkt_len++;
	}
	return m;
}

/* Whether m is the stack's echo reply to the request below, with its payload. */
static bool is_echo_reply(struct rte_mbuf *m, const uint8_t *req, uint16_t len)
{
	const uint8_t *b = rte_pktmbuf_mtod(m, const uint8_t *);

	if (m->nb_segs != 1 || m->data_len != 54 + len || b[12] != 0x86 || b[13] != 0xdd ||
	    b[20] != 58 || memcmp(b + 22, stack_ip, 16) != 0 || memcmp(b + 38, peer_ip, 16) != 0)
		return false;
	return b[54] == 129 && memcmp(b + 58, req + 4, (size_t)len - 4) == 0;
}

int main(int argc, char **argv)
{
	enum { ECHO_LEN = 8 + 120, MORE = 40 };
	struct reass6_counts c0, c1;
	struct dpw_engine_stats s;
	uint8_t echo[ECHO_LEN], small[16] = { 0 };
	struct rte_mbuf *chain;
	unsigned n, replies = 0;

	(void)argc;
	if (!fixture_start_ip6(argv[0], "2001:2::2/64"))
		return 1;
	inet_pton(AF_INET6, "2001:2::2", stack_ip);
	inet_pton(AF_INET6, "2001:2::1", peer_ip);
	solicit();

	/* The fragment in 265 pbufs: an entry is made, then the fragment is dropped. */
	reass6_counts(&c0);
	chain = long_chain_fragment(0x1000);
	CHECK(chain != NULL);
	CHECK(fixture_inject(chain));
	free_all(out, run_and_collect(out, MAX_OUT));
	reass6_counts(&c1);
	CHECK_EQ_U(c1.memerr, c0.memerr + 1);
	CHECK_EQ_U(c1.used, c0.used + 1);   /* the entry without a pbuf */

	/* First fragments of MORE other datagrams: the pool (c1.pool_size) fills, and each
	 * one after that frees the oldest entry, the empty one first. Unpatched, lwIP
	 * dereferences its NULL pbuf here (SIGSEGV). */
	for (uint32_t i = 0; i < MORE; i++)
		fragment(0x2000 + i, 17, 0, 1, small, 8);
	free_all(out, run_and_collect(out, MAX_OUT));
	reass6_counts(&c1);
	printf("test_ip6_reass: %u of %u reassembly entries in use, pool empty %" PRIu64
	       " times\n", c1.used, c1.pool_size, c1.pool_err - c0.pool_err);
	CHECK(MORE > c1.pool_size);
	CHECK_EQ_U(c1.used, c1.pool_size);
	CHECK(c1.pool_err > c0.pool_err);
	CHECK_EQ_U(c1.memerr, c0.memerr + 1);   /* the newer datagrams all got in */

	/* Reassembly goes on: a 128-byte echo request in two fragments is answered. */
	memset(echo, 0, sizeof(echo));
	echo[0] = 128;
	echo[4] = ECHO_ID >> 8, echo[5] = ECHO_ID & 0xff;
	echo[6] = 0, echo[7] = ECHO_SEQ;
	for (int i = 8; i < ECHO_LEN; i++)
		echo[i] = (uint8_t)(i * 3);
	set_sum(echo, ECHO_LEN);
	fragment(0x3000, 58, 0, 1, echo, 64);
	fragment(0x3000, 58, 64, 0, echo, ECHO_LEN - 64);
	n = run_and_collect(out, MAX_OUT);
	for (unsigned k = 0; k < n; k++)
		replies += is_echo_reply(out[k], echo, ECHO_LEN);
	free_all(out, n);
	CHECK_EQ_U(replies, 1);

	dpw_engine_get_stats(engine, &s);
	CHECK_EQ_U(s.lwip_errors, 0);
	fixture_shutdown(NULL, 0);
	/* The partial datagrams' mbufs too (the engine ages reassembly out at shutdown). */
	dpw_engine_get_stats(engine, &s);
	CHECK_EQ_U(s.mbuf_in_use, 0);
	fixture_end();
	return check_report("test_ip6_reass");
}
