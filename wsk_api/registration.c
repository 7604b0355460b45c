/* Client registration (WSK-R1): WskRegister, WskCaptureProviderNPI, WskReleaseProviderNPI,
 * WskDeregister. A client is a small object with its own completion ring; several clients
 * may be registered at once. */
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "provider_internal.h"

/* The provider's dispatch table for client-level calls (dispatch.c). */
extern const WSK_PROVIDER_DISPATCH dpw_provider_dispatch;
/* Reports and releases the security descriptors the client left cached (security.c, C7). */
void dpw_security_client_gone(struct dpw_client *c);

#define DPW_WSK_VERSION MAKE_WSK_VERSION(1, 0)

static pthread_mutex_t clients_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t clients_cond = PTHREAD_COND_INITIALIZER;
static struct dpw_client client_table[DPW_MAX_CLIENTS];
static unsigned next_slot;   /* [clients_lock] where the round-robin search starts */

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

NTSTATUS WskRegister(PWSK_CLIENT_NPI WskClientNpi, PWSK_REGISTRATION WskRegistration)
{
	struct dpw_client *c = NULL;

	if (WskClientNpi == NULL || WskRegistration == NULL || WskClientNpi->Dispatch == NULL)
		return STATUS_INVALID_PARAMETER;
	pthread_mutex_lock(&clients_lock);
	for (unsigned i = 0; i < DPW_MAX_CLIENTS && c == NULL; i++) {
		unsigned k = (next_slot + i) % DPW_MAX_CLIENTS;

		if (atomic_load(&client_table[k].state) == DPW_CLIENT_FREE) {
			c = &client_table[k];
			next_slot = k + 1;
		}
	}
	if (c == NULL) {
		pthread_mutex_unlock(&clients_lock);
		return STATUS_INSUFFICIENT_RESOURCES;
	}
	atomic_store(&c->users, 0);
	atomic_store(&c->captured, 0);
	atomic_store(&c->sockets, 0);
	atomic_store(&c->deregistering, false);
	atomic_store(&c->lent_count, 0);
	c->lent.next = c->lent.prev = NULL;
	c->static_events = 0;
	c->static_locked = false;
	c->npi = *WskClientNpi;
	c->version = WskClientNpi->Dispatch->Version;
	if (dpw_completion_ring_create(c) != 0) {
		pthread_mutex_unlock(&clients_lock);
		return STATUS_INSUFFICIENT_RESOURCES;
	}
	memset(WskRegistration, 0, sizeof(*WskRegistration));
	WskRegistration->ReservedRegistrationContext = c;
	atomic_store_explicit(&c->state, DPW_CLIENT_LIVE, memory_order_release);
	pthread_mutex_unlock(&clients_lock);
	return STATUS_SUCCESS;
}

static struct dpw_client *client_of(PWSK_REGISTRATION reg)
{
	return reg != NULL ? dpw_client_from_handle(reg->ReservedRegistrationContext) : NULL;
}

NTSTATUS WskCaptureProviderNPI(PWSK_REGISTRATION WskRegistration, ULONG WaitTimeout,
			       PWSK_PROVIDER_NPI WskProviderNpi)
{
	struct dpw_client *c = client_of(WskRegistration);
	struct timespec deadline;

	if (WskProviderNpi == NULL)
		return STATUS_INVALID_PARAMETER;
	if (c == NULL || atomic_load(&c->deregistering))
		return STATUS_DEVICE_NOT_READY;
	if (WSK_MAJOR_VERSION(c->version) != WSK_MAJOR_VERSION(DPW_WSK_VERSION))
		return STATUS_NOINTERFACE;

	/* The provider is ready once attached to an engine; wait for that as asked. */
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += WaitTimeout / 1000;
	deadline.tv_nsec += (long)(WaitTimeout % 1000) * 1000000L;
	if (deadline.tv_nsec >= 1000000000L) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&clients_lock);
	while (!atomic_load(&dpw_provider.attached) && WaitTimeout != WSK_NO_WAIT) {
		int rc = WaitTimeout == WSK_INFINITE_WAIT ?
				 pthread_cond_wait(&clients_cond, &clients_lock) :
				 pthread_cond_timedwait(&clients_cond, &clients_lock, &deadline);
		if (rc != 0)
			break;
	}
	pthread_mutex_unlock(&clients_lock);
	if (!atomic_load(&dpw_provider.attached))
		return STATUS_NOINTERFACE;
	if (atomic_load(&c->deregistering))
		return STATUS_DEVICE_NOT_READY;

	atomic_fetch_add(&c->captured, 1);
	WskProviderNpi->Client = c;
	WskProviderNpi->Dispatch = &dpw_provider_dispatch;
	return STATUS_SUCCESS;
}

