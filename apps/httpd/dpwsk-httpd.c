/* dpwsk-httpd: a small HTTP/1.1 server on the WSK API, for checking the stack with real HTTP
 * clients (curl, ab, wrk) and as an example of a complete WSK server.
 *
 *   dpwsk-httpd [--http-port N] [--body-size N | --root DIR] [--idle-timeout S]
 *               [--max-connections N] <port and stack options>
 *
 * It listens on 0.0.0.0:N and, when the engine has an IPv6 address (--ip6), on [::]:N too
 * (an AF_INET6 listener of its own: those are IPv6-only).
 *
 * Without --root every GET answers the same body of --body-size bytes ("Hello, dpwsk\n"
 * repeated); with --root, GET /path serves DIR/path (http_file.c keeps it inside DIR). GET
 * and HEAD, keep-alive by default in HTTP/1.1 and on request in 1.0, pipelined requests
 * answered in order.
 *
 * It runs embedded (the program's thread is the lcore) and never blocks: every socket call is
 * an IRP whose completion routine moves its connection on (conn_run). Per connection the
 * memory is fixed: one request buffer (MAX_HEAD bytes), one receive IRP, SEND_SLOTS send IRPs
 * each carrying at most CHUNK bytes of a file (read when the slot is refilled, so a large file
 * goes out in chunks and a slow reader holds at most SEND_SLOTS chunks), and the IRPs to
 * disconnect and close. When the buffer is full the receive is not posted again, and TCP's
 * window makes the client wait.
 *
 * Closing (contract C3): when we end a connection (Connection: close, HTTP/1.0, an error,
 * the peer's FIN, idle), WskDisconnect sends our FIN after the response; once it is
 * acknowledged and the peer's FIN has arrived, WskCloseSocket finds the connection finished
 * both ways and closes without a RST. A peer that does not send its FIN within LINGER_MS is
 * reset by the close. A peer's RST (a failed receive or send): WskCloseSocket at once. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "app.h"
#include "lanes.h"
#include "http_file.h"
#include "http_parse.h"
#include "http_response.h"

#define MAX_HEAD      8192                 /* request head limit, and the receive buffer */
#define CHUNK         (64 * 1024)          /* file bytes per send */
#define SEND_SLOTS    2                    /* sends in flight per connection */
#define HEAD_ROOM     512                  /* response head, plus an error's body */
#define REL_PATH_MAX  4096
#define MAX_BODY      (256u << 20)         /* --body-size limit */
#define MS            1000000ull           /* ns */
#define LINGER_MS     5000                 /* wait for the peer's FIN after ours */
#define SWEEP_MS      100                  /* timeouts are checked this often */

static const char hello[] = "Hello, dpwsk\n";

/* ---- state ---------------------------------------------------------------------------------- */

struct conn;

/* An IRP with the connection it belongs to. */
struct op {
	IRP irp;
	struct conn *c;
	bool busy;       /* with the provider: its completion routine has not run yet */
};

/* One send in flight: its IRP, up to two MDLs (response head, then body bytes) and, for
 * files, the buffer the chunk was read into. */
struct slot {
	struct op op;
	MDL mdl[2];
	WSK_BUF wb;
	uint8_t *buf;
};

struct conn {
	struct conn *prev, *next;          /* the server's list of live connections */
	PWSK_SOCKET sock;
	const WSK_PROVIDER_CONNECTION_DISPATCH *d;
	struct op rx, disc, close;
	struct slot tx[SEND_SLOTS];
	MDL rx_mdl;
	WSK_BUF rx_wb;

	/* rbuf: [0, rpos) consumed, [rpos, rlen) received and not yet parsed, [rlen, MAX_HEAD)
	 * where a pending receive writes. Compacted only while no receive is pending. */
	size_t rpos, rlen;
	size_t scan;                       /* http_find_head_end's resume point, from rpos */
	uint64_t skip;                     /* request body bytes still to drop */
	uint64_t deadline;                 /* idle, stalled, or lingering: see sweep() */

	bool peer_fin;                     /* the peer's FIN arrived (a 0-byte receive) */
	bool failed;                       /* a receive, send or disconnect failed: reset */
	bool no_more;                      /* answer no further request: close after this one */
	bool disconnecting, disconnected;  /* our WskDisconnect posted / completed */
	bool closing;                      /* WskCloseSocket posted: nothing else is posted */

