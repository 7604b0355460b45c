/* WskControlSocket (WSK-F9, F7, F8) on the lcore, and WskControlClient
 * (WSK_SET_STATIC_EVENT_CALLBACKS, WSK_CACHE_SD, WSK_RELEASE_SD) on the caller's thread.
 *
 * Option numbers are Windows' (wsk_options.h explains why they have WSK_ names here, and what
 * each option does in this provider). Options are kept in the socket; its transport puts them
 * on the lwIP pcb when there is one, or when it makes one (dpw_transport.apply_options), and
 * accepted connections inherit their listener's. Nothing here touches lwIP. Every get writes a ULONG (a SIZE_T for the backlog
 * IOCTLs, a PSECURITY_DESCRIPTOR for SO_WSK_SECURITY) and reports its size in
 * IoStatus.Information and *OutputSizeReturned. */
#include <string.h>

#include "lwip/opt.h"   /* TCP_WND, TCP_SND_BUF: the defaults SO_RCVBUF/SO_SNDBUF report */

#include "options_internal.h"

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

bool dpw_events_control_ok(const struct dpw_socket *s, const VOID *in, SIZE_T in_len)
{
	const WSK_EVENT_CALLBACK_CONTROL *ctl = in;

	return ctl != NULL && in_len >= sizeof(*ctl) && s->client_dispatch != NULL &&
	       (ctl->EventMask & ~(ULONG)WSK_EVENT_DISABLE & ~events_for(s->category)) == 0;
}

/* *enabled receives the events this call turned on (not those already on). */
static NTSTATUS set_event_callbacks(struct dpw_socket *s, const struct dpw_req *r,
				    ULONG *enabled)
{
	const WSK_EVENT_CALLBACK_CONTROL *ctl = r->u.control.in;
	ULONG mask;

	if (!dpw_events_control_ok(s, ctl, r->u.control.in_len))
		return STATUS_INVALID_PARAMETER;
	mask = ctl->EventMask & ~WSK_EVENT_DISABLE;
	/* Atomic: a listener over several lcores is offered connections on each, which read
	 * its events there (tcp_spread.c). */
	if (ctl->EventMask & WSK_EVENT_DISABLE) {
		__atomic_and_fetch(&s->events, ~mask, __ATOMIC_RELAXED);
	} else {
		*enabled = mask & ~s->events;
		__atomic_or_fetch(&s->events, mask, __ATOMIC_RELAXED);
	}
	return STATUS_SUCCESS;
}

static bool is_tcp(const struct dpw_socket *s)
{
	return s->category == WSK_FLAG_LISTEN_SOCKET || s->category == WSK_FLAG_CONNECTION_SOCKET ||
	       s->category == WSK_FLAG_STREAM_SOCKET;
}

/* The socket's options changed: its transport puts them on the pcb, if there is one. */
static void apply(struct dpw_socket *s)
{
	if (s->tp->apply_options != NULL)
		s->tp->apply_options(s);
}

/* ---- options ---------------------------------------------------------------------------------- */

/* Windows' SOL_SOCKET, or glibc's (1), which no Windows level uses (wsk_options.h). */
static bool sol_socket(ULONG level)
{
	return level == WSK_SOL_SOCKET || level == (ULONG)SOL_SOCKET;
}

static NTSTATUS in_ulong(const struct dpw_req *r, ULONG *v)
{
	if (r->u.control.in == NULL || r->u.control.in_len < sizeof(ULONG))
		return STATUS_INVALID_PARAMETER;
	memcpy(v, r->u.control.in, sizeof(*v));
	return STATUS_SUCCESS;
}

static NTSTATUS out_bytes(const struct dpw_req *r, const void *v, SIZE_T n, SIZE_T *out)
{
	if (r->u.control.out == NULL || r->u.control.out_len < n)
		return STATUS_BUFFER_TOO_SMALL;
	memcpy(r->u.control.out, v, n);
	*out = n;
	return STATUS_SUCCESS;
}

