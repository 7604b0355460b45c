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

	h_test("WskDeregister stops the delivery thread; every IRP ran once (WSK-R1, R2)");
	h_client_close(&cl);
	close(pfd);
	return h_finish();
}
