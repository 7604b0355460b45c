/* Datagram sockets over lwIP's raw UDP API, on the lcore (WSK-F8).
 *
 * The pcb is created when first needed (bind, or a send on an unbound socket, which binds it
 * to an ephemeral port first, as Windows does). Send: the WSK_BUF is copied into one
 * PBUF_RAM pbuf and handed to udp_sendto; the IRP completes at once with the bytes sent
 * (nothing is buffered, so there is nothing to wait for).
 *
 * Receive: an arriving datagram goes, in this order of precedence,
 *   1. to the oldest pending WskReceiveFrom IRP: copied, truncated to the buffer with
 *      DPW_MSG_TRUNC in *ControlFlags, RemoteAddress filled;
 *   2. onto the socket's queue (at most DPW_UDP_QUEUE_MAX datagrams and SO_RCVBUF bytes;
 *      beyond that it is dropped and counted), from where the next WskReceiveFrom takes it;
 *      and, when WskReceiveFromEvent is enabled, the whole queue is indicated at once as a
 *      WSK_DATAGRAM_INDICATION list pointing into the received buffers (no copy). The event
 *      returns STATUS_SUCCESS (data freed), STATUS_PENDING (the client keeps the list until
 *      WskRelease, F7/C9) or STATUS_DATA_NOT_ACCEPTED (the datagrams go back on the queue for
 *      WskReceiveFrom, and an event enabled by SO_WSK_EVENT_CALLBACK is disabled until enabled
 *      again, as the WSK documentation says).
 *
 * Datagram indications are released through this transport's table (the datagram dispatch
 * table's WskRelease names it), so that TCP's stream indications and these never get
 * confused. Close (socket.c) cancels pending IRPs first; close_socket then removes the pcb
 * and drops the queue; retained indications stay the client's (C9). */
#include <stdlib.h>
#include <string.h>

#include "lwip/ip.h"
#include "lwip/netif.h"
#include "lwip/pbuf.h"
#include "lwip/udp.h"

#include "objcache_internal.h"
#include "options_internal.h"

/* The largest UDP payload IPv4 can carry: 65535 - 20 (IP) - 8 (UDP). */
#define DPW_UDP_MAX_PAYLOAD 65507u

/* One received datagram, queued or lent to the client. */
struct dpw_dgram {
	struct pbuf *p;                  /* payload (UDP header removed), possibly a chain */
	ip_addr_t from;
	u16_t port;
	u16_t flags;                     /* DPW_MSG_BCAST */
};

/* A datagram socket's receive queue: a ring, allocated at the first datagram queued. */
struct dpw_udp {
	uint32_t head, count;
	uint32_t bytes;                  /* payload bytes queued */
	struct dpw_dgram q[DPW_UDP_QUEUE_MAX];
};

/* A datagram lent to WskReceiveFromEvent: the WSK structure first, then what it points to. */
struct dpw_dgram_indication {
	WSK_DATAGRAM_INDICATION di;      /* first: the client sees a PWSK_DATAGRAM_INDICATION */
	SOCKADDR_INET remote;            /* di.RemoteAddress */
	struct dpw_dgram d;
	struct dpw_lent lent;            /* on the client's list while retained (C9) */
	ULONG nmdl;
	bool from_heap;                  /* more pbufs than the cache's objects have MDLs for */
	MDL mdl[];                       /* one per non-empty pbuf of d.p, chained */
};

/* Most datagrams are one mbuf (a jumbo or reassembled one, a few): indications with this
 * many MDLs come from the lcore's cache, larger ones from the heap (counted). */
#define DGRAM_CACHED_MDLS 4
static struct dpw_objcache indications[DPW_MAX_LCORES] = {
	[0 ... DPW_MAX_LCORES - 1] = DPW_OBJCACHE(sizeof(struct dpw_dgram_indication) + DGRAM_CACHED_MDLS * sizeof(MDL), 64,
		     &dpw_counters.heap_indications)
};

static void free_indication(struct dpw_dgram_indication *ind)
{
	if (ind->from_heap)
		free(ind);
	else
		dpw_objcache_put(&indications[dpw_lcore_here()], ind);
}

static struct {
	atomic_ullong sent, received, drops, indicated;
	atomic_uint retained;
} stats;

