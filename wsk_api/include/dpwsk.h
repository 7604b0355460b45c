/* dpwsk's own additions to the WSK API: attaching the provider to an engine, and delivering
 * completions on the client's threads (Windows runs completion routines for you; here the
 * client says when and where, like io_uring's completion queue). */
#ifndef DPWSK_DPWSK_H
#define DPWSK_DPWSK_H

#include "wsk.h"

#ifdef __cplusplus
extern "C" {
#endif

struct dpw_engine;

/* Attach the WSK provider to a created engine, before its loop runs. From then on the lcore
 * drains the provider's request ring every loop pass. STATUS_SUCCESS,
 * STATUS_INVALID_PARAMETER (NULL), STATUS_INVALID_DEVICE_STATE (already attached) or
 * STATUS_INSUFFICIENT_RESOURCES. */
NTSTATUS DpwProviderAttach(struct dpw_engine *Engine);
/* Detach after the engine's loop stopped; every client must have deregistered. */
VOID DpwProviderDetach(VOID);

/* Run the completion routines of up to Max completed IRPs of this client, on the calling
 * thread, in completion order. Returns how many ran. Any thread may call it; several threads
 * may share one client. */
ULONG WskPollCompletions(PWSK_CLIENT Client, ULONG Max);
/* The same, but waits up to TimeoutMs (WSK_INFINITE_WAIT: no limit) for the first one. */
ULONG WskWaitCompletions(PWSK_CLIENT Client, ULONG Max, ULONG TimeoutMs);
/* A file descriptor that becomes readable when completions are waiting (for epoll/poll); -1
 * for a bad client. Read nothing from it: WskPollCompletions clears it. */
int WskCompletionFd(PWSK_CLIENT Client);

/* Who runs a client's completion routines, and when (chosen per client).
 *
 *  DpwDeliverPolled   the client's own threads, in WskPollCompletions/WskWaitCompletions
 *                     (the default, and the fastest: no thread switch, routines run in batches).
 *  DpwDeliverThread   a provider thread of the client's own runs them as they arrive, so a
 *                     thread may simply wait for an event its routine sets (KeWaitForSingleObject
 *                     on a KEVENT, a semaphore), as Windows drivers do.
 *  DpwDeliverWindows  that thread, and Windows' timing (WSK-W2): a call that returns anything
 *                     but STATUS_PENDING has already run its IRP's completion routine, on the
 *                     calling thread, so the IRP may be freed or reused at once. Calls made on
 *                     the lcore (from event callbacks) are then queued, never run inline: they
 *                     return STATUS_PENDING unless refused at once.
 *  DpwDeliverLcore    the lcore that completed the IRP runs its routine, at the end of its
 *                     loop pass (an embedded application whose per-lcore lanes keep their
 *                     state per lcore: a connection's events and completions all run on its
 *                     lcore). A call made on another thread and refused there completes on
 *                     the client's ring, as polled; so does what is left when the provider
 *                     detaches. WskDeregister is refused from such a routine (it would wait
 *                     for itself). A socket's IRPs complete on the lcore that owns it: a
 *                     WskBind to a port another lcore holds moves the socket there, and its
 *                     later routines run there too.
 *
 * In every mode PendingReturned is TRUE exactly when the call returned STATUS_PENDING (W1),
 * and the client may still call WskPollCompletions itself. */
typedef enum _DPW_COMPLETION_DELIVERY {
	DpwDeliverPolled = 0,
	DpwDeliverThread = 1,
	DpwDeliverWindows = 2,
	DpwDeliverLcore = 3,
} DPW_COMPLETION_DELIVERY;

/* Change a registered client's delivery, at any time (completions already posted are run
 * by whoever delivers next): STATUS_SUCCESS, STATUS_INVALID_PARAMETER (unknown mode),
 * STATUS_INVALID_HANDLE (not a client), STATUS_INVALID_DEVICE_STATE (called from a completion
 * routine on the client's own delivery thread, which cannot stop itself),
 * STATUS_INSUFFICIENT_RESOURCES (no thread could be started: the client is then polled). Not
 * concurrently with itself or WskDeregister for the same client. */
NTSTATUS DpwSetCompletionDelivery(PWSK_CLIENT Client, DPW_COMPLETION_DELIVERY Mode);
/* The delivery WskRegister gives new clients (DpwDeliverPolled until changed): a host that
 * runs unmodified Windows client code sets DpwDeliverWindows before loading it. */
NTSTATUS DpwSetDefaultCompletionDelivery(DPW_COMPLETION_DELIVERY Mode);

/* Provider counters, for tests and telemetry. */
typedef struct _DPW_PROVIDER_STATS {
	ULONGLONG Requests;          /* calls that went through the request ring */
	ULONGLONG InlineRequests;    /* calls made on the lcore, run without the ring */
	ULONGLONG RingFull;          /* calls refused with STATUS_INSUFFICIENT_RESOURCES */
	ULONGLONG Completions;       /* IRPs posted to completion rings */
	ULONGLONG CompletionSpills;  /* posted to a client's overflow list (ring full) */
	ULONGLONG InvalidHandles;    /* calls through a closed or unknown socket */
	ULONGLONG ConcurrentClose;   /* calls racing a close on another thread (WSK-C6) */
	ULONG SocketsOpen;
	ULONG ClientsRegistered;     /* WskRegister not yet matched by WskDeregister */
	/* Data indications a client retained and never released with WskRelease, freed (and
	 * reported on stderr) by its WskDeregister (WSK-C9). */
	ULONGLONG UnreleasedAtDeregister;
	/* Requests and data indications taken from the heap because their pool was empty (the
	 * hot path uses none while the pools suffice). */
	ULONGLONG HeapRequests;
	ULONGLONG HeapIndications;
	/* Socket state changes outside the provider's state machine: a provider bug if not 0. */
	ULONGLONG BadTransitions;
	/* Several lcores: listeners that listen on every lcore, those that could not (their
	 * port shared on their lcore, or an lcore out of pcbs: they listen on their own), and
	 * connections another lcore accepted and handed to the listener's for a WskAccept
	 * (docs/many-lcores.md, step 5). */
	ULONGLONG ListenersSpread;
	ULONGLONG ListenersNotSpread;
	ULONGLONG AcceptsHandedOver;
	/* Several lcores: sockets whose bind moved them to the lcore that holds the port they
	 * bound, and calls the lcore they were made on handed on to them there (step 6). */
	ULONGLONG SocketsMoved;
	ULONGLONG RequestsHandedOn;
} DPW_PROVIDER_STATS, *PDPW_PROVIDER_STATS;
VOID DpwGetProviderStats(PDPW_PROVIDER_STATS Stats);

#ifdef __cplusplus
}
#endif

#endif /* DPWSK_DPWSK_H */
