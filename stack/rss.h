/* Steering by the port's own hash (docs/many-lcores.md, "RSS"): a NIC with RSS puts each TCP
 * flow on the queue its RETA gives for the Toeplitz hash of the flow's addresses and ports.
 * With the port's key and RETA read back, the stack computes the same queue in software, so
 * steering agrees with the NIC (no frame moves between engines) and a connect can pick a
 * source port whose flow the NIC will put on the connecting engine's queue. On a port
 * without usable RSS the same function can be run with a key of our own ("toeplitz"
 * steering), which is how the tests reach this path on software ports. Pure functions but
 * for dpw_rss_port_*. Without lwIP's headers (DPDK's clash with them). */
#ifndef DPW_RSS_H
#define DPW_RSS_H

#include <stdalign.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct rte_eth_conf;
struct rte_eth_dev_info;

/* Toeplitz over an IPv6 flow reads 36 bytes of tuple and 40 of key; some NICs keep 52. */
#define DPW_RSS_KEY_MAX 52
#define DPW_RSS_RETA_MAX 2048

struct dpw_rss {
	alignas(4) uint8_t key[DPW_RSS_KEY_MAX];   /* as the device holds it (network order) */
	uint16_t reta_size;                        /* a power of two */
	uint16_t reta[DPW_RSS_RETA_MAX];           /* queue for (hash & (reta_size - 1)) */
	/* Read back from the device, which hashes TCP with them: a received frame's own hash
	 * (RTE_MBUF_F_RX_RSS_HASH) is the one to steer by, not computed again. */
	bool device;
	/* [v6][byte k][value]: the hash's part from byte k (0 low, 1 high) of the destination
	 * port. Toeplitz is linear (XOR) in its input, so a flow's hash is the hash with that
	 * port 0 XOR these two: a connect hashes its addresses once and tries each local port in
	 * two lookups (dpw_rss_hash_dst_port). Filled by dpw_rss_emulate and dpw_rss_port_read. */
	uint32_t dst_port_part[2][2][256];
};

/* The Toeplitz hash of a flow as the NIC computes it for a frame from src to dst: addresses
 * in network order (4 or 16 bytes), ports in host order. */
uint32_t dpw_rss_hash(const struct dpw_rss *r, bool v6, const void *src, const void *dst,
		      uint16_t src_port, uint16_t dst_port);

/* The hash of a flow whose hash with destination port 0 is hash0, with dst_port instead. */
static inline uint32_t dpw_rss_hash_dst_port(const struct dpw_rss *r, bool v6, uint32_t hash0,
					     uint16_t dst_port)
{
	return hash0 ^ r->dst_port_part[v6][0][dst_port & 0xff] ^
	       r->dst_port_part[v6][1][dst_port >> 8];
}

static inline uint16_t dpw_rss_queue_of_hash(const struct dpw_rss *r, uint32_t hash)
{
	return r->reta[hash & (uint32_t)(r->reta_size - 1)];
}

/* The queue the NIC puts a frame of this flow on. */
static inline uint16_t dpw_rss_queue(const struct dpw_rss *r, bool v6, const void *src,
				     const void *dst, uint16_t src_port, uint16_t dst_port)
{
	return dpw_rss_queue_of_hash(r, dpw_rss_hash(r, v6, src, dst, src_port, dst_port));
}

/* Steering by Toeplitz on a port that does not hash: Microsoft's published verification key
 * and a RETA of 128 entries over queues, round robin (what most NICs start with). */
void dpw_rss_emulate(struct dpw_rss *r, uint16_t queues);

/* Whether the device hashes TCP over IPv4 and IPv6 with a key and RETA we can use; if so,
 * ask for it in conf (RSS over TCP flows, with the device's own key). */
bool dpw_rss_port_wanted(const struct rte_eth_dev_info *info, struct rte_eth_conf *conf);
/* Read the key and RETA back from a started port: 0, or -1 with the reason in err (the
 * device does not report them; its key is shorter than 40 bytes or all zero; its RETA is
 * not a power of two, names a queue beyond queues, or leaves one out, whose connects could
 * then find no port). */
int dpw_rss_port_read(uint16_t port_id, uint16_t queues, struct dpw_rss *r, char *err,
		      size_t errlen);

#endif /* DPW_RSS_H */
