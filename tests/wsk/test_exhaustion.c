/* Exhaustion of the request ring (issue 10): new work is refused with a status, nothing the
 * provider already took is lost, and it takes work again once there is room.
 *
 * The lcore is held inside a receive event callback (callbacks run on it, WSK-F7), so nothing
 * drains the request ring while this thread fills it with WskGetLocalAddress calls. Each
 * call either returns STATUS_PENDING (the ring took it) or is refused with
 * STATUS_INSUFFICIENT_RESOURCES, and then its IRP is completed with that status too (R3) and
 * counted in the provider's RingFull. Once the callback returns, every taken call completes
 * with STATUS_SUCCESS; every IRP, taken or refused, completes exactly once (R2); and a call
 * made after that is taken and succeeds. */
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

#define PEER_PORT 5311
#define MAX_CALLS 70000     /* above the ring's 65,535 places */
#define EXTRA_REFUSALS 64   /* calls tried after the first refusal: all refused too */

/* The callback holds the lcore until released, bounded in time so a broken test ends. */
static _Atomic int held, release;

static NTSTATUS WSKAPI hold_lcore(PVOID ctx, ULONG flags, PWSK_DATA_INDICATION di,
				  SIZE_T indicated, SIZE_T *accepted)
{
	uint64_t end = h_now_ms() + 30000;

	(void)ctx, (void)flags, (void)di, (void)indicated, (void)accepted;
	held = 1;
	while (!release && h_now_ms() < end)
		sched_yield();
	return STATUS_SUCCESS;
}

static const WSK_CLIENT_CONNECTION_DISPATCH events = { hold_lcore, NULL, NULL };

static void test_request_ring_full(void)
{
	struct h_irp_set c = { calloc(MAX_CALLS, sizeof(struct h_irp)), 0 };
	SOCKADDR_INET *addrs = calloc(MAX_CALLS, sizeof(SOCKADDR_INET));
	DPW_PROVIDER_STATS before, after;
	int lfd, fd, taken = 0, refused = 0, wrong = 0, first_refused = -1;
	SOCKADDR_INET sa;
	PWSK_SOCKET s;
	uint64_t end;

	h_test("request ring full: refused with a status, nothing taken lost (R2, R3)");
	if (!H_CHECK(c.irps != NULL && addrs != NULL))
		return;
	lfd = peer_listen(PEER_PORT);
	if (!H_CHECK_STATUS(h_connect_to_peer_ex(WSK_FLAG_CONNECTION_SOCKET, NULL, &events,
						 PEER_PORT, &s),
			    STATUS_SUCCESS))
		return;
	fd = peer_accept(lfd, 5000);
	H_CHECK(fd >= 0);
	H_CHECK_STATUS(h_set_events(s, WSK_EVENT_RECEIVE), STATUS_SUCCESS);

	/* One byte from the peer puts the lcore into the callback. */
	H_CHECK(peer_write_all(fd, "x", 1));
	for (end = h_now_ms() + 5000; !held && h_now_ms() < end;)
		sched_yield();
	if (!H_CHECK(held))
		return;

	DpwGetProviderStats(&before);
	for (; c.n < MAX_CALLS; c.n++) {
		NTSTATUS st;

		h_irp_init(&c.irps[c.n]);
		st = DpwConnectionDispatch(s)->WskGetLocalAddress(s, (PSOCKADDR)&addrs[c.n],
								  c.irps[c.n].irp);
		if (st == STATUS_PENDING) {
			taken++;
		} else if (st == STATUS_INSUFFICIENT_RESOURCES) {
			if (first_refused < 0)
				first_refused = c.n;
			if (++refused > EXTRA_REFUSALS) {
				c.n++;
				break;
			}
		} else {
			wrong++;
		}
	}
	DpwGetProviderStats(&after);
	printf("request ring: %d calls taken, %d refused (the first at call %d), %d other\n",
	       taken, refused, first_refused, wrong);
	H_CHECK(refused > 0);
	H_CHECK(wrong == 0);
	H_CHECK(taken >= 65000);
	/* Once full, it stays full while the lcore is held: every call after is refused. */
	H_CHECK(first_refused == taken);
	H_CHECK(after.RingFull - before.RingFull == (ULONGLONG)refused);

	release = 1;
	H_CHECK(h_pump_until(h_irps_completed, &c, 60000));
	{
		int once = 0, ok = 0, refused_status = 0;

		for (int i = 0; i < c.n; i++) {
			once += atomic_load(&c.irps[i].completions) == 1;
			if (i < first_refused)
				ok += c.irps[i].status == STATUS_SUCCESS &&
				      addrs[i].si_family == AF_INET;
			else
				refused_status +=
					c.irps[i].status == STATUS_INSUFFICIENT_RESOURCES;
		}
		printf("completed exactly once: %d of %d; taken and succeeded: %d; refused "
		       "with STATUS_INSUFFICIENT_RESOURCES: %d\n", once, c.n, ok, refused_status);
		H_CHECK(once == c.n);
		H_CHECK(ok == taken);
		H_CHECK(refused_status == refused);
	}

	/* Room again: the next call is taken and answered. */
	H_CHECK_STATUS(h_local_address_sa(s, &sa), STATUS_SUCCESS);
	H_CHECK_STATUS(h_close(s), STATUS_SUCCESS);
	close(fd);
	close(lfd);
	for (int i = 0; i < c.n; i++)
		h_irp_free(&c.irps[i]);
	free(c.irps);
	free(addrs);
}

int main(int argc, char **argv)
{
	h_start(argc, argv);
	test_request_ring_full();
	return h_finish();
}