	struct {
		bool active;                   /* a response is going out */
		bool head_pending;             /* its head is not in a send yet */
		size_t head_len;               /* head (and an error's body) in head[] */
		int fd;                        /* file body, or -1 */
		const uint8_t *mem;            /* fixed body, or NULL */
		uint64_t off, left;            /* body bytes handed to sends / still to hand */
		unsigned sends;                /* slots in flight */
	} resp;
	char head[HEAD_ROOM];
	char rbuf[MAX_HEAD];
};

struct options {
	uint16_t port;
	uint64_t body_size;
	bool body_given;
	const char *root;
	int root_fd;
	uint64_t idle_s;
	uint64_t max_conns;
};

/* The listeners (AF_INET, AF_INET6 with --ip6; NULL: none) and the fixed body: made by one
 * thread (the program's; with --queues, lane 0's, and the body by the program's) before any
 * connection, then only read. */
static PWSK_SOCKET listener[2];
static uint8_t *body;

/* The server's counts; only uint64_t, so that a lane can publish them as an array. */
struct httpd_counts {
	uint64_t connections;   /* open now */
	uint64_t accepted, refused, requests, status[6], bytes, resets, timeouts;
};                          /* status[k]: responses kxx */
#define HTTPD_NCOUNTS (sizeof(struct httpd_counts) / sizeof(uint64_t))

/* The server's state. Thread-local: with --queues N each engine's thread runs a lane, a copy
 * that serves the connections its lcore accepts (lanes.h); the program's thread holds the
 * command line and adds up the lanes' counts. */
static __thread struct httpd_state {
	struct dpw_app app;
	struct options opt;
	struct conn *conns;                /* list head */
	uint64_t now;                      /* ns, refreshed every loop pass */
	char date[30];
	time_t date_t;
	bool stopping;
	struct httpd_counts n;
} srv = { .opt = { .port = 80, .body_size = sizeof(hello) - 1, .root_fd = -1, .idle_s = 60,
		   .max_conns = 20000 } };

static void conn_run(struct conn *c);

/* ---- IRPs ------------------------------------------------------------------------------------ */

static PIRP op_start(struct op *o, PIO_COMPLETION_ROUTINE routine, void *ctx)
{
	IoReuseIrp(&o->irp, STATUS_UNSUCCESSFUL);
	IoSetCompletionRoutine(&o->irp, routine, ctx, TRUE, TRUE, TRUE);
	o->busy = true;
	return &o->irp;
}

/* ---- closing --------------------------------------------------------------------------------- */

static void conn_free(struct conn *c)
{
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		srv.conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	srv.n.connections--;
	if (c->resp.fd >= 0)
		close(c->resp.fd);
	for (unsigned i = 0; i < SEND_SLOTS; i++)
		free(c->tx[i].buf);
	free(c);
}

static NTSTATUS on_closed(PDEVICE_OBJECT dev, PIRP irp, PVOID ctx)
{
	struct conn *c = ctx;
	bool busy;

	(void)dev;
	(void)irp;
	c->close.busy = false;
	/* C2: every other IRP of the socket completed before this one, so none is busy now. */
	busy = c->rx.busy || c->disc.busy;

	for (unsigned i = 0; i < SEND_SLOTS; i++)
		busy |= c->tx[i].op.busy;
	if (busy)
		fprintf(stderr, "%s: close completed before the socket's other IRPs\n",
			srv.app.prog);
	else
		conn_free(c);
	return STATUS_MORE_PROCESSING_REQUIRED;
}

/* WskCloseSocket: cancels whatever is pending (C2), resets unless both FINs are through (C3);
 * the connection is freed when the close completes. */
static void conn_close(struct conn *c)
{
	if (c->closing)
		return;
	c->closing = true;
	c->d->WskCloseSocket(c->sock, op_start(&c->close, on_closed, c));
}

static NTSTATUS on_disconnected(PDEVICE_OBJECT dev, PIRP irp, PVOID ctx)
{
	struct conn *c = ctx;

	(void)dev;
	c->disc.busy = false;
	if (c->closing)
		return STATUS_MORE_PROCESSING_REQUIRED;
	if (NT_SUCCESS(irp->IoStatus.Status))
		c->disconnected = true;   /* F5: our FIN is acknowledged */
	else
		c->failed = true;
	conn_run(c);
	return STATUS_MORE_PROCESSING_REQUIRED;
}

