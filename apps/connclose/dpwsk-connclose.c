/* dpwsk-connclose: a connect/close load generator on the WSK API, the client half of the
 * connection-rate benchmark (bench/linux/linux-connclose is the same load on kernel sockets).
 *
 *   dpwsk-connclose [--concurrency N] [--cycles C] [--duration S] [--mode rst|graceful|
 *                   exchange] [--bytes K] [--rate N] [--fixed-window] [--json]
 *                   [--hold-port P --hold H]
 *                   PORT/EAL OPTIONS... A.B.C.D:PORT
 *   ... [IPV6]:PORT   (over IPv6: the engine needs --ip6, the connections are AF_INET6)
 *
 * Up to N cycles in flight, back to back: WskSocketConnect (one request: socket, bind,
 * connect) -> [mode's work] -> WskCloseSocket -> the next cycle. A connect that takes far
 * longer than connects have been taking (a SYN the server dropped) leaves the window, which
 * halves, and a spare slot goes on (window.h; --fixed-window: N slots, each waiting for its
 * own). With --rate R the
 * load is open-loop instead: cycles start on a fixed schedule, R a second, each in a free
 * slot (cc.h, struct cc_schedule). Embedded mode: the
 * program's thread is the lcore, every step is issued from the previous step's completion
 * routine and runs inline, with no ring hop: the fast path the API offers. Everything a cycle
 * needs (IRPs, MDLs, buffers) lives in its slot, allocated once; the hot path allocates
 * nothing.
 *
 * Measured per cycle: connect latency (WskSocketConnect call -> its completion routine) and
 * close latency (WskCloseSocket call -> its completion routine), in fixed-memory histograms.
 * A failed cycle is counted under its first failing status and the slot goes on; the exit
 * status is 0 only if no cycle failed. At the end (--cycles reached, --duration passed, or
 * SIGINT/SIGTERM) no cycle starts and those in flight finish normally; any still in flight
 * 5 s later (a peer that stopped answering) fail as "unfinished_at_end": pending connects
 * are cancelled, connected sockets closed. Then the summary.
 *
 * --hold-port P --hold H (bench/scale.sh): the engine also listens on P and keeps every
 * connection made to it open and idle, and the load starts only once H are held, so that the
 * connect/close rate is measured from an engine that holds H other connections. They are
 * closed (RST) after the summary. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "app.h"
#include "cc.h"
#include "dpw/engine_group.h"

enum slot_state {
	SLOT_IDLE,         /* no cycle: not started yet, or the run is over */
	SLOT_CONNECTING,   /* WskSocketConnect pending */
	SLOT_ACTIVE,       /* connected, the mode's send/receive/disconnect pending */
	SLOT_CLOSING,      /* WskCloseSocket pending */
};

struct slot {
	enum slot_state state;
	PWSK_SOCKET sock;
	unsigned io_pending;      /* of io[]: send or disconnect, and receive */
	bool failed;
	bool late;                /* its connect was taken as lost (window.h) */
	uint64_t serial;          /* the cycle's number, for the window's rounds */
	char fail_name[48];       /* the cycle's first failure */
	uint64_t t_connect, t_close;
	IRP connect_irp, close_irp;
	IRP io[2];                /* [0] send (exchange) or disconnect (graceful), [1] receive */
	MDL send_mdl, recv_mdl;
	WSK_BUF send_buf, recv_buf;
	uint8_t *rx;              /* K bytes */
};

/* The run's state. Thread-local: with --queues N each engine's thread runs a lane, a copy
 * that drives its own engine with its share of the slots; the main thread's copy holds the
 * command line and, at the end, the lanes' counts added up. */
static __thread struct run {
	unsigned lane;            /* 1 + the lane's queue (0: not a lane) */
	struct dpw_app app;
	struct cc_config cfg;
	struct cc_stats st;
	struct slot *slots;
	uint32_t nslots;          /* --concurrency, and spares for late connects (window.h) */
	uint32_t slots_used;      /* closed loop: one past the highest slot ever started */
	uint8_t *tx;              /* what exchange mode sends (read-only, shared by the slots) */
	SOCKADDR_STORAGE local, remote;   /* WSK numbering: AF_INET6 is 23 */
	unsigned active;          /* slots not idle */
	bool stopping;            /* no new cycles */
	bool aborting;            /* cycles still in flight 5 s after the end are cut short */
	struct cc_schedule sched; /* open loop (--rate): the arrivals */
	uint32_t *idle, nidle;    /* slots waiting for an arrival (open loop) or the window */
	struct {                  /* --hold-port, --hold: idle connections kept open */
		uint64_t port, want;
		PWSK_SOCKET listener;
		PWSK_SOCKET *socks;
		size_t n, cap;
		uint64_t refused;
	} hold;
} R;

