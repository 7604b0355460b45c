/* Several engines on one port, one per queue pair, each created, polled and shut down on a
 * thread of its own (the per-thread build's rule: an engine's lwIP lives on the thread that
 * made it). For programs that embed the engines and hand them to something else to drive,
 * as the WSK provider is (DpwProviderAttach on each engine's thread, in on_start). */
#ifndef DPW_ENGINE_GROUP_H
#define DPW_ENGINE_GROUP_H

#include <stddef.h>
#include <stdint.h>

#include "dpw/engine.h"

#ifdef __cplusplus
extern "C" {
#endif

struct dpw_engine_group;

/* Runs on engine queue's thread, after it is created and before it first polls; nonzero
 * fails the start (with a reason in err). */
typedef int (*dpw_group_start_fn)(struct dpw_engine *e, uint16_t queue, void *arg, char *err,
				  size_t errlen);

/* Runs on engine queue's thread once every engine of the group has started, instead of the
 * first passes of the plain loop: the program's own loop, which must poll e
 * (dpw_engine_poll) as often as the plain loop would. When it returns, the thread polls on
 * until the group is joined: frames for the other engines' flows may still arrive on its
 * queue, to be handed over. */
typedef void (*dpw_group_run_fn)(struct dpw_engine *e, uint16_t queue, void *arg);

/* Start cfg->queues engines (1 or more: one is the port's alone; cfg->queue is ignored) on
 * their threads, with EAL already initialised; run may be NULL. Returns once every engine polls, or NULL with the
 * first reason in err (the engines that did start are shut down). */
struct dpw_engine_group *dpw_engine_group_start(const struct dpw_engine_config *cfg,
						dpw_group_start_fn on_start,
						dpw_group_run_fn run, void *arg,
						char *err, size_t errlen);
uint16_t dpw_engine_group_size(const struct dpw_engine_group *g);
struct dpw_engine *dpw_engine_group_engine(const struct dpw_engine_group *g, uint16_t queue);
/* Any thread: every engine's counters added up (each engine's published snapshot, the pool
 * counted when read; the shared mbuf pool counted once). */
void dpw_engine_group_stats(const struct dpw_engine_group *g, struct dpw_engine_stats *total);
/* Stop every loop and wait until none polls; the engines are still there (detach what drives
 * them now). */
void dpw_engine_group_join(struct dpw_engine_group *g);
/* Shut each engine down and destroy it on its own thread, end the threads, free g. The final
 * counters of each engine (queue order) go to each[] if not NULL, their total to total, whose
 * mbuf_in_use is the mbufs not back in the pool when the last engine freed it. */
void dpw_engine_group_destroy(struct dpw_engine_group *g, struct dpw_engine_stats *each,
			      struct dpw_engine_stats *total);

#ifdef __cplusplus
}
#endif
#endif /* DPW_ENGINE_GROUP_H */