/* Graceful: our FIN after everything sent (F5); then wait for the peer's, LINGER_MS at most. */
static void start_disconnect(struct conn *c)
{
	c->disconnecting = true;
	c->no_more = true;
	c->deadline = srv.now + LINGER_MS * MS;
	c->d->WskDisconnect(c->sock, NULL, 0, op_start(&c->disc, on_disconnected, c));
}

/* ---- receiving ------------------------------------------------------------------------------- */

static NTSTATUS on_received(PDEVICE_OBJECT dev, PIRP irp, PVOID ctx)
{
	struct conn *c = ctx;

	(void)dev;
	c->rx.busy = false;
	if (c->closing)
		return STATUS_MORE_PROCESSING_REQUIRED;
	if (!NT_SUCCESS(irp->IoStatus.Status)) {
		c->failed = true;   /* the peer reset, or the transport gave up */
		srv.n.resets++;
	} else if (irp->IoStatus.Information == 0) {
		c->peer_fin = true;   /* F4: a graceful close completes a receive with 0 bytes */
	} else {
		c->rlen += irp->IoStatus.Information;
		if (!c->disconnecting)
			c->deadline = srv.now + srv.opt.idle_s * 1000 * MS;
	}
	conn_run(c);
	return STATUS_MORE_PROCESSING_REQUIRED;
}

/* Keep one receive pending while there is room, so that a FIN or a RST is seen at once. */
static void post_receive(struct conn *c)
{
	size_t room;

	if (c->rx.busy || c->closing || c->peer_fin || c->failed)
		return;
	if (c->rpos > 0) {
		memmove(c->rbuf, c->rbuf + c->rpos, c->rlen - c->rpos);
		c->rlen -= c->rpos;
		c->rpos = 0;
	}
	room = MAX_HEAD - c->rlen;
	if (room == 0)
		return;   /* full: the window closes until a response lets us parse on */
	MmInitializeMdl(&c->rx_mdl, c->rbuf + c->rlen, room);
	c->rx_wb.Mdl = &c->rx_mdl;
	c->rx_wb.Offset = 0;
	c->rx_wb.Length = room;
	c->d->WskReceive(c->sock, &c->rx_wb, 0, op_start(&c->rx, on_received, c));
}

/* ---- sending a response ---------------------------------------------------------------------- */

static void pump(struct conn *c);

static void response_done(struct conn *c)
{
	c->resp.active = false;
	if (c->resp.fd >= 0) {
		close(c->resp.fd);
		c->resp.fd = -1;
		/* An idle keep-alive connection keeps no chunk buffers. */
		for (unsigned i = 0; i < SEND_SLOTS; i++) {
			free(c->tx[i].buf);
			c->tx[i].buf = NULL;
		}
	}
	c->resp.mem = NULL;
	c->deadline = srv.now + srv.opt.idle_s * 1000 * MS;
}

static NTSTATUS on_sent(PDEVICE_OBJECT dev, PIRP irp, PVOID ctx)
{
	struct slot *s = ctx;
	struct conn *c = s->op.c;

	(void)dev;
	s->op.busy = false;
	c->resp.sends--;
	if (c->closing)
		return STATUS_MORE_PROCESSING_REQUIRED;
	if (!NT_SUCCESS(irp->IoStatus.Status)) {
		c->failed = true;
		srv.n.resets++;
		conn_run(c);
		return STATUS_MORE_PROCESSING_REQUIRED;
	}
	srv.n.bytes += irp->IoStatus.Information;
	c->deadline = srv.now + srv.opt.idle_s * 1000 * MS;   /* progress */
	if (c->resp.head_pending || c->resp.left > 0) {
		pump(c);
		if (c->failed)
			conn_run(c);
	} else if (c->resp.sends == 0) {
		response_done(c);
		conn_run(c);
	}
	return STATUS_MORE_PROCESSING_REQUIRED;
}

/* Read a file chunk fully (a regular file gives short reads only at its end). */
static bool read_chunk(int fd, uint8_t *buf, size_t n, uint64_t off)
{
	size_t got = 0;

	while (got < n) {
		ssize_t r = pread(fd, buf + got, n - got, (off_t)(off + got));

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return false;   /* the file shrank under us: the promised length is a lie now */
		got += (size_t)r;
	}
	return true;
}

