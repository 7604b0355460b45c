/* Completion delivery (dpwsk.h, DPW_COMPLETION_DELIVERY) and Windows' timing (WSK-W1, W2,
 * W3, R2, R3): clients written the Windows way, which never poll. Each issues a call, then
 * waits on a semaphore its completion routine posts (a KEVENT on Windows), as drivers do:
 *
 *   st = call(..., Irp);
 *   if (st == STATUS_PENDING) wait(event);     // the routine signals if PendingReturned
 *
 * In the polled mode that pattern waits forever unless somebody polls; with a delivery thread
 * it works from any thread; with Windows' timing a call that returns anything but
 * STATUS_PENDING has run its routine already, so the IRP can be freed at once. The datagram
 * socket's peer is a Linux UDP socket in the peer namespace. */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

#define STACK_PORT 6301
#define PEER_PORT  6302

/* An IRP with a "KEVENT": the routine records what it saw and posts the semaphore, either
 * always or, as many drivers write it, only when PendingReturned is set. */
struct ev_irp {
	PIRP irp;
	sem_t event;
	bool only_if_pending;
	_Atomic int runs;
	BOOLEAN pending_returned;
	pthread_t thread;
	NTSTATUS status;
	ULONG_PTR info;
};

static NTSTATUS WSKAPI ev_routine(PDEVICE_OBJECT dev, PIRP irp, PVOID ctx)
{
	struct ev_irp *e = ctx;

	(void)dev;
	e->pending_returned = irp->PendingReturned;
	e->thread = pthread_self();
	e->status = irp->IoStatus.Status;
	e->info = irp->IoStatus.Information;
	atomic_fetch_add(&e->runs, 1);
	if (!e->only_if_pending || irp->PendingReturned)
		sem_post(&e->event);
	return STATUS_MORE_PROCESSING_REQUIRED;
}

static void ev_init(struct ev_irp *e, bool only_if_pending)
{
	memset(e, 0, sizeof(*e));
	sem_init(&e->event, 0, 0);
	e->only_if_pending = only_if_pending;
	e->irp = IoAllocateIrp(1, FALSE);
	IoSetCompletionRoutine(e->irp, ev_routine, e, TRUE, TRUE, TRUE);
}

static void ev_reuse(struct ev_irp *e)
{
	IoReuseIrp(e->irp, STATUS_UNSUCCESSFUL);
	IoSetCompletionRoutine(e->irp, ev_routine, e, TRUE, TRUE, TRUE);
	atomic_store(&e->runs, 0);
	e->pending_returned = FALSE;
	e->status = STATUS_UNSUCCESSFUL;
	while (sem_trywait(&e->event) == 0)   /* a signal of the last use, not waited for */
		;
}

/* Wait on the event like KeWaitForSingleObject with a timeout: true if signalled. */
static bool ev_wait(struct ev_irp *e, unsigned ms)
{
	struct timespec t;

	clock_gettime(CLOCK_REALTIME, &t);
	t.tv_sec += ms / 1000;
	t.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (t.tv_nsec >= 1000000000L) {
		t.tv_sec++;
		t.tv_nsec -= 1000000000L;
	}
	while (sem_timedwait(&e->event, &t) != 0)
		if (errno != EINTR)
			return false;
	return true;
}

/* The driver pattern: issue, wait only if pending; the IRP's final status (STATUS_IO_TIMEOUT if
 * the event never came). */
static NTSTATUS ev_sync(struct ev_irp *e, NTSTATUS issued)
{
	if (issued == STATUS_PENDING && !ev_wait(e, 5000))
		return STATUS_IO_TIMEOUT;
	return e->status;
}

static struct h_client cl;

static const WSK_PROVIDER_DISPATCH *P(void)
{
	return cl.npi.Dispatch;
}

static NTSTATUS new_datagram(struct ev_irp *e, PVOID ctx, const VOID *dispatch,
			     PWSK_SOCKET *out)
{
	NTSTATUS st = ev_sync(e, P()->WskSocket(cl.npi.Client, AF_INET, SOCK_DGRAM, IPPROTO_UDP,
						 WSK_FLAG_DATAGRAM_SOCKET, ctx, dispatch, NULL,
						 NULL, NULL, e->irp));

	*out = st == STATUS_SUCCESS ? (PWSK_SOCKET)e->info : NULL;
	return st;
}

