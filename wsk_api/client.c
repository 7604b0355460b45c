/* The client table (WSK-R1). Clients live in a static table that is never freed, so a
 * PWSK_CLIENT can be checked without a lock and a stale one (deregistered) is recognised
 * instead of dereferenced. Slots are reused round-robin, so a stale handle names nobody for
 * as long as possible. One lock and condition guard the slots and let registration wait for
 * captures, sockets and the provider (registration.c holds the API above this). */
#include "request_internal.h"

static pthread_mutex_t clients_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t clients_cond = PTHREAD_COND_INITIALIZER;
static struct dpw_client client_table[DPW_MAX_CLIENTS];
static unsigned next_slot;   /* [clients_lock] where the round-robin search starts */

void dpw_clients_lock(void)
{
	pthread_mutex_lock(&clients_lock);
}

void dpw_clients_unlock(void)
{
	pthread_mutex_unlock(&clients_lock);
}

int dpw_clients_wait(const struct timespec *deadline)
{
	return deadline == NULL ? pthread_cond_wait(&clients_cond, &clients_lock)
				: pthread_cond_timedwait(&clients_cond, &clients_lock, deadline);
}

void dpw_clients_broadcast(void)
{
	pthread_cond_broadcast(&clients_cond);
}

struct dpw_client *dpw_client_free_slot(void)
{
	for (unsigned i = 0; i < DPW_MAX_CLIENTS; i++) {
		unsigned k = (next_slot + i) % DPW_MAX_CLIENTS;

		if (atomic_load(&client_table[k].state) == DPW_CLIENT_FREE) {
			next_slot = k + 1;
			return &client_table[k];
		}
	}
	return NULL;
}

struct dpw_client *dpw_client_from_handle(PWSK_CLIENT handle)
{
	uintptr_t p = (uintptr_t)handle, base = (uintptr_t)client_table;
	struct dpw_client *c;

	if (p < base || p >= base + sizeof(client_table) ||
	    (p - base) % sizeof(struct dpw_client) != 0)
		return NULL;
	c = (struct dpw_client *)handle;
	return atomic_load_explicit(&c->state, memory_order_acquire) == DPW_CLIENT_LIVE ? c : NULL;
}

struct dpw_client *dpw_client_enter(PWSK_CLIENT handle)
{
	struct dpw_client *c = dpw_client_from_handle(handle);

	if (c == NULL)
		return NULL;
	atomic_fetch_add(&c->users, 1);
	/* Deregister marks the client GONE, then waits for users to leave: seen LIVE after
	 * announcing ourselves, the ring stays until we leave. */
	if (atomic_load(&c->state) != DPW_CLIENT_LIVE) {
		atomic_fetch_sub(&c->users, 1);
		return NULL;
	}
	return c;
}

void dpw_client_leave(struct dpw_client *c)
{
	atomic_fetch_sub(&c->users, 1);
}

void dpw_client_count(struct dpw_client *c, enum dpw_client_count what)
{
	int me = dpw_self_lcore();
	atomic_uint_fast64_t *n;

	if (me < 0) {
		atomic_fetch_add_explicit(&c->here[DPW_MAX_LCORES].n[what], 1, memory_order_release);
		return;
	}
	n = &c->here[me].n[what];
	atomic_store_explicit(n, atomic_load_explicit(n, memory_order_relaxed) + 1,
			      memory_order_release);
}

/* Every line's ends first, then every line's starts: an end counted has its start counted
 * too (it happened before), so the difference is never short of what is really open. */
static uint64_t open_count(struct dpw_client *c, enum dpw_client_count start,
			   enum dpw_client_count end)
{
	uint64_t started = 0, ended = 0;

	for (unsigned i = 0; i <= DPW_MAX_LCORES; i++)
		ended += atomic_load_explicit(&c->here[i].n[end], memory_order_acquire);
	for (unsigned i = 0; i <= DPW_MAX_LCORES; i++)
		started += atomic_load_explicit(&c->here[i].n[start], memory_order_acquire);
	return started - ended;
}

uint64_t dpw_client_sockets_open(struct dpw_client *c)
{
	return open_count(c, DPW_CC_MADE, DPW_CC_FREED);
}

uint64_t dpw_client_due(struct dpw_client *c)
{
	return open_count(c, DPW_CC_DUE_IN, DPW_CC_DUE_OUT);
}

uint64_t dpw_client_lent(struct dpw_client *c)
{
	return open_count(c, DPW_CC_LENT, DPW_CC_RETURNED);
}

void dpw_client_counts_reset(struct dpw_client *c)
{
	for (unsigned i = 0; i <= DPW_MAX_LCORES; i++)
		for (unsigned k = 0; k < DPW_CC_N; k++)
			atomic_store(&c->here[i].n[k], 0);
}

/* Called by the socket code when one of a client's sockets is gone. WskDeregister re-reads
 * the counts every 10 ms; it is woken at once only while it waits. */
void dpw_client_socket_closed(struct dpw_client *c)
{
	dpw_client_count(c, DPW_CC_FREED);
	if (!atomic_load_explicit(&c->deregistering, memory_order_acquire))
		return;
	dpw_clients_lock();
	dpw_clients_broadcast();
	dpw_clients_unlock();
}

/* provider.c tells waiting captures that the provider is attached. */
void dpw_clients_provider_ready(void)
{
	dpw_clients_lock();
	dpw_clients_broadcast();
	dpw_clients_unlock();
}

unsigned dpw_clients_live(void)
{
	unsigned n = 0;

	for (unsigned i = 0; i < DPW_MAX_CLIENTS; i++)
		n += atomic_load(&client_table[i].state) != DPW_CLIENT_FREE;
	return n;
}
