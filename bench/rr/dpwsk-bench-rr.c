/* dpwsk-bench-rr: request/response latency and bulk throughput over the dpwsk stack, through
 * the public WSK API only (benchmark parts 3 and 4 of issue 5). bench/linux/linux-rr is the
 * same load on kernel sockets; rr.c gives both the same options, counting and output.
 *
 *   dpwsk-bench-rr [--mode rr|bulk] [--duration S] [--connections N] [--size B]
 *                  [--inflight K] [--json] PORT/EAL OPTIONS... A.B.C.D:PORT
 *
 * Embedded mode (the fast path): this thread is the lcore. dpw_app_poll() runs one engine pass
 * and then the completion routines; each routine issues the connection's next call itself, and
 * since it runs on the lcore the call executes inline, with no ring hop. Nothing blocks and
 * the hot path allocates nothing: IRPs, MDLs and buffers live in the connection, made once.
 *
 * rr: per transaction, WskReceive (WAITALL, B bytes, posted first so the echo lands straight in
 *     it) and WskSend (B bytes, WSK_FLAG_NODELAY: Nagle's algorithm never holds a request
 *     back, F3). The latency runs from just before those calls to the receive's completion
 *     routine; the next transaction starts there once the send has completed too. The echo
 *     is compared with the request (a per-transaction sequence number is in its first bytes).
 * bulk: K WskSends of B bytes (one shared read-only buffer) outstanding per connection; each
 *     completion (all B bytes handed to TCP, F3) counts its bytes and re-issues the IRP.
 *
 * The run starts once every connection is up and lasts --duration. Then no new call is made;
 * what is in flight finishes (at most 5 s, then it is cut short by the close), and every
 * connection ends gracefully (WskDisconnect, then WskCloseSocket; a broken one is just
 * closed). A failed call counts an error and retires its connection; the exit status is 0
 * only if there was none.
 *
 * The lcore busy-polls, so it owns a CPU: give it one nothing else is pinned to. The default
 * (--lcores 0) is where every other dpwsk program without --lcores runs too; on a shared
 * 2-core machine --lcores 1 tripled the rr rate (11k -> 33k tx/s) against the default.
 *
 * On the namespace topology (scripts/netns.sh), in $DPW_NS_STACK, against
 * `linux-server --mode echo|discard` in $DPW_NS_PEER:
 *   dpwsk-bench-rr --iface $DPW_IF_STACK --ip $DPW_IP_STACK/$DPW_PREFIX --lcores 1 \
 *                  [--mode bulk] $DPW_IP_PEER:PORT */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "rr.h"

struct conn {
	PWSK_SOCKET sock;
	bool connected;        /* WskSocketConnect completed with a socket */
	bool broken;           /* a call failed: no more work, closed without a disconnect */
	bool disconnecting;    /* WskDisconnect issued */
	bool closing;          /* WskCloseSocket issued */
	bool closed;           /* its completion ran (or there never was a socket) */
	unsigned pending;      /* send/receive IRPs out */
	bool rx_done, tx_done; /* rr: this transaction's two halves */
	uint32_t seq;          /* rr: transactions issued */
	uint64_t t0;           /* rr: when this transaction started */
	IRP connect_irp, disc_irp, close_irp, rx_irp;
	IRP *tx_irp;           /* 1 (rr) or K (bulk) */
	MDL tx_mdl, rx_mdl;
	WSK_BUF tx_buf, rx_buf;
	uint8_t *tx, *rx;      /* rr: B bytes each; bulk: tx is the shared buffer */
};

static struct {
	struct dpw_app app;
	struct rr_config cfg;
	struct rr_stats st;
	struct conn *conns;
	uint8_t *bulk_tx;
	SOCKADDR_STORAGE local, remote;   /* WSK numbering: AF_INET6 is 23 */
	unsigned connect_done;   /* WskSocketConnect completions, with or without a socket */
	unsigned pending;        /* send/receive IRPs out over all connections */
	unsigned working;        /* connections not broken */
	bool stopping;           /* the run is over: no new call */
} R;

