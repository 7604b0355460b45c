/* The socket object behind a PWSK_SOCKET, and the handle table that keeps a dead handle
 * recognisable (WSK-C6). Fields marked [lcore] are touched only on the lcore. */
#ifndef DPWSK_SOCKET_INTERNAL_H
#define DPWSK_SOCKET_INTERNAL_H

#include "lwip/err.h"
#include "lwip/ip_addr.h"

#include "request_internal.h"

struct tcp_pcb;
struct udp_pcb;
struct pbuf;
struct dpw_spread;

enum dpw_handle_state {
	DPW_HANDLE_FREE = 0,   /* never used, or recycled */
	DPW_HANDLE_LIVE,
	DPW_HANDLE_CLOSING,    /* WskCloseSocket called; the lcore has not finished */
	DPW_HANDLE_DEAD,       /* closed, kept in quarantine before reuse */
};

/* Where a TCP socket is: the one state machine of the TCP transport. Every change goes
 * through dpw_tcp_set_state (tcp_internal.h), which holds it to these transitions:
 *
 *   NONE ──bind──► BOUND ──listen──► LISTENING
 *                    │
 *                 connect
 *                    ▼
 *               CONNECTING ──connected / accepted──► OPEN ──our FIN──► SEND_CLOSED
 *                                                     │                    │
 *                                                 peer's FIN           peer's FIN
 *                                                     ▼                    ▼
 *                                               RECEIVE_CLOSED ─our FIN─► DISCONNECTED
 *
 *   RESET from CONNECTING, OPEN, SEND_CLOSED, RECEIVE_CLOSED and DISCONNECTED: a RST, the
 *   retransmissions given up, an abortive disconnect, or a close that aborted the pcb.
 *   (Accepted connections start in OPEN.) The pcb is there from BOUND (or from a failed
 *   bind) until RESET, or in DISCONNECTED until lwIP holds it in TIME_WAIT or frees it: the
 *   transport lets go of it then (pcb NULL), and the state stays DISCONNECTED. */
enum dpw_tcp_state {
	DPW_TCP_NONE = 0,         /* no pcb yet, or a pcb not yet bound */
	DPW_TCP_BOUND,
	DPW_TCP_LISTENING,
	DPW_TCP_CONNECTING,
	DPW_TCP_OPEN,             /* established, both directions open */
	DPW_TCP_SEND_CLOSED,      /* our FIN is out (graceful disconnect); the peer may send */
	DPW_TCP_RECEIVE_CLOSED,   /* the peer's FIN came; we may still send */
	DPW_TCP_DISCONNECTED,     /* both FINs: over, gracefully */
	DPW_TCP_RESET,            /* reset or aborted; the pcb is gone (reset_status says how) */
	DPW_TCP_STATES
};

/* The TCP transport's part of a socket (tcp_*.c). [lcore] */
struct dpw_tcp_part {
	struct tcp_pcb *pcb;
	enum dpw_tcp_state state;
	NTSTATUS reset_status;           /* in RESET: what pending and later calls get */
	bool receive_event_blocked;      /* STATUS_DATA_NOT_ACCEPTED until next WskReceive */
	bool disconnect_indicated;       /* WskDisconnectEvent already called */
	bool disconnect_listed;          /* on the lcore's list of disconnects in progress */
	uint32_t disconnect_slot;        /* its index there, while listed */
	struct pbuf *rx;                 /* received, not yet taken by a receive */
	uint32_t rx_len;
	/* listening: connections accepted by the transport, not yet by the client */
	struct dpw_socket *backlog_head, *backlog_tail;
	uint32_t backlog_len;
	struct dpw_socket *listener;     /* for a backlog entry: the listening socket */
	struct dpw_socket *backlog_next;
	/* A listener over several lcores (tcp_spread.c): its state, on its own lcore. For a
	 * backlog entry another lcore accepted: the message that takes it back there. */
	struct dpw_spread *spread;
	struct dpw_req *handover;
	/* on the list of sockets whose data could not be indicated for want of memory */
	struct dpw_socket *retry_prev, *retry_next;
	bool retry_listed;
};

