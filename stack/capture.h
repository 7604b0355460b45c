/* What the port received and what the stack sent to it, written as pcapng (capture.c), for
 * Wireshark or tcpdump -r: the one view of the wire that exists once a NIC belongs to DPDK
 * and the kernel's tcpdump sees nothing. Below the engine and the netif; beside the port. */
#ifndef DPW_CAPTURE_H
#define DPW_CAPTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <rte_mbuf.h>

struct dpw_capture;

#define DPW_CAPTURE_DEFAULT_LIMIT (100ull * 1000 * 1000)   /* bytes */

struct dpw_capture_counts {
	uint64_t frames;     /* written */
	uint64_t bytes;      /* the file's size */
	uint64_t skipped;    /* not written: the size limit reached, or no mbuf to copy into */
};

/* Create (truncate) path and write its header and the ports' descriptions; frames go in
 * until the file reaches limit_bytes. NULL with a reason in err. */
struct dpw_capture *dpw_capture_open(const char *path, uint64_t limit_bytes, char *err,
				     size_t errlen);
/* [poller] Copy frames [0, n) of port_id into the file, received (out false) or sent; the
 * frames themselves are untouched. */
void dpw_capture_frames(struct dpw_capture *c, uint16_t port_id, struct rte_mbuf *const *pkts,
			uint16_t n, bool out);
void dpw_capture_counts(const struct dpw_capture *c, struct dpw_capture_counts *out);
/* Write the port's statistics block, close the file, free c. */
void dpw_capture_close(struct dpw_capture *c, uint16_t port_id);

#endif /* DPW_CAPTURE_H */
