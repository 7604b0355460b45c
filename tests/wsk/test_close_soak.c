/* Soak (WSK-C8, C1, C3): a million connect/close cycles against a Linux listener, with flat
 * memory.
 *
 * SLOTS connections are in flight at once: each is a WskSocketConnect to a listener in the
 * peer namespace (a thread of this test accepts and closes whatever arrives), and as soon as
 * it completes its routine closes the socket with WskCloseSocket (a RST: the connection is
 * open both ways, C3); the close's routine starts the next cycle. Every CHECKPOINT cycles the
 * pipeline drains and the test prints resident memory (VmRSS), the mbufs and TCP pcbs in use
 * and the provider's open sockets; from the first checkpoint to the last, RSS must stay within
 * RSS_SLACK and the pool counts equal, with no failed connect or close.
 *
 * DPW_SOAK_CYCLES=n changes the count: 1,000,000 by default, 200,000 under AddressSanitizer
 * (whose allocator keeps freed memory in quarantine, so its RSS says nothing about leaks:
 * LeakSanitizer's report at exit does; the RSS bound is checked in the normal build only). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harness.h"
#include "irp_internal.h"

#if defined(__has_feature)
#if __has_feature(address_sanitizer) && !defined(__SANITIZE_ADDRESS__)
#define __SANITIZE_ADDRESS__ 1
#endif
#if __has_feature(thread_sanitizer) && !defined(__SANITIZE_THREAD__)
#define __SANITIZE_THREAD__ 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define SANITIZED 1
#define DEFAULT_CYCLES 200000
#else
#define SANITIZED 0
#define DEFAULT_CYCLES 1000000
#endif

#define SLOTS        128
#define PEER_PORT    5701
#define CHECKPOINT   100000
#define RSS_SLACK    (2u << 20)    /* bytes of RSS growth allowed after the first checkpoint */
#define STALL_MS     30000         /* no cycle finished for this long: give up */

/* ---- the Linux listener: accept, close ---------------------------------------------------- */

static _Atomic bool accept_stop;
static _Atomic uint64_t accepted;

static void *acceptor(void *arg)
{
	int lfd = *(int *)arg;
	struct pollfd p = { .fd = lfd, .events = POLLIN };

	while (!atomic_load(&accept_stop)) {
		int fd;

		if (poll(&p, 1, 100) != 1)
			continue;
		while ((fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK)) >= 0) {
			close(fd);
			accepted++;
		}
	}
	return NULL;
}

/* ---- cycles ------------------------------------------------------------------------------ */

struct slot {
	PIRP connect_irp, close_irp;
	PWSK_SOCKET s;
	bool busy;
};

static struct {
	const WSK_PROVIDER_NPI *npi;
	SOCKADDR_IN local, remote;
	struct slot slots[SLOTS];
	uint64_t target, limit;        /* cycles wanted; cycles that may start before a drain */
	uint64_t started, done, busy;
	uint64_t connect_errors, close_errors, issue_errors;
	NTSTATUS last_error;
	uint64_t last_done_ms;
} g;

static NTSTATUS WSKAPI connected(PDEVICE_OBJECT dev, PIRP irp, PVOID ctx);
static NTSTATUS WSKAPI closed(PDEVICE_OBJECT dev, PIRP irp, PVOID ctx);

static void count_error(uint64_t *counter, NTSTATUS st)
{
	if ((*counter)++ < 5)
		fprintf(stderr, "FAIL cycle %llu: %s\n", (unsigned long long)g.done,
			DpwNtStatusName(st));
	g.last_error = st;
}

/* Start the next cycle on s, unless the cycles before the next drain are all started. */
static void next(struct slot *s)
{
	NTSTATUS st;

	if (g.started >= g.limit) {
		s->busy = false;
		g.busy--;
		return;
	}
	g.started++;
	IoReuseIrp(s->connect_irp, STATUS_UNSUCCESSFUL);
	IoSetCompletionRoutine(s->connect_irp, connected, s, TRUE, TRUE, TRUE);
	st = g.npi->Dispatch->WskSocketConnect(g.npi->Client, SOCK_STREAM, IPPROTO_TCP,
					       (PSOCKADDR)&g.local, (PSOCKADDR)&g.remote, 0,
					       NULL, NULL, NULL, NULL, NULL, s->connect_irp);
	/* Any other return also completed the IRP (R3): its routine counts the failure. */
	if (st != STATUS_PENDING && st != STATUS_SUCCESS)
		g.issue_errors++;
}

