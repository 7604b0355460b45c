/* Checksum offloads: choosing them for a port, marking frames for them (see offload.h). */
#include <stdio.h>
#include <string.h>

#include <rte_ethdev.h>
#include <rte_ip.h>
#include <rte_tcp.h>

#include "offload.h"

void dpw_offloads_choose(const struct rte_eth_dev_info *info, bool enable,
			 struct dpw_offloads *o, uint64_t *rx_bits, uint64_t *tx_bits)
{
	const uint64_t tx_need = RTE_ETH_TX_OFFLOAD_IPV4_CKSUM | RTE_ETH_TX_OFFLOAD_TCP_CKSUM;
	const uint64_t tso_need = RTE_ETH_TX_OFFLOAD_TCP_TSO | RTE_ETH_TX_OFFLOAD_MULTI_SEGS;
	const uint64_t rx_want = RTE_ETH_RX_OFFLOAD_IPV4_CKSUM | RTE_ETH_RX_OFFLOAD_TCP_CKSUM |
				 RTE_ETH_RX_OFFLOAD_UDP_CKSUM;

	memset(o, 0, sizeof(*o));
	*rx_bits = *tx_bits = 0;
	if (!enable)
		return;
	if ((info->tx_offload_capa & tx_need) == tx_need) {
		o->tx = true;
		*tx_bits = tx_need;
		/* TSO needs the checksums offloaded too, and a frame in a chain of mbufs. */
		if ((info->tx_offload_capa & tso_need) == tso_need) {
			o->tso = true;
			*tx_bits |= tso_need;
		}
	}
	/* Whatever part of the receive checks the device offers: a frame it did not vouch for
	 * is checked by lwIP as before. */
	*rx_bits = info->rx_offload_capa & rx_want;
	o->rx = *rx_bits != 0;
}

void dpw_offloads_describe(const struct dpw_offloads *o, char *buf, size_t len)
{
	snprintf(buf, len, "%s%s%s%s", o->tx ? "tx-ipv4-cksum,tx-tcp-cksum" : "",
		 o->tx && o->rx ? "," : "", o->rx ? "rx-cksum" : "", o->tso ? ",tso" : "");
	if (buf[0] == '\0')
		snprintf(buf, len, "none");
}

/* TSO for a TCP segment (its headers in the first mbuf) that carries more than mss bytes:
 * the device cuts it into mss-sized ones, each with its own checksums. */
static bool mark_tso(const struct dpw_offloads *o, struct rte_mbuf *m,
		     const struct rte_tcp_hdr *tcp, uint16_t mss)
{
	uint32_t hdrs;

	if (!o->tso || mss == 0)
		return false;
	m->l4_len = (uint16_t)((tcp->data_off >> 4) * 4);
	hdrs = (uint32_t)m->l2_len + m->l3_len + m->l4_len;
	/* net_tap (22.11) refuses a segment size that, with all the headers, Ethernet's
	 * included, exceeds the MTU, and the frame then never leaves: cut a little smaller
	 * there (1446 bytes at MTU 1500), which every device takes. */
	if (o->mtu != 0 && hdrs + mss > o->mtu)
		mss = (uint16_t)(o->mtu > hdrs ? o->mtu - hdrs : 0);
	if (mss == 0 || rte_pktmbuf_pkt_len(m) <= hdrs + mss)
		return false;
	m->tso_segsz = mss;
	m->ol_flags |= RTE_MBUF_F_TX_TCP_SEG;
	return true;
}

bool dpw_offload_tx_mark(const struct dpw_offloads *o, struct rte_mbuf *m, uint16_t mss,
			 bool *tso)
{
	const struct rte_ether_hdr *eth;
	uint16_t type;

	*tso = false;
	if (!o->tx || rte_pktmbuf_data_len(m) < sizeof(*eth) + sizeof(struct rte_ipv4_hdr))
		return false;
	eth = rte_pktmbuf_mtod(m, const struct rte_ether_hdr *);
	type = rte_be_to_cpu_16(eth->ether_type);
	m->l2_len = sizeof(*eth);
	if (type == RTE_ETHER_TYPE_IPV4) {
		struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(eth + 1);
		unsigned ihl = rte_ipv4_hdr_len(ip);

		/* lwIP left the header checksum at zero (its generation is off): every IPv4
		 * frame needs the device's. */
		m->l3_len = ihl;
		m->ol_flags |= RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IP_CKSUM;
		if (ip->next_proto_id == IPPROTO_TCP &&
		    rte_pktmbuf_data_len(m) >= sizeof(*eth) + ihl + sizeof(struct rte_tcp_hdr)) {
			struct rte_tcp_hdr *tcp = (struct rte_tcp_hdr *)((char *)ip + ihl);

			m->ol_flags |= RTE_MBUF_F_TX_TCP_CKSUM;
			*tso = mark_tso(o, m, tcp, mss);
			/* With TCP_SEG the sum leaves the length out (each piece has its own). */
			tcp->cksum = rte_ipv4_phdr_cksum(ip, m->ol_flags);
		}
		return true;
	}
	if (type == RTE_ETHER_TYPE_IPV6 &&
	    rte_pktmbuf_data_len(m) >= sizeof(*eth) + sizeof(struct rte_ipv6_hdr) +
					       sizeof(struct rte_tcp_hdr)) {
		struct rte_ipv6_hdr *ip6 = (struct rte_ipv6_hdr *)(eth + 1);

		/* lwIP puts no extension header before TCP; other IPv6 traffic (UDP, ICMPv6)
		 * still has its checksum from lwIP. */
		if (ip6->proto != IPPROTO_TCP)
			return false;
		m->l3_len = sizeof(*ip6);
		m->ol_flags |= RTE_MBUF_F_TX_IPV6 | RTE_MBUF_F_TX_TCP_CKSUM;
		*tso = mark_tso(o, m, (struct rte_tcp_hdr *)(ip6 + 1), mss);
		((struct rte_tcp_hdr *)(ip6 + 1))->cksum = rte_ipv6_phdr_cksum(ip6, m->ol_flags);
		return true;
	}
	return false;
}
