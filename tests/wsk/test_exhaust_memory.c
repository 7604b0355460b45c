/* Memory running out (issue 10): allocations fail, and the provider refuses new work with a
 * status, loses nothing it accepted, and works again when memory comes back.
 *
 * The injection point is the link: this test is linked with -Wl,--wrap=calloc, so every
 * calloc in the objects linked into it (not DPDK's or libc's own) goes through fail_calloc.c,
 * which fails on demand, on one chosen thread only. The provider's request objects and data
 * indications come from pools that need no heap once warm; the test hook
 * dpw_test_provider_heap makes them come from calloc, as when their pools are empty.
 *
 *   on the client's thread: every WSK call needs a request object, so WskSend and WskSocket
 *     are refused with STATUS_INSUFFICIENT_RESOURCES, each IRP completed once with it (R2,
 *     R3), while data from the peer still reaches the receive event (F7);
 *   on the lcore: the receive event cannot be given its data indications; the data is kept
 *     (the receive backlog shows it, SIO_WSK_QUERY_RECEIVE_BACKLOG), and once memory is back
 *     it is indicated before what came after, nothing lost or reordered. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dpw/engine.h"
#include "fail_calloc.h"
#include "harness.h"
#include "provider_test_hooks.h"

#define PEER_PORT 5315

/* ---- the client ---------------------------------------------------------------------------- */

/* What the receive event was given, in order (written on the lcore only). */
static struct {
	char data[256];
	_Atomic size_t len;
	_Atomic int events;
	pthread_t lcore;
	_Atomic bool lcore_known;
} got;

/* Append to got.data (lcore); *len is where. */
static void append_piece(const uint8_t *p, size_t n, void *arg)
{
	size_t *len = arg;

	if (*len + n <= sizeof(got.data))
		memcpy(got.data + *len, p, n);
	*len += n;
}

static NTSTATUS WSKAPI on_receive(PVOID ctx, ULONG flags, PWSK_DATA_INDICATION di,
				  SIZE_T indicated, SIZE_T *accepted)
{
	size_t len = atomic_load(&got.len);

	(void)ctx, (void)flags, (void)indicated, (void)accepted;
	if (!atomic_load(&got.lcore_known)) {
		got.lcore = pthread_self();
		atomic_store(&got.lcore_known, true);
	}
	h_indication_bytes(di, append_piece, &len);
	atomic_store(&got.len, len);
	atomic_fetch_add(&got.events, 1);
	return STATUS_SUCCESS;
}

static const WSK_CLIENT_CONNECTION_DISPATCH events = { on_receive, NULL, NULL };

/* h_pump_until predicate: the event has been given at least as many bytes as the string
 * has (the content is checked where it matters). */
static bool received_at_least(void *want)
{
	size_t n = strlen(want);

	return atomic_load(&got.len) >= n;
}

