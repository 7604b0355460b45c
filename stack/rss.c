/* Steering by the port's own hash (rss.h). */
#include <stdio.h>
#include <string.h>

#include <rte_byteorder.h>
#include <rte_ethdev.h>
#include <rte_thash.h>

#include "errors.h"
#include "rss.h"

/* The key of Microsoft's RSS verification suite ("Verifying the RSS Hash Calculation"), the
 * one DPDK's own Toeplitz tests check against; many NICs ship with it as their default. */
static const uint8_t verification_key[40] = {
	0x6d, 0x5a, 0x56, 0xda, 0x25, 0x5b, 0x0e, 0xc2, 0x41, 0x67, 0x25, 0x3d, 0x43, 0xa3,
	0x8f, 0xb0, 0xd0, 0xca, 0x2b, 0xcb, 0xae, 0x7b, 0x30, 0xb4, 0x77, 0xcb, 0x2d, 0xa3,
	0x80, 0x30, 0xf2, 0x0c, 0x6a, 0x42, 0xb7, 0x3b, 0xbe, 0xac, 0x01, 0xfa,
};

/* A RETA of this many entries when we make our own: enough that a queue count that does not
 * divide it is still spread within 1%. */
#define EMULATED_RETA 128

static uint32_t word_at(const uint8_t *p)
{
	uint32_t w;

	memcpy(&w, p, sizeof(w));
	return rte_be_to_cpu_32(w);
}

uint32_t dpw_rss_hash(const struct dpw_rss *r, bool v6, const void *src, const void *dst,
		      uint16_t src_port, uint16_t dst_port)
{
	/* rte_softrss takes the tuple as host-order words: source address, destination
	 * address, then the source port in the high half of the last word. */
	uint32_t tuple[9];
	uint32_t words = v6 ? 4 : 1, n = 0;

	for (uint32_t i = 0; i < words; i++)
		tuple[n++] = word_at((const uint8_t *)src + 4 * i);
	for (uint32_t i = 0; i < words; i++)
		tuple[n++] = word_at((const uint8_t *)dst + 4 * i);
	tuple[n++] = (uint32_t)src_port << 16 | dst_port;
	return rte_softrss(tuple, n, r->key);
}

/* The destination port's part of the hash, per byte (rss.h): the hash of a tuple that is all
 * zero but for that byte. */
static void fill_dst_port_parts(struct dpw_rss *r)
{
	static const uint8_t zero[16];

	for (int v6 = 0; v6 < 2; v6++)
		for (unsigned b = 0; b < 256; b++) {
			r->dst_port_part[v6][0][b] = dpw_rss_hash(r, v6, zero, zero, 0, (uint16_t)b);
			r->dst_port_part[v6][1][b] =
				dpw_rss_hash(r, v6, zero, zero, 0, (uint16_t)(b << 8));
		}
}

void dpw_rss_emulate(struct dpw_rss *r, uint16_t queues)
{
	memset(r, 0, sizeof(*r));
	memcpy(r->key, verification_key, sizeof(verification_key));
	r->reta_size = EMULATED_RETA;
	for (uint16_t i = 0; i < EMULATED_RETA; i++)
		r->reta[i] = (uint16_t)(i % (queues ? queues : 1));
	fill_dst_port_parts(r);
}

#define TCP_FLOWS (RTE_ETH_RSS_NONFRAG_IPV4_TCP | RTE_ETH_RSS_NONFRAG_IPV6_TCP)

static bool power_of_two(uint32_t n)
{
	return n != 0 && (n & (n - 1)) == 0;
}

/* A RETA and key we can hold and use: a power of two of entries, a key for IPv6's tuple. */
static bool usable_sizes(const struct rte_eth_dev_info *info)
{
	return power_of_two(info->reta_size) && info->reta_size <= DPW_RSS_RETA_MAX &&
	       info->hash_key_size >= sizeof(verification_key) &&
	       info->hash_key_size <= DPW_RSS_KEY_MAX;
}