/* What each lane publishes for the main thread: progress as it goes (written by the lane
 * only, each on a cache line of its own), its counts once done. */
#define MAX_LANES 16
static struct lane_out {
	_Alignas(64) _Atomic uint64_t cycles, errors, open;
	atomic_bool done;
	bool failed;
	struct cc_stats st;
} lanes[MAX_LANES];

static IO_COMPLETION_ROUTINE on_connect, on_io, on_close;

static void arm(PIRP irp, PIO_COMPLETION_ROUTINE routine, struct slot *s)
{
	IoReuseIrp(irp, STATUS_UNSUCCESSFUL);
	IoSetCompletionRoutine(irp, routine, s, TRUE, TRUE, TRUE);
}

/* The cycle's first failure names it; later ones (often consequences) are not counted. */
static void fail_with(struct slot *s, const char *name)
{
	if (!s->failed) {
		s->failed = true;
		snprintf(s->fail_name, sizeof(s->fail_name), "%s", name);
	}
}

static void fail_status(struct slot *s, NTSTATUS st)
{
	fail_with(s, DpwNtStatusName(st));
}

static bool may_start(void)
{
	return !R.stopping && (R.cfg.cycles == 0 || R.st.started < R.cfg.cycles);
}

/* The slot has no cycle: it waits for the next arrival (open loop) or for room in the
 * window (closed loop), or the run is over. */
static void slot_idle(struct slot *s)
{
	s->state = SLOT_IDLE;
	R.active--;
	R.idle[R.nidle++] = (uint32_t)(s - R.slots);
}

/* A cycle whose connect latency counts from t_start (now, or its scheduled arrival). */
static void start_cycle(struct slot *s, uint64_t t_start)
{
	if (!may_start()) {
		slot_idle(s);
		return;
	}
	s->serial = R.st.started++;
	s->late = false;
	cc_window_started(&R.st.window);
	s->state = SLOT_CONNECTING;
	s->sock = NULL;
	s->failed = false;
	s->io_pending = 0;
	arm(&s->connect_irp, on_connect, s);
	s->t_connect = t_start;
	/* R3: whatever it returns, the IRP completes (a refusal completes it too), so the
	 * cycle always goes on from on_connect. */
	R.app.npi.Dispatch->WskSocketConnect(R.app.npi.Client, SOCK_STREAM, IPPROTO_TCP,
					     (PSOCKADDR)&R.local, (PSOCKADDR)&R.remote, 0, s,
					     NULL, NULL, NULL, NULL, &s->connect_irp);
}

/* Closed loop: idle slots start cycles while the window has room. The last slot to go idle
 * goes first, so with nothing late each slot runs its cycles back to back. */
static void start_ready(uint64_t now)
{
	while (R.cfg.rate == 0 && R.nidle > 0 && may_start() && cc_window_open(&R.st.window)) {
		uint32_t i = R.idle[--R.nidle];

		if (i >= R.slots_used)
			R.slots_used = i + 1;
		R.active++;
		start_cycle(&R.slots[i], now);
	}
}

static void finish_cycle(struct slot *s)
{
	R.st.cycles++;
	if (s->failed)
		cc_error(&R.st, s->fail_name);
	R.st.t_end = cc_now_ns();
	cc_window_finished(&R.st.window, s->late);
	slot_idle(s);
	start_ready(R.st.t_end);
}

/* Closed loop: connects older than the window's estimate are taken as lost (window.h); the
 * slots they free in the window start the next cycles. */
