/* Exhaustion of sockets (issue 10): new work is refused with a status, work already accepted
 * goes on, and new work is taken again once the resource comes back.
 *
 * Two resources. lwIP's datagram pcbs (a datagram socket takes one at WskBind): the bind
 * that finds the pool empty is refused with STATUS_INSUFFICIENT_RESOURCES (R3), the bound
 * sockets still carry datagrams both ways, and after one close the refused socket binds.
 * The provider's handle table (every socket takes a slot at WskSocket, a basic socket
 * nothing else): WskSocket refused with STATUS_INSUFFICIENT_RESOURCES, every IRP completed
 * exactly once (R2), a connection opened before goes on echoing, and one close makes room
 * for one new socket. */
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "dpw/engine.h"
#include "harness.h"
#include "provider_test_hooks.h"

#define UDP_BASE_PORT 21000
#define MAX_DGRAM 4096          /* far above lwIP's datagram pcbs (MEMP_NUM_UDP_PCB 1024) */
#define MAX_SOCKETS 1000000     /* far above the handle table's slots */
#define BATCH 4096              /* WskSocket calls in flight at once: below the ring's size */
#define PEER_UDP_PORT 6100
#define PEER_TCP_PORT 5312

static uint32_t udp_pcbs(void)
{
	struct dpw_engine_stats es;

	return h_engine_stats(&es) ? es.udp_pcbs_in_use : UINT32_MAX;
}

/* ---- the Linux side -------------------------------------------------------------------------- */

static int peer_udp(void)
{
	struct sockaddr_in a = { .sin_family = PF_INET, .sin_port = htons(PEER_UDP_PORT) };
	int fd = peer_socket(SOCK_DGRAM);

	a.sin_addr.s_addr = h_ip_peer;
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
		fprintf(stderr, "peer UDP bind failed\n");
		exit(1);
	}
	return fd;
}

/* One datagram, waited for (bounded): its length or -1; *port its source port. */
static long peer_recv(int fd, char *buf, size_t len, uint16_t *port)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	struct sockaddr_in from;
	socklen_t fl = sizeof(from);
	ssize_t n;

	if (poll(&p, 1, 5000) != 1)
		return -1;
	n = recvfrom(fd, buf, len, MSG_DONTWAIT, (struct sockaddr *)&from, &fl);
	*port = ntohs(from.sin_port);
	return n;
}

/* ---- the stack side -------------------------------------------------------------------------- */

/* A datagram from the stack's socket to the peer arrives, from the socket's port. */
static bool stack_to_peer(PWSK_SOCKET s, uint16_t port, int pfd)
{
	SOCKADDR_IN to;
	char buf[64];
	uint16_t from = 0;

	h_sockaddr(&to, h_ip_peer, PEER_UDP_PORT);
	if (h_send_to(s, "still here", 10, &to, NULL) != STATUS_SUCCESS)
		return false;
	return peer_recv(pfd, buf, sizeof(buf), &from) == 10 && from == port &&
	       memcmp(buf, "still here", 10) == 0;
}

/* A datagram from the peer reaches the stack's socket (a WskReceiveFrom, waited for). */
static bool peer_to_stack(PWSK_SOCKET s, uint16_t port, int pfd)
{
	struct sockaddr_in a = { .sin_family = PF_INET, .sin_port = htons(port) };
	struct h_irp h;
	struct h_buf b;
	char data[64] = { 0 };
	SOCKADDR_IN from;
	bool ok;

	a.sin_addr.s_addr = h_ip_stack;
	h_irp_init(&h);
	h_buf_init(&b, data, sizeof(data));
	(void)DpwDatagramDispatch(s)->WskReceiveFrom(s, &b.wb, 0, (PSOCKADDR)&from, NULL, NULL, NULL, h.irp);
	ok = sendto(pfd, "hello", 5, 0, (struct sockaddr *)&a, sizeof(a)) == 5 &&
	     h_wait(&h, 5000) && h.status == STATUS_SUCCESS && h.info == 5 &&
	     memcmp(data, "hello", 5) == 0;
	if (h.completions == 0) {
		IoCancelIrp(h.irp);
		if (!h_wait(&h, 1000))
			return false;   /* still the provider's: leave it (and its buffer) */
	}
	h_irp_free(&h);
	h_buf_free(&b);
	return ok;
}

