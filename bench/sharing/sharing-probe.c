/* sharing-probe: the three ways two threads can use cache lines, for sharegrind's test
 * (bench/sharing/check.sh). Two workers take turns (TURNS each) at window_work() (the window:
 * --window=window_work), which, BLOCK times over:
 *   (a) increments shared_counter, one counter both threads write (true sharing);
 *   (b) increments its own element of false_pair, two adjacent counters on one 64-byte line
 *       (false sharing: no byte is shared, the line is);
 *   (c) increments its own element of padded, each on a 64-byte line of its own (no sharing).
 * Outside the window, each also increments outside_shared, which both write, and hands the
 * turn over through turn, which both write: sharegrind must report neither, as neither is
 * written in the window.
 *
 * The turns make the threads' windows alternate whatever the scheduler does (valgrind runs
 * one thread at a time, and left alone may well run one worker's windows all before the
 * other's): every line (a) and (b) touch moves between the threads at every turn. Prints the
 * counters; exits 0. */
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>

#define TURNS 50
#define BLOCK 400

/* Each on lines of its own, so that each is reported under its own name. */
_Alignas(64) uint64_t shared_counter;
_Alignas(64) uint64_t false_pair[2];
_Alignas(64) struct {
	uint64_t value;
	char pad[64 - sizeof(uint64_t)];
} padded[2];
_Alignas(64) uint64_t outside_shared;
_Alignas(64) unsigned turn;   /* whose turn at the window: 0 or 1 */

/* The window. noipa: neither inlined nor cloned, so that it has an entry of its own. */
__attribute__((noipa)) void window_work(unsigned me)
{
	for (unsigned i = 0; i < BLOCK; i++) {
		__atomic_fetch_add(&shared_counter, 1, __ATOMIC_RELAXED);   /* (a) */
		__atomic_fetch_add(&false_pair[me], 1, __ATOMIC_RELAXED);   /* (b) */
		__atomic_fetch_add(&padded[me].value, 1, __ATOMIC_RELAXED); /* (c) */
	}
}

/* Not the window: the same sharing as (a), which must not be reported. */
__attribute__((noipa)) void outside_work(void)
{
	for (unsigned i = 0; i < BLOCK; i++)
		__atomic_fetch_add(&outside_shared, 1, __ATOMIC_RELAXED);
}

static void *worker(void *arg)
{
	unsigned me = (unsigned)(uintptr_t)arg;

	for (unsigned t = 0; t < TURNS; t++) {
		while (__atomic_load_n(&turn, __ATOMIC_ACQUIRE) != me)
			sched_yield();
		window_work(me);
		outside_work();   /* after the window returned: not counted */
		__atomic_store_n(&turn, 1 - me, __ATOMIC_RELEASE);
	}
	return NULL;
}

int main(void)
{
	pthread_t t[2];

	for (unsigned i = 0; i < 2; i++)
		if (pthread_create(&t[i], NULL, worker, (void *)(uintptr_t)i) != 0) {
			fprintf(stderr, "sharing-probe: cannot start a thread\n");
			return 1;
		}
	for (unsigned i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	printf("sharing-probe: shared=%llu false=%llu,%llu padded=%llu,%llu outside=%llu\n",
	       (unsigned long long)shared_counter, (unsigned long long)false_pair[0],
	       (unsigned long long)false_pair[1], (unsigned long long)padded[0].value,
	       (unsigned long long)padded[1].value, (unsigned long long)outside_shared);
	return 0;
}