static void take_late_connects(uint64_t now)
{
	/* Slots go out lowest first: the spares beyond the most ever used have nothing to
	 * watch (this runs on the lcore, every millisecond). */
	for (uint32_t i = 0; i < R.slots_used; i++) {
		struct slot *s = &R.slots[i];

		if (s->state == SLOT_CONNECTING)
			cc_window_watch(&R.st.window, &s->late, s->serial, s->t_connect, now,
					R.st.started);
	}
	start_ready(now);
}

/* Open loop: free slots take the arrivals due by now. */
static void start_due(uint64_t now)
{
	uint64_t at;

	while (R.nidle > 0 && may_start() && cc_schedule_due(&R.sched, now, &at)) {
		cc_schedule_take(&R.sched, &R.st, at, now);
		R.active++;
		start_cycle(&R.slots[R.idle[--R.nidle]], at);
	}
}

static void close_now(struct slot *s)
{
	s->state = SLOT_CLOSING;
	arm(&s->close_irp, on_close, s);
	s->t_close = cc_now_ns();
	DpwConnectionDispatch(s->sock)->WskCloseSocket(s->sock, &s->close_irp);
}

static NTSTATUS on_connect(PDEVICE_OBJECT dev, PIRP irp, PVOID ctx)
{
	struct slot *s = ctx;
	NTSTATUS st = irp->IoStatus.Status;

	(void)dev;
	if (st != STATUS_SUCCESS) {
		fail_status(s, st);
		finish_cycle(s);   /* no socket: a failed WskSocketConnect takes it along */
		return STATUS_MORE_PROCESSING_REQUIRED;
	}
	{
		uint64_t took = cc_now_ns() - s->t_connect;

		dpw_hist_add(&R.st.connect_ns, took);
		cc_window_connected(&R.st.window, took, s->late);
	}
	s->sock = (PWSK_SOCKET)irp->IoStatus.Information;
	R.st.open++;
	if (R.aborting) {   /* connected just as the run was cut short */
		close_now(s);
		return STATUS_MORE_PROCESSING_REQUIRED;
	}
	switch (R.cfg.mode) {
	case CC_MODE_RST:
		close_now(s);   /* C3: open in both directions, so the close is a RST */
		break;
	case CC_MODE_EXCHANGE:
		s->state = SLOT_ACTIVE;
		s->io_pending = 2;
		arm(&s->io[0], on_io, s);
		arm(&s->io[1], on_io, s);
		DpwConnectionDispatch(s->sock)->WskSend(s->sock, &s->send_buf, 0, &s->io[0]);
		/* F4: WAITALL completes with all K bytes, or early on a disconnect. */
		DpwConnectionDispatch(s->sock)->WskReceive(s->sock, &s->recv_buf, WSK_FLAG_WAITALL,
							   &s->io[1]);
		break;
	case CC_MODE_GRACEFUL:
		s->state = SLOT_ACTIVE;
		s->io_pending = 2;
		arm(&s->io[0], on_io, s);
		arm(&s->io[1], on_io, s);
		/* F5: our FIN; it completes once acknowledged. F4: the peer's FIN completes the
		 * receive with 0 bytes. With both, the close sends nothing (C3). */
		DpwConnectionDispatch(s->sock)->WskDisconnect(s->sock, NULL, 0, &s->io[0]);
		DpwConnectionDispatch(s->sock)->WskReceive(s->sock, &s->recv_buf, 0, &s->io[1]);
		break;
	}
	return STATUS_MORE_PROCESSING_REQUIRED;
}

static NTSTATUS on_io(PDEVICE_OBJECT dev, PIRP irp, PVOID ctx)
{
	struct slot *s = ctx;
	NTSTATUS st = irp->IoStatus.Status;
	ULONG_PTR n = irp->IoStatus.Information;
	bool receive = irp == &s->io[1];

	(void)dev;
	if (s->io_pending == 0 || (s->state != SLOT_ACTIVE && s->state != SLOT_CLOSING)) {
		/* R2/C2 say this cannot happen: every pending IRP completes once, before the
		 * close. Count it rather than corrupt a slot that moved on. */
		cc_error(&R.st, "stray_completion");
		return STATUS_MORE_PROCESSING_REQUIRED;
	}
	s->io_pending--;
	if (st != STATUS_SUCCESS)
		fail_status(s, st);
	else if (R.cfg.mode == CC_MODE_EXCHANGE && n != R.cfg.bytes)
		fail_with(s, receive ? "short_receive" : "short_send");
	else if (R.cfg.mode == CC_MODE_EXCHANGE && receive && memcmp(s->rx, R.tx, n) != 0)
		fail_with(s, "echo_mismatch");
	else if (R.cfg.mode == CC_MODE_GRACEFUL && receive && n != 0)
		fail_with(s, "unexpected_data");
	/* Done, or something failed: close now (which cancels whatever is still pending, C2). */
	if (s->state == SLOT_ACTIVE && (s->io_pending == 0 || s->failed))
		close_now(s);
	return STATUS_MORE_PROCESSING_REQUIRED;
}

