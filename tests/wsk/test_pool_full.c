/* Every pcb in use (issue 11), seen through WSK: a new connection is refused and every
 * established connection goes on working.
 *
 * Three connections are established first (two WskConnects to a Linux listener, one accepted
 * from a Linux client), then the rest of lwIP's connection pool (meson option tcp_pcbs) is
 * filled with connection sockets bound to distinct ports of the stack's address: a bound
 * socket holds a pcb, and costs no peer a file. The last bind is refused with
 * STATUS_INSUFFICIENT_RESOURCES and the pool is then full. While it is:
 *   - WskSocketConnect completes with STATUS_INSUFFICIENT_RESOURCES and leaves no socket;
 *   - a bind on a socket that has no pcb yet is refused the same way;
 *   - a Linux client's SYN to a listening socket gets no pcb: the stack drops it and counts
 *     it (syn_dropped; no RST, so the client retries, as from a Linux listener whose queue
 *     is full) and the pending WskAccept does not complete;
 *   - the three established connections carry data both ways.
 * Then two filler sockets close: the client's retried SYN gets in and the WskAccept
 * completes, and a WskSocketConnect succeeds; both carry data. Last, everything closes and
 * the pool empties again.
 *
 * It needs a pool it can fill: a build with tcp_pcbs above MAX_POOL skips (exit 77). */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

#define PEER_PORT 5321    /* the Linux listener the stack connects to */
#define STACK_PORT 5322   /* the WSK listener the Linux client connects to */
#define FIRST_FILL_PORT 1024
#define MAX_POOL 64000    /* fillers need a port each, from FIRST_FILL_PORT to 65535 */

/* A 4-byte message each way between s and the Linux socket fd: true if both arrived whole. */
static bool exchange(PWSK_SOCKET s, int fd, char tag)
{
	char out[4] = { 'p', 'i', 'n', tag }, back[4] = { 'p', 'o', 'n', tag }, buf[4];
	size_t have = 0, got;

	if (h_send(s, out, sizeof(out), 0) != STATUS_SUCCESS ||
	    peer_read_all(fd, buf, sizeof(buf), 5000) != (long)sizeof(buf) ||
	    memcmp(buf, out, sizeof(buf)) != 0 || !peer_write_all(fd, back, sizeof(back)))
		return false;
	while (have < sizeof(buf)) {
		if (h_receive(s, buf + have, sizeof(buf) - have, 0, &got) != STATUS_SUCCESS || got == 0)
			return false;
		have += got;
	}
	return memcmp(buf, back, sizeof(back)) == 0;
}

/* WskSocketConnect to the Linux listener: its final status; the socket in *out on success. */
static NTSTATUS socket_connect(PWSK_SOCKET *out)
{
	SOCKADDR_IN local, remote;
	struct h_irp h;
	NTSTATUS st;

	*out = NULL;
	h_sockaddr(&local, 0, 0);
	h_sockaddr(&remote, h_ip_peer, PEER_PORT);
	h_irp_init(&h);
	st = h_npi.Dispatch->WskSocketConnect(h_npi.Client, SOCK_STREAM, IPPROTO_TCP,
					      (PSOCKADDR)&local, (PSOCKADDR)&remote, 0, NULL, NULL,
					      NULL, NULL, NULL, h.irp);
	if (!h_wait(&h, 10000)) {
		h_check(false, "WskSocketConnect completed", __FILE__, __LINE__);
		return STATUS_UNSUCCESSFUL;   /* the IRP stays the provider's: not freed */
	}
	H_CHECK(st == STATUS_PENDING || st == h.status);
	if (h.status == STATUS_SUCCESS)
		*out = (PWSK_SOCKET)h.info;
	h_irp_free(&h);
	return h.status;
}

struct syn_wait {
	uint64_t before;
};

static bool syn_dropped_since(void *arg)
{
	const struct syn_wait *w = arg;
	uint64_t now = h_syn_dropped();

	return now != UINT64_MAX && now > w->before;
}

