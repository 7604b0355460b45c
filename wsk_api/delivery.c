/* Who runs a client's completion routines (dpwsk.h, DPW_COMPLETION_DELIVERY): its own threads
 * when they poll (the default), or a delivery thread of the client's that waits on its
 * completion ring and runs each routine as it arrives. Windows' timing (W2) adds two things,
 * done where they happen: a completion made on the caller's thread runs its routine there
 * (completion.c), and calls made on the lcore are queued instead of run inline (provider.c),
 * so that no call returns a status whose routine has not run yet. */
#define _GNU_SOURCE   /* pthread_setname_np */
#include <pthread.h>

#include "request_internal.h"

static _Atomic int default_delivery = DpwDeliverPolled;

static bool valid_mode(DPW_COMPLETION_DELIVERY mode)
{
	return mode == DpwDeliverPolled || mode == DpwDeliverThread || mode == DpwDeliverWindows ||
	       mode == DpwDeliverLcore;
}

static void *deliver(void *arg)
{
	struct dpw_client *c = arg;

	while (!atomic_load(&c->deliverer_stop))
		WskWaitCompletions(c, 64, WSK_INFINITE_WAIT);
	/* The client is still live here (WskDeregister stops us before it lets the ring go):
	 * what arrived after the last wait runs too, so nothing posted is left behind. */
	while (WskPollCompletions(c, 1024) > 0)
		;
	return NULL;
}

int dpw_delivery_start(struct dpw_client *c)
{
	if (atomic_load(&c->delivery) != DpwDeliverThread &&
	    atomic_load(&c->delivery) != DpwDeliverWindows)
		return 0;   /* no thread: polled, or run by the lcores */
	atomic_store(&c->deliverer_stop, false);
	if (pthread_create(&c->deliverer, NULL, deliver, c) != 0)
		return -1;
	pthread_setname_np(c->deliverer, "wsk-deliver");
	c->deliverer_running = true;
	return 0;
}

void dpw_delivery_stop(struct dpw_client *c)
{
	if (!c->deliverer_running)
		return;
	atomic_store(&c->deliverer_stop, true);
	/* The eventfd stays readable until read: a thread about to wait returns at once. */
	dpw_completion_kick(c);
	pthread_join(c->deliverer, NULL);
	c->deliverer_running = false;
}

bool dpw_on_deliverer(const struct dpw_client *c)
{
	return c->deliverer_running && pthread_equal(c->deliverer, pthread_self());
}

NTSTATUS DpwSetCompletionDelivery(PWSK_CLIENT Client, DPW_COMPLETION_DELIVERY Mode)
{
	struct dpw_client *c = dpw_client_from_handle(Client);

	if (c == NULL)
		return STATUS_INVALID_HANDLE;
	if (!valid_mode(Mode))
		return STATUS_INVALID_PARAMETER;
	/* Safe with sockets open and calls in flight: the timing is decided per completion and
	 * per call, and a stopped thread has run everything posted before it stopped. But the
	 * thread cannot stop itself. */
	if (dpw_on_deliverer(c))
		return STATUS_INVALID_DEVICE_STATE;
	if (atomic_load(&c->delivery) == (int)Mode)
		return STATUS_SUCCESS;
	dpw_delivery_stop(c);
	atomic_store(&c->delivery, Mode);
	if (dpw_delivery_start(c) != 0) {
		atomic_store(&c->delivery, DpwDeliverPolled);
		return STATUS_INSUFFICIENT_RESOURCES;
	}
	return STATUS_SUCCESS;
}

NTSTATUS DpwSetDefaultCompletionDelivery(DPW_COMPLETION_DELIVERY Mode)
{
	if (!valid_mode(Mode))
		return STATUS_INVALID_PARAMETER;
	atomic_store(&default_delivery, Mode);
	return STATUS_SUCCESS;
}

DPW_COMPLETION_DELIVERY dpw_default_delivery(void)
{
	return (DPW_COMPLETION_DELIVERY)atomic_load(&default_delivery);
}