VOID DpwGetDatagramStats(PDPW_DATAGRAM_STATS s)
{
	if (s == NULL)
		return;
	s->Sent = atomic_load(&stats.sent);
	s->Received = atomic_load(&stats.received);
	s->QueueDrops = atomic_load(&stats.drops);
	s->Indicated = atomic_load(&stats.indicated);
	s->Retained = atomic_load(&stats.retained);
}

static void on_recv(void *arg, struct udp_pcb *pcb, struct pbuf *p, const ip_addr_t *addr,
		    u16_t port);

/* SO_REUSEADDR onto the pcb (the only option a datagram pcb takes, F9). */
static void apply_options(struct dpw_socket *s)
{
	if (s->t.udp.pcb == NULL)
		return;
	if (s->t.udp.pcb->local_port == 0) {
		/* Not bound yet (a bind failed): the family it takes may still change (W6). */
		IP_SET_TYPE_VAL(s->t.udp.pcb->local_ip, dpw_socket_ip_type(s));
		IP_SET_TYPE_VAL(s->t.udp.pcb->remote_ip, dpw_socket_ip_type(s));
	}
	if (s->reuse_addr)
		s->t.udp.pcb->so_options |= SOF_REUSEADDR;
	else
		s->t.udp.pcb->so_options &= (u8_t)~SOF_REUSEADDR;
}

/* ---- pcb and bind ----------------------------------------------------------------------- */

static NTSTATUS ensure_pcb(struct dpw_socket *s)
{
	struct udp_pcb *pcb;

	if (s->t.udp.pcb != NULL)
		return STATUS_SUCCESS;
	pcb = udp_new_ip_type(dpw_socket_ip_type(s));
	if (pcb == NULL)
		return STATUS_INSUFFICIENT_RESOURCES;
	s->t.udp.pcb = pcb;
	udp_recv(pcb, on_recv, s);
	apply_options(s);   /* SO_REUSEADDR set before the pcb existed */
	return STATUS_SUCCESS;
}

static void remember_local(struct dpw_socket *s)
{
	dpw_socket_sockaddr(s, &s->t.udp.pcb->local_ip, s->t.udp.pcb->local_port, &s->local_addr);
	s->has_local = true;
}

static NTSTATUS bind_to(struct dpw_socket *s, const ip_addr_t *ip, u16_t port)
{
	NTSTATUS st, refusal;
	err_t err;

	if (s->bound)
		return STATUS_INVALID_DEVICE_STATE;
	if (!dpw_ip_is_bindable(ip))
		return STATUS_INVALID_ADDRESS_COMPONENT;   /* Windows' WSAEADDRNOTAVAIL */
	if ((st = ensure_pcb(s)) != STATUS_SUCCESS)
		return st;
	err = dpw_bind_pcb(s, ip, port, &refusal);
	if (err == ERR_USE)
		return refusal;   /* F2, W5 */
	if (err == ERR_MEM)
		return STATUS_INSUFFICIENT_RESOURCES;
	if (err != ERR_OK)
		return STATUS_INVALID_ADDRESS;
	dpw_socket_set_bound(s);
	remember_local(s);
	return STATUS_SUCCESS;
}

static void do_bind(struct dpw_req *r)
{
	ip_addr_t ip;
	uint16_t port;
	NTSTATUS st;

	if (dpw_socket_bind_moves(r))   /* to the lcore that holds the port (step 6) */
		return;
	st = dpw_sockaddr_for_socket(r->sock, r->u.addr.addr, &ip, &port);

	if (st == STATUS_SUCCESS)
		st = bind_to(r->sock, &ip, port);
	dpw_req_complete(r, st, 0);
}

/* A send on an unbound socket binds it to an ephemeral port first (Windows does the same). */
static NTSTATUS ensure_bound(struct dpw_socket *s)
{
	return s->bound ? STATUS_SUCCESS
			: bind_to(s, s->af == DPW_AF_INET6 ? IP6_ADDR_ANY : IP4_ADDR_ANY, 0);
}

/* ---- send ---------------------------------------------------------------------------------- */

/* Where a send goes: the address given, else the fixed remote (SIO_WSK_SET_REMOTE_ADDRESS),
 * else the fixed destination (SIO_WSK_SET_SENDTO_ADDRESS). */