VOID WskReleaseProviderNPI(PWSK_REGISTRATION WskRegistration)
{
	struct dpw_client *c = client_of(WskRegistration);

	if (c == NULL)
		return;
	pthread_mutex_lock(&clients_lock);
	if (atomic_load(&c->captured) > 0)
		atomic_fetch_sub(&c->captured, 1);
	pthread_cond_broadcast(&clients_cond);
	pthread_mutex_unlock(&clients_lock);
}

NTSTATUS WskQueryProviderCharacteristics(PWSK_REGISTRATION WskRegistration,
					 PWSK_PROVIDER_CHARACTERISTICS Characteristics)
{
	if (client_of(WskRegistration) == NULL || Characteristics == NULL)
		return STATUS_INVALID_PARAMETER;
	Characteristics->HighestVersion = DPW_WSK_VERSION;
	Characteristics->LowestVersion = DPW_WSK_VERSION;
	return STATUS_SUCCESS;
}

/* Called by the socket code when a client's socket count drops, so Deregister can go on. */
void dpw_client_socket_closed(struct dpw_client *c)
{
	pthread_mutex_lock(&clients_lock);
	atomic_fetch_sub(&c->sockets, 1);
	pthread_cond_broadcast(&clients_cond);
	pthread_mutex_unlock(&clients_lock);
}

/* Waits until every NPI is released and every socket closed (WSK-R1). The client's
 * completions must still be drained meanwhile, so the wait polls them on this thread. */
VOID WskDeregister(PWSK_REGISTRATION WskRegistration)
{
	struct dpw_client *c = client_of(WskRegistration);

	if (c == NULL)
		return;
	atomic_store(&c->deregistering, true);
	for (;;) {
		struct timespec t;

		WskPollCompletions(c, 1024);
		pthread_mutex_lock(&clients_lock);
		if (atomic_load(&c->captured) == 0 && atomic_load(&c->sockets) == 0) {
			pthread_mutex_unlock(&clients_lock);
			break;
		}
		clock_gettime(CLOCK_REALTIME, &t);
		t.tv_nsec += 10 * 1000000L;   /* wake up to run completions that arrive */
		if (t.tv_nsec >= 1000000000L) {
			t.tv_sec++;
			t.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&clients_cond, &clients_lock, &t);
		pthread_mutex_unlock(&clients_lock);
	}
	/* Completions of the last closes may still be on the ring. */
	while (WskPollCompletions(c, 1024) > 0)
		;
	dpw_security_client_gone(c);
	dpw_lent_sweep(c);
	/* Stale handles now see no client; threads already inside a completion call finish
	 * (a waiting one is woken) before the ring goes. */
	atomic_store(&c->state, DPW_CLIENT_GONE);
	for (;;) {
		dpw_completion_wake_all(c);
		if (atomic_load(&c->users) == 0)
			break;
		sched_yield();
	}
	dpw_completion_ring_destroy(c);
	memset(WskRegistration, 0, sizeof(*WskRegistration));
	atomic_store(&c->state, DPW_CLIENT_FREE);
}

/* provider.c tells waiting captures that the provider is attached. */
void dpw_registration_provider_ready(void)
{
	pthread_mutex_lock(&clients_lock);
	pthread_cond_broadcast(&clients_cond);
	pthread_mutex_unlock(&clients_lock);
}
