/* The provider's dispatch tables and their entry points, run on the caller's thread: check
 * the arguments (WSK-R3, R4), the handle (WSK-C6) and the socket's category (R5), pack the
 * call into a request and hand it to the lcore. Nothing here touches lwIP. */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "provider_internal.h"
#include "socket_internal.h"

/* Which operations each category offers (R5). A call that reaches a socket through the
 * wrong table (a cast, a stale pointer) is refused, never run. */
static bool op_allowed(ULONG category, enum dpw_op op)
{
	switch (op) {
	case DPW_OP_CONTROL_SOCKET:
	case DPW_OP_CLOSE:
	case DPW_OP_CANCEL:
		return true;
	case DPW_OP_BIND:
		return category != WSK_FLAG_BASIC_SOCKET;
	case DPW_OP_ACCEPT:
		return category == WSK_FLAG_LISTEN_SOCKET || category == WSK_FLAG_STREAM_SOCKET;
	case DPW_OP_GET_LOCAL_ADDRESS:
		return category != WSK_FLAG_BASIC_SOCKET;
	case DPW_OP_LISTEN:
		return category == WSK_FLAG_STREAM_SOCKET;
	case DPW_OP_CONNECT:
	case DPW_OP_SEND:
	case DPW_OP_RECEIVE:
	case DPW_OP_DISCONNECT:
	case DPW_OP_GET_REMOTE_ADDRESS:
		return category == WSK_FLAG_CONNECTION_SOCKET || category == WSK_FLAG_STREAM_SOCKET;
	case DPW_OP_RELEASE:
		return category == WSK_FLAG_CONNECTION_SOCKET ||
		       category == WSK_FLAG_STREAM_SOCKET || category == WSK_FLAG_DATAGRAM_SOCKET;
	case DPW_OP_SEND_TO:
	case DPW_OP_RECEIVE_FROM:
	case DPW_OP_SEND_MESSAGES:
		return category == WSK_FLAG_DATAGRAM_SOCKET;
	default:
		return false;
	}
}

/* The common front half of every socket call. On success *out is a request ready for its
 * arguments; otherwise the status to return (the IRP already completed with it, or
 * untouched when it was NULL or busy). */
static NTSTATUS begin(PWSK_SOCKET h, PIRP irp, enum dpw_op op, struct dpw_req **out)
{
	struct dpw_socket *s;
	struct dpw_req *r;
	uint32_t gen = 0;
	NTSTATUS st;

	*out = NULL;
	st = DpwStartIrp(irp);              /* NULL or busy: STATUS_INVALID_PARAMETER */
	if (st != STATUS_SUCCESS)
		return st;
	s = dpw_socket_from_handle(h, &gen, &st);
	if (s == NULL) {
		/* A dead slot still knows its client; a pointer that is no socket does not. */
		struct dpw_client *c = dpw_socket_is_slot(h) ? ((struct dpw_socket *)h)->client
							     : NULL;
		return dpw_fail_taken(c, irp, st);
	}
	if (!op_allowed(s->category, op))
		return dpw_fail_taken(s->client, irp, STATUS_INVALID_DEVICE_REQUEST);
	r = dpw_req_new(op, irp);
	if (r == NULL)
		return dpw_fail_taken(s->client, irp, STATUS_INSUFFICIENT_RESOURCES);
	r->sock = s;
	r->sock_gen = gen;
	r->client = s->client;
	/* Counted while the call is inside the provider on this thread, so that a close on
	 * another thread meanwhile is noticed (C6). */
	atomic_fetch_add(&s->callers, 1);
	*out = r;
	return STATUS_SUCCESS;
}

static NTSTATUS reject(struct dpw_req *r, NTSTATUS st)
{
	struct dpw_client *c = r->client;
	struct dpw_socket *s = r->sock;
	PIRP irp = r->irp;

	dpw_req_free(r);
	st = dpw_fail_taken(c, irp, st);
	if (s != NULL)
		atomic_fetch_sub(&s->callers, 1);
	return st;
}

/* Hand a socket call to the lcore; the request may be gone when this returns. */
static NTSTATUS submit(struct dpw_req *r)
{
	struct dpw_socket *s = r->sock;
	NTSTATUS st = dpw_submit(r);

	if (s != NULL)
		atomic_fetch_sub(&s->callers, 1);
	return st;
}

/* ---- client-level calls -------------------------------------------------------------------- */

static NTSTATUS begin_client(PWSK_CLIENT client, PIRP irp, enum dpw_op op,
			     struct dpw_req **out, struct dpw_client **cout)
{
	struct dpw_client *c;
	struct dpw_req *r;
	NTSTATUS st;