static NTSTATUS on_close(PDEVICE_OBJECT dev, PIRP irp, PVOID ctx)
{
	struct slot *s = ctx;
	NTSTATUS st = irp->IoStatus.Status;

	(void)dev;
	dpw_hist_add(&R.st.close_ns, cc_now_ns() - s->t_close);
	R.st.open--;
	if (st != STATUS_SUCCESS)
		fail_status(s, st);
	if (s->io_pending != 0)
		fail_with(s, "pending_after_close");   /* C2 */
	s->sock = NULL;
	finish_cycle(s);
	return STATUS_MORE_PROCESSING_REQUIRED;
}

/* The run is over but some cycles are stuck (a peer that does not answer): they fail as
 * "unfinished_at_end". Connected ones are closed (which cancels their pending calls, C2);
 * pending connects are cancelled (their IRP completes with STATUS_CANCELLED, and the socket
 * the client never got goes with it). Each then ends through its completion routine, which
 * starts nothing new. */
static void abort_in_flight(void)
{
	R.aborting = true;
	for (uint32_t i = 0; i < R.nslots; i++) {
		struct slot *s = &R.slots[i];

		if (s->state == SLOT_IDLE)
			continue;
		fail_with(s, "unfinished_at_end");
		if (s->state == SLOT_ACTIVE)
			close_now(s);
		else if (s->state == SLOT_CONNECTING)
			IoCancelIrp(&s->connect_irp);
	}
}

/* ---- held connections (--hold-port, --hold) --------------------------------------------- */

static NTSTATUS on_hold_accept(PVOID ctx, ULONG flags, PSOCKADDR local, PSOCKADDR remote,
			       PWSK_SOCKET sock, PVOID *sock_ctx,
			       const WSK_CLIENT_CONNECTION_DISPATCH **sock_dispatch)
{
	(void)ctx;
	(void)flags;
	(void)local;
	(void)remote;
	if (sock == NULL)
		return STATUS_SUCCESS;   /* the listener is going away */
	if (R.hold.n == R.hold.cap) {
		size_t cap = R.hold.cap ? R.hold.cap * 2 : 4096;
		PWSK_SOCKET *grown = realloc(R.hold.socks, cap * sizeof(*grown));

		if (grown == NULL) {
			R.hold.refused++;
			return STATUS_REQUEST_NOT_ACCEPTED;   /* the provider resets it */
		}
		R.hold.socks = grown;
		R.hold.cap = cap;
	}
	R.hold.socks[R.hold.n++] = sock;
	*sock_ctx = NULL;
	*sock_dispatch = NULL;   /* idle: no events wanted */
	return STATUS_SUCCESS;
}

static const WSK_CLIENT_LISTEN_DISPATCH hold_events = { .WskAcceptEvent = on_hold_accept };

