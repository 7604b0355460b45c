/* A latency histogram in fixed memory: log-linear buckets (every power of two split into 32
 * equal sub-buckets), so recording is a few shifts and an increment, memory never grows with
 * the run, and any percentile is within 1/32 (3.2 %) of the true value. Values are unsigned
 * integers (the programs record nanoseconds); exact up to 63, clamped at 2^40 (~18 minutes in
 * ns). Plain C, no DPDK: the Linux benchmark programs use it too, so both sides of a
 * comparison compute their percentiles the same way. Not thread-safe: one per thread, then
 * dpw_hist_merge. */
#ifndef DPW_HIST_H
#define DPW_HIST_H

#include <stdint.h>

#define DPW_HIST_SUB_BITS 5                               /* 32 sub-buckets per octave */
#define DPW_HIST_SUB      (1u << DPW_HIST_SUB_BITS)
#define DPW_HIST_MAX_BITS 40                              /* values below 2^40 are kept apart */
#define DPW_HIST_BUCKETS  ((DPW_HIST_MAX_BITS - DPW_HIST_SUB_BITS + 1) * DPW_HIST_SUB)

struct dpw_hist {
	uint64_t count;
	uint64_t sum;     /* for the mean; wraps only after ~584 years of nanoseconds */
	uint64_t min;
	uint64_t max;
	uint64_t buckets[DPW_HIST_BUCKETS];
};

void dpw_hist_init(struct dpw_hist *h);
void dpw_hist_add(struct dpw_hist *h, uint64_t value);
/* Add every value recorded in src to dst. */
void dpw_hist_merge(struct dpw_hist *dst, const struct dpw_hist *src);
/* The value at quantile q (0 < q <= 1): the highest value of the bucket that holds the
 * ceil(q * count)-th smallest value, never above max (so q = 1 gives max exactly). 0 if
 * empty. */
uint64_t dpw_hist_quantile(const struct dpw_hist *h, double q);
double dpw_hist_mean(const struct dpw_hist *h);

#endif /* DPW_HIST_H */