/* Fill a free slot with what comes next (the head, then up to CHUNK body bytes) and send it. */
static bool send_slot(struct conn *c, struct slot *s)
{
	PMDL first = NULL, *link = &first;
	SIZE_T total = 0;

	if (c->resp.head_pending) {
		MmInitializeMdl(&s->mdl[0], c->head, c->resp.head_len);
		*link = &s->mdl[0];
		link = &s->mdl[0].Next;
		total += c->resp.head_len;
		c->resp.head_pending = false;
	}
	if (c->resp.left > 0) {
		size_t piece = c->resp.left < CHUNK ? (size_t)c->resp.left : CHUNK;
		const uint8_t *data;

		if (c->resp.fd >= 0) {
			if (s->buf == NULL && (s->buf = malloc(CHUNK)) == NULL)
				return false;
			if (!read_chunk(c->resp.fd, s->buf, piece, c->resp.off))
				return false;
			data = s->buf;
		} else {
			data = c->resp.mem + c->resp.off;
		}
		MmInitializeMdl(&s->mdl[1], (PVOID)data, piece);
		*link = &s->mdl[1];
		c->resp.off += piece;
		c->resp.left -= piece;
		total += piece;
	}
	s->wb.Mdl = first;
	s->wb.Offset = 0;
	s->wb.Length = total;
	c->resp.sends++;
	c->d->WskSend(c->sock, &s->wb, 0, op_start(&s->op, on_sent, s));
	return true;
}

/* Keep up to SEND_SLOTS sends in flight until the response is all handed over. A chunk that
 * cannot be read or buffered fails the connection (the caller's conn_run resets it). */
static void pump(struct conn *c)
{
	for (unsigned i = 0; i < SEND_SLOTS && (c->resp.head_pending || c->resp.left > 0); i++) {
		if (c->tx[i].op.busy)
			continue;
		if (!send_slot(c, &c->tx[i])) {
			c->failed = true;
			return;
		}
	}
}

/* Start a response: its head (and an error's short body) in c->head, the body from fd or mem.
 * last: the connection ends after it. */
static void respond(struct conn *c, int status, bool head_only, bool last,
		    enum http_connection_field conn_field, const char *type, uint64_t length,
		    int fd, const uint8_t *mem)
{
	size_t n, body = 0;

	if (last)
		conn_field = HTTP_CONN_CLOSE;
	if (fd < 0 && mem == NULL) {
		/* An error: a line of text as the body, after the head in the same buffer. */
		char text[64];

		length = http_format_error_body(text, sizeof(text), status);
		type = "text/plain; charset=utf-8";
		n = http_format_head(c->head, sizeof(c->head), status, srv.date, type, length,
				     conn_field);
		if (!head_only && n + length <= sizeof(c->head)) {
			memcpy(c->head + n, text, length);
			body = length;
		}
	} else {
		n = http_format_head(c->head, sizeof(c->head), status, srv.date, type, length,
				     conn_field);
	}
	if (n == 0) {   /* cannot happen with HEAD_ROOM: every field is bounded */
		c->failed = true;
		if (fd >= 0)
			close(fd);
		return;
	}
	srv.n.status[status / 100 < 6 ? status / 100 : 5]++;
	if (last)
		c->no_more = true;
	c->resp.active = true;
	c->resp.head_pending = true;
	c->resp.head_len = n + body;
	c->resp.fd = fd;
	c->resp.mem = mem;
	c->resp.off = 0;
	c->resp.left = head_only || (fd < 0 && mem == NULL) ? 0 : length;
	pump(c);
}

/* One parsed request (st: the parser's verdict) into a response. */
static void handle(struct conn *c, const struct http_request *req, int st)
{
	char rel[REL_PATH_MAX];
	bool dir, head_only = req->method == HTTP_METHOD_HEAD;
	/* After a framing error the rest of the stream cannot be trusted: close. 403, 404 and
	 * 405 leave the framing intact, so the connection goes on. */
	bool last = st != 0 || !req->keep_alive;
	enum http_connection_field conn_field =
		req->version_minor == 0 ? HTTP_CONN_KEEP_ALIVE : HTTP_CONN_NONE;
	const char *type;
	uint64_t size;
	int fd;

	if (st == 0 && req->method == HTTP_METHOD_OTHER)
		st = 405;
	if (st == 0) {
		st = http_target_to_path(req->target, req->target_len, rel, sizeof(rel), &dir);
		last |= st == 400 || st == 414;
	}
	if (st == 0 && srv.opt.root_fd < 0) {
		respond(c, 200, head_only, last, conn_field, "text/plain; charset=utf-8",
			srv.opt.body_size, -1, body);
		return;
	}
	if (st == 0) {
		st = http_file_open(srv.opt.root_fd, rel, dir, &fd, &size, &type);
		if (st == 0) {
			respond(c, 200, head_only, last, conn_field, type, size, fd, NULL);
			return;
		}
		last |= st >= 500;
	}
	respond(c, st, head_only, last, conn_field, NULL, 0, -1, NULL);
}

