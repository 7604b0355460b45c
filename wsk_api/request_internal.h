/* The WSK provider's insides: requests, and how they travel to the lcore and back.
 *
 * Every Wsk call is checked on the caller's thread (arguments, handle), packed into a
 * dpw_req and enqueued on the provider's multi-producer request ring; the lcore drains the
 * ring once per loop pass and runs the request against lwIP (dpw_execute). A call made on
 * the lcore itself (from an event callback) runs at once. Results travel back as completed
 * IRPs on the owning client's completion ring (completion.c). Socket state is touched only
 * on the lcore; other threads read a socket's handle state, atomically. */
#ifndef DPWSK_REQUEST_INTERNAL_H
#define DPWSK_REQUEST_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <time.h>

#include "dpwsk.h"
#include "irp_internal.h"
#include "mdl_internal.h"
#include "wsk.h"

#include "client_internal.h"
#include "lcore_internal.h"
#include "counters_internal.h"

struct dpw_engine;
struct rte_ring;
struct dpw_socket;
struct dpw_client;
struct dpw_socket_kind;
struct dpw_transport;
struct dpw_spread;

enum dpw_op {
	DPW_OP_SOCKET,
	DPW_OP_SOCKET_CONNECT,
	DPW_OP_CONTROL_SOCKET,
	DPW_OP_CLOSE,
	DPW_OP_BIND,
	DPW_OP_CONNECT,
	DPW_OP_LISTEN,
	DPW_OP_ACCEPT,
	DPW_OP_SEND,
	DPW_OP_RECEIVE,
	DPW_OP_DISCONNECT,
	DPW_OP_RELEASE,
	DPW_OP_GET_LOCAL_ADDRESS,
	DPW_OP_GET_REMOTE_ADDRESS,
	DPW_OP_SEND_TO,
	DPW_OP_RECEIVE_FROM,
	DPW_OP_SEND_MESSAGES,
	DPW_OP_CANCEL,        /* IoCancelIrp on a pending IRP of a socket */
	DPW_OP_SWEEP_LENT,    /* WskDeregister: free data indications never released (C9) */
	DPW_OP_SPREAD,        /* between lcores, for a listener over several (tcp_spread.c) */
	DPW_OP_COUNT
};

/* A call made without an IRP whose caller waits for its status (dpw_submit_wait), signalled
 * by dpw_req_complete. Held by the caller and by the request; whichever lets go last frees it,
 * so a caller that stops waiting (the engine no longer polls) leaves nothing dangling. */
struct dpw_req_waiter {
	_Atomic bool done;
	_Atomic unsigned refs;
	NTSTATUS status;
};
void dpw_req_waiter_put(struct dpw_req_waiter *w);

/* One call in flight. Taken from the request pool by the calling thread, given back on the
 * lcore once its IRP is completed (request.c). While pending it sits on one of its socket's
 * request queues. */
struct dpw_req {
	enum dpw_op op;
	ULONG flags;
	PIRP irp;
	struct dpw_client *client;
	struct dpw_socket *sock;
	uint32_t sock_gen;           /* the handle generation the caller saw */
	struct dpw_req *next;        /* request queue link */
	SIZE_T done;                 /* bytes moved so far (send, receive) */
	struct dpw_req_waiter *waiter;   /* no IRP: who waits for the status, else NULL */
	_Atomic uint32_t *issued;        /* a count of such calls, less one at completion */
	bool counted;                    /* in Requests already (one call, however many rings) */
	union {
		struct { PWSK_BUF buf; } io;                     /* send, receive, disconnect */
		struct { PSOCKADDR addr;                         /* bind, connect, get-*-address */
			 PWSK_BUF buf; } addr;                   /* buf: WskConnectEx's first send */
		struct { PWSK_BUF buf; PSOCKADDR remote; ULONG ctl_len; PCMSGHDR ctl;
			 PULONG ctl_len_out; } dgram;            /* send-to, receive-from */
		struct { PWSK_BUF_LIST list; PSOCKADDR remote; } msgs;
		struct { PSOCKADDR local, remote; PVOID ctx; const VOID *dispatch; } accept;
		struct { ADDRESS_FAMILY af; USHORT type; ULONG proto; ULONG sock_flags;
			 const struct dpw_socket_kind *kind;
			 PVOID ctx; const VOID *dispatch; PSOCKADDR local, remote;
			 PVOID sd; } socket;                            /* sd: cached descriptor */
		struct { WSK_CONTROL_SOCKET_TYPE type; ULONG code, level; SIZE_T in_len;
			 PVOID in; SIZE_T out_len; PVOID out; SIZE_T *out_used;
			 WSK_EVENT_CALLBACK_CONTROL events;   /* in, copied: no IRP */
		} control;
		struct { PWSK_DATA_INDICATION list;              /* or datagram indications */
			 const struct dpw_transport *tp;
			 unsigned lcore; } release;                 /* the lcore that lent them */
		struct { PIRP target; } cancel;
		struct { unsigned lcore; } sweep;                 /* the lcore whose list it sweeps */
		struct { struct dpw_spread *sp; unsigned lcore;  /* to */
			 int what; NTSTATUS status; bool offered;
			 void *payload;                        /* OPTIONS: a copy */
			 struct dpw_socket *conn; struct dpw_req *accept; } spread;
	} u;
};

