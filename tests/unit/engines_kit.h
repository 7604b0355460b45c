/* What the tests with several engines on several threads share (test_lwip_instances.c,
 * test_multi_queue.c): a clock, a step that every thread must reach, and moving frames
 * between rings as a wire would. */
#ifndef DPW_TEST_ENGINES_KIT_H
#define DPW_TEST_ENGINES_KIT_H

#include <stdatomic.h>
#include <stdbool.h>

struct dpw_engine;
struct rte_ring;

double kit_now_s(void);
/* Arrive at step and poll e (when not NULL) until threads threads have, for at most
 * deadline_s seconds: false if they have not. */
bool kit_all_reached(atomic_uint *step, unsigned threads, struct dpw_engine *e,
		     double deadline_s);
/* Every frame from one ring onto another (NULL: freed); a full ring drops, as a wire would. */
void kit_move_all(struct rte_ring *from, struct rte_ring *to);

#endif /* DPW_TEST_ENGINES_KIT_H */