static NTSTATUS out_ulong(const struct dpw_req *r, ULONG v, SIZE_T *out)
{
	return out_bytes(r, &v, sizeof(v), out);
}

/* SO_REUSEADDR and SO_EXCLUSIVEADDRUSE: before bind, and never both (WSAEINVAL on Windows). */
static NTSTATUS set_sharing(struct dpw_socket *s, const struct dpw_req *r, bool exclusive)
{
	ULONG v;
	NTSTATUS st = in_ulong(r, &v);

	if (st != STATUS_SUCCESS)
		return st;
	if (s->bound)
		return STATUS_INVALID_DEVICE_STATE;
	if (v != 0 && (exclusive ? s->reuse_addr : s->exclusive_addr))
		return STATUS_INVALID_PARAMETER;
	if (exclusive) {
		s->exclusive_addr = v != 0;
	} else {
		s->reuse_addr = v != 0;
		apply(s);   /* a pcb made by a failed bind */
	}
	return STATUS_SUCCESS;
}

/* IPV6_V6ONLY: 0 makes an AF_INET6 socket dual stack (W6); before bind. */
static NTSTATUS set_v6only(struct dpw_socket *s, const struct dpw_req *r)
{
	ULONG v;
	NTSTATUS st;

	if (s->category == WSK_FLAG_BASIC_SOCKET)
		return STATUS_NOT_SUPPORTED;
	if (s->af != DPW_AF_INET6)
		return STATUS_INVALID_PARAMETER;
	if ((st = in_ulong(r, &v)) != STATUS_SUCCESS)
		return st;
	if (s->bound)
		return STATUS_INVALID_DEVICE_STATE;
	s->dual_stack = v == 0;
	apply(s);   /* a pcb made by a failed bind takes the new type */
	return STATUS_SUCCESS;
}

static NTSTATUS set_security(struct dpw_socket *s, const struct dpw_req *r)
{
	PVOID sd;

	if (r->u.control.in == NULL || r->u.control.in_len < sizeof(PSECURITY_DESCRIPTOR))
		return STATUS_INVALID_PARAMETER;
	if (s->bound)
		return STATUS_INVALID_DEVICE_STATE;   /* "before the socket is bound" */
	memcpy(&sd, r->u.control.in, sizeof(sd));
	return dpw_security_socket_set(s, sd);
}

static NTSTATUS set_option(struct dpw_socket *s, struct dpw_req *r, ULONG *enabled)
{
	ULONG code = r->u.control.code, v;
	NTSTATUS st;

	/* WSK's own options have numbers nothing else uses: any level will do. */
	if (code == SO_WSK_EVENT_CALLBACK) {
		return set_event_callbacks(s, r, enabled);
	}
	if (code == SO_WSK_SECURITY)
		return s->category == WSK_FLAG_BASIC_SOCKET ? STATUS_NOT_SUPPORTED
							    : set_security(s, r);
	if (r->u.control.level == WSK_IPPROTO_TCP && code == WSK_TCP_NODELAY) {
		if (!is_tcp(s))
			return STATUS_NOT_SUPPORTED;
		if ((st = in_ulong(r, &v)) != STATUS_SUCCESS)
			return st;
		s->opt.nodelay = v != 0;
		apply(s);
		return STATUS_SUCCESS;
	}
	if (r->u.control.level == WSK_IPPROTO_IPV6 && code == WSK_IPV6_V6ONLY)
		return set_v6only(s, r);
	if (!sol_socket(r->u.control.level) || s->category == WSK_FLAG_BASIC_SOCKET)
		return STATUS_NOT_SUPPORTED;
	switch (code) {
	case WSK_SO_REUSEADDR:
		return set_sharing(s, r, false);
	case (ULONG)WSK_SO_EXCLUSIVEADDRUSE:
		return set_sharing(s, r, true);
	case WSK_SO_KEEPALIVE:
		if (!is_tcp(s))
			return STATUS_NOT_SUPPORTED;
		if ((st = in_ulong(r, &v)) != STATUS_SUCCESS)
			return st;
		s->opt.keepalive = v != 0;
		apply(s);
		return STATUS_SUCCESS;
	case WSK_SO_RCVBUF:
	case WSK_SO_SNDBUF:
		if ((st = in_ulong(r, &v)) != STATUS_SUCCESS)
			return st;
		if (code == WSK_SO_RCVBUF) {
			s->opt.rcvbuf = v;
			s->opt.rcvbuf_set = true;
		} else {
			s->opt.sndbuf = v;
			s->opt.sndbuf_set = true;
		}
		return STATUS_SUCCESS;
	default:
		return STATUS_NOT_SUPPORTED;
	}
}

