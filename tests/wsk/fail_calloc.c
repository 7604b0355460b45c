/* The failing calloc of fail_calloc.h. */
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include "fail_calloc.h"

void *__real_calloc(size_t n, size_t size);
void *__wrap_calloc(size_t n, size_t size);

static _Atomic bool armed;
static pthread_t victim;                 /* written before armed is set */
static _Atomic unsigned long failed;

void *__wrap_calloc(size_t n, size_t size)
{
	if (atomic_load(&armed) && pthread_equal(pthread_self(), victim)) {
		atomic_fetch_add(&failed, 1);
		return NULL;
	}
	return __real_calloc(n, size);
}

void fail_calloc_on(pthread_t t)
{
	victim = t;
	atomic_store(&armed, true);
}

void fail_calloc_off(void)
{
	atomic_store(&armed, false);
}

unsigned long fail_calloc_count(void)
{
	return atomic_load(&failed);
}