static void test_pool_full(void)
{
	PWSK_SOCKET out[2] = { NULL, NULL }, in = NULL, listener = NULL, spare = NULL, late_in = NULL,
		    late_out = NULL, s;
	PWSK_SOCKET *fill = NULL;
	int lfd, pfd[2] = { -1, -1 }, in_fd = -1, late_fd = -1, late_out_fd = -1;
	uint32_t total = h_tcp_pcbs_total(), n_fill = 0, skipped = 0, pcbs0 = h_tcp_pcbs_in_use();
	ULONG open_before;
	NTSTATUS st, last = STATUS_SUCCESS;
	struct h_irp acc;
	SOCKADDR_IN la, ra;
	struct syn_wait w;
	uint64_t t0;

	h_test("pool full: new connections refused (STATUS_INSUFFICIENT_RESOURCES, SYN dropped "
	       "and counted), established ones keep working, room again once one goes");
	if (!H_CHECK(total != UINT32_MAX && pcbs0 != UINT32_MAX && total <= MAX_POOL))
		return;
	fill = calloc(total, sizeof(*fill));
	if (!H_CHECK(fill != NULL))
		return;

	/* Three established connections. */
	lfd = peer_listen(PEER_PORT);
	H_CHECK(lfd >= 0);
	for (int i = 0; i < 2; i++) {
		H_CHECK_STATUS(h_connect_to_peer(PEER_PORT, &out[i]), STATUS_SUCCESS);
		pfd[i] = peer_accept(lfd, 5000);
		H_CHECK(pfd[i] >= 0);
	}
	H_CHECK_STATUS(h_listener(WSK_FLAG_LISTEN_SOCKET, STACK_PORT, NULL, NULL, &listener),
		       STATUS_SUCCESS);
	in_fd = peer_connect(STACK_PORT);
	H_CHECK(in_fd >= 0);
	H_CHECK_STATUS(h_accept(listener, NULL, NULL, &la, &ra, &in), STATUS_SUCCESS);
	if (out[0] == NULL || out[1] == NULL || in == NULL || pfd[0] < 0 || pfd[1] < 0 || in_fd < 0)
		goto out;
	H_CHECK(exchange(out[0], pfd[0], 'a') && exchange(out[1], pfd[1], 'b') &&
		exchange(in, in_fd, 'c'));

	/* Fill the pool: bound sockets on distinct ports until a bind is refused. */
	t0 = h_now_ms();
	for (uint32_t port = FIRST_FILL_PORT; port <= 65535 && n_fill < total; port++) {
		if (h_socket(WSK_FLAG_CONNECTION_SOCKET, NULL, NULL, &s) != STATUS_SUCCESS) {
			h_check(false, "a connection socket without a pcb is created", __FILE__, __LINE__);
			break;
		}
		st = h_bind(s, h_ip_stack, (uint16_t)port);
		if (st == STATUS_SUCCESS) {
			fill[n_fill++] = s;
			continue;
		}
		if (st == STATUS_ADDRESS_ALREADY_ASSOCIATED) {   /* a port the connections use */
			skipped++;
			H_CHECK_STATUS(h_close(s), STATUS_SUCCESS);
			continue;
		}
		last = st;
		spare = s;   /* refused: kept, unbound, to try again */
		break;
	}
	printf("pool_full: %u sockets bound in %llu ms (%u ports in use skipped), the pool %u of %u\n",
	       n_fill, (unsigned long long)(h_now_ms() - t0), skipped, h_tcp_pcbs_in_use(), total);
	H_CHECK_STATUS(last, STATUS_INSUFFICIENT_RESOURCES);
	H_CHECK(h_tcp_pcbs_in_use() == total);
	if (spare == NULL)
		goto out;

	/* Refused: a connect, a bind. */
	open_before = h_sockets_open();
	H_CHECK_STATUS(socket_connect(&s), STATUS_INSUFFICIENT_RESOURCES);
	H_CHECK(h_wait_sockets_open(open_before, 2000));
	H_CHECK_STATUS(h_bind(spare, h_ip_stack, 0), STATUS_INSUFFICIENT_RESOURCES);

	/* Refused: an incoming SYN (dropped, counted), the accept stays pending. */
	h_irp_init(&acc);
	st = DpwListenDispatch(listener)->WskAccept(listener, 0, NULL, NULL, NULL, NULL, acc.irp);
	H_CHECK_STATUS(st, STATUS_PENDING);
	w.before = h_syn_dropped();
	late_fd = peer_connect_start(STACK_PORT);
	H_CHECK(late_fd >= 0);
	H_CHECK(h_pump_until(syn_dropped_since, &w, 5000));
	H_CHECK(atomic_load(&acc.completions) == 0);

	/* The established connections go on. */
	H_CHECK(exchange(out[0], pfd[0], 'd'));
	H_CHECK(exchange(out[1], pfd[1], 'e'));
	H_CHECK(exchange(in, in_fd, 'f'));
	H_CHECK(h_tcp_pcbs_in_use() == total);

	/* Two go: the client's retried SYN gets in (Linux resends it after 1 s), and a
	 * WskSocketConnect succeeds. */
	H_CHECK_STATUS(h_close(fill[--n_fill]), STATUS_SUCCESS);
	H_CHECK_STATUS(h_close(fill[--n_fill]), STATUS_SUCCESS);
	H_CHECK(h_wait(&acc, 10000));
	H_CHECK_STATUS(acc.status, STATUS_SUCCESS);
	H_CHECK(peer_connect_finish(late_fd, 5000) == 0);
	if (acc.status == STATUS_SUCCESS) {
		late_in = (PWSK_SOCKET)acc.info;
		H_CHECK(exchange(late_in, late_fd, 'g'));
	}
	H_CHECK_STATUS(socket_connect(&late_out), STATUS_SUCCESS);
	late_out_fd = peer_accept(lfd, 5000);
	H_CHECK(late_out_fd >= 0);
	if (late_out != NULL && late_out_fd >= 0)
		H_CHECK(exchange(late_out, late_out_fd, 'h'));
	if (atomic_load(&acc.completions) == 1)
		h_irp_free(&acc);

out:
	/* Everything closes; the pool empties (but for TIME_WAIT, which a WskCloseSocket of an
	 * established connection does not leave: it resets). */
	for (uint32_t i = 0; i < n_fill; i++)
		H_CHECK_STATUS(h_close(fill[i]), STATUS_SUCCESS);
	if (spare != NULL)
		H_CHECK_STATUS(h_close(spare), STATUS_SUCCESS);
	PWSK_SOCKET conns[] = { out[0], out[1], in, late_in, late_out, listener };
	for (size_t i = 0; i < sizeof(conns) / sizeof(conns[0]); i++)
		if (conns[i] != NULL)
			H_CHECK_STATUS(h_close(conns[i]), STATUS_SUCCESS);
	int fds[] = { pfd[0], pfd[1], in_fd, late_fd, late_out_fd, lfd };
	for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++)
		if (fds[i] >= 0)
			close(fds[i]);
	H_CHECK(h_wait_sockets_open(0, 10000));
	printf("pool_full: pcbs in use at the end %u (at the start %u)\n", h_tcp_pcbs_in_use(), pcbs0);
	H_CHECK(h_tcp_pcbs_in_use() <= pcbs0 + 8);
	free(fill);
}

int main(int argc, char **argv)
{
	h_start(argc, argv);
	if (h_tcp_pcbs_total() > MAX_POOL) {
		printf("SKIP: tcp_pcbs %u: a pool this test cannot fill (ports %u to 65535)\n",
		       h_tcp_pcbs_total(), FIRST_FILL_PORT);
		h_finish();
		return 77;
	}
	test_pool_full();
	return h_finish();
}