static bool hold_listen(void)
{
	const WSK_PROVIDER_DISPATCH *d = R.app.npi.Dispatch;
	WSK_EVENT_CALLBACK_CONTROL events = { (PNPIID)&NPI_WSK_INTERFACE_ID, WSK_EVENT_ACCEPT };
	struct dpw_app_sync sy;
	SOCKADDR_STORAGE sa;
	NTSTATUS st;

	st = d->WskControlClient(R.app.npi.Client, WSK_SET_STATIC_EVENT_CALLBACKS, sizeof(events),
				 &events, 0, NULL, NULL, NULL);
	if (st == STATUS_SUCCESS) {
		d->WskSocket(R.app.npi.Client, R.remote.ss_family, SOCK_STREAM, IPPROTO_TCP,
			     WSK_FLAG_LISTEN_SOCKET, NULL, &hold_events, NULL, NULL, NULL,
			     dpw_app_sync_irp(&sy));
		st = dpw_app_sync_poll(&R.app, &sy, NULL);
	}
	if (st != STATUS_SUCCESS) {
		dpw_app_fail(&R.app, "listening socket for --hold-port: %s", DpwNtStatusName(st));
		return false;
	}
	R.hold.listener = (PWSK_SOCKET)sy.irp.IoStatus.Information;
	dpw_app_wsk_any(R.remote.ss_family, (uint16_t)R.hold.port, &sa);
	DpwListenDispatch(R.hold.listener)->WskBind(R.hold.listener, (PSOCKADDR)&sa, 0,
						     dpw_app_sync_irp(&sy));
	st = dpw_app_sync_poll(&R.app, &sy, NULL);
	if (st != STATUS_SUCCESS) {
		dpw_app_fail(&R.app, "--hold-port %" PRIu64 ": %s", R.hold.port,
			     DpwNtStatusName(st));
		return false;
	}
	return true;
}

/* Poll until --hold connections are held, a line every second; false on a stop signal or
 * when none came for 60 s (the holders gave up). */
static bool hold_wait(void)
{
	uint64_t last = cc_now_ns(), quiet_since = last;
	size_t last_n = 0;

	while (R.hold.n < R.hold.want && !dpw_app_stopping()) {
		uint64_t now;

		dpw_app_poll(&R.app);
		now = cc_now_ns();
		if (R.hold.n != last_n) {
			last_n = R.hold.n;
			quiet_since = now;
		} else if (now - quiet_since > 60000000000ull) {
			dpw_app_fail(&R.app, "held %zu of %" PRIu64 ", none more for 60 s", R.hold.n,
				     R.hold.want);
			return false;
		}
		if (now - last >= 1000000000ull) {
			printf("connclose: holding %zu of %" PRIu64 "\n", R.hold.n, R.hold.want);
			fflush(stdout);
			last = now;
		}
	}
	printf("connclose: held %zu\n", R.hold.n);
	fflush(stdout);
	return R.hold.n >= R.hold.want;
}

/* Close the listener, then every held connection (open both ways: a RST each, C3). */
static void hold_close(void)
{
	struct dpw_app_sync sy;

	if (R.hold.listener != NULL) {
		DpwListenDispatch(R.hold.listener)->WskCloseSocket(R.hold.listener,
								   dpw_app_sync_irp(&sy));
		dpw_app_sync_poll(&R.app, &sy, NULL);
		R.hold.listener = NULL;
	}
	for (size_t i = 0; i < R.hold.n; i++) {
		DpwConnectionDispatch(R.hold.socks[i])->WskCloseSocket(R.hold.socks[i],
								       dpw_app_sync_irp(&sy));
		dpw_app_sync_poll(&R.app, &sy, NULL);
	}
	R.hold.n = 0;
	free(R.hold.socks);
	R.hold.socks = NULL;
}

static int set_hold_port(void *ctx, const char *val, char *err, size_t errlen)
{
	(void)ctx;
	return dpw_app_parse_u64("hold-port", val, 1, 65535, &R.hold.port, err, errlen);
}

static int set_hold(void *ctx, const char *val, char *err, size_t errlen)
{
	(void)ctx;
	return dpw_app_parse_u64("hold", val, 1, 100000000, &R.hold.want, err, errlen);
}

static int setup_slots(void)
{
	uint32_t k = R.cfg.bytes;

	R.nslots = cc_window_slots(R.cfg.concurrency, R.st.window.fixed);
	R.slots = calloc(R.nslots, sizeof(*R.slots));
	R.idle = calloc(R.nslots, sizeof(*R.idle));
	R.tx = malloc(k);
	if (R.slots == NULL || R.idle == NULL || R.tx == NULL)
		return -1;
	for (uint32_t i = 0; i < k; i++)
		R.tx[i] = (uint8_t)(i * 131u + 7u);
	for (uint32_t i = 0; i < R.nslots; i++) {
		struct slot *s = &R.slots[i];

		/* Graceful mode receives only the FIN: one byte of room is enough to see any
		 * unexpected data. */
		s->rx = malloc(k);
		if (s->rx == NULL)
			return -1;
		IoInitializeIrp(&s->connect_irp, IoSizeOfIrp(1), 1);
		IoInitializeIrp(&s->close_irp, IoSizeOfIrp(1), 1);
		IoInitializeIrp(&s->io[0], IoSizeOfIrp(1), 1);
		IoInitializeIrp(&s->io[1], IoSizeOfIrp(1), 1);
		MmInitializeMdl(&s->send_mdl, R.tx, k);
		MmBuildMdlForNonPagedPool(&s->send_mdl);
		MmInitializeMdl(&s->recv_mdl, s->rx, k);
		MmBuildMdlForNonPagedPool(&s->recv_mdl);
		s->send_buf = (WSK_BUF){ &s->send_mdl, 0, k };
		s->recv_buf = (WSK_BUF){ &s->recv_mdl, 0, k };
	}
	return 0;
}