static NTSTATUS get_option(struct dpw_socket *s, struct dpw_req *r, SIZE_T *out)
{
	ULONG code = r->u.control.code;
	bool dgram = s->category == WSK_FLAG_DATAGRAM_SOCKET;

	if (code == SO_WSK_SECURITY) {
		PVOID sd;

		if (s->category == WSK_FLAG_BASIC_SOCKET)
			return STATUS_NOT_SUPPORTED;
		if (r->u.control.out == NULL ||
		    r->u.control.out_len < sizeof(PSECURITY_DESCRIPTOR))
			return STATUS_BUFFER_TOO_SMALL;
		/* A new cached handle: the client releases it with WSK_RELEASE_SD. */
		sd = dpw_security_socket_get(s);
		return out_bytes(r, &sd, sizeof(sd), out);
	}
	if (r->u.control.level == WSK_IPPROTO_TCP && code == WSK_TCP_NODELAY) {
		if (!is_tcp(s))
			return STATUS_NOT_SUPPORTED;
		/* The socket's word is the pcb's: the transport applies it (and inherits it on
		 * accept), and a send's own WSK_FLAG_NODELAY is undone once sent. */
		return out_ulong(r, s->opt.nodelay, out);
	}
	if (r->u.control.level == WSK_IPPROTO_IPV6 && code == WSK_IPV6_V6ONLY) {
		if (s->category == WSK_FLAG_BASIC_SOCKET)
			return STATUS_NOT_SUPPORTED;
		if (s->af != DPW_AF_INET6)
			return STATUS_INVALID_PARAMETER;
		return out_ulong(r, !s->dual_stack, out);
	}
	if (!sol_socket(r->u.control.level) || s->category == WSK_FLAG_BASIC_SOCKET)
		return STATUS_NOT_SUPPORTED;
	switch (code) {
	case WSK_SO_REUSEADDR:
		return out_ulong(r, s->reuse_addr, out);
	case (ULONG)WSK_SO_EXCLUSIVEADDRUSE:
		return out_ulong(r, s->exclusive_addr, out);
	case WSK_SO_KEEPALIVE:
		if (!is_tcp(s))
			return STATUS_NOT_SUPPORTED;
		return out_ulong(r, s->opt.keepalive, out);
	case WSK_SO_RCVBUF:
		if (s->opt.rcvbuf_set)
			return out_ulong(r, s->opt.rcvbuf, out);
		return out_ulong(r, dgram ? DPW_UDP_RCVBUF_DEFAULT : (ULONG)TCP_WND, out);
	case WSK_SO_SNDBUF:
		if (s->opt.sndbuf_set)
			return out_ulong(r, s->opt.sndbuf, out);
		return out_ulong(r, dgram ? DPW_UDP_SNDBUF_DEFAULT : (ULONG)TCP_SND_BUF, out);
	default:
		return STATUS_NOT_SUPPORTED;
	}
}

/* ---- IOCTLs (the level is ignored, as on Windows) --------------------------------------------- */