static NTSTATUS resolve_remote(const struct dpw_socket *s, const SOCKADDR *remote, ip_addr_t *ip,
			       uint16_t *port)
{
	NTSTATUS st;

	if (remote == NULL) {
		if (s->t.udp.has_remote_fixed)
			remote = (const SOCKADDR *)&s->t.udp.remote_fixed;
		else if (s->t.udp.has_sendto_fixed)
			remote = (const SOCKADDR *)&s->t.udp.sendto_fixed;
		else
			return STATUS_INVALID_PARAMETER;
	}
	if ((st = dpw_sockaddr_for_socket(s, remote, ip, port)) != STATUS_SUCCESS)
		return st;
	if (*port == 0 || ip_addr_isany(ip))
		return STATUS_INVALID_ADDRESS;
	return STATUS_SUCCESS;
}

static NTSTATUS map_send_err(err_t err)
{
	switch (err) {
	case ERR_OK:
		return STATUS_SUCCESS;
	case ERR_RTE:
		return STATUS_NETWORK_UNREACHABLE;
	case ERR_MEM:
	case ERR_BUF:
		return STATUS_INSUFFICIENT_RESOURCES;
	case ERR_VAL:
	case ERR_ARG:
		return STATUS_INVALID_PARAMETER;
	default:
		return STATUS_UNSUCCESSFUL;
	}
}

/* One datagram out: copy, send, free (udp_sendto never keeps the pbuf). */
static NTSTATUS send_one(struct dpw_socket *s, const WSK_BUF *buf, const ip_addr_t *ip,
			 uint16_t port)
{
	struct pbuf *p;
	err_t err;

	if (buf->Length > DPW_UDP_MAX_PAYLOAD)
		return STATUS_INVALID_BUFFER_SIZE;   /* Windows' WSAEMSGSIZE */
	p = pbuf_alloc(PBUF_TRANSPORT, (u16_t)buf->Length, PBUF_RAM);
	if (p == NULL)
		return STATUS_INSUFFICIENT_RESOURCES;
	if (buf->Length > 0 && DpwCopyFromWskBuf(buf, 0, p->payload, buf->Length) != buf->Length) {
		pbuf_free(p);
		return STATUS_INVALID_PARAMETER;   /* validated by the caller: cannot happen */
	}
	err = udp_sendto(s->t.udp.pcb, p, ip, port);
	pbuf_free(p);
	if (err == ERR_OK)
		atomic_fetch_add_explicit(&stats.sent, 1, memory_order_relaxed);
	return map_send_err(err);
}

static void do_send_to(struct dpw_req *r)
{
	struct dpw_socket *s = r->sock;
	ip_addr_t ip;
	uint16_t port;
	NTSTATUS st;

	if (r->u.dgram.ctl_len != 0) {
		/* Control data on send (IP_PKTINFO and the like) is not offered. */
		dpw_req_complete(r, STATUS_NOT_SUPPORTED, 0);
		return;
	}
	st = resolve_remote(s, r->u.dgram.remote, &ip, &port);
	if (st == STATUS_SUCCESS)
		st = ensure_bound(s);
	if (st == STATUS_SUCCESS)
		st = send_one(s, r->u.dgram.buf, &ip, port);
	dpw_req_complete(r, st, st == STATUS_SUCCESS ? r->u.dgram.buf->Length : 0);
}

/* Each WSK_BUF of the list is one datagram, in order. Information is the bytes of the
 * datagrams sent; the first failure stops the list and is the IRP's status. */
static void do_send_messages(struct dpw_req *r)
{
	struct dpw_socket *s = r->sock;
	ip_addr_t ip;
	uint16_t port;
	SIZE_T sent = 0;
	NTSTATUS st;
	ULONG n = 0;

	st = resolve_remote(s, r->u.msgs.remote, &ip, &port);
	/* All sizes first: a list refused for size sends nothing. */
	for (PWSK_BUF_LIST l = r->u.msgs.list; st == STATUS_SUCCESS && l != NULL; l = l->Next) {
		if (l->Buffer.Length > DPW_UDP_MAX_PAYLOAD || ++n > DPW_MDL_CHAIN_MAX)
			st = STATUS_INVALID_BUFFER_SIZE;
	}
	if (st == STATUS_SUCCESS)
		st = ensure_bound(s);
	for (PWSK_BUF_LIST l = r->u.msgs.list; st == STATUS_SUCCESS && l != NULL; l = l->Next) {
		st = send_one(s, &l->Buffer, &ip, port);
		if (st == STATUS_SUCCESS)
			sent += l->Buffer.Length;
	}
	dpw_req_complete(r, st, sent);
}

