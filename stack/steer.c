/* Which engine owns a frame (steer.h). */
#include <string.h>

#include <rte_arp.h>
#include <rte_byteorder.h>
#include <rte_ether.h>
#include <rte_icmp.h>
#include <rte_ip.h>
#include <rte_hash_crc.h>
#include <rte_mbuf.h>
#include <rte_tcp.h>

#include "rss.h"
#include "steer.h"

#define ARP_OP_REPLY 2
#define ND_NEIGHBOR_ADVERT 136

/* Per thread (an engine's): lwIP's port hook runs on it. */
static __thread uint16_t my_queue, my_queues;
static __thread const struct dpw_rss *my_rss;

/* A TCP connect picking its port: on from dpw_steer_connect_begin to dpw_steer_connect_end. */
static __thread struct {
	bool on, v6, fallback;
	bool hashed;          /* flow_hash is known */
	const void *local;
	uint8_t remote[16];
	uint16_t remote_port;
	uint32_t flow_hash;   /* the flow's hash with local port 0 (rss.h: the port's part XORs in) */
} connecting;

void dpw_steer_set_queue(uint16_t queue, uint16_t queues, const struct dpw_rss *rss)
{
	my_queue = queue;
	my_queues = queues;
	my_rss = rss;
}

void dpw_steer_connect_begin(bool v6, const void *local, const void *remote,
			     uint16_t remote_port)
{
	connecting.on = true;
	connecting.fallback = false;
	connecting.hashed = false;
	connecting.v6 = v6;
	connecting.local = local;
	memcpy(connecting.remote, remote, v6 ? 16 : 4);
	connecting.remote_port = remote_port;
}

void dpw_steer_connect_end(void)
{
	connecting.on = false;
}

bool dpw_steer_connect_fallback(void)
{
	if (!connecting.on || connecting.fallback || my_queues <= 1 || my_rss == NULL)
		return false;
	connecting.fallback = true;
	return true;
}

static bool connect_by_hash(void)
{
	return my_queues > 1 && my_rss != NULL && connecting.on && !connecting.fallback;
}

int dpw_local_port_ok(uint16_t port)
{
	if (connect_by_hash()) {
		if (port < DPW_EPHEMERAL_FIRST || port >= DPW_EPHEMERAL_BIND_FIRST)
			return 0;
		/* One Toeplitz hash per connect, read when lwIP first asks (the local address
		 * is the pcb's by then); each candidate port then costs two lookups. */
		if (!connecting.hashed) {
			connecting.flow_hash = dpw_rss_hash(my_rss, connecting.v6, connecting.remote,
							    connecting.local, connecting.remote_port,
							    0);
			connecting.hashed = true;
		}
		return dpw_rss_queue_of_hash(my_rss, dpw_rss_hash_dst_port(my_rss, connecting.v6,
									   connecting.flow_hash,
									   port)) == my_queue;
	}
	return dpw_steer_port_ok(port, my_queue, my_queues, my_rss != NULL);
}

int dpw_local_port_next(uint16_t port)
{
	return dpw_steer_port_next(port, my_queue, my_queues, my_rss != NULL, connect_by_hash());
}

/* What every frame's owner is decided from: the queue count, the pinned ports, the port's
 * hash. */
struct steer_ctx {
	uint16_t queues;
	const struct dpw_steer_pins *pins;
	const struct dpw_rss *rss;
	const struct rte_mbuf *m;   /* the frame, for the hash a device put in it */
};

/* A flow seen from this side: frames in come from remote (remote_port) to local (local_port);
 * the addresses are 4 or 16 bytes, in network order, where the frame has them. */
struct flow {
	bool udp, v6;
	const void *remote, *local;
	uint16_t remote_port, local_port;
};

/* The owner of a flow. A local port in the ephemeral range decides alone, as does a pinned
 * one, but for TCP steered by the port's hash; otherwise the remote address and port are
 * hashed (copied out first: in a frame the address sits 2 bytes off a word boundary, after
 * the 14-byte Ethernet header, and the hash reads whole words). Inlined, as by_ports is, so
 * that the short path for TCP over IPv4 (plain_tcp4) is compiled with its protocol and
 * version as constants. */