static int peer_udp(void)
{
	struct sockaddr_in a = { .sin_family = PF_INET, .sin_port = htons(PEER_PORT) };
	int fd = peer_socket(SOCK_DGRAM);

	a.sin_addr.s_addr = h_ip_peer;
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0)
		return -1;
	return fd;
}

static long peer_recv(int fd, void *buf, size_t len, unsigned ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	if (poll(&p, 1, (int)ms) != 1)
		return -ETIMEDOUT;
	return recv(fd, buf, len, MSG_DONTWAIT);
}

static bool peer_send(int fd, const void *data, size_t len)
{
	struct sockaddr_in a = { .sin_family = PF_INET, .sin_port = htons(STACK_PORT) };

	a.sin_addr.s_addr = h_ip_stack;
	return sendto(fd, data, len, 0, (struct sockaddr *)&a, sizeof(a)) == (ssize_t)len;
}

/* ---- the mode itself ------------------------------------------------------------------------- */

static void test_set_mode(void)
{
	h_test("DpwSetCompletionDelivery: a bad client, a bad mode (dpwsk.h)");
	H_CHECK_STATUS(DpwSetCompletionDelivery(NULL, DpwDeliverThread), STATUS_INVALID_HANDLE);
	H_CHECK_STATUS(DpwSetCompletionDelivery(cl.npi.Client, (DPW_COMPLETION_DELIVERY)7),
		       STATUS_INVALID_PARAMETER);
	H_CHECK_STATUS(DpwSetDefaultCompletionDelivery((DPW_COMPLETION_DELIVERY)7),
		       STATUS_INVALID_PARAMETER);
	H_CHECK_STATUS(DpwSetCompletionDelivery(cl.npi.Client, DpwDeliverThread), STATUS_SUCCESS);
	H_CHECK_STATUS(DpwSetCompletionDelivery(cl.npi.Client, DpwDeliverPolled), STATUS_SUCCESS);
}

/* ---- a delivery thread: waiting on an event works, nobody polls --------------------------- */

static void test_thread(int pfd)
{
	struct ev_irp e;
	PWSK_SOCKET s = NULL;
	SOCKADDR_IN local, to;
	char msg[] = "delivered by the provider's thread", got[64];
	struct h_buf b;
	NTSTATUS st;

	h_test("thread delivery: a call answered STATUS_PENDING completes with nobody polling; "
	       "the routine saw PendingReturned and signalled the event (WSK-W1, R3)");
	H_CHECK_STATUS(DpwSetCompletionDelivery(cl.npi.Client, DpwDeliverThread), STATUS_SUCCESS);
	ev_init(&e, true);
	st = new_datagram(&e, NULL, NULL, &s);
	H_CHECK_STATUS(st, STATUS_SUCCESS);
	H_CHECK(atomic_load(&e.runs) == 1 && e.pending_returned);
	H_CHECK(!pthread_equal(e.thread, pthread_self()));
	if (s == NULL)
		return;

	h_test("thread delivery: the mode changes with a socket open, and back (dpwsk.h)");
	H_CHECK_STATUS(DpwSetCompletionDelivery(cl.npi.Client, DpwDeliverWindows),
		       STATUS_SUCCESS);
	H_CHECK_STATUS(DpwSetCompletionDelivery(cl.npi.Client, DpwDeliverThread), STATUS_SUCCESS);

	h_test("thread delivery: bind and send to the Linux peer, each waited for on its event "
	       "(WSK-F8)");
	h_sockaddr(&local, h_ip_stack, STACK_PORT);
	ev_reuse(&e);
	st = ev_sync(&e, DpwDatagramDispatch(s)->WskBind(s, (PSOCKADDR)&local, 0, e.irp));
	H_CHECK_STATUS(st, STATUS_SUCCESS);
	h_sockaddr(&to, h_ip_peer, PEER_PORT);
	h_buf_init(&b, msg, sizeof(msg));
	ev_reuse(&e);
	st = ev_sync(&e, DpwDatagramDispatch(s)->WskSendTo(s, &b.wb, 0, (PSOCKADDR)&to, 0, NULL,
							     e.irp));
	H_CHECK_STATUS(st, STATUS_SUCCESS);
	H_CHECK(e.info == sizeof(msg));
	H_CHECK(peer_recv(pfd, got, sizeof(got), 2000) == (long)sizeof(msg) &&
		memcmp(got, msg, sizeof(msg)) == 0);
	h_buf_free(&b);

	h_test("thread delivery: close completes on its event (WSK-C1)");
	ev_reuse(&e);
	H_CHECK_STATUS(ev_sync(&e, DpwBasicDispatch(s)->WskCloseSocket(s, e.irp)), STATUS_SUCCESS);
	H_CHECK(atomic_load(&e.runs) == 1);
	IoFreeIrp(e.irp);
	sem_destroy(&e.event);
	H_CHECK_STATUS(DpwSetCompletionDelivery(cl.npi.Client, DpwDeliverPolled), STATUS_SUCCESS);
}

