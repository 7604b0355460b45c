/* An engine without a network, for the unit tests: a net_ring port whose RX ring the test
 * fills with frames (frames.h) and whose TX ring it reads. */
#ifndef DPW_TEST_ENGINE_FIXTURE_H
#define DPW_TEST_ENGINE_FIXTURE_H

#include <stdbool.h>

#include "frames.h"

struct dpw_engine;
struct rte_mbuf;
struct rte_mempool;
struct rte_ring;

extern struct dpw_engine *engine;
extern struct rte_mempool *pool;
extern struct rte_ring *to_stack, *from_stack;
extern struct frame_addrs peer;   /* peer (198.18.0.1) -> stack (198.18.0.2/24) */

/* EAL (no hugepages, no PCI, a file prefix of its own), the ring port, the engine, and
 * silence after its start-up announcement. false, with a message on stderr, on failure. */
bool fixture_start(const char *argv0);
/* The same with an IPv6 address too (as dpwsk's --ip6 takes it, e.g. "2001:2::2/64"). */
bool fixture_start_ip6(const char *argv0, const char *ip6);
/* One frame into the stack's RX ring: false if there was none or the ring was full. */
bool fixture_inject(struct rte_mbuf *m);
/* Poll until the RX ring is empty and the stack is idle, then take what it sent. */
unsigned run_and_collect(struct rte_mbuf **out, unsigned max);
void free_all(struct rte_mbuf **m, unsigned n);
/* dpw_engine_shutdown (every connection aborted, a RST to each peer), then what the stack
 * sent meanwhile: up to max frames into out, the rest freed (out may be NULL). How many went
 * into out. The stats stay readable until fixture_end. */
unsigned fixture_shutdown(struct rte_mbuf **out, unsigned max);
/* Destroy the engine, free the rings, end EAL. */
void fixture_end(void);

#endif /* DPW_TEST_ENGINE_FIXTURE_H */