static inline __attribute__((always_inline)) uint16_t
flow_owner(const struct steer_ctx *c, const struct flow *f)
{
	uint16_t queues = c->queues;
	bool hashed = c->rss != NULL && !f->udp;
	uint32_t words[4];

	if (f->local_port >= DPW_EPHEMERAL_FIRST) {
		if (!hashed || f->local_port >= DPW_EPHEMERAL_BIND_FIRST)
			return f->local_port % queues;
	} else if (c->pins != NULL) {
		uint16_t pinned = atomic_load_explicit(&c->pins->owner[f->udp][f->local_port],
						       memory_order_relaxed);

		if (pinned != 0 && pinned <= queues)   /* DPW_STEER_PIN_SPREAD: by hash */
			return pinned - 1;
	}
	/* The device's own hash when it gave one: the same Toeplitz hash of the same fields
	 * (it hashes TCP flows, dpw_rss_port_read checked), without 20-45 ns of rte_softrss. */
	if (hashed && c->rss->device && c->m != NULL &&
	    (c->m->ol_flags & RTE_MBUF_F_RX_RSS_HASH))
		return dpw_rss_queue_of_hash(c->rss, c->m->hash.rss);
	if (hashed)
		return dpw_rss_queue(c->rss, f->v6, f->remote, f->local, f->remote_port,
				     f->local_port);
	/* A CRC32-C of what varies, the remote's address and port: one instruction per 8 bytes
	 * where the CPU has SSE4.2 (DPDK picks it at start). Counted by dpwsk-pathlen for a
	 * raw server at 2 engines, steering per connection: a jhash of the address, then of
	 * the port, 705 instructions; one two-word jhash round, 514; this, 435. A CRC is
	 * linear: between 2 engines, of the port's bits only 0, 2, 5, 10, 11 and 13 decide,
	 * so remotes whose ports differ in no other bit would share an engine; consecutive,
	 * even, odd and random ports all split evenly. */
	if (!f->v6) {
		memcpy(words, f->remote, 4);   /* fixed sizes: a load, not a call */
		return (uint16_t)(rte_hash_crc_8byte((uint64_t)words[0] << 16 | f->remote_port, 0) %
				  queues);
	}
	memcpy(words, f->remote, 16);
	return (uint16_t)(rte_hash_crc(words, 16, f->remote_port) % queues);
}

