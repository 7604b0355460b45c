/* See objcache_internal.h. One thread per cache, so no atomics on the way; objects on the
 * free list are poisoned under ASan, so that a use after WskRelease still trips it. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "objcache_internal.h"
#include "provider_test_hooks.h"
#include "dpw/poison.h"


struct dpw_slab {
	struct dpw_slab *next;
	max_align_t objs[];
};

/* Objects are rounded up so that each starts aligned for anything. */
static size_t stride(const struct dpw_objcache *c)
{
	size_t a = _Alignof(max_align_t);

	return (c->size + a - 1) / a * a;
}

static int grow(struct dpw_objcache *c)
{
	size_t step = stride(c);
	struct dpw_slab *slab = malloc(sizeof(*slab) + step * c->per_slab);

	if (slab == NULL)
		return -1;
	atomic_fetch_add_explicit(c->heap_calls, 1, memory_order_relaxed);
	slab->next = c->slabs;
	c->slabs = slab;
	for (unsigned i = 0; i < c->per_slab; i++)
		dpw_objcache_put(c, (char *)slab->objs + i * step);
	return 0;
}

atomic_bool dpw_heap_only;

void dpw_test_provider_heap(bool on)
{
	atomic_store(&dpw_heap_only, on);
}

void *dpw_objcache_get(struct dpw_objcache *c)
{
	void *obj;

	if (atomic_load_explicit(&dpw_heap_only, memory_order_relaxed)) {
		/* A test's: one heap call each (put keeps it on the free list all the same). */
		obj = calloc(1, c->size);
		if (obj != NULL)
			atomic_fetch_add_explicit(c->heap_calls, 1, memory_order_relaxed);
		return obj;
	}

	if (c->free == NULL && grow(c) != 0)
		return NULL;
	obj = c->free;
	DPW_UNPOISON(obj, c->size);
	memcpy(&c->free, obj, sizeof(void *));
	memset(obj, 0, c->size);
	return obj;
}

void dpw_objcache_put(struct dpw_objcache *c, void *obj)
{
	memcpy(obj, &c->free, sizeof(void *));
	c->free = obj;
	DPW_POISON((char *)obj + sizeof(void *), c->size - sizeof(void *));
}
