/* Which engine owns a frame (steer.h). */
#include <string.h>

#include <rte_arp.h>
#include <rte_byteorder.h>
#include <rte_ether.h>
#include <rte_icmp.h>
#include <rte_ip.h>
#include <rte_jhash.h>
#include <rte_mbuf.h>
#include <rte_tcp.h>

#include "steer.h"

#define ARP_OP_REPLY 2
#define ND_NEIGHBOR_ADVERT 136

/* Per thread (an engine's): lwIP's port hook runs on it. */
static __thread uint16_t my_queue, my_queues;

void dpw_steer_set_queue(uint16_t queue, uint16_t queues)
{
	my_queue = queue;
	my_queues = queues;
}

int dpw_local_port_ok(uint16_t port)
{
	return dpw_steer_port_ok(port, my_queue, my_queues);
}

/* TCP and UDP put their ports in the same first four bytes. The remote address is hashed
 * only when the destination port does not decide alone; it is copied out first because in
 * a frame it sits 2 bytes off a word boundary (after the 14-byte Ethernet header) and
 * rte_jhash reads whole words. */
static uint16_t by_ports(const void *l4, const void *remote, uint32_t remote_len,
			 uint16_t queues)
{
	const uint8_t *p = l4;
	uint16_t src = (uint16_t)(p[0] << 8 | p[1]), dst = (uint16_t)(p[2] << 8 | p[3]);
	uint32_t words[4];

	if (dst >= DPW_EPHEMERAL_FIRST)
		return dst % queues;
	memcpy(words, remote, remote_len);
	return (uint16_t)(rte_jhash_1word(src, rte_jhash_32b(words, remote_len / 4, 0)) % queues);
}

static uint16_t owner_ipv4(const struct rte_ipv4_hdr *ip, uint32_t avail, uint16_t queues)
{
	uint32_t ihl = (uint32_t)(ip->version_ihl & 0x0f) * 4;

	/* A fragment (more to come, or an offset): only the first has the ports. */
	if (avail < sizeof(*ip) || ihl < sizeof(*ip) || avail < ihl + 4 ||
	    (ip->fragment_offset & rte_cpu_to_be_16(RTE_IPV4_HDR_MF_FLAG |
						     RTE_IPV4_HDR_OFFSET_MASK)) != 0)
		return 0;
	if (ip->next_proto_id != IPPROTO_TCP && ip->next_proto_id != IPPROTO_UDP)
		return 0;
	return by_ports((const uint8_t *)ip + ihl, &ip->src_addr, sizeof(ip->src_addr), queues);
}

static uint16_t owner_ipv6(const struct rte_ipv6_hdr *ip, uint32_t avail, uint16_t queues)
{
	const uint8_t *l4 = (const uint8_t *)(ip + 1);

	if (avail < sizeof(*ip) + 4)
		return 0;
	if (ip->proto == IPPROTO_ICMPV6)
		return l4[0] == ND_NEIGHBOR_ADVERT ? DPW_STEER_ALL : 0;
	/* Extension headers (fragments among them): queue 0, as IPv4's fragments. */
	if (ip->proto != IPPROTO_TCP && ip->proto != IPPROTO_UDP)
		return 0;
	return by_ports(l4, ip->src_addr, sizeof(ip->src_addr), queues);
}

uint16_t dpw_steer_owner(const struct rte_mbuf *m, uint16_t queues)
{
	const struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, const struct rte_ether_hdr *);
	uint32_t len = rte_pktmbuf_data_len(m);   /* headers in the first segment, or queue 0 */

	if (queues <= 1 || len < sizeof(*eth))
		return 0;
	len -= sizeof(*eth);
	switch (rte_be_to_cpu_16(eth->ether_type)) {
	case RTE_ETHER_TYPE_ARP: {
		const struct rte_arp_hdr *arp = (const struct rte_arp_hdr *)(eth + 1);

		return len >= sizeof(*arp) && rte_be_to_cpu_16(arp->arp_opcode) == ARP_OP_REPLY
			       ? DPW_STEER_ALL : 0;
	}
	case RTE_ETHER_TYPE_IPV4:
		return owner_ipv4((const struct rte_ipv4_hdr *)(eth + 1), len, queues);
	case RTE_ETHER_TYPE_IPV6:
		return owner_ipv6((const struct rte_ipv6_hdr *)(eth + 1), len, queues);
	default:
		return 0;
	}
}