static IO_COMPLETION_ROUTINE on_connect, on_rx, on_tx, on_bulk_tx, on_disc, on_close;

static void arm(PIRP irp, PIO_COMPLETION_ROUTINE routine, struct conn *c)
{
	IoReuseIrp(irp, STATUS_UNSUCCESSFUL);
	IoSetCompletionRoutine(irp, routine, c, TRUE, TRUE, TRUE);
}

/* A call failed: count it once per connection and retire the connection (its other IRPs
 * still complete; nothing new is issued on it). With none left working, the run ends. */
static void fail(struct conn *c, const char *name)
{
	if (c->broken)
		return;
	c->broken = true;
	rr_error(&R.st, name);
	if (R.working > 0 && --R.working == 0 && !R.stopping)
		rr_stop_now(&R.st, rr_now_ns());
}

static void io_done(struct conn *c)
{
	c->pending--;
	R.pending--;
}

/* ---- rr -------------------------------------------------------------------------------------- */

static void rr_issue(struct conn *c)
{
	uint32_t seq = ++c->seq;

	/* The sequence number in the first bytes (as many as fit): a stale or misplaced echo
	 * does not compare equal. */
	memcpy(c->tx, &seq, R.cfg.size < sizeof(seq) ? R.cfg.size : sizeof(seq));
	c->rx_done = c->tx_done = false;
	c->pending += 2;
	R.pending += 2;
	arm(&c->rx_irp, on_rx, c);
	arm(&c->tx_irp[0], on_tx, c);
	c->t0 = rr_now_ns();
	/* F4: WAITALL completes with all B bytes (or fewer on the peer's FIN). */
	DpwConnectionDispatch(c->sock)->WskReceive(c->sock, &c->rx_buf, WSK_FLAG_WAITALL,
						   &c->rx_irp);
	DpwConnectionDispatch(c->sock)->WskSend(c->sock, &c->tx_buf, WSK_FLAG_NODELAY,
						&c->tx_irp[0]);
}

/* Both halves done: the next transaction, unless the run is over. */
static void rr_next(struct conn *c)
{
	if (c->rx_done && c->tx_done && !c->broken && !R.stopping)
		rr_issue(c);
}

static NTSTATUS on_rx(PDEVICE_OBJECT dev, PIRP irp, PVOID ctx)
{
	struct conn *c = ctx;
	uint64_t now = rr_now_ns();
	NTSTATUS st = irp->IoStatus.Status;
	ULONG_PTR n = irp->IoStatus.Information;

	(void)dev;
	io_done(c);
	c->rx_done = true;
	if (st != STATUS_SUCCESS)
		fail(c, DpwNtStatusName(st));
	else if (n != R.cfg.size)
		fail(c, n == 0 ? "peer_closed" : "short_receive");
	else if (memcmp(c->rx, c->tx, R.cfg.size) != 0)
		fail(c, "echo_mismatch");
	else if (rr_in_run(&R.st, now)) {
		R.st.transactions++;
		dpw_hist_add(&R.st.lat_ns, now - c->t0);
	}
	rr_next(c);
	return STATUS_MORE_PROCESSING_REQUIRED;
}

static NTSTATUS on_tx(PDEVICE_OBJECT dev, PIRP irp, PVOID ctx)
{
	struct conn *c = ctx;
	NTSTATUS st = irp->IoStatus.Status;

	(void)dev;
	io_done(c);
	c->tx_done = true;
	if (st != STATUS_SUCCESS)
		fail(c, DpwNtStatusName(st));
	else if (irp->IoStatus.Information != R.cfg.size)
		fail(c, "short_send");   /* F3 says a send completes with all its bytes */
	rr_next(c);
	return STATUS_MORE_PROCESSING_REQUIRED;
}