static void test_datagram_pcbs(void)
{
	static PWSK_SOCKET s[MAX_DGRAM];
	uint32_t pcbs0 = udp_pcbs();
	ULONG open0 = h_sockets_open();
	int bound = 0, pfd = peer_udp();
	NTSTATUS st = STATUS_SUCCESS;
	PWSK_SOCKET refused;

	h_test("datagram pcbs used up: WskBind refused with STATUS_INSUFFICIENT_RESOURCES (R3), "
	       "bound sockets unaffected (F8), room again after a close");
	for (; bound < MAX_DGRAM; bound++) {
		if (!H_CHECK_STATUS(h_socket(WSK_FLAG_DATAGRAM_SOCKET, NULL, NULL, &s[bound]),
				    STATUS_SUCCESS))
			return;
		st = h_bind(s[bound], h_ip_stack, (uint16_t)(UDP_BASE_PORT + bound));
		if (st != STATUS_SUCCESS)
			break;
	}
	printf("%d datagram sockets bound (%u pcbs were in use before), then %s\n", bound,
	       pcbs0, st == STATUS_SUCCESS ? "no refusal" : "refused");
	if (!H_CHECK_STATUS(st, STATUS_INSUFFICIENT_RESOURCES))
		return;
	refused = s[bound];
	H_CHECK(bound >= 64);
	H_CHECK(udp_pcbs() == pcbs0 + (uint32_t)bound);
	/* Refused again while the pool stays empty. */
	H_CHECK_STATUS(h_bind(refused, h_ip_stack, (uint16_t)(UDP_BASE_PORT + bound)),
		       STATUS_INSUFFICIENT_RESOURCES);

	/* The bound ones go on: the first, the middle, the last, both ways. */
	for (int k = 0; k < 3; k++) {
		int i = k == 0 ? 0 : k == 1 ? bound / 2 : bound - 1;

		H_CHECK(stack_to_peer(s[i], (uint16_t)(UDP_BASE_PORT + i), pfd));
		H_CHECK(peer_to_stack(s[i], (uint16_t)(UDP_BASE_PORT + i), pfd));
	}

	/* One close gives its pcb back: the refused socket now binds and works. */
	H_CHECK_STATUS(h_close(s[0]), STATUS_SUCCESS);
	H_CHECK_STATUS(h_bind(refused, h_ip_stack, (uint16_t)(UDP_BASE_PORT + bound)),
		       STATUS_SUCCESS);
	H_CHECK(stack_to_peer(refused, (uint16_t)(UDP_BASE_PORT + bound), pfd));
	H_CHECK(peer_to_stack(refused, (uint16_t)(UDP_BASE_PORT + bound), pfd));

	for (int i = 1; i <= bound; i++)
		H_CHECK_STATUS(h_close(s[i]), STATUS_SUCCESS);
	H_CHECK(h_wait_sockets_open(open0, 5000));
	H_CHECK(udp_pcbs() == pcbs0);
	close(pfd);
}

/* ---- the handle table ---------------------------------------------------------------------- */

/* BATCH calls in flight at once, their IRPs reused batch after batch. */
struct batch {
	struct h_irp irps[BATCH];
	struct h_irp_set set;   /* the first set.n of irps */
};

/* A connection to the Linux peer echoes one message (it was opened before the table filled). */
static bool echoes(PWSK_SOCKET c, int fd)
{
	char buf[16] = { 0 };
	size_t got = 0;

	return h_send(c, "ping", 4, 0) == STATUS_SUCCESS && peer_read_all(fd, buf, 4, 5000) == 4 &&
	       memcmp(buf, "ping", 4) == 0 && peer_write_all(fd, "pong", 4) &&
	       h_receive(c, buf, 4, WSK_FLAG_WAITALL, &got) == STATUS_SUCCESS && got == 4 &&
	       memcmp(buf, "pong", 4) == 0;
}

/* Close n sockets, BATCH at a time, each WskCloseSocket waited for: how many failed. */
static int close_all(PWSK_SOCKET *s, int n, struct batch *b)
{
	int bad = 0;

	for (int base = 0; base < n; base += BATCH) {
		b->set.n = n - base < BATCH ? n - base : BATCH;
		for (int i = 0; i < b->set.n; i++) {
			h_irp_reset(&b->irps[i]);
			(void)DpwBasicDispatch(s[base + i])->WskCloseSocket(s[base + i], b->irps[i].irp);
		}
		if (!h_pump_until(h_irps_completed, &b->set, 60000))
			return bad + b->set.n;
		for (int i = 0; i < b->set.n; i++)
			bad += b->irps[i].status != STATUS_SUCCESS;
	}
	return bad;
}

