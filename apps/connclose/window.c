/* The closed loop's window: loss-driven, like TCP's congestion window (see window.h). */
#include "window.h"
#include "cc.h"

uint32_t cc_window_slots(uint32_t n, bool fixed)
{
	/* A late connect holds its slot until its resent SYN is answered, a second or more:
	 * the spares must cover a second's losses. The window bounds those to about twice its
	 * size per overflow, plus one per CC_LATE_MIN_NS while the server accepts nothing. */
	uint32_t spare = n > CC_SPARE_SLOTS ? n : CC_SPARE_SLOTS;

	if (fixed)
		return n;
	return n + spare > CC_MAX_CONCURRENCY ? CC_MAX_CONCURRENCY : n + spare;
}

void cc_window_init(struct cc_window *w, uint32_t n, bool fixed)
{
	*w = (struct cc_window){ .fixed = fixed, .max = n, .w = n, .w_min = n };
}

bool cc_window_open(const struct cc_window *w)
{
	return w->fixed || w->in_window < (uint32_t)w->w;
}

void cc_window_started(struct cc_window *w)
{
	w->in_window++;
}

void cc_window_connected(struct cc_window *w, uint64_t latency_ns, bool late)
{
	double x = (double)latency_ns;

	if (w->fixed)
		return;
	if (late) {
		if (latency_ns >= CC_SYN_RTO_NS)
			return;   /* Karn: a connect whose SYN may have been resent says nothing */
		/* Slow, not lost: give the window back (once per round of cuts). */
		w->spurious++;
		if (w->w_undo > w->w)
			w->w = w->w_undo;
		w->w_undo = 0;
	}
	w->backoff = 0;
	/* RFC 6298 2.2, 2.3 */
	if (w->srtt == 0) {
		w->srtt = x;
		w->rttvar = x / 2;
	} else {
		double d = w->srtt > x ? w->srtt - x : x - w->srtt;

		w->rttvar = 0.75 * w->rttvar + 0.25 * d;
		w->srtt = 0.875 * w->srtt + 0.125 * x;
	}
	w->w += 1 / w->w;
	if (w->w > w->max)
		w->w = w->max;
	if (w->w >= w->w_undo)
		w->w_undo = 0;   /* grown back: nothing left to undo */
}

uint64_t cc_window_late_ns(const struct cc_window *w)
{
	double t = w->srtt + 4 * w->rttvar;

	return (t > (double)CC_LATE_MIN_NS ? (uint64_t)t : CC_LATE_MIN_NS) << w->backoff;
}

void cc_window_lost(struct cc_window *w, uint64_t serial, uint64_t started_so_far)
{
	w->late++;
	w->in_window--;
	if (serial < w->recover)
		return;   /* this round of losses already halved it */
	if (w->w < 2 && w->backoff < 6)
		w->backoff++;   /* the one connect allowed is lost again: wait longer */
	if (w->w > w->w_undo)
		w->w_undo = w->w;
	w->w = w->w / 2 < 1 ? 1 : w->w / 2;
	if (w->w < w->w_min)
		w->w_min = w->w;
	w->recover = started_so_far;
	w->cuts++;
}

void cc_window_watch(struct cc_window *w, bool *late, uint64_t serial, uint64_t t_connect,
		     uint64_t now, uint64_t started_so_far)
{
	if (!*late && now - t_connect > cc_window_late_ns(w)) {
		*late = true;
		cc_window_lost(w, serial, started_so_far);
	}
}

void cc_window_finished(struct cc_window *w, bool late)
{
	if (!late)
		w->in_window--;
}
