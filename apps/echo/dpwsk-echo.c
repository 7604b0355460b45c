/* dpwsk-echo: a TCP and UDP echo server (RFC 862) on the WSK API, the way a WSK client driver
 * would write one: event callbacks, zero-copy indications, caller-owned IRPs.
 *
 *   dpwsk-echo [--tcp-port N] [--udp-port N] --iface NAME --ip A.B.C.D/N [--ip6 ADDR/64] ...
 *
 * It serves 0.0.0.0 (AF_INET sockets) and, when the engine has an IPv6 address (--ip6),
 * [::] as well, on the same ports, with AF_INET6 sockets of their own (those are IPv6-only):
 * up to four sockets, a TCP listener and a UDP socket per family.
 *
 * Embedded mode: this thread is the lcore. Event callbacks run inside dpw_app_poll() on it,
 * and the Wsk calls made from them (and from completion routines) run inline, with no ring
 * hop; nothing here ever blocks.
 *
 * --queues N (issue 15): N engines on N queue pairs, each driven by a lane on its own thread
 * (its own lcore), with the server's state thread-local. Lane 0 opens the services; the
 * provider spreads each listener over every lcore, so each lcore accepts the connections that
 * land on it and runs their events; the lanes' clients take DpwDeliverLcore, so each
 * connection's completion routines run on its lcore as well. No lock and no shared write per
 * connection; the program's thread prints the lines, with each lane's counts ("lane Q echo").
 *
 * TCP: connections come through WskAcceptEvent. Received data is indicated in place (it is
 * still in the received mbufs); the receive event sends it straight back with one WskSend
 * whose MDL chain points into the indications, and returns STATUS_PENDING to keep them: the
 * send's completion hands them back with WskRelease. No copy of ours, one by lwIP.
 * Memory per connection is bounded: with ECHO_HOLD_MAX bytes already out in sends, the event
 * answers STATUS_DATA_NOT_ACCEPTED and the provider keeps the data without reopening the
 * receive window, so a client that sends but never reads is stopped by TCP itself; once the
 * sends drain, a zero-length WskReceive turns indications back on (WSK-F4, F7).
 * The peer's FIN (disconnect event) is answered with WskDisconnect, which goes out after the
 * sends still queued, and the socket is closed once that completes; a reset, any failed call,
 * or SIGTERM closes it at once (abortive, WSK-C3). A connection's memory is freed in its
 * close completion, which comes after every other IRP of the socket (WSK-C2).
 * --idle-timeout closes connections that neither sent nor took data for that long: a
 * reset that never arrived (lost on the way) would otherwise keep its connection forever,
 * as it would on any TCP server.
 *
 * --discard-port N adds a TCP discard service (RFC 863): what arrives there is taken and
 * dropped in the receive event itself (STATUS_SUCCESS: the provider releases it and reopens
 * the window), counted as discard_bytes; the sink for throughput runs.
 *
 * UDP: WskReceiveFromEvent gets the queued datagrams as one list; each goes back to its
 * sender with WskSendTo from the indication itself, and the list is released once the last of
 * those sends has completed. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "lanes.h"

/* Bytes a connection may have in sends before it stops taking data (plus the receive window
 * the provider then keeps): the bound on what one slow reader can pin. */
#define ECHO_HOLD_MAX (64 * 1024)
/* Datagrams out in sends at once; beyond it datagrams are dropped (UDP may drop). Sends
 * complete at the next poll, so this is only reached if something is badly wrong. */
#define ECHO_UDP_INFLIGHT_MAX 8192

struct conn {
	struct conn *prev, *next;      /* open connections, least recently active first */
	PWSK_SOCKET sock;
	uint64_t active_ns;            /* last data in or out */
	SIZE_T out_bytes;              /* in sends not yet completed */
	bool held;                     /* last indication refused (STATUS_DATA_NOT_ACCEPTED) */
	bool resume_busy;              /* resume_irp is out */
	bool closing;                  /* WskCloseSocket called */
	bool discard;                  /* accepted on the discard port: data is dropped */
	IRP resume_irp;                /* zero-length WskReceive: indications back on */
	IRP disc_irp;                  /* graceful WskDisconnect after the peer's FIN */
	IRP close_irp;
};