	*out = NULL;
	st = DpwStartIrp(irp);
	if (st != STATUS_SUCCESS)
		return st;
	if (client == NULL) {   /* W3: what Windows answers; a stale client is not ready */
		DpwCompleteIrp(irp, STATUS_INVALID_HANDLE, 0);
		return STATUS_INVALID_HANDLE;
	}
	c = dpw_client_from_handle(client);
	if (c == NULL || atomic_load(&c->deregistering)) {
		DpwCompleteIrp(irp, STATUS_DEVICE_NOT_READY, 0);
		return STATUS_DEVICE_NOT_READY;
	}
	r = dpw_req_new(op, irp);
	if (r == NULL)
		return dpw_fail_taken(c, irp, STATUS_INSUFFICIENT_RESOURCES);
	r->client = c;
	*out = r;
	*cout = c;
	return STATUS_SUCCESS;
}

static const struct dpw_socket_kind *kind_for(ULONG category);
static const struct dpw_socket_kind *kind_for_socket(ULONG category, USHORT type, ULONG proto);

static NTSTATUS WSKAPI wsk_socket(PWSK_CLIENT Client, ADDRESS_FAMILY AddressFamily,
				  USHORT SocketType, ULONG Protocol, ULONG Flags,
				  PVOID SocketContext, const VOID *Dispatch, PEPROCESS OwningProcess,
				  PETHREAD OwningThread, PSECURITY_DESCRIPTOR SecurityDescriptor,
				  PIRP Irp)
{
	struct dpw_client *c;
	struct dpw_req *r;
	NTSTATUS st = begin_client(Client, Irp, DPW_OP_SOCKET, &r, &c);

	(void)OwningProcess;
	(void)OwningThread;
	if (r == NULL)
		return st;
	if ((r->u.socket.kind = kind_for_socket(Flags, SocketType, Protocol)) == NULL)
		return reject(r, STATUS_INVALID_PARAMETER);
	if (AddressFamily != AF_INET && AddressFamily != AF_INET6)
		return reject(r, STATUS_INVALID_PARAMETER);
	r->u.socket.af = AddressFamily;
	r->u.socket.type = SocketType;
	r->u.socket.proto = Protocol;
	r->u.socket.sock_flags = Flags;
	r->u.socket.ctx = SocketContext;
	r->u.socket.dispatch = Dispatch;
	r->flags = Flags;
	r->u.socket.sd = SecurityDescriptor;
	return dpw_submit(r);
}

static NTSTATUS WSKAPI wsk_socket_connect(PWSK_CLIENT Client, USHORT SocketType, ULONG Protocol,
					  PSOCKADDR LocalAddress, PSOCKADDR RemoteAddress,
					  ULONG Flags, PVOID SocketContext,
					  const WSK_CLIENT_CONNECTION_DISPATCH *Dispatch,
					  PEPROCESS OwningProcess, PETHREAD OwningThread,
					  PSECURITY_DESCRIPTOR SecurityDescriptor, PIRP Irp)
{
	struct dpw_client *c;
	struct dpw_req *r;
	NTSTATUS st = begin_client(Client, Irp, DPW_OP_SOCKET_CONNECT, &r, &c);

	(void)OwningProcess;
	(void)OwningThread;
	if (r == NULL)
		return st;
	if (LocalAddress == NULL || RemoteAddress == NULL || Flags != 0 ||
	    DpwSockaddrLength(LocalAddress) == 0 || DpwSockaddrLength(RemoteAddress) == 0 ||
	    kind_for_socket(WSK_FLAG_CONNECTION_SOCKET, SocketType, Protocol) == NULL)
		return reject(r, STATUS_INVALID_PARAMETER);
	r->u.socket.af = DpwSockaddrFamily(RemoteAddress);
	r->u.socket.type = SocketType;
	r->u.socket.proto = Protocol;
	r->u.socket.sock_flags = WSK_FLAG_CONNECTION_SOCKET;
	r->u.socket.kind = kind_for(WSK_FLAG_CONNECTION_SOCKET);
	r->u.socket.ctx = SocketContext;
	r->u.socket.dispatch = Dispatch;
	r->u.socket.local = LocalAddress;
	r->u.socket.remote = RemoteAddress;
	r->u.socket.sd = SecurityDescriptor;
	return dpw_submit(r);
}