static NTSTATUS ioctl(struct dpw_socket *s, struct dpw_req *r, SIZE_T *out)
{
	const struct dpw_transport *tp = s->tp;
	NTSTATUS (*query)(const struct dpw_socket *, SIZE_T *) = NULL;
	NTSTATUS (*set)(struct dpw_socket *, const SOCKADDR *, SIZE_T) = NULL;
	SIZE_T v;
	NTSTATUS st;

	switch (r->u.control.code) {
	case SIO_WSK_SET_REMOTE_ADDRESS:
		set = tp->set_remote;
		break;
	case SIO_WSK_SET_SENDTO_ADDRESS:
		set = tp->set_sendto;
		break;
	case SIO_WSK_QUERY_RECEIVE_BACKLOG:
		query = tp->receive_backlog;
		break;
	case SIO_WSK_QUERY_IDEAL_SEND_BACKLOG:
		query = tp->ideal_send_backlog;
		break;
	default:
		break;
	}
	/* A listener's transport is TCP, but it has no backlog to report (R5). */
	if (s->category == WSK_FLAG_LISTEN_SOCKET)
		query = NULL;
	if (set != NULL)
		return set(s, r->u.control.in, r->u.control.in_len);
	if (query == NULL)
		return STATUS_NOT_SUPPORTED;
	if ((st = query(s, &v)) != STATUS_SUCCESS)
		return st;
	return out_bytes(r, &v, sizeof(v), out);
}

void dpw_control_execute(struct dpw_req *r)
{
	struct dpw_socket *s = r->sock;
	SIZE_T *out_used = r->u.control.out_used, out = 0;
	ULONG enabled = 0;   /* events this request turned on */
	NTSTATUS st;

	if (out_used != NULL)
		*out_used = 0;
	switch (r->u.control.type) {
	case WskSetOption:
		st = set_option(s, r, &enabled);
		break;
	case WskGetOption:
		st = get_option(s, r, &out);
		break;
	case WskIoctl:
		st = ioctl(s, r, &out);
		break;
	default:
		st = STATUS_INVALID_PARAMETER;
		break;
	}
	if (st != STATUS_SUCCESS)
		out = 0;
	if (out_used != NULL)
		*out_used = out;
	dpw_req_complete(r, st, out);
	/* Events just enabled that have something to say at once: data already queued, the
	 * ideal send backlog of a connected socket. */
	if (enabled != 0 && !dpw_socket_gone(s) && s->tp->events_enabled != NULL)
		s->tp->events_enabled(s, enabled);
}

/* ---- WskControlClient (caller's thread) -------------------------------------------------------- */

NTSTATUS dpw_control_client(struct dpw_client *c, ULONG code, SIZE_T in_len, PVOID in,
			    SIZE_T out_len, PVOID out, SIZE_T *out_used, PIRP irp)
{
	NTSTATUS st;

	if (out_used != NULL)
		*out_used = 0;
	switch (code) {
	case WSK_SET_STATIC_EVENT_CALLBACKS: {
		const WSK_EVENT_CALLBACK_CONTROL *ctl = in;

		/* F7: only before the client's first socket; no IRP needed. */
		if (ctl == NULL || in_len < sizeof(*ctl)) {
			st = STATUS_INVALID_PARAMETER;
		} else if (atomic_load_explicit(&c->static_locked, memory_order_relaxed)) {
			st = STATUS_INVALID_DEVICE_STATE;
		} else {
			c->static_events = ctl->EventMask & ~WSK_EVENT_DISABLE;
			st = STATUS_SUCCESS;
		}
		break;
	}
	case WSK_CACHE_SD:
		st = dpw_security_cache(c, in_len, in, out_len, out, out_used);
		break;
	case WSK_RELEASE_SD:
		st = dpw_security_release(c, in_len, in);
		break;
	default:
		st = STATUS_NOT_SUPPORTED;
		break;
	}
	/* WSK says Irp must be NULL for these; one given anyway is completed with the result,
	 * whatever it is, refusals included (R3), so that a caller waiting for it is not left
	 * hanging. */
	if (irp != NULL)
		dpw_fail_call(c, irp, st);
	return st;
}
