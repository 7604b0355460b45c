/* Client registration (WSK-R1): WskRegister, WskCaptureProviderNPI, WskReleaseProviderNPI,
 * WskDeregister. A client is a small object with its own completion ring; several clients
 * may be registered at once. */
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
static struct dpw_client *clients;

/* A PWSK_CLIENT is only trusted once found in the list of registered clients. */
struct dpw_client *dpw_client_from_handle(PWSK_CLIENT handle)
{
	struct dpw_client *c;

	if (handle == NULL)
		return NULL;
	pthread_mutex_lock(&clients_lock);
	for (c = clients; c != NULL && c != handle; c = c->next)
		;
	pthread_mutex_unlock(&clients_lock);
	return c;
}

NTSTATUS WskRegister(PWSK_CLIENT_NPI WskClientNpi, PWSK_REGISTRATION WskRegistration)
{
	struct dpw_client *c;

	if (WskClientNpi == NULL || WskRegistration == NULL || WskClientNpi->Dispatch == NULL)
		return STATUS_INVALID_PARAMETER;
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		return STATUS_INSUFFICIENT_RESOURCES;
	c->magic = DPW_CLIENT_MAGIC;
	c->npi = *WskClientNpi;
	c->version = WskClientNpi->Dispatch->Version;
	if (dpw_completion_ring_create(c) != 0) {
		free(c);
		return STATUS_INSUFFICIENT_RESOURCES;
	}
	memset(WskRegistration, 0, sizeof(*WskRegistration));
	WskRegistration->ReservedRegistrationContext = c;
	pthread_mutex_lock(&clients_lock);
	c->next = clients;
	clients = c;
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
	struct dpw_client *c = client_of(WskRegistration), **pp;

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
	pthread_mutex_lock(&clients_lock);
	for (pp = &clients; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	}
	pthread_mutex_unlock(&clients_lock);
	dpw_completion_ring_destroy(c);
	c->magic = 0;
	free(c);
	memset(WskRegistration, 0, sizeof(*WskRegistration));
}

/* provider.c tells waiting captures that the provider is attached. */
void dpw_registration_provider_ready(void)
{
	pthread_mutex_lock(&clients_lock);
	pthread_cond_broadcast(&clients_cond);
	pthread_mutex_unlock(&clients_lock);
}
