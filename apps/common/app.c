/* The programs' common start, loop and end (see app.h). */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "app.h"
#include "engine_cli.h"
#include "signals.h"

static const WSK_CLIENT_DISPATCH no_client_events = { MAKE_WSK_VERSION(1, 0), 0, NULL };


static void fail(const char *prog, int code, const char *what)
{
	fprintf(stderr, "%s: error: %s\n", prog, what);
	exit(code);
}

void dpw_app_parse(struct dpw_app *app, int argc, char **argv, struct dpw_cli *cli)
{
	memset(app, 0, sizeof(*app));
	app->prog = dpw_cli_prog_name(argv[0]);
	/* Progress lines must reach a pipe (tests, tee) as they happen. */
	setvbuf(stdout, NULL, _IOLBF, 0);
	dpw_engine_opts_init(&app->eng, argv[0]);
	cli->other = dpw_engine_cli(&app->eng);
	dpw_cli_parse_or_exit(cli, app->prog, argc, argv);
}

#ifdef DPW_LWIP_PER_THREAD
/* On each engine's thread of a threaded program's group, before it polls: the provider
 * takes the engine as one of its lcores. */
static int attach_engine(struct dpw_engine *e, uint16_t queue, void *arg, char *err,
			 size_t errlen)
{
	NTSTATUS st = DpwProviderAttach(e);

	(void)queue;
	(void)arg;
	if (st == STATUS_SUCCESS)
		return 0;
	snprintf(err, errlen, "attaching the WSK provider failed: %s", DpwNtStatusName(st));
	return -1;
}

/* The per-thread build's engine is polled by the thread that made it, so a threaded program
 * there runs its engines (one, or --queues N) as a group, each on its own thread. */
static void start_group(struct dpw_app *app)
{
	char err[DPW_ERRLEN];
	struct dpw_engine_config cfg = app->eng.engine;

	if (cfg.queues == 0)
		cfg.queues = 1;
	if (cfg.queues > DPW_APP_MAX_QUEUES)
		fail(app->prog, 2, "--queues: at most 16");
	dpw_app_start_eal(app);
	app->group = dpw_engine_group_start(&cfg, attach_engine, NULL, NULL, err, sizeof(err));
	if (app->group == NULL) {
		dpw_eal_cleanup();
		fail(app->prog, 1, err);
	}
	app->engine = dpw_engine_group_engine(app->group, 0);   /* the ready line's port, MAC */
	if (dpw_engine_opts_ready(&app->eng, app->engine, err, sizeof(err)) != 0) {
		dpw_engine_group_join(app->group);
		DpwProviderDetach();
		dpw_engine_group_destroy(app->group, NULL, NULL);
		dpw_eal_cleanup();
		fail(app->prog, 1, err);
	}
}
#endif

/* One engine, polled by this thread (embedded) or by one started for it (threaded). */
static void start_engine(struct dpw_app *app, bool threaded)
{
	char err[DPW_ERRLEN];
	NTSTATUS st;

	app->engine = dpw_engine_opts_start(&app->eng, err, sizeof(err));
	if (app->engine == NULL)
		fail(app->prog, 1, err);
	st = DpwProviderAttach(app->engine);
	if (st != STATUS_SUCCESS) {
		snprintf(err, sizeof(err), "attaching the WSK provider failed: %s",
			 DpwNtStatusName(st));
		dpw_engine_opts_stop(app->engine);
		fail(app->prog, 1, err);
	}
	if (threaded && dpw_engine_start(app->engine, err, sizeof(err)) != 0) {
		DpwProviderDetach();
		dpw_engine_opts_stop(app->engine);
		fail(app->prog, 1, err);
	}
}

void dpw_app_start(struct dpw_app *app, const WSK_CLIENT_DISPATCH *client_dispatch,
		   bool threaded)
{
	char err[DPW_ERRLEN];
	WSK_CLIENT_NPI npi;
	NTSTATUS st;

	app->threaded = threaded;
#ifdef DPW_LWIP_PER_THREAD
	if (threaded)
		start_group(app);
	else
#endif
		start_engine(app, threaded);
	npi.ClientContext = app;
	npi.Dispatch = client_dispatch != NULL ? client_dispatch : &no_client_events;
	st = WskRegister(&npi, &app->reg);
	if (st == STATUS_SUCCESS)
		st = WskCaptureProviderNPI(&app->reg, WSK_NO_WAIT, &app->npi);
	if (st != STATUS_SUCCESS) {
		snprintf(err, sizeof(err), "WSK registration failed: %s", DpwNtStatusName(st));
		fail(app->prog, 1, err);
	}
	dpw_signals_install();
}

void dpw_app_start_eal(struct dpw_app *app)
{
	char err[DPW_ERRLEN];

	if (app->eng.verbose)
		setenv("DPW_VERBOSE", "1", 1);
	if (dpw_eal_init(app->eng.eal_argc, app->eng.eal_argv, err, sizeof(err)) < 0)
		fail(app->prog, 1, err);
	dpw_signals_install();
}

