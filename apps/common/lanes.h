/* A server over several engines (--queues N, the per-thread build: app_mt_dep): a lane per
 * engine, each on its engine's thread, with the program's state thread-local. The lanes'
 * clients take DpwDeliverLcore, so that a connection's accept, receive and disconnect events
 * and all its completion routines run on the lcore its frames land on, where its lane's
 * state is: no lock and no shared write per connection. Lane 0 opens the services (the
 * provider spreads each listener over every lcore); the program's thread prints the ready
 * line once they are open, answers SIGUSR1 and waits for the lanes' ends.
 *
 * Each lane publishes its counts (uint64_t, written by the lane only, on lines of its own) for
 * the program's stats lines. */
#ifndef DPW_LANES_H
#define DPW_LANES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "app.h"

#define DPW_LANE_MAX_COUNTS 24

struct dpw_lane_ops {
	/* On lane q's thread before its engine polls: make this thread's state the lane's (a
	 * copy of the program's, arg) and return its dpw_app, which the lanes then start
	 * (dpw_app_start_lane, and DpwDeliverLcore). */
	struct dpw_app *(*init)(unsigned q, void *arg);
	/* Then, the lane's client registered: what must come before any socket (static event
	 * callbacks). False fails the start. May be NULL. */
	bool (*client_ready)(unsigned q);
	/* Once every lane is up, on its thread: lane 0 opens the services and says so
	 * (dpw_lanes_services_up); every lane serves until dpw_app_stopping(), closes what is
	 * its own, and returns the sockets it still has open (0 when all went well). */
	unsigned (*run)(unsigned q);
	/* On the program's thread once lane 0's services are up: the ready line's words. */
	void (*describe)(char *what, size_t len);
	unsigned ncounts;   /* counts each lane publishes, at most DPW_LANE_MAX_COUNTS */
};

/* The program's thread: start EAL and app's --queues engines with a lane each, print the
 * ready line once lane 0's services are up, wait for every lane's end, then end as
 * dpw_app_finish_lanes (the stats lines, each engine's last counters). Returns the exit
 * status: 0, 1 if anything failed (the reason printed). */
int dpw_lanes_run(struct dpw_app *app, const struct dpw_lane_ops *ops, void *arg);

/* Lane 0: its services are open (true) or could not be (false: every lane stops). */
void dpw_lanes_services_up(bool ok);
/* This lane's counts, for the program's thread (its loop calls this once per pass). */
void dpw_lanes_publish(const uint64_t *counts);
/* The program's thread: lanes running (0: none, the program runs one engine itself), and
 * lane q's last published counts. */
unsigned dpw_lanes_n(void);
void dpw_lanes_counts(unsigned q, uint64_t *out);
/* The program's thread: print("lane Q NAME", lane Q's counts) for each lane, then
 * print(NAME, their sum). */
void dpw_lanes_print(const char *name, void (*print)(const char *what, const uint64_t *counts));
/* A program's stats hook either way: print(name, own) without lanes, else dpw_lanes_print. */
void dpw_lanes_print_or(const char *name, const uint64_t *own,
			void (*print)(const char *what, const uint64_t *counts));

#endif /* DPW_LANES_H */