static NTSTATUS WSKAPI wsk_control_client(PWSK_CLIENT Client, ULONG ControlCode,
					  SIZE_T InputSize, PVOID InputBuffer, SIZE_T OutputSize,
					  PVOID OutputBuffer, SIZE_T *OutputSizeReturned, PIRP Irp)
{
	NTSTATUS dpw_control_client(struct dpw_client *c, ULONG code, SIZE_T in_len, PVOID in,
				    SIZE_T out_len, PVOID out, SIZE_T *out_used, PIRP irp);
	struct dpw_client *c = dpw_client_from_handle(Client);
	NTSTATUS st = STATUS_SUCCESS;

	if (Client == NULL)
		st = STATUS_INVALID_HANDLE;   /* W3 */
	else if (c == NULL || atomic_load(&c->deregistering))
		st = STATUS_DEVICE_NOT_READY;
	if (st != STATUS_SUCCESS) {
		/* W2: an IRP given with a refused call completes with its status, at once (no
		 * client to post it to); a busy IRP stays untouched (R3). */
		if (Irp != NULL && DpwStartIrp(Irp) == STATUS_SUCCESS)
			DpwCompleteIrp(Irp, st, 0);
		return st;
	}
	return dpw_control_client(c, ControlCode, InputSize, InputBuffer, OutputSize, OutputBuffer,
				  OutputSizeReturned, Irp);
}

static NTSTATUS WSKAPI wsk_get_address_info(PWSK_CLIENT Client, PUNICODE_STRING NodeName,
					    PUNICODE_STRING ServiceName, ULONG NameSpace,
					    GUID *Provider, PADDRINFOEXW Hints,
					    PADDRINFOEXW *Result, PEPROCESS OwningProcess,
					    PETHREAD OwningThread, PIRP Irp)
{
	(void)OwningProcess;
	(void)OwningThread;
	return dpw_get_address_info(Client, NodeName, ServiceName, NameSpace, Provider, Hints,
				    Result, Irp);
}

static NTSTATUS WSKAPI wsk_get_name_info(PWSK_CLIENT Client, PSOCKADDR SockAddr,
					 ULONG SockAddrLength, PUNICODE_STRING NodeName,
					 PUNICODE_STRING ServiceName, ULONG Flags,
					 PEPROCESS OwningProcess, PETHREAD OwningThread, PIRP Irp)
{
	(void)OwningProcess;
	(void)OwningThread;
	return dpw_get_name_info(Client, SockAddr, SockAddrLength, NodeName, ServiceName, Flags,
				 Irp);
}

const WSK_PROVIDER_DISPATCH dpw_provider_dispatch = {
	.Version = MAKE_WSK_VERSION(1, 0),
	.WskSocket = wsk_socket,
	.WskSocketConnect = wsk_socket_connect,
	.WskControlClient = wsk_control_client,
	.WskGetAddressInfo = wsk_get_address_info,
	.WskFreeAddressInfo = dpw_free_address_info,
	.WskGetNameInfo = wsk_get_name_info,
};

/* ---- socket calls ---------------------------------------------------------------------------- */

/* SO_WSK_EVENT_CALLBACK set without an IRP, as Windows takes it (its documentation's own
 * example passes none to enable callbacks). What the lcore would refuse is refused here first
 * (the category's events and a client dispatch table never change), and the control block is
 * copied into the request: from another lcore the call does not wait for it (dpw_submit_wait). */
static NTSTATUS event_callbacks_without_irp(PWSK_SOCKET h, ULONG level, SIZE_T in_len, PVOID in)
{
	const WSK_EVENT_CALLBACK_CONTROL *ctl = in;
	struct dpw_socket *s;
	struct dpw_req *r;
	uint32_t gen = 0;
	NTSTATUS st;

	if ((s = dpw_socket_from_handle(h, &gen, &st)) == NULL)
		return st;
	if (!dpw_events_control_ok(s, in, in_len))
		return STATUS_INVALID_PARAMETER;
	if ((r = dpw_req_new(DPW_OP_CONTROL_SOCKET, NULL)) == NULL)
		return STATUS_INSUFFICIENT_RESOURCES;
	r->sock = s;
	r->sock_gen = gen;
	r->client = s->client;
	r->u.control.type = WskSetOption;
	r->u.control.code = SO_WSK_EVENT_CALLBACK;
	r->u.control.level = level;
	r->u.control.events = *ctl;
	r->u.control.in_len = sizeof(*ctl);
	r->u.control.in = &r->u.control.events;
	atomic_fetch_add(&s->callers, 1);   /* as begin() counts a call (C6) */
	st = dpw_submit_wait(r);
	atomic_fetch_sub(&s->callers, 1);
	return st;
}

