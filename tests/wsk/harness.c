/* The WSK test harness (see harness.h). */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <linux/sockios.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "dpw/engine_opts.h"
#include "dpw/engine.h"
#include "dpw/engine_group.h"
#include "harness.h"

WSK_PROVIDER_NPI h_npi;
WSK_REGISTRATION h_reg;
uint32_t h_ip_stack, h_ip_peer;
bool h_have_ip6;
IN6_ADDR h_ip6_stack, h_ip6_peer;
_Atomic int h_failures, h_passes;

static struct dpw_engine *engine;
/* DPW_HARNESS_QUEUES=N (N >= 2, the per-thread build: wsk_harness_mt): N engines on the port,
 * one lcore each, the provider attached to all of them; engine is then NULL. */
static struct dpw_engine_group *group;
static struct dpw_engine_opts eng;
static int ns_stack_fd = -1, ns_peer_fd = -1;
static _Atomic uint64_t completion_seq;
static _Thread_local const WSK_PROVIDER_NPI *cur_npi;

static void learn_tables(void);
static void stats_hook(void *arg);

static const WSK_CLIENT_DISPATCH client_dispatch = { MAKE_WSK_VERSION(1, 0), 0, NULL };

static void die(const char *what)
{
	fprintf(stderr, "harness: %s\n", what);
	exit(1);
}

bool h_check(bool ok, const char *what, const char *file, int line)
{
	if (ok) {
		h_passes++;
	} else {
		h_failures++;
		fprintf(stderr, "FAIL %s:%d: %s\n", file, line, what);
	}
	return ok;
}

bool h_check_status(NTSTATUS got, NTSTATUS want, const char *what, const char *file, int line)
{
	if (got == want) {
		h_passes++;
		return true;
	}
	h_failures++;
	fprintf(stderr, "FAIL %s:%d: %s = %s (0x%08x), want %s (0x%08x)\n", file, line, what,
		DpwNtStatusName(got), (unsigned)got, DpwNtStatusName(want), (unsigned)want);
	return false;
}

void h_test(const char *name)
{
	printf("=== %s\n", name);
	fflush(stdout);
}

uint64_t h_now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000 + (uint64_t)t.tv_nsec / 1000000;
}

static const char *env(const char *name)
{
	const char *v = getenv(name);

	if (v == NULL || *v == '\0') {
		fprintf(stderr, "harness: %s is not set: run under scripts/netns.sh run\n", name);
		exit(77);   /* meson: skipped */
	}
	return v;
}

