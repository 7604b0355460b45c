/* The WSK test harness (see harness.h). */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "dpw/cli.h"
#include "dpw/engine.h"
#include "harness.h"

WSK_PROVIDER_NPI h_npi;
WSK_REGISTRATION h_reg;
uint32_t h_ip_stack, h_ip_peer;
int h_failures, h_passes;

static struct dpw_engine *engine;
static struct dpw_cli cli;
static int ns_stack_fd = -1, ns_peer_fd = -1;
static uint64_t completion_seq;

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

void h_start(int argc, char **argv)
{
	char ipbuf[64], err[DPW_ERRLEN];
	char *args[] = { argv[0], "--iface", (char *)env("DPW_IF_STACK"), "--ip", ipbuf, NULL };
	WSK_CLIENT_NPI npi = { NULL, &client_dispatch };
	NTSTATUS st;

	(void)argc;
	setvbuf(stdout, NULL, _IOLBF, 0);
	ns_stack_fd = open_ns(env("DPW_NS_STACK"));
	ns_peer_fd = open_ns(env("DPW_NS_PEER"));
	if (setns(ns_stack_fd, CLONE_NEWNET) != 0)
		die("setns into the stack namespace failed");
	snprintf(ipbuf, sizeof(ipbuf), "%s/%s", env("DPW_IP_STACK"), env("DPW_PREFIX"));
	inet_pton(AF_INET, env("DPW_IP_STACK"), &h_ip_stack);
	inet_pton(AF_INET, env("DPW_IP_PEER"), &h_ip_peer);
	if (dpw_cli_parse(5, args, NULL, NULL, &cli, err, sizeof(err)) != 0)
		die(err);
	engine = dpw_cli_start(&cli, err, sizeof(err));
	if (engine == NULL)
		die(err);
	if (DpwProviderAttach(engine) != STATUS_SUCCESS)
		die("DpwProviderAttach failed");
	if (dpw_engine_start(engine, err, sizeof(err)) != 0)
		die(err);
	st = WskRegister(&npi, &h_reg);
	if (st != STATUS_SUCCESS)
		die("WskRegister failed");
	st = WskCaptureProviderNPI(&h_reg, WSK_INFINITE_WAIT, &h_npi);
	if (st != STATUS_SUCCESS)
		die("WskCaptureProviderNPI failed");
}

int h_finish(void)
{
	WskReleaseProviderNPI(&h_reg);
	WskDeregister(&h_reg);
	dpw_engine_join(engine);
	DpwProviderDetach();
	dpw_cli_finish(&cli, engine);
	printf("%d checks passed, %d failed\n", h_passes, h_failures);
	return h_failures == 0 ? 0 : 1;
}

/* ---- IRPs ------------------------------------------------------------------------------------- */

static NTSTATUS on_complete(PDEVICE_OBJECT dev, PIRP irp, PVOID ctx)
{
	struct h_irp *h = ctx;

	(void)dev;
	h->completions++;
	h->order = ++completion_seq;
	h->status = irp->IoStatus.Status;
	h->info = irp->IoStatus.Information;
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

void h_irp_free(struct h_irp *h)
{
	IoFreeIrp(h->irp);
	h->irp = NULL;
}

static uint64_t now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000 + (uint64_t)t.tv_nsec / 1000000;
}

bool h_wait(struct h_irp *h, unsigned timeout_ms)
{
	uint64_t end = now_ms() + timeout_ms;

	while (h->completions == 0 && now_ms() < end)
		WskWaitCompletions(h_npi.Client, 64, 10);
	return h->completions > 0;
}

void h_pump(unsigned ms)
{
	uint64_t end = now_ms() + ms;

	while (now_ms() < end)
		WskWaitCompletions(h_npi.Client, 64, 5);
}

/* ---- synchronous helpers ------------------------------------------------------------------------- */

void h_sockaddr(SOCKADDR_IN *sa, uint32_t ip, uint16_t port)
{
	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	sa->sin_port = htons(port);
	sa->sin_addr.s_addr = ip;
}

static NTSTATUS finish_sync(struct h_irp *h, NTSTATUS issued)
{
	NTSTATUS st;

	if (issued != STATUS_PENDING && issued != STATUS_SUCCESS && h->completions == 0 &&
	    !h_wait(h, 100)) {
		h_irp_free(h);
		return issued;   /* refused before taking the IRP */
	}
	st = h_wait(h, 5000) ? h->status : STATUS_IO_TIMEOUT;
	h_irp_free(h);
	return st;
}