static NTSTATUS WSKAPI wsk_control_socket(PWSK_SOCKET Socket, WSK_CONTROL_SOCKET_TYPE RequestType,
					  ULONG ControlCode, ULONG Level, SIZE_T InputSize,
					  PVOID InputBuffer, SIZE_T OutputSize, PVOID OutputBuffer,
					  SIZE_T *OutputSizeReturned, PIRP Irp)
{
	struct dpw_req *r;
	NTSTATUS st;

	if (Irp == NULL && RequestType == WskSetOption && ControlCode == SO_WSK_EVENT_CALLBACK)
		return event_callbacks_without_irp(Socket, Level, InputSize, InputBuffer);
	/* Every other control takes an IRP, to have somewhere to put the result. */
	st = begin(Socket, Irp, DPW_OP_CONTROL_SOCKET, &r);
	if (r == NULL)
		return st;
	if (RequestType != WskSetOption && RequestType != WskGetOption && RequestType != WskIoctl)
		return reject(r, STATUS_INVALID_PARAMETER);
	if ((InputSize > 0 && InputBuffer == NULL) || (OutputSize > 0 && OutputBuffer == NULL))
		return reject(r, STATUS_INVALID_PARAMETER);
	r->u.control.type = RequestType;
	r->u.control.code = ControlCode;
	r->u.control.level = Level;
	r->u.control.in_len = InputSize;
	r->u.control.in = InputBuffer;
	r->u.control.out_len = OutputSize;
	r->u.control.out = OutputBuffer;
	r->u.control.out_used = OutputSizeReturned;
	return submit(r);
}

static NTSTATUS WSKAPI wsk_close_socket(PWSK_SOCKET Socket, PIRP Irp)
{
	struct dpw_req *r;
	NTSTATUS st = begin(Socket, Irp, DPW_OP_CLOSE, &r);
	uint32_t expect = DPW_HANDLE_LIVE;

	if (r == NULL)
		return st;
	/* From here the handle is dead to every other caller (C6); a second close loses. */
	if (!atomic_compare_exchange_strong(&r->sock->handle_state, &expect, DPW_HANDLE_CLOSING))
		return reject(r, STATUS_INVALID_HANDLE);
	if (atomic_load(&r->sock->callers) > 1)
		atomic_fetch_add(&dpw_counters.concurrent_close, 1);
	return submit(r);
}

/* W3: connecting an unbound socket is answered at once, as Windows does, not only through
 * the IRP (F1 says which status). A bind still on its way to the lcore counts as bound: a
 * client may queue bind and connect back to back, in ring order; if that bind fails, the
 * lcore refuses the connect through its IRP. */
static bool bound_seen(const struct dpw_req *r)
{
	return atomic_load_explicit(&r->sock->bound_seen, memory_order_acquire) ||
	       atomic_load_explicit(&r->sock->bind_requested, memory_order_acquire);
}

static NTSTATUS addr_call(PWSK_SOCKET Socket, enum dpw_op op, PSOCKADDR addr, ULONG flags,
			  PIRP Irp)
{
	struct dpw_req *r;
	NTSTATUS st = begin(Socket, Irp, op, &r);

	if (r == NULL)
		return st;
	if (addr == NULL)
		return reject(r, STATUS_INVALID_PARAMETER);
	if ((op == DPW_OP_BIND || op == DPW_OP_CONNECT) && DpwSockaddrLength(addr) == 0)
		return reject(r, STATUS_INVALID_ADDRESS);
	if (op == DPW_OP_CONNECT && !bound_seen(r))
		return reject(r, STATUS_INVALID_DEVICE_STATE);
	r->u.addr.addr = addr;
	r->flags = flags;
	if (op == DPW_OP_BIND)
		atomic_store_explicit(&r->sock->bind_requested, true, memory_order_release);
	return submit(r);
}

static NTSTATUS WSKAPI wsk_bind(PWSK_SOCKET Socket, PSOCKADDR LocalAddress, ULONG Flags, PIRP Irp)
{
	return addr_call(Socket, DPW_OP_BIND, LocalAddress, Flags, Irp);
}

static NTSTATUS WSKAPI wsk_connect(PWSK_SOCKET Socket, PSOCKADDR RemoteAddress, ULONG Flags,
				   PIRP Irp)
{
	return addr_call(Socket, DPW_OP_CONNECT, RemoteAddress, Flags, Irp);
}

static NTSTATUS WSKAPI wsk_get_local_address(PWSK_SOCKET Socket, PSOCKADDR LocalAddress,
					     PIRP Irp)
{
	return addr_call(Socket, DPW_OP_GET_LOCAL_ADDRESS, LocalAddress, 0, Irp);
}

static NTSTATUS WSKAPI wsk_get_remote_address(PWSK_SOCKET Socket, PSOCKADDR RemoteAddress,
					      PIRP Irp)
{
	return addr_call(Socket, DPW_OP_GET_REMOTE_ADDRESS, RemoteAddress, 0, Irp);
}

