/* The handle table. Sockets live in one array allocated at first use and never freed while
 * the process runs, so any thread can check a PWSK_SOCKET without touching freed memory:
 * a pointer outside the array is not a socket; a slot inside it says whether it is live.
 * Closed slots wait in a FIFO quarantine before reuse, so a stale handle keeps answering
 * STATUS_INVALID_HANDLE for a long time (WSK-C6); the generation tells requests queued
 * before a reuse from those made after. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "socket_internal.h"

/* Room for every socket lwIP's pools can back, twice over (closed slots wait in the
 * quarantine); only address space until used. */
#define DPW_MAX_SOCKETS \
	(2u * (MEMP_NUM_TCP_PCB + MEMP_NUM_TCP_PCB_LISTEN + MEMP_NUM_UDP_PCB) + DPW_QUARANTINE)
#define DPW_QUARANTINE  (1u << 14)      /* closed slots that must wait before reuse */

static struct dpw_socket *table;
static pthread_mutex_t table_lock = PTHREAD_MUTEX_INITIALIZER;
static struct dpw_socket *free_head, *free_tail;  /* FIFO: oldest closed first */
static uint32_t free_count;
static uint32_t next_unused;

static bool table_init(void)
{
	if (table != NULL)
		return true;
	/* Reserve address space only; pages appear as slots are first used. */
	table = mmap(NULL, sizeof(*table) * DPW_MAX_SOCKETS, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (table == MAP_FAILED) {
		table = NULL;
		return false;
	}
	return true;
}

bool dpw_socket_is_slot(PWSK_SOCKET h)
{
	uintptr_t p = (uintptr_t)h, base = (uintptr_t)table;

	return table != NULL && p >= base && p < base + sizeof(*table) * DPW_MAX_SOCKETS &&
	       (p - base) % sizeof(*table) == 0;
}

struct dpw_socket *dpw_socket_alloc(struct dpw_client *c, const struct dpw_socket_kind *kind)
{
	struct dpw_socket *s = NULL;
	uint32_t gen;

	pthread_mutex_lock(&table_lock);
	if (!table_init()) {
		pthread_mutex_unlock(&table_lock);
		return NULL;
	}
	/* Prefer never-used slots until the quarantine is full, then the oldest closed one. */
	if (free_count > DPW_QUARANTINE || (next_unused == DPW_MAX_SOCKETS && free_head)) {
		s = free_head;
		free_head = s->free_next;
		if (free_head == NULL)
			free_tail = NULL;
		free_count--;
	} else if (next_unused < DPW_MAX_SOCKETS) {
		s = &table[next_unused];
		s->index = next_unused++;
	}
	pthread_mutex_unlock(&table_lock);
	if (s == NULL)
		return NULL;

	gen = atomic_load(&s->gen) + 1;
	{
		uint32_t index = s->index;

		memset((char *)s + offsetof(struct dpw_socket, index), 0,
		       sizeof(*s) - offsetof(struct dpw_socket, index));
		s->index = index;
	}
	s->category = kind->category;
	s->kind = kind;
	s->tp = kind->tp;
	s->client = c;
	s->wsk.Dispatch = kind->dispatch;
	atomic_store(&s->callers, 0);
	{
		int me = dpw_self_lcore();

		atomic_store_explicit(&s->owner, (uint16_t)(me < 0 ? 0 : me), memory_order_relaxed);
		atomic_store_explicit(&s->entry, (uint16_t)(me < 0 ? 0 : me), memory_order_relaxed);
	}
	atomic_store(&s->gen, gen);
	atomic_store(&s->handle_state, DPW_HANDLE_LIVE);
	atomic_fetch_add(&c->sockets, 1);
	atomic_fetch_add(&dpw_counters.sockets_open, 1);
	return s;
}

void dpw_socket_release(struct dpw_socket *s)
{
	atomic_store(&s->handle_state, DPW_HANDLE_DEAD);
	pthread_mutex_lock(&table_lock);
	s->free_next = NULL;
	if (free_tail != NULL)
		free_tail->free_next = s;
	else
		free_head = s;
	free_tail = s;
	free_count++;
	pthread_mutex_unlock(&table_lock);
	atomic_fetch_sub(&dpw_counters.sockets_open, 1);
}

struct dpw_socket *dpw_socket_from_handle(PWSK_SOCKET h, uint32_t *gen, NTSTATUS *status)
{
	struct dpw_socket *s = (struct dpw_socket *)h;

	if (h == NULL || !dpw_socket_is_slot(h)) {
		*status = STATUS_INVALID_HANDLE;
		atomic_fetch_add_explicit(&dpw_counters.invalid_handles, 1, memory_order_relaxed);
		return NULL;
	}
	*gen = atomic_load_explicit(&s->gen, memory_order_acquire);
	if (atomic_load_explicit(&s->handle_state, memory_order_acquire) != DPW_HANDLE_LIVE) {
		*status = STATUS_INVALID_HANDLE;
		atomic_fetch_add_explicit(&dpw_counters.invalid_handles, 1, memory_order_relaxed);
		return NULL;
	}
	*status = STATUS_SUCCESS;
	return s;
}