/* ---- bulk ------------------------------------------------------------------------------------ */

static void bulk_issue(struct conn *c, PIRP irp)
{
	c->pending++;
	R.pending++;
	arm(irp, on_bulk_tx, c);
	/* No NODELAY: full segments anyway, and the kernel side leaves Nagle on too. */
	DpwConnectionDispatch(c->sock)->WskSend(c->sock, &c->tx_buf, 0, irp);
}

static NTSTATUS on_bulk_tx(PDEVICE_OBJECT dev, PIRP irp, PVOID ctx)
{
	struct conn *c = ctx;
	NTSTATUS st = irp->IoStatus.Status;

	(void)dev;
	io_done(c);
	if (st != STATUS_SUCCESS)
		fail(c, DpwNtStatusName(st));
	else if (irp->IoStatus.Information != R.cfg.size)
		fail(c, "short_send");
	else if (rr_in_run(&R.st, rr_now_ns()))
		R.st.bytes += R.cfg.size;
	if (!c->broken && !R.stopping)
		bulk_issue(c, irp);
	return STATUS_MORE_PROCESSING_REQUIRED;
}

/* ---- connect and the end --------------------------------------------------------------------- */

static NTSTATUS on_connect(PDEVICE_OBJECT dev, PIRP irp, PVOID ctx)
{
	struct conn *c = ctx;
	NTSTATUS st = irp->IoStatus.Status;

	(void)dev;
	R.connect_done++;
	if (st != STATUS_SUCCESS) {
		/* No socket: a failed WskSocketConnect takes it along. */
		rr_error(&R.st, DpwNtStatusName(st));
		c->broken = c->closed = true;
		return STATUS_MORE_PROCESSING_REQUIRED;
	}
	c->sock = (PWSK_SOCKET)irp->IoStatus.Information;
	c->connected = true;
	return STATUS_MORE_PROCESSING_REQUIRED;
}

static void close_now(struct conn *c)
{
	if (c->closing || c->closed || c->sock == NULL)
		return;
	c->closing = true;
	arm(&c->close_irp, on_close, c);
	/* C2: whatever is still pending on it completes (cancelled) before this does. */
	DpwConnectionDispatch(c->sock)->WskCloseSocket(c->sock, &c->close_irp);
}

static NTSTATUS on_disc(PDEVICE_OBJECT dev, PIRP irp, PVOID ctx)
{
	struct conn *c = ctx;
	NTSTATUS st = irp->IoStatus.Status;

	(void)dev;
	if (c->closing)
		return STATUS_MORE_PROCESSING_REQUIRED;   /* cut short by the close (C2) */
	if (st != STATUS_SUCCESS)
		fail(c, DpwNtStatusName(st));
	close_now(c);
	return STATUS_MORE_PROCESSING_REQUIRED;
}

static NTSTATUS on_close(PDEVICE_OBJECT dev, PIRP irp, PVOID ctx)
{
	struct conn *c = ctx;

	(void)dev;
	if (irp->IoStatus.Status != STATUS_SUCCESS)
		rr_error(&R.st, DpwNtStatusName(irp->IoStatus.Status));
	c->closed = true;
	c->sock = NULL;
	return STATUS_MORE_PROCESSING_REQUIRED;
}

/* A connection that worked ends with our FIN (F5: after its queued sends, completing once
 * the peer acknowledged it), then the close; a broken one is closed at once. */
static void end_conn(struct conn *c)
{
	if (c->sock == NULL || c->closing || c->disconnecting)
		return;
	if (c->broken || c->pending != 0) {
		close_now(c);
		return;
	}
	c->disconnecting = true;
	arm(&c->disc_irp, on_disc, c);
	DpwConnectionDispatch(c->sock)->WskDisconnect(c->sock, NULL, 0, &c->disc_irp);
}

static bool all_closed(void)
{
	for (uint32_t i = 0; i < R.cfg.connections; i++)
		if (!R.conns[i].closed)
			return false;
	return true;
}

