/* A tiny assertion kit for the C unit tests: a failed CHECK prints the expression and the
 * values, counts the failure and carries on, so that one run shows every broken rule. */
#ifndef DPW_TEST_CHECK_H
#define DPW_TEST_CHECK_H

#include <inttypes.h>
#include <stdio.h>

static int check_failures;
static int check_passes;

#define CHECK(cond)                                                                      \
	do {                                                                             \
		if (cond) {                                                              \
			check_passes++;                                                  \
		} else {                                                                 \
			check_failures++;                                                \
			fprintf(stderr, "FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond);  \
		}                                                                        \
	} while (0)

#define CHECK_EQ_U(a, b)                                                                 \
	do {                                                                             \
		uint64_t a_ = (uint64_t)(a), b_ = (uint64_t)(b);                         \
		if (a_ == b_) {                                                          \
			check_passes++;                                                  \
		} else {                                                                 \
			check_failures++;                                                \
			fprintf(stderr, "FAIL %s:%d: %s == %s (%" PRIu64 " != %" PRIu64 ")\n", \
				__FILE__, __LINE__, #a, #b, a_, b_);                     \
		}                                                                        \
	} while (0)

static inline int check_report(const char *name)
{
	printf("%s: %d checks passed, %d failed\n", name, check_passes, check_failures);
	return check_failures == 0 ? 0 : 1;
}

#endif /* DPW_TEST_CHECK_H */
