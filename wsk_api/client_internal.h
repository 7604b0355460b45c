/* Clients (client.c, registration.c above it), their completion rings (completion.c) and
 * the data indications lent to them (lent.c, WSK-C9). */
#ifndef DPWSK_CLIENT_INTERNAL_H
#define DPWSK_CLIENT_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <time.h>

#include "lcore_internal.h"
#include "dpwsk.h"
#include "irp_internal.h"
#include "mdl_internal.h"
#include "wsk.h"

struct dpw_req;

/* ---- clients (client.c; registration.c above it, completion.c) ---------------------------- */

#define DPW_MAX_CLIENTS 256

enum dpw_client_state {
	DPW_CLIENT_FREE = 0,
	DPW_CLIENT_LIVE,
	DPW_CLIENT_GONE,             /* WskDeregister is tearing it down */
};

struct dpw_completion_ring;
struct dpw_client;


/* A data indication lent to a client (lent.c, WSK-C9), linked on its client's list of the
 * lcore that lent it. */
struct dpw_lent {
	struct dpw_lent *prev, *next;     /* NULL while not lent */
	unsigned lcore;                   /* whose list: WskRelease goes there */
	struct dpw_client *client;
	void (*free_fn)(struct dpw_lent *);   /* frees the indication and its data */
};

/* What a client's sockets and routines do on one lcore, counted there: each lcore writes only
 * its own line, so that making and closing a socket, or queueing and running a routine,
 * writes nothing another lcore reads (issue 15); the last line is every other thread's,
 * written atomically. Monotonic, so that WskDeregister can add them up while they move: it
 * reads the ends (freed, due_out) before the starts, and a start always happens before its
 * end (dpw_client_sockets_open). */
enum dpw_client_count {
	DPW_CC_MADE, DPW_CC_FREED,       /* its sockets made, closed */
	DPW_CC_DUE_IN, DPW_CC_DUE_OUT,   /* DpwDeliverLcore: routines queued on an lcore, run */
	DPW_CC_LENT, DPW_CC_RETURNED,    /* data indications kept by the client, released (C9) */
	DPW_CC_N
};
struct dpw_client_counts {
	_Alignas(64) atomic_uint_fast64_t n[DPW_CC_N];
};

struct dpw_client {
	_Atomic uint32_t state;      /* enum dpw_client_state */
	_Atomic int users;           /* threads inside WskPoll/WaitCompletions, WskCompletionFd */
	WSK_CLIENT_NPI npi;
	USHORT version;
	atomic_int captured;         /* WskCaptureProviderNPI calls not yet released */
	atomic_bool deregistering;
	ULONG static_events;         /* WSK_SET_STATIC_EVENT_CALLBACKS mask, 0 if none */
	atomic_bool static_locked;   /* a socket exists: static callbacks can no longer change
				      * (set by any lcore, read by the caller's thread) */
	struct dpw_completion_ring *cq;
	/* [lcore] per lcore, a ring of the indications the client retains (counted in here[]) */
	struct {
		DPW_LCORE_ALIGNED struct dpw_lent head;
	} lent[DPW_MAX_LCORES];
	atomic_uint lent_swept;      /* the sweeps' total (WskDeregister) */
	atomic_uint lent_sweeps;     /* lcores whose sweep is done */
	/* Who runs completion routines (delivery.c): DPW_COMPLETION_DELIVERY, and the client's
	 * delivery thread when the mode has one. */
	_Atomic int delivery;
	pthread_t deliverer;
	bool deliverer_running;
	atomic_bool deliverer_stop;
	/* [per lcore] its sockets, routines and lent data (dpw_client_sockets_open,
	 * dpw_client_due, dpw_client_lent) */
	struct dpw_client_counts here[DPW_MAX_LCORES + 1];
};

/* The table's lock and condition: registration claims slots and waits under them for
 * captures, sockets and the provider; dpw_clients_wait returns pthread_cond_*wait's result. */
void dpw_clients_lock(void);
void dpw_clients_unlock(void);
int dpw_clients_wait(const struct timespec *deadline);   /* NULL: no deadline */
void dpw_clients_broadcast(void);
struct dpw_client *dpw_client_free_slot(void);           /* under the lock; NULL if none */
unsigned dpw_clients_live(void);                         /* registered, not yet gone */
void dpw_clients_provider_ready(void);
void dpw_client_socket_closed(struct dpw_client *c);
/* One more on the calling thread's line of c: its lcore's (the only writer there: no locked
 * instruction), or every other thread's. */