static int open_ns(const char *name)
{
	char path[256];
	int fd;

	snprintf(path, sizeof(path), "/run/netns/%s", name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		die("cannot open a namespace under /run/netns");
	return fd;
}

void h_need_ip6(void)
{
	const char *v = getenv("DPW_IP6_STACK");

	if (v == NULL || *v == '\0') {
		fprintf(stderr, "harness: no IPv6 in this topology: run under DPW_TOPO_IPV6=1 "
				"scripts/netns.sh run\n");
		exit(77);   /* meson: skipped */
	}
}

/* On each engine's thread, before it polls: the provider takes it as one of its lcores. */
static int attach_lcore(struct dpw_engine *e, uint16_t queue, void *arg, char *err, size_t len)
{
	(void)arg;
	if (DpwProviderAttach(e) != STATUS_SUCCESS) {
		snprintf(err, len, "DpwProviderAttach failed on queue %u", queue);
		return -1;
	}
	return 0;
}

static void start_group(void)
{
	char err[DPW_ERRLEN];

	if (dpw_eal_init(eng.eal_argc, eng.eal_argv, err, sizeof(err)) < 0)
		die(err);
	/* Each engine attaches on its own thread, before it polls (in no set order: the
	 * provider's lcore numbers need not be the queues'). */
	group = dpw_engine_group_start(&eng.engine, attach_lcore, NULL, NULL, err, sizeof(err));
	if (group == NULL)
		die(err);
}

unsigned h_lcores(void)
{
	return group != NULL ? dpw_engine_group_size(group) : 1;
}

void h_start(int argc, char **argv)
{
	char ipbuf[64], ip6buf[80], err[DPW_ERRLEN];
	/* DPW_HARNESS_LCORES (e.g. "0-1"): the engine polls on a worker lcore of its own, truly
	 * in parallel with the test's threads; by default it shares the main thread's core. */
	const char *lcores = getenv("DPW_HARNESS_LCORES");
	/* DPW_IP6_STACK (netns.sh with DPW_TOPO_IPV6=1): the stack takes that IPv6 address too. */
	const char *ip6 = getenv("DPW_IP6_STACK");
	WSK_CLIENT_NPI npi = { NULL, &client_dispatch };
	NTSTATUS st;

	(void)argc;
	setvbuf(stdout, NULL, _IOLBF, 0);
	ns_stack_fd = open_ns(env("DPW_NS_STACK"));
	ns_peer_fd = open_ns(env("DPW_NS_PEER"));
	if (setns(ns_stack_fd, CLONE_NEWNET) != 0)
		die("setns into the stack namespace failed");
	snprintf(ipbuf, sizeof(ipbuf), "%s/%s", env("DPW_IP_STACK"), env("DPW_PREFIX"));
	inet_pton(PF_INET, env("DPW_IP_STACK"), &h_ip_stack);
	inet_pton(PF_INET, env("DPW_IP_PEER"), &h_ip_peer);
	/* The options a program would take on its command line, set by name. */
	dpw_engine_opts_init(&eng, argv[0]);
	if (dpw_engine_opt_set(&eng, "iface", env("DPW_IF_STACK"), err, sizeof(err)) != 0 ||
	    dpw_engine_opt_set(&eng, "ip", ipbuf, err, sizeof(err)) != 0)
		die(err);
	if (ip6 != NULL && *ip6 != '\0') {
		if (inet_pton(PF_INET6, ip6, &h_ip6_stack) != 1 ||
		    inet_pton(PF_INET6, env("DPW_IP6_PEER"), &h_ip6_peer) != 1)
			die("DPW_IP6_STACK or DPW_IP6_PEER is not an IPv6 address");
		snprintf(ip6buf, sizeof(ip6buf), "%s/%s", ip6, env("DPW_PREFIX6"));
		if (dpw_engine_opt_set(&eng, "ip6", ip6buf, err, sizeof(err)) != 0)
			die(err);
		h_have_ip6 = true;
	}
	if (lcores != NULL && dpw_engine_opt_set(&eng, "lcores", lcores, err, sizeof(err)) != 0)
		die(err);
	/* DPW_HARNESS_FLAGS (e.g. "no-zero-copy no-offloads"): engine flags, for a test run with
	 * a path turned off, to tell which one a failure comes from. */
	if (getenv("DPW_HARNESS_FLAGS") != NULL) {
		char flags[256], *save = NULL;

		snprintf(flags, sizeof(flags), "%s", getenv("DPW_HARNESS_FLAGS"));
		for (char *f = strtok_r(flags, " ", &save); f != NULL; f = strtok_r(NULL, " ", &save))
			if (dpw_engine_opt_set(&eng, f, NULL, err, sizeof(err)) != 0)
				die(err);
	}
	if (getenv("DPW_HARNESS_QUEUES") != NULL &&
	    dpw_engine_opt_set(&eng, "queues", getenv("DPW_HARNESS_QUEUES"), err, sizeof(err)) != 0)
		die(err);
	/* DPW_HARNESS_STEERING=toeplitz: TCP flows steered by a Toeplitz hash, as on a NIC with
	 * RSS (docs/many-lcores.md). */
	if (getenv("DPW_HARNESS_STEERING") != NULL && getenv("DPW_HARNESS_STEERING")[0] != '\0' &&
	    dpw_engine_opt_set(&eng, "steering", getenv("DPW_HARNESS_STEERING"), err,
			       sizeof(err)) != 0)
		die(err);
	if (dpw_engine_opts_finish(&eng, 0, NULL, err, sizeof(err)) != 0)
		die(err);
	if (eng.engine.queues > 1) {
		start_group();
		goto register_client;
	}
	engine = dpw_engine_opts_start(&eng, err, sizeof(err));
	if (engine == NULL)
		die(err);
	if (DpwProviderAttach(engine) != STATUS_SUCCESS)
		die("DpwProviderAttach failed");
	if (dpw_engine_add_poll_hook(engine, stats_hook, NULL) != 0)
		die("dpw_engine_add_poll_hook failed");
	if (dpw_engine_start(engine, err, sizeof(err)) != 0)
		die(err);
register_client:
	st = WskRegister(&npi, &h_reg);
	if (st != STATUS_SUCCESS)
		die("WskRegister failed");
	st = WskCaptureProviderNPI(&h_reg, WSK_INFINITE_WAIT, &h_npi);
	if (st != STATUS_SUCCESS)
		die("WskCaptureProviderNPI failed");
	learn_tables();
}

static void free_orphans(void);

/* WskDeregister waits for every socket of the client to close: a test that lost one (a
 * failed check, a provider bug) would hang there. Give it a bounded time, then say so. */
static _Atomic bool deregistered;

static void *deregister_thread(void *arg)
{
	(void)arg;
	WskReleaseProviderNPI(&h_reg);
	WskDeregister(&h_reg);
	atomic_store(&deregistered, true);
	return NULL;
}

int h_finish(void)
{
	pthread_t t;
	uint64_t end = h_now_ms() + 10000;

	if (pthread_create(&t, NULL, deregister_thread, NULL) != 0)
		die("pthread_create failed");
	while (!atomic_load(&deregistered) && h_now_ms() < end)
		usleep(10000);   /* bounded wait for another thread, not for the network */
	if (!atomic_load(&deregistered)) {
		DPW_PROVIDER_STATS ps;

		DpwGetProviderStats(&ps);
		fprintf(stderr, "FAIL harness: WskDeregister did not return within 10 s "
				"(%u sockets still open)\n", (unsigned)ps.SocketsOpen);
		printf("%d checks passed, %d failed\n", h_passes, h_failures + 1);
		fflush(stdout);
		_exit(1);
	}
	pthread_join(t, NULL);
	if (group != NULL)
		dpw_engine_group_join(group);
	else
		dpw_engine_join(engine);
	DpwProviderDetach();
	free_orphans();
	{
		/* Whatever the test did, every TCP socket kept to the provider's state machine. */
		DPW_PROVIDER_STATS ps;

		DpwGetProviderStats(&ps);
		H_CHECK(ps.BadTransitions == 0);
	}
	if (group != NULL) {
		struct dpw_engine_stats total;
		char line[DPW_STATS_LINE];

		dpw_engine_group_destroy(group, NULL, &total);
		dpw_engine_format_stats(&total, line, sizeof(line));
		printf("dpwsk: stats %s\n", line);
		dpw_eal_cleanup();
	} else {
		dpw_engine_opts_stop(engine);
	}
	printf("%d checks passed, %d failed\n", h_passes, h_failures);
	return h_failures == 0 ? 0 : 1;
}

/* ---- clients --------------------------------------------------------------------------------- */

NTSTATUS h_client_open(struct h_client *c, USHORT version)
{
	WSK_CLIENT_NPI npi = { c, &c->dispatch };
	NTSTATUS st;

	memset(c, 0, sizeof(*c));
	c->dispatch.Version = version;
	npi.Dispatch = &c->dispatch;
	st = WskRegister(&npi, &c->reg);
	if (st != STATUS_SUCCESS)
		return st;
	st = WskCaptureProviderNPI(&c->reg, 5000, &c->npi);
	if (st != STATUS_SUCCESS) {
		WskDeregister(&c->reg);
		memset(&c->npi, 0, sizeof(c->npi));
	}
	return st;
}

void h_client_close(struct h_client *c)
{
	if (c->npi.Client != NULL)
		WskReleaseProviderNPI(&c->reg);
	WskDeregister(&c->reg);
	memset(c, 0, sizeof(*c));
}

void h_use_client(const WSK_PROVIDER_NPI *npi)
{
	cur_npi = npi;
}

const WSK_PROVIDER_NPI *h_client_npi(void)
{
	return cur_npi != NULL ? cur_npi : &h_npi;
}

/* ---- IRPs ------------------------------------------------------------------------------------ */

static NTSTATUS on_complete(PDEVICE_OBJECT dev, PIRP irp, PVOID ctx)
{
	struct h_irp *h = ctx;

	(void)dev;
	h->status = irp->IoStatus.Status;
	h->info = irp->IoStatus.Information;
	h->thread = (uintptr_t)pthread_self();
	h->pending_returned = irp->PendingReturned;
	h->order = atomic_fetch_add(&completion_seq, 1) + 1;
	/* Last: the owner may free the IRP (or h) as soon as it sees the count move. */
	atomic_fetch_add(&h->completions, 1);
	return STATUS_MORE_PROCESSING_REQUIRED;   /* the test owns the IRP */
}

void h_irp_init(struct h_irp *h)
{
	memset(h, 0, sizeof(*h));
	h->irp = IoAllocateIrp(1, FALSE);
	if (h->irp == NULL)
		die("IoAllocateIrp failed");
	IoSetCompletionRoutine(h->irp, on_complete, h, TRUE, TRUE, TRUE);
}

void h_irp_reset(struct h_irp *h)
{
	PIRP irp = h->irp;

	memset(h, 0, sizeof(*h));
	h->irp = irp;
	IoReuseIrp(irp, STATUS_UNSUCCESSFUL);
	IoSetCompletionRoutine(irp, on_complete, h, TRUE, TRUE, TRUE);
}

size_t h_indication_bytes(PWSK_DATA_INDICATION di,
			  void (*piece)(const uint8_t *p, size_t len, void *arg), void *arg)
{
	size_t total = 0;

	for (; di != NULL; di = di->Next) {
		size_t off = di->Buffer.Offset, left = di->Buffer.Length;

		for (PMDL m = di->Buffer.Mdl; m != NULL && left > 0; m = m->Next, off = 0) {
			const uint8_t *p = MmGetSystemAddressForMdlSafe(m, NormalPagePriority);
			size_t n = MmGetMdlByteCount(m) - off;

			if (n > left)
				n = left;
			piece(p + off, n, arg);
			total += n;
			left -= n;
		}
	}
	return total;
}

bool h_irps_completed(void *set)
{
	const struct h_irp_set *c = set;

	for (int i = 0; i < c->n; i++)
		if (atomic_load(&c->irps[i].completions) == 0)
			return false;
	return true;
}

void h_irp_free(struct h_irp *h)
{
	IoFreeIrp(h->irp);
	h->irp = NULL;
}

bool h_wait(struct h_irp *h, unsigned timeout_ms)
{
	uint64_t end = h_now_ms() + timeout_ms;

	while (atomic_load(&h->completions) == 0 && h_now_ms() < end)
		WskWaitCompletions(h_client_npi()->Client, 64, 10);
	return atomic_load(&h->completions) > 0;
}

void h_pump(unsigned ms)
{
	uint64_t end = h_now_ms() + ms;

	while (h_now_ms() < end)
		WskWaitCompletions(h_client_npi()->Client, 64, 5);
}

bool h_pump_until(bool (*cond)(void *arg), void *arg, unsigned timeout_ms)
{
	uint64_t end = h_now_ms() + timeout_ms;

	while (!cond(arg)) {
		if (h_now_ms() >= end)
			return cond(arg);
		WskWaitCompletions(h_client_npi()->Client, 64, 2);
	}
	return true;
}

/* ---- dispatch tables ------------------------------------------------------------------------- */

/* Every socket category starts with WskControlSocket and WskCloseSocket (R5), and Bind
 * follows for all but basic, so any table reaches those through the stream layout.
 * Connection and stream tables differ in order past Bind (R5): pick the right one. The
 * provider's tables are learnt once at start (learn_tables), so a socket's category is known
 * from its Dispatch pointer, accepted sockets included. */
/* How long the synchronous helpers wait for a completion. */
static unsigned sync_wait_ms = 5000;

void h_set_sync_wait(unsigned ms)
{
	sync_wait_ms = ms;
}

static const VOID *table_of[16];

static void learn_tables(void)
{
	/* The engine's first passes: on a machine loaded far past its CPUs, a lcore just started
	 * was seen to take more than the 5 s a call is given. Not what any test examines. */
	unsigned saved = sync_wait_ms;

	static const ULONG cats[] = { WSK_FLAG_LISTEN_SOCKET, WSK_FLAG_CONNECTION_SOCKET,
				      WSK_FLAG_DATAGRAM_SOCKET, WSK_FLAG_STREAM_SOCKET };
	struct h_client c;

	if (h_client_open(&c, MAKE_WSK_VERSION(1, 0)) != STATUS_SUCCESS)
		die("cannot register a client to learn the dispatch tables");
	h_use_client(&c.npi);
	for (size_t i = 0; i < sizeof(cats) / sizeof(cats[0]); i++) {
		PWSK_SOCKET s;

		sync_wait_ms = 60000;
		if (h_socket(cats[i], NULL, NULL, &s) != STATUS_SUCCESS)
			die("cannot create a socket to learn the dispatch tables");
		sync_wait_ms = saved;
		table_of[cats[i]] = s->Dispatch;
		h_close(s);
	}
	h_use_client(NULL);
	h_client_close(&c);
}

ULONG h_category(PWSK_SOCKET s)
{
	for (ULONG c = 0; c < 16; c++)
		if (s != NULL && table_of[c] != NULL && s->Dispatch == table_of[c])
			return c;
	return ~0u;
}

static bool is_connection(PWSK_SOCKET s)
{
	return h_category(s) == WSK_FLAG_CONNECTION_SOCKET;
}

/* ---- synchronous helpers --------------------------------------------------------------------- */

void h_sockaddr(SOCKADDR_IN *sa, uint32_t ip, uint16_t port)
{
	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	sa->sin_port = htons(port);
	sa->sin_addr.s_addr = ip;
}

void h_sockaddr6(SOCKADDR_IN6 *sa, const IN6_ADDR *ip, uint16_t port)
{
	memset(sa, 0, sizeof(*sa));
	sa->sin6_family = AF_INET6;   /* Windows' 23 (sockaddr.h) */
	sa->sin6_port = htons(port);
	if (ip != NULL)
		sa->sin6_addr = *ip;
}

void h_addr(SOCKADDR_INET *sa, ADDRESS_FAMILY af, enum h_host who, uint16_t port)
{
	if (af == AF_INET6)
		h_sockaddr6(&sa->Ipv6, who == H_STACK ? &h_ip6_stack : who == H_PEER ? &h_ip6_peer
										 : NULL,
			    port);
	else
		h_sockaddr(&sa->Ipv4, who == H_STACK ? h_ip_stack : who == H_PEER ? h_ip_peer : 0,
			   port);
}

bool h_addr_is(const SOCKADDR_INET *sa, ADDRESS_FAMILY af, enum h_host who, uint16_t port)
{
	SOCKADDR_INET want;

	h_addr(&want, af, who, port);
	if (sa->si_family != af)
		return false;
	if (af == AF_INET6)
		return sa->Ipv6.sin6_port == want.Ipv6.sin6_port &&
		       memcmp(&sa->Ipv6.sin6_addr, &want.Ipv6.sin6_addr, sizeof(IN6_ADDR)) == 0;
	return sa->Ipv4.sin_port == want.Ipv4.sin_port &&
	       sa->Ipv4.sin_addr.s_addr == want.Ipv4.sin_addr.s_addr;
}

const char *h_addr_str(const SOCKADDR_INET *sa, char *buf, size_t len)
{
	char ip[INET6_ADDRSTRLEN];

	if (sa->si_family == AF_INET6) {
		inet_ntop(PF_INET6, &sa->Ipv6.sin6_addr, ip, sizeof(ip));
		snprintf(buf, len, "family %u [%s]:%u scope %u", sa->si_family, ip,
			 ntohs(sa->Ipv6.sin6_port), (unsigned)sa->Ipv6.sin6_scope_id);
	} else if (sa->si_family == AF_INET) {
		inet_ntop(PF_INET, &sa->Ipv4.sin_addr, ip, sizeof(ip));
		snprintf(buf, len, "family %u %s:%u", sa->si_family, ip, ntohs(sa->Ipv4.sin_port));
	} else {
		snprintf(buf, len, "family %u", sa->si_family);
	}
	return buf;
}

static NTSTATUS finish_sync(struct h_irp *h, NTSTATUS issued)
{
	NTSTATUS st;

	if (issued != STATUS_PENDING && issued != STATUS_SUCCESS && h->completions == 0 &&
	    !h_wait(h, 100)) {
		h_irp_free(h);
		return issued;   /* refused before taking the IRP */
	}
	st = h_wait(h, sync_wait_ms) ? h->status : STATUS_IO_TIMEOUT;
	/* W1: every call the helpers make checks Windows' flag, which drivers that wait on an
	 * event test before signalling it. */
	if (st != STATUS_IO_TIMEOUT)
		h_check((issued == STATUS_PENDING) == (h->pending_returned != FALSE),
			"W1: Irp->PendingReturned is set exactly when the call returned "
			"STATUS_PENDING", __FILE__, __LINE__);
	if (st == STATUS_IO_TIMEOUT) {
		/* Too late: cancel it, so that it does not write into the caller's buffers
		 * later. If even that does not complete it, it stays the provider's (the caller
		 * then keeps it for h_finish, see orphan()). */
		IoCancelIrp(h->irp);
		if (!h_wait(h, 1000))
			return st;
	}
	h_irp_free(h);
	return st;
}

/* Buffers of the sync I/O helpers: on the heap, kept with the IRP if it never completes. */
struct io_ctx {
	struct h_irp *h;
	struct h_buf b;
};

/* Helper IRPs that never completed, with their buffers: kept until h_finish, so that a
 * completion that comes after all touches valid memory. */
struct orphan {
	struct h_irp *h;
	struct io_ctx *io;
	struct orphan *next;
};
static struct orphan *orphans;
static pthread_mutex_t orphans_lock = PTHREAD_MUTEX_INITIALIZER;

static void orphan(struct h_irp *h, struct io_ctx *io)
{
	struct orphan *o = malloc(sizeof(*o));

	if (o == NULL)
		return;   /* leaked for good */
	o->h = h;
	o->io = io;
	pthread_mutex_lock(&orphans_lock);
	o->next = orphans;
	orphans = o;
	pthread_mutex_unlock(&orphans_lock);
}

static void free_orphans(void)
{
	while (orphans != NULL) {
		struct orphan *o = orphans;

		orphans = o->next;
		IoFreeIrp(o->h->irp);   /* refused (and counted) if the provider still holds it */
		if (o->io != NULL) {
			h_buf_free(&o->io->b);
			free(o->io);
		}
		free(o->h);
		free(o);
	}
}

/* The sync helpers keep their h_irp on the heap, for orphan(). */
static struct h_irp *irp_new(void)
{
	struct h_irp *h = malloc(sizeof(*h));

	if (h == NULL)
		die("out of memory");
	h_irp_init(h);
	return h;
}

static NTSTATUS sync_done(struct h_irp *h, NTSTATUS issued, ULONG_PTR *info)
{
	NTSTATUS st = finish_sync(h, issued);

	if (info != NULL)
		*info = st == STATUS_IO_TIMEOUT ? 0 : h->info;
	if (h->irp != NULL)
		orphan(h, NULL);
	else
		free(h);
	return st;
}

NTSTATUS h_socket(ULONG category, PVOID ctx, const VOID *dispatch, PWSK_SOCKET *out)
{
	return h_socket_af(AF_INET, category, ctx, dispatch, out);
}

NTSTATUS h_socket_af(ADDRESS_FAMILY af, ULONG category, PVOID ctx, const VOID *dispatch,
		     PWSK_SOCKET *out)
{
	const WSK_PROVIDER_NPI *npi = h_client_npi();
	struct h_irp *h = irp_new();
	ULONG_PTR info;
	NTSTATUS st;

	st = npi->Dispatch->WskSocket(npi->Client, af,
				      category == WSK_FLAG_DATAGRAM_SOCKET ? SOCK_DGRAM
									   : SOCK_STREAM,
				      category == WSK_FLAG_DATAGRAM_SOCKET ? IPPROTO_UDP
									   : IPPROTO_TCP,
				      category, ctx, dispatch, NULL, NULL, NULL, h->irp);
	st = sync_done(h, st, &info);
	*out = st == STATUS_SUCCESS ? (PWSK_SOCKET)info : NULL;
	return st;
}

NTSTATUS h_bind_sa(PWSK_SOCKET s, const SOCKADDR *sa)
{
	struct h_irp *h = irp_new();

	/* WskBind sits right after the two basic members in every table that has it. */
	return sync_done(h, DpwStreamDispatch(s)->WskBind(s, (PSOCKADDR)sa, 0, h->irp), NULL);
}

NTSTATUS h_bind(PWSK_SOCKET s, uint32_t ip, uint16_t port)
{
	SOCKADDR_IN sa;

	h_sockaddr(&sa, ip, port);
	return h_bind_sa(s, (PSOCKADDR)&sa);
}

NTSTATUS h_connect_sa(PWSK_SOCKET s, const SOCKADDR *sa)
{
	struct h_irp *h = irp_new();
	NTSTATUS st;

	if (is_connection(s))
		st = DpwConnectionDispatch(s)->WskConnect(s, (PSOCKADDR)sa, 0, h->irp);
	else
		st = DpwStreamDispatch(s)->WskConnect(s, (PSOCKADDR)sa, 0, h->irp);
	return sync_done(h, st, NULL);
}

NTSTATUS h_connect(PWSK_SOCKET s, uint32_t ip, uint16_t port)
{
	SOCKADDR_IN sa;

	h_sockaddr(&sa, ip, port);
	return h_connect_sa(s, (PSOCKADDR)&sa);
}

NTSTATUS h_listen(PWSK_SOCKET s)
{
	struct h_irp *h = irp_new();

	return sync_done(h, DpwStreamDispatch(s)->WskListen(s, h->irp), NULL);
}

NTSTATUS h_close(PWSK_SOCKET s)
{
	struct h_irp *h = irp_new();

	return sync_done(h, DpwBasicDispatch(s)->WskCloseSocket(s, h->irp), NULL);
}

void h_buf_init(struct h_buf *b, void *data, size_t len)
{
	b->mdl = len > 0 ? IoAllocateMdl(data, (ULONG)len, FALSE, FALSE, NULL) : NULL;
	b->wb.Mdl = b->mdl;
	b->wb.Offset = 0;
	b->wb.Length = len;
}

void h_buf_free(struct h_buf *b)
{
	if (b->mdl != NULL)
		IoFreeMdl(b->mdl);
	b->mdl = NULL;
}

/* Send, Receive, Disconnect and the address calls, through either table. */
static NTSTATUS call_send(PWSK_SOCKET s, PWSK_BUF b, ULONG flags, PIRP irp)
{
	return is_connection(s) ? DpwConnectionDispatch(s)->WskSend(s, b, flags, irp)
				: DpwStreamDispatch(s)->WskSend(s, b, flags, irp);
}

static NTSTATUS call_receive(PWSK_SOCKET s, PWSK_BUF b, ULONG flags, PIRP irp)
{
	return is_connection(s) ? DpwConnectionDispatch(s)->WskReceive(s, b, flags, irp)
				: DpwStreamDispatch(s)->WskReceive(s, b, flags, irp);
}

static NTSTATUS call_disconnect(PWSK_SOCKET s, PWSK_BUF b, ULONG flags, PIRP irp)
{
	return is_connection(s) ? DpwConnectionDispatch(s)->WskDisconnect(s, b, flags, irp)
				: DpwStreamDispatch(s)->WskDisconnect(s, b, flags, irp);
}


static NTSTATUS io_done(struct io_ctx *io, NTSTATUS issued, ULONG_PTR *info)
{
	struct h_irp *h = io->h;
	NTSTATUS st = finish_sync(h, issued);

	if (info != NULL)
		*info = st == STATUS_IO_TIMEOUT ? 0 : h->info;
	if (h->irp != NULL) {
		orphan(h, io);
	} else {
		h_buf_free(&io->b);
		free(h);
		free(io);
	}
	return st;
}

static struct io_ctx *io_new(const void *data, size_t len)
{
	struct io_ctx *io = calloc(1, sizeof(*io));

	if (io == NULL)
		die("out of memory");
	io->h = irp_new();
	h_buf_init(&io->b, (void *)data, len);
	return io;
}

NTSTATUS h_send(PWSK_SOCKET s, const void *data, size_t len, ULONG flags)
{
	struct io_ctx *io = io_new(data, len);

	return io_done(io, call_send(s, &io->b.wb, flags, io->h->irp), NULL);
}

NTSTATUS h_receive(PWSK_SOCKET s, void *data, size_t len, ULONG flags, size_t *got)
{
	struct io_ctx *io = io_new(data, len);
	ULONG_PTR info;
	NTSTATUS st = io_done(io, call_receive(s, &io->b.wb, flags, io->h->irp), &info);

	if (got != NULL)
		*got = (size_t)info;
	return st;
}

NTSTATUS h_disconnect(PWSK_SOCKET s, const void *data, size_t len, ULONG flags)
{
	struct io_ctx *io = io_new(data, data != NULL ? len : 0);

	return io_done(io, call_disconnect(s, data != NULL && len > 0 ? &io->b.wb : NULL, flags,
					   io->h->irp),
		       NULL);
}

NTSTATUS h_accept(PWSK_SOCKET l, PVOID ctx, const VOID *dispatch, SOCKADDR_IN *local,
		  SOCKADDR_IN *remote, PWSK_SOCKET *out)
{
	return h_accept_sa(l, ctx, dispatch, (PSOCKADDR)local, (PSOCKADDR)remote, out);
}

NTSTATUS h_accept_sa(PWSK_SOCKET l, PVOID ctx, const VOID *dispatch, PSOCKADDR local,
		     PSOCKADDR remote, PWSK_SOCKET *out)
{
	struct h_irp *h = irp_new();
	ULONG_PTR info;
	NTSTATUS st;

	/* WskAccept has the same place in the listen and the stream table (R5). */
	st = DpwListenDispatch(l)->WskAccept(l, 0, ctx, dispatch, local, remote, h->irp);
	st = sync_done(h, st, &info);
	*out = st == STATUS_SUCCESS ? (PWSK_SOCKET)info : NULL;
	return st;
}

static NTSTATUS address_call(PWSK_SOCKET s, PSOCKADDR sa, size_t len, bool local)
{
	struct h_irp *h = irp_new();
	NTSTATUS st;

	memset(sa, 0, len);
	if (is_connection(s)) {
		st = local ? DpwConnectionDispatch(s)->WskGetLocalAddress(s, sa, h->irp)
			   : DpwConnectionDispatch(s)->WskGetRemoteAddress(s, sa, h->irp);
	} else if (local && h_category(s) == WSK_FLAG_LISTEN_SOCKET) {
		st = DpwListenDispatch(s)->WskGetLocalAddress(s, sa, h->irp);
	} else if (local && h_category(s) == WSK_FLAG_DATAGRAM_SOCKET) {
		st = DpwDatagramDispatch(s)->WskGetLocalAddress(s, sa, h->irp);
	} else {
		st = local ? DpwStreamDispatch(s)->WskGetLocalAddress(s, sa, h->irp)
			   : DpwStreamDispatch(s)->WskGetRemoteAddress(s, sa, h->irp);
	}
	return sync_done(h, st, NULL);
}

NTSTATUS h_local_address(PWSK_SOCKET s, SOCKADDR_IN *sa)
{
	return address_call(s, (PSOCKADDR)sa, sizeof(*sa), true);
}

NTSTATUS h_remote_address(PWSK_SOCKET s, SOCKADDR_IN *sa)
{
	return address_call(s, (PSOCKADDR)sa, sizeof(*sa), false);
}

NTSTATUS h_local_address_sa(PWSK_SOCKET s, SOCKADDR_INET *sa)
{
	return address_call(s, (PSOCKADDR)sa, sizeof(*sa), true);
}

NTSTATUS h_remote_address_sa(PWSK_SOCKET s, SOCKADDR_INET *sa)
{
	return address_call(s, (PSOCKADDR)sa, sizeof(*sa), false);
}

NTSTATUS h_set_events(PWSK_SOCKET s, ULONG mask)
{
	WSK_EVENT_CALLBACK_CONTROL ctl = { (PNPIID)&NPI_WSK_INTERFACE_ID, mask };
	struct h_irp *h = irp_new();

	return sync_done(h, DpwBasicDispatch(s)->WskControlSocket(s, WskSetOption,
								  SO_WSK_EVENT_CALLBACK, SOL_SOCKET,
								  sizeof(ctl), &ctl, 0, NULL, NULL,
								  h->irp), NULL);
}

SIZE_T h_receive_backlog(PWSK_SOCKET s)
{
	struct h_irp *h = irp_new();
	SIZE_T v = (SIZE_T)-1;

	if (sync_done(h, DpwConnectionDispatch(s)->WskControlSocket(
				 s, WskIoctl, SIO_WSK_QUERY_RECEIVE_BACKLOG, 0, 0, NULL, sizeof(v),
				 &v, NULL, h->irp), NULL) != STATUS_SUCCESS)
		return (SIZE_T)-1;
	return v;
}

NTSTATUS h_connect_to_peer_ex(ULONG category, PVOID ctx, const VOID *dispatch, uint16_t port,
			      PWSK_SOCKET *out)
{
	return h_connect_to_peer_af(AF_INET, category, ctx, dispatch, port, out);
}

NTSTATUS h_connect_to_peer_af(ADDRESS_FAMILY af, ULONG category, PVOID ctx,
			      const VOID *dispatch, uint16_t port, PWSK_SOCKET *out)
{
	SOCKADDR_INET any, peer;
	PWSK_SOCKET s;
	NTSTATUS st = h_socket_af(af, category, ctx, dispatch, &s);

	*out = NULL;
	if (st != STATUS_SUCCESS)
		return st;
	h_addr(&any, af, H_ANY, 0);
	h_addr(&peer, af, H_PEER, port);
	st = h_bind_sa(s, (PSOCKADDR)&any);
	if (st == STATUS_SUCCESS)
		st = h_connect_sa(s, (PSOCKADDR)&peer);
	if (st != STATUS_SUCCESS) {
		h_close(s);
		return st;
	}
	*out = s;
	return st;
}

NTSTATUS h_connect_to_peer(uint16_t port, PWSK_SOCKET *out)
{
	return h_connect_to_peer_ex(WSK_FLAG_STREAM_SOCKET, NULL, NULL, port, out);
}

NTSTATUS h_listener(ULONG category, uint16_t port, PVOID ctx, const VOID *dispatch,
		    PWSK_SOCKET *out)
{
	return h_listener_af(AF_INET, category, H_STACK, port, ctx, dispatch, out);
}

NTSTATUS h_listener_af(ADDRESS_FAMILY af, ULONG category, enum h_host where, uint16_t port,
		       PVOID ctx, const VOID *dispatch, PWSK_SOCKET *out)
{
	SOCKADDR_INET local;
	PWSK_SOCKET s;
	NTSTATUS st = h_socket_af(af, category, ctx, dispatch, &s);

	*out = NULL;
	if (st != STATUS_SUCCESS)
		return st;
	h_addr(&local, af, where, port);
	st = h_bind_sa(s, (PSOCKADDR)&local);
	if (st == STATUS_SUCCESS && category == WSK_FLAG_STREAM_SOCKET)
		st = h_listen(s);
	if (st != STATUS_SUCCESS) {
		h_close(s);
		return st;
	}
	*out = s;
	return st;
}

/* The engine's counters belong to the lcore: a poll hook takes the snapshot there when a
 * test thread asks for one. */
static pthread_mutex_t stats_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t stats_cond = PTHREAD_COND_INITIALIZER;
static _Atomic bool stats_wanted;
static bool stats_ready;
static struct dpw_engine_stats stats_snapshot;

static void stats_hook(void *arg)
{
	(void)arg;
	if (!atomic_load_explicit(&stats_wanted, memory_order_relaxed))
		return;
	pthread_mutex_lock(&stats_lock);
	dpw_engine_get_stats(engine, &stats_snapshot);
	stats_ready = true;
	atomic_store(&stats_wanted, false);
	pthread_cond_broadcast(&stats_cond);
	pthread_mutex_unlock(&stats_lock);
}

static bool engine_stats(struct dpw_engine_stats *out)
{
	struct timespec t;
	bool ok;

	if (group != NULL) {
		/* Several lcores: the engines' published snapshots, each taken after this call,
		 * so that they show what the test just did (as the one-engine path below does). */
		struct dpw_engine_stats one;
		bool fresh = true;

		for (uint16_t q = 0; q < dpw_engine_group_size(group); q++)
			fresh &= dpw_engine_get_fresh_stats(dpw_engine_group_engine(group, q), &one,
							    2000);
		dpw_engine_group_stats(group, out);
		return fresh;
	}
	clock_gettime(CLOCK_REALTIME, &t);
	t.tv_sec += 2;
	pthread_mutex_lock(&stats_lock);
	stats_ready = false;
	atomic_store(&stats_wanted, true);
	while (!stats_ready && pthread_cond_timedwait(&stats_cond, &stats_lock, &t) == 0)
		;
	ok = stats_ready;
	if (ok)
		*out = stats_snapshot;
	pthread_mutex_unlock(&stats_lock);
	return ok;
}

bool h_engine_stats(struct dpw_engine_stats *out)
{
	return engine_stats(out);
}

bool h_engine_stats_of(unsigned queue, struct dpw_engine_stats *out)
{
	struct dpw_engine *e;

	if (group == NULL)
		return queue == 0 && engine_stats(out);
	e = dpw_engine_group_engine(group, (uint16_t)queue);
	if (e == NULL)
		return false;
	return dpw_engine_get_fresh_stats(e, out, 2000);   /* a snapshot taken after this call */
}

uint32_t h_tcp_pcbs_in_use(void)
{
	struct dpw_engine_stats es;

	return engine_stats(&es) ? es.tcp_pcbs_in_use : UINT32_MAX;
}

uint32_t h_tcp_pcbs_total(void)
{
	struct dpw_engine_stats es;

	return engine_stats(&es) ? es.tcp_pcbs_total : UINT32_MAX;
}

uint64_t h_syn_dropped(void)
{
	struct dpw_engine_stats es;

	return engine_stats(&es) ? es.syn_dropped : UINT64_MAX;
}

uint32_t h_mbufs_in_use(void)
{
	struct dpw_engine_stats es;

	return engine_stats(&es) ? es.mbuf_in_use : UINT32_MAX;
}

uint64_t h_tcp_segments_dropped(void)
{
	struct dpw_engine_stats es;

	return engine_stats(&es) ? es.drop_tcp_other : UINT64_MAX;
}

ULONG h_sockets_open(void)
{
	DPW_PROVIDER_STATS ps;

	DpwGetProviderStats(&ps);
	return ps.SocketsOpen;
}

static bool sockets_open_is(void *arg)
{
	return h_sockets_open() == *(ULONG *)arg;
}

bool h_wait_sockets_open(ULONG n, unsigned timeout_ms)
{
	return h_pump_until(sockets_open_is, &n, timeout_ms);
}

void h_fill_pattern(void *buf, size_t len, uint32_t seed, uint64_t pos)
{
	uint8_t *p = buf;

	for (size_t i = 0; i < len; i++)
		p[i] = h_pattern(seed, pos + i);
}

size_t h_check_pattern(const void *buf, size_t len, uint32_t seed, uint64_t pos)
{
	const uint8_t *p = buf;

	for (size_t i = 0; i < len; i++)
		if (p[i] != h_pattern(seed, pos + i))
			return i;
	return len;
}

/* ---- the Linux peer -------------------------------------------------------------------------- */

/* Only this thread moves, and only for the one call: what it creates stays in the peer
 * namespace for good, and the thread comes back to the stack's. */
static void enter_peer_ns(void)
{
	if (setns(ns_peer_fd, CLONE_NEWNET) != 0)
		die("setns into the peer namespace failed");
}

static void leave_peer_ns(void)
{
	if (setns(ns_stack_fd, CLONE_NEWNET) != 0)
		die("setns back into the stack namespace failed");
}

/* The host's number for a family given either way (Windows' AF_INET6 23, or PF_INET6). */
static int host_af(int af)
{
	return af == DPW_AF_INET6 || af == PF_INET6 ? PF_INET6 : PF_INET;
}

socklen_t peer_sockaddr(int af, enum h_host who, uint16_t port, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (host_af(af) == PF_INET6) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;

		a->sin6_family = PF_INET6;
		a->sin6_port = htons(port);
		if (who != H_ANY)
			a->sin6_addr = who == H_STACK ? h_ip6_stack : h_ip6_peer;
		return sizeof(*a);
	} else {
		struct sockaddr_in *a = (struct sockaddr_in *)ss;

		a->sin_family = PF_INET;
		a->sin_port = htons(port);
		a->sin_addr.s_addr = who == H_STACK ? h_ip_stack : who == H_PEER ? h_ip_peer : 0;
		return sizeof(*a);
	}
}