static NTSTATUS WSKAPI wsk_listen(PWSK_SOCKET Socket, PIRP Irp)
{
	struct dpw_req *r;
	NTSTATUS st = begin(Socket, Irp, DPW_OP_LISTEN, &r);

	return r == NULL ? st : submit(r);
}

static NTSTATUS WSKAPI wsk_accept(PWSK_SOCKET ListenSocket, ULONG Flags,
				  PVOID AcceptSocketContext,
				  const WSK_CLIENT_CONNECTION_DISPATCH *AcceptSocketDispatch,
				  PSOCKADDR LocalAddress, PSOCKADDR RemoteAddress, PIRP Irp)
{
	struct dpw_req *r;
	NTSTATUS st = begin(ListenSocket, Irp, DPW_OP_ACCEPT, &r);

	if (r == NULL)
		return st;
	if (Flags != 0)
		return reject(r, STATUS_INVALID_PARAMETER);
	r->u.accept.ctx = AcceptSocketContext;
	r->u.accept.dispatch = AcceptSocketDispatch;
	r->u.accept.local = LocalAddress;
	r->u.accept.remote = RemoteAddress;
	r->issued = &r->sock->accepts_issued;   /* F6's hint for other lcores (tcp_spread.c) */
	atomic_fetch_add_explicit(r->issued, 1, memory_order_relaxed);
	return submit(r);
}

static NTSTATUS WSKAPI wsk_inspect_complete(PWSK_SOCKET ListenSocket, PWSK_INSPECT_ID InspectID,
					    WSK_INSPECT_ACTION Action, PIRP Irp)
{
	struct dpw_req *r;
	NTSTATUS st = begin(ListenSocket, Irp, DPW_OP_CONTROL_SOCKET, &r);

	(void)InspectID;
	(void)Action;
	/* Conditional accept (WskInspectEvent) is not offered: no socket ever has it on. */
	return r == NULL ? st : reject(r, STATUS_INVALID_DEVICE_STATE);
}

/* Send/receive flags each call accepts (the rest are refused, R3). */
#define SEND_FLAGS (WSK_FLAG_NODELAY)
#define RECEIVE_FLAGS (WSK_FLAG_WAITALL | WSK_FLAG_DRAIN)
#define DISCONNECT_FLAGS (WSK_FLAG_ABORTIVE)

static NTSTATUS io_call(PWSK_SOCKET Socket, enum dpw_op op, PWSK_BUF Buffer, ULONG Flags,
			ULONG allowed, bool buffer_optional, PIRP Irp)
{
	struct dpw_req *r;
	NTSTATUS st = begin(Socket, Irp, op, &r);

	if (r == NULL)
		return st;
	if ((Flags & ~allowed) != 0)
		return reject(r, STATUS_INVALID_PARAMETER);
	/* F4: WAITALL and DRAIN exclude each other. */
	if ((Flags & WSK_FLAG_WAITALL) && (Flags & WSK_FLAG_DRAIN))
		return reject(r, STATUS_INVALID_PARAMETER);
	if (Buffer == NULL && !buffer_optional)
		return reject(r, STATUS_INVALID_PARAMETER);
	if (Buffer != NULL && (st = DpwValidateWskBuf(Buffer)) != STATUS_SUCCESS)
		return reject(r, st);
	r->u.io.buf = Buffer;
	r->flags = Flags;
	return submit(r);
}

static NTSTATUS WSKAPI wsk_send(PWSK_SOCKET Socket, PWSK_BUF Buffer, ULONG Flags, PIRP Irp)
{
	return io_call(Socket, DPW_OP_SEND, Buffer, Flags, SEND_FLAGS, false, Irp);
}

static NTSTATUS WSKAPI wsk_receive(PWSK_SOCKET Socket, PWSK_BUF Buffer, ULONG Flags, PIRP Irp)
{
	return io_call(Socket, DPW_OP_RECEIVE, Buffer, Flags, RECEIVE_FLAGS, false, Irp);
}

static NTSTATUS WSKAPI wsk_disconnect(PWSK_SOCKET Socket, PWSK_BUF Buffer, ULONG Flags, PIRP Irp)
{
	return io_call(Socket, DPW_OP_DISCONNECT, Buffer, Flags, DISCONNECT_FLAGS, true, Irp);
}

/* WskConnectEx: a connect whose IRP, once connected, goes on as a send of Buffer (if any)
 * and completes with the bytes sent. */
