/* WskDeregister (WSK-R1): it waits until every captured provider NPI is released and every
 * socket of the client is closed, running the client's completions meanwhile, and returns
 * only when nothing of the client is left for the provider to touch. */
#include <pthread.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

static _Atomic bool dereg_done;

static void *deregister_thread(void *arg)
{
	WskDeregister(arg);
	dereg_done = true;
	return NULL;
}

static bool dereg_finished(void *arg)
{
	(void)arg;
	return dereg_done;
}

/* Start WskDeregister of c on its own thread. */
static bool start_deregister(struct h_client *c, pthread_t *t)
{
	dereg_done = false;
	return H_CHECK(pthread_create(t, NULL, deregister_thread, &c->reg) == 0);
}

static void test_waits_for_release(void)
{
	struct h_client c;
	pthread_t t;

	h_test("WskDeregister waits until the captured NPI is released (WSK-R1)");
	if (!H_CHECK_STATUS(h_client_open(&c, MAKE_WSK_VERSION(1, 0)), STATUS_SUCCESS))
		return;
	if (!start_deregister(&c, &t))
		return;
	h_pump(200);
	H_CHECK(!dereg_done);                               /* still captured */
	WskReleaseProviderNPI(&c.reg);
	H_CHECK(h_pump_until(dereg_finished, NULL, 5000));
	if (dereg_done)
		pthread_join(t, NULL);
}

static void test_waits_for_sockets(void)
{
	struct h_client c;
	PWSK_SOCKET s = NULL;
	struct h_irp cl;
	pthread_t t;

	h_test("WskDeregister waits until the client's last socket is closed, then returns with "
	       "the close completed once (WSK-R1, C1, R2)");
	if (!H_CHECK_STATUS(h_client_open(&c, MAKE_WSK_VERSION(1, 0)), STATUS_SUCCESS))
		return;
	h_use_client(&c.npi);
	H_CHECK_STATUS(h_socket(WSK_FLAG_STREAM_SOCKET, NULL, NULL, &s), STATUS_SUCCESS);
	H_CHECK_STATUS(h_bind(s, 0, 0), STATUS_SUCCESS);
	/* From here the deregistering thread runs the client's completions (registration.c);
	 * this thread must not poll a client that may go away under it. */
	h_use_client(NULL);
	WskReleaseProviderNPI(&c.reg);
	if (s == NULL || !start_deregister(&c, &t))
		return;
	h_pump(200);
	H_CHECK(!dereg_done);                               /* R1: a socket is still open */
	h_irp_init(&cl);
	H_CHECK_STATUS(DpwBasicDispatch(s)->WskCloseSocket(s, cl.irp), STATUS_PENDING);
	H_CHECK(h_pump_until(dereg_finished, NULL, 5000));  /* returns once it is closed */
	/* The close IRP was completed (by the deregistering thread's polling) before
	 * WskDeregister returned: nothing of the client is used after it. */
	H_CHECK(cl.completions == 1);
	H_CHECK_STATUS(cl.status, STATUS_SUCCESS);
	if (dereg_done)
		pthread_join(t, NULL);
	h_pump(50);
	H_CHECK(cl.completions == 1);
	h_irp_free(&cl);
}

/* ---- C9: data a client retained and never released ------------------------------------ */

static _Atomic int retained_calls;

static NTSTATUS WSKAPI retain_all(PVOID SocketContext, ULONG Flags,
				  PWSK_DATA_INDICATION DataIndication, SIZE_T BytesIndicated,
				  SIZE_T *BytesAccepted)
{
	(void)SocketContext;
	(void)Flags;
	(void)BytesIndicated;
	(void)BytesAccepted;
	if (DataIndication == NULL)
		return STATUS_SUCCESS;
	retained_calls++;
	return STATUS_PENDING;   /* keep it: the client now owns the data (F7) */
}

static const WSK_CLIENT_CONNECTION_DISPATCH retaining = { retain_all, NULL, NULL };

static bool retained_once(void *arg)
{
	(void)arg;
	return retained_calls > 0;
}

