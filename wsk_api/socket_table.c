/* The handle table. Sockets live in one array allocated at first use and never freed while
 * the process runs, so any thread can check a PWSK_SOCKET without touching freed memory:
 * a pointer outside the array is not a socket; a slot inside it says whether it is live.
 * Closed slots wait in a FIFO quarantine before reuse, so a stale handle keeps answering
 * STATUS_INVALID_HANDLE for a long time (WSK-C6): at least DPW_QUARANTINE later closes on the
 * same lcore; the generation tells requests queued before a reuse from those made after. */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "provider_test_hooks.h"
#include "socket_internal.h"

/* Closed slots wait in a FIFO before reuse, oldest first: one per lcore, touched in the
 * normal course only by its thread, so that making and freeing sockets on a lcore writes
 * nothing that another lcore reads (issue 15: no shared writes on the hot path); and one,
 * under shared.lock, for sockets freed on any other thread. */
#define DPW_QUARANTINE  (1u << 14)      /* closed slots that must wait before reuse, per FIFO */
/* Never-used slots a lcore takes from the table at a time, under the lock. */
#define FRESH_BATCH     64u
/* Room for every socket lwIP's pools can back, twice over, and every FIFO's quarantine; only
 * address space until used. */
#define DPW_MAX_SOCKETS                                                                   \
	(2u * (MEMP_NUM_TCP_PCB + MEMP_NUM_TCP_PCB_LISTEN + MEMP_NUM_UDP_PCB) +             \
	 (DPW_MAX_LCORES + 1) * (DPW_QUARANTINE + FRESH_BATCH))

struct slot_fifo {
	struct dpw_socket *head, *tail;
	uint32_t count;
};

static struct dpw_socket *table;
/* What the lcores share, written only when one needs slots beyond its own (64 at a time) or a
 * socket is freed off the lcores: a line of its own, away from the table's address, which
 * every call reads (dpw_socket_is_slot). */
static struct {
	_Alignas(64) pthread_mutex_t lock;
	struct slot_fifo closed_elsewhere;   /* [lock] */
	uint32_t next_unused;                /* [lock] */
} shared = { .lock = PTHREAD_MUTEX_INITIALIZER };

/* A lcore's own slots. Its lock is taken by its thread on every make and free, uncontended
 * and on a line of its own, so it costs an atomic on a private line; another thread takes
 * it only once the table is used up, to find a slot this lcore holds (take_anywhere), so
 * that a full table refuses a socket only when no slot is free anywhere. */
static struct lcore_slots {
	_Alignas(64) pthread_spinlock_t lock;
	struct slot_fifo closed;          /* [lock] */
	uint32_t fresh_next, fresh_end;   /* [lock] never-used slots taken in a batch */
} per_lcore[DPW_MAX_LCORES];
static pthread_once_t per_lcore_once = PTHREAD_ONCE_INIT;

static void per_lcore_init(void)
{
	for (unsigned i = 0; i < DPW_MAX_LCORES; i++)
		pthread_spin_init(&per_lcore[i].lock, PTHREAD_PROCESS_PRIVATE);
}

static void fifo_push(struct slot_fifo *f, struct dpw_socket *s)
{
	s->free_next = NULL;
	if (f->tail != NULL)
		f->tail->free_next = s;
	else
		f->head = s;
	f->tail = s;
	f->count++;
}

static struct dpw_socket *fifo_pop(struct slot_fifo *f)
{
	struct dpw_socket *s = f->head;

	if (s == NULL)
		return NULL;
	f->head = s->free_next;
	if (f->head == NULL)
		f->tail = NULL;
	f->count--;
	return s;
}

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

static struct dpw_socket *fresh(uint32_t index)
{
	struct dpw_socket *s = &table[index];

	s->index = index;
	return s;
}

/* From one lcore's slots, under its lock: the oldest closed slot once its quarantine is
 * full (or, with young set, however young), else a never-used one from its batch. */
static struct dpw_socket *take_from(struct lcore_slots *l, bool young)
{
	struct dpw_socket *s = NULL;

	pthread_spin_lock(&l->lock);
	if (l->closed.count > (young ? 0 : DPW_QUARANTINE))
		s = fifo_pop(&l->closed);
	else if (l->fresh_next < l->fresh_end)
		s = fresh(l->fresh_next++);
	pthread_spin_unlock(&l->lock);
	return s;
}

