/* lwIP's heap (MEM_LIBC_MALLOC: PBUF_RAM pbufs, above all tcp_write's copies of send data)
 * served from size classes kept for reuse, so that once warm a segment sent and acknowledged
 * costs no call into the C library's allocator. lwIP runs on one thread at a time (the
 * lcore; a test's or fuzzer's thread), so the free lists take no lock. Each class keeps at
 * most CLASS_KEEP blocks; beyond that, and for blocks larger than the largest class, the C
 * library's heap as before. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dpw/poison.h"
#include "lwip/opt.h"

#define CLASSES    6           /* 128, 256, 512, 1024, 2048, 4096 bytes */
#define MIN_SHIFT  7
#define CLASS_KEEP 8192u       /* free blocks kept per class: at most 8192 x 4 KiB = 32 MiB */

/* Before each block: which class it is (or none: the C library's), keeping the payload
 * aligned for anything. */
union header {
	uint32_t cls;
	max_align_t align;
};

struct free_block {
	struct free_block *next;
};

static struct {
	struct free_block *head;
	uint32_t count;
} classes[CLASSES];

#define FROM_HEAP UINT32_MAX

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