int peer_socket_af(int af, int type)
{
	int fd, one = 1;

	enter_peer_ns();
	fd = socket(host_af(af), type | SOCK_CLOEXEC, 0);
	leave_peer_ns();
	/* IPv6 sockets are IPv6 only, whatever net.ipv6.bindv6only says. */
	if (fd >= 0 && host_af(af) == PF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	return fd;
}

int peer_socket(int type)
{
	return peer_socket_af(PF_INET, type);
}

int peer_listen_af(int af, uint16_t port)
{
	struct sockaddr_storage a;
	socklen_t len = peer_sockaddr(af, H_PEER, port, &a);
	int one = 1, fd = peer_socket_af(af, SOCK_STREAM);

	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&a, len) != 0 || listen(fd, 128) != 0)
		die("peer listen failed");
	return fd;
}

int peer_listen(uint16_t port)
{
	return peer_listen_af(PF_INET, port);
}

int peer_accept(int lfd, unsigned timeout_ms)
{
	struct pollfd p = { .fd = lfd, .events = POLLIN };

	if (poll(&p, 1, (int)timeout_ms) != 1)
		return -1;
	return accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
}

int peer_connect(uint16_t port)
{
	return peer_connect_af(PF_INET, port);
}

int peer_connect_af(int af, uint16_t port)
{
	struct sockaddr_storage a;
	socklen_t len = peer_sockaddr(af, H_STACK, port, &a);
	struct timeval tv = { 5, 0 };
	int fd = peer_socket_af(af, SOCK_STREAM);

	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&a, len) != 0) {
		fprintf(stderr, "harness: peer connect to port %u: %s\n", port, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

int peer_connect_start(uint16_t port)
{
	return peer_connect_start_af(PF_INET, port);
}

int peer_connect_start_af(int af, uint16_t port)
{
	struct sockaddr_storage a;
	socklen_t len = peer_sockaddr(af, H_STACK, port, &a);
	int fd = peer_socket_af(af, SOCK_STREAM | SOCK_NONBLOCK);

	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&a, len) != 0 && errno != EINPROGRESS) {
		close(fd);
		return -1;
	}
	return fd;
}

