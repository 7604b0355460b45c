/* dpwsk-cat: netcat on the WSK API. stdin goes to the socket, the socket to stdout.
 *
 *   dpwsk-cat [--udp] HOST:PORT                  connect (TCP) or send to (UDP)
 *   dpwsk-cat [--udp] --listen [ADDR:]PORT       accept one connection / take the first sender
 *
 * HOST:PORT is A.B.C.D:PORT or [IPV6]:PORT; --listen takes PORT (0.0.0.0), A.B.C.D:PORT or
 * [IPV6]:PORT ([::]:PORT for any IPv6 address). IPv6 needs the engine's --ip6; the socket is
 * of the address's family (AF_INET6 sockets are IPv6-only).
 *
 * TCP: on stdin's EOF a graceful WskDisconnect (our FIN after the queued sends), then the
 * socket is read until the peer's FIN; after the peer's FIN, stdin is still sent until its
 * EOF (a half-closed connection, as OpenBSD nc does). Exit 0 once both directions ended
 * cleanly; on a reset (or any failed call) one line on stderr and exit 1. UDP: every read
 * of stdin is one datagram; datagrams received go to stdout; after stdin's EOF the program
 * keeps receiving for --wait milliseconds (UDP has no FIN to wait for), then exits 0.
 *
 * Threaded mode (the engine polls on a thread of its own): this program blocks, in read()
 * on stdin and write() on stdout. Embedded, a slow stdout reader would stall the lcore and
 * with it every timer and retransmission; here this thread sleeps in poll() on stdin and on
 * the client's completion fd (WskCompletionFd), and completion routines run on it.
 *
 * Memory is bounded both ways: at most CAT_SENDS reads of stdin are out in sends (stdin is
 * not read while none is free: the peer's window paces us), and CAT_RECVS receives are out
 * (a receive is re-posted only after its bytes were written: a slow stdout closes our
 * receive window).
 *
 * stdout carries data only: the stack's ready line and counters go to stderr (fd 1 is
 * pointed at stderr before anything prints; the data goes out through a copy of the
 * original stdout). */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>

#include "app.h"

#define CAT_SENDS 4
#define CAT_RECVS 2
#define CAT_BUF (64 * 1024)
#define CAT_UDP_READ 16384     /* one datagram per read: a few IP fragments at most */

struct slot {
	IRP irp;
	PMDL mdl;
	UCHAR *data;
	WSK_BUF buf;
	SOCKADDR_STORAGE from;   /* UDP receives: the sender */
	bool busy;
};

struct options {
	bool udp;
	const char *listen;      /* --listen [ADDR:]PORT */
	const char *target;      /* HOST:PORT */
	uint64_t wait_ms;
};

static struct {
	struct dpw_app app;
	struct options opt;
	int in_fd, out_fd;
	SOCKADDR_STORAGE local, remote;   /* WSK numbering (AF_INET6 is 23) */
	bool have_remote;        /* UDP listen: known once the first datagram came */
	PWSK_SOCKET sock;
	struct slot tx[CAT_SENDS], rx[CAT_RECVS];
	unsigned sends_out, recvs_out;
	bool stdin_eof, peer_fin, disc_sent, disc_done;
	uint64_t eof_ns;         /* UDP: when stdin ended */
	int result;              /* -1 running, else the exit status */
} cat = { .result = -1 };

/* The first failure decides: one line, exit 1. */
static void fail(const char *fmt, const char *arg)
{
	if (cat.result >= 0)
		return;
	fprintf(stderr, "%s: error: ", cat.app.prog);
	fprintf(stderr, fmt, arg);
	fputc('\n', stderr);
	cat.result = 1;
}

static void fail_status(const char *what, NTSTATUS st)
{
	char line[128];

	if (st == STATUS_CONNECTION_RESET || st == STATUS_CONNECTION_ABORTED) {
		fail("%s", "connection reset by peer");
		return;
	}
	snprintf(line, sizeof(line), "%s: %s", what, DpwNtStatusName(st));
	fail("%s", line);
}

/* Run completion routines on this thread: until a batch comes back short, so that none is
 * left behind a cleared completion fd; then once through dpw_app_wait for SIGUSR1. */
static void run_completions(void)
{
	while (WskPollCompletions(cat.app.npi.Client, 256) == 256)
		;
	dpw_app_wait(&cat.app, 0);
}