NTSTATUS h_socket(ULONG category, PVOID ctx, const VOID *dispatch, PWSK_SOCKET *out)
{
	struct h_irp h;
	NTSTATUS st;

	h_irp_init(&h);
	st = h_npi.Dispatch->WskSocket(h_npi.Client, AF_INET,
				       category == WSK_FLAG_DATAGRAM_SOCKET ? SOCK_DGRAM
									    : SOCK_STREAM,
				       category == WSK_FLAG_DATAGRAM_SOCKET ? IPPROTO_UDP
									    : IPPROTO_TCP,
				       category, ctx, dispatch, NULL, NULL, NULL, h.irp);
	st = finish_sync(&h, st);
	*out = st == STATUS_SUCCESS ? (PWSK_SOCKET)h.info : NULL;
	return st;
}

/* Every socket category starts with WskControlSocket and WskCloseSocket (R5), and Bind
 * follows for all but basic: reach them through the basic layout plus the category's own. */
static const WSK_PROVIDER_STREAM_DISPATCH *stream(PWSK_SOCKET s)
{
	return s->Dispatch;
}

NTSTATUS h_bind(PWSK_SOCKET s, uint32_t ip, uint16_t port)
{
	struct h_irp h;
	SOCKADDR_IN sa;

	h_sockaddr(&sa, ip, port);
	h_irp_init(&h);
	/* WskBind sits right after the two basic members in every table that has it. */
	return finish_sync(&h, stream(s)->WskBind(s, (PSOCKADDR)&sa, 0, h.irp));
}

NTSTATUS h_connect(PWSK_SOCKET s, uint32_t ip, uint16_t port)
{
	struct h_irp h;
	SOCKADDR_IN sa;

	h_sockaddr(&sa, ip, port);
	h_irp_init(&h);
	return finish_sync(&h, stream(s)->WskConnect(s, (PSOCKADDR)&sa, 0, h.irp));
}

NTSTATUS h_close(PWSK_SOCKET s)
{
	struct h_irp h;

	h_irp_init(&h);
	return finish_sync(&h, ((const WSK_PROVIDER_BASIC_DISPATCH *)s->Dispatch)
				       ->WskCloseSocket(s, h.irp));
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

NTSTATUS h_send(PWSK_SOCKET s, const void *data, size_t len, ULONG flags)
{
	struct h_irp h;
	struct h_buf b;
	NTSTATUS st;

	h_buf_init(&b, (void *)data, len);
	h_irp_init(&h);
	st = finish_sync(&h, stream(s)->WskSend(s, &b.wb, flags, h.irp));
	h_buf_free(&b);
	return st;
}

NTSTATUS h_set_events(PWSK_SOCKET s, ULONG mask)
{
	WSK_EVENT_CALLBACK_CONTROL ctl = { (PNPIID)&NPI_WSK_INTERFACE_ID, mask };
	struct h_irp h;

	h_irp_init(&h);
	return finish_sync(&h, ((const WSK_PROVIDER_BASIC_DISPATCH *)s->Dispatch)
				       ->WskControlSocket(s, WskSetOption, SO_WSK_EVENT_CALLBACK,
							  SOL_SOCKET, sizeof(ctl), &ctl, 0, NULL,
							  NULL, h.irp));
}

NTSTATUS h_connect_to_peer(uint16_t port, PWSK_SOCKET *out)
{
	PWSK_SOCKET s;
	NTSTATUS st = h_socket(WSK_FLAG_STREAM_SOCKET, NULL, NULL, &s);

	*out = NULL;
	if (st != STATUS_SUCCESS)
		return st;
	st = h_bind(s, 0, 0);
	if (st == STATUS_SUCCESS)
		st = h_connect(s, h_ip_peer, port);
	if (st != STATUS_SUCCESS) {
		h_close(s);
		return st;
	}
	*out = s;
	return st;
}

/* ---- the Linux peer ---------------------------------------------------------------------------- */

int peer_socket(int type)
{
	int fd;

	/* Only this thread moves, and only for the socket() call: the socket stays in the peer
	 * namespace for good, and the thread comes back to the stack's. */
	if (setns(ns_peer_fd, CLONE_NEWNET) != 0)
		die("setns into the peer namespace failed");
	fd = socket(AF_INET, type | SOCK_CLOEXEC, 0);
	if (setns(ns_stack_fd, CLONE_NEWNET) != 0)
		die("setns back into the stack namespace failed");
	return fd;
}

int peer_listen(uint16_t port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
	int one = 1, fd = peer_socket(SOCK_STREAM);

	a.sin_addr.s_addr = h_ip_peer;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(fd, 128) != 0)
		die("peer listen failed");
	return fd;
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
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
	struct timeval tv = { 5, 0 };
	int fd = peer_socket(SOCK_STREAM);

	a.sin_addr.s_addr = h_ip_stack;
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

long peer_read(int fd, void *buf, size_t len, unsigned timeout_ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	ssize_t n;

	if (poll(&p, 1, (int)timeout_ms) != 1)
		return -ETIMEDOUT;
	n = recv(fd, buf, len, 0);
	return n < 0 ? -errno : n;
}

bool peer_write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len > 0) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);

		if (n <= 0)
			return false;
		p += n;
		len -= (size_t)n;
	}
	return true;
}
