/* Connect out, send, receive, a receive pending across the peer's FIN, and close: the Linux
 * peer is the judge of what went on the wire. */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harness.h"

static const WSK_PROVIDER_STREAM_DISPATCH *D(PWSK_SOCKET s)
{
	return s->Dispatch;
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
	D(s)->WskReceive(s, &b.wb, 0, rx.irp);
	H_CHECK(h_wait(&rx, 5000));
	H_CHECK_STATUS(rx.status, STATUS_SUCCESS);
	H_CHECK(rx.info == 5 && memcmp(buf, "world", 5) == 0);

	h_test("a receive pending across the peer's FIN completes with 0 bytes (WSK-F4)");
	h_irp_reset(&rx);
	D(s)->WskReceive(s, &b.wb, 0, rx.irp);
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
	H_CHECK_STATUS(D(s)->WskReceive(s, &b.wb, 0, rx.irp), STATUS_INVALID_HANDLE);
	H_CHECK(h_wait(&rx, 1000));
	H_CHECK_STATUS(rx.status, STATUS_INVALID_HANDLE);

	h_irp_free(&rx);
	h_buf_free(&b);
	close(fd);
	close(lfd);
	return h_finish();
}