/* The UDP transport's part of a socket (udp.c). [lcore] */
struct dpw_udp_part {
	struct udp_pcb *pcb;
	SOCKADDR_INET remote_fixed;      /* SIO_WSK_SET_REMOTE_ADDRESS */
	SOCKADDR_INET sendto_fixed;      /* SIO_WSK_SET_SENDTO_ADDRESS */
	bool has_remote_fixed, has_sendto_fixed;
	struct dpw_udp *queue;           /* received datagrams, NULL until needed */
};

/* Socket options kept until (and applied when) the pcb exists (control.c, WSK-F9). */
struct dpw_sockopts {
	bool keepalive, nodelay;         /* SO_KEEPALIVE, TCP_NODELAY */
	bool rcvbuf_set, sndbuf_set;     /* SO_RCVBUF, SO_SNDBUF given (else the defaults) */
	ULONG rcvbuf, sndbuf;
};

struct dpw_udp;
struct dpw_socket;

/* What the socket core, the request router and control.c need of a transport (tcp_*.c,
 * udp.c). Each socket points at its transport's table: the layers above call down through
 * it, never by name, so a transport depends on the core below it and on lwIP, and nothing
 * below it depends on a transport. All on the lcore. A NULL entry: the transport does not
 * offer it (the caller says STATUS_NOT_SUPPORTED, or does nothing). */
struct dpw_transport {
	/* A request on a live socket of this transport (bind, send, receive, ...). */
	void (*execute)(struct dpw_req *r);
	/* WskSocketConnect on a socket just made: bind, connect, complete with the socket. */
	void (*socket_connect)(struct dpw_req *r);
	/* The transport goes (C3, C4: abortive unless fully disconnected), and unread data
	 * with it (not retained indications: those are the client's, C9). */
	void (*close)(struct dpw_socket *s);
	/* WskRelease of indications this transport lent (C9), whatever became of the socket. */
	void (*release)(struct dpw_req *r);
	/* Any thread: the lcore that lent a list of this transport's indications (its release
	 * runs there). */
	unsigned (*lent_by)(const VOID *list);
	/* s's options (reuse, keepalive, Nagle) onto its pcb, if it has one (F9). */
	void (*apply_options)(struct dpw_socket *s);
	/* Events just enabled: what is already there is indicated now (F7). */
	void (*events_enabled)(struct dpw_socket *s, ULONG enabled);
	/* SIO_WSK_QUERY_RECEIVE_BACKLOG, SIO_WSK_QUERY_IDEAL_SEND_BACKLOG. */
	NTSTATUS (*receive_backlog)(const struct dpw_socket *s, SIZE_T *bytes);
	NTSTATUS (*ideal_send_backlog)(const struct dpw_socket *s, SIZE_T *bytes);
	/* SIO_WSK_SET_REMOTE_ADDRESS, SIO_WSK_SET_SENDTO_ADDRESS (F8). */
	NTSTATUS (*set_remote)(struct dpw_socket *s, const SOCKADDR *addr, SIZE_T len);
	NTSTATUS (*set_sendto)(struct dpw_socket *s, const SOCKADDR *addr, SIZE_T len);
	/* Once per loop pass: progress no lwIP callback announces. */
	void (*poll)(void);
	/* The transport's own messages between lcores (DPW_OP_SPREAD), no socket's request. */
	void (*internal)(struct dpw_req *m);
	/* An unbound socket with nothing pending moves to another lcore (bind_move.c): let go
	 * of what it has on this one (a pcb left by a failed bind). False: it cannot go. */
	bool (*leave)(struct dpw_socket *s);
};

/* What a socket of one category is: the provider dispatch table its client calls (R5) and
 * the transport that carries it. The request router (execute.c) defines these, above both. */
struct dpw_socket_kind {
	ULONG category;                            /* WSK_FLAG_*_SOCKET */
	const VOID *dispatch;                      /* dispatch.c's table for the category */
	const struct dpw_transport *tp;
	const struct dpw_socket_kind *accepted;    /* a listening kind: what it accepts */
};

