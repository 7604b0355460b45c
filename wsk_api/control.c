/* WskControlSocket (F9) and WskControlClient (WSK_SET_STATIC_EVENT_CALLBACKS, security
 * descriptors). */
#include <string.h>

#include "lwip/tcp.h"

#include "socket_internal.h"

/* Which events each category may enable (F7). */
static ULONG events_for(ULONG category)
{
	switch (category) {
	case WSK_FLAG_LISTEN_SOCKET:
		return WSK_EVENT_ACCEPT;
	case WSK_FLAG_CONNECTION_SOCKET:
	case WSK_FLAG_STREAM_SOCKET:
		return WSK_EVENT_RECEIVE | WSK_EVENT_DISCONNECT | WSK_EVENT_SEND_BACKLOG;
	case WSK_FLAG_DATAGRAM_SOCKET:
		return WSK_EVENT_RECEIVE_FROM;
	default:
		return 0;
	}
}

static NTSTATUS set_event_callbacks(struct dpw_socket *s, const struct dpw_req *r)
{
	const WSK_EVENT_CALLBACK_CONTROL *ctl = r->u.control.in;
	ULONG mask;

	if (ctl == NULL || r->u.control.in_len < sizeof(*ctl))
		return STATUS_INVALID_PARAMETER;
	mask = ctl->EventMask & ~WSK_EVENT_DISABLE;
	if ((mask & ~events_for(s->category)) != 0 || s->client_dispatch == NULL)
		return STATUS_INVALID_PARAMETER;
	if (ctl->EventMask & WSK_EVENT_DISABLE)
		s->events &= ~mask;
	else
		s->events |= mask;
	return STATUS_SUCCESS;
}

void dpw_control_execute(struct dpw_req *r)
{
	struct dpw_socket *s = r->sock;
	NTSTATUS st = STATUS_NOT_SUPPORTED;

	if (r->u.control.out_used != NULL)
		*r->u.control.out_used = 0;
	if (r->u.control.type == WskSetOption && r->u.control.code == SO_WSK_EVENT_CALLBACK)
		st = set_event_callbacks(s, r);
	dpw_req_complete(r, st, 0);
}

NTSTATUS dpw_control_client(struct dpw_client *c, ULONG code, SIZE_T in_len, PVOID in,
			    SIZE_T out_len, PVOID out, SIZE_T *out_used, PIRP irp)
{
	(void)out_len;
	(void)out;
	if (out_used != NULL)
		*out_used = 0;
	if (code == WSK_SET_STATIC_EVENT_CALLBACKS) {
		const WSK_EVENT_CALLBACK_CONTROL *ctl = in;

		/* F7: only before the client's first socket; no IRP needed. */
		if (ctl == NULL || in_len < sizeof(*ctl))
			return STATUS_INVALID_PARAMETER;
		if (c->static_locked)
			return STATUS_INVALID_DEVICE_STATE;
		c->static_events = ctl->EventMask & ~WSK_EVENT_DISABLE;
		return STATUS_SUCCESS;
	}
	(void)irp;
	return STATUS_NOT_SUPPORTED;
}
