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
	/* Data indications a client retained and never released with WskRelease, freed (and
	 * reported on stderr) by its WskDeregister (WSK-C9). */
	ULONGLONG UnreleasedAtDeregister;
	/* Requests and data indications taken from the heap because their pool was empty (the
	 * hot path uses none while the pools suffice). */
	ULONGLONG HeapRequests;
	ULONGLONG HeapIndications;
	/* Socket state changes outside the provider's state machine: a provider bug if not 0. */
	ULONGLONG BadTransitions;
} DPW_PROVIDER_STATS, *PDPW_PROVIDER_STATS;
VOID DpwGetProviderStats(PDPW_PROVIDER_STATS Stats);

#ifdef __cplusplus
}
#endif

#endif /* DPWSK_DPWSK_H */