/* One WskSend of a received indication list, straight from the received buffers. */
struct tx {
	IRP irp;
	struct conn *c;
	PWSK_DATA_INDICATION list;     /* retained; released when the send completes */
	WSK_BUF buf;
	struct tx *next_free;          /* on tx_free while unused */
	ULONG room;                    /* MDLs this one has */
	MDL mdl[];                     /* the list's bytes, chained */
};

/* Sends of up to TX_KEPT_MDLS pieces (nearly all: a segment is one mbuf) reuse their
 * contexts, so that an echo costs the program no heap call. A thread polls the engine and runs
 * its completions: no lock. */
#define TX_KEPT_MDLS 4
#define TX_KEPT_MAX  4096
static __thread struct tx *tx_free;   /* each lane its own */
static __thread unsigned tx_free_count;

static struct tx *tx_get(ULONG n)
{
	struct tx *t;

	if (n <= TX_KEPT_MDLS && tx_free != NULL) {
		t = tx_free;
		tx_free = t->next_free;
		tx_free_count--;
		return t;
	}
	t = malloc(sizeof(*t) + (n > TX_KEPT_MDLS ? n : TX_KEPT_MDLS) * sizeof(MDL));
	if (t != NULL)
		t->room = n > TX_KEPT_MDLS ? n : TX_KEPT_MDLS;
	return t;
}

static void tx_put(struct tx *t)
{
	if (t->room != TX_KEPT_MDLS || tx_free_count >= TX_KEPT_MAX) {
		free(t);
		return;
	}
	t->next_free = tx_free;
	tx_free = t;
	tx_free_count++;
}

/* At the end of the thread that kept them: a lane's thread ends before the process does, and
 * what its free list held would be lost with it (LeakSanitizer saw one per lane). */
static void tx_cache_empty(void)
{
	while (tx_free != NULL) {
		struct tx *t = tx_free;

		tx_free = t->next_free;
		free(t);
	}
	tx_free_count = 0;
}

/* The sends of one datagram indication list: one IRP per datagram, one release at the end. */
struct udp_batch {
	PWSK_SOCKET sock;
	PWSK_DATAGRAM_INDICATION list;
	ULONG pending;
	struct udp_tx {
		IRP irp;
		struct udp_batch *b;
	} tx[];
};

struct options {
	uint64_t tcp_port, udp_port, discard_port, idle_s;
};

/* Index of the listening sockets: one of each per family. */
enum { FAM_V4, FAM_V6, NFAM };

/* The services' sockets, opened by one thread (the program's; with --queues, lane 0's) and
 * read by every lane's accept callback: a listener's context is its slot here, which says
 * what service a connection is for. */
static struct {
	PWSK_SOCKET listener[NFAM], udp[NFAM], discard[NFAM];   /* NULL: not open */
	IRP listener_close[NFAM], udp_close[NFAM], discard_close[NFAM];
} svc;

/* The server's counts; only uint64_t, so that a lane can publish them as an array. */
struct echo_counts {
	uint64_t conns_open, accepted, refused, resets, idle_closed, tcp_bytes, held;
	uint64_t closed_at_stop;   /* still open when the server stopped: reset by close_all */
	uint64_t udp_datagrams, udp_bytes, udp_dropped, discard_bytes;
};
#define ECHO_NCOUNTS (sizeof(struct echo_counts) / sizeof(uint64_t))

/* The server's state. Thread-local: with --queues N each engine's thread runs a lane, a copy
 * that serves the connections its lcore accepts, and runs their routines (DpwDeliverLcore);
 * the program's thread holds the command line and adds up the lanes' counts. */
static __thread struct echo_state {
	struct dpw_app app;
	struct options opt;
	bool opened;                       /* this thread opened svc's sockets */
	struct conn *conns, *conns_tail;   /* open (not closing) connections, LRU order */
	/* Objects whose memory or socket is still out: the end waits for all of them. */
	unsigned live;
	unsigned udp_inflight;
	struct echo_counts n;
} echo;

/* ---- connections ---------------------------------------------------------------------------- */

static void lru_unlink(struct conn *c)
{
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		echo.conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	else
		echo.conns_tail = c->prev;
	c->prev = c->next = NULL;
}

static void lru_append(struct conn *c)
{
	c->prev = echo.conns_tail;
	c->next = NULL;
	if (echo.conns_tail != NULL)
		echo.conns_tail->next = c;
	else
		echo.conns = c;
	echo.conns_tail = c;
}