static void test_unreleased_data(void)
{
	DPW_PROVIDER_STATS before, after;
	struct h_client c;
	PWSK_SOCKET s = NULL;
	uint32_t idle = h_mbufs_in_use();
	int lfd, fd;

	h_test("data retained and never released: close leaves it with the client, "
	       "WskDeregister reports and frees it, every mbuf comes back (WSK-C9)");
	lfd = peer_listen(5601);
	if (!H_CHECK_STATUS(h_client_open(&c, MAKE_WSK_VERSION(1, 0)), STATUS_SUCCESS))
		return;
	h_use_client(&c.npi);
	if (H_CHECK_STATUS(h_connect_to_peer_ex(WSK_FLAG_CONNECTION_SOCKET, NULL, &retaining, 5601,
						&s),
			   STATUS_SUCCESS)) {
		fd = peer_accept(lfd, 5000);
		H_CHECK(fd >= 0);
		H_CHECK_STATUS(h_set_events(s, WSK_EVENT_RECEIVE), STATUS_SUCCESS);
		H_CHECK(peer_write_all(fd, "kept by the client", 18));
		H_CHECK(h_pump_until(retained_once, NULL, 5000));
		H_CHECK_STATUS(h_close(s), STATUS_SUCCESS);
		/* C9: close did not take the retained data back. */
		H_CHECK(h_mbufs_in_use() > idle);
		if (fd >= 0)
			close(fd);
	}
	h_use_client(NULL);
	DpwGetProviderStats(&before);
	h_client_close(&c);   /* release + WskDeregister */
	DpwGetProviderStats(&after);
	H_CHECK(after.UnreleasedAtDeregister > before.UnreleasedAtDeregister);
	H_CHECK(h_mbufs_in_use() == idle);
	close(lfd);
}

struct waiter {
	PWSK_CLIENT client;
	_Atomic bool done;
	ULONG ran;
};

static void *wait_thread(void *arg)
{
	struct waiter *w = arg;

	w->ran = WskWaitCompletions(w->client, 16, WSK_INFINITE_WAIT);
	w->done = true;
	return NULL;
}

static bool waiter_done(void *arg)
{
	return ((struct waiter *)arg)->done;
}

static void test_stale_client(void)
{
	struct h_client c;
	struct waiter w = { NULL, false, 99 };
	PWSK_CLIENT stale;
	pthread_t t, d;

	h_test("a thread blocked in WskWaitCompletions (no time limit) returns 0 when another "
	       "thread deregisters its client; the stale handle then gets 0 / -1, no crash "
	       "(WSK-R1, R3)");
	if (!H_CHECK_STATUS(h_client_open(&c, MAKE_WSK_VERSION(1, 0)), STATUS_SUCCESS))
		return;
	stale = c.npi.Client;
	w.client = stale;
	if (!H_CHECK(pthread_create(&t, NULL, wait_thread, &w) == 0))
		return;
	h_pump(100);
	H_CHECK(!w.done);                                   /* nothing to complete: it waits */
	WskReleaseProviderNPI(&c.reg);
	if (!start_deregister(&c, &d))
		return;
	H_CHECK(h_pump_until(dereg_finished, NULL, 5000));
	H_CHECK(h_pump_until(waiter_done, &w, 5000));
	if (dereg_done)
		pthread_join(d, NULL);
	if (w.done)
		pthread_join(t, NULL);
	H_CHECK(w.ran == 0);
	H_CHECK(WskPollCompletions(stale, 16) == 0);
	H_CHECK(WskWaitCompletions(stale, 16, 10) == 0);
	H_CHECK(WskCompletionFd(stale) == -1);
}

int main(int argc, char **argv)
{
	h_start(argc, argv);
	test_waits_for_release();
	for (int i = 0; i < 5; i++)   /* a race: give it several chances */
		test_waits_for_sockets();
	test_stale_client();
	test_unreleased_data();
	H_CHECK(h_wait_sockets_open(0, 5000));
	return h_finish();
}