int dpw_app_start_lane(struct dpw_app *lane, const struct dpw_app *app, struct dpw_engine *e,
		       char *err, size_t errlen)
{
	WSK_CLIENT_NPI npi;
	NTSTATUS st;

	*lane = *app;
	lane->threaded = false;
	lane->lane = true;
	lane->engine = e;
	st = DpwProviderAttach(e);
	if (st != STATUS_SUCCESS) {
		snprintf(err, errlen, "attaching the WSK provider failed: %s", DpwNtStatusName(st));
		return -1;
	}
	npi.ClientContext = lane;
	npi.Dispatch = &no_client_events;
	st = WskRegister(&npi, &lane->reg);
	if (st == STATUS_SUCCESS)
		st = WskCaptureProviderNPI(&lane->reg, WSK_NO_WAIT, &lane->npi);
	if (st != STATUS_SUCCESS) {
		snprintf(err, errlen, "WSK registration failed: %s", DpwNtStatusName(st));
		return -1;
	}
	return 0;
}

int dpw_app_finish_lane(struct dpw_app *lane, unsigned sockets_left)
{
	WskReleaseProviderNPI(&lane->reg);
	if (sockets_left != 0) {
		fprintf(stderr, "%s: %u sockets still open at exit\n", lane->prog, sockets_left);
		return 1;
	}
	WskDeregister(&lane->reg);
	return 0;
}

static void service_signals(struct dpw_app *app)
{
	/* The program's thread prints the lanes' lines: a lane knows only its own engine. */
	if (!app->lane && dpw_signals_take_stats())
		dpw_app_print_stats(app);
}

void dpw_app_poll(struct dpw_app *app)
{
	dpw_engine_poll(app->engine);
	WskPollCompletions(app->npi.Client, 256);
	service_signals(app);
}

void dpw_app_nap(struct dpw_app *app, unsigned ms)
{
	struct timespec t = { ms / 1000, (long)(ms % 1000) * 1000000L };

	nanosleep(&t, NULL);
	service_signals(app);
}

void dpw_app_wait(struct dpw_app *app, unsigned timeout_ms)
{
	WskWaitCompletions(app->npi.Client, 256, timeout_ms);
	service_signals(app);
}

bool dpw_app_stopping(void)
{
	return dpw_signals_stopping();
}

void dpw_app_stop(void)
{
	dpw_signals_stop();
}

static ULONG sockets_open(void)
{
	DPW_PROVIDER_STATS ps;

	DpwGetProviderStats(&ps);
	return ps.SocketsOpen;
}

unsigned dpw_app_drain(struct dpw_app *app, unsigned timeout_ms)
{
	uint64_t end = dpw_app_now_ns() + (uint64_t)timeout_ms * 1000000u;

	while (sockets_open() > 0 && dpw_app_now_ns() < end) {
		if (app->threaded)
			dpw_app_wait(app, 10);
		else
			dpw_app_poll(app);
	}
	return sockets_open();
}

void dpw_app_print_engine_stats(const struct dpw_engine_stats *each, unsigned n,
				const struct dpw_engine_stats *total)
{
	char line[DPW_STATS_LINE];

	for (unsigned q = 0; n > 1 && q < n; q++) {
		dpw_engine_format_stats(&each[q], line, sizeof(line));
		printf("dpwsk: queue %u stats %s\n", q, line);
	}
	dpw_engine_format_stats(total, line, sizeof(line));
	printf("dpwsk: stats %s\n", line);
}

/* The end of a group: its engines stop, each one's last counters, and their total last (its
 * mbuf_in_use: those not back when the last engine freed the shared pool). */
static void finish_group(struct dpw_app *app, unsigned left)
{
	struct dpw_engine_stats each[DPW_APP_MAX_QUEUES], total;
	uint16_t n = dpw_engine_group_size(app->group);

	dpw_engine_group_join(app->group);
	if (left == 0)
		DpwProviderDetach();
	app->engine = NULL;
	dpw_engine_group_destroy(app->group, each, &total);
	app->group = NULL;
	dpw_app_print_engine_stats(each, n, &total);
	fflush(stdout);
	dpw_eal_cleanup();
}

int dpw_app_finish(struct dpw_app *app)
{
	unsigned left = dpw_app_drain(app, 5000);

	WskReleaseProviderNPI(&app->reg);
	if (left == 0)
		WskDeregister(&app->reg);
	else
		fprintf(stderr, "%s: %u sockets still open at exit\n", app->prog, left);
	if (app->group != NULL) {
		dpw_app_print_stats(app);
		finish_group(app, left);
		return left == 0 ? 0 : 1;
	}
	if (app->threaded)
		dpw_engine_join(app->engine);
	dpw_app_print_stats(app);
	if (left == 0)
		DpwProviderDetach();
	dpw_engine_opts_stop(app->engine);
	return left == 0 ? 0 : 1;
}

int dpw_app_finish_lanes(struct dpw_app *app)
{
	dpw_app_print_stats(app);
	finish_group(app, 0);
	return 0;
}

