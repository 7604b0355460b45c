/* lwIP's IPv6 reassembly counters for test_ip6_reass.c, read on the lwIP side because
 * lwIP's and DPDK's headers clash. Polling thread only. */
#ifndef DPW_TEST_REASS6_PROBE_H
#define DPW_TEST_REASS6_PROBE_H

#include <stdint.h>

struct reass6_counts {
	uint64_t memerr;      /* fragments dropped for want of room (ip6_frag.memerr) */
	uint32_t used;        /* datagrams being reassembled (the IP6_REASSDATA pool) */
	uint32_t pool_size;
	uint64_t pool_err;    /* times that pool was found empty */
};

void reass6_counts(struct reass6_counts *c);

#endif /* DPW_TEST_REASS6_PROBE_H */