NTSTATUS h_send_to(PWSK_SOCKET s, const void *data, size_t len, const void *to,
		   ULONG_PTR *info)
{
	struct h_irp *h = irp_new();
	struct h_buf b;
	NTSTATUS st;

	h_buf_init(&b, (void *)data, len);
	st = sync_done(h, DpwDatagramDispatch(s)->WskSendTo(s, &b.wb, 0, (PSOCKADDR)to, 0, NULL,
							    h->irp), info);
	if (st != STATUS_IO_TIMEOUT)   /* else the provider may still read it */
		h_buf_free(&b);
	return st;
}

int peer_wait_error(int fd, unsigned timeout_ms)
{
	struct pollfd p = { .fd = fd, .events = 0 };
	int err = 0;
	socklen_t len = sizeof(err);

	if (poll(&p, 1, (int)timeout_ms) != 1)
		return -ETIMEDOUT;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
		return -errno;
	return err;
}

int peer_connect_finish(int fd, unsigned timeout_ms)
{
	struct pollfd p = { .fd = fd, .events = POLLOUT };
	int err = 0;
	socklen_t len = sizeof(err);

	if (poll(&p, 1, (int)timeout_ms) != 1)
		return -ETIMEDOUT;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
		return -errno;
	return -err;
}

long peer_read(int fd, void *buf, size_t len, unsigned timeout_ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	ssize_t n;

	if (poll(&p, 1, (int)timeout_ms) != 1)
		return -ETIMEDOUT;
	n = recv(fd, buf, len, MSG_DONTWAIT);
	return n < 0 ? -errno : n;
}

