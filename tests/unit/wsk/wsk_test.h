/* The unit tests' one assertion: print what failed and where, and fail the test function. */
#ifndef DPWSK_WSK_TEST_H
#define DPWSK_WSK_TEST_H

#include <stdio.h>

#include "ntstatus.h"

#define CHECK(expr)                                                                      \
	do {                                                                             \
		if (!(expr)) {                                                           \
			fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, \
				#expr);                                                  \
			return 1;                                                        \
		}                                                                        \
	} while (0)

/* Statuses fail with both names, which says more than two negative numbers. */
#define CHECK_STATUS(got, want)                                                           \
	do {                                                                              \
		NTSTATUS got_ = (got), want_ = (want);                                    \
		if (got_ != want_) {                                                      \
			fprintf(stderr, "%s:%d: CHECK failed: %s is %s, expected %s\n",   \
				__FILE__, __LINE__, #got, DpwNtStatusName(got_),          \
				DpwNtStatusName(want_));                                  \
			return 1;                                                         \
		}                                                                         \
	} while (0)

/* Runs one test function; main() adds up the failures. */
#define RUN(fn)                                                   \
	do {                                                      \
		if ((fn)() != 0) {                                \
			fprintf(stderr, "FAIL %s\n", #fn);        \
			failures++;                               \
		} else {                                          \
			printf("ok   %s\n", #fn);                 \
		}                                                 \
	} while (0)

#endif /* DPWSK_WSK_TEST_H */