static void free_slots(void)
{
	if (R.slots != NULL)
		for (uint32_t i = 0; i < R.nslots; i++)
			free(R.slots[i].rx);
	free(R.slots);
	free(R.idle);
	free(R.tx);
}

/* The options both load generators take (cc_opts), and this one's own. */
static struct dpw_cli_opt options[24];
static int (*cc_validate)(void *ctx, char *err, size_t errlen);

static int validate(void *ctx, char *err, size_t errlen)
{
	if (cc_validate(ctx, err, errlen) != 0)
		return -1;
	if ((R.hold.want != 0) != (R.hold.port != 0)) {
		snprintf(err, errlen, "--hold and --hold-port go together");
		return -1;
	}
	if (dpw_app_several_queues(&R.app)) {
		unsigned n = R.app.eng.engine.queues;

		/* Listening over several engines is not built yet (docs/many-lcores.md). */
		if (R.hold.want != 0) {
			snprintf(err, errlen, "--hold-port listens, which --queues does not do yet");
			return -1;
		}
		if (n > MAX_LANES || R.cfg.concurrency < n) {
			snprintf(err, errlen, "--queues %u needs --concurrency %u or more (a slot per "
				 "engine at least), and at most %u queues", n, n, MAX_LANES);
			return -1;
		}
		if (R.cfg.rate != 0 && R.cfg.rate < n) {
			snprintf(err, errlen, "--rate must be at least --queues (%u)", n);
			return -1;
		}
	}
	return 0;
}

static struct dpw_cli command_line(void)
{
	static const struct dpw_cli_opt own[] = {
		{ "hold-port", true, "P", "also listen on port P and keep every connection made "
		  "to it open, idle (with --hold)", set_hold_port },
		{ "hold", true, "H", "start the load once H connections are held on --hold-port",
		  set_hold },
	};
	struct dpw_cli cli = cc_cli(&R.cfg);
	size_t n = 0;

	for (const struct dpw_cli_opt *o = cc_opts; o->name != NULL; o++)
		options[n++] = *o;
	for (size_t i = 0; i < sizeof(own) / sizeof(own[0]); i++)
		options[n++] = own[i];
	options[n] = (struct dpw_cli_opt){ NULL, false, NULL, NULL, NULL };
	cc_validate = cli.validate;
	cli.opts = options;
	cli.validate = validate;
	cli.synopsis = "[--concurrency N] [--cycles C] [--duration SECS] "
		       "[--mode rst|graceful|exchange] [--bytes K] [--rate N] [--fixed-window] "
		       "[--json] [--hold-port P --hold H] A.B.C.D:PORT|[IPV6]:PORT";
	return cli;
}

/* The load: slots start cycles until the run ends, then those in flight finish. The cycles
 * and their stats are R's (this thread's). */