/* Poll until done() or timeout_ms passed; false on the timeout. */
static bool poll_until(bool (*done)(void), unsigned timeout_ms)
{
	uint64_t end = rr_now_ns() + (uint64_t)timeout_ms * 1000000u;

	while (!done()) {
		if (rr_now_ns() >= end)
			return false;
		dpw_app_poll(&R.app);
	}
	return true;
}

static bool connects_done(void)
{
	return R.connect_done == R.cfg.connections || dpw_app_stopping();
}

static bool nothing_pending(void)
{
	return R.pending == 0;
}

/* ---- set-up ---------------------------------------------------------------------------------- */

static int setup_conns(void)
{
	const struct rr_config *cf = &R.cfg;
	uint32_t ntx = cf->mode == RR_MODE_RR ? 1 : cf->inflight;

	R.conns = calloc(cf->connections, sizeof(*R.conns));
	if (R.conns == NULL)
		return -1;
	if (cf->mode == RR_MODE_BULK) {
		R.bulk_tx = malloc(cf->size);
		if (R.bulk_tx == NULL)
			return -1;
		for (uint32_t i = 0; i < cf->size; i++)
			R.bulk_tx[i] = (uint8_t)(i * 131u + 7u);
	}
	for (uint32_t i = 0; i < cf->connections; i++) {
		struct conn *c = &R.conns[i];

		c->tx_irp = calloc(ntx, sizeof(IRP));
		if (c->tx_irp == NULL)
			return -1;
		for (uint32_t k = 0; k < ntx; k++)
			IoInitializeIrp(&c->tx_irp[k], IoSizeOfIrp(1), 1);
		IoInitializeIrp(&c->connect_irp, IoSizeOfIrp(1), 1);
		IoInitializeIrp(&c->disc_irp, IoSizeOfIrp(1), 1);
		IoInitializeIrp(&c->close_irp, IoSizeOfIrp(1), 1);
		IoInitializeIrp(&c->rx_irp, IoSizeOfIrp(1), 1);
		if (cf->mode == RR_MODE_RR) {
			c->tx = malloc(cf->size);
			c->rx = malloc(cf->size);
			if (c->tx == NULL || c->rx == NULL)
				return -1;
			for (uint32_t b = 0; b < cf->size; b++)
				c->tx[b] = (uint8_t)(b * 131u + i);
			MmInitializeMdl(&c->rx_mdl, c->rx, cf->size);
			MmBuildMdlForNonPagedPool(&c->rx_mdl);
			c->rx_buf = (WSK_BUF){ &c->rx_mdl, 0, cf->size };
		}
		MmInitializeMdl(&c->tx_mdl, c->tx != NULL ? c->tx : R.bulk_tx, cf->size);
		MmBuildMdlForNonPagedPool(&c->tx_mdl);
		c->tx_buf = (WSK_BUF){ &c->tx_mdl, 0, cf->size };
	}
	return 0;
}

static void free_conns(void)
{
	if (R.conns != NULL)
		for (uint32_t i = 0; i < R.cfg.connections; i++) {
			free(R.conns[i].tx_irp);
			free(R.conns[i].tx);
			free(R.conns[i].rx);
		}
	free(R.conns);
	free(R.bulk_tx);
}

/* ---- main ------------------------------------------------------------------------------------ */

/* The measured run: the first calls, then the loop until the deadline or a stop. */
static void run(void)
{
	rr_stats_begin(&R.st, &R.cfg);
	R.working = 0;
	for (uint32_t i = 0; i < R.cfg.connections; i++) {
		struct conn *c = &R.conns[i];

		if (!c->connected)
			continue;
		R.working++;
		if (R.cfg.mode == RR_MODE_RR)
			rr_issue(c);
		else
			for (uint32_t k = 0; k < R.cfg.inflight; k++)
				bulk_issue(c, &c->tx_irp[k]);
	}
	if (R.working == 0)
		rr_stop_now(&R.st, R.st.t_start);
	for (;;) {
		uint64_t now;

		dpw_app_poll(&R.app);
		now = rr_now_ns();
		if (dpw_app_stopping())
			rr_stop_now(&R.st, now);
		if (!rr_in_run(&R.st, now))
			break;
	}
	R.stopping = true;
	rr_stats_end(&R.st);   /* the CPU time of the run, not of the ending */
}