/* The table is used up: any free slot, wherever it waits, however young. The quarantine
 * gives way before a refusal does (WSK-C6 holds only while there is room). */
static struct dpw_socket *take_anywhere(int me)
{
	struct dpw_socket *s = NULL;

	if (me >= 0 && (s = take_from(&per_lcore[me], true)) != NULL)
		return s;
	pthread_mutex_lock(&shared.lock);
	s = fifo_pop(&shared.closed_elsewhere);
	pthread_mutex_unlock(&shared.lock);
	for (unsigned i = 0; s == NULL && i < DPW_MAX_LCORES; i++)
		if ((int)i != me)
			s = take_from(&per_lcore[i], true);
	return s;
}

/* A slot for a socket made on lcore me (-1: another thread): the oldest closed one of its
 * FIFO once the quarantine is full, else a never-used one, else (the table used up) any
 * free one. Only the batches of never-used slots, other threads and a used-up table take
 * the table's lock. */
static struct dpw_socket *take_slot(int me)
{
	struct lcore_slots *l = me >= 0 ? &per_lcore[me] : NULL;
	struct dpw_socket *s = NULL;

	pthread_once(&per_lcore_once, per_lcore_init);
	if (l != NULL && (s = take_from(l, false)) != NULL)
		return s;
	pthread_mutex_lock(&shared.lock);
	if (!table_init()) {
		pthread_mutex_unlock(&shared.lock);
		return NULL;
	}
	if (l == NULL && shared.closed_elsewhere.count > DPW_QUARANTINE) {
		s = fifo_pop(&shared.closed_elsewhere);
	} else if (shared.next_unused < DPW_MAX_SOCKETS) {
		uint32_t n = l != NULL ? FRESH_BATCH : 1;

		if (n > DPW_MAX_SOCKETS - shared.next_unused)
			n = DPW_MAX_SOCKETS - shared.next_unused;
		s = fresh(shared.next_unused);
		if (l != NULL) {
			pthread_spin_lock(&l->lock);
			l->fresh_next = shared.next_unused + 1;
			l->fresh_end = shared.next_unused + n;
			pthread_spin_unlock(&l->lock);
		}
		shared.next_unused += n;
	}
	pthread_mutex_unlock(&shared.lock);
	return s != NULL ? s : take_anywhere(me);
}

unsigned dpw_test_socket_table_slots(void)
{
	return DPW_MAX_SOCKETS;
}

bool dpw_socket_is_slot(PWSK_SOCKET h)
{
	uintptr_t p = (uintptr_t)h, base = (uintptr_t)table;

	return table != NULL && p >= base && p < base + sizeof(*table) * DPW_MAX_SOCKETS &&
	       (p - base) % sizeof(*table) == 0;
}

struct dpw_socket *dpw_socket_alloc(struct dpw_client *c, const struct dpw_socket_kind *kind)
{
	int me = dpw_self_lcore();
	struct dpw_socket *s = take_slot(me);
	uint32_t gen;

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
	atomic_store_explicit(&s->owner, (uint16_t)(me < 0 ? 0 : me), memory_order_relaxed);
	atomic_store_explicit(&s->entry, (uint16_t)(me < 0 ? 0 : me), memory_order_relaxed);
	atomic_store(&s->gen, gen);
	atomic_store(&s->handle_state, DPW_HANDLE_LIVE);
	dpw_client_count(c, DPW_CC_MADE);
	dpw_count(DPW_C_SOCKETS_MADE, 1);
	return s;
}

void dpw_socket_release(struct dpw_socket *s)
{
	int me = dpw_self_lcore();

	atomic_store(&s->handle_state, DPW_HANDLE_DEAD);
	dpw_count(DPW_C_SOCKETS_FREED, 1);
	if (me >= 0) {
		struct lcore_slots *l = &per_lcore[me];

		pthread_spin_lock(&l->lock);
		fifo_push(&l->closed, s);
		pthread_spin_unlock(&l->lock);
		return;
	}
	pthread_mutex_lock(&shared.lock);
	fifo_push(&shared.closed_elsewhere, s);
	pthread_mutex_unlock(&shared.lock);
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
