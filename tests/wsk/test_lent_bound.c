/* A client whose receive event keeps every data indication (STATUS_PENDING, F7) and never
 * releases them holds at most about one receive window of data per connection: TCP's flow
 * control is there to stop a sender that the receiver cannot keep up with. The provider
 * reopens the window for retained data only at WskRelease (tcp_rx.c); before, it reopened it
 * at once, and one such connection took the engine's whole mbuf pool (19,008 of 19,264), so
 * that no connection of any client could receive or send until that client let go.
 *
 * What this test requires: while one connection's client keeps 16 MiB worth of offered data
 * unreleased, the mbufs in use stay under a quarter of the pool, and another connection
 * still echoes within 5 s. */
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "dpw/engine.h"
#include "harness.h"

#define PEER_PORT 5316
#define OFFER (16u << 20)
#define CHUNK 65536
#define MAX_KEPT 100000

/* Indications kept, released at the end (the lcore writes, the test thread reads after). */
static PWSK_DATA_INDICATION kept[MAX_KEPT];
static _Atomic int n_kept;

static NTSTATUS WSKAPI keep_all(PVOID ctx, ULONG flags, PWSK_DATA_INDICATION di,
				SIZE_T indicated, SIZE_T *accepted)
{
	int n = atomic_load(&n_kept);

	(void)ctx, (void)flags, (void)indicated, (void)accepted;
	if (di == NULL || n == MAX_KEPT)
		return STATUS_SUCCESS;
	kept[n] = di;
	atomic_store(&n_kept, n + 1);
	return STATUS_PENDING;
}

static const WSK_CLIENT_CONNECTION_DISPATCH keeper = { keep_all, NULL, NULL };

static bool echoes(PWSK_SOCKET c, int fd)
{
	char buf[4] = { 0 };
	size_t got = 0;

	return h_send(c, "ping", 4, 0) == STATUS_SUCCESS && peer_read_all(fd, buf, 4, 5000) == 4 &&
	       peer_write_all(fd, "pong", 4) &&
	       h_receive(c, buf, 4, WSK_FLAG_WAITALL, &got) == STATUS_SUCCESS && got == 4 &&
	       memcmp(buf, "pong", 4) == 0;
}

int main(int argc, char **argv)
{
	static uint8_t chunk[CHUNK];
	struct dpw_engine_stats es;
	PWSK_SOCKET h, a;
	int lfd, hfd, afd;
	uint64_t offered = 0, end;

	h_start(argc, argv);
	h_test("a client keeping its indications holds about a window, not the mbuf pool; other "
	       "connections go on (F7, C9; KNOWN BUG: expected to fail)");
	lfd = peer_listen(PEER_PORT);
	if (!H_CHECK_STATUS(h_connect_to_peer_ex(WSK_FLAG_CONNECTION_SOCKET, NULL, &keeper,
						 PEER_PORT, &h), STATUS_SUCCESS))
		return h_finish();
	hfd = peer_accept(lfd, 5000);
	if (!H_CHECK_STATUS(h_connect_to_peer(PEER_PORT, &a), STATUS_SUCCESS))
		return h_finish();
	afd = peer_accept(lfd, 5000);
	if (!H_CHECK(hfd >= 0 && afd >= 0))
		return h_finish();
	H_CHECK_STATUS(h_set_events(h, WSK_EVENT_RECEIVE), STATUS_SUCCESS);

	/* The peer offers OFFER bytes (non-blocking; at most 20 s). */
	fcntl(hfd, F_SETFL, fcntl(hfd, F_GETFL) | O_NONBLOCK);
	memset(chunk, 'x', sizeof(chunk));
	for (end = h_now_ms() + 20000; offered < OFFER && h_now_ms() < end;) {
		ssize_t n = write(hfd, chunk, sizeof(chunk));

		if (n > 0)
			offered += (uint64_t)n;
		else
			usleep(10000);
	}
	h_pump(1000);   /* what the stack takes, it has taken by now */
	H_CHECK(h_engine_stats(&es));
	printf("offered %llu bytes; %d indication lists kept; mbufs in use %u of %u\n",
	       (unsigned long long)offered, atomic_load(&n_kept), es.mbuf_in_use, es.mbuf_total);
	H_CHECK(es.mbuf_in_use < es.mbuf_total / 4);
	H_CHECK(echoes(a, afd));

	/* Let go, then close. */
	for (int i = 0; i < atomic_load(&n_kept); i++)
		DpwConnectionDispatch(h)->WskRelease(h, kept[i]);
	H_CHECK_STATUS(h_close(h), STATUS_SUCCESS);
	H_CHECK_STATUS(h_close(a), STATUS_SUCCESS);
	close(hfd);
	close(afd);
	close(lfd);
	return h_finish();
}