static NTSTATUS WSKAPI wsk_connect_ex(PWSK_SOCKET Socket, PSOCKADDR RemoteAddress,
				      PWSK_BUF Buffer, ULONG Flags, PIRP Irp)
{
	struct dpw_req *r;
	NTSTATUS st = begin(Socket, Irp, DPW_OP_CONNECT, &r);

	if (r == NULL)
		return st;
	if (RemoteAddress == NULL || Flags != 0)   /* Flags is reserved */
		return reject(r, STATUS_INVALID_PARAMETER);
	if (DpwSockaddrLength(RemoteAddress) == 0)
		return reject(r, STATUS_INVALID_ADDRESS);
	if (Buffer != NULL && (st = DpwValidateWskBuf(Buffer)) != STATUS_SUCCESS)
		return reject(r, st);
	if (!bound_seen(r))
		return reject(r, STATUS_INVALID_DEVICE_STATE);
	r->u.addr.addr = RemoteAddress;
	r->u.addr.buf = Buffer;
	return submit(r);
}

static NTSTATUS WSKAPI wsk_send_ex(PWSK_SOCKET Socket, PWSK_BUF Buffer, ULONG Flags,
				   ULONG ControlInfoLength, PCMSGHDR ControlInfo, PIRP Irp)
{
	struct dpw_req *r;
	NTSTATUS st;

	if (ControlInfoLength == 0 && ControlInfo == NULL)
		return wsk_send(Socket, Buffer, Flags, Irp);
	/* TCP carries no ancillary data that lwIP could send: say so (R3). */
	st = begin(Socket, Irp, DPW_OP_SEND, &r);
	return r == NULL ? st : reject(r, STATUS_NOT_SUPPORTED);
}

static NTSTATUS WSKAPI wsk_receive_ex(PWSK_SOCKET Socket, PWSK_BUF Buffer, ULONG Flags,
				      PULONG ControlInfoLength, PCMSGHDR ControlInfo,
				      PULONG ControlFlags, PIRP Irp)
{
	if (ControlInfoLength != NULL)
		*ControlInfoLength = 0;
	if (ControlFlags != NULL)
		*ControlFlags = 0;
	(void)ControlInfo;
	return wsk_receive(Socket, Buffer, Flags, Irp);
}

/* A release list's links: both kinds of indication start with their Next pointer, read and
 * written here through memcpy, whichever kind the list is. */
_Static_assert(offsetof(WSK_DATA_INDICATION, Next) == 0 &&
	       offsetof(WSK_DATAGRAM_INDICATION, Next) == 0, "Next first");

static PVOID next_of(PVOID item)
{
	PVOID next;

	memcpy(&next, item, sizeof(next));
	return next;
}

static void set_next(PVOID item, PVOID next)
{
	memcpy(item, &next, sizeof(next));
}

/* WskRelease has no IRP: it is queued for the lcore that lent the data (which owns it) and
 * reported done. A list may chain indications that several lcores lent (a client may join
 * those of sockets on different lcores): it is cut into one list per lcore, order kept, each
 * released there. All requests are taken first, so that a shortage refuses the whole call. */
static NTSTATUS release_call(PWSK_SOCKET Socket, PVOID list, const struct dpw_transport *tp)
{
	struct dpw_socket *s = (struct dpw_socket *)Socket;
	struct dpw_req *reqs[DPW_MAX_LCORES] = { NULL };
	PVOID last[DPW_MAX_LCORES];
	unsigned lcores = dpw_lcore_count() > 0 ? dpw_lcore_count() : 1;

	if (list == NULL)
		return STATUS_INVALID_PARAMETER;
	/* C9 (ours): a release after close still frees the data, so a dead handle is fine as
	 * long as it is one of ours. */
	if (!dpw_socket_is_slot(Socket))
		return STATUS_INVALID_HANDLE;
	for (PVOID item = list; item != NULL; item = next_of(item)) {
		unsigned k = tp->lent_by(item);   /* from client memory: checked */

		k = k < lcores ? k : 0;
		if (reqs[k] != NULL)
			continue;
		reqs[k] = dpw_req_new(DPW_OP_RELEASE, NULL);
		if (reqs[k] == NULL) {
			for (unsigned i = 0; i < DPW_MAX_LCORES; i++)
				if (reqs[i] != NULL)
					dpw_req_free(reqs[i]);
			return STATUS_INSUFFICIENT_RESOURCES;
		}
		reqs[k]->sock = s;
		reqs[k]->sock_gen = atomic_load(&s->gen);
		reqs[k]->client = s->client;
		reqs[k]->u.release.tp = tp;   /* which transport lent them: the table says */
		reqs[k]->u.release.lcore = k;
		last[k] = NULL;
	}
	for (PVOID item = list, next; item != NULL; item = next) {
		unsigned k = tp->lent_by(item);

		k = k < lcores ? k : 0;
		next = next_of(item);
		set_next(item, NULL);
		if (last[k] == NULL)
			reqs[k]->u.release.list = item;
		else
			set_next(last[k], item);
		last[k] = item;
	}
	for (unsigned k = 0; k < DPW_MAX_LCORES; k++)
		if (reqs[k] != NULL)
			dpw_submit(reqs[k]);
	return STATUS_SUCCESS;
}

