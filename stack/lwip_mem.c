/* lwIP's heap (MEM_LIBC_MALLOC: PBUF_RAM pbufs, above all tcp_write's copies of send data)
 * served from size classes kept for reuse, so that once warm a segment sent and acknowledged
 * costs no call into the C library's allocator. lwIP runs on one thread at a time (the
 * lcore; a test's or fuzzer's thread), so the free lists take no lock. Each class keeps at
 * most CLASS_KEEP blocks; beyond that, and for blocks larger than the largest class, the C
 * library's heap as before.
 *
 * Zero-copy TX: once the engine has given a pool (dpw_lwip_mem_tx_pool), blocks that fit in
 * an mbuf's buffer are carved from the port's mbufs instead, so that a segment lwIP builds in
 * such a block (a PBUF_RAM pbuf: its struct, then headers and data) can go to the device as
 * the mbuf itself (dpw_lwip_mem_mbuf), with a reference of its own, and no copy. lwIP's
 * reference is the block's: freeing the block drops it, and the mbuf returns to the pool
 * once the device has let go too. At most tx_cap mbufs are held so, so that data waiting to
 * be acknowledged cannot starve the receive side; beyond that, the classes as before. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <rte_mbuf.h>

#include "dpw/poison.h"
#include "lwip_mem.h"
#include "lwip/opt.h"
#include "lwip/mem.h"

#define CLASSES    6           /* 128, 256, 512, 1024, 2048, 4096 bytes */
#define MIN_SHIFT  7
#define CLASS_KEEP 8192u       /* free blocks kept per class: at most 8192 x 4 KiB = 32 MiB */

/* Before each block: which class it is (or none: the C library's; or an mbuf's buffer, and
 * which mbuf), keeping the payload aligned for anything. */
union header {
	struct {
		uint32_t cls;
		struct rte_mbuf *mbuf;   /* cls FROM_MBUF */
	};
	max_align_t align;
};

struct free_block {
	struct free_block *next;
};

/* Per lwIP instance: per thread in the per-thread build (lwipopts.h). */
static LWIP_PER_INSTANCE struct {
	struct free_block *head;
	uint32_t count;
} classes[CLASSES];

#define FROM_HEAP UINT32_MAX
#define FROM_MBUF (UINT32_MAX - 1)

static LWIP_PER_INSTANCE struct rte_mempool *tx_pool;   /* NULL: no zero-copy blocks */
static LWIP_PER_INSTANCE uint32_t tx_held, tx_cap;

void dpw_lwip_mem_tx_pool(struct rte_mempool *pool, uint32_t cap)
{
	tx_pool = pool;
	tx_cap = cap;
}

/* lwIP's mem_malloc() puts its statistics helper (the size) before what it hands out: the
 * same offset as in its mem.c, so that dpw_lwip_mem_mbuf() takes what lwIP's callers hold. */
#if LWIP_STATS && MEM_STATS
#define LWIP_MEM_HELPER LWIP_MEM_ALIGN_SIZE(sizeof(mem_size_t))
#else
#define LWIP_MEM_HELPER 0
#endif

struct rte_mbuf *dpw_lwip_mem_mbuf(const void *mem)
{
	const union header *h = (const union header *)((const char *)mem - LWIP_MEM_HELPER) - 1;

	return h->cls == FROM_MBUF ? h->mbuf : NULL;
}

/* A block in an mbuf's buffer (from its start: headroom is of no use here), or NULL. */
static void *mbuf_block(size_t size)
{
	struct rte_mbuf *m;
	union header *h;

	if (tx_pool == NULL || tx_held >= tx_cap ||
	    sizeof(*h) + size > rte_pktmbuf_data_room_size(tx_pool) ||
	    (m = rte_pktmbuf_alloc(tx_pool)) == NULL)
		return NULL;
	h = m->buf_addr;
	h->cls = FROM_MBUF;
	h->mbuf = m;
	tx_held++;
	return h + 1;
}

static uint32_t class_of(size_t size)
{
	for (uint32_t c = 0; c < CLASSES; c++)
		if (size <= (size_t)1 << (MIN_SHIFT + c))
			return c;
	return FROM_HEAP;
}

void *dpw_lwip_malloc(size_t size)
{
	uint32_t c = class_of(size);
	union header *h;
	void *block;

	if (tx_pool != NULL && (block = mbuf_block(size)) != NULL)
		return block;
	if (c != FROM_HEAP && classes[c].head != NULL) {
		struct free_block *b = classes[c].head;

		DPW_UNPOISON(b, (size_t)1 << (MIN_SHIFT + c));
		classes[c].head = b->next;
		classes[c].count--;
		h = (union header *)b - 1;
		DPW_UNPOISON(h, sizeof(*h));
		return h + 1;
	}
	h = malloc(sizeof(*h) + (c != FROM_HEAP ? (size_t)1 << (MIN_SHIFT + c) : size));
	if (h == NULL)
		return NULL;
	h->cls = c;
	return h + 1;
}

void *dpw_lwip_calloc(size_t n, size_t size)
{
	void *p;

	if (size != 0 && n > SIZE_MAX / size)
		return NULL;
	p = dpw_lwip_malloc(n * size);
	if (p != NULL)
		memset(p, 0, n * size);
	return p;
}

void dpw_lwip_free(void *p)
{
	union header *h;
	uint32_t c;

	if (p == NULL)
		return;
	h = (union header *)p - 1;
	c = h->cls;
	if (c == FROM_MBUF) {
		tx_held--;
		rte_pktmbuf_free(h->mbuf);   /* the device may still hold it: its free is last */
		return;
	}
	if (c == FROM_HEAP || classes[c].count >= CLASS_KEEP) {
		free(h);
		return;
	}
	((struct free_block *)p)->next = classes[c].head;
	classes[c].head = p;
	classes[c].count++;
	DPW_POISON(h, sizeof(*h));
	DPW_POISON((char *)p + sizeof(struct free_block),
		   ((size_t)1 << (MIN_SHIFT + c)) - sizeof(struct free_block));
}

void dpw_lwip_mem_release(void)
{
	for (uint32_t c = 0; c < CLASSES; c++) {
		while (classes[c].head != NULL) {
			struct free_block *b = classes[c].head;
			union header *h = (union header *)b - 1;

			DPW_UNPOISON(h, sizeof(*h) + ((size_t)1 << (MIN_SHIFT + c)));
			classes[c].head = b->next;
			free(h);
		}
		classes[c].count = 0;
	}
}
