/* dpwsk-bench-close: how long WskCloseSocket takes, as the application thread sees it
 * (contract §3, issue 4): from the call to the moment the close IRP's completion routine runs
 * on that thread, for connections with 0, 16 and 256 pending WskReceive IRPs, which the close
 * must cancel first (C2). Prints p50/p99/p99.9/max per level; --json for machines.
 *
 * Two ways to wait, both measured: "wait" sleeps in WskWaitCompletions (an eventfd wakes
 * the thread: what most clients do; includes the kernel's wake-up), "spin" polls
 * WskPollCompletions without sleeping (the provider's own cost, for a client that busy-polls
 * as DPDK applications do).
 *
 *   dpwsk-bench-close --iface IF --ip A.B.C.D/N [--ip6 ADDR/64] [--samples N] [--json]
 *                     A.B.C.D:PORT|[IPV6]:PORT
 *
 * HOST:PORT is a TCP listener that accepts and then stays silent (bench/close-latency.sh
 * starts one on the Linux side). The engine polls on its own lcore thread; this program's
 * thread is the application thread (threaded mode), which is what a WSK client looks like.
 * Each sample: connect, issue P receives, make sure the lcore holds them (a WskGetLocalAddress
 * queued after them on the same ring has completed), then time the close. Every cancelled
 * receive is counted: a run where one did not complete with STATUS_CANCELLED before its close
 * is reported as an error, and the exit status says so. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"

#define MAX_PENDING 256

static const unsigned levels[] = { 0, 16, 256 };
#define NLEVELS (sizeof(levels) / sizeof(levels[0]))

struct opts {
	SOCKADDR_STORAGE peer;   /* WSK numbering */
	const char *target;      /* the listener, as given */
	uint64_t samples;
	bool json;
};

/* One request object and what its completion routine saw. */
struct req {
	PIRP irp;
	bool done;
	NTSTATUS status;
	ULONG_PTR info;
	uint64_t seq;       /* completion order */
	uint64_t at_ns;     /* when the routine ran */
};

static uint64_t completion_seq;

static NTSTATUS WSKAPI on_complete(PDEVICE_OBJECT dev, PIRP irp, PVOID ctx)
{
	struct req *r = ctx;

	(void)dev;
	r->at_ns = dpw_app_now_ns();
	r->status = irp->IoStatus.Status;
	r->info = irp->IoStatus.Information;
	r->seq = ++completion_seq;
	r->done = true;
	return STATUS_MORE_PROCESSING_REQUIRED;   /* the IRP is ours, reused */
}

static void req_init(struct req *r)
{
	memset(r, 0, sizeof(*r));
	r->irp = IoAllocateIrp(1, FALSE);
	if (r->irp == NULL) {
		fprintf(stderr, "dpwsk-bench-close: error: out of memory\n");
		exit(1);
	}
}

static PIRP req_arm(struct req *r)
{
	PIRP irp = r->irp;

	memset(r, 0, sizeof(*r));
	r->irp = irp;
	IoReuseIrp(irp, STATUS_UNSUCCESSFUL);
	IoSetCompletionRoutine(irp, on_complete, r, TRUE, TRUE, TRUE);
	return irp;
}

/* Run completions until r completed (sleeping between them unless spin); false after 10 s
 * or a stop signal. */