static NTSTATUS WSKAPI wsk_release(PWSK_SOCKET Socket, PWSK_DATA_INDICATION DataIndication)
{
	return release_call(Socket, DataIndication, &dpw_tcp_transport);
}

static NTSTATUS WSKAPI wsk_release_datagrams(PWSK_SOCKET Socket,
					     PWSK_DATAGRAM_INDICATION DatagramIndication)
{
	return release_call(Socket, DatagramIndication, &dpw_udp_transport);
}

static NTSTATUS WSKAPI wsk_send_to(PWSK_SOCKET Socket, PWSK_BUF Buffer, ULONG Flags,
				   PSOCKADDR RemoteAddress, ULONG ControlInfoLength,
				   PCMSGHDR ControlInfo, PIRP Irp)
{
	struct dpw_req *r;
	NTSTATUS st = begin(Socket, Irp, DPW_OP_SEND_TO, &r);

	if (r == NULL)
		return st;
	if (Flags != 0 || Buffer == NULL || (ControlInfoLength != 0 && ControlInfo == NULL))
		return reject(r, STATUS_INVALID_PARAMETER);
	if ((st = DpwValidateWskBuf(Buffer)) != STATUS_SUCCESS)
		return reject(r, st);
	if (RemoteAddress != NULL && DpwSockaddrLength(RemoteAddress) == 0)
		return reject(r, STATUS_INVALID_ADDRESS);
	r->u.dgram.buf = Buffer;
	r->u.dgram.remote = RemoteAddress;
	r->u.dgram.ctl_len = ControlInfoLength;
	r->u.dgram.ctl = ControlInfo;
	return submit(r);
}

static NTSTATUS WSKAPI wsk_receive_from(PWSK_SOCKET Socket, PWSK_BUF Buffer, ULONG Flags,
					PSOCKADDR RemoteAddress, PULONG ControlLength,
					PCMSGHDR ControlInfo, PULONG ControlFlags, PIRP Irp)
{
	struct dpw_req *r;
	NTSTATUS st = begin(Socket, Irp, DPW_OP_RECEIVE_FROM, &r);

	(void)ControlInfo;
	if (r == NULL)
		return st;
	if (Flags != 0 || Buffer == NULL)
		return reject(r, STATUS_INVALID_PARAMETER);
	if ((st = DpwValidateWskBuf(Buffer)) != STATUS_SUCCESS)
		return reject(r, st);
	if (ControlLength != NULL)
		*ControlLength = 0;   /* no ancillary data is produced */
	r->u.dgram.buf = Buffer;
	r->u.dgram.remote = RemoteAddress;
	r->u.dgram.ctl_len_out = ControlFlags;
	return submit(r);
}

static NTSTATUS WSKAPI wsk_send_messages(PWSK_SOCKET Socket, PWSK_BUF_LIST BufferList,
					 ULONG Flags, PSOCKADDR RemoteAddress,
					 ULONG ControlInfoLength, PCMSGHDR ControlInfo, PIRP Irp)
{
	struct dpw_req *r;
	NTSTATUS st = begin(Socket, Irp, DPW_OP_SEND_MESSAGES, &r);

	if (r == NULL)
		return st;
	if (Flags != 0 || BufferList == NULL || (ControlInfoLength != 0 && ControlInfo == NULL))
		return reject(r, STATUS_INVALID_PARAMETER);
	for (PWSK_BUF_LIST l = BufferList; l != NULL; l = l->Next)
		if ((st = DpwValidateWskBuf(&l->Buffer)) != STATUS_SUCCESS)
			return reject(r, st);
	r->u.msgs.list = BufferList;
	r->u.msgs.remote = RemoteAddress;
	return submit(r);
}

/* ---- the five tables (R5) ------------------------------------------------------------------- */

static const WSK_PROVIDER_BASIC_DISPATCH basic_dispatch = {
	.WskControlSocket = wsk_control_socket,
	.WskCloseSocket = wsk_close_socket,
};

static const WSK_PROVIDER_LISTEN_DISPATCH listen_dispatch = {
	.WskControlSocket = wsk_control_socket,
	.WskCloseSocket = wsk_close_socket,
	.WskBind = wsk_bind,
	.WskAccept = wsk_accept,
	.WskInspectComplete = wsk_inspect_complete,
	.WskGetLocalAddress = wsk_get_local_address,
};

