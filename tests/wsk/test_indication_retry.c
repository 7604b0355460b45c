/* Data held back by a failed allocation must still reach the receive event once memory is
 * back, without the peer having to send more (F7; issue 10: recovery when the resource comes
 * back). Run with calloc failing on the lcore (fail_calloc.c) while the peer's one message
 * arrives: the provider cannot build the data indications, keeps the data (the receive
 * backlog shows it), and must indicate it later. A request/response client that only uses
 * the receive event would otherwise wait for ever for a message that already arrived.
 * The provider lists such a socket and tries again each loop pass (tcp_rx.c); before it did,
 * the data stayed in the backlog until the peer sent more or the client called WskReceive.
 * The test passes once the held data is indicated within 5 s of memory coming back, with
 * nothing more from the peer. Indications come from calloc here (dpw_test_provider_heap). */
#include <pthread.h>
#include <string.h>
#include <unistd.h>

#include "fail_calloc.h"
#include "harness.h"
#include "provider_test_hooks.h"

#define PEER_PORT 5317

static _Atomic size_t got_len;
static _Atomic bool lcore_known;
static pthread_t lcore;

static NTSTATUS WSKAPI on_receive(PVOID ctx, ULONG flags, PWSK_DATA_INDICATION di,
				  SIZE_T indicated, SIZE_T *accepted)
{
	(void)ctx, (void)flags, (void)di, (void)accepted;
	if (!atomic_load(&lcore_known)) {
		lcore = pthread_self();
		atomic_store(&lcore_known, true);
	}
	atomic_fetch_add(&got_len, indicated);
	return STATUS_SUCCESS;
}

static const WSK_CLIENT_CONNECTION_DISPATCH events = { on_receive, NULL, NULL };

static bool got_at_least(void *n)
{
	return atomic_load(&got_len) >= *(size_t *)n;
}

int main(int argc, char **argv)
{
	size_t want;
	PWSK_SOCKET s;
	int lfd, fd;
	unsigned long failed0;

	h_start(argc, argv);
	/* The provider's pools hold requests and indications made before; as if they were
	 * empty, every one comes from calloc, which the test makes fail. */
	dpw_test_provider_heap(true);
	h_test("data held back by a failed allocation reaches the receive event once memory is "
	       "back, with nothing more from the peer (F7)");
	lfd = peer_listen(PEER_PORT);
	if (!H_CHECK_STATUS(h_connect_to_peer_ex(WSK_FLAG_CONNECTION_SOCKET, NULL, &events,
						 PEER_PORT, &s),
			    STATUS_SUCCESS))
		return h_finish();
	fd = peer_accept(lfd, 5000);
	H_CHECK(fd >= 0);
	H_CHECK_STATUS(h_set_events(s, WSK_EVENT_RECEIVE), STATUS_SUCCESS);
	H_CHECK(peer_write_all(fd, "one", 3));   /* the event learns the lcore's thread */
	want = 3;
	if (!H_CHECK(h_pump_until(got_at_least, &want, 5000)))
		return h_finish();

	failed0 = fail_calloc_count();
	fail_calloc_on(lcore);
	H_CHECK(peer_write_all(fd, "request", 7));
	for (uint64_t end = h_now_ms() + 5000; h_receive_backlog(s) != 7 && h_now_ms() < end;)
		h_pump(10);
	H_CHECK(h_receive_backlog(s) == 7);          /* held, not lost */
	H_CHECK(fail_calloc_count() > failed0);    /* the allocation really failed */
	fail_calloc_off();

	want = 10;
	H_CHECK(h_pump_until(got_at_least, &want, 5000));
	printf("receive event given %zu of 10 bytes; backlog %zu\n", atomic_load(&got_len),
	       (size_t)h_receive_backlog(s));

	H_CHECK_STATUS(h_close(s), STATUS_SUCCESS);
	close(fd);
	close(lfd);
	return h_finish();
}