/* ---- the connection's state machine ---------------------------------------------------------- */

/* Take the next request out of rbuf and start its response. false: not all of it is here. */
static bool next_request(struct conn *c)
{
	struct http_request req;
	const char *p;
	size_t avail = c->rlen - c->rpos, end, n;
	int st;

	if (c->skip > 0) {   /* a request's body: not for us */
		n = avail < c->skip ? avail : (size_t)c->skip;
		c->rpos += n;
		c->skip -= n;
		avail -= n;
		if (c->skip > 0)
			return false;
	}
	if (c->scan == 0) {
		n = http_skip_empty_lines(c->rbuf + c->rpos, avail);
		c->rpos += n;
		avail -= n;
	}
	if (avail == 0)
		return false;
	p = c->rbuf + c->rpos;
	end = http_find_head_end(p, avail, &c->scan);
	if (end == 0) {
		if (avail < MAX_HEAD)
			return false;
		/* The buffer is full and the head goes on: 431, and close. */
		memset(&req, 0, sizeof(req));
		srv.n.requests++;
		handle(c, &req, 431);
		return true;
	}
	srv.n.requests++;
	st = http_parse_request(p, end, &req);
	handle(c, &req, st);
	c->rpos += end;
	c->scan = 0;
	c->skip = st == 0 ? req.content_length : 0;
	return true;
}

/* Move the connection on after any completion: answer what can be answered, end it when it
 * is done, keep a receive pending otherwise. */
static void conn_run(struct conn *c)
{
	if (c->closing)
		return;
	if (c->failed) {
		conn_close(c);
		return;
	}
	if (c->disconnecting) {
		c->rpos = c->rlen = 0;   /* lingering: anything that still arrives is dropped */
		if (c->disconnected && c->peer_fin)
			conn_close(c);   /* both FINs through: no RST (C3) */
		else
			post_receive(c);
		return;
	}
	while (!c->resp.active && !c->no_more && !c->failed && next_request(c))
		;
	if (c->failed) {
		conn_close(c);
		return;
	}
	if (!c->resp.active && (c->no_more || c->peer_fin)) {
		start_disconnect(c);
		c->rpos = c->rlen = 0;
	}
	post_receive(c);
}

static struct conn *conn_new(PWSK_SOCKET sock)
{
	struct conn *c = malloc(sizeof(*c));

	if (c == NULL)
		return NULL;
	/* Everything but the two buffers, which need no clearing. */
	memset(c, 0, offsetof(struct conn, head));
	c->sock = sock;
	c->d = sock->Dispatch;
	c->resp.fd = -1;
	c->rx.c = c->disc.c = c->close.c = c;
	IoInitializeIrp(&c->rx.irp, IoSizeOfIrp(1), 1);
	IoInitializeIrp(&c->disc.irp, IoSizeOfIrp(1), 1);
	IoInitializeIrp(&c->close.irp, IoSizeOfIrp(1), 1);
	for (unsigned i = 0; i < SEND_SLOTS; i++) {
		c->tx[i].op.c = c;
		IoInitializeIrp(&c->tx[i].op.irp, IoSizeOfIrp(1), 1);
	}
	c->deadline = srv.now + srv.opt.idle_s * 1000 * MS;
	c->next = srv.conns;
	if (srv.conns != NULL)
		srv.conns->prev = c;
	srv.conns = c;
	srv.n.connections++;
	return c;
}

/* The listener's accept event (F7), on the lcore: take the connection and start receiving.
 * Refused (the stack resets it) when stopping, at --max-connections, or out of memory. */
static NTSTATUS WSKAPI on_accept(PVOID SocketContext, ULONG Flags, PSOCKADDR LocalAddress,
				 PSOCKADDR RemoteAddress, PWSK_SOCKET AcceptSocket,
				 PVOID *AcceptSocketContext,
				 const WSK_CLIENT_CONNECTION_DISPATCH **AcceptSocketDispatch)
{
	struct conn *c;

	(void)SocketContext;
	(void)Flags;
	(void)LocalAddress;
	(void)RemoteAddress;
	if (AcceptSocket == NULL)
		return STATUS_REQUEST_NOT_ACCEPTED;
	if (srv.stopping || srv.n.connections >= srv.opt.max_conns || (c = conn_new(AcceptSocket)) == NULL) {
		srv.n.refused++;
		return STATUS_REQUEST_NOT_ACCEPTED;
	}
	srv.n.accepted++;
	*AcceptSocketContext = c;
	*AcceptSocketDispatch = NULL;   /* no connection events: receives are IRPs */
	post_receive(c);
	return STATUS_SUCCESS;
}