long peer_read_all(int fd, void *buf, size_t len, unsigned timeout_ms)
{
	size_t got = 0;

	while (got < len) {
		long n = peer_read(fd, (char *)buf + got, len - got, timeout_ms);

		if (n <= 0)
			return n;
		got += (size_t)n;
	}
	return (long)got;
}

long peer_drain(int fd, unsigned timeout_ms, size_t *bytes)
{
	char buf[16384];
	size_t total = 0;
	long n;

	while ((n = peer_read(fd, buf, sizeof(buf), timeout_ms)) > 0)
		total += (size_t)n;
	if (bytes != NULL)
		*bytes = total;
	return n;
}

bool peer_write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len > 0) {
		struct pollfd pf = { .fd = fd, .events = POLLOUT };
		ssize_t n;

		if (poll(&pf, 1, 5000) != 1)
			return false;
		n = send(fd, p, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (n <= 0)
			return false;
		p += n;
		len -= (size_t)n;
	}
	return true;
}

int peer_unacked(int fd)
{
	int n = -1;

	if (ioctl(fd, SIOCOUTQ, &n) != 0)
		return -1;
	return n;
}

void peer_abort(int fd)
{
	struct linger l = { 1, 0 };

	setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
	close(fd);
}

void peer_set_rcvbuf(int fd, int bytes)
{
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &bytes, sizeof(bytes));
}

