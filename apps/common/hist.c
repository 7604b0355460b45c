/* Log-linear latency histogram (see hist.h).
 *
 * Bucket layout: values below 64 have a bucket each. Above, a value whose highest set bit is
 * e (e >= 6) is shifted right by e - 5, which leaves 32..63 in its top bits; the bucket is
 * (e - 4) * 32 + (those bits - 32). The indices run on without gaps from one octave to the
 * next, and each bucket is 1/32 of its octave wide. */
#include <string.h>

#include "hist.h"

static unsigned bucket_of(uint64_t v)
{
	unsigned e, shift;

	if (v < 2 * DPW_HIST_SUB)
		return (unsigned)v;
	if (v >> DPW_HIST_MAX_BITS)
		return DPW_HIST_BUCKETS - 1;   /* clamped: counted in the top bucket */
	e = 63u - (unsigned)__builtin_clzll(v);
	shift = e - DPW_HIST_SUB_BITS;
	return (shift + 1) * DPW_HIST_SUB + (unsigned)(v >> shift) - DPW_HIST_SUB;
}

/* The highest value that lands in bucket b. */
static uint64_t bucket_top(unsigned b)
{
	unsigned shift;

	if (b < 2 * DPW_HIST_SUB)
		return b;
	shift = b / DPW_HIST_SUB - 1;
	return (((uint64_t)DPW_HIST_SUB + b % DPW_HIST_SUB) << shift) + ((uint64_t)1 << shift) - 1;
}

void dpw_hist_init(struct dpw_hist *h)
{
	memset(h, 0, sizeof(*h));
	h->min = UINT64_MAX;
}

void dpw_hist_add(struct dpw_hist *h, uint64_t value)
{
	h->buckets[bucket_of(value)]++;
	h->count++;
	h->sum += value;
	if (value < h->min)
		h->min = value;
	if (value > h->max)
		h->max = value;
}

void dpw_hist_merge(struct dpw_hist *dst, const struct dpw_hist *src)
{
	for (unsigned b = 0; b < DPW_HIST_BUCKETS; b++)
		dst->buckets[b] += src->buckets[b];
	dst->count += src->count;
	dst->sum += src->sum;
	if (src->min < dst->min)
		dst->min = src->min;
	if (src->max > dst->max)
		dst->max = src->max;
}

uint64_t dpw_hist_quantile(const struct dpw_hist *h, double q)
{
	uint64_t rank, seen = 0;

	if (h->count == 0)
		return 0;
	if (q >= 1.0)
		return h->max;
	/* ceil(q * count), at least 1: the rank of the value asked for. */
	rank = (uint64_t)(q * (double)h->count);
	if ((double)rank < q * (double)h->count)
		rank++;
	if (rank == 0)
		rank = 1;
	for (unsigned b = 0; b < DPW_HIST_BUCKETS; b++) {
		seen += h->buckets[b];
		if (seen >= rank) {
			uint64_t top = bucket_top(b);

			return top < h->max ? top : h->max;
		}
	}
	return h->max;
}

double dpw_hist_mean(const struct dpw_hist *h)
{
	return h->count ? (double)h->sum / (double)h->count : 0.0;
}
