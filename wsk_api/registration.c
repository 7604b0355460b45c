/* Client registration (WSK-R1): WskRegister, WskCaptureProviderNPI, WskReleaseProviderNPI,
 * WskDeregister. A client is a small object with its own completion ring; several clients
 * may be registered at once. */
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "provider_internal.h"

/* The provider's dispatch table for client-level calls (dispatch.c). */
extern const WSK_PROVIDER_DISPATCH dpw_provider_dispatch;
/* Reports and releases the security descriptors the client left cached (security.c, C7). */
void dpw_security_client_gone(struct dpw_client *c);

#define DPW_WSK_VERSION MAKE_WSK_VERSION(1, 0)

NTSTATUS WskRegister(PWSK_CLIENT_NPI WskClientNpi, PWSK_REGISTRATION WskRegistration)
{
	struct dpw_client *c = NULL;

	if (WskClientNpi == NULL || WskRegistration == NULL || WskClientNpi->Dispatch == NULL)
		return STATUS_INVALID_PARAMETER;
	dpw_clients_lock();
	c = dpw_client_free_slot();
	if (c == NULL) {
		dpw_clients_unlock();
		return STATUS_INSUFFICIENT_RESOURCES;
	}
	atomic_store(&c->users, 0);
	atomic_store(&c->captured, 0);
	dpw_client_counts_reset(c);
	atomic_store(&c->deregistering, false);
	for (unsigned i = 0; i < DPW_MAX_LCORES; i++)
		c->lent[i].head.next = c->lent[i].head.prev = NULL;
	c->static_events = 0;
	atomic_store(&c->static_locked, false);
	c->npi = *WskClientNpi;
	c->version = WskClientNpi->Dispatch->Version;
	if (dpw_completion_ring_create(c) != 0) {
		dpw_clients_unlock();
		return STATUS_INSUFFICIENT_RESOURCES;
	}
	atomic_store(&c->delivery, dpw_default_delivery());
	c->deliverer_running = false;
	if (dpw_delivery_start(c) != 0) {
		dpw_completion_ring_destroy(c);
		dpw_clients_unlock();
		return STATUS_INSUFFICIENT_RESOURCES;
	}
	memset(WskRegistration, 0, sizeof(*WskRegistration));
	WskRegistration->ReservedRegistrationContext = c;
	atomic_store_explicit(&c->state, DPW_CLIENT_LIVE, memory_order_release);
	dpw_clients_unlock();
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
	dpw_clients_lock();
	while (!atomic_load(&dpw_provider.attached) && WaitTimeout != WSK_NO_WAIT) {
		int rc = WaitTimeout == WSK_INFINITE_WAIT ?
				 dpw_clients_wait(NULL) : dpw_clients_wait(&deadline);
		if (rc != 0)
			break;
	}
	dpw_clients_unlock();
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
	dpw_clients_lock();
	if (atomic_load(&c->captured) > 0)
		atomic_fetch_sub(&c->captured, 1);
	dpw_clients_broadcast();
	dpw_clients_unlock();
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

/* WskDeregister: each lcore frees (and we report) the data indications the client never
 * released (C9), those it lent. Returns how many. */
static unsigned sweep_lent(struct dpw_client *c)
{
	struct timespec t0, t;
	unsigned n, asked = 0, lcores = dpw_lcore_count();

	if (dpw_client_lent(c) == 0)
		return 0;
	atomic_store(&c->lent_swept, 0);
	atomic_store(&c->lent_sweeps, 0);
	for (unsigned i = 0; i < lcores; i++) {
		struct dpw_req *r = dpw_req_new(DPW_OP_SWEEP_LENT, NULL);

		if (r == NULL)
			break;
		r->client = c;
		r->u.sweep.lcore = i;
		if (dpw_submit(r) != STATUS_PENDING)   /* refused (and freed) */
			break;
		asked++;
	}
	if (asked < lcores || lcores == 0)
		fprintf(stderr, "dpwsk: WskDeregister: %u data indications never released "
			"(WSK-C9) could not all be freed: the provider is not running, or out of "
			"room for the request\n", (unsigned)dpw_client_lent(c));
	if (asked == 0)
		return 0;
	/* The lcores free them on their next pass; they never block, so this is short. Bounded
	 * all the same, for an engine that stopped polling. Every sweep asked for is waited for,
	 * even when one could not be: a sweep must not outlive its client. On an lcore, its own
	 * ring is run meanwhile (another lane's sweep of this lcore's list may wait there). */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (atomic_load_explicit(&c->lent_sweeps, memory_order_acquire) < asked) {
		dpw_run_own_requests();
		clock_gettime(CLOCK_MONOTONIC, &t);
		if (t.tv_sec - t0.tv_sec > 5) {
			fprintf(stderr, "dpwsk: WskDeregister: the engine is not polling; %u data "
				"indications never released (WSK-C9) are left\n",
				(unsigned)dpw_client_lent(c));
			return 0;
		}
		sched_yield();
	}
	n = atomic_load(&c->lent_swept);
	atomic_fetch_add(&dpw_counters.unreleased_at_deregister, n);
	fprintf(stderr, "dpwsk: WskDeregister: %u data indications were never released with "
		"WskRelease (WSK-C9); freed now\n", n);
	return n;
}

/* Waits until every NPI is released and every socket closed (WSK-R1). The client's
 * completions must still be drained meanwhile, so the wait polls them on this thread. */
VOID WskDeregister(PWSK_REGISTRATION WskRegistration)
{
	struct dpw_client *c = client_of(WskRegistration);

	if (c == NULL)
		return;
	if (dpw_in_due_routine()) {
		/* It would wait for the very routine that called it (DpwDeliverLcore). */
		fprintf(stderr, "dpwsk: WskDeregister called from a completion routine run on an "
			"lcore: not deregistered; call it from the lcore's loop or another thread\n");
		return;
	}
	if (dpw_on_deliverer(c)) {
		/* It would wait for itself: the thread runs the routine that called us. */
		fprintf(stderr, "dpwsk: WskDeregister called from a completion routine on the "
			"client's delivery thread: not deregistered; call it from another thread\n");
		return;
	}
	atomic_store(&c->deregistering, true);
	for (;;) {
		struct timespec t;

		WskPollCompletions(c, 1024);
		dpw_run_own_requests();   /* on an lcore: its requests, and routines due there */
		dpw_clients_lock();
		/* DpwDeliverLcore: the last closes' routines may still wait on the lcores. */
		if (atomic_load(&c->captured) == 0 && dpw_client_sockets_open(c) == 0 &&
		    dpw_client_due(c) == 0) {
			dpw_clients_unlock();
			break;
		}
		clock_gettime(CLOCK_REALTIME, &t);
		t.tv_nsec += 10 * 1000000L;   /* wake up to run completions that arrive */
		if (t.tv_nsec >= 1000000000L) {
			t.tv_sec++;
			t.tv_nsec -= 1000000000L;
		}
		dpw_clients_wait(&t);
		dpw_clients_unlock();
	}
	/* Completions of the last closes may still be on the ring. */
	while (WskPollCompletions(c, 1024) > 0)
		;
	dpw_delivery_stop(c);   /* runs what is left on the ring first */
	dpw_security_client_gone(c);
	sweep_lent(c);
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