uint16_t peer_local_port(int fd)
{
	struct sockaddr_storage a;
	socklen_t len = sizeof(a);

	if (getsockname(fd, (struct sockaddr *)&a, &len) != 0)
		return 0;
	/* the port has the same place in both families' structures */
	return ntohs(((struct sockaddr_in *)&a)->sin_port);
}

/* ---- the wire tap ---------------------------------------------------------------------------- */

bool h_tap_open(struct h_tap *t)
{
	struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL) };
	int fd;

	enter_peer_ns();
	fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, htons(ETH_P_ALL));
	sll.sll_ifindex = (int)if_nametoindex(env("DPW_IF_PEER"));
	leave_peer_ns();
	t->fd = -1;
	if (fd < 0 || sll.sll_ifindex == 0)
		goto fail;
	if (bind(fd, (struct sockaddr *)&sll, sizeof(sll)) != 0)
		goto fail;
	/* Frames queued before the bind may come from any interface: drop them. */
	while (recv(fd, (char[64]){ 0 }, 64, MSG_DONTWAIT) >= 0)
		;
	t->fd = fd;
	return true;
fail:
	if (fd >= 0)
		close(fd);
	return false;
}

static void tap_count(struct h_tap_counts *c, bool from_stack, bool from_peer, uint8_t flags)
{
	if (from_stack) {
		c->rst_from_stack += (flags & 0x04) != 0;
		c->fin_from_stack += (flags & 0x01) != 0;
		c->syn_from_stack += (flags & 0x02) != 0;
	} else if (from_peer) {
		c->rst_from_peer += (flags & 0x04) != 0;
		c->fin_from_peer += (flags & 0x01) != 0;
	}
}

