/* Frame builders and parsers for the engine's unit tests (see frames.h). */
#include <string.h>

#include <rte_arp.h>
#include <rte_byteorder.h>
#include <rte_ether.h>
#include <rte_icmp.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_tcp.h>
#include <rte_udp.h>

#include "frames.h"

static void *append(struct rte_mbuf *m, uint16_t len)
{
	void *p = rte_pktmbuf_append(m, len);

	if (p != NULL)
		memset(p, 0, len);
	return p;
}

static struct rte_mbuf *eth_frame(struct rte_mempool *mp, const struct frame_addrs *a,
				  uint16_t ethertype, uint16_t body_len, void **body)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(mp);
	struct rte_ether_hdr *eh;

	if (m == NULL)
		return NULL;
	eh = append(m, (uint16_t)(sizeof(*eh) + body_len));
	if (eh == NULL) {
		rte_pktmbuf_free(m);
		return NULL;
	}
	memcpy(eh->dst_addr.addr_bytes, a->dst_mac, 6);
	memcpy(eh->src_addr.addr_bytes, a->src_mac, 6);
	eh->ether_type = rte_cpu_to_be_16(ethertype);
	*body = eh + 1;
	return m;
}

struct rte_mbuf *frame_arp_request(struct rte_mempool *mp, const struct frame_addrs *a)
{
	struct frame_addrs bcast = *a;
	struct rte_arp_hdr *arp;
	struct rte_mbuf *m;

	memset(bcast.dst_mac, 0xff, 6);
	m = eth_frame(mp, &bcast, RTE_ETHER_TYPE_ARP, sizeof(*arp), (void **)&arp);
	if (m == NULL)
		return NULL;
	arp->arp_hardware = rte_cpu_to_be_16(RTE_ARP_HRD_ETHER);
	arp->arp_protocol = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
	arp->arp_hlen = 6;
	arp->arp_plen = 4;
	arp->arp_opcode = rte_cpu_to_be_16(RTE_ARP_OP_REQUEST);
	memcpy(arp->arp_data.arp_sha.addr_bytes, a->src_mac, 6);
	arp->arp_data.arp_sip = a->src_ip;
	arp->arp_data.arp_tip = a->dst_ip;
	return m;
}

static struct rte_ipv4_hdr *ip_header(struct rte_ipv4_hdr *ip, const struct frame_addrs *a,
				      uint8_t proto, uint16_t l4_len)
{
	ip->version_ihl = RTE_IPV4_VHL_DEF;
	ip->total_length = rte_cpu_to_be_16((uint16_t)(sizeof(*ip) + l4_len));
	ip->time_to_live = 64;
	ip->next_proto_id = proto;
	ip->src_addr = a->src_ip;
	ip->dst_addr = a->dst_ip;
	return ip;
}

/* Checksums last, then faults, so that a fault changes exactly one thing. */
static void finish_ip(struct rte_ipv4_hdr *ip, enum frame_fault fault)
{
	if (fault == FAULT_IP_LENGTH)
		ip->total_length = rte_cpu_to_be_16(rte_be_to_cpu_16(ip->total_length) + 100);
	ip->hdr_checksum = 0;
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	if (fault == FAULT_IP_CHECKSUM)
		ip->hdr_checksum ^= rte_cpu_to_be_16(1);
}

struct rte_mbuf *frame_icmp_echo(struct rte_mempool *mp, const struct frame_addrs *a,
				 uint16_t id, uint16_t seq, uint16_t payload_len,
				 enum frame_fault fault)
{
	struct rte_ipv4_hdr *ip;
	struct rte_icmp_hdr *icmp;
	uint16_t l4 = (uint16_t)(sizeof(*icmp) + payload_len);
	struct rte_mbuf *m = eth_frame(mp, a, RTE_ETHER_TYPE_IPV4, (uint16_t)(sizeof(*ip) + l4),
				       (void **)&ip);

	if (m == NULL)
		return NULL;
	ip_header(ip, a, IPPROTO_ICMP, l4);
	icmp = (struct rte_icmp_hdr *)(ip + 1);
	icmp->icmp_type = RTE_IP_ICMP_ECHO_REQUEST;
	icmp->icmp_ident = rte_cpu_to_be_16(id);
	icmp->icmp_seq_nb = rte_cpu_to_be_16(seq);
	for (uint16_t i = 0; i < payload_len; i++)
		((uint8_t *)(icmp + 1))[i] = (uint8_t)(i * 7 + seq);
	icmp->icmp_cksum = (uint16_t)~rte_raw_cksum(icmp, l4);
	if (fault == FAULT_L4_CHECKSUM)
		icmp->icmp_cksum ^= rte_cpu_to_be_16(1);
	finish_ip(ip, fault);
	return m;
}

struct rte_mbuf *frame_tcp(struct rte_mempool *mp, const struct frame_addrs *a, uint16_t sport,
			   uint16_t dport, uint32_t seq, uint32_t ack, uint8_t tcp_flags,
			   const void *payload, uint16_t payload_len, enum frame_fault fault)
{
	struct rte_ipv4_hdr *ip;
	struct rte_tcp_hdr *tcp;
	uint16_t l4 = (uint16_t)(sizeof(*tcp) + payload_len);
	struct rte_mbuf *m = eth_frame(mp, a, RTE_ETHER_TYPE_IPV4, (uint16_t)(sizeof(*ip) + l4),
				       (void **)&ip);

	if (m == NULL)
		return NULL;
	ip_header(ip, a, IPPROTO_TCP, l4);
	tcp = (struct rte_tcp_hdr *)(ip + 1);
	tcp->src_port = rte_cpu_to_be_16(sport);
	tcp->dst_port = rte_cpu_to_be_16(dport);
	tcp->sent_seq = rte_cpu_to_be_32(seq);
	tcp->recv_ack = rte_cpu_to_be_32(ack);
	tcp->data_off = (sizeof(*tcp) / 4) << 4;
	tcp->tcp_flags = tcp_flags;
	tcp->rx_win = rte_cpu_to_be_16(65535);
	if (payload_len)
		memcpy(tcp + 1, payload, payload_len);
	ip->hdr_checksum = 0;
	tcp->cksum = rte_ipv4_udptcp_cksum(ip, tcp);
	if (fault == FAULT_L4_CHECKSUM)
		tcp->cksum ^= rte_cpu_to_be_16(1);
	finish_ip(ip, fault);
	return m;
}

