/* Data lent to clients (WSK-C9). A receive event that returns STATUS_PENDING leaves its data
 * indications with the client until WskRelease, whatever becomes of the socket, close
 * included. Each such indication sits on its client's list, so that WskDeregister can report
 * and free what the client never released instead of leaking the mbufs under it.
 * Each lcore has its own list per client, touched by that lcore only (WskRelease goes to the
 * lcore that lent the data), and counted on that lcore's line of the client's counts
 * (dpw_client_count: no line another lcore writes); the deregistering thread adds them up
 * (registration.c asks every lcore for a sweep and waits for them). */
#include "request_internal.h"

void dpw_lent_keep(struct dpw_client *c, struct dpw_lent *l, void (*free_fn)(struct dpw_lent *))
{
	int me = dpw_self_lcore();
	struct dpw_lent *head = &c->lent[me < 0 ? 0 : me].head;

	if (head->next == NULL)   /* first use: an empty ring points at itself */
		head->next = head->prev = head;
	l->lcore = (unsigned)(me < 0 ? 0 : me);
	l->free_fn = free_fn;
	l->client = c;
	l->prev = head->prev;
	l->next = head;
	head->prev->next = l;
	head->prev = l;
	dpw_client_count(c, DPW_CC_LENT);
}

void dpw_lent_forget(struct dpw_lent *l)
{
	if (l->next == NULL)
		return;   /* never lent (an indication the client did not retain) */
	l->prev->next = l->next;
	l->next->prev = l->prev;
	l->next = l->prev = NULL;
	dpw_client_count(l->client, DPW_CC_RETURNED);
}

/* lcore: free everything this lcore still lends to r's client. */
void dpw_lent_sweep_execute(struct dpw_req *r)
{
	struct dpw_client *c = r->client;
	struct dpw_lent *head = &c->lent[r->u.sweep.lcore].head;
	unsigned n = 0;

	while (head->next != NULL && head->next != head) {
		struct dpw_lent *l = head->next;

		dpw_lent_forget(l);
		l->free_fn(l);
		n++;
	}
	atomic_fetch_add_explicit(&c->lent_swept, n, memory_order_relaxed);
	atomic_fetch_add_explicit(&c->lent_sweeps, 1, memory_order_release);
	dpw_req_free(r);
}