/* Data moved: the connection goes to the recent end of the list. */
static void touch(struct conn *c)
{
	if (echo.opt.idle_s == 0 || c->closing)
		return;
	c->active_ns = dpw_app_now_ns();
	if (echo.conns_tail != c) {
		lru_unlink(c);
		lru_append(c);
	}
}

static IO_COMPLETION_ROUTINE conn_closed;

static void conn_close(struct conn *c)
{
	if (c->closing)
		return;
	c->closing = true;
	lru_unlink(c);   /* the list holds open connections only; echo.live still counts it */
	dpw_app_irp_prepare(&c->close_irp, conn_closed, c);
	/* Pending or done, the IRP completes either way (WSK-R3, C1): conn_closed frees c. */
	DpwConnectionDispatch(c->sock)->WskCloseSocket(c->sock, &c->close_irp);
}

static NTSTATUS conn_closed(PDEVICE_OBJECT dev, PIRP irp, PVOID ctx)
{
	struct conn *c = ctx;

	(void)dev;
	(void)irp;
	echo.n.conns_open--;
	echo.live--;
	free(c);
	return STATUS_MORE_PROCESSING_REQUIRED;
}

static IO_COMPLETION_ROUTINE resumed;

/* Sends drained below half the bound: let the held data (and whatever follows) come. */
static void maybe_resume(struct conn *c)
{
	static WSK_BUF none = { NULL, 0, 0 };

	if (!c->held || c->resume_busy || c->closing || c->out_bytes > ECHO_HOLD_MAX / 2)
		return;
	c->held = false;
	c->resume_busy = true;
	dpw_app_irp_prepare(&c->resume_irp, resumed, c);
	/* A zero-length receive completes as soon as data is there, leaves it in place, and
	 * turns the receive event back on (F4, F7): the held data is indicated again at once,
	 * from inside this call. */
	DpwConnectionDispatch(c->sock)->WskReceive(c->sock, &none, 0, &c->resume_irp);
}

static NTSTATUS resumed(PDEVICE_OBJECT dev, PIRP irp, PVOID ctx)
{
	struct conn *c = ctx;

	(void)dev;
	(void)irp;
	c->resume_busy = false;
	/* Refused again while this IRP was out (the indication inside WskReceive found the
	 * sends full once more): the next send completion resumes. Errors: the disconnect
	 * event says what happened and closes. */
	maybe_resume(c);
	return STATUS_MORE_PROCESSING_REQUIRED;
}

static NTSTATUS tx_done(PDEVICE_OBJECT dev, PIRP irp, PVOID ctx)
{
	struct tx *t = ctx;
	struct conn *c = t->c;
	NTSTATUS st = irp->IoStatus.Status;

	(void)dev;
	/* The data goes back to the provider whatever became of the socket (WSK-C9). */
	DpwConnectionDispatch(c->sock)->WskRelease(c->sock, t->list);
	c->out_bytes -= t->buf.Length;
	if (st == STATUS_SUCCESS)
		echo.n.tcp_bytes += irp->IoStatus.Information;
	tx_put(t);
	if (st != STATUS_SUCCESS) {
		conn_close(c);   /* reset, or cancelled by a close already under way */
	} else {
		touch(c);
		maybe_resume(c);
	}
	return STATUS_MORE_PROCESSING_REQUIRED;
}

/* MDLs needed for the bytes of an indication list: one per non-empty piece of each
 * indication's own MDL chain. */
static ULONG count_pieces(const WSK_DATA_INDICATION *list)
{
	ULONG n = 0;

	for (const WSK_DATA_INDICATION *d = list; d != NULL; d = d->Next) {
		SIZE_T left = d->Buffer.Length;
		ULONG off = d->Buffer.Offset;

		for (PMDL m = d->Buffer.Mdl; m != NULL && left > 0; m = m->Next, off = 0) {
			SIZE_T piece = MmGetMdlByteCount(m) - off;

			if (piece > left)
				piece = left;
			n += piece > 0;
			left -= piece;
		}
	}
	return n;
}

/* Describe the list's bytes with t's MDLs, chained; returns the byte count. */
static SIZE_T describe(struct tx *t, const WSK_DATA_INDICATION *list)
{
	SIZE_T total = 0;
	ULONG k = 0;

	for (const WSK_DATA_INDICATION *d = list; d != NULL; d = d->Next) {
		SIZE_T left = d->Buffer.Length;
		ULONG off = d->Buffer.Offset;

		for (PMDL m = d->Buffer.Mdl; m != NULL && left > 0; m = m->Next, off = 0) {
			SIZE_T piece = MmGetMdlByteCount(m) - off;
			PUCHAR va = MmGetSystemAddressForMdlSafe(m, NormalPagePriority);

			if (piece > left)
				piece = left;
			if (piece == 0)
				continue;
			MmInitializeMdl(&t->mdl[k], va + off, piece);
			if (k > 0)
				t->mdl[k - 1].Next = &t->mdl[k];
			k++;
			total += piece;
			left -= piece;
		}
	}
	return total;
}

