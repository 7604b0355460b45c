/* The provider's top (provider.c, execute.c): what the API and the poll loop call, and
 * nothing below them may. */
#ifndef DPWSK_PROVIDER_INTERNAL_H
#define DPWSK_PROVIDER_INTERNAL_H

#include "request_internal.h"

/* ---- the top (provider.c, execute.c): called from the API and the poll loop only ---------- */

/* Hand a request to the lcore (or run it now, on the lcore). Returns STATUS_PENDING, or
 * the status the IRP was completed with when it could not be queued. */
NTSTATUS dpw_submit(struct dpw_req *r);
/* A request without an IRP whose caller waits for its status (WskControlSocket enabling
 * event callbacks, which Windows takes without an IRP): run at once on its socket's own
 * lcore, else through the ring while the caller waits (running its own ring meanwhile if it
 * is another lcore). Returns the status it completed with. */
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