static const WSK_CLIENT_LISTEN_DISPATCH listen_events = { on_accept, NULL, NULL };

/* ---- timeouts -------------------------------------------------------------------------------- */

static void refresh_date(void)
{
	time_t t = time(NULL);

	if (t != srv.date_t) {
		srv.date_t = t;
		http_format_date(t, srv.date);
	}
}

/* Deadlines: lingering for the peer's FIN (reset), a response making no progress (reset), a
 * keep-alive connection idle (closed gracefully, as after Connection: close). */
static void sweep(void)
{
	for (struct conn *c = srv.conns; c != NULL; c = c->next) {
		if (c->closing || srv.now < c->deadline)
			continue;
		srv.n.timeouts++;
		if (c->disconnecting || c->resp.active) {
			conn_close(c);
		} else {
			c->no_more = true;
			conn_run(c);
		}
	}
}

/* ---- start, loop, end ------------------------------------------------------------------------ */

/* Setup calls made before the loop: wait for the IRP (the loop is not running yet). */
static struct dpw_app_sync sync_op;

static PIRP sync_irp(void)
{
	return dpw_app_sync_irp(&sync_op);
}

static NTSTATUS sync_wait(ULONG_PTR *info)
{
	return dpw_app_sync_poll(&srv.app, &sync_op, info);
}

/* A listening socket with the accept event on and TCP_NODELAY (inherited by its connections:
 * a response's last segment goes out at once, not after the previous one's ACK). */
static NTSTATUS start_listener(PWSK_SOCKET *slot, ADDRESS_FAMILY family)
{
	const WSK_PROVIDER_LISTEN_DISPATCH *d;
	WSK_EVENT_CALLBACK_CONTROL ev = { (PNPIID)&NPI_WSK_INTERFACE_ID, WSK_EVENT_ACCEPT };
	ULONG one = 1;
	SOCKADDR_STORAGE addr;
	ULONG_PTR info = 0;
	NTSTATUS st;

	srv.app.npi.Dispatch->WskSocket(srv.app.npi.Client, family, SOCK_STREAM, IPPROTO_TCP,
					WSK_FLAG_LISTEN_SOCKET, NULL, &listen_events, NULL, NULL,
					NULL, sync_irp());
	st = sync_wait(&info);
	if (st != STATUS_SUCCESS)
		return st;
	*slot = (PWSK_SOCKET)info;
	d = (*slot)->Dispatch;
	d->WskControlSocket(*slot, WskSetOption, SO_WSK_EVENT_CALLBACK, WSK_SOL_SOCKET,
			    sizeof(ev), &ev, 0, NULL, NULL, sync_irp());
	st = sync_wait(NULL);
	if (st == STATUS_SUCCESS) {
		d->WskControlSocket(*slot, WskSetOption, WSK_TCP_NODELAY, WSK_IPPROTO_TCP,
				    sizeof(one), &one, 0, NULL, NULL, sync_irp());
		st = sync_wait(NULL);
	}
	if (st == STATUS_SUCCESS) {
		dpw_app_wsk_any(family, srv.opt.port, &addr);   /* 0.0.0.0:N or [::]:N */
		d->WskBind(*slot, (PSOCKADDR)&addr, 0, sync_irp());   /* listens at once */
		st = sync_wait(NULL);
	}
	return st;
}

/* The listeners: IPv4, and IPv6 when the engine has an address of that family. */
static NTSTATUS start_listeners(const char **family)
{
	NTSTATUS st;

	*family = "IPv4";
	st = start_listener(&listener[0], AF_INET);
	if (st == STATUS_SUCCESS && dpw_app_has_ipv6(&srv.app)) {
		*family = "IPv6";
		st = start_listener(&listener[1], AF_INET6);
	}
	return st;
}

static void close_listener(void)
{
	for (int f = 0; f < 2; f++) {
		if (listener[f] == NULL)
			continue;
		DpwListenDispatch(listener[f])->WskCloseSocket(listener[f], sync_irp());
		sync_wait(NULL);
		listener[f] = NULL;
	}
}