/* TCP over IPv6, with no extension header before it (neither side sends any). */
static void tap_frame6(const uint8_t *f, size_t n, struct h_tap_counts *c)
{
	const uint8_t *ip = f + 14;

	if (n < 14 + 40 + 20 || (ip[0] >> 4) != 6 || ip[6] != 6)
		return;
	c->v6_tcp++;
	tap_count(c, memcmp(ip + 8, &h_ip6_stack, 16) == 0, memcmp(ip + 8, &h_ip6_peer, 16) == 0,
		  ip[40 + 13]);
}

static void tap_frame(const uint8_t *f, size_t n, struct h_tap_counts *c)
{
	const uint8_t *ip = f + 14, *tcp;
	uint32_t src;
	size_t ihl;
	uint8_t flags;

	if (n >= 14 && f[12] == 0x86 && f[13] == 0xdd) {
		if (h_have_ip6)
			tap_frame6(f, n, c);
		return;
	}
	if (n < 14 + 20 || f[12] != 0x08 || f[13] != 0x00 || (ip[0] >> 4) != 4 || ip[9] != 6)
		return;
	ihl = (size_t)(ip[0] & 0xf) * 4;
	if (n < 14 + ihl + 20)
		return;
	tcp = ip + ihl;
	flags = tcp[13];
	memcpy(&src, ip + 12, 4);
	c->v4_tcp++;
	tap_count(c, src == h_ip_stack, src == h_ip_peer, flags);
}