struct dpw_socket {
	/* First: a PWSK_SOCKET points here. Aligned, so that two slots of the table, which may
	 * be two lcores' sockets, never share a line. */
	_Alignas(64) WSK_SOCKET wsk;
	_Atomic uint32_t handle_state;   /* enum dpw_handle_state */
	_Atomic uint32_t gen;            /* bumped at each reuse of this slot */
	_Atomic uint32_t callers;        /* calls inside the provider on app threads (C6) */
	_Atomic uint16_t owner;          /* the lcore it lives on: where it was made, or where
					  * its bind moved it (bind_move.c: once, unbound) */
	_Atomic uint16_t entry;          /* the lcore its calls are sent to: where it was made,
					  * never changed, so that they keep their order (a moved
					  * socket's are handed on from there, dpw_execute) */
	uint32_t index;
	/* WskAccepts made on the listener and not yet completed, counted by the calling thread
	 * before the call reaches the lcore: another lcore that accepts for the listener reads it
	 * (F6: a queued WskAccept comes before the accept event). A hint that errs one way only:
	 * a call refused before it ran may leave it high, and then connections go the slower way
	 * round, through the listener's lcore (tcp_spread.c). */
	_Atomic uint32_t accepts_issued;
	ULONG category;                  /* WSK_FLAG_*_SOCKET, kind->category */
	const struct dpw_socket_kind *kind;
	const struct dpw_transport *tp;  /* kind->tp */
	struct dpw_client *client;
	PVOID context;                   /* SocketContext given to event callbacks */
	const VOID *client_dispatch;     /* the client's event table for this socket */
	ADDRESS_FAMILY af;

	/* [lcore] what every transport has */
	bool bound;                      /* set with dpw_socket_set_bound */
	_Atomic bool bound_seen;         /* the same, for the caller's thread (W3) */
	_Atomic bool bind_requested;     /* a WskBind was handed to the lcore (dispatch.c) */
	bool reuse_addr, exclusive_addr;
	bool dual_stack;                 /* AF_INET6 with IPV6_V6ONLY off (W6), before bind */
	uint16_t pinned_port;            /* a fixed local port pinned to this lcore's engine, */
	struct dpw_engine *pinned_on;    /* that engine (NULL: none) */
	bool port_spread;                /* that port spread by a listener beside it (step 6) */
	bool port_joined;                /* held as a connection a spread listener accepted */
	ULONG events;                    /* enabled event callbacks (WSK_EVENT_*) */
	PVOID security;                  /* cached security descriptor applied (C7) */
	SOCKADDR_INET local_addr, remote_addr;  /* kept: valid after the pcb is gone */
	bool has_local, has_remote;
	struct dpw_sockopts opt;         /* options beyond reuse (control.c) */
	/* [lcore] the transport's own part: kind->tp says which */
	union {
		struct dpw_tcp_part tcp;
		struct dpw_udp_part udp;
	} t;

	/* [lcore] pending requests, each completed exactly once */
	struct dpw_req_queue recvq, sendq, acceptq, connectq, disconnectq;
	struct dpw_req *close_req;       /* the close in progress, completed last (C2) */
	/* Event callbacks of this socket now running. Written around every callback, so not
	 * beside what other lcores read of a listener over several (events, context, the
	 * client's table: tcp_accept.c), which would take that line from them per connection. */
	int in_callback;

	struct dpw_socket *free_next;    /* handle table free list */
};

/* [lcore] The socket has its local address. A call's thread may read bound_seen: a client
 * that saw its bind complete sees it true (WskConnect refuses an unbound socket there, W3). */
static inline void dpw_socket_set_bound(struct dpw_socket *s)
{
	s->bound = true;
	atomic_store_explicit(&s->bound_seen, true, memory_order_release);
}

/* [lcore] Several lcores on one port (docs/many-lcores.md, step 5a): a socket on a fixed local
 * port lives on one lcore, so that port's frames must all reach that lcore's engine. Pin the
 * port for s (at its bind, or for a connection accepted on it): false when another lcore's
 * sockets hold it. Unpinned when s goes (socket.c's teardown). No-ops with one lcore.
 * In security.c, beside the bind's sharing rules (W5). */
bool dpw_socket_pin_port(struct dpw_socket *s, uint16_t port);
void dpw_socket_unpin_port(struct dpw_socket *s);
/* A listener over every lcore (step 5): the listener, alone on its pinned port, lets the
 * port's connections spread over the lcores by the remote's hash; each connection it accepts,
 * on whatever lcore, joins the port's hold. False: not possible (other sockets on the port;
 * the port no longer spread). Unpinned as above. */