/* ---- set-up calls: wait for the IRP (stoppable by a signal) --------------------------------- */

/* Wait for a set-up call. interruptible: a stop signal cancels the IRP (then waits for its
 * completion, which is bounded: a cancel completes at the next lcore pass). */
static NTSTATUS sync_wait(struct dpw_app_sync *s, bool interruptible)
{
	bool cancelled = false;

	while (!s->done) {
		if (interruptible && !cancelled && dpw_app_stopping()) {
			IoCancelIrp(&s->irp);
			cancelled = true;
		}
		dpw_app_wait(&cat.app, 100);
	}
	return s->irp.IoStatus.Status;
}

static void close_socket(PWSK_SOCKET *sock)
{
	struct dpw_app_sync s;

	if (*sock == NULL)
		return;
	DpwConnectionDispatch(*sock)->WskCloseSocket(*sock, dpw_app_sync_irp(&s));
	sync_wait(&s, false);   /* close always completes (C1) */
	*sock = NULL;
}

/* ---- data ----------------------------------------------------------------------------------- */

static bool write_all(int fd, const UCHAR *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return false;
		p += w;
		n -= (size_t)w;
	}
	return true;
}

static IO_COMPLETION_ROUTINE rx_done;

static void post_receive(struct slot *r)
{
	r->busy = true;
	cat.recvs_out++;
	r->buf.Mdl = r->mdl;
	r->buf.Offset = 0;
	r->buf.Length = CAT_BUF;
	dpw_app_irp_prepare(&r->irp, rx_done, r);
	/* Pending or not, the IRP completes (R3): rx_done sees every outcome. */
	if (cat.opt.udp)
		DpwDatagramDispatch(cat.sock)->WskReceiveFrom(cat.sock, &r->buf, 0,
							      (PSOCKADDR)&r->from, NULL, NULL, NULL,
							      &r->irp);
	else
		DpwConnectionDispatch(cat.sock)->WskReceive(cat.sock, &r->buf, 0, &r->irp);
}

static NTSTATUS rx_done(PDEVICE_OBJECT dev, PIRP irp, PVOID ctx)
{
	struct slot *r = ctx;
	NTSTATUS st = irp->IoStatus.Status;
	size_t n = irp->IoStatus.Information;

	(void)dev;
	r->busy = false;
	cat.recvs_out--;
	if (cat.result >= 0 || cat.peer_fin)
		return STATUS_MORE_PROCESSING_REQUIRED;   /* ending: nothing more to deliver */
	if (st != STATUS_SUCCESS) {
		fail_status("receive", st);
		return STATUS_MORE_PROCESSING_REQUIRED;
	}
	if (!cat.opt.udp && n == 0) {
		cat.peer_fin = true;   /* F4: the peer's FIN */
		return STATUS_MORE_PROCESSING_REQUIRED;
	}
	if (cat.opt.udp && !cat.have_remote && r->from.ss_family == cat.local.ss_family) {
		cat.remote = r->from;   /* nc -u -l: reply there */
		cat.have_remote = true;
	}
	if (!write_all(cat.out_fd, r->data, n)) {
		fail("stdout: %s", strerror(errno));
		return STATUS_MORE_PROCESSING_REQUIRED;
	}
	post_receive(r);
	return STATUS_MORE_PROCESSING_REQUIRED;
}

static NTSTATUS tx_done(PDEVICE_OBJECT dev, PIRP irp, PVOID ctx)
{
	struct slot *t = ctx;
	NTSTATUS st = irp->IoStatus.Status;

	(void)dev;
	t->busy = false;
	cat.sends_out--;
	if (st != STATUS_SUCCESS)
		fail_status("send", st);
	return STATUS_MORE_PROCESSING_REQUIRED;
}

static NTSTATUS disc_done(PDEVICE_OBJECT dev, PIRP irp, PVOID ctx)
{
	(void)dev;
	(void)ctx;
	cat.disc_done = true;
	if (irp->IoStatus.Status != STATUS_SUCCESS)
		fail_status("disconnect", irp->IoStatus.Status);
	return STATUS_MORE_PROCESSING_REQUIRED;
}

static struct slot *free_tx(void)
{
	for (int i = 0; i < CAT_SENDS; i++)
		if (!cat.tx[i].busy)
			return &cat.tx[i];
	return NULL;
}