/* counts: a struct httpd_counts, as an array (lanes.h). */
static void print_counts(const char *what, const uint64_t *counts)
{
	const struct httpd_counts *n = (const struct httpd_counts *)counts;

	printf("dpwsk: %s connections=%" PRIu64 " accepted=%" PRIu64 " refused=%" PRIu64
	       " requests=%" PRIu64 " responses_2xx=%" PRIu64 " responses_4xx=%" PRIu64
	       " responses_5xx=%" PRIu64 " bytes_sent=%" PRIu64 " resets=%" PRIu64
	       " timeouts=%" PRIu64 "\n", what,
	       n->connections, n->accepted, n->refused, n->requests, n->status[2], n->status[4],
	       n->status[5], n->bytes, n->resets, n->timeouts);
}

/* Our line, after the engine's and the provider's (SIGUSR1, the end); with lanes, a
 * "lane Q httpd" line each, then their sum as the httpd line. */
static void print_stats(struct dpw_app *app)
{
	(void)app;
	dpw_lanes_print_or("httpd", (const uint64_t *)&srv.n, print_counts);
	fflush(stdout);
}

/* ---- options --------------------------------------------------------------------------------- */

static int set_port(void *ctx, const char *val, char *err, size_t errlen)
{
	uint64_t v;

	if (dpw_app_parse_u64("http-port", val, 1, 65535, &v, err, errlen) != 0)
		return -1;
	((struct options *)ctx)->port = (uint16_t)v;
	return 0;
}

static int set_body_size(void *ctx, const char *val, char *err, size_t errlen)
{
	struct options *o = ctx;

	if (o->root != NULL) {
		snprintf(err, errlen, "--body-size and --root exclude each other");
		return -1;
	}
	o->body_given = true;
	return dpw_app_parse_u64("body-size", val, 0, MAX_BODY, &o->body_size, err, errlen);
}

static int set_root(void *ctx, const char *val, char *err, size_t errlen)
{
	struct options *o = ctx;

	if (o->body_given) {
		snprintf(err, errlen, "--body-size and --root exclude each other");
		return -1;
	}
	if (o->root_fd >= 0)
		close(o->root_fd);
	o->root = val;
	o->root_fd = http_root_open(val);
	if (o->root_fd < 0) {
		snprintf(err, errlen, "--root: cannot open directory '%s': %s", val,
			 strerror(errno));
		return -1;
	}
	return 0;
}

static int set_idle(void *ctx, const char *val, char *err, size_t errlen)
{
	return dpw_app_parse_u64("idle-timeout", val, 1, 86400, &((struct options *)ctx)->idle_s,
				 err, errlen);
}

static int set_max_conns(void *ctx, const char *val, char *err, size_t errlen)
{
	return dpw_app_parse_u64("max-connections", val, 1, 60000,
				 &((struct options *)ctx)->max_conns, err, errlen);
}

static const struct dpw_cli_opt options[] = {
	{ "http-port", true, "N", "TCP port to serve (default 80), on 0.0.0.0 and, with --ip6, "
	  "on [::] too", set_port },
	{ "body-size", true, "N", "answer every GET with N bytes (default 13, \"Hello, dpwsk\\n\")",
	  set_body_size },
	{ "root", true, "DIR", "serve the files under DIR instead", set_root },
	{ "idle-timeout", true, "S", "close keep-alive connections idle S seconds (default 60)",
	  set_idle },
	{ "max-connections", true, "N", "refuse connections beyond N (default 20000)",
	  set_max_conns },
	{ NULL, false, NULL, NULL, NULL },
};

/* ---- main ------------------------------------------------------------------------------------ */

static void make_body(void)
{
	body = malloc(srv.opt.body_size > 0 ? srv.opt.body_size : 1);
	if (body == NULL)
		return;
	for (uint64_t i = 0; i < srv.opt.body_size; i++)
		body[i] = (uint8_t)hello[i % (sizeof(hello) - 1)];
}

/* The ready line's words. */
static void describe(char *what, size_t len)
{
	char q[24] = "";

	if (dpw_lanes_n() > 1)
		snprintf(q, sizeof(q), " queues=%u", dpw_lanes_n());
	if (srv.opt.root_fd >= 0)
		snprintf(what, len, "httpd port=%u root=%s%s", srv.opt.port, srv.opt.root, q);
	else
		snprintf(what, len, "httpd port=%u body=%" PRIu64 "%s", srv.opt.port,
			 srv.opt.body_size, q);
}