static void test_handle_table(void)
{
	const WSK_PROVIDER_NPI *npi = h_client_npi();
	PWSK_SOCKET *s = calloc(MAX_SOCKETS, sizeof(*s));
	struct batch *b = calloc(1, sizeof(*b));
	ULONG open0 = h_sockets_open();
	int n = 0, refused = 0, other = 0, not_once = 0, lfd, fd;
	PWSK_SOCKET c, extra = NULL;
	uint64_t t0 = h_now_ms();

	h_test("handle table full: WskSocket refused with STATUS_INSUFFICIENT_RESOURCES, each IRP "
	       "once (R2, R3), an open connection unaffected, room again after a close");
	if (!H_CHECK(s != NULL && b != NULL))
		return;
	for (int i = 0; i < BATCH; i++)
		h_irp_init(&b->irps[i]);
	b->set.irps = b->irps;
	lfd = peer_listen(PEER_TCP_PORT);
	if (!H_CHECK_STATUS(h_connect_to_peer(PEER_TCP_PORT, &c), STATUS_SUCCESS))
		return;
	fd = peer_accept(lfd, 5000);
	H_CHECK(fd >= 0 && echoes(c, fd));

	/* Basic sockets, BATCH calls at a time, until a batch has refusals. */
	while (refused == 0 && n + BATCH <= MAX_SOCKETS) {
		b->set.n = BATCH;
		for (int i = 0; i < BATCH; i++) {
			h_irp_reset(&b->irps[i]);
			(void)npi->Dispatch->WskSocket(npi->Client, AF_INET, SOCK_STREAM, IPPROTO_TCP,
						       WSK_FLAG_BASIC_SOCKET, NULL, NULL, NULL,
						       NULL, NULL, b->irps[i].irp);
		}
		if (!H_CHECK(h_pump_until(h_irps_completed, &b->set, 60000)))
			break;
		for (int i = 0; i < BATCH; i++) {
			not_once += atomic_load(&b->irps[i].completions) != 1;
			if (b->irps[i].status == STATUS_SUCCESS)
				s[n++] = (PWSK_SOCKET)b->irps[i].info;
			else if (b->irps[i].status == STATUS_INSUFFICIENT_RESOURCES)
				refused++;
			else
				other++;
		}
	}
	printf("handle table: %d sockets open, then %d of a batch refused, %d other failures "
	       "(%llu ms)\n", n, refused, other, (unsigned long long)(h_now_ms() - t0));
	H_CHECK(refused > 0);
	H_CHECK(other == 0);
	H_CHECK(not_once == 0);
	H_CHECK(h_sockets_open() == open0 + 1 + (ULONG)n);   /* and the connection */
	/* Refused only once every slot held a socket, none left waiting on another lcore. */
	H_CHECK(h_sockets_open() == dpw_test_socket_table_slots());

	/* Full: refused again, and what was open before still works. */
	H_CHECK_STATUS(h_socket(WSK_FLAG_BASIC_SOCKET, NULL, NULL, &extra),
		       STATUS_INSUFFICIENT_RESOURCES);
	H_CHECK(fd >= 0 && echoes(c, fd));

	/* One close makes room for exactly one. */
	H_CHECK_STATUS(h_close(s[--n]), STATUS_SUCCESS);
	H_CHECK_STATUS(h_socket(WSK_FLAG_BASIC_SOCKET, NULL, NULL, &extra), STATUS_SUCCESS);
	if (extra != NULL)
		s[n++] = extra;
	H_CHECK_STATUS(h_socket(WSK_FLAG_BASIC_SOCKET, NULL, NULL, &extra),
		       STATUS_INSUFFICIENT_RESOURCES);

	H_CHECK(close_all(s, n, b) == 0);
	H_CHECK(h_wait_sockets_open(open0 + 1, 10000));   /* the connection is left */
	H_CHECK(echoes(c, fd));
	H_CHECK_STATUS(h_close(c), STATUS_SUCCESS);
	close(fd);
	close(lfd);
	for (int i = 0; i < BATCH; i++)
		h_irp_free(&b->irps[i]);
	free(b);
	free(s);
}

int main(int argc, char **argv)
{
	h_start(argc, argv);
	test_datagram_pcbs();
	test_handle_table();
	return h_finish();
}
