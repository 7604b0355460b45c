/* What dpwsk-connclose and bench/linux/linux-connclose share, so that a benchmark compares
 * like with like: the same options with the same limits, the same counters, the same
 * histograms, and byte-for-byte the same progress lines and summary (text or JSON). Only the
 * socket calls differ between the two programs. Plain C, no DPDK. */
#ifndef DPW_CC_H
#define DPW_CC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "cli.h"
#include "hist.h"
#include "window.h"

enum cc_mode {
	CC_MODE_RST,        /* close (abortive) as soon as the connect completes */
	CC_MODE_GRACEFUL,   /* our FIN, wait for the peer's FIN, then close: no RST */
	CC_MODE_EXCHANGE,   /* send K bytes, receive K bytes back (echo peer), then close */
};

#define CC_MAX_CONCURRENCY 16384u        /* lwIP has 16384 ephemeral ports */
#define CC_MAX_CYCLES      1000000000000ull
#define CC_MIN_DURATION_S  0.001
#define CC_MAX_DURATION_S  86400.0
#define CC_MAX_BYTES       65536u
#define CC_MAX_RATE        10000000ull

struct cc_config {
	uint32_t concurrency;    /* connections in flight */
	uint64_t cycles;         /* 0: no cycle bound (then duration_s is set) */
	double duration_s;       /* 0: no time bound (then cycles is set) */
	enum cc_mode mode;
	uint32_t bytes;          /* K, exchange mode */
	uint64_t rate;           /* open loop: arrivals a second (0: closed loop, each slot
				  * starts its next cycle as soon as one ends) */
	bool fixed_window;       /* closed loop: every slot waits for its own connect (window.h) */
	bool json;
	const char *target;      /* "A.B.C.D:PORT" or "[IPV6]:PORT" as given */
	struct sockaddr_storage remote;   /* the target, host family numbers (opt.h) */
};

/* --concurrency --cycles --duration --mode --bytes --rate --fixed-window --json; ctx is a struct
 * cc_config. Terminated by a NULL name. */
extern const struct dpw_cli_opt cc_opts[];

/* The command line both programs take (cli.h): cc_opts, the target operand, and the checks
 * across them (the target's syntax, a cycle or time bound). */
struct dpw_cli cc_cli(struct cc_config *c);

void cc_config_defaults(struct cc_config *c);
const char *cc_mode_name(enum cc_mode m);

#define CC_MAX_ERROR_KINDS 32

/* The run's counters. One thread updates them. */
struct cc_stats {
	uint64_t started;        /* cycles begun */
	uint64_t cycles;         /* cycles finished, with or without an error */
	uint64_t errors;         /* cycles that failed (each counted once) */
	uint64_t open;           /* connections established and not yet closed */
	struct {
		char name[48];
		uint64_t n;
	} kinds[CC_MAX_ERROR_KINDS + 1];   /* the last one is "other" */
	unsigned nkinds;
	struct dpw_hist connect_ns;   /* connect call -> connect complete */
	struct dpw_hist close_ns;     /* close call -> close complete */
	uint64_t t_start, t_end;      /* ns, CLOCK_MONOTONIC: first start, last finish */
	uint64_t last_tick, last_cycles;   /* progress lines */
	uint64_t late, max_lag_ns;    /* open loop: arrivals that found no free slot, and the
				       * longest any waited for one */
	double cpu_user_s, cpu_sys_s;      /* getrusage: used during the run */
	struct cc_window window;      /* closed loop: connects taken as lost, the window's cuts */
};

uint64_t cc_now_ns(void);
void cc_stats_init(struct cc_stats *s, const struct cc_config *c);
/* Add a lane's counts (one engine's share of a run over several) to dst: counters and error
 * kinds summed, latencies merged, the run's span widened. Not the CPU time (the caller's
 * getrusage covers the whole process) nor the window's size. */
void cc_stats_merge(struct cc_stats *dst, const struct cc_stats *src);
/* The run starts now: the clock, and the CPU time used so far (start-up is not the run's). */
void cc_stats_begin(struct cc_stats *s);
/* A failed cycle, counted under name (e.g. "STATUS_CONNECTION_REFUSED", "ECONNREFUSED"). */
void cc_error(struct cc_stats *s, const char *name);
/* "connclose: t=... cycles=... rate=.../s errors=... open=..." once a second (call often;
 * prints only when a second has passed since the last line). */
void cc_progress(struct cc_stats *s, uint64_t now);
/* Mark the end of the run and take the CPU time used since cc_stats_begin (getrusage: the
 * whole process, every thread). */
void cc_stats_end(struct cc_stats *s);
/* Open loop (--rate N): arrival k is due at t0 + k/N. A free slot takes the next due
 * arrival; one that finds no free slot waits for one. Each connect's latency counts from its
 * arrival's scheduled time, not from when a slot was free, so a server that falls behind
 * shows in the latencies instead of slowing the load down (no coordinated omission). */
struct cc_schedule {
	uint64_t t0, taken;
	double period_ns;
};
void cc_schedule_start(struct cc_schedule *sch, uint64_t rate, uint64_t now);
/* The next arrival's scheduled time if it is due by now (true), else false. */
bool cc_schedule_due(const struct cc_schedule *sch, uint64_t now, uint64_t *at);
/* A slot takes the next arrival, now: counted late if it waited for the slot. */
void cc_schedule_take(struct cc_schedule *sch, struct cc_stats *s, uint64_t at, uint64_t now);
/* Nanoseconds until the next arrival is due (0: due now). */
uint64_t cc_schedule_wait_ns(const struct cc_schedule *sch, uint64_t now);

/* The summary: text lines, or one JSON object on one line (starting with '{'). */
void cc_summary(const struct cc_config *c, const struct cc_stats *s, const char *program);

#endif /* DPW_CC_H */