void h_tap_collect(struct h_tap *t, struct h_tap_counts *c, unsigned ms)
{
	uint64_t end = h_now_ms() + ms;
	uint8_t frame[2048];

	for (;;) {
		struct pollfd p = { .fd = t->fd, .events = POLLIN };
		uint64_t now = h_now_ms();
		ssize_t n;

		while ((n = recv(t->fd, frame, sizeof(frame), MSG_DONTWAIT)) > 0)
			tap_frame(frame, (size_t)n, c);
		if (now >= end)
			break;
		poll(&p, 1, (int)(end - now));
	}
}

void h_tap_close(struct h_tap *t)
{
	if (t->fd >= 0)
		close(t->fd);
	t->fd = -1;
}

/* Heap IRPs for the synchronous helpers: one whose wait runs out is left to the provider
 * (leaked), so that its late completion never writes into a dead stack frame. */
struct h_irp *h_irp_new(void)
{
	struct h_irp *h = malloc(sizeof(*h));

	if (h == NULL)
		exit(1);
	h_irp_init(h);
	return h;
}

/* Wait for an IRP issued by a call that returned `issued`; its status (and Information). A
 * call refused before taking the IRP (R3) returns its status without completing it. */
NTSTATUS h_irp_done(struct h_irp *h, NTSTATUS issued, ULONG_PTR *info)
{
	NTSTATUS st;

	if (info != NULL)
		*info = 0;
	if (issued != STATUS_PENDING && issued != STATUS_SUCCESS && !h_wait(h, 200)) {
		h_irp_free(h);
		free(h);
		return issued;
	}
	if (!h_wait(h, 5000))
		return STATUS_IO_TIMEOUT;
	st = h->status;
	if (info != NULL)
		*info = h->info;
	h_irp_free(h);
	free(h);
	return st;
}

bool h_datagrams_received(void *target)
{
	DPW_DATAGRAM_STATS s;

	DpwGetDatagramStats(&s);
	return s.Received >= *(ULONGLONG *)target;
}

bool h_datagrams_dropped(void *target)
{
	DPW_DATAGRAM_STATS s;

	DpwGetDatagramStats(&s);
	return s.QueueDrops >= *(ULONGLONG *)target;
}