bool dpw_rss_port_wanted(const struct rte_eth_dev_info *info, struct rte_eth_conf *conf)
{
	if ((info->flow_type_rss_offloads & TCP_FLOWS) != TCP_FLOWS || !usable_sizes(info))
		return false;
	conf->rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
	conf->rx_adv_conf.rss_conf.rss_key = NULL;   /* the device's own: read back once started */
	/* TCP only: the rest (UDP, ICMP, fragments) is steered in software from wherever it
	 * lands, by rules the NIC's hash would not agree with. */
	conf->rx_adv_conf.rss_conf.rss_hf = TCP_FLOWS;
	return true;
}

int dpw_rss_port_read(uint16_t port_id, uint16_t queues, struct dpw_rss *r, char *err,
		      size_t errlen)
{
	struct rte_eth_rss_reta_entry64 groups[DPW_RSS_RETA_MAX / RTE_ETH_RETA_GROUP_SIZE];
	struct rte_eth_dev_info info;
	struct rte_eth_rss_conf conf;
	int ret;

	memset(r, 0, sizeof(*r));
	memset(&conf, 0, sizeof(conf));
	if ((ret = rte_eth_dev_info_get(port_id, &info)) != 0) {
		dpw_set_err(err, errlen, "cannot read device info: %s", rte_strerror(-ret));
		return -1;
	}
	if (!usable_sizes(&info)) {
		dpw_set_err(err, errlen, "RETA of %u entries, key of %u bytes: not usable",
			    info.reta_size, info.hash_key_size);
		return -1;
	}
	conf.rss_key = r->key;
	conf.rss_key_len = info.hash_key_size;
	if ((ret = rte_eth_dev_rss_hash_conf_get(port_id, &conf)) != 0) {
		dpw_set_err(err, errlen, "the device does not report its RSS key: %s",
			    rte_strerror(-ret));
		return -1;
	}
	if (conf.rss_key_len < sizeof(verification_key) ||
	    memcmp(r->key, (const uint8_t[DPW_RSS_KEY_MAX]){ 0 }, conf.rss_key_len) == 0) {
		dpw_set_err(err, errlen, "the device reports a key of %u bytes%s", conf.rss_key_len,
			    conf.rss_key_len >= sizeof(verification_key) ? ", all zero" : "");
		return -1;
	}
	if ((conf.rss_hf & TCP_FLOWS) != TCP_FLOWS) {
		dpw_set_err(err, errlen, "the device does not hash TCP flows (rss_hf 0x%" PRIx64 ")",
			    conf.rss_hf);
		return -1;
	}
	memset(groups, 0, sizeof(groups));
	for (unsigned g = 0; g < info.reta_size / RTE_ETH_RETA_GROUP_SIZE; g++)
		groups[g].mask = UINT64_MAX;
	if (info.reta_size < RTE_ETH_RETA_GROUP_SIZE)
		groups[0].mask = (UINT64_C(1) << info.reta_size) - 1;
	if ((ret = rte_eth_dev_rss_reta_query(port_id, groups, info.reta_size)) != 0) {
		dpw_set_err(err, errlen, "the device does not report its RETA: %s",
			    rte_strerror(-ret));
		return -1;
	}
	uint32_t seen = 0;   /* a bit per queue (at most 16: DPW_MAX_QUEUES) */

	for (unsigned i = 0; i < info.reta_size; i++) {
		uint16_t q = groups[i / RTE_ETH_RETA_GROUP_SIZE].reta[i % RTE_ETH_RETA_GROUP_SIZE];

		if (q >= queues || q >= 32) {
			dpw_set_err(err, errlen, "RETA entry %u is queue %u, of %u", i, q, queues);
			return -1;
		}
		r->reta[i] = q;
		r->device = true;
		seen |= UINT32_C(1) << q;
	}
	if (seen != (queues >= 32 ? UINT32_MAX : (UINT32_C(1) << queues) - 1)) {
		dpw_set_err(err, errlen, "the RETA leaves out some of the %u queues", queues);
		return -1;
	}
	r->reta_size = info.reta_size;
	fill_dst_port_parts(r);
	return 0;
}
