/* The provider's top (provider.c, execute.c): what the API and the poll loop call, and
 * nothing below them may. */
#ifndef DPWSK_PROVIDER_INTERNAL_H
#define DPWSK_PROVIDER_INTERNAL_H

#include "request_internal.h"

/* ---- the top (provider.c, execute.c): called from the API and the poll loop only ---------- */

/* Hand a request to the lcore (or run it now, on the lcore). Returns STATUS_PENDING, or
 * the status the IRP was completed with when it could not be queued. */
NTSTATUS dpw_submit(struct dpw_req *r);
/* A request without an IRP (SO_WSK_EVENT_CALLBACK set without one, as Windows allows), its
 * arguments checked and copied by the caller. On its socket's own lcore with nothing queued
 * ahead it runs at once and its status is returned. From another lcore it is queued and not
 * waited for (STATUS_SUCCESS): two lcores waiting on each other's rings would wait for ever.
 * From an application thread it is queued and waited for, while the provider is attached and
 * for at most 30 s (STATUS_DEVICE_NOT_READY: the engine is not polling). */
NTSTATUS dpw_submit_wait(struct dpw_req *r);
/* Run a request on the lcore: socket-level requests here, the rest through the socket's
 * transport (execute.c). */
void dpw_execute(struct dpw_req *r);
/* On an lcore, outside any call or callback: run the requests waiting in its own ring now.
 * For a caller that waits there for other lcores' work while they may wait for its own
 * (WskDeregister's sweeps, from a program's lane). Elsewhere: nothing. */
void dpw_run_own_requests(void);
/* Each transport's once-a-pass work (execute.c). */
void dpw_transports_poll(void);

/* Names and addresses on the caller's thread (resolve.c): numeric, and /etc/hosts. */
NTSTATUS dpw_get_address_info(PWSK_CLIENT Client, PUNICODE_STRING NodeName,
			      PUNICODE_STRING ServiceName, ULONG NameSpace, GUID *Provider,
			      PADDRINFOEXW Hints, PADDRINFOEXW *Result, PIRP Irp);
VOID dpw_free_address_info(PWSK_CLIENT Client, PADDRINFOEXW AddrInfo);
NTSTATUS dpw_get_name_info(PWSK_CLIENT Client, PSOCKADDR SockAddr, ULONG SockAddrLength,
			   PUNICODE_STRING NodeName, PUNICODE_STRING ServiceName, ULONG Flags,
			   PIRP Irp);

#endif /* DPWSK_PROVIDER_INTERNAL_H */