void dpw_app_print_stats(struct dpw_app *app)
{
	DPW_PROVIDER_STATS ps;

	if (app->group != NULL) {
		struct dpw_engine_stats total;
		char line[DPW_STATS_LINE];

		dpw_engine_group_stats(app->group, &total);
		dpw_engine_format_stats(&total, line, sizeof(line));
		printf("dpwsk: stats %s\n", line);
	} else {
		dpw_engine_print_stats(app->engine);
	}
	DpwGetProviderStats(&ps);
	printf("dpwsk: wsk requests=%" PRIu64 " inline_requests=%" PRIu64 " ring_full=%" PRIu64
	       " completions=%" PRIu64 " completion_spills=%" PRIu64 " invalid_handles=%" PRIu64
	       " concurrent_close=%" PRIu64 " sockets_open=%lu heap_requests=%" PRIu64
	       " heap_indications=%" PRIu64 "\n",
	       (uint64_t)ps.Requests, (uint64_t)ps.InlineRequests, (uint64_t)ps.RingFull,
	       (uint64_t)ps.Completions, (uint64_t)ps.CompletionSpills, (uint64_t)ps.InvalidHandles,
	       (uint64_t)ps.ConcurrentClose, (unsigned long)ps.SocketsOpen,
	       (uint64_t)ps.HeapRequests, (uint64_t)ps.HeapIndications);
	if (app->print_stats != NULL)
		app->print_stats(app);
	fflush(stdout);
}

bool dpw_app_has_ipv6(const struct dpw_app *app)
{
	return dpw_engine_config_has_ipv6(&app->eng.engine);
}

ULONG dpw_app_wsk_addr(const struct sockaddr_storage *posix, SOCKADDR_STORAGE *wsk)
{
	memset(wsk, 0, sizeof(*wsk));
	return DpwSockaddrFromPosix((const struct sockaddr *)posix, sizeof(*posix),
				    (SOCKADDR *)wsk, sizeof(*wsk));
}

void dpw_app_wsk_any(ADDRESS_FAMILY family, uint16_t port, SOCKADDR_STORAGE *wsk)
{
	memset(wsk, 0, sizeof(*wsk));
	if (family == AF_INET6) {
		((SOCKADDR_IN6 *)wsk)->sin6_family = AF_INET6;
		((SOCKADDR_IN6 *)wsk)->sin6_port = htons(port);
	} else {
		((SOCKADDR_IN *)wsk)->sin_family = AF_INET;
		((SOCKADDR_IN *)wsk)->sin_port = htons(port);
	}
}

void dpw_app_ready(struct dpw_app *app, const char *what)
{
	uint8_t mac[6];
	char ip[INET_ADDRSTRLEN], ip6[INET6_ADDRSTRLEN + 5] = "", offloads[64];

	dpw_engine_mac(app->engine, mac);
	inet_ntop(AF_INET, &app->eng.engine.ipv4_addr, ip, sizeof(ip));
	if (dpw_app_has_ipv6(app)) {
		memcpy(ip6, " ip6=", 5);
		/* PF_INET6: inet_ntop wants the host's number (AF_INET6 is Windows' 23 here). */
		inet_ntop(PF_INET6, app->eng.engine.ipv6_addr, ip6 + 5, sizeof(ip6) - 5);
	}
	dpw_engine_offloads(app->engine, offloads, sizeof(offloads));
	printf("dpwsk: ready port=%s ip=%s%s mac=%02x:%02x:%02x:%02x:%02x:%02x offloads=%s "
	       "steering=%s %s\n",
	       app->eng.engine.port_name, ip, ip6, mac[0], mac[1], mac[2], mac[3], mac[4], mac[5],
	       offloads, dpw_engine_steering(app->engine), what != NULL ? what : "");
	fflush(stdout);
}

void dpw_app_fail(struct dpw_app *app, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: error: ", app->prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

void dpw_app_irp_prepare(PIRP irp, PIO_COMPLETION_ROUTINE done, PVOID ctx)
{
	IoInitializeIrp(irp, sizeof(IRP), 1);
	IoSetCompletionRoutine(irp, done, ctx, TRUE, TRUE, TRUE);
}

static NTSTATUS sync_done(PDEVICE_OBJECT dev, PIRP irp, PVOID ctx)
{
	(void)dev;
	(void)irp;
	((struct dpw_app_sync *)ctx)->done = true;
	return STATUS_MORE_PROCESSING_REQUIRED;   /* the IRP is the caller's */
}

PIRP dpw_app_sync_irp(struct dpw_app_sync *s)
{
	s->done = false;
	dpw_app_irp_prepare(&s->irp, sync_done, s);
	return &s->irp;
}

NTSTATUS dpw_app_sync_poll(struct dpw_app *app, struct dpw_app_sync *s, ULONG_PTR *info)
{
	uint64_t end = dpw_app_now_ns() + 5000000000ull;

	while (!s->done && dpw_app_now_ns() < end)
		dpw_app_poll(app);
	if (!s->done)
		return STATUS_IO_TIMEOUT;   /* cannot happen: the provider completes every IRP */
	if (info != NULL)
		*info = s->irp.IoStatus.Information;
	return s->irp.IoStatus.Status;
}

uint64_t dpw_app_now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}