/* Our side is done: graceful disconnect, our FIN after the sends still queued (F5). */
static void start_disconnect(void)
{
	static IRP disc;

	if (cat.opt.udp || cat.disc_sent)
		return;
	cat.disc_sent = true;
	dpw_app_irp_prepare(&disc, disc_done, NULL);
	DpwConnectionDispatch(cat.sock)->WskDisconnect(cat.sock, NULL, 0, &disc);
}

/* stdin is readable (or at EOF) and a send slot is free. */
static void read_stdin(struct slot *t)
{
	ssize_t n;

	do
		n = read(cat.in_fd, t->data, cat.opt.udp ? CAT_UDP_READ : CAT_BUF);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		fail("stdin: %s", strerror(errno));
		return;
	}
	if (n == 0) {
		cat.stdin_eof = true;
		cat.eof_ns = dpw_app_now_ns();
		start_disconnect();
		return;
	}
	t->busy = true;
	cat.sends_out++;
	t->buf.Mdl = t->mdl;
	t->buf.Offset = 0;
	t->buf.Length = (SIZE_T)n;
	dpw_app_irp_prepare(&t->irp, tx_done, t);
	if (cat.opt.udp)
		DpwDatagramDispatch(cat.sock)->WskSendTo(cat.sock, &t->buf, 0,
							 (PSOCKADDR)&cat.remote, 0, NULL, &t->irp);
	else
		DpwConnectionDispatch(cat.sock)->WskSend(cat.sock, &t->buf, 0, &t->irp);
}

static bool finished(void)
{
	if (cat.result >= 0)
		return true;
	if (cat.opt.udp)
		return cat.stdin_eof && cat.sends_out == 0 &&
		       dpw_app_now_ns() - cat.eof_ns >= cat.opt.wait_ms * 1000000u;
	return cat.peer_fin && cat.disc_done && cat.sends_out == 0;
}

static void run(void)
{
	int cfd = WskCompletionFd(cat.app.npi.Client);

	for (int i = 0; i < CAT_RECVS; i++)
		post_receive(&cat.rx[i]);
	while (!finished()) {
		struct pollfd pfd[2] = { { cfd, POLLIN, 0 }, { cat.in_fd, POLLIN, 0 } };
		struct slot *t = free_tx();
		bool want_stdin = !cat.stdin_eof && t != NULL && (!cat.opt.udp || cat.have_remote);

		if (dpw_app_stopping()) {
			fail("%s", "interrupted");
			break;
		}
		/* The timeout only bounds how late a stop or the UDP linger is noticed. */
		if (poll(pfd, want_stdin ? 2 : 1, 100) < 0 && errno != EINTR) {
			fail("poll: %s", strerror(errno));
			break;
		}
		if (want_stdin && (pfd[1].revents & (POLLIN | POLLHUP | POLLERR)))
			read_stdin(t);
		run_completions();
	}
	if (cat.result < 0)
		cat.result = 0;
	/* A clean TCP end leaves nothing for the close to send; otherwise it resets (C3), and
	 * the receives still out complete as cancelled before the close does (C2). */
	close_socket(&cat.sock);
}

/* ---- set-up --------------------------------------------------------------------------------- */

/* A socket of the local address's family (an AF_INET6 one is IPv6-only). */
static PWSK_SOCKET new_socket(ULONG category, USHORT type, ULONG proto)
{
	struct dpw_app_sync s;
	NTSTATUS st;

	cat.app.npi.Dispatch->WskSocket(cat.app.npi.Client, cat.local.ss_family, type, proto,
					category, NULL, NULL, NULL, NULL, NULL, dpw_app_sync_irp(&s));
	st = sync_wait(&s, false);
	if (st != STATUS_SUCCESS) {
		fail_status("socket", st);
		return NULL;
	}
	return (PWSK_SOCKET)s.irp.IoStatus.Information;
}

static bool bind_socket(PWSK_SOCKET sock, bool listen)
{
	struct dpw_app_sync s;
	NTSTATUS st;

	if (listen)
		DpwListenDispatch(sock)->WskBind(sock, (PSOCKADDR)&cat.local, 0,
						 dpw_app_sync_irp(&s));
	else
		DpwDatagramDispatch(sock)->WskBind(sock, (PSOCKADDR)&cat.local, 0,
						   dpw_app_sync_irp(&s));
	st = sync_wait(&s, false);
	if (st != STATUS_SUCCESS)
		fail_status("bind", st);
	return st == STATUS_SUCCESS;
}