struct rte_mbuf *frame_udp(struct rte_mempool *mp, const struct frame_addrs *a, uint16_t sport,
			   uint16_t dport, const void *payload, uint16_t payload_len,
			   enum frame_fault fault)
{
	struct rte_ipv4_hdr *ip;
	struct rte_udp_hdr *udp;
	uint16_t l4 = (uint16_t)(sizeof(*udp) + payload_len);
	struct rte_mbuf *m = eth_frame(mp, a, RTE_ETHER_TYPE_IPV4, (uint16_t)(sizeof(*ip) + l4),
				       (void **)&ip);

	if (m == NULL)
		return NULL;
	ip_header(ip, a, IPPROTO_UDP, l4);
	udp = (struct rte_udp_hdr *)(ip + 1);
	udp->src_port = rte_cpu_to_be_16(sport);
	udp->dst_port = rte_cpu_to_be_16(dport);
	udp->dgram_len = rte_cpu_to_be_16(l4);
	if (payload_len)
		memcpy(udp + 1, payload, payload_len);
	udp->dgram_cksum = rte_ipv4_udptcp_cksum(ip, udp);
	if (fault == FAULT_L4_CHECKSUM)
		udp->dgram_cksum ^= rte_cpu_to_be_16(1);
	finish_ip(ip, fault);
	return m;
}

struct rte_mbuf *frame_raw(struct rte_mempool *mp, const void *bytes, uint16_t len)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(mp);
	void *p;

	if (m == NULL)
		return NULL;
	p = rte_pktmbuf_append(m, len);
	if (p == NULL) {
		rte_pktmbuf_free(m);
		return NULL;
	}
	memcpy(p, bytes, len);
	return m;
}

static struct rte_ipv4_hdr *ipv4_of(struct rte_mbuf *m, uint8_t proto)
{
	struct rte_ether_hdr *eh = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(eh + 1);

	if (rte_pktmbuf_data_len(m) < sizeof(*eh) + sizeof(*ip) ||
	    eh->ether_type != rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4) ||
	    ip->next_proto_id != proto || rte_ipv4_cksum(ip) != 0)
		return NULL;
	return ip;
}

bool frame_is_arp_reply(struct rte_mbuf *m, const struct frame_addrs *a)
{
	struct rte_ether_hdr *eh = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
	struct rte_arp_hdr *arp = (struct rte_arp_hdr *)(eh + 1);

	return rte_pktmbuf_data_len(m) >= sizeof(*eh) + sizeof(*arp) &&
	       eh->ether_type == rte_cpu_to_be_16(RTE_ETHER_TYPE_ARP) &&
	       arp->arp_opcode == rte_cpu_to_be_16(RTE_ARP_OP_REPLY) &&
	       memcmp(eh->dst_addr.addr_bytes, a->src_mac, 6) == 0 &&
	       memcmp(arp->arp_data.arp_sha.addr_bytes, a->dst_mac, 6) == 0 &&
	       arp->arp_data.arp_sip == a->dst_ip && arp->arp_data.arp_tip == a->src_ip;
}

bool frame_is_icmp_echo_reply(struct rte_mbuf *m, uint16_t id, uint16_t seq,
			      uint16_t payload_len)
{
	struct rte_ipv4_hdr *ip = ipv4_of(m, IPPROTO_ICMP);
	struct rte_icmp_hdr *icmp;
	uint16_t l4;

	if (ip == NULL)
		return false;
	icmp = (struct rte_icmp_hdr *)(ip + 1);
	l4 = (uint16_t)(rte_be_to_cpu_16(ip->total_length) - sizeof(*ip));
	if (l4 != sizeof(*icmp) + payload_len || rte_raw_cksum(icmp, l4) != 0xffff)
		return false;
	for (uint16_t i = 0; i < payload_len; i++)
		if (((uint8_t *)(icmp + 1))[i] != (uint8_t)(i * 7 + seq))
			return false;
	return icmp->icmp_type == RTE_IP_ICMP_ECHO_REPLY &&
	       icmp->icmp_ident == rte_cpu_to_be_16(id) &&
	       icmp->icmp_seq_nb == rte_cpu_to_be_16(seq);
}

bool frame_tcp_info(struct rte_mbuf *m, uint8_t *flags, uint32_t *seq, uint32_t *ack)
{
	struct rte_ipv4_hdr *ip = ipv4_of(m, IPPROTO_TCP);
	struct rte_tcp_hdr *tcp;

	if (ip == NULL)
		return false;
	tcp = (struct rte_tcp_hdr *)(ip + 1);
	{
		uint16_t sent = tcp->cksum;
		bool ok;

		tcp->cksum = 0;
		ok = rte_ipv4_udptcp_cksum(ip, tcp) == sent;
		tcp->cksum = sent;
		if (!ok)
			return false;
	}
	*flags = tcp->tcp_flags;
	*seq = rte_be_to_cpu_32(tcp->sent_seq);
	*ack = rte_be_to_cpu_32(tcp->recv_ack);
	return true;
}
