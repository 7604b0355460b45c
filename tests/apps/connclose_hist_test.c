/* The latency histogram of apps/common/hist.c (dpwsk-connclose and linux-connclose report
 * their percentiles with it): every value lands in a bucket whose top is at most 1/32 above
 * it, quantiles follow the nearest-rank rule, max is exact, merging equals recording once,
 * and values beyond the range are clamped, not lost. No network. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "hist.h"

static int failures;

#define CHECK(cond, ...)                                                  \
	do {                                                              \
		if (!(cond)) {                                            \
			failures++;                                       \
			if (failures < 20) {                              \
				printf("FAIL: %s:%d: ", __FILE__, __LINE__); \
				printf(__VA_ARGS__);                      \
				printf("\n");                             \
			}                                                 \
		}                                                         \
	} while (0)

static struct dpw_hist a, b, c;

int main(void)
{
	uint64_t v;

	/* Empty. */
	dpw_hist_init(&a);
	CHECK(dpw_hist_quantile(&a, 0.5) == 0 && dpw_hist_mean(&a) == 0, "empty");

	/* Bucket resolution: with one value v and one far above it, the median is v's bucket
	 * top, which must be in [v, v + v/32]. Every value below 2^16, then a sweep to 2^40. */
	for (v = 0; v < (1u << 16) || v < (1ull << 40); v = v < (1u << 16) ? v + 1 : v + v / 7 + 1) {
		uint64_t top;

		dpw_hist_init(&a);
		dpw_hist_add(&a, v);
		dpw_hist_add(&a, 1ull << 45);
		top = dpw_hist_quantile(&a, 0.5);
		CHECK(top >= v && top <= v + v / 32, "v=%" PRIu64 " top=%" PRIu64, v, top);
		if (v < 64)
			CHECK(top == v, "small values are exact: v=%" PRIu64 " top=%" PRIu64, v, top);
	}

	/* 1..1000: nearest-rank quantiles within 1/32, max and mean exact. */
	dpw_hist_init(&a);
	dpw_hist_init(&b);
	dpw_hist_init(&c);
	for (v = 1; v <= 1000; v++) {
		dpw_hist_add(&a, v);
		dpw_hist_add(v % 2 ? &b : &c, v);
	}
	CHECK(a.count == 1000 && a.min == 1 && a.max == 1000, "count/min/max");
	CHECK(dpw_hist_mean(&a) == 500.5, "mean %f", dpw_hist_mean(&a));
	{
		static const struct { double q; uint64_t rank; } qs[] = {
			{ 0.001, 1 }, { 0.5, 500 }, { 0.9, 900 }, { 0.99, 990 }, { 0.999, 999 },
			{ 1.0, 1000 },
		};

		for (size_t i = 0; i < sizeof(qs) / sizeof(qs[0]); i++) {
			uint64_t got = dpw_hist_quantile(&a, qs[i].q);

			CHECK(got >= qs[i].rank && got <= qs[i].rank + qs[i].rank / 32,
			      "q=%g: want ~%" PRIu64 ", got %" PRIu64, qs[i].q, qs[i].rank, got);
		}
	}
	CHECK(dpw_hist_quantile(&a, 1.0) == 1000, "q=1 is max");

	/* Merging the odd and even halves gives the same histogram. */
	dpw_hist_merge(&b, &c);
	CHECK(b.count == a.count && b.sum == a.sum && b.min == a.min && b.max == a.max,
	      "merge totals");
	for (unsigned i = 0; i < DPW_HIST_BUCKETS; i++)
		CHECK(b.buckets[i] == a.buckets[i], "merge bucket %u", i);

	/* Beyond 2^40: counted in the top bucket, max exact, quantiles never above max. */
	dpw_hist_init(&a);
	dpw_hist_add(&a, 1ull << 50);
	dpw_hist_add(&a, UINT64_MAX);
	CHECK(a.count == 2 && a.buckets[DPW_HIST_BUCKETS - 1] == 2, "clamped into the top bucket");
	CHECK(dpw_hist_quantile(&a, 1.0) == UINT64_MAX, "max exact");
	/* The top bucket reports the top of the range. */
	CHECK(dpw_hist_quantile(&a, 0.5) == (1ull << 40) - 1, "clamped median %" PRIu64,
	      dpw_hist_quantile(&a, 0.5));

	if (failures) {
		printf("connclose_hist_test: %d checks failed\n", failures);
		return 1;
	}
	printf("connclose_hist_test: all checks passed\n");
	return 0;
}