int main(int argc, char **argv)
{
	struct dpw_cli cli = rr_cli(&R.cfg);
	char what[160];
	int rc;

	/* Every bad command line is one line and exit 2 before EAL starts. */
	rr_config_defaults(&R.cfg);
	dpw_app_parse(&R.app, argc, argv, &cli);
	dpw_app_start(&R.app, NULL, false);
	rr_stats_init(&R.st);
	if (setup_conns() != 0) {
		dpw_app_fail(&R.app, "out of memory for %u connections", R.cfg.connections);
		free_conns();
		dpw_app_finish(&R.app);
		return 1;
	}
	dpw_app_wsk_addr(&R.cfg.remote, &R.remote);
	dpw_app_wsk_any(R.remote.ss_family, 0, &R.local);   /* any address of its family */

	snprintf(what, sizeof(what), "bench-rr target=%s mode=%s connections=%u size=%u",
		 R.cfg.target, rr_mode_name(R.cfg.mode), R.cfg.connections, R.cfg.size);
	dpw_app_ready(&R.app, what);
	/* One pass first: the provider learns that this thread is the lcore, so every call from
	 * here on runs inline. */
	dpw_app_poll(&R.app);

	/* Connect everything before the clock starts: the run measures steady state. */
	for (uint32_t i = 0; i < R.cfg.connections; i++) {
		struct conn *c = &R.conns[i];

		arm(&c->connect_irp, on_connect, c);
		R.app.npi.Dispatch->WskSocketConnect(R.app.npi.Client, SOCK_STREAM, IPPROTO_TCP,
						     (PSOCKADDR)&R.local, (PSOCKADDR)&R.remote, 0,
						     c, NULL, NULL, NULL, NULL, &c->connect_irp);
	}
	if (!poll_until(connects_done, 10000)) {
		dpw_app_fail(&R.app, "%u of %u connections not up after 10 s",
			     R.cfg.connections - R.connect_done, R.cfg.connections);
		rr_error(&R.st, "connect_timeout");
		for (uint32_t i = 0; i < R.cfg.connections; i++)
			if (!R.conns[i].connected)
				IoCancelIrp(&R.conns[i].connect_irp);
		poll_until(connects_done, 5000);
	}
	if (R.st.errors != 0)
		dpw_app_fail(&R.app, "%" PRIu64 " of %u connections to %s failed (first: %s)",
			     R.st.errors, R.cfg.connections, R.cfg.target, R.st.first_error);
	else if (!dpw_app_stopping())
		run();
	R.stopping = true;

	/* What is in flight finishes (uncounted); a peer that stopped answering is cut short
	 * by the close below. */
	if (!poll_until(nothing_pending, 5000))
		rr_error(&R.st, "unfinished_at_end");
	for (uint32_t i = 0; i < R.cfg.connections; i++) {
		if (!R.conns[i].connected)
			R.conns[i].closed = true;
		end_conn(&R.conns[i]);
	}
	if (!poll_until(all_closed, 5000)) {
		for (uint32_t i = 0; i < R.cfg.connections; i++)
			close_now(&R.conns[i]);
		if (!poll_until(all_closed, 5000))
			rr_error(&R.st, "close_timeout");
	}
	rc = dpw_app_finish(&R.app);
	rr_summary(&R.cfg, &R.st, R.app.prog);
	free_conns();
	if (rc != 0)
		return 1;
	return R.st.errors == 0 ? 0 : 1;
}