/* ---- receive queue -------------------------------------------------------------------------- */

static ULONG rcvbuf_limit(const struct dpw_socket *s)
{
	return s->opt.rcvbuf_set ? s->opt.rcvbuf : DPW_UDP_RCVBUF_DEFAULT;
}

/* Queue a datagram (taking p); false, p untouched, when the queue is full. An empty queue
 * always takes one datagram, whatever SO_RCVBUF says (as Linux does). */
static bool enqueue(struct dpw_socket *s, const struct dpw_dgram *d)
{
	struct dpw_udp *u = s->t.udp.queue;

	if (u == NULL) {
		u = s->t.udp.queue = calloc(1, sizeof(*u));
		if (u == NULL)
			return false;
	}
	if (u->count == DPW_UDP_QUEUE_MAX ||
	    (u->count > 0 && (uint64_t)u->bytes + d->p->tot_len > rcvbuf_limit(s)))
		return false;
	u->q[(u->head + u->count) % DPW_UDP_QUEUE_MAX] = *d;
	u->count++;
	u->bytes += d->p->tot_len;
	return true;
}

static bool dequeue(struct dpw_socket *s, struct dpw_dgram *d)
{
	struct dpw_udp *u = s->t.udp.queue;

	if (u == NULL || u->count == 0)
		return false;
	*d = u->q[u->head];
	u->head = (u->head + 1) % DPW_UDP_QUEUE_MAX;
	u->count--;
	u->bytes -= d->p->tot_len;
	return true;
}

/* Put back at the head, in front of what is queued (undoing a dequeue). */
static void requeue_front(struct dpw_socket *s, const struct dpw_dgram *d)
{
	struct dpw_udp *u = s->t.udp.queue;

	u->head = (u->head + DPW_UDP_QUEUE_MAX - 1) % DPW_UDP_QUEUE_MAX;
	u->q[u->head] = *d;
	u->count++;
	u->bytes += d->p->tot_len;
}

static NTSTATUS receive_backlog(const struct dpw_socket *s, SIZE_T *bytes)
{
	*bytes = s->t.udp.queue != NULL ? s->t.udp.queue->bytes : 0;
	return STATUS_SUCCESS;
}

/* Complete a WskReceiveFrom with one datagram (the caller frees the datagram). */
static void complete_receive(struct dpw_req *r, const struct dpw_dgram *d)
{
	PWSK_BUF buf = r->u.dgram.buf;
	ULONG flags = d->flags;
	SIZE_T done = 0;

	for (struct pbuf *q = d->p; q != NULL && done < buf->Length; q = q->next) {
		SIZE_T piece = q->len < buf->Length - done ? q->len : buf->Length - done;

		if (piece > 0)
			DpwCopyToWskBuf(buf, done, q->payload, piece);
		done += piece;
	}
	if (d->p->tot_len > done)
		flags |= DPW_MSG_TRUNC;   /* F8: the rest of the datagram is lost */
	if (r->u.dgram.remote != NULL) {
		SOCKADDR_INET from;

		dpw_socket_sockaddr(r->sock, &d->from, d->port, &from);
		dpw_copy_sockaddr(r->u.dgram.remote, &from);
	}
	if (r->u.dgram.ctl_len_out != NULL)   /* dispatch.c keeps ControlFlags here */
		*r->u.dgram.ctl_len_out = flags;
	dpw_req_complete(r, STATUS_SUCCESS, done);
}

/* Pending receives take queued datagrams, oldest first. */
static void serve_receives(struct dpw_socket *s)
{
	struct dpw_dgram d;

	while (s->recvq.head != NULL && dequeue(s, &d)) {
		complete_receive(dpw_queue_pop(&s->recvq), &d);
		pbuf_free(d.p);
	}
}

static void do_receive_from(struct dpw_req *r)
{
	struct dpw_socket *s = r->sock;

	if (!s->bound) {
		dpw_req_complete(r, STATUS_INVALID_DEVICE_STATE, 0);
		return;
	}
	dpw_pend(&s->recvq, r);
	serve_receives(s);
}