bool dpw_socket_spread_port(struct dpw_socket *s);
bool dpw_socket_join_port(struct dpw_socket *s, uint16_t port);

/* Any thread: the lcore socket s belongs to (for a stale handle, the slot's latest). */
static inline unsigned dpw_socket_owner(const struct dpw_socket *s)
{
	return atomic_load_explicit(&s->owner, memory_order_relaxed);
}

/* Any thread: the lcore a call on s is sent to (the owner, unless s moved; see entry). */
static inline unsigned dpw_socket_entry(const struct dpw_socket *s)
{
	return atomic_load_explicit(&s->entry, memory_order_relaxed);
}

/* [lcore] Several lcores (docs/many-lcores.md, step 6, bind_move.c): a WskBind r to a port
 * another lcore holds moves its socket there, if unbound with nothing pending, and r runs
 * there. True: r was sent on, or refused (the transport's bind does nothing more with it). */
bool dpw_socket_bind_moves(struct dpw_req *r);
/* WskSocketConnect from a fixed local port: the lcore that holds the port (where its frames
 * go: for an ephemeral port, the one its number names), so that the socket is made where it
 * binds, as a WskBind would move it there; -1 for port 0 or a port nobody holds. */
int dpw_socket_connect_home(const struct dpw_req *r);

/* Handles: allocation on the lcore (the socket is that lcore's), validation on any thread
 * (socket_table.c). */
struct dpw_socket *dpw_socket_alloc(struct dpw_client *c, const struct dpw_socket_kind *kind);
/* Finish a close: the slot goes to quarantine (state DEAD) and is reused much later. The
 * caller then calls dpw_client_socket_closed(), after posting the close completion. */
void dpw_socket_release(struct dpw_socket *s);

/* Any thread: the socket behind a handle if it is one of ours and still usable, else NULL
 * with *status set (STATUS_INVALID_HANDLE). *gen receives the generation seen. */
struct dpw_socket *dpw_socket_from_handle(PWSK_SOCKET h, uint32_t *gen, NTSTATUS *status);
/* True if h points into the handle table at all (even a dead slot). */
bool dpw_socket_is_slot(PWSK_SOCKET h);

/* Address conversion between WSK's SOCKADDR and lwIP (addr.c). */
/* An address given to socket s, for lwIP: its family must be the socket's
 * (STATUS_INVALID_ADDRESS otherwise). */
NTSTATUS dpw_sockaddr_for_socket(const struct dpw_socket *s, const SOCKADDR *sa, ip_addr_t *ip,
				 uint16_t *port);
/* The wildcard or one of the stack's own addresses: what a socket may bind to. */
bool dpw_ip_is_bindable(const ip_addr_t *ip);
/* Whether a destination can be reached. IPv6 has no router (stack/lwipopts.h): only the
 * link-local range and the /64s of the stack's own addresses. lwIP would still accept a
 * connect elsewhere and let its SYNs die in Neighbor Discovery, a timeout instead of an error. */
bool dpw_ip_reachable(const ip_addr_t *ip);
/* IPADDR_TYPE_V4, IPADDR_TYPE_V6, or IPADDR_TYPE_ANY for a dual-stack AF_INET6 socket (W6):
 * the lwIP pcb type for the socket. */
u8_t dpw_socket_ip_type(const struct dpw_socket *s);
/* An lwIP address as socket s reports it: in its own family (an AF_INET6 socket reports
 * IPv4 addresses IPv4-mapped, W6). */
void dpw_socket_sockaddr(const struct dpw_socket *s, const ip_addr_t *ip, uint16_t port,
			 SOCKADDR_INET *out);
void dpw_lwip_to_sockaddr(const ip_addr_t *ip, uint16_t port, SOCKADDR_INET *out);
void dpw_copy_sockaddr(PSOCKADDR dst, const SOCKADDR_INET *src);

/* ---- the socket core (socket.c): a socket's life, whatever its transport ----------------- */

/* Event callbacks run bracketed by these, so that a close inside one waits (C5). The
 * thread's count tells the provider whether a call comes from inside one. */
