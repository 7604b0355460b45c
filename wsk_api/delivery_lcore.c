/* DpwDeliverLcore (dpwsk.h): the routine of an IRP an lcore completes runs on that lcore, at
 * the end of its loop pass, as Windows runs a routine in the context that completed the IRP.
 * A server whose lanes keep their state per lcore (one listener spread over the lcores, each
 * connection's events on its own lcore) thus sees its completions where its state is.
 *
 * Each lcore keeps a FIFO of the IRPs due to run, touched only by its thread while it runs.
 * Routines run at the pass's end, at the top of the lcore's stack (never inside a call, a
 * callback or a close's flush, which must not call back into the client): a call a routine
 * makes runs inline, and its completion is due on this lcore in turn. Whatever the lcores left
 * when the provider detaches is taken from here and posted to the clients' rings
 * (completion.c, above this file), so it still runs, once. */
#include <stdio.h>
#include <stdlib.h>

#include "request_internal.h"
#include "socket_internal.h"

/* Routines one pass runs at most: those their own calls add run on the next pass, so a chain
 * of calls cannot hold the lcore away from its frames. */
#define DUE_PER_PASS 4096u

struct due_irp {
	struct dpw_client *c;
	PIRP irp;
};

/* [the lcore's thread; DpwProviderDetach's once the lcores stopped] A FIFO in a ring that
 * doubles when full: growth is the only allocation, and it is kept. */
static struct due_fifo {
	DPW_LCORE_ALIGNED struct due_irp *e;
	size_t head, len, cap;   /* entries [head, head + len) modulo cap */
} due_on[DPW_MAX_LCORES];

static bool grow(struct due_fifo *f)
{
	size_t cap = f->cap ? f->cap * 2 : 256;
	struct due_irp *e = malloc(cap * sizeof(*e));

	if (e == NULL)
		return false;
	for (size_t i = 0; i < f->len; i++)
		e[i] = f->e[(f->head + i) % f->cap];
	free(f->e);
	f->e = e;
	f->head = 0;
	f->cap = cap;
	return true;
}

bool dpw_due_wanted(const struct dpw_client *c)
{
	return c != NULL && dpw_self_lcore() >= 0 &&
	       atomic_load_explicit(&c->delivery, memory_order_relaxed) == DpwDeliverLcore;
}

unsigned dpw_due_push(struct dpw_client *c, PIRP *irps, unsigned n)
{
	struct due_fifo *f = &due_on[dpw_lcore_here()];

	for (unsigned i = 0; i < n; i++) {
		if (f->len == f->cap && !grow(f))
			return i;   /* no memory for the FIFO: the caller posts the rest */
		f->e[(f->head + f->len++) % f->cap] = (struct due_irp){ c, irps[i] };
		dpw_client_count(c, DPW_CC_DUE_IN);
	}
	return n;
}

static bool due_pop(struct due_fifo *f, struct due_irp *out)
{
	if (f->len == 0)
		return false;
	*out = f->e[f->head];
	f->head = (f->head + 1) % f->cap;
	f->len--;
	return true;
}

/* This thread is running due routines: a routine's own calls into here run no others. */
static __thread bool running;

bool dpw_in_due_routine(void)
{
	return running;
}

unsigned dpw_run_due_completions(void)
{
	int me = dpw_self_lcore();
	struct due_irp d;
	unsigned ran = 0;

	if (me < 0 || running || dpw_inline_call != NULL || dpw_callbacks_running != 0)
		return 0;   /* not an lcore, or not at the top of its stack */
	running = true;
	while (ran < DUE_PER_PASS && due_pop(&due_on[me], &d)) {
		dpw_count(DPW_C_COMPLETIONS, 1);
		DpwRunIrpCompletion(d.irp);
		/* After the routine: WskDeregister waits for every queued one to have run. */
		dpw_client_count(d.c, DPW_CC_DUE_OUT);
		ran++;
	}
	running = false;
	return ran;
}

bool dpw_due_take(struct dpw_client **c, PIRP *irp)
{
	struct due_irp d;

	for (unsigned i = 0; i < DPW_MAX_LCORES; i++)
		if (due_pop(&due_on[i], &d)) {
			/* As run: whoever took it has it run elsewhere now. */
			dpw_client_count(d.c, DPW_CC_DUE_OUT);
			*c = d.c;
			*irp = d.irp;
			return true;
		}
	return false;
}
