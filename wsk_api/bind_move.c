/* A bind to a fixed port that another lcore holds (docs/many-lcores.md, step 6).
 *
 * With several lcores, the sockets on a fixed local port all live on one lcore: the port's
 * frames are pinned to it (step 5a), or spread by a listener whose own lcore keeps its real
 * pcb (step 5). Whether one more socket may share the port is Microsoft's table (W5,
 * security.c), judged among that lcore's pcbs. So a socket that binds such a port on another
 * lcore moves to the holder first, and its bind runs there: the table's answer whatever lcore
 * the socket was made on, and, where the table lets it share, a socket that lives where its
 * port's frames arrive.
 *
 * Only an unbound socket with nothing pending moves. All it has on its lcore then is at most
 * a pcb that a failed bind left: dropped (the holder makes its own, with the options kept in
 * the socket, F9). Its owner changes; its entry does not. Its calls still go to the lcore it
 * was made on, which hands them on behind the bind, in the order they came (dpw_execute).
 * Sent straight to the new owner, a call made after one still on its way there could overtake
 * it. The extra hop costs only the sockets that share a port across lcores.
 *
 * It moves once, from its entry. Moved again, from the lcore it moved to, calls the entry
 * queued meanwhile could reach the next lcore ahead of the bind. So a socket that W5 refused
 * on the holder stays there, and a later bind of it to a port a third lcore holds is refused
 * as in use, as before step 6.
 */
#include "socket_internal.h"

#include "dpw/engine.h"

/* The lcore whose engine (of this lcore's port; off the lcores, lcore 0's) holds port now,
 * or -1 (nobody, or one lcore). */
static int holder_of(bool udp, uint16_t port)
{
	const struct dpw_engine *here = dpw_engine_here(), *e;
	unsigned n = dpw_lcore_count();
	int q;

	if (n <= 1 || here == NULL || (q = dpw_engine_port_holder(here, udp, port)) < 0)
		return -1;
	for (unsigned k = 0; k < n; k++)
		if ((e = dpw_provider.lcores[k].engine) != NULL &&
		    dpw_engine_port_id(e) == dpw_engine_port_id(here) &&
		    dpw_engine_queue(e) == (uint16_t)q)
			return (int)k;
	return -1;
}

static int holder(const struct dpw_socket *s, uint16_t port)
{
	return holder_of(s->category == WSK_FLAG_DATAGRAM_SOCKET, port);
}

int dpw_socket_connect_home(const struct dpw_req *r)
{
	/* SOCKADDR_IN and SOCKADDR_IN6 keep the port at the same place; the family and length
	 * were checked when the call was made. */
	const SOCKADDR_IN *local = (const SOCKADDR_IN *)r->u.socket.local;
	uint16_t port = local != NULL ? ntohs(local->sin_port) : 0;

	return port != 0 ? holder_of(false, port) : -1;
}

/* Nothing of s waits on this lcore, and its transport lets go of the rest. */
static bool can_leave(struct dpw_socket *s)
{
	return !s->bound && s->in_callback == 0 && s->close_req == NULL &&
	       s->recvq.head == NULL && s->sendq.head == NULL && s->acceptq.head == NULL &&
	       s->connectq.head == NULL && s->disconnectq.head == NULL && s->tp->leave != NULL &&
	       s->tp->leave(s);
}

bool dpw_socket_bind_moves(struct dpw_req *r)
{
	struct dpw_socket *s = r->sock;
	unsigned me = dpw_lcore_here();
	bool run_inline;
	ip_addr_t ip;
	uint16_t port;
	int to;

	/* A bad address: the bind says so, here. Only from the entry, once (above). */
	if (r->op != DPW_OP_BIND || me != dpw_socket_entry(s) || dpw_socket_owner(s) != me ||
	    dpw_sockaddr_for_socket(s, r->u.addr.addr, &ip, &port) != STATUS_SUCCESS ||
	    port == 0 || !dpw_ip_is_bindable(&ip) || (to = holder(s, port)) < 0 ||
	    (unsigned)to == me || !can_leave(s))
		return false;
	/* Its completions held here go first: they came before the bind's, which the holder
	 * posts. */
	dpw_flush_completions();
	/* Run inline (a call made on this lcore's thread): its IRP is marked pending before it
	 * goes, and the call must not touch it after (execute_inline); counted there already. */
	run_inline = dpw_inline_call != NULL && dpw_inline_call->r == r;
	if (run_inline) {
		dpw_inline_call->r = NULL;
		r->counted = true;
	}
	atomic_store_explicit(&s->owner, (uint16_t)to, memory_order_relaxed);
	if (!dpw_req_post_pending(r, (unsigned)to)) {
		/* The holder's ring is full: refused, as a call is at a full ring. */
		atomic_store_explicit(&s->owner, (uint16_t)me, memory_order_relaxed);
		atomic_fetch_add_explicit(&dpw_counters.ring_full, 1, memory_order_relaxed);
		if (run_inline)
			dpw_inline_call->r = r;   /* the call returns the refusal, its IRP as it was */
		dpw_req_complete(r, STATUS_INSUFFICIENT_RESOURCES, 0);
		return true;
	}
	atomic_fetch_add_explicit(&dpw_counters.sockets_moved, 1, memory_order_relaxed);
	return true;
}
