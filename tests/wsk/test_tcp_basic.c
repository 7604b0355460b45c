/* Connect out, send, receive, a receive pending across the peer's FIN, and close: the Linux
 * peer is the judge of what went on the wire. */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harness.h"

/* A bound stream socket, not yet connected. */
static PWSK_SOCKET bound_socket(void)
{
	PWSK_SOCKET s = NULL;

	if (!H_CHECK_STATUS(h_socket(WSK_FLAG_STREAM_SOCKET, NULL, NULL, &s), STATUS_SUCCESS))
		return NULL;
	if (!H_CHECK_STATUS(h_bind(s, 0, 0), STATUS_SUCCESS)) {
		h_close(s);
		return NULL;
	}
	return s;
}

static void test_connect_ex(int lfd)
{
	static const char first[] = "first bytes";
	PWSK_SOCKET s;
	SOCKADDR_IN peer;
	struct h_irp irp;
	struct h_buf b;
	char buf[64];
	int fd;

	h_test("WskConnectEx with a buffer: connects, sends it, completes with the bytes sent; "
	       "the peer reads them (WSK-F1, F3)");
	if ((s = bound_socket()) == NULL)
		return;
	h_sockaddr(&peer, h_ip_peer, 5001);
	h_buf_init(&b, (void *)first, strlen(first));
	h_irp_init(&irp);
	H_CHECK_STATUS(DpwStreamDispatch(s)->WskConnectEx(s, (PSOCKADDR)&peer, &b.wb, 0, irp.irp),
		       STATUS_PENDING);
	H_CHECK(h_wait(&irp, 5000));
	H_CHECK_STATUS(irp.status, STATUS_SUCCESS);
	H_CHECK(irp.info == strlen(first));
	fd = peer_accept(lfd, 5000);
	H_CHECK(fd >= 0);
	memset(buf, 0, sizeof(buf));
	H_CHECK(peer_read_all(fd, buf, strlen(first), 5000) == (long)strlen(first));
	H_CHECK(memcmp(buf, first, strlen(first)) == 0);
	H_CHECK(irp.completions == 1);

	h_test("WskSendEx with control data on TCP: STATUS_NOT_SUPPORTED, the IRP completed with "
	       "it (WSK-R3)");
	{
		char ctl[sizeof(CMSGHDR) + 8] = { 0 };

		h_irp_reset(&irp);
		H_CHECK_STATUS(DpwStreamDispatch(s)->WskSendEx(s, &b.wb, 0, sizeof(ctl),
							       (PCMSGHDR)ctl, irp.irp),
			       STATUS_NOT_SUPPORTED);
		H_CHECK(h_wait(&irp, 1000));
		H_CHECK_STATUS(irp.status, STATUS_NOT_SUPPORTED);
	}
	h_close(s);
	if (fd >= 0)
		close(fd);

	h_test("WskConnectEx without a buffer is a plain connect: SUCCESS, 0 bytes (WSK-F1)");
	if ((s = bound_socket()) == NULL)
		return;
	h_irp_reset(&irp);
	H_CHECK_STATUS(DpwStreamDispatch(s)->WskConnectEx(s, (PSOCKADDR)&peer, NULL, 0, irp.irp),
		       STATUS_PENDING);
	H_CHECK(h_wait(&irp, 5000));
	H_CHECK_STATUS(irp.status, STATUS_SUCCESS);
	H_CHECK(irp.info == 0);
	fd = peer_accept(lfd, 5000);
	H_CHECK(fd >= 0);

	h_test("WskConnectEx with reserved flags set: STATUS_INVALID_PARAMETER (WSK-R3)");
	h_irp_reset(&irp);
	H_CHECK_STATUS(DpwStreamDispatch(s)->WskConnectEx(s, (PSOCKADDR)&peer, NULL, 1, irp.irp),
		       STATUS_INVALID_PARAMETER);
	H_CHECK(h_wait(&irp, 1000));
	H_CHECK_STATUS(irp.status, STATUS_INVALID_PARAMETER);
	h_close(s);
	if (fd >= 0)
		close(fd);
	h_irp_free(&irp);
	h_buf_free(&b);
}

int main(int argc, char **argv)
{
	PWSK_SOCKET s;
	struct h_irp rx;
	struct h_buf b;
	char buf[64];
	int lfd, fd;
	long n;

	h_start(argc, argv);

	h_test("connect out to a Linux listener (WSK-R3, F1)");
	lfd = peer_listen(5001);
	H_CHECK_STATUS(h_connect_to_peer(5001, &s), STATUS_SUCCESS);
	fd = peer_accept(lfd, 5000);
	H_CHECK(fd >= 0);

	h_test("send: the peer reads the bytes (WSK-F3)");
	H_CHECK_STATUS(h_send(s, "hello", 5, 0), STATUS_SUCCESS);
	n = peer_read(fd, buf, sizeof(buf), 5000);
	H_CHECK(n == 5 && memcmp(buf, "hello", 5) == 0);

	h_test("receive: what the peer wrote (WSK-F4)");
	H_CHECK(peer_write_all(fd, "world", 5));
	memset(buf, 0, sizeof(buf));
	h_buf_init(&b, buf, sizeof(buf));
	h_irp_init(&rx);
	DpwStreamDispatch(s)->WskReceive(s, &b.wb, 0, rx.irp);
	H_CHECK(h_wait(&rx, 5000));
	H_CHECK_STATUS(rx.status, STATUS_SUCCESS);
	H_CHECK(rx.info == 5 && memcmp(buf, "world", 5) == 0);

	h_test("a receive pending across the peer's FIN completes with 0 bytes (WSK-F4)");
	h_irp_reset(&rx);
	DpwStreamDispatch(s)->WskReceive(s, &b.wb, 0, rx.irp);
	h_pump(50);
	H_CHECK(rx.completions == 0);
	shutdown(fd, SHUT_WR);
	H_CHECK(h_wait(&rx, 5000));
	H_CHECK_STATUS(rx.status, STATUS_SUCCESS);
	H_CHECK(rx.info == 0);
	H_CHECK(rx.completions == 1);

	h_test("close with our direction open: the peer reads ECONNRESET (WSK-C3)");
	H_CHECK_STATUS(h_close(s), STATUS_SUCCESS);
	n = peer_read(fd, buf, sizeof(buf), 5000);
	H_CHECK(n == -ECONNRESET);

	h_test("a call through the closed handle: STATUS_INVALID_HANDLE (WSK-C6)");
	h_irp_reset(&rx);
	H_CHECK_STATUS(DpwStreamDispatch(s)->WskReceive(s, &b.wb, 0, rx.irp),
		       STATUS_INVALID_HANDLE);
	H_CHECK(h_wait(&rx, 1000));
	H_CHECK_STATUS(rx.status, STATUS_INVALID_HANDLE);

	test_connect_ex(lfd);

	h_irp_free(&rx);
	h_buf_free(&b);
	close(fd);
	close(lfd);
	return h_finish();
}