/* ---- the receive-from event (F7) -------------------------------------------------------------- */

static void free_indications(struct dpw_dgram_indication *first, bool free_data)
{
	while (first != NULL) {
		struct dpw_dgram_indication *next = (struct dpw_dgram_indication *)first->di.Next;

		dpw_lent_forget(&first->lent);
		if (free_data)
			pbuf_free(first->d.p);
		free_indication(first);
		first = next;
	}
}

/* WskDeregister's sweep of an indication never released (lent.c). */
static void free_lent(struct dpw_lent *l)
{
	struct dpw_dgram_indication *ind = (struct dpw_dgram_indication *)
		((char *)l - offsetof(struct dpw_dgram_indication, lent));

	pbuf_free(ind->d.p);
	free_indication(ind);
	atomic_fetch_sub_explicit(&stats.retained, 1, memory_order_relaxed);
}

static void lend_all(struct dpw_client *c, struct dpw_dgram_indication *first, bool lend)
{
	for (struct dpw_dgram_indication *i = first; i != NULL;
	     i = (struct dpw_dgram_indication *)i->di.Next)
		if (lend)
			dpw_lent_keep(c, &i->lent, free_lent);
		else
			dpw_lent_forget(&i->lent);
}

static unsigned lent_by(const VOID *list)
{
	return ((const struct dpw_dgram_indication *)list)->lent.lcore;
}

static void release(struct dpw_req *r)
{
	unsigned n = 0;

	/* C9: whatever became of the socket, the indications and their data go now. */
	for (PWSK_DATAGRAM_INDICATION i = (PWSK_DATAGRAM_INDICATION)(PVOID)r->u.release.list;
	     i != NULL; i = i->Next)
		n++;
	free_indications((struct dpw_dgram_indication *)r->u.release.list, true);
	atomic_fetch_sub_explicit(&stats.retained, n, memory_order_relaxed);
	dpw_req_free(r);
}

/* One datagram described in place: an MDL per pbuf of the chain, no copy. */
static struct dpw_dgram_indication *make_indication(const struct dpw_socket *s,
							   const struct dpw_dgram *d)
{
	struct dpw_dgram_indication *ind;
	ULONG n = 0;
	PMDL *link;

	for (struct pbuf *q = d->p; q != NULL; q = q->next)
		n += q->len > 0;
	if (n <= DGRAM_CACHED_MDLS) {
		ind = dpw_objcache_get(&indications[dpw_lcore_here()]);
	} else {
		ind = calloc(1, sizeof(*ind) + n * sizeof(MDL));
		atomic_fetch_add_explicit(&dpw_counters.heap_indications, 1, memory_order_relaxed);
		if (ind != NULL)
			ind->from_heap = true;
	}
	if (ind == NULL)
		return NULL;
	ind->d = *d;
	ind->nmdl = n;
	link = &ind->di.Buffer.Mdl;
	n = 0;
	for (struct pbuf *q = d->p; q != NULL; q = q->next) {
		if (q->len == 0)
			continue;
		MmInitializeMdl(&ind->mdl[n], q->payload, q->len);
		*link = &ind->mdl[n];
		link = &ind->mdl[n].Next;
		n++;
	}
	ind->di.Buffer.Offset = 0;
	ind->di.Buffer.Length = d->p->tot_len;
	dpw_socket_sockaddr(s, &d->from, d->port, &ind->remote);
	ind->di.RemoteAddress = (PSOCKADDR)&ind->remote;
	return ind;
}

static bool event_on(const struct dpw_socket *s)
{
	const WSK_CLIENT_DATAGRAM_DISPATCH *ev = s->client_dispatch;

	return ev != NULL && ev->WskReceiveFromEvent != NULL &&
	       (s->events & WSK_EVENT_RECEIVE_FROM) && s->recvq.head == NULL && !dpw_socket_gone(s);
}