/* Open the listeners, or say why not (and close what was opened). */
static bool open_listeners(void)
{
	const char *family;
	NTSTATUS st = start_listeners(&family);

	if (st == STATUS_SUCCESS)
		return true;
	dpw_app_fail(&srv.app, "cannot listen on %s port %u: %s", family, srv.opt.port,
		     DpwNtStatusName(st));
	close_listener();
	return false;
}

/* The loop on this thread until a stop is asked for, then every connection of this thread
 * closed (reset if still open, C3): no new ones are taken. */
static void serve(void (*publish)(void))
{
	uint64_t next_sweep = 0;

	while (!dpw_app_stopping()) {
		dpw_app_poll(&srv.app);
		srv.now = dpw_app_now_ns();
		if (srv.now >= next_sweep) {
			next_sweep = srv.now + SWEEP_MS * MS;
			refresh_date();
			sweep();
		}
		if (publish != NULL)
			publish();
	}
	srv.stopping = true;
	for (struct conn *c = srv.conns; c != NULL; c = c->next)
		conn_close(c);
}

/* ---- --queues N: a lane per engine (lanes.h) --------------------------------------------- */

static struct dpw_app *lane_init(unsigned q, void *arg)
{
	const struct httpd_state *main_state = arg;   /* the program's thread's */
	unsigned n = main_state->app.eng.engine.queues;

	srv.opt = main_state->opt;
	/* --max-connections is the server's: each lane takes its share. */
	srv.opt.max_conns = main_state->opt.max_conns / n + (q < main_state->opt.max_conns % n);
	if (srv.opt.max_conns == 0)
		srv.opt.max_conns = 1;
	refresh_date();
	srv.now = dpw_app_now_ns();
	return &srv.app;
}

static void publish(void)
{
	dpw_lanes_publish((const uint64_t *)&srv.n);
}

/* Lane 0's WskDeregister (in dpw_app_finish_lane) waits for the connections the other lanes
 * still close: its listeners accepted them. */
static unsigned lane_run(unsigned q)
{
	uint64_t end;

	dpw_app_poll(&srv.app);   /* the provider learns this thread is the lcore */
	if (q == 0)
		dpw_lanes_services_up(open_listeners());
	serve(publish);
	if (q == 0)
		close_listener();
	end = dpw_app_now_ns() + 5000 * MS;   /* the closes complete (5 s at most) */
	while (srv.conns != NULL && dpw_app_now_ns() < end)
		dpw_app_poll(&srv.app);
	publish();
	return dpw_app_finish_lane(&srv.app, (unsigned)srv.n.connections);
}

static const struct dpw_lane_ops lane_ops = {
	.init = lane_init,
	.run = lane_run,
	.describe = describe,
	.ncounts = HTTPD_NCOUNTS,
};

int main(int argc, char **argv)
{
	char what[REL_PATH_MAX + 64];
	struct dpw_cli cli = { .synopsis = "[--http-port N] [--body-size N | --root DIR] "
					   "[--idle-timeout S] [--max-connections N] <port options>",
			       .opts = options, .ctx = &srv.opt };
	int rc;

	dpw_app_parse(&srv.app, argc, argv, &cli);
	if (srv.opt.root_fd < 0) {
		make_body();
		if (body == NULL) {
			dpw_app_fail(&srv.app, "out of memory for a %" PRIu64 "-byte body",
				     srv.opt.body_size);
			return 1;
		}
	}
	srv.app.print_stats = print_stats;
	if (dpw_app_several_queues(&srv.app)) {
		rc = dpw_lanes_run(&srv.app, &lane_ops, &srv);
	} else {
		dpw_app_start(&srv.app, NULL, false);
		srv.app.print_stats = print_stats;
		refresh_date();
		srv.now = dpw_app_now_ns();
		if (!open_listeners()) {
			dpw_app_finish(&srv.app);
			free(body);
			return 1;
		}
		describe(what, sizeof(what));
		dpw_app_ready(&srv.app, what);
		serve(NULL);
		close_listener();
		rc = dpw_app_finish(&srv.app);
		print_stats(&srv.app);   /* the last word: after the closes and the engine's line */
		while (srv.conns != NULL)   /* only if the provider left closes uncompleted */
			conn_free(srv.conns);
	}
	if (srv.opt.root_fd >= 0)
		close(srv.opt.root_fd);
	free(body);
	return rc;
}