static NTSTATUS WSKAPI connected(PDEVICE_OBJECT dev, PIRP irp, PVOID ctx)
{
	struct slot *s = ctx;
	NTSTATUS st = irp->IoStatus.Status;

	(void)dev;
	if (st != STATUS_SUCCESS) {
		count_error(&g.connect_errors, st);
		g.done++;
		next(s);
		return STATUS_MORE_PROCESSING_REQUIRED;
	}
	s->s = (PWSK_SOCKET)irp->IoStatus.Information;
	IoReuseIrp(s->close_irp, STATUS_UNSUCCESSFUL);
	IoSetCompletionRoutine(s->close_irp, closed, s, TRUE, TRUE, TRUE);
	/* Established both ways: the close resets it (C3), from inside this routine. */
	st = DpwConnectionDispatch(s->s)->WskCloseSocket(s->s, s->close_irp);
	if (st != STATUS_PENDING && st != STATUS_SUCCESS)
		g.issue_errors++;
	return STATUS_MORE_PROCESSING_REQUIRED;
}

static NTSTATUS WSKAPI closed(PDEVICE_OBJECT dev, PIRP irp, PVOID ctx)
{
	struct slot *s = ctx;

	(void)dev;
	if (irp->IoStatus.Status != STATUS_SUCCESS)      /* C1 */
		count_error(&g.close_errors, irp->IoStatus.Status);
	s->s = NULL;
	g.done++;
	g.last_done_ms = h_now_ms();
	next(s);
	return STATUS_MORE_PROCESSING_REQUIRED;
}

/* ---- measurements ------------------------------------------------------------------------- */

static uint64_t rss_bytes(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	unsigned long long kb = 0;

	if (f == NULL)
		return 0;
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "VmRSS: %llu kB", &kb) == 1)
			break;
	fclose(f);
	return kb * 1024;
}

struct sample {
	uint64_t rss;
	uint32_t mbufs, pcbs;
	ULONG sockets;
};

/* Wait (5 s at most) until read() gives want; the last value read. A single reading can
 * catch a transient: the engine counts its TX buffer too, and Linux's FINs for connections
 * the stack already reset keep drawing RSTs for a while after the pipeline drained. */
static uint32_t settle(uint32_t (*read)(void), uint32_t want)
{
	uint64_t end = h_now_ms() + 5000;
	uint32_t v;

	while ((v = read()) != want && h_now_ms() < end)
		h_pump(2);
	return v;
}

/* Run cycles until `until` are done (the pipeline drains there), or until nothing moves for
 * STALL_MS. */
static bool run_until(uint64_t until)
{
	g.limit = until;
	for (int i = 0; i < SLOTS && g.started < g.limit; i++) {
		if (!g.slots[i].busy) {
			g.slots[i].busy = true;
			g.busy++;
			next(&g.slots[i]);
		}
	}
	g.last_done_ms = h_now_ms();
	while (g.busy > 0) {
		WskWaitCompletions(g.npi->Client, 1024, 10);
		if (h_now_ms() - g.last_done_ms > STALL_MS) {
			fprintf(stderr, "FAIL no cycle finished in %u ms (%llu in flight)\n", STALL_MS,
				(unsigned long long)g.busy);
			return false;
		}
	}
	return true;
}

/* Drained: wait for the transport and the pool to settle back to idle, then sample. */
static void sample(struct sample *s, uint32_t pcbs0, uint32_t mbufs0)
{
	h_wait_sockets_open(0, 5000);
	s->sockets = h_sockets_open();
	s->pcbs = settle(h_tcp_pcbs_in_use, pcbs0);
	s->mbufs = settle(h_mbufs_in_use, mbufs0);
	s->rss = rss_bytes();
}

