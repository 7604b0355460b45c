/* calloc failing on demand, on one thread, for the tests linked with -Wl,--wrap=calloc
 * (tests/wsk/meson.build): every calloc in the objects linked into such a test (the
 * provider's request objects and data indications among them; not DPDK's or libc's own)
 * goes through fail_calloc.c. */
#ifndef DPW_TEST_FAIL_CALLOC_H
#define DPW_TEST_FAIL_CALLOC_H

#include <pthread.h>

/* From now on every calloc on thread t fails, until fail_calloc_off. */
void fail_calloc_on(pthread_t t);
void fail_calloc_off(void);
/* How many callocs failed so far. */
unsigned long fail_calloc_count(void);

#endif /* DPW_TEST_FAIL_CALLOC_H */