static void run_load(void)
{
	uint64_t deadline = 0, stop_at = 0, next_scan = 0, now;

	cc_stats_begin(&R.st);
	if (R.cfg.duration_s > 0)
		deadline = R.st.t_start + (uint64_t)(R.cfg.duration_s * 1e9);
	for (uint32_t i = R.nslots; i > 0; i--)
		R.idle[R.nidle++] = i - 1;
	if (R.cfg.rate != 0)
		cc_schedule_start(&R.sched, R.cfg.rate, R.st.t_start);
	else
		start_ready(R.st.t_start);
	/* Closed loop: until the last cycle ends. Open loop: arrivals keep coming until the end
	 * (or the last of --cycles), with none in flight in between. */
	while (R.active > 0 || (R.cfg.rate != 0 && may_start())) {
		dpw_app_poll(&R.app);
		now = cc_now_ns();
		if (R.cfg.rate != 0)
			start_due(now);
		else if (!R.st.window.fixed && now >= next_scan) {
			take_late_connects(now);
			next_scan = now + 1000000;   /* every millisecond: late is >= 2 ms */
		}
		if (R.lane == 0) {
			cc_progress(&R.st, now);
		} else {
			struct lane_out *o = &lanes[R.lane - 1];

			atomic_store_explicit(&o->cycles, R.st.cycles, memory_order_relaxed);
			atomic_store_explicit(&o->errors, R.st.errors, memory_order_relaxed);
			atomic_store_explicit(&o->open, R.st.open, memory_order_relaxed);
		}
		if (!R.stopping && (dpw_app_stopping() || (deadline != 0 && now >= deadline))) {
			R.stopping = true;   /* cycles in flight finish normally */
			stop_at = now;
		}
		if (R.stopping && !R.aborting && now - stop_at > 5000000000ull)
			abort_in_flight();
		if (R.stopping && now - stop_at > 30000000000ull) {
			dpw_app_fail(&R.app, "%u connections still in flight 30 s after the end; "
				     "giving up on them", R.active);
			break;
		}
	}
	cc_stats_end(&R.st);
}

/* ---- --queues N: a lane per engine -------------------------------------------------------- */

/* Lane q's share of n (slots, cycles, the rate): n/N, the first n%N lanes one more. */
static uint64_t share(uint64_t n, unsigned q, unsigned lanes_n)
{
	return n / lanes_n + (q < n % lanes_n ? 1 : 0);
}

/* On engine q's thread before it polls: this thread's R becomes a lane. */
static int lane_start(struct dpw_engine *e, uint16_t q, void *arg, char *err, size_t errlen)
{
	const struct run *main_run = arg;
	unsigned n = main_run->app.eng.engine.queues;

	R = *main_run;
	R.lane = q + 1u;
	R.cfg.concurrency = (uint32_t)share(main_run->cfg.concurrency, q, n);
	if (main_run->cfg.cycles != 0)
		R.cfg.cycles = share(main_run->cfg.cycles, q, n);
	if (main_run->cfg.rate != 0)
		R.cfg.rate = share(main_run->cfg.rate, q, n);
	if (dpw_app_start_lane(&R.app, &main_run->app, e, err, errlen) != 0)
		return -1;
	cc_stats_init(&R.st, &R.cfg);
	if (setup_slots() != 0) {
		snprintf(err, errlen, "out of memory for %u slots", R.nslots);
		return -1;
	}
	return 0;
}

/* On engine q's thread once every engine is up: its share of the load, then its end. */
static void lane_run(struct dpw_engine *e, uint16_t q, void *arg)
{
	struct lane_out *o = &lanes[q];

	(void)e;
	(void)arg;
	dpw_app_poll(&R.app);   /* the provider learns this thread is the lcore */
	run_load();
	o->failed = dpw_app_finish_lane(&R.app, R.active) != 0;
	o->st = R.st;
	free_slots();
	atomic_store_explicit(&o->done, true, memory_order_release);
}

static void print_engine_lines(const struct dpw_engine_stats *each, unsigned n,
			       const struct dpw_engine_stats *total)
{
	DPW_PROVIDER_STATS ps;

	dpw_app_print_engine_stats(each, n, total);
	DpwGetProviderStats(&ps);
	printf("dpwsk: wsk requests=%llu inline_requests=%llu sockets_open=%lu\n",
	       (unsigned long long)ps.Requests, (unsigned long long)ps.InlineRequests,
	       (unsigned long)ps.SocketsOpen);
	fflush(stdout);
}