static bool wait_for(struct dpw_app *app, struct req *r, bool spin)
{
	uint64_t end = dpw_app_now_ns() + 10000000000ull;

	while (!r->done && !dpw_app_stopping() && dpw_app_now_ns() < end) {
		if (spin)
			WskPollCompletions(app->npi.Client, 64);
		else
			dpw_app_wait(app, 100);
	}
	return r->done;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* The q-quantile of sorted samples (nearest rank). */
static uint64_t quantile(const uint64_t *v, size_t n, double q)
{
	size_t k = (size_t)(q * (double)n);

	return v[k < n ? k : n - 1];
}

struct result {
	bool spin;
	unsigned pending;
	size_t samples;
	uint64_t errors;
	uint64_t p50, p99, p999, max;   /* ns */
};

/* One level: samples connections, each closed with `pending` receives outstanding. */
static struct result run_level(struct dpw_app *app, const struct opts *o, unsigned pending,
			       bool spin)
{
	static struct req rx[MAX_PENDING], conn, addr, cl;
	static char rxbuf[MAX_PENDING][16];
	const WSK_PROVIDER_DISPATCH *pd = app->npi.Dispatch;
	uint64_t *lat = calloc(o->samples, sizeof(*lat));
	struct result res = { .spin = spin, .pending = pending };
	WSK_BUF bufs[MAX_PENDING];
	SOCKADDR_STORAGE local, got;

	if (lat == NULL) {
		fprintf(stderr, "dpwsk-bench-close: error: out of memory\n");
		exit(1);
	}
	dpw_app_wsk_any(o->peer.ss_family, 0, &local);
	req_init(&conn);
	req_init(&addr);
	req_init(&cl);
	for (unsigned i = 0; i < pending; i++) {
		req_init(&rx[i]);
		bufs[i].Mdl = DpwAllocateMdlForBuffer(rxbuf[i], sizeof(rxbuf[i]));
		bufs[i].Offset = 0;
		bufs[i].Length = sizeof(rxbuf[i]);
	}
	while (res.samples < o->samples && !dpw_app_stopping()) {
		const WSK_PROVIDER_CONNECTION_DISPATCH *cd;
		PWSK_SOCKET s;
		uint64_t t0;
		bool ok = true;

		pd->WskSocketConnect(app->npi.Client, SOCK_STREAM, IPPROTO_TCP, (PSOCKADDR)&local,
				     (PSOCKADDR)&o->peer, 0, NULL, NULL, NULL, NULL, NULL,
				     req_arm(&conn));
		if (!wait_for(app, &conn, spin) || conn.status != STATUS_SUCCESS) {
			res.errors++;
			if (res.errors > 100)
				break;
			continue;
		}
		s = (PWSK_SOCKET)conn.info;
		cd = s->Dispatch;
		for (unsigned i = 0; i < pending; i++)
			cd->WskReceive(s, &bufs[i], 0, req_arm(&rx[i]));
		/* Queued behind the receives on the same ring: once it completes, the lcore has
		 * made every one of them pending on the socket. */
		cd->WskGetLocalAddress(s, (PSOCKADDR)&got, req_arm(&addr));
		wait_for(app, &addr, spin);
		t0 = dpw_app_now_ns();
		cd->WskCloseSocket(s, req_arm(&cl));
		if (!wait_for(app, &cl, spin) || cl.status != STATUS_SUCCESS) {
			res.errors++;
			continue;
		}
		for (unsigned i = 0; i < pending; i++)
			ok &= rx[i].done && rx[i].status == STATUS_CANCELLED && rx[i].info == 0 &&
			      rx[i].seq < cl.seq;   /* C2: all of them before the close */
		if (!ok)
			res.errors++;
		lat[res.samples++] = cl.at_ns - t0;
	}
	if (res.samples > 0) {
		qsort(lat, res.samples, sizeof(*lat), cmp_u64);
		res.p50 = quantile(lat, res.samples, 0.50);
		res.p99 = quantile(lat, res.samples, 0.99);
		res.p999 = quantile(lat, res.samples, 0.999);
		res.max = lat[res.samples - 1];
	}
	for (unsigned i = 0; i < pending; i++) {
		IoFreeMdl(bufs[i].Mdl);
		IoFreeIrp(rx[i].irp);
	}
	IoFreeIrp(conn.irp);
	IoFreeIrp(addr.irp);
	IoFreeIrp(cl.irp);
	free(lat);
	return res;
}

static int set_samples(void *ctx, const char *val, char *err, size_t errlen)
{
	return dpw_app_parse_u64("samples", val, 10, 1000000, &((struct opts *)ctx)->samples, err,
				 errlen);
}

static int set_json(void *ctx, const char *val, char *err, size_t errlen)
{
	(void)val;
	(void)err;
	(void)errlen;
	((struct opts *)ctx)->json = true;
	return 0;
}

static const struct dpw_cli_opt options[] = {
	{ "samples", true, "N", "closes timed per pending level (default 2000)", set_samples },
	{ "json", false, NULL, "print the results as one JSON object", set_json },
	{ NULL, false, NULL, NULL, NULL },
};

/* The listener: required, a target's syntax. */
static int validate(void *ctx, char *err, size_t errlen)
{
	struct opts *o = ctx;
	struct sockaddr_storage peer;

	if (o->target == NULL) {
		snprintf(err, errlen, "give the listener as " DPW_ENDPOINT_SYNTAX);
		return -1;
	}
	if (dpw_app_parse_target(o->target, &peer, err, errlen) != 0)
		return -1;
	dpw_app_wsk_addr(&peer, &o->peer);
	return 0;
}

int main(int argc, char **argv)
{
	struct opts o = { .samples = 2000 };
	struct dpw_cli cli = { .synopsis = "[--samples N] [--json] A.B.C.D:PORT|[IPV6]:PORT",
			       .opts = options, .ctx = &o, .operand_name = "listener",
			       .operand = &o.target, .validate = validate };
	struct result res[2 * NLEVELS] = { { 0 } };
	struct dpw_app app;
	char ep[64];
	uint64_t errors = 0;

	dpw_app_parse(&app, argc, argv, &cli);
	dpw_app_start(&app, NULL, true);
	snprintf(ep, sizeof(ep), "close-bench samples=%" PRIu64, o.samples);
	dpw_app_ready(&app, ep);
	for (size_t l = 0; l < 2 * NLEVELS && !dpw_app_stopping(); l++) {
		res[l] = run_level(&app, &o, levels[l % NLEVELS], l >= NLEVELS);
		errors += res[l].errors;
		if (!o.json)
			printf("wait=%-5s pending=%-4u samples=%-7zu errors=%-3" PRIu64 " p50=%.1fus"
			       " p99=%.1fus p99.9=%.1fus max=%.1fus\n",
			       res[l].spin ? "spin" : "sleep", res[l].pending, res[l].samples,
			       res[l].errors, res[l].p50 / 1e3, res[l].p99 / 1e3, res[l].p999 / 1e3,
			       res[l].max / 1e3);
	}
	if (o.json) {
		printf("{\"bench\":\"close-latency\",\"unit\":\"us\",\"levels\":[");
		for (size_t l = 0; l < 2 * NLEVELS; l++)
			printf("%s{\"wait\":\"%s\",\"pending\":%u,\"samples\":%zu,\"errors\":%"
			       PRIu64 ",\"p50\":%.2f,\"p99\":%.2f,\"p99_9\":%.2f,\"max\":%.2f}",
			       l ? "," : "", res[l].spin ? "spin" : "sleep", res[l].pending,
			       res[l].samples, res[l].errors, res[l].p50 / 1e3, res[l].p99 / 1e3,
			       res[l].p999 / 1e3, res[l].max / 1e3);
		printf("]}\n");
	}
	if (dpw_app_finish(&app) != 0)
		return 1;
	return errors == 0 ? 0 : 1;
}
