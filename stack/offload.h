/* Checksum offloads (offload.c): what the port offers is chosen at bring-up (port.c), and each
 * frame is marked on its way out or read on its way in (netif_dpdk.c). Without lwIP's headers:
 * DPDK's protocol headers and lwIP's clash, so the frame is parsed here with DPDK's. */
#ifndef DPW_OFFLOAD_H
#define DPW_OFFLOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <rte_mbuf.h>

struct rte_eth_dev_info;

/* What is on, for one port. */
struct dpw_offloads {
	bool tx;       /* the device computes the IPv4 header and TCP (IPv4 and IPv6) checksums */
	bool rx;       /* the device checks IP and TCP/UDP checksums and says so in each mbuf */
	bool tso;      /* the device cuts a TCP segment beyond the MTU into MSS-sized ones */
	uint16_t mtu;  /* the port's (port.c): no piece of a cut segment may exceed it */
};

/* The most TCP payload one segment carries when the device cuts it (TSO): with TCP's,
 * IPv6's and Ethernet's headers it stays below 64 KiB, lwIP's pbuf length and the usual
 * limit of devices. */
#define DPW_TSO_MAX_PAYLOAD (62u * 1024u)

/* From what the device offers (and nothing when enable is false): the offloads to use, and
 * the rxmode/txmode offload bits that ask the device for them. TX needs both the IPv4 and
 * the TCP checksum: lwIP's generation is switched per interface, not per protocol version. */
void dpw_offloads_choose(const struct rte_eth_dev_info *info, bool enable,
			 struct dpw_offloads *o, uint64_t *rx_bits, uint64_t *tx_bits);

/* "tx-ipv4-cksum,tx-tcp-cksum,rx-cksum,tso", or "none". */
void dpw_offloads_describe(const struct dpw_offloads *o, char *buf, size_t len);

/* Mark an outgoing frame (one whose IP and TCP checksums lwIP left at zero) for the device:
 * ol_flags, l2_len, l3_len and, for TCP, the pseudo-header sum the device starts from; and a
 * TCP segment carrying more than mss bytes (mss 0: unknown) for segmentation: l4_len,
 * tso_segsz. True when the frame was marked; *tso set when it goes as TSO. */
bool dpw_offload_tx_mark(const struct dpw_offloads *o, struct rte_mbuf *m, uint16_t mss,
			 bool *tso);

/* For a received frame: which of lwIP's checks the device already made and passed. */
struct dpw_rx_verdict {
	bool ip_good;   /* the IPv4 header checksum is right */
	bool l4_good;   /* the TCP or UDP checksum is right */
};
static inline struct dpw_rx_verdict dpw_offload_rx_verdict(const struct rte_mbuf *m)
{
	struct dpw_rx_verdict v = {
		(m->ol_flags & RTE_MBUF_F_RX_IP_CKSUM_MASK) == RTE_MBUF_F_RX_IP_CKSUM_GOOD,
		(m->ol_flags & RTE_MBUF_F_RX_L4_CKSUM_MASK) == RTE_MBUF_F_RX_L4_CKSUM_GOOD,
	};
	return v;
}

#endif /* DPW_OFFLOAD_H */