static NTSTATUS WSKAPI on_receive(PVOID ctx, ULONG flags, PWSK_DATA_INDICATION list,
				  SIZE_T indicated, SIZE_T *accepted)
{
	struct conn *c = ctx;
	struct tx *t;
	ULONG n;

	(void)flags;
	(void)indicated;
	(void)accepted;
	if (list == NULL || c->closing)
		return STATUS_SUCCESS;   /* nothing, or a connection on its way out: drop */
	touch(c);
	if (c->discard) {
		echo.n.discard_bytes += indicated;
		return STATUS_SUCCESS;   /* taken: the provider releases it at once */
	}
	if (c->out_bytes >= ECHO_HOLD_MAX) {
		/* Backpressure: the provider keeps the data and the window stays shut. */
		c->held = true;
		echo.n.held++;
		return STATUS_DATA_NOT_ACCEPTED;
	}
	n = count_pieces(list);
	if (n == 0)
		return STATUS_SUCCESS;
	t = tx_get(n);
	if (t == NULL) {
		conn_close(c);   /* out of memory: this connection goes, the server stays */
		return STATUS_SUCCESS;
	}
	t->c = c;
	t->list = list;
	t->buf.Mdl = &t->mdl[0];
	t->buf.Offset = 0;
	t->buf.Length = describe(t, list);
	c->out_bytes += t->buf.Length;
	dpw_app_irp_prepare(&t->irp, tx_done, t);
	/* NODELAY: an echo answers now, whatever Nagle would wait for. Whatever the call
	 * returns, the IRP completes (R3) and tx_done releases the list. */
	DpwConnectionDispatch(c->sock)->WskSend(c->sock, &t->buf, WSK_FLAG_NODELAY, &t->irp);
	return STATUS_PENDING;   /* keep the indications until the send is done (F7, C9) */
}

static NTSTATUS disconnected(PDEVICE_OBJECT dev, PIRP irp, PVOID ctx)
{
	(void)dev;
	(void)irp;
	/* Our FIN is acknowledged and the peer's came: the close sends nothing more (C3). On
	 * an error (a reset meanwhile) the close is abortive, which is what is left to do. */
	conn_close(ctx);
	return STATUS_MORE_PROCESSING_REQUIRED;
}

static NTSTATUS WSKAPI on_disconnect(PVOID ctx, ULONG flags)
{
	struct conn *c = ctx;

	if (c->closing)
		return STATUS_SUCCESS;
	if (flags & WSK_FLAG_ABORTIVE) {
		echo.n.resets++;
		conn_close(c);
		return STATUS_SUCCESS;
	}
	/* The peer's FIN, after all its data was indicated and taken: our FIN follows the
	 * echoes still queued (F5). */
	dpw_app_irp_prepare(&c->disc_irp, disconnected, c);
	DpwConnectionDispatch(c->sock)->WskDisconnect(c->sock, NULL, 0, &c->disc_irp);
	return STATUS_SUCCESS;
}

static const WSK_CLIENT_CONNECTION_DISPATCH conn_events = {
	.WskReceiveEvent = on_receive,
	.WskDisconnectEvent = on_disconnect,
};

static NTSTATUS WSKAPI on_accept(PVOID ctx, ULONG flags, PSOCKADDR local, PSOCKADDR remote,
				 PWSK_SOCKET sock, PVOID *sock_ctx,
				 const WSK_CLIENT_CONNECTION_DISPATCH **sock_dispatch)
{
	struct conn *c;

	(void)flags;
	(void)local;
	(void)remote;
	if (sock == NULL)
		return STATUS_SUCCESS;   /* the listener is going away (WSK) */
	if (dpw_app_stopping() || (c = calloc(1, sizeof(*c))) == NULL) {
		echo.n.refused++;
		return STATUS_REQUEST_NOT_ACCEPTED;   /* the provider resets it */
	}
	c->sock = sock;
	/* A listener's context is its slot (open_bound): which service the connection is for. */
	c->discard = ctx == &svc.discard[FAM_V4] || ctx == &svc.discard[FAM_V6];
	c->active_ns = dpw_app_now_ns();
	lru_append(c);
	echo.n.conns_open++;
	echo.n.accepted++;
	echo.live++;
	*sock_ctx = c;
	*sock_dispatch = &conn_events;   /* receive and disconnect events: on (static) */
	return STATUS_SUCCESS;
}