/* A FIFO of requests (pending receives, sends, accepts, ...). */
struct dpw_req_queue {
	struct dpw_req *head, *tail;
	uint32_t count;
};

static inline void dpw_queue_push(struct dpw_req_queue *q, struct dpw_req *r)
{
	r->next = NULL;
	if (q->tail != NULL)
		q->tail->next = r;
	else
		q->head = r;
	q->tail = r;
	q->count++;
}

static inline struct dpw_req *dpw_queue_pop(struct dpw_req_queue *q)
{
	struct dpw_req *r = q->head;

	if (r != NULL) {
		q->head = r->next;
		if (q->head == NULL)
			q->tail = NULL;
		q->count--;
	}
	return r;
}

/* Unlinks r if it is queued; true if it was. */
bool dpw_queue_remove(struct dpw_req_queue *q, struct dpw_req *r);

/* ---- requests (request.c): the pool, queues, completion ------------------------------------ */

/* A request for op on irp, zeroed, from the calling thread's cache of the pool (the heap,
 * counted, once the pool is empty); NULL when out of memory. */
struct dpw_req *dpw_req_new(enum dpw_op op, PIRP irp);
void dpw_req_free(struct dpw_req *r);
/* Put r on lcore's request ring; false when the provider is detached or the ring is full
 * (r untouched). Any thread. */
bool dpw_req_post(struct dpw_req *r, unsigned lcore);
/* The same for a call that will return STATUS_PENDING: its IRP marked pending first (W1: the
 * lcore may complete it at once), as it was again if the ring refuses it. */
bool dpw_req_post_pending(struct dpw_req *r, unsigned lcore);

/* The call now running inline on this thread (the lcore) and how it ended. R3 lets a call
 * whose IRP completes before it returns return that status instead of STATUS_PENDING; F6
 * wants exactly that of a WskAccept that finds a connection queued. A call made inside
 * another's callback nests, hence a chain. Thread-local: app threads never see it. Set by
 * dpw_submit (provider.c), read by dpw_req_complete. */
struct dpw_inline_call {
	const struct dpw_req *r;     /* NULL once completed, or sent to another lcore */
	NTSTATUS status;
	struct dpw_inline_call *outer;
};
extern __thread struct dpw_inline_call *dpw_inline_call;

/* Complete r's IRP with status/info (posted to the client's completion ring) and free r. */
void dpw_req_complete(struct dpw_req *r, NTSTATUS status, ULONG_PTR info);
/* Complete every request of a queue with status (WSK-C2 uses STATUS_CANCELLED, 0 bytes). */
void dpw_queue_complete_all(struct dpw_req_queue *q, NTSTATUS status);

/* Caller side of a call that fails before it reaches the lcore: complete the IRP (if any)
 * with status through the client's ring, and return status (WSK-R3). */
NTSTATUS dpw_fail_call(struct dpw_client *c, PIRP irp, NTSTATUS status);
/* The same for an IRP the caller has already started (DpwStartIrp). Without a live client
 * to post to, the IRP completes at once, its routine run on this thread. */
NTSTATUS dpw_fail_taken(struct dpw_client *c, PIRP irp, NTSTATUS status);


#endif /* DPWSK_REQUEST_INTERNAL_H */