extern __thread unsigned dpw_callbacks_running;
static inline void dpw_callback_enter(struct dpw_socket *s)
{
	s->in_callback++;
	dpw_callbacks_running++;
}
void dpw_callback_leave(struct dpw_socket *s);

/* The client closed the handle (or it is closing): no more callbacks, nothing new runs. */
static inline bool dpw_socket_gone(const struct dpw_socket *s)
{
	return atomic_load_explicit(&s->handle_state, memory_order_relaxed) != DPW_HANDLE_LIVE;
}

/* r waits on one of s's queues, cancellable by IoCancelIrp from now on. */
void dpw_pend(struct dpw_req_queue *q, struct dpw_req *r);
/* WskCloseSocket (§3), IoCancelIrp of a pending request, both on the lcore. */
void dpw_close_execute(struct dpw_req *r);
/* A transport whose close must wait for other lcores (a listener over several) takes the
 * close request from s->close_req in its close (leaving NULL there), and calls this once it
 * may complete: the close IRP completes, last, and the client may see the socket gone. */
void dpw_close_finished(struct dpw_req *r, struct dpw_client *c);
void dpw_cancel_execute(struct dpw_req *r);
/* Tear a socket down without a close request: connections the client never accepted (or
 * refused), sockets of a listener being closed, a WskSocketConnect that failed. */
void dpw_socket_destroy(struct dpw_socket *s);
void dpw_client_socket_closed(struct dpw_client *c);   /* client.c */

/* ---- below the transports: address sharing, security (security.c) ------------------------ */

void dpw_security_inherit(struct dpw_socket *conn, const struct dpw_socket *listener);
/* The same from a descriptor a listener's copy holds (NULL: none); and that copy's own
 * reference, taken and dropped (any thread: under the descriptors' lock). */
void dpw_security_inherit_sd(struct dpw_socket *conn, PVOID sd);
PVOID dpw_security_ref(PVOID sd);
void dpw_security_unref(PVOID sd);
/* udp_bind/tcp_bind of s's pcb, refused (ERR_USE, with *refusal the status for the client)
 * unless Microsoft's table for sharing transport addresses allows it against every socket
 * already on an overlapping address (W5): STATUS_ACCESS_DENIED, STATUS_ADDRESS_ALREADY_EXISTS,
 * or STATUS_ADDRESS_ALREADY_ASSOCIATED on the very same address. */
err_t dpw_bind_pcb(struct dpw_socket *s, const ip_addr_t *ip, uint16_t port, NTSTATUS *refusal);
/* tcp_bind of the pcb of a listener's copy on another lcore (tcp_spread.c), whose sharing W5
 * judged on the listener's lcore: beside whatever this lcore has on the port (connections of
 * an earlier listener in TIME_WAIT, another listener's copy and connections where W5 let two
 * listeners share it), the flag lwIP wants on both sides lent for the bind. */
err_t dpw_bind_beside(struct tcp_pcb *pcb, const ip_addr_t *ip, uint16_t port);
NTSTATUS dpw_security_socket_set(struct dpw_socket *s, PVOID sd);   /* takes a reference */
void dpw_security_socket_closed(struct dpw_socket *s);             /* drops it (C7) */

/* The transports' tables (tcp_conn.c, udp.c), for the dispatch tables' socket kinds. */
extern const struct dpw_transport dpw_tcp_transport, dpw_udp_transport;
/* execute.c: for a socket Windows creates but no transport carries (a datagram socket made
 * with the listen flag, W4): every transport call is STATUS_NOT_IMPLEMENTED. */
extern const struct dpw_transport dpw_unimplemented_transport;

/* The request router's handlers for requests that are not a transport's (execute.c,
 * control.c, lent.c). */
void dpw_control_execute(struct dpw_req *r);
/* An SO_WSK_EVENT_CALLBACK control block socket s may take: events its category has, and a
 * client dispatch table to call them in (F7, control.c). Any thread: both are fixed once the
 * socket exists. */
bool dpw_events_control_ok(const struct dpw_socket *s, const VOID *in, SIZE_T in_len);
void dpw_socket_create_execute(struct dpw_req *r);

#endif /* DPWSK_SOCKET_INTERNAL_H */
