/* The closed loop's window (apps/connclose/window.c), driven by hand: full at the start; a
 * round of losses halves it once, not once per loss; a late connect answered before any SYN
 * could have been resent undoes the cut; one answered after it does not, and teaches the
 * estimate nothing (Karn); the window grows back by one per connect to the threshold, then by
 * 1/W, never past --concurrency; with the window at one and that connect lost again, the wait
 * doubles, up to 64 times, and a connect in time resets it; --fixed-window never closes.
 * No network. */
#include <inttypes.h>
#include <stdio.h>

#include "check.h"
#include "window.h"

#define MS 1000000ull

/* Start cycles while the window lets them; returns how many started. */
static unsigned fill(struct cc_window *w, uint64_t *started)
{
	unsigned n = 0;

	while (cc_window_open(w) && n < 100000) {
		cc_window_started(w);
		(*started)++;
		n++;
	}
	return n;
}

int main(void)
{
	struct cc_window w;
	uint64_t started = 0;
	unsigned n;

	CHECK(cc_window_slots(16, false) == 16 + CC_SPARE_SLOTS, "slots %u",
	      cc_window_slots(16, false));
	CHECK(cc_window_slots(16, true) == 16, "fixed: slots %u", cc_window_slots(16, true));
	CHECK(cc_window_slots(12000, false) == 16384, "capped: slots %u",
	      cc_window_slots(12000, false));

	cc_window_init(&w, 16, false);
	n = fill(&w, &started);
	CHECK(n == 16, "a full window at the start: %u", n);
	CHECK(cc_window_late_ns(&w) == CC_LATE_MIN_NS, "late after %" PRIu64,
	      cc_window_late_ns(&w));

	/* A round: all 16 lost, one cut to 8. */
	for (uint64_t s = 0; s < 16; s++)
		cc_window_lost(&w, s, started);
	CHECK(w.cuts == 1 && w.w == 8 && w.late == 16, "one cut a round: cuts %" PRIu64
	      " w %.1f", w.cuts, w.w);
	n = fill(&w, &started);
	CHECK(n == 8, "8 start after the cut: %u", n);

	/* One of the first round answered at 30 ms: slow, not lost: the cut is undone. */
	cc_window_connected(&w, 30 * MS, true);
	CHECK(w.spurious == 1 && w.w == 16, "undo: spurious %" PRIu64 " w %.1f", w.spurious,
	      w.w);
	CHECK(cc_window_late_ns(&w) == 30 * MS + 4 * 15 * MS, "the estimate learns it: %" PRIu64,
	      cc_window_late_ns(&w));
	cc_window_finished(&w, true);

	/* A loss in the new round cuts again; one answered after 1 s (its SYN resent) does not
	 * undo it and leaves the estimate alone. */
	cc_window_lost(&w, started - 1, started);
	CHECK(w.cuts == 2 && w.w == 8, "second round cut: cuts %" PRIu64 " w %.1f", w.cuts, w.w);
	{
		uint64_t before = cc_window_late_ns(&w);

		cc_window_connected(&w, 1100 * MS, true);
		CHECK(w.w == 8 && w.spurious == 1, "no undo after a resent SYN: w %.1f", w.w);
		CHECK(cc_window_late_ns(&w) == before, "Karn: estimate unchanged");
	}

	/* Growth: 1/W a connect: 8 connects in time add about one. */
	for (int i = 0; i < 8; i++)
		cc_window_connected(&w, 1 * MS, false);
	CHECK(w.w > 8.9 && w.w < 9, "additive increase: w %.3f", w.w);
	for (int i = 0; i < 10000; i++)
		cc_window_connected(&w, 1 * MS, false);
	CHECK(w.w == 16, "never past --concurrency: w %.1f", w.w);

	/* Down to one, then lost again and again: the wait doubles, at most 64 times. */
	cc_window_init(&w, 2, false);
	started = 0;
	for (int round = 0; round < 12; round++) {
		uint64_t first = started;

		n = fill(&w, &started);
		for (uint64_t s = first; s < started; s++)
			cc_window_lost(&w, s, started);
	}
	CHECK(w.w == 1, "window at one: %.1f", w.w);
	CHECK(cc_window_late_ns(&w) == CC_LATE_MIN_NS << 6, "backed off 64 times: %" PRIu64,
	      cc_window_late_ns(&w));
	cc_window_connected(&w, MS / 10, false);   /* 0.1 + 4 x 0.05 ms: under the floor */
	CHECK(cc_window_late_ns(&w) == CC_LATE_MIN_NS, "a connect in time resets it: %" PRIu64,
	      cc_window_late_ns(&w));

	/* --fixed-window: always open, nothing learnt. */
	cc_window_init(&w, 4, true);
	started = 0;
	for (int i = 0; i < 100; i++)
		cc_window_started(&w);
	CHECK(cc_window_open(&w), "fixed: always open");

	printf("connclose-window: %d of %d checks failed\n", failures, checks);
	return failures != 0;
}
