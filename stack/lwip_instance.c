/* Memory for a per-thread lwIP instance (lwip-0021, lwipopts.h's DPW_LWIP_PER_THREAD): the
 * pools and TCP tables lwip_init() asks for, zeroed, kept for as long as the thread lives and
 * freed when it ends. lwIP has no way to be taken down, so an instance lasts as long as its
 * thread; an engine destroyed and created again on the same thread reuses it, as the
 * one-instance build reuses its globals. */
#include <pthread.h>
#include <stddef.h>
#include <stdlib.h>

#include "lwip/opt.h"

#if LWIP_INSTANCES

struct instance_block {
	struct instance_block *next;
	max_align_t data[];
};

static pthread_key_t blocks_key;
static pthread_once_t blocks_once = PTHREAD_ONCE_INIT;
static __thread struct instance_block *blocks;   /* this thread's, newest first */

static void free_blocks(void *head)
{
	for (struct instance_block *b = head, *next; b != NULL; b = next) {
		next = b->next;
		free(b);
	}
}

static void make_key(void)
{
	if (pthread_key_create(&blocks_key, free_blocks) != 0)
		abort();   /* out of keys at start-up: nothing sensible to go on with */
}

void *dpw_lwip_instance_alloc(size_t bytes)
{
	struct instance_block *b = calloc(1, sizeof(*b) + bytes);

	if (b == NULL)
		return NULL;
	pthread_once(&blocks_once, make_key);
	b->next = blocks;
	blocks = b;
	/* The key's value is what the destructor gets when the thread ends. */
	pthread_setspecific(blocks_key, blocks);
	return b->data;
}

#endif /* LWIP_INSTANCES */