static const WSK_PROVIDER_DATAGRAM_DISPATCH datagram_dispatch = {
	.WskControlSocket = wsk_control_socket,
	.WskCloseSocket = wsk_close_socket,
	.WskBind = wsk_bind,
	.WskSendTo = wsk_send_to,
	.WskReceiveFrom = wsk_receive_from,
	.WskRelease = wsk_release_datagrams,
	.WskGetLocalAddress = wsk_get_local_address,
	.WskSendMessages = wsk_send_messages,
};

static const WSK_PROVIDER_CONNECTION_DISPATCH connection_dispatch = {
	.WskControlSocket = wsk_control_socket,
	.WskCloseSocket = wsk_close_socket,
	.WskBind = wsk_bind,
	.WskConnect = wsk_connect,
	.WskGetLocalAddress = wsk_get_local_address,
	.WskGetRemoteAddress = wsk_get_remote_address,
	.WskSend = wsk_send,
	.WskReceive = wsk_receive,
	.WskDisconnect = wsk_disconnect,
	.WskRelease = wsk_release,
	.WskConnectEx = wsk_connect_ex,
	.WskSendEx = wsk_send_ex,
	.WskReceiveEx = wsk_receive_ex,
};

static const WSK_PROVIDER_STREAM_DISPATCH stream_dispatch = {
	.WskControlSocket = wsk_control_socket,
	.WskCloseSocket = wsk_close_socket,
	.WskBind = wsk_bind,
	.WskAccept = wsk_accept,
	.WskConnect = wsk_connect,
	.WskListen = wsk_listen,
	.WskSend = wsk_send,
	.WskReceive = wsk_receive,
	.WskDisconnect = wsk_disconnect,
	.WskRelease = wsk_release,
	.WskGetLocalAddress = wsk_get_local_address,
	.WskGetRemoteAddress = wsk_get_remote_address,
	.WskConnectEx = wsk_connect_ex,
	.WskSendEx = wsk_send_ex,
	.WskReceiveEx = wsk_receive_ex,
};

/* What each category is: its table here and its transport (R5). A basic socket has no
 * transport; accepted connections are connection sockets whatever listened. */
static const struct dpw_transport no_transport;
static const struct dpw_socket_kind connection_kind = {
	WSK_FLAG_CONNECTION_SOCKET, &connection_dispatch, &dpw_tcp_transport, NULL };
static const struct dpw_socket_kind kinds[] = {
	{ WSK_FLAG_BASIC_SOCKET, &basic_dispatch, &no_transport, NULL },
	{ WSK_FLAG_LISTEN_SOCKET, &listen_dispatch, &dpw_tcp_transport, &connection_kind },
	{ WSK_FLAG_DATAGRAM_SOCKET, &datagram_dispatch, &dpw_udp_transport, NULL },
	{ WSK_FLAG_STREAM_SOCKET, &stream_dispatch, &dpw_tcp_transport, &connection_kind },
};
/* W4: Windows creates it, and fails its WskBind with STATUS_NOT_IMPLEMENTED. */
static const struct dpw_socket_kind datagram_listen_kind = {
	WSK_FLAG_LISTEN_SOCKET, &listen_dispatch, &dpw_unimplemented_transport, NULL };

/* NULL for a category that does not exist. */
static const struct dpw_socket_kind *kind_for(ULONG category)
{
	if (category == WSK_FLAG_CONNECTION_SOCKET)
		return &connection_kind;
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (kinds[i].category == category)
			return &kinds[i];
	return NULL;
}

/* The kind for WskSocket's category, type and protocol, or NULL for a mix no transport
 * takes: stream, connection and listening sockets are TCP (SOCK_STREAM), datagram sockets UDP
 * (SOCK_DGRAM); protocol 0 means the type's own, as in Winsock. A basic socket only takes
 * control calls, whatever its type. */
static const struct dpw_socket_kind *kind_for_socket(ULONG category, USHORT type, ULONG proto)
{
	const struct dpw_socket_kind *k = kind_for(category);
	bool stream = type == SOCK_STREAM && (proto == 0 || proto == IPPROTO_TCP);
	bool datagram = type == SOCK_DGRAM && (proto == 0 || proto == IPPROTO_UDP);

	if (k == NULL || category == WSK_FLAG_BASIC_SOCKET)
		return k;
	if (category == WSK_FLAG_LISTEN_SOCKET && datagram)
		return &datagram_listen_kind;
	if (category == WSK_FLAG_DATAGRAM_SOCKET)
		return datagram ? k : NULL;
	return stream ? k : NULL;
}