void dpw_client_count(struct dpw_client *c, enum dpw_client_count what);
/* c's sockets made and not yet closed; its routines queued on the lcores and not yet run. */
uint64_t dpw_client_sockets_open(struct dpw_client *c);
uint64_t dpw_client_due(struct dpw_client *c);
/* The data indications c keeps and has not yet released (C9). */
uint64_t dpw_client_lent(struct dpw_client *c);
void dpw_client_counts_reset(struct dpw_client *c);

/* The client behind a PWSK_CLIENT, or NULL when it is not a registered client. Lock-free. */
struct dpw_client *dpw_client_from_handle(PWSK_CLIENT handle);
/* The same, and keeps the client's completion ring alive until dpw_client_leave (for the
 * completion calls, which may run while another thread deregisters the client). */
struct dpw_client *dpw_client_enter(PWSK_CLIENT handle);
void dpw_client_leave(struct dpw_client *c);
/* lent.c: keep an indication the client retained on its list; forget it when released;
 * WskDeregister's sweep frees (and reports) what is left, on the lcore. */
void dpw_lent_keep(struct dpw_client *c, struct dpw_lent *l, void (*free_fn)(struct dpw_lent *));
void dpw_lent_forget(struct dpw_lent *l);
void dpw_lent_sweep_execute(struct dpw_req *r);

/* delivery.c: start the delivery the client's mode asks for (WskRegister), stop it
 * (WskDeregister, after the last completion ran); is this thread c's delivery thread; does c
 * want Windows' timing (W2). */
DPW_COMPLETION_DELIVERY dpw_default_delivery(void);
int dpw_delivery_start(struct dpw_client *c);
void dpw_delivery_stop(struct dpw_client *c);
bool dpw_on_deliverer(const struct dpw_client *c);
static inline bool dpw_windows_timing(const struct dpw_client *c)
{
	return c != NULL && atomic_load_explicit(&c->delivery, memory_order_relaxed) ==
				    DpwDeliverWindows;
}

/* delivery_lcore.c (DpwDeliverLcore): does c want its routines run on this thread, an lcore;
 * queue completions to run at this lcore's pass end (how many it took: the rest, for want of
 * memory, go to the ring); run this lcore's (at the top of its stack only; returns how many
 * ran); take one the lcores left (DpwProviderDetach, once they stopped). */
bool dpw_due_wanted(const struct dpw_client *c);
unsigned dpw_due_push(struct dpw_client *c, PIRP *irps, unsigned n);
unsigned dpw_run_due_completions(void);
bool dpw_due_take(struct dpw_client **c, PIRP *irp);
bool dpw_in_due_routine(void);   /* this thread is inside a routine run so */
/* completion.c: what the lcores left due goes to the clients' rings (DpwProviderDetach). */
void dpw_due_to_rings(void);

/* Wake threads waiting in WskWaitCompletions on c (completion.c). */
void dpw_completion_wake_all(struct dpw_client *c);
/* Make c's next (or current) wait in WskWaitCompletions return, waiting or not. */
void dpw_completion_kick(struct dpw_client *c);
/* Post a completed IRP (DpwCompleteIrpDeferred done) to the client's completion ring; for a
 * client with Windows' timing, run its routine now instead (the completions posted at once
 * are those of a call refused on its caller's thread, W2). */
void dpw_post_completion(struct dpw_client *c, PIRP irp);
/* [lcore] The same, held and posted with others in one burst by dpw_flush_completions. */
void dpw_hold_completion(struct dpw_client *c, PIRP irp);
void dpw_flush_completions(void);
/* Every lcore's held completions, once the lcores have stopped (DpwProviderDetach): the last
 * pass's timers may have completed some after its flush. */
void dpw_flush_all_completions(void);
int dpw_completion_ring_create(struct dpw_client *c);
void dpw_completion_ring_destroy(struct dpw_client *c);

#endif /* DPWSK_CLIENT_INTERNAL_H */