/* Indicate everything queued, as one list, oldest first. */
static void indicate(struct dpw_socket *s)
{
	const WSK_CLIENT_DATAGRAM_DISPATCH *ev = s->client_dispatch;
	struct dpw_dgram_indication *first = NULL, *last = NULL;
	struct dpw_dgram d;
	ULONG flags = 0;
	unsigned n = 0;
	NTSTATUS st;

	if (!event_on(s) || s->t.udp.queue == NULL || s->t.udp.queue->count == 0)
		return;
	while (dequeue(s, &d)) {
		struct dpw_dgram_indication *ind = make_indication(s, &d);

		if (ind == NULL) {   /* out of memory: what is left waits for the next time */
			requeue_front(s, &d);
			break;
		}
		if (last != NULL)
			last->di.Next = &ind->di;
		else
			first = ind;
		last = ind;
		flags |= d.flags;
		n++;
	}
	if (first == NULL)
		return;
	atomic_fetch_add_explicit(&stats.indicated, n, memory_order_relaxed);
	/* Counted as retained before the call: a WskRelease from inside it runs inline. */
	atomic_fetch_add_explicit(&stats.retained, n, memory_order_relaxed);
	lend_all(s->client, first, true);
	dpw_callback_enter(s);
	st = ev->WskReceiveFromEvent(s->context, flags, &first->di);
	if (st != STATUS_PENDING) {
		atomic_fetch_sub_explicit(&stats.retained, n, memory_order_relaxed);
		lend_all(s->client, first, false);
	}
	if (st == STATUS_PENDING) {
		/* Retained: the client owns them until WskRelease (F7, C9). */
	} else if (st == STATUS_DATA_NOT_ACCEPTED) {
		/* Back on the queue, oldest first, for WskReceiveFrom (nothing was queued in the
		 * meantime: arrivals only come from lwIP's input, never from inside a callback). An
		 * event enabled per socket stays off until enabled again; static callbacks go on. */
		struct dpw_dgram_indication *stack[DPW_UDP_QUEUE_MAX];
		unsigned k = 0;

		for (struct dpw_dgram_indication *i = first; i != NULL;
		     i = (struct dpw_dgram_indication *)i->di.Next)
			stack[k++] = i;
		while (k > 0)
			requeue_front(s, &stack[--k]->d);
		free_indications(first, false);
		if (!(s->client->static_events & WSK_EVENT_RECEIVE_FROM))
			s->events &= ~WSK_EVENT_RECEIVE_FROM;
	} else {
		free_indications(first, true);
	}
	/* A close called from inside the callback completes here (C5): s may be gone after. */
	dpw_callback_leave(s);
	if (!dpw_socket_gone(s))
		serve_receives(s);   /* receives posted from inside the callback */
}

/* The receive-from event may have been enabled: indicate what is queued. */
static void events_enabled(struct dpw_socket *s, ULONG enabled)
{
	(void)enabled;
	indicate(s);
}

static void on_recv(void *arg, struct udp_pcb *pcb, struct pbuf *p, const ip_addr_t *addr,
		    u16_t port)
{
	struct dpw_socket *s = arg;
	struct dpw_dgram d;

	(void)pcb;
	if (s == NULL || dpw_socket_gone(s)) {
		pbuf_free(p);
		return;
	}
	atomic_fetch_add_explicit(&stats.received, 1, memory_order_relaxed);
	d.p = p;
	ip_addr_copy(d.from, *addr);   /* addr is lwIP's current-packet global: copy it */
	d.port = port;
	d.flags = ip_addr_isbroadcast(ip_current_dest_addr(), ip_current_netif()) ? DPW_MSG_BCAST
										    : 0;
	/* 1. a pending WskReceiveFrom takes it (it has precedence over the event) */
	if (s->recvq.head != NULL) {
		complete_receive(dpw_queue_pop(&s->recvq), &d);
		pbuf_free(p);
		return;
	}
	/* 2. the queue, then the event if it is on */
	if (!enqueue(s, &d)) {
		atomic_fetch_add_explicit(&stats.drops, 1, memory_order_relaxed);
		pbuf_free(p);
		return;
	}
	indicate(s);
}

/* ---- fixed remote address, local address, dispatch, close --------------------------------------- */

/* The address of a set-remote or set-sendto IOCTL: none (clear), or a complete, specific
 * IPv4 address and port. *given tells which. */
