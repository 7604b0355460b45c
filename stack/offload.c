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
	const uint64_t rx_want = RTE_ETH_RX_OFFLOAD_IPV4_CKSUM | RTE_ETH_RX_OFFLOAD_TCP_CKSUM |
				 RTE_ETH_RX_OFFLOAD_UDP_CKSUM;

	memset(o, 0, sizeof(*o));
	*rx_bits = *tx_bits = 0;
	if (!enable)
		return;
	if ((info->tx_offload_capa & tx_need) == tx_need) {
		o->tx = true;
		*tx_bits = tx_need;
	}
	/* Whatever part of the receive checks the device offers: a frame it did not vouch for
	 * is checked by lwIP as before. */
	*rx_bits = info->rx_offload_capa & rx_want;
	o->rx = *rx_bits != 0;
}

void dpw_offloads_describe(const struct dpw_offloads *o, char *buf, size_t len)
{
	snprintf(buf, len, "%s%s%s", o->tx ? "tx-ipv4-cksum,tx-tcp-cksum" : "",
		 o->tx && o->rx ? "," : "", o->rx ? "rx-cksum" : "");
	if (buf[0] == '\0')
		snprintf(buf, len, "none");
}

bool dpw_offload_tx_mark(const struct dpw_offloads *o, struct rte_mbuf *m)
{
	const struct rte_ether_hdr *eth;
	uint16_t type;

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
		((struct rte_tcp_hdr *)(ip6 + 1))->cksum = rte_ipv6_phdr_cksum(ip6, m->ol_flags);
		return true;
	}
	return false;
}