int main(int argc, char **argv)
{
	const char *env = getenv("DPW_SOAK_CYCLES");
	struct sample first = { 0 }, cur = { 0 };
	DPW_IRP_STATS is0, is1;
	uint32_t pcbs0, mbufs0;
	uint64_t t0, t_last, done_last = 0;
	pthread_t acc;
	int lfd;
	bool ok = true;

	h_start(argc, argv);
	g.npi = &h_npi;
	g.target = env != NULL ? strtoull(env, NULL, 0) : DEFAULT_CYCLES;
	h_sockaddr(&g.local, 0, 0);
	h_sockaddr(&g.remote, h_ip_peer, PEER_PORT);
	h_test("soak: connect/close cycles against a Linux listener; memory, pools and open sockets "
	       "flat from the first checkpoint to the end, no connect or close failing (WSK-C8, "
	       "C1, C3)");
	printf("%llu cycles, %d at once%s\n", (unsigned long long)g.target, SLOTS,
	       SANITIZED ? " (sanitizer build: fewer cycles, RSS not bounded)" : "");
	for (int i = 0; i < SLOTS; i++) {
		g.slots[i].connect_irp = IoAllocateIrp(1, FALSE);
		g.slots[i].close_irp = IoAllocateIrp(1, FALSE);
		if (g.slots[i].connect_irp == NULL || g.slots[i].close_irp == NULL)
			return 1;
	}
	lfd = peer_listen(PEER_PORT);
	listen(lfd, 1024);   /* a longer accept queue than peer_listen's: no SYN dropped */
	fcntl(lfd, F_SETFL, fcntl(lfd, F_GETFL) | O_NONBLOCK);
	pthread_create(&acc, NULL, acceptor, &lfd);
	DpwGetIrpStats(&is0);
	pcbs0 = h_tcp_pcbs_in_use();
	mbufs0 = h_mbufs_in_use();

	t0 = t_last = h_now_ms();
	while (ok && g.done < g.target) {
		uint64_t until = g.done + CHECKPOINT < g.target ? g.done + CHECKPOINT : g.target;
		uint64_t now;

		ok = run_until(until);
		now = h_now_ms();
		sample(&cur, pcbs0, mbufs0);
		printf("  %8llu cycles  %6.0f/s  VmRSS %7.1f MiB  mbufs %u  pcbs %u  sockets open %u"
		       "  errors %llu\n", (unsigned long long)g.done,
		       (double)(g.done - done_last) * 1000.0 / (double)(now - t_last + 1),
		       (double)cur.rss / (1 << 20), cur.mbufs, cur.pcbs, (unsigned)cur.sockets,
		       (unsigned long long)(g.connect_errors + g.close_errors + g.issue_errors));
		fflush(stdout);
		if (done_last == 0)
			first = cur;
		done_last = g.done;
		t_last = h_now_ms();
	}
	printf("%llu cycles in %.1f s: %.0f cycles/s; %llu accepted by Linux\n",
	       (unsigned long long)g.done, (double)(h_now_ms() - t0) / 1000,
	       (double)g.done * 1000.0 / (double)(h_now_ms() - t0 + 1),
	       (unsigned long long)accepted);
	printf("from cycle %llu to the end: VmRSS %+.2f MiB, mbufs %u -> %u, pcbs %u -> %u, "
	       "sockets open %u -> %u\n",
	       (unsigned long long)(g.target < CHECKPOINT ? g.target : CHECKPOINT),
	       ((double)cur.rss - (double)first.rss) / (1 << 20), first.mbufs, cur.mbufs,
	       first.pcbs, cur.pcbs, (unsigned)first.sockets, (unsigned)cur.sockets);

	H_CHECK(ok);
	H_CHECK(g.done == g.target);
	H_CHECK(g.connect_errors == 0);                     /* every connect succeeded */
	H_CHECK(g.close_errors == 0);                       /* C1 */
	H_CHECK(g.issue_errors == 0);
	/* C8: flat. The pools and sockets come back to the same counts (idle), every time. */
	H_CHECK(cur.sockets == 0 && first.sockets == 0);
	H_CHECK(cur.pcbs == pcbs0 && first.pcbs == pcbs0);
	H_CHECK(cur.mbufs == mbufs0 && first.mbufs == mbufs0);
	if (!SANITIZED && !H_CHECK(cur.rss <= first.rss + RSS_SLACK))
		fprintf(stderr, "VmRSS grew by %llu bytes after cycle %u\n",
			(unsigned long long)(cur.rss - first.rss), CHECKPOINT);
	DpwGetIrpStats(&is1);
	H_CHECK(is1.DoubleCompletions == is0.DoubleCompletions);
	H_CHECK(is1.BusyStarts == is0.BusyStarts);
	H_CHECK(is1.BadRuns == is0.BadRuns);

	atomic_store(&accept_stop, true);
	pthread_join(acc, NULL);
	close(lfd);
	for (int i = 0; i < SLOTS; i++) {
		IoFreeIrp(g.slots[i].connect_irp);
		IoFreeIrp(g.slots[i].close_irp);
	}
	return h_finish();
}
