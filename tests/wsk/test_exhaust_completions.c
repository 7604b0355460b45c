/* The completion ring filling up (issue 10): a client that does not run its completions for a
 * while lets them pile up past the ring's 65,535 places. None may be lost (R2: every IRP
 * completes exactly once), so the provider spills the rest to an overflow list and counts it
 * (CompletionSpills); when the client polls again, every routine runs once, in the order the
 * calls completed (the overflow never overtakes the ring, as C2's ordering needs), and the
 * next completion goes through the ring again.
 *
 * The calls are WskGetLocalAddress on a bound datagram socket, issued in two halves so that
 * the request ring (also 65,536) never refuses one; nothing polls this client until all of
 * them were posted, as the provider's Completions counter tells. */
#include <stdlib.h>

#include "harness.h"

#define CALLS 70000   /* above the completion ring's 65,535 places */
#define HALF (CALLS / 2)
#define RING_PLACES 65535

static ULONGLONG posted(void)
{
	DPW_PROVIDER_STATS ps;

	DpwGetProviderStats(&ps);
	return ps.Completions;
}

/* Wait (bounded, without running completions) until n more completions were posted. */
static bool wait_posted(ULONGLONG base, ULONGLONG n)
{
	uint64_t end = h_now_ms() + 30000;

	while (posted() - base < n && h_now_ms() < end)
		;
	return posted() - base >= n;
}

static void test_completion_ring_full(void)
{
	struct h_irp_set c = { calloc(CALLS, sizeof(struct h_irp)), CALLS };
	SOCKADDR_INET *addrs = calloc(CALLS, sizeof(*addrs));
	DPW_PROVIDER_STATS before, after;
	int not_pending = 0, early = 0, once = 0, ok = 0, out_of_order = 0;
	ULONGLONG base;
	SOCKADDR_INET sa;
	PWSK_SOCKET s;

	h_test("completion ring full: spilled and counted, every IRP once and in completion "
	       "order (R2, C2, C10)");
	if (!H_CHECK(c.irps != NULL && addrs != NULL))
		return;
	if (!H_CHECK_STATUS(h_socket(WSK_FLAG_DATAGRAM_SOCKET, NULL, NULL, &s), STATUS_SUCCESS))
		return;
	H_CHECK_STATUS(h_bind(s, h_ip_stack, 0), STATUS_SUCCESS);
	for (int i = 0; i < CALLS; i++)
		h_irp_init(&c.irps[i]);

	DpwGetProviderStats(&before);
	base = posted();
	for (int half = 0; half < 2; half++) {
		for (int i = half * HALF; i < (half + 1) * HALF; i++)
			not_pending += DpwDatagramDispatch(s)->WskGetLocalAddress(s, (PSOCKADDR)&addrs[i],
								 c.irps[i].irp) != STATUS_PENDING;
		H_CHECK(wait_posted(base, (ULONGLONG)(half + 1) * HALF));
	}
	DpwGetProviderStats(&after);
	for (int i = 0; i < CALLS; i++)
		early += atomic_load(&c.irps[i].completions) != 0;
	printf("%d calls posted without polling: %llu spilled past the ring\n", CALLS,
	       (unsigned long long)(after.CompletionSpills - before.CompletionSpills));
	H_CHECK(not_pending == 0);
	H_CHECK(early == 0);   /* nothing ran: this client was not polled */
	H_CHECK(after.CompletionSpills - before.CompletionSpills == CALLS - RING_PLACES);

	H_CHECK(h_pump_until(h_irps_completed, &c, 30000));
	for (int i = 0; i < CALLS; i++) {
		once += atomic_load(&c.irps[i].completions) == 1;
		ok += c.irps[i].status == STATUS_SUCCESS && addrs[i].si_family == AF_INET;
		out_of_order += i > 0 && c.irps[i].order <= c.irps[i - 1].order;
	}
	printf("completed once: %d of %d, succeeded: %d, out of order: %d\n", once, CALLS, ok,
	       out_of_order);
	H_CHECK(once == CALLS);
	H_CHECK(ok == CALLS);
	H_CHECK(out_of_order == 0);

	/* Room again: the next completion goes through the ring, not the overflow. */
	DpwGetProviderStats(&before);
	H_CHECK_STATUS(h_local_address_sa(s, &sa), STATUS_SUCCESS);
	DpwGetProviderStats(&after);
	H_CHECK(after.CompletionSpills == before.CompletionSpills);
	H_CHECK_STATUS(h_close(s), STATUS_SUCCESS);
	for (int i = 0; i < CALLS; i++)
		h_irp_free(&c.irps[i]);
	free(c.irps);
	free(addrs);
}

int main(int argc, char **argv)
{
	h_start(argc, argv);
	test_completion_ring_full();
	return h_finish();
}
