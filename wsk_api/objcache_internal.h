/* Fixed-size objects for one thread (the lcore: data indications), from a free list that
 * grows from the heap a slab at a time and never shrinks, so that once it has grown to the
 * peak in use, taking and giving back objects calls the heap no more (objcache.c). */
#ifndef DPWSK_OBJCACHE_INTERNAL_H
#define DPWSK_OBJCACHE_INTERNAL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

struct dpw_slab;

struct dpw_objcache {
	/* A cache is an lcore's (arrays indexed by lcore): a line of its own (DPW_LCORE_ALIGNED). */
	_Alignas(64) size_t size;    /* bytes per object */
	unsigned per_slab;           /* objects per heap call */
	atomic_ullong *heap_calls;   /* counted here each time the heap is asked */
	void *free;                  /* free objects, linked through their first word */
	struct dpw_slab *slabs;      /* every slab, so that none is ever lost */
};

#define DPW_OBJCACHE(obj_size, n, counter) { .size = (obj_size), .per_slab = (n), \
					     .heap_calls = (counter) }

/* Set by a test (provider_test_hooks.h): every object and request from the heap instead. */
extern atomic_bool dpw_heap_only;

/* A zeroed object; NULL when the heap has no slab to give. */
void *dpw_objcache_get(struct dpw_objcache *c);
void dpw_objcache_put(struct dpw_objcache *c, void *obj);

#endif /* DPWSK_OBJCACHE_INTERNAL_H */