static uint16_t port_at(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* TCP and UDP put their ports in the same first four bytes; src and dst are the frame's
 * addresses. */
static inline __attribute__((always_inline)) uint16_t
by_ports(const struct steer_ctx *c, uint8_t proto, const uint8_t *l4, bool v6, const void *src,
	 const void *dst)
{
	const struct flow f = { .udp = proto == IPPROTO_UDP, .v6 = v6, .remote = src,
				.local = dst, .remote_port = port_at(l4),
				.local_port = port_at(l4 + 2) };

	return flow_owner(c, &f);
}

/* An ICMP error quotes the packet that caused it, one this side sent: its source address and
 * port are ours, its destination the remote's. */
static uint16_t by_quoted_ports(const struct steer_ctx *c, uint8_t proto, const uint8_t *l4,
				bool v6, const void *src, const void *dst)
{
	const struct flow f = { .udp = proto == IPPROTO_UDP, .v6 = v6, .remote = dst,
				.local = src, .remote_port = port_at(l4 + 2),
				.local_port = port_at(l4) };
	struct steer_ctx quoted = *c;

	quoted.m = NULL;   /* the device hashed the ICMP packet, not the flow it quotes */
	return flow_owner(&quoted, &f);
}

static bool is_tcp_or_udp(uint8_t proto)
{
	return proto == IPPROTO_TCP || proto == IPPROTO_UDP;
}

/* ICMP destination unreachable, source quench, time exceeded, parameter problem (RFC 792):
 * after their 8 bytes, the IPv4 header they quote and 8 bytes of what followed it. */
static uint16_t owner_icmp4_error(const struct steer_ctx *c, const uint8_t *icmp,
				  uint32_t avail)
{
	const struct rte_ipv4_hdr *in = (const struct rte_ipv4_hdr *)(icmp + 8);
	uint32_t ihl;

	if (avail < 8 + sizeof(*in))
		return 0;
	ihl = (uint32_t)(in->version_ihl & 0x0f) * 4;
	if (ihl < sizeof(*in) || avail < 8 + ihl + 4 || !is_tcp_or_udp(in->next_proto_id))
		return 0;
	/* A quoted fragment other than the first has no ports where they would be. */
	if ((in->fragment_offset & rte_cpu_to_be_16(RTE_IPV4_HDR_OFFSET_MASK)) != 0)
		return 0;
	return by_quoted_ports(c, in->next_proto_id, (const uint8_t *)in + ihl, false,
			       &in->src_addr, &in->dst_addr);
}

static uint16_t owner_ipv4(const struct steer_ctx *c, const struct rte_ipv4_hdr *ip,
			   uint32_t avail)
{
	uint32_t ihl;
	const uint8_t *l4;

	if (avail < sizeof(*ip))
		return 0;
	ihl = (uint32_t)(ip->version_ihl & 0x0f) * 4;
	l4 = (const uint8_t *)ip + ihl;
	if (ihl < sizeof(*ip) || avail < ihl)
		return 0;
	/* More to come, or an offset: a fragment (a last one may carry a single byte, so
	 * before the ports are looked for). */
	if ((ip->fragment_offset & rte_cpu_to_be_16(RTE_IPV4_HDR_MF_FLAG |
						     RTE_IPV4_HDR_OFFSET_MASK)) != 0)
		return DPW_STEER_FRAGMENT;
	if (avail < ihl + 4)
		return 0;
	if (ip->next_proto_id == IPPROTO_ICMP) {
		switch (l4[0]) {
		case 3: case 4: case 11: case 12:
			return owner_icmp4_error(c, l4, avail - ihl);
		default:
			return 0;
		}
	}
	if (!is_tcp_or_udp(ip->next_proto_id))
		return 0;
	return by_ports(c, ip->next_proto_id, l4, false, &ip->src_addr, &ip->dst_addr);
}

/* ICMPv6 destination unreachable, packet too big, time exceeded, parameter problem (RFC
 * 4443): after their 8 bytes, the IPv6 packet they quote. */
static uint16_t owner_icmp6_error(const struct steer_ctx *c, const uint8_t *icmp,
				  uint32_t avail)
{
	const struct rte_ipv6_hdr *in = (const struct rte_ipv6_hdr *)(icmp + 8);

	if (avail < 8 + sizeof(*in) + 4 || !is_tcp_or_udp(in->proto))
		return 0;
	return by_quoted_ports(c, in->proto, (const uint8_t *)(in + 1), true, in->src_addr,
			       in->dst_addr);
}

static uint16_t owner_ipv6(const struct steer_ctx *c, const struct rte_ipv6_hdr *ip,
			   uint32_t avail)
{
	const uint8_t *l4 = (const uint8_t *)(ip + 1);

	if (avail < sizeof(*ip) + 4)
		return 0;
	if (ip->proto == IPPROTO_FRAGMENT) {
		/* Its header: next header, reserved, offset (13 bits) and M, identification. */
		if (avail < sizeof(*ip) + 8)
			return 0;
		if ((((uint16_t)l4[2] << 8 | l4[3]) & 0xfff9) != 0)
			return DPW_STEER_FRAGMENT;
		/* An atomic fragment (offset 0, no more: RFC 6946) is a whole packet, which
		 * DPDK's table would hold for ever: by what follows its fragment header. */
		if (avail < sizeof(*ip) + 8 + 4 || !is_tcp_or_udp(l4[0]))
			return 0;
		{
			struct steer_ctx unhashed = *c;   /* hashed as a fragment by the device */

			unhashed.m = NULL;
			return by_ports(&unhashed, l4[0], l4 + 8, true, ip->src_addr,
					ip->dst_addr);
		}
	}
	if (ip->proto == IPPROTO_ICMPV6) {
		if (l4[0] == ND_NEIGHBOR_ADVERT)
			return DPW_STEER_ALL;
		return l4[0] >= 1 && l4[0] <= 4 ? owner_icmp6_error(c, l4, avail - sizeof(*ip)) : 0;
	}
	/* Other extension headers: queue 0 (and a fragment behind one is reassembled there). */
	if (!is_tcp_or_udp(ip->proto))
		return 0;
	return by_ports(c, ip->proto, l4, true, ip->src_addr, ip->dst_addr);
}

/* TCP over IPv4 with a 20-byte header, not a fragment: nearly every frame a connection
 * brings. Its owner is found with the protocol and version known where they are written
 * (by_ports and flow_owner are inlined), which halves the steering's instructions per frame;
 * owner_ipv4 decides every other frame, and would decide this one the same way. */
static bool plain_tcp4(const struct rte_ipv4_hdr *ip, uint32_t avail)
{
	return avail >= sizeof(*ip) + 4 && ip->version_ihl == RTE_IPV4_VHL_DEF &&
	       ip->next_proto_id == IPPROTO_TCP &&
	       (ip->fragment_offset & rte_cpu_to_be_16(RTE_IPV4_HDR_MF_FLAG |
						       RTE_IPV4_HDR_OFFSET_MASK)) == 0;
}

uint16_t dpw_steer_owner(const struct rte_mbuf *m, uint16_t queues,
			 const struct dpw_steer_pins *pins, const struct dpw_rss *rss)
{
	const struct steer_ctx c = { .queues = queues, .pins = pins, .rss = rss, .m = m };
	const struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, const struct rte_ether_hdr *);
	const struct rte_ipv4_hdr *ip4 = (const struct rte_ipv4_hdr *)(eth + 1);
	uint32_t len = rte_pktmbuf_data_len(m);   /* headers in the first segment, or queue 0 */

	if (queues <= 1 || len < sizeof(*eth))
		return 0;
	len -= sizeof(*eth);
	if (eth->ether_type == RTE_BE16(RTE_ETHER_TYPE_IPV4) && plain_tcp4(ip4, len))
		return by_ports(&c, IPPROTO_TCP, (const uint8_t *)(ip4 + 1), false, &ip4->src_addr,
				&ip4->dst_addr);
	/* Compared in network order: no swap on the way. */
	switch (eth->ether_type) {
	case RTE_BE16(RTE_ETHER_TYPE_ARP): {
		const struct rte_arp_hdr *arp = (const struct rte_arp_hdr *)(eth + 1);

		return len >= sizeof(*arp) && rte_be_to_cpu_16(arp->arp_opcode) == ARP_OP_REPLY
			       ? DPW_STEER_ALL : 0;
	}
	case RTE_BE16(RTE_ETHER_TYPE_IPV4):
		return owner_ipv4(&c, (const struct rte_ipv4_hdr *)(eth + 1), len);
	case RTE_BE16(RTE_ETHER_TYPE_IPV6):
		return owner_ipv6(&c, (const struct rte_ipv6_hdr *)(eth + 1), len);
	default:
		return 0;
	}
}