static const WSK_CLIENT_LISTEN_DISPATCH listen_events = { .WskAcceptEvent = on_accept };

/* ---- UDP ------------------------------------------------------------------------------------ */

static NTSTATUS udp_sent(PDEVICE_OBJECT dev, PIRP irp, PVOID ctx)
{
	struct udp_tx *tx = ctx;
	struct udp_batch *b = tx->b;

	(void)dev;
	if (irp->IoStatus.Status == STATUS_SUCCESS) {
		echo.n.udp_datagrams++;
		echo.n.udp_bytes += irp->IoStatus.Information;
	} else {
		echo.n.udp_dropped++;
	}
	echo.udp_inflight--;
	if (--b->pending == 0) {
		DpwDatagramDispatch(b->sock)->WskRelease(b->sock, b->list);
		free(b);
		echo.live--;
	}
	return STATUS_MORE_PROCESSING_REQUIRED;
}

/* ctx: the socket's slot in svc.udp[] (its SocketContext). */
static NTSTATUS WSKAPI on_receive_from(PVOID ctx, ULONG flags, PWSK_DATAGRAM_INDICATION list)
{
	PWSK_SOCKET sock = *(PWSK_SOCKET *)ctx;
	struct udp_batch *b;
	ULONG n = 0, i = 0;

	(void)flags;
	if (list == NULL)
		return STATUS_SUCCESS;
	for (PWSK_DATAGRAM_INDICATION d = list; d != NULL; d = d->Next)
		n++;
	if (dpw_app_stopping() || echo.udp_inflight + n > ECHO_UDP_INFLIGHT_MAX ||
	    (b = malloc(sizeof(*b) + n * sizeof(b->tx[0]))) == NULL) {
		echo.n.udp_dropped += n;
		return STATUS_SUCCESS;
	}
	b->sock = sock;
	b->list = list;
	b->pending = n;
	echo.udp_inflight += n;
	echo.live++;
	for (PWSK_DATAGRAM_INDICATION d = list; d != NULL; d = d->Next, i++) {
		b->tx[i].b = b;
		dpw_app_irp_prepare(&b->tx[i].irp, udp_sent, &b->tx[i]);
		/* Back to where it came from, from the received buffer; the IRP completes in
		 * every case (R3) and udp_sent counts it. */
		DpwDatagramDispatch(b->sock)->WskSendTo(b->sock, &d->Buffer, 0, d->RemoteAddress, 0,
							NULL, &b->tx[i].irp);
	}
	return STATUS_PENDING;   /* released by the last udp_sent */
}

static const WSK_CLIENT_DATAGRAM_DISPATCH udp_events = { .WskReceiveFromEvent = on_receive_from };

/* ---- set-up and the end --------------------------------------------------------------------- */

/* Run the loop until the set-up call's IRP completes (5 s at most); its status. */
static NTSTATUS sync_wait(struct dpw_app_sync *s)
{
	return dpw_app_sync_poll(&echo.app, s, NULL);
}

/* A socket of the given family and category bound to 0.0.0.0:port or [::]:port (a listening
 * socket listens from then on), stored in *slot, which is also its context. False with the
 * reason printed on failure. */