static void ready(const char *mode, const SOCKADDR_STORAGE *sa)
{
	char what[96], ep[DPW_ENDPOINT_STRLEN];

	snprintf(what, sizeof(what), "cat %s %s %s", mode, cat.opt.udp ? "udp" : "tcp",
		 dpw_app_format_endpoint((const SOCKADDR *)sa, ep, sizeof(ep)));
	dpw_app_ready(&cat.app, what);
}

/* TCP, --listen: one connection, then the listener goes (as nc -l). */
static bool tcp_accept(void)
{
	PWSK_SOCKET l = new_socket(WSK_FLAG_LISTEN_SOCKET, SOCK_STREAM, IPPROTO_TCP);
	struct dpw_app_sync s;
	NTSTATUS st;

	if (l == NULL)
		return false;
	if (!bind_socket(l, true)) {   /* a listening socket listens once bound */
		close_socket(&l);
		return false;
	}
	ready("listen", &cat.local);
	DpwListenDispatch(l)->WskAccept(l, 0, NULL, NULL, NULL, (PSOCKADDR)&cat.remote,
					dpw_app_sync_irp(&s));
	st = sync_wait(&s, true);
	if (st == STATUS_SUCCESS)
		cat.sock = (PWSK_SOCKET)s.irp.IoStatus.Information;
	else if (st == STATUS_CANCELLED)
		fail("%s", "interrupted");
	else
		fail_status("accept", st);
	close_socket(&l);
	return cat.sock != NULL;
}

static bool tcp_connect(void)
{
	struct dpw_app_sync s;
	NTSTATUS st;

	cat.app.npi.Dispatch->WskSocketConnect(cat.app.npi.Client, SOCK_STREAM, IPPROTO_TCP,
					       (PSOCKADDR)&cat.local, (PSOCKADDR)&cat.remote, 0,
					       NULL, NULL, NULL, NULL, NULL, dpw_app_sync_irp(&s));
	st = sync_wait(&s, true);
	if (st == STATUS_SUCCESS) {
		cat.sock = (PWSK_SOCKET)s.irp.IoStatus.Information;
		ready("connect", &cat.remote);
	} else if (st == STATUS_CONNECTION_REFUSED) {
		fail("%s", "connection refused");
	} else if (st == STATUS_CANCELLED) {
		fail("%s", "interrupted");
	} else {
		fail_status("connect", st);
	}
	return cat.sock != NULL;
}

static bool udp_open(void)
{
	cat.sock = new_socket(WSK_FLAG_DATAGRAM_SOCKET, SOCK_DGRAM, IPPROTO_UDP);
	if (cat.sock == NULL)
		return false;
	if (!bind_socket(cat.sock, false)) {
		close_socket(&cat.sock);
		return false;
	}
	ready(cat.opt.listen != NULL ? "listen" : "connect",
	      cat.opt.listen != NULL ? &cat.local : &cat.remote);
	return true;
}

static bool buffers_alloc(void)
{
	struct slot *all[CAT_SENDS + CAT_RECVS];
	int n = 0;

	for (int i = 0; i < CAT_SENDS; i++)
		all[n++] = &cat.tx[i];
	for (int i = 0; i < CAT_RECVS; i++)
		all[n++] = &cat.rx[i];
	for (int i = 0; i < n; i++) {
		all[i]->data = malloc(CAT_BUF);
		all[i]->mdl = all[i]->data ? DpwAllocateMdlForBuffer(all[i]->data, CAT_BUF) : NULL;
		if (all[i]->mdl == NULL)
			return false;
	}
	return true;
}

static void buffers_free(void)
{
	for (int i = 0; i < CAT_SENDS; i++) {
		IoFreeMdl(cat.tx[i].mdl);
		free(cat.tx[i].data);
	}
	for (int i = 0; i < CAT_RECVS; i++) {
		IoFreeMdl(cat.rx[i].mdl);
		free(cat.rx[i].data);
	}
}

/* ---- the command line ----------------------------------------------------------------------- */