static NTSTATUS fixed_address(const struct dpw_socket *s, const SOCKADDR *addr, SIZE_T len,
			      ip_addr_t *ip, uint16_t *port, bool *given)
{
	ULONG need;
	NTSTATUS st;

	*given = addr != NULL && len != 0;
	if (!*given)
		return STATUS_SUCCESS;
	need = DpwSockaddrLength(addr);
	if (need == 0 || len < need)
		return STATUS_INVALID_PARAMETER;
	if ((st = dpw_sockaddr_for_socket(s, addr, ip, port)) != STATUS_SUCCESS)
		return st;
	if (*port == 0 || ip_addr_isany(ip))
		return STATUS_INVALID_ADDRESS;
	return STATUS_SUCCESS;
}

static NTSTATUS set_remote(struct dpw_socket *s, const SOCKADDR *addr, SIZE_T len)
{
	ip_addr_t ip;
	uint16_t port;
	bool given;
	NTSTATUS st;
	err_t err;

	if (!s->bound)
		return STATUS_INVALID_DEVICE_STATE;   /* "after the socket has been bound" */
	if ((st = fixed_address(s, addr, len, &ip, &port, &given)) != STATUS_SUCCESS)
		return st;
	if (!given) {
		/* No address: back to unconnected, every sender accepted. */
		udp_disconnect(s->t.udp.pcb);
		s->t.udp.has_remote_fixed = false;
		return STATUS_SUCCESS;
	}
	/* lwIP's connected pcb: only datagrams from ip:port reach it (WSK-F8). */
	err = udp_connect(s->t.udp.pcb, &ip, port);
	if (err != ERR_OK)
		return map_send_err(err);
	dpw_socket_sockaddr(s, &ip, port, &s->t.udp.remote_fixed);
	s->t.udp.has_remote_fixed = true;
	return STATUS_SUCCESS;
}

/* SIO_WSK_SET_SENDTO_ADDRESS: where sends without an address go, with no effect on what is
 * received (unlike SIO_WSK_SET_REMOTE_ADDRESS). Any time, bound or not. */
static NTSTATUS set_sendto(struct dpw_socket *s, const SOCKADDR *addr, SIZE_T len)
{
	ip_addr_t ip;
	uint16_t port;
	bool given;
	NTSTATUS st = fixed_address(s, addr, len, &ip, &port, &given);

	if (st != STATUS_SUCCESS)
		return st;
	s->t.udp.has_sendto_fixed = given;
	if (given)
		dpw_socket_sockaddr(s, &ip, port, &s->t.udp.sendto_fixed);
	return STATUS_SUCCESS;
}

static void execute(struct dpw_req *r)
{
	switch (r->op) {
	case DPW_OP_BIND: do_bind(r); break;
	case DPW_OP_SEND_TO: do_send_to(r); break;
	case DPW_OP_SEND_MESSAGES: do_send_messages(r); break;
	case DPW_OP_RECEIVE_FROM: do_receive_from(r); break;
	default: dpw_req_complete(r, STATUS_INVALID_DEVICE_REQUEST, 0); break;
	}
}

static void close_socket(struct dpw_socket *s)
{
	struct dpw_dgram d;

	if (s->t.udp.pcb != NULL) {
		udp_recv(s->t.udp.pcb, NULL, NULL);
		udp_remove(s->t.udp.pcb);
		s->t.udp.pcb = NULL;
	}
	if (s->t.udp.queue != NULL) {
		while (dequeue(s, &d))
			pbuf_free(d.p);
		free(s->t.udp.queue);
		s->t.udp.queue = NULL;
	}
	s->t.udp.has_remote_fixed = false;
	s->t.udp.has_sendto_fixed = false;
}

/* The socket moves to another lcore before its first bind (bind_move.c): a pcb a failed bind
 * left here goes (it never received: only a bound pcb does). */
static bool leave(struct dpw_socket *s)
{
	if (s->t.udp.queue != NULL)
		return false;
	if (s->t.udp.pcb != NULL) {
		udp_recv(s->t.udp.pcb, NULL, NULL);
		udp_remove(s->t.udp.pcb);
		s->t.udp.pcb = NULL;
	}
	return true;
}

const struct dpw_transport dpw_udp_transport = {
	.execute = execute,
	.close = close_socket,
	.leave = leave,
	.release = release,
	.lent_by = lent_by,
	.apply_options = apply_options,
	.events_enabled = events_enabled,
	.receive_backlog = receive_backlog,
	.set_remote = set_remote,
	.set_sendto = set_sendto,
};