static void test_client_thread_out_of_memory(PWSK_SOCKET s, int fd)
{
	struct h_irp send_irp;
	struct h_buf b;
	char buf[8];
	NTSTATUS st;
	PWSK_SOCKET extra = NULL;
	unsigned long failed0 = fail_calloc_count();

	h_test("no memory on the client's thread: WskSend and WskSocket refused with "
	       "STATUS_INSUFFICIENT_RESOURCES, each IRP once (R2, R3); receiving goes on (F7)");
	h_irp_init(&send_irp);
	h_buf_init(&b, "lost?", 5);
	fail_calloc_on(pthread_self());
	st = DpwConnectionDispatch(s)->WskSend(s, &b.wb, 0, send_irp.irp);
	fail_calloc_off();
	H_CHECK_STATUS(st, STATUS_INSUFFICIENT_RESOURCES);
	H_CHECK(h_wait(&send_irp, 1000));
	H_CHECK_STATUS(send_irp.status, STATUS_INSUFFICIENT_RESOURCES);
	fail_calloc_on(pthread_self());
	st = h_socket(WSK_FLAG_CONNECTION_SOCKET, NULL, NULL, &extra);
	fail_calloc_off();
	H_CHECK_STATUS(st, STATUS_INSUFFICIENT_RESOURCES);
	H_CHECK(extra == NULL);
	H_CHECK(fail_calloc_count() >= failed0 + 2);
	h_pump(100);   /* a second completion would run by now */
	H_CHECK(atomic_load(&send_irp.completions) == 1);

	/* Meanwhile the lcore is unaffected: the peer's data reaches the event. */
	fail_calloc_on(pthread_self());
	H_CHECK(peer_write_all(fd, "two", 3));
	fail_calloc_off();
	H_CHECK(h_pump_until(received_at_least, "onetwo", 5000));

	/* Memory back: the refused send goes through now, and nothing of it went before. */
	H_CHECK_STATUS(h_send(s, "sent", 4, 0), STATUS_SUCCESS);
	H_CHECK(peer_read_all(fd, buf, 4, 5000) == 4 && memcmp(buf, "sent", 4) == 0);
	h_irp_free(&send_irp);
	h_buf_free(&b);
}

static void test_lcore_out_of_memory(PWSK_SOCKET s, int fd)
{
	unsigned long failed0 = fail_calloc_count();
	int events0;

	h_test("no memory on the lcore: the receive event's data kept, not lost (F7); indicated "
	       "in order once memory is back");
	if (!H_CHECK(atomic_load(&got.lcore_known)))
		return;
	events0 = atomic_load(&got.events);
	fail_calloc_on(got.lcore);
	H_CHECK(peer_write_all(fd, "three", 5));
	/* The data arrives and is held: it shows in the receive backlog. */
	for (uint64_t end = h_now_ms() + 5000;
	     h_receive_backlog(s) != 5 && h_now_ms() < end;)
		h_pump(10);
	H_CHECK(h_receive_backlog(s) == 5);
	H_CHECK(fail_calloc_count() > failed0);
	H_CHECK(atomic_load(&got.events) == events0);
	fail_calloc_off();

	/* Memory back: the next data brings the held data with it, first. */
	H_CHECK(peer_write_all(fd, "four", 4));
	H_CHECK(h_pump_until(received_at_least, "onetwothreefour", 5000));
	H_CHECK(atomic_load(&got.len) == 15 && memcmp(got.data, "onetwothreefour", 15) == 0);
	H_CHECK(h_receive_backlog(s) == 0);
}

int main(int argc, char **argv)
{
	struct dpw_engine_stats s0, s1;
	PWSK_SOCKET s;
	int lfd, fd;

	h_start(argc, argv);
	/* The provider's pools hold requests and indications made before; as if they were
	 * empty, every one comes from calloc, which the test makes fail. */
	dpw_test_provider_heap(true);
	H_CHECK(h_engine_stats(&s0));
	lfd = peer_listen(PEER_PORT);
	if (!H_CHECK_STATUS(h_connect_to_peer_ex(WSK_FLAG_CONNECTION_SOCKET, NULL, &events,
						 PEER_PORT, &s),
			    STATUS_SUCCESS))
		return h_finish();
	fd = peer_accept(lfd, 5000);
	H_CHECK(fd >= 0);
	H_CHECK_STATUS(h_set_events(s, WSK_EVENT_RECEIVE), STATUS_SUCCESS);
	H_CHECK(peer_write_all(fd, "one", 3));   /* the event learns the lcore's thread */
	H_CHECK(h_pump_until(received_at_least, "one", 5000));

	test_client_thread_out_of_memory(s, fd);
	test_lcore_out_of_memory(s, fd);

	H_CHECK_STATUS(h_close(s), STATUS_SUCCESS);
	H_CHECK(h_engine_stats(&s1) && s1.lwip_errors == s0.lwip_errors);
	close(fd);
	close(lfd);
	return h_finish();
}