static int run_lanes(void)
{
	unsigned n = R.app.eng.engine.queues, done = 0;
	struct dpw_engine_stats each[MAX_LANES], total;
	struct dpw_engine_group *g;
	struct cc_stats progress;
	char err[DPW_ERRLEN], what[200];
	bool failed = false;

	dpw_app_start_eal(&R.app);
	cc_stats_init(&R.st, &R.cfg);
	g = dpw_engine_group_start(&R.app.eng.engine, lane_start, lane_run, &R, err, sizeof(err));
	if (g == NULL) {
		dpw_app_fail(&R.app, "%s", err);
		dpw_eal_cleanup();
		return 1;
	}
	R.app.engine = dpw_engine_group_engine(g, 0);   /* for the ready line: port, MAC */
	snprintf(what, sizeof(what), "connclose target=%s mode=%s concurrency=%u queues=%u",
		 R.cfg.target, cc_mode_name(R.cfg.mode), R.cfg.concurrency, n);
	dpw_app_ready(&R.app, what);
	cc_stats_begin(&R.st);
	progress = R.st;
	/* The lanes run on their own; this thread adds up their progress once a second. */
	while (done < n) {
		struct timespec ten_ms = { 0, 10000000 };

		nanosleep(&ten_ms, NULL);
		done = 0;
		progress.cycles = progress.errors = progress.open = 0;
		for (unsigned q = 0; q < n; q++) {
			done += atomic_load_explicit(&lanes[q].done, memory_order_acquire);
			progress.cycles += atomic_load_explicit(&lanes[q].cycles, memory_order_relaxed);
			progress.errors += atomic_load_explicit(&lanes[q].errors, memory_order_relaxed);
			progress.open += atomic_load_explicit(&lanes[q].open, memory_order_relaxed);
		}
		cc_progress(&progress, cc_now_ns());
	}
	cc_stats_end(&R.st);   /* the whole process's CPU time: every lane's */
	dpw_engine_group_join(g);
	DpwProviderDetach();
	R.app.engine = NULL;
	dpw_engine_group_destroy(g, each, &total);
	print_engine_lines(each, n, &total);
	R.st.t_start = 0;   /* the lanes' own span: from the first start to the last end */
	R.st.window.w_min = 0;
	for (unsigned q = 0; q < n; q++) {
		cc_stats_merge(&R.st, &lanes[q].st);
		R.st.window.w_min += lanes[q].st.window.w_min;   /* summed: each lane's window */
		failed |= lanes[q].failed;
	}
	cc_summary(&R.cfg, &R.st, R.app.prog);
	dpw_eal_cleanup();
	if (failed)
		return 1;
	return R.st.errors == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
	struct dpw_cli cli;
	char what[160];
	int rc;

	/* Every bad command line is one line and exit 2 before EAL is touched. */
	cc_config_defaults(&R.cfg);
	cli = command_line();
	dpw_app_parse(&R.app, argc, argv, &cli);
	if (dpw_app_several_queues(&R.app)) {
		dpw_app_wsk_addr(&R.cfg.remote, &R.remote);
		dpw_app_wsk_any(R.remote.ss_family, 0, &R.local);
		return run_lanes();
	}
	dpw_app_start(&R.app, NULL, false);
	cc_stats_init(&R.st, &R.cfg);   /* the window, which says how many slots */
	if (setup_slots() != 0) {
		dpw_app_fail(&R.app, "out of memory for %u slots", R.nslots);
		free_slots();
		dpw_app_finish(&R.app);
		return 1;
	}
	/* The target in WSK's numbering; the local address: any, of the target's family. */
	dpw_app_wsk_addr(&R.cfg.remote, &R.remote);
	dpw_app_wsk_any(R.remote.ss_family, 0, &R.local);

	snprintf(what, sizeof(what), "connclose target=%s mode=%s concurrency=%u", R.cfg.target,
		 cc_mode_name(R.cfg.mode), R.cfg.concurrency);
	dpw_app_ready(&R.app, what);
	/* One pass first: the provider learns which thread is the lcore, so the first cycles'
	 * calls already run inline. */
	dpw_app_poll(&R.app);
	if (R.hold.want != 0 && (!hold_listen() || !hold_wait())) {
		hold_close();
		free_slots();
		dpw_app_finish(&R.app);
		return 1;
	}
	run_load();
	hold_close();
	rc = dpw_app_finish(&R.app);
	cc_summary(&R.cfg, &R.st, R.app.prog);
	free_slots();
	if (rc != 0 || R.active != 0)
		return 1;
	return R.st.errors == 0 ? 0 : 1;
}
