/* IP fragments gathered for steering (reassembly.h), with DPDK's librte_ip_frag. */
/* rte_ip_frag_table_del_expired_entries is experimental in DPDK 22.11; without it a
 * datagram that never completes holds its mbufs until another one lands in its bucket. */
#define ALLOW_EXPERIMENTAL_API 1

#include <stdlib.h>

#include <rte_cycles.h>
#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_ip_frag.h>
#include <rte_mbuf.h>

#include "reassembly.h"

/* DPDK's table: buckets of entries, one entry per datagram in progress. */
#define BUCKET_ENTRIES 16

struct dpw_reassembly {
	struct rte_ip_frag_tbl *table;
	struct rte_ip_frag_death_row dead;   /* fragments the table let go, freed in a batch */
};

struct dpw_reassembly *dpw_reassembly_create(int socket_id)
{
	struct dpw_reassembly *r = calloc(1, sizeof(*r));
	uint64_t max_cycles = rte_get_tsc_hz() * DPW_REASSEMBLY_SECONDS;

	if (r == NULL)
		return NULL;
	r->table = rte_ip_frag_table_create(DPW_REASSEMBLY_DATAGRAMS / BUCKET_ENTRIES * 2,
					    BUCKET_ENTRIES, DPW_REASSEMBLY_DATAGRAMS, max_cycles,
					    socket_id);
	if (r->table == NULL) {
		free(r);
		return NULL;
	}
	return r;
}

void dpw_reassembly_expire(struct dpw_reassembly *r)
{
	rte_ip_frag_table_del_expired_entries(r->table, &r->dead, rte_rdtsc());
	rte_ip_frag_free_death_row(&r->dead, 0);
}

void dpw_reassembly_destroy(struct dpw_reassembly *r)
{
	if (r == NULL)
		return;
	/* Every entry counts as expired at the end of time. The death row takes a bounded
	 * number of fragments per call, so empty it as it fills. */
	while (r->table != NULL) {
		rte_ip_frag_table_del_expired_entries(r->table, &r->dead, UINT64_MAX);
		if (r->dead.cnt == 0)
			break;
		rte_ip_frag_free_death_row(&r->dead, 0);
	}
	rte_ip_frag_table_destroy(r->table);
	free(r);
}

/* The frame's headers are in its first segment (steer.c looked there). */
struct rte_mbuf *dpw_reassembly_add(struct dpw_reassembly *r, struct rte_mbuf *m)
{
	struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
	uint64_t now = rte_rdtsc();
	struct rte_mbuf *whole;

	m->l2_len = sizeof(*eth);
	if (eth->ether_type == rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4)) {
		struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(eth + 1);
		uint64_t ck = m->ol_flags & RTE_MBUF_F_RX_IP_CKSUM_MASK;
		uint32_t end = (uint32_t)(rte_be_to_cpu_16(ip->fragment_offset) &
					  RTE_IPV4_HDR_OFFSET_MASK) * RTE_IPV4_HDR_OFFSET_UNITS +
			       rte_be_to_cpu_16(ip->total_length);

		/* What lwIP checks of each fragment before its own reassembly: the header's
		 * checksum (the whole datagram gets a fresh one below), and that the datagram
		 * fits in 64 KiB (DPDK 22.11 does not check: its total length would wrap). */
		if (ck == RTE_MBUF_F_RX_IP_CKSUM_BAD ||
		    (ck != RTE_MBUF_F_RX_IP_CKSUM_GOOD && rte_ipv4_cksum(ip) != 0) ||
		    end > UINT16_MAX) {
			rte_pktmbuf_free(m);
			return NULL;
		}
		m->l3_len = rte_ipv4_hdr_len(ip);
		whole = rte_ipv4_frag_reassemble_packet(r->table, &r->dead, m, now, ip);
		if (whole != NULL) {
			/* DPDK rewrites the length and fragment fields and zeroes the checksum. */
			ip = rte_pktmbuf_mtod_offset(whole, struct rte_ipv4_hdr *, sizeof(*eth));
			ip->hdr_checksum = 0;
			ip->hdr_checksum = rte_ipv4_cksum(ip);
		}
	} else {
		struct rte_ipv6_hdr *ip = (struct rte_ipv6_hdr *)(eth + 1);

		m->l3_len = sizeof(*ip) + sizeof(struct rte_ipv6_fragment_ext);
		whole = rte_ipv6_frag_reassemble_packet(r->table, &r->dead, m, now, ip,
							rte_ipv6_frag_get_ipv6_fragment_header(ip));
	}
	/* What the device said of the first fragment (its checksums, its hash: of the addresses
	 * only, as a fragment) is not what it would say of the whole datagram. */
	if (whole != NULL)
		whole->ol_flags &= ~(RTE_MBUF_F_RX_IP_CKSUM_MASK | RTE_MBUF_F_RX_L4_CKSUM_MASK |
				     RTE_MBUF_F_RX_RSS_HASH);
	if (r->dead.cnt > RTE_IP_FRAG_DEATH_ROW_LEN / 2)
		rte_ip_frag_free_death_row(&r->dead, 0);
	return whole;
}