static bool open_bound(PWSK_SOCKET *slot, ADDRESS_FAMILY family, const char *what,
		       USHORT type, ULONG proto, ULONG category, const VOID *dispatch,
		       uint16_t port)
{
	const WSK_PROVIDER_DISPATCH *d = echo.app.npi.Dispatch;
	const char *fam = family == AF_INET6 ? "IPv6" : "IPv4";
	PWSK_SOCKET sock;
	SOCKADDR_STORAGE sa;
	struct dpw_app_sync s;
	NTSTATUS st;

	*slot = NULL;
	d->WskSocket(echo.app.npi.Client, family, type, proto, category, slot, dispatch, NULL,
		     NULL, NULL, dpw_app_sync_irp(&s));
	st = sync_wait(&s);
	if (st != STATUS_SUCCESS) {
		dpw_app_fail(&echo.app, "%s %s socket: %s", fam, what, DpwNtStatusName(st));
		return false;
	}
	/* Before the bind: the first datagram may be indicated as soon as it is bound. */
	*slot = sock = (PWSK_SOCKET)s.irp.IoStatus.Information;
	dpw_app_wsk_any(family, port, &sa);
	if (category == WSK_FLAG_LISTEN_SOCKET)
		DpwListenDispatch(sock)->WskBind(sock, (PSOCKADDR)&sa, 0, dpw_app_sync_irp(&s));
	else
		DpwDatagramDispatch(sock)->WskBind(sock, (PSOCKADDR)&sa, 0, dpw_app_sync_irp(&s));
	st = sync_wait(&s);
	if (st != STATUS_SUCCESS) {
		dpw_app_fail(&echo.app, "%s %s port %u: %s", fam, what, port,
			     DpwNtStatusName(st));
		DpwListenDispatch(sock)->WskCloseSocket(sock, dpw_app_sync_irp(&s));
		sync_wait(&s);
		*slot = NULL;
		return false;
	}
	echo.live++;
	echo.opened = true;
	return true;
}

static NTSTATUS listener_closed(PDEVICE_OBJECT dev, PIRP irp, PVOID ctx)
{
	(void)dev;
	(void)irp;
	*(PWSK_SOCKET *)ctx = NULL;
	echo.live--;
	return STATUS_MORE_PROCESSING_REQUIRED;
}

/* Close everything; the completions free it all. Then run until they have (5 s at most). */
static void close_all(void)
{
	uint64_t end;

	for (int f = 0; f < NFAM && echo.opened; f++) {
		if (svc.listener[f] != NULL) {
			PWSK_SOCKET l = svc.listener[f];

			dpw_app_irp_prepare(&svc.listener_close[f], listener_closed, &svc.listener[f]);
			DpwListenDispatch(l)->WskCloseSocket(l, &svc.listener_close[f]);
		}
		if (svc.discard[f] != NULL) {
			PWSK_SOCKET l = svc.discard[f];

			dpw_app_irp_prepare(&svc.discard_close[f], listener_closed, &svc.discard[f]);
			DpwListenDispatch(l)->WskCloseSocket(l, &svc.discard_close[f]);
		}
		if (svc.udp[f] != NULL) {
			PWSK_SOCKET u = svc.udp[f];

			dpw_app_irp_prepare(&svc.udp_close[f], listener_closed, &svc.udp[f]);
			DpwDatagramDispatch(u)->WskCloseSocket(u, &svc.udp_close[f]);
		}
	}
	while (echo.conns != NULL) {
		echo.n.closed_at_stop++;
		conn_close(echo.conns);   /* unlinks it; the free comes later, in its completion */
	}
	end = dpw_app_now_ns() + 5000000000ull;
	while (echo.live > 0 && dpw_app_now_ns() < end)
		dpw_app_poll(&echo.app);
	if (echo.live > 0)
		dpw_app_fail(&echo.app, "%u objects still waiting for their close", echo.live);
}

/* Close the connections idle for longer than --idle-timeout: the oldest are first. */
static void close_idle(void)
{
	uint64_t now = dpw_app_now_ns(), limit = echo.opt.idle_s * 1000000000ull;

	while (echo.conns != NULL && now - echo.conns->active_ns > limit) {
		echo.n.idle_closed++;
		conn_close(echo.conns);
	}
}

/* counts: a struct echo_counts, as an array (lanes.h). */
static void print_counts(const char *what, const uint64_t *counts)
{
	const struct echo_counts *n = (const struct echo_counts *)counts;

	printf("dpwsk: %s conns=%" PRIu64 " accepted=%" PRIu64 " refused=%" PRIu64
	       " resets=%" PRIu64 " idle_closed=%" PRIu64 " held=%" PRIu64 " tcp_bytes=%" PRIu64
	       " udp_datagrams=%" PRIu64 " udp_bytes=%" PRIu64 " udp_dropped=%" PRIu64
	       " discard_bytes=%" PRIu64 " closed_at_stop=%" PRIu64 "\n", what,
	       n->conns_open, n->accepted, n->refused, n->resets, n->idle_closed, n->held,
	       n->tcp_bytes, n->udp_datagrams, n->udp_bytes, n->udp_dropped, n->discard_bytes,
	       n->closed_at_stop);
}

