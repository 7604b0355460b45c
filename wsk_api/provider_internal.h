/* The provider's top (provider.c, execute.c): what the API and the poll loop call, and
 * nothing below them may. */
#ifndef DPWSK_PROVIDER_INTERNAL_H
#define DPWSK_PROVIDER_INTERNAL_H

#include "request_internal.h"

/* ---- the top (provider.c, execute.c): called from the API and the poll loop only ---------- */

/* Hand a request to the lcore (or run it now, on the lcore). Returns STATUS_PENDING, or
 * the status the IRP was completed with when it could not be queued. */
NTSTATUS dpw_submit(struct dpw_req *r);
/* Run a request on the lcore: socket-level requests here, the rest through the socket's
 * transport (execute.c). */
void dpw_execute(struct dpw_req *r);
/* Each transport's once-a-pass work (execute.c). */
void dpw_transports_poll(void);

#endif /* DPWSK_PROVIDER_INTERNAL_H */
