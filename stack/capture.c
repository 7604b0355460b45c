/* pcapng capture of the port's traffic with DPDK's rte_pcapng (see capture.h). Each frame is
 * copied into a small mempool of our own, so the frame lwIP or the driver owns is never held;
 * the copies of one burst are written with one write. A file that reached its limit stops
 * growing and counts what it skipped: a capture left running must not fill the disk. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_errno.h>
#include <rte_pcapng.h>
#include <rte_version.h>

#include "capture.h"
#include "errors.h"

#define COPY_MBUFS 1023u          /* copies in flight: one burst at a time */
#define SNAP_LEN   9216u          /* bytes kept of a frame: a jumbo frame whole */
#define MAX_BURST  64u

struct dpw_capture {
	rte_pcapng_t *pc;
	struct rte_mempool *copies;
	uint64_t limit, start_ns;
	uint64_t base_ns, base_tsc;   /* wall clock and TSC at open: our own timestamps */
	double ns_per_tsc;
	struct dpw_capture_counts n;
};

/* Wall-clock nanoseconds for a TSC reading. DPDK 22.11's rte_pcapng converts TSC to time with
 * a base it takes before EAL has measured the TSC, and its files say the year 2305; the
 * timestamp is rewritten in each block with this (pcapng's Enhanced Packet Block: 32-bit
 * high and low halves at bytes 12 and 16). */
static uint64_t wall_ns(const struct dpw_capture *c, uint64_t tsc)
{
	return c->base_ns + (uint64_t)((double)(tsc - c->base_tsc) * c->ns_per_tsc);
}

static void stamp(struct rte_mbuf *block, uint64_t ns)
{
	uint32_t *w = rte_pktmbuf_mtod(block, uint32_t *);

	w[3] = (uint32_t)(ns >> 32);
	w[4] = (uint32_t)ns;
}

struct dpw_capture *dpw_capture_open(const char *path, uint64_t limit_bytes, char *err,
				     size_t errlen)
{
	static unsigned seq;
	struct dpw_capture *c = calloc(1, sizeof(*c));
	char name[RTE_MEMPOOL_NAMESIZE];
	struct timespec now;
	int fd;

	if (c == NULL) {
		dpw_set_err(err, errlen, "capture: out of memory");
		return NULL;
	}
	snprintf(name, sizeof(name), "dpw_capture_%u", seq++);
	c->copies = rte_pktmbuf_pool_create(name, COPY_MBUFS, 0, 0,
					    rte_pcapng_mbuf_size(SNAP_LEN), SOCKET_ID_ANY);
	if (c->copies == NULL) {
		dpw_set_err(err, errlen, "capture: no memory for its mbufs: %s",
			    rte_strerror(rte_errno));
		free(c);
		return NULL;
	}
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		dpw_set_err(err, errlen, "capture: cannot create '%s': %s", path, strerror(errno));
		rte_mempool_free(c->copies);
		free(c);
		return NULL;
	}
	/* The header names every port EAL has, so a frame's interface is its port id. */
	c->pc = rte_pcapng_fdopen(fd, NULL, NULL, "dpwsk (" RTE_VER_PREFIX ")", NULL);
	if (c->pc == NULL) {
		dpw_set_err(err, errlen, "capture: cannot start '%s': %s", path,
			    rte_strerror(rte_errno));
		close(fd);
		rte_mempool_free(c->copies);
		free(c);
		return NULL;
	}
	c->limit = limit_bytes;
	c->n.bytes = (uint64_t)lseek(fd, 0, SEEK_CUR);
	clock_gettime(CLOCK_REALTIME, &now);
	c->base_tsc = rte_get_tsc_cycles();
	c->base_ns = (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec;
	c->ns_per_tsc = 1e9 / (double)rte_get_tsc_hz();
	c->start_ns = c->base_ns;
	return c;
}

void dpw_capture_frames(struct dpw_capture *c, uint16_t port_id, struct rte_mbuf *const *pkts,
			uint16_t n, bool out)
{
	uint64_t now = rte_get_tsc_cycles(), ns = wall_ns(c, now);

	while (n > 0) {
		struct rte_mbuf *copy[MAX_BURST];
		uint16_t take = n < MAX_BURST ? n : MAX_BURST, k = 0;
		ssize_t w;

		for (uint16_t i = 0; i < take; i++) {
			struct rte_mbuf *m = NULL;

			if (c->n.bytes < c->limit)
				m = rte_pcapng_copy(port_id, 0, pkts[i], c->copies, SNAP_LEN, now,
						    out ? RTE_PCAPNG_DIRECTION_OUT :
							  RTE_PCAPNG_DIRECTION_IN);
			if (m == NULL) {
				c->n.skipped++;
			} else {
				stamp(m, ns);
				copy[k++] = m;
			}
		}
		if (k > 0) {
			/* Frees the copies, written or not. */
			w = rte_pcapng_write_packets(c->pc, copy, k);
			if (w < 0) {
				c->n.skipped += k;
			} else {
				c->n.frames += k;
				c->n.bytes += (uint64_t)w;
			}
		}
		pkts += take;
		n -= take;
	}
}

void dpw_capture_counts(const struct dpw_capture *c, struct dpw_capture_counts *out)
{
	*out = c->n;
}

void dpw_capture_close(struct dpw_capture *c, uint16_t port_id)
{
	uint64_t end_ns;

	if (c == NULL)
		return;
	end_ns = wall_ns(c, rte_get_tsc_cycles());
	rte_pcapng_write_stats(c->pc, port_id, "dpwsk: frames not written were over the limit",
			       c->start_ns, end_ns, c->n.frames + c->n.skipped, c->n.skipped);
	rte_pcapng_close(c->pc);   /* closes the file */
	rte_mempool_free(c->copies);
	free(c);
}