static int set_udp(void *ctx, const char *val, char *err, size_t errlen)
{
	(void)val;
	(void)err;
	(void)errlen;
	((struct options *)ctx)->udp = true;
	return 0;
}

static int set_listen(void *ctx, const char *val, char *err, size_t errlen)
{
	struct sockaddr_storage sa;
	char why[192];

	if (dpw_app_parse_endpoint(val, &sa, why, sizeof(why)) != 0) {
		snprintf(err, errlen, "--listen %s (expected PORT, A.B.C.D:PORT or [IPV6]:PORT)",
			 why);
		return -1;
	}
	((struct options *)ctx)->listen = val;
	return 0;
}

static int set_wait(void *ctx, const char *val, char *err, size_t errlen)
{
	return dpw_app_parse_u64("wait", val, 0, 3600000, &((struct options *)ctx)->wait_ms, err,
				 errlen);
}

static const struct dpw_cli_opt options[] = {
	{ "listen", true, "[ADDR:]PORT", "listen on PORT (0.0.0.0), A.B.C.D:PORT or [IPV6]:PORT "
	  "([::]:PORT: any IPv6 address; needs --ip6): one TCP connection, or the first UDP "
	  "sender", set_listen },
	{ "udp", false, NULL, "UDP instead of TCP", set_udp },
	{ "wait", true, "MS", "UDP: keep receiving MS ms after stdin's end (default 1000)",
	  set_wait },
	{ NULL, false, NULL, NULL, NULL },
};

#define SYNOPSIS "[--udp] [--wait MS] A.B.C.D:PORT|[IPV6]:PORT | [--udp] --listen [ADDR:]PORT"

/* The operand and the mode, once every argument is read. */
static int validate(void *ctx, char *err, size_t errlen)
{
	const struct options *o = ctx;
	struct sockaddr_storage sa;

	if (o->target != NULL && o->listen != NULL) {
		snprintf(err, errlen, "give HOST:PORT or --listen [ADDR:]PORT, not both");
		return -1;
	}
	if (o->target == NULL && o->listen == NULL) {
		snprintf(err, errlen, "give HOST:PORT to connect to, or --listen [ADDR:]PORT");
		return -1;
	}
	return o->target != NULL ? dpw_app_parse_target(o->target, &sa, err, errlen) : 0;
}

int main(int argc, char **argv)
{
	struct dpw_cli cli = { .synopsis = SYNOPSIS, .opts = options, .ctx = &cat.opt,
			       .operand_name = "target", .operand = &cat.opt.target,
			       .validate = validate };

	cat.in_fd = STDIN_FILENO;
	cat.out_fd = STDOUT_FILENO;
	cat.opt.wait_ms = 1000;
	dpw_app_parse(&cat.app, argc, argv, &cli);
	/* stdout is for data: everything the stack prints goes to stderr (--help's usage, printed
	 * by the parse, excepted). */
	cat.out_fd = dup(STDOUT_FILENO);
	if (cat.out_fd < 0 || dup2(STDERR_FILENO, STDOUT_FILENO) < 0) {
		dpw_app_fail(&cat.app, "stdout: %s", strerror(errno));
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);   /* a closed stdout is a write error, not a death */

	dpw_app_start(&cat.app, NULL, true);
	{
		struct sockaddr_storage sa;
		char err[DPW_ERRLEN];

		/* Both checked by validate. Connecting: from any local address of the target's family. */
		if (cat.opt.listen != NULL) {
			dpw_app_parse_endpoint(cat.opt.listen, &sa, err, sizeof(err));
			dpw_app_wsk_addr(&sa, &cat.local);
		} else {
			dpw_app_parse_target(cat.opt.target, &sa, err, sizeof(err));
			dpw_app_wsk_addr(&sa, &cat.remote);
			dpw_app_wsk_any(cat.remote.ss_family, 0, &cat.local);
			cat.have_remote = true;
		}
	}

	if (!buffers_alloc())
		fail("%s", "out of memory");
	else if (cat.opt.udp ? udp_open() : cat.opt.listen != NULL ? tcp_accept() : tcp_connect())
		run();
	buffers_free();
	if (dpw_app_finish(&cat.app) != 0 && cat.result == 0)
		cat.result = 1;
	return cat.result < 0 ? 1 : cat.result;
}