/* The echo line: with lanes, a "lane Q echo" line each, then their sum as the echo line. */
static void print_echo_stats(struct dpw_app *app)
{
	(void)app;
	dpw_lanes_print_or("echo", (const uint64_t *)&echo.n, print_counts);
}

static int set_port(uint64_t *out, const char *name, const char *val, char *err, size_t errlen)
{
	return dpw_app_parse_u64(name, val, 0, 65535, out, err, errlen);
}

static int set_tcp_port(void *ctx, const char *val, char *err, size_t errlen)
{
	return set_port(&((struct options *)ctx)->tcp_port, "tcp-port", val, err, errlen);
}

static int set_udp_port(void *ctx, const char *val, char *err, size_t errlen)
{
	return set_port(&((struct options *)ctx)->udp_port, "udp-port", val, err, errlen);
}

static int set_discard_port(void *ctx, const char *val, char *err, size_t errlen)
{
	return set_port(&((struct options *)ctx)->discard_port, "discard-port", val, err, errlen);
}

static int set_idle(void *ctx, const char *val, char *err, size_t errlen)
{
	return dpw_app_parse_u64("idle-timeout", val, 0, 86400, &((struct options *)ctx)->idle_s,
				 err, errlen);
}

static const struct dpw_cli_opt options[] = {
	{ "tcp-port", true, "N", "TCP echo port (default 7; 0: no TCP), on 0.0.0.0 and, with "
	  "--ip6, on [::] too", set_tcp_port },
	{ "udp-port", true, "N", "UDP echo port (default 7; 0: no UDP), on 0.0.0.0 and, with "
	  "--ip6, on [::] too", set_udp_port },
	{ "discard-port", true, "N", "also a TCP discard service (RFC 863) on port N: data "
	  "taken and dropped (default 0: none)", set_discard_port },
	{ "idle-timeout", true, "S", "reset connections idle for S seconds (default 0: never)",
	  set_idle },
	{ NULL, false, NULL, NULL, NULL },
};

/* What no single option can know: both ports off. */
static int validate(void *ctx, char *err, size_t errlen)
{
	const struct options *o = ctx;

	if (o->tcp_port == 0 && o->udp_port == 0 && o->discard_port == 0) {
		snprintf(err, errlen, "--tcp-port 0 and --udp-port 0: nothing to serve");
		return -1;
	}
	if (o->discard_port != 0 && o->discard_port == o->tcp_port) {
		snprintf(err, errlen, "--discard-port %u is the TCP echo port",
			 (unsigned)o->discard_port);
		return -1;
	}
	return 0;
}

static const WSK_CLIENT_DISPATCH client_dispatch = { MAKE_WSK_VERSION(1, 0), 0, NULL };

/* Set the client up as the server needs it: every socket of it has its events on from birth,
 * so the accepted connections get receive and disconnect events without a WskControlSocket
 * each (F7). False with the reason printed. */
static bool set_static_events(void)
{
	WSK_EVENT_CALLBACK_CONTROL events = {
		(PNPIID)&NPI_WSK_INTERFACE_ID,
		WSK_EVENT_ACCEPT | WSK_EVENT_RECEIVE | WSK_EVENT_DISCONNECT | WSK_EVENT_RECEIVE_FROM
	};
	NTSTATUS st = echo.app.npi.Dispatch->WskControlClient(echo.app.npi.Client,
							      WSK_SET_STATIC_EVENT_CALLBACKS,
							      sizeof(events), &events, 0, NULL,
							      NULL, NULL);

	if (st != STATUS_SUCCESS)
		dpw_app_fail(&echo.app, "static event callbacks: %s", DpwNtStatusName(st));
	return st == STATUS_SUCCESS;
}

/* The listeners and UDP sockets: IPv4 always; IPv6 as well when the engine has an IPv6
 * address. The first failure ends the start. */
