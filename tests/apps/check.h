/* The no-network tests of apps/common: a failed CHECK prints where and why (a printf format
 * and its arguments), counts the failure and carries on, so one run shows every broken case.
 * The test's main reports failures and checks. */
#ifndef DPW_APPS_CHECK_H
#define DPW_APPS_CHECK_H

#include <stdio.h>

static int failures, checks;

#define CHECK(cond, ...)                                                  \
	do {                                                              \
		checks++;                                                 \
		if (!(cond)) {                                            \
			failures++;                                       \
			printf("FAIL: %s:%d: ", __FILE__, __LINE__);      \
			printf(__VA_ARGS__);                              \
			printf("\n");                                     \
		}                                                         \
	} while (0)

#endif /* DPW_APPS_CHECK_H */