/* ---- Windows' timing: nothing but STATUS_PENDING before the routine ran ------------------- */

/* A refusal answered on the caller's thread: the routine already ran, here, without
 * PendingReturned, and the IRP is free at once. */
#define REFUSED_AT_ONCE(e, want, call)                                                     \
	do {                                                                               \
		NTSTATUS r_;                                                               \
		ev_reuse(e);                                                               \
		r_ = (call);                                                               \
		h_check_status(r_, (want), #call, __FILE__, __LINE__);                     \
		H_CHECK(atomic_load(&(e)->runs) == 1);                                     \
		H_CHECK(pthread_equal((e)->thread, pthread_self()));                       \
		H_CHECK((e)->status == (want) && !(e)->pending_returned);                  \
	} while (0)

/* The receive-from callback answers each datagram from the lcore with a WskSendTo: under
 * Windows' timing the call is queued, not run inline, so it returns STATUS_PENDING. */
static struct {
	PWSK_SOCKET s;
	struct ev_irp e;
	struct h_buf b;
	char data[64];
	SOCKADDR_IN from;
	_Atomic int events;
	NTSTATUS returned;
} echo;

static NTSTATUS WSKAPI echo_event(PVOID ctx, ULONG flags, PWSK_DATAGRAM_INDICATION di)
{
	ULONG n;

	(void)ctx;
	(void)flags;
	if (di == NULL || atomic_load(&echo.events) > 0)
		return STATUS_SUCCESS;   /* one echo is enough */
	n = di->Buffer.Length < sizeof(echo.data) ? (ULONG)di->Buffer.Length : sizeof(echo.data);
	memcpy(echo.data, (const char *)di->Buffer.Mdl->MappedSystemVa + di->Buffer.Offset, n);
	memcpy(&echo.from, di->RemoteAddress, sizeof(echo.from));
	h_buf_init(&echo.b, echo.data, n);
	ev_reuse(&echo.e);
	echo.returned = DpwDatagramDispatch(echo.s)->WskSendTo(echo.s, &echo.b.wb, 0,
							      (PSOCKADDR)&echo.from, 0, NULL,
							      echo.e.irp);
	atomic_fetch_add(&echo.events, 1);
	return STATUS_SUCCESS;
}

static const WSK_CLIENT_DATAGRAM_DISPATCH echo_dispatch = { echo_event };

static void test_windows(int pfd)
{
	struct ev_irp e;
	PWSK_SOCKET s = NULL, gone = NULL;
	SOCKADDR_IN local;
	WSK_EVENT_CALLBACK_CONTROL events = { (PNPIID)&NPI_WSK_INTERFACE_ID,
					      WSK_EVENT_RECEIVE_FROM };
	char got[64];
	NTSTATUS st;

	H_CHECK_STATUS(DpwSetCompletionDelivery(cl.npi.Client, DpwDeliverWindows), STATUS_SUCCESS);
	ev_init(&e, false);

	h_test("Windows' timing: WskSocket with a bad category returns STATUS_INVALID_PARAMETER "
	       "with its routine already run, on the caller's thread (WSK-W2, R3)");
	REFUSED_AT_ONCE(&e, STATUS_INVALID_PARAMETER,
			P()->WskSocket(cl.npi.Client, AF_INET, SOCK_DGRAM, IPPROTO_UDP, 0x40, NULL,
				       NULL, NULL, NULL, NULL, e.irp));

	h_test("Windows' timing: WskControlClient with an unknown code and an IRP (WSK-W2, F9)");
	REFUSED_AT_ONCE(&e, STATUS_NOT_SUPPORTED,
			P()->WskControlClient(cl.npi.Client, 0x7777, 0, NULL, 0, NULL, NULL,
					      e.irp));

	h_test("Windows' timing: WskConnect on an unbound socket returns "
	       "STATUS_INVALID_DEVICE_STATE, completed already (WSK-W3, W2)");
	ev_reuse(&e);
	st = ev_sync(&e, P()->WskSocket(cl.npi.Client, AF_INET, SOCK_STREAM, IPPROTO_TCP,
					  WSK_FLAG_CONNECTION_SOCKET, NULL, NULL, NULL, NULL, NULL,
					  e.irp));
	H_CHECK_STATUS(st, STATUS_SUCCESS);
	gone = st == STATUS_SUCCESS ? (PWSK_SOCKET)e.info : NULL;
	if (gone != NULL) {
		SOCKADDR_IN peer;

		h_sockaddr(&peer, h_ip_peer, PEER_PORT);
		REFUSED_AT_ONCE(&e, STATUS_INVALID_DEVICE_STATE,
				DpwConnectionDispatch(gone)->WskConnect(gone, (PSOCKADDR)&peer, 0, e.irp));
		ev_reuse(&e);
		H_CHECK_STATUS(ev_sync(&e, DpwBasicDispatch(gone)->WskCloseSocket(gone, e.irp)),
			       STATUS_SUCCESS);

		h_test("Windows' timing: a call through a closed socket returns "
		       "STATUS_INVALID_HANDLE, completed already (WSK-W2, C6)");
		REFUSED_AT_ONCE(&e, STATUS_INVALID_HANDLE,
				DpwBasicDispatch(gone)->WskCloseSocket(gone, e.irp));
	}

	h_test("Windows' timing: a call that pends completes with PendingReturned, its event "
	       "waited for (WSK-W1)");
	memset(&echo, 0, sizeof(echo));
	ev_init(&echo.e, true);
	ev_reuse(&e);
	e.only_if_pending = true;
	st = new_datagram(&e, NULL, &echo_dispatch, &s);
	H_CHECK_STATUS(st, STATUS_SUCCESS);
	H_CHECK(e.pending_returned);
	if (s == NULL)
		goto out;
	echo.s = s;
	h_sockaddr(&local, h_ip_stack, STACK_PORT);
	ev_reuse(&e);
	H_CHECK_STATUS(ev_sync(&e, DpwDatagramDispatch(s)->WskBind(s, (PSOCKADDR)&local, 0,
								    e.irp)),
		       STATUS_SUCCESS);
	ev_reuse(&e);
	H_CHECK_STATUS(ev_sync(&e, DpwBasicDispatch(s)->WskControlSocket(
					   s, WskSetOption, SO_WSK_EVENT_CALLBACK, SOL_SOCKET,
					   sizeof(events), &events, 0, NULL, NULL, e.irp)),
		       STATUS_SUCCESS);

	h_test("Windows' timing: WskSendTo from the receive-from callback on the lcore is "
	       "queued (STATUS_PENDING), completes on the delivery thread, and reaches the peer "
	       "(WSK-W2, F7, F8)");
	H_CHECK(peer_send(pfd, "ping from linux", 15));
	H_CHECK(ev_wait(&echo.e, 5000));
	H_CHECK(atomic_load(&echo.events) == 1);
	H_CHECK_STATUS(echo.returned, STATUS_PENDING);
	H_CHECK(echo.e.pending_returned && echo.e.status == STATUS_SUCCESS && echo.e.info == 15);
	H_CHECK(!pthread_equal(echo.e.thread, pthread_self()));
	H_CHECK(peer_recv(pfd, got, sizeof(got), 2000) == 15 && memcmp(got, "ping from linux",
									15) == 0);

	h_test("Windows' timing: close, waited for only if pending (WSK-C1, W1)");
	ev_reuse(&e);
	st = DpwBasicDispatch(s)->WskCloseSocket(s, e.irp);
	H_CHECK(st == STATUS_PENDING || st == STATUS_SUCCESS);
	H_CHECK_STATUS(ev_sync(&e, st), STATUS_SUCCESS);
	H_CHECK(atomic_load(&e.runs) == 1);
	h_buf_free(&echo.b);
	IoFreeIrp(echo.e.irp);
out:
	IoFreeIrp(e.irp);
	sem_destroy(&e.event);
}

/* ---- lcore delivery: each routine on the lcore that completed its IRP -------------------- */

#define LC_PORT  6303
#define LC_CONNS 32

/* A connection accepted by the lcore delivery test: the thread of its accept callback, and
 * of its receive's and its close's routines. */
static struct lc_conn {
	PWSK_SOCKET s;
	pthread_t accepted_on, received_on, closed_on;
	_Atomic int received, closed, wrong_thread;
	char byte;
	struct h_buf b;
	PIRP rx, close;
} lc_conns[LC_CONNS];
static _Atomic int lc_accepted;
static atomic_bool lc_dereg_returned;
static pthread_t lc_main;
static struct h_client lc;

static NTSTATUS WSKAPI lc_closed(PDEVICE_OBJECT dev, PIRP irp, PVOID ctx)
{
	struct lc_conn *c = ctx;

	(void)dev;
	(void)irp;
	c->closed_on = pthread_self();
	/* WskDeregister from such a routine would wait for the routine itself: refused, the
	 * client stays registered (the test goes on with it). */
	if (c == &lc_conns[0]) {
		WskDeregister(&lc.reg);
		atomic_store(&lc_dereg_returned, true);
	}
	atomic_fetch_add(&c->closed, 1);
	return STATUS_MORE_PROCESSING_REQUIRED;
}

/* The receive's routine: on the connection's lcore, it closes the socket from there (a call
 * made inline by a routine), whose routine runs there too. */
static NTSTATUS WSKAPI lc_received(PDEVICE_OBJECT dev, PIRP irp, PVOID ctx)
{
	struct lc_conn *c = ctx;

	(void)dev;
	(void)irp;
	c->received_on = pthread_self();
	atomic_fetch_add(&c->received, 1);
	if (!pthread_equal(c->received_on, c->accepted_on))
		atomic_fetch_add(&c->wrong_thread, 1);
	IoSetCompletionRoutine(c->close, lc_closed, c, TRUE, TRUE, TRUE);
	(void)DpwConnectionDispatch(c->s)->WskCloseSocket(c->s, c->close);
	return STATUS_MORE_PROCESSING_REQUIRED;
}

static NTSTATUS WSKAPI lc_accept(PVOID ctx, ULONG flags, PSOCKADDR local, PSOCKADDR remote,
				 PWSK_SOCKET s, PVOID *sctx,
				 const WSK_CLIENT_CONNECTION_DISPATCH **sdispatch)
{
	int i;
	struct lc_conn *c;

	(void)ctx;
	(void)flags;
	(void)local;
	(void)remote;
	(void)sdispatch;
	if (s == NULL || (i = atomic_fetch_add(&lc_accepted, 1)) >= LC_CONNS)
		return s == NULL ? STATUS_SUCCESS : STATUS_REQUEST_NOT_ACCEPTED;
	c = &lc_conns[i];
	c->s = s;
	c->accepted_on = pthread_self();
	*sctx = c;
	/* A call from the accept callback, on the lcore: its routine must run here too. */
	IoSetCompletionRoutine(c->rx, lc_received, c, TRUE, TRUE, TRUE);
	(void)DpwConnectionDispatch(s)->WskReceive(s, &c->b.wb, 0, c->rx);
	return STATUS_SUCCESS;
}

static const WSK_CLIENT_LISTEN_DISPATCH lc_listen_events = { lc_accept, NULL, NULL };

static bool lc_all_closed(void *arg)
{
	(void)arg;
	for (int i = 0; i < LC_CONNS; i++)
		if (atomic_load(&lc_conns[i].closed) == 0)
			return false;
	return true;
}

static void test_lcore(void)
{
	WSK_EVENT_CALLBACK_CONTROL ctl = { (PNPIID)&NPI_WSK_INTERFACE_ID, WSK_EVENT_ACCEPT };
	PWSK_SOCKET l = NULL;
	int fd[LC_CONNS], resets = 0, wrong = 0, on_main = 0, not_once = 0;
	pthread_t lcores[2];
	int seen = 0;
	struct ev_irp e;

	h_test("lcore delivery: each routine runs on the lcore that completed its IRP, at its "
	       "pass's end; calls made by a routine run there too; nothing reaches the ring "
	       "(dpwsk.h DpwDeliverLcore; WSK-R2)");
	lc_main = pthread_self();
	if (!H_CHECK_STATUS(h_client_open(&lc, MAKE_WSK_VERSION(1, 0)), STATUS_SUCCESS))
		return;
	H_CHECK_STATUS(DpwSetCompletionDelivery(lc.npi.Client, DpwDeliverLcore), STATUS_SUCCESS);
	H_CHECK_STATUS(lc.npi.Dispatch->WskControlClient(lc.npi.Client,
							 WSK_SET_STATIC_EVENT_CALLBACKS,
							 sizeof(ctl), &ctl, 0, NULL, NULL, NULL),
		       STATUS_SUCCESS);
	for (int i = 0; i < LC_CONNS; i++) {
		lc_conns[i].rx = IoAllocateIrp(1, FALSE);
		lc_conns[i].close = IoAllocateIrp(1, FALSE);
		h_buf_init(&lc_conns[i].b, &lc_conns[i].byte, 1);
	}
	h_use_client(&lc.npi);
	H_CHECK_STATUS(h_listener(WSK_FLAG_LISTEN_SOCKET, LC_PORT, NULL, &lc_listen_events, &l),
		       STATUS_SUCCESS);
	h_use_client(NULL);
	for (int i = 0; i < LC_CONNS; i++) {
		fd[i] = peer_connect(LC_PORT);
		H_CHECK(fd[i] >= 0 && peer_write_all(fd[i], "x", 1));
	}
	/* Nobody polls the client: the routines run on the lcores or not at all. */
	H_CHECK(h_pump_until(lc_all_closed, NULL, 10000));
	for (int i = 0; i < LC_CONNS; i++) {
		struct lc_conn *c = &lc_conns[i];

		/* Closed before it was fully disconnected: the peer sees a reset (§3). */
		resets += fd[i] >= 0 && peer_wait_error(fd[i], 5000) > 0;
		if (fd[i] >= 0)
			close(fd[i]);
		not_once += atomic_load(&c->received) != 1 || atomic_load(&c->closed) != 1;
		wrong += atomic_load(&c->wrong_thread) != 0 ||
			 !pthread_equal(c->closed_on, c->accepted_on);
		on_main += pthread_equal(c->accepted_on, lc_main);
		if (seen < 2 && (seen == 0 || !pthread_equal(lcores[0], c->accepted_on)))
			lcores[seen++] = c->accepted_on;
	}
	printf("  %d connections: accepted on %d lcore thread(s); %d routines on another thread; "
	       "%d on the test's thread; %d peers reset\n", LC_CONNS, seen, wrong, on_main,
	       resets);
	H_CHECK(not_once == 0);
	H_CHECK(wrong == 0);
	H_CHECK(on_main == 0);
	H_CHECK(resets == LC_CONNS);
	/* Over two lcores, the connections were on both. */
	H_CHECK(seen == (h_lcores() > 1 ? 2 : 1));
	H_CHECK(WskPollCompletions(lc.npi.Client, 1024) == 0);
	H_CHECK(atomic_load(&lc_dereg_returned));   /* refused, at once: the client lives on */

	h_test("lcore delivery: a call made on the test's thread completes on the socket's lcore; "
	       "WskDeregister waits for the last routines (WSK-R1)");
	ev_init(&e, false);
	H_CHECK_STATUS(DpwListenDispatch(l)->WskCloseSocket(l, e.irp), STATUS_PENDING);
	H_CHECK(ev_wait(&e, 5000));
	H_CHECK(atomic_load(&e.runs) == 1 && e.status == STATUS_SUCCESS);
	H_CHECK(!pthread_equal(e.thread, lc_main));
	h_client_close(&lc);
	H_CHECK(atomic_load(&e.runs) == 1);
	IoFreeIrp(e.irp);
	sem_destroy(&e.event);
	for (int i = 0; i < LC_CONNS; i++) {
		IoFreeIrp(lc_conns[i].rx);
		IoFreeIrp(lc_conns[i].close);
		h_buf_free(&lc_conns[i].b);
	}
}

int main(int argc, char **argv)
{
	int pfd;

	h_start(argc, argv);
	H_CHECK_STATUS(h_client_open(&cl, MAKE_WSK_VERSION(1, 0)), STATUS_SUCCESS);
	pfd = peer_udp();
	H_CHECK(pfd >= 0);
	test_set_mode();
	test_thread(pfd);
	test_windows(pfd);
	test_lcore();

	h_test("WskDeregister stops the delivery thread; every IRP ran once (WSK-R1, R2)");
	h_client_close(&cl);
	close(pfd);
	return h_finish();
}