static bool open_services(void)
{
	int nfam = dpw_app_has_ipv6(&echo.app) ? 2 : 1;
	bool ok = true;

	for (int f = 0; f < nfam && ok; f++) {
		ADDRESS_FAMILY family = f == FAM_V6 ? AF_INET6 : AF_INET;

		if (echo.opt.tcp_port != 0)
			ok = open_bound(&svc.listener[f], family, "TCP", SOCK_STREAM, IPPROTO_TCP,
					WSK_FLAG_LISTEN_SOCKET, &listen_events,
					(uint16_t)echo.opt.tcp_port);
		if (ok && echo.opt.discard_port != 0)
			ok = open_bound(&svc.discard[f], family, "TCP discard", SOCK_STREAM,
					IPPROTO_TCP, WSK_FLAG_LISTEN_SOCKET, &listen_events,
					(uint16_t)echo.opt.discard_port);
		if (ok && echo.opt.udp_port != 0)
			ok = open_bound(&svc.udp[f], family, "UDP", SOCK_DGRAM, IPPROTO_UDP,
					WSK_FLAG_DATAGRAM_SOCKET, &udp_events,
					(uint16_t)echo.opt.udp_port);
	}
	return ok;
}

/* What the ready line says after the address. */
static void describe_services(char *what, size_t len, unsigned queues)
{
	char disc[24] = "", q[24] = "";

	if (echo.opt.discard_port != 0)
		snprintf(disc, sizeof(disc), " discard=%u", (unsigned)echo.opt.discard_port);
	if (queues > 1)
		snprintf(q, sizeof(q), " queues=%u", queues);
	snprintf(what, len, "echo tcp=%u udp=%u%s%s%s", (unsigned)echo.opt.tcp_port,
		 (unsigned)echo.opt.udp_port, disc, dpw_app_has_ipv6(&echo.app) ? " ipv6=on" : "",
		 q);
}

/* The server's loop on this thread, until a stop is asked for. */
static void serve(void (*publish)(void))
{
	while (!dpw_app_stopping()) {
		dpw_app_poll(&echo.app);
		if (echo.opt.idle_s != 0)
			close_idle();
		if (publish != NULL)
			publish();
	}
}

/* ---- --queues N: a lane per engine (lanes.h) ----------------------------------------------
 * Lane 0 opens the services; the provider spreads each listener over every lcore, and each
 * lane serves the connections its lcore accepts. */

static struct dpw_app *lane_init(unsigned q, void *arg)
{
	const struct echo_state *main_state = arg;   /* the program's thread's */

	(void)q;
	echo.opt = main_state->opt;
	return &echo.app;
}

static bool lane_client_ready(unsigned q)
{
	(void)q;
	return set_static_events();
}

static void publish(void)
{
	dpw_lanes_publish((const uint64_t *)&echo.n);
}

/* Lane 0's WskDeregister (in dpw_app_finish_lane) waits for the connections the other lanes
 * still close: its listeners accepted them. */
static unsigned lane_run(unsigned q)
{
	unsigned rc;

	dpw_app_poll(&echo.app);   /* the provider learns this thread is the lcore */
	if (q == 0)
		dpw_lanes_services_up(open_services());
	serve(publish);
	close_all();
	publish();
	rc = dpw_app_finish_lane(&echo.app, echo.live);
	tx_cache_empty();   /* after the last completion routine this lane runs */
	return rc;
}

static void lane_describe(char *what, size_t len)
{
	describe_services(what, len, dpw_lanes_n());
}

static const struct dpw_lane_ops lane_ops = {
	.init = lane_init,
	.client_ready = lane_client_ready,
	.run = lane_run,
	.describe = lane_describe,
	.ncounts = ECHO_NCOUNTS,
};

int main(int argc, char **argv)
{
	char what[120];
	struct dpw_cli cli = { .synopsis = "[--tcp-port N] [--udp-port N] [--discard-port N] "
			       "[--idle-timeout S]",
			       .opts = options, .ctx = &echo.opt, .validate = validate };
	int rc;

	echo.opt.tcp_port = 7;
	echo.opt.udp_port = 7;
	dpw_app_parse(&echo.app, argc, argv, &cli);
	if (dpw_app_several_queues(&echo.app)) {
		echo.app.print_stats = print_echo_stats;
		return dpw_lanes_run(&echo.app, &lane_ops, &echo);
	}
	dpw_app_start(&echo.app, &client_dispatch, false);
	echo.app.print_stats = print_echo_stats;
	if (!set_static_events()) {
		dpw_app_finish(&echo.app);
		return 1;
	}
	if (!open_services()) {
		close_all();
		dpw_app_finish(&echo.app);
		return 1;
	}
	describe_services(what, sizeof(what), 1);
	dpw_app_ready(&echo.app, what);
	serve(NULL);
	close_all();
	rc = dpw_app_finish(&echo.app);
	tx_cache_empty();
	return rc != 0 || echo.live != 0 ? 1 : 0;
}
