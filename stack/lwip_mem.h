/* lwIP's heap (lwip_mem.c): the part the engine drives. Zero-copy TX blocks come from the
 * port's mbufs once the engine has named the pool. Without lwIP's headers. */
#ifndef DPW_LWIP_MEM_H
#define DPW_LWIP_MEM_H

#include <stdint.h>

struct rte_mbuf;
struct rte_mempool;

/* Carve lwIP's blocks that fit from mbufs of pool, at most cap of them at once; NULL, 0: stop
 * (blocks already handed out are still freed into their mbufs). */
void dpw_lwip_mem_tx_pool(struct rte_mempool *pool, uint32_t cap);
/* The mbuf whose buffer holds mem (what lwIP's mem_malloc() returned: a PBUF_RAM pbuf), or
 * NULL. */
struct rte_mbuf *dpw_lwip_mem_mbuf(const void *mem);
/* Free the blocks kept for reuse (the caller's, in the per-thread build: its thread is about
 * to end, or its engine is gone). Blocks lwIP still holds are not touched. */
void dpw_lwip_mem_release(void);

#endif /* DPW_LWIP_MEM_H */
