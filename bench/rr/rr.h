/* What dpwsk-bench-rr and bench/linux/linux-rr share, so that the benchmark script can print
 * the stack and the kernel side by side and know they measured the same thing: the options
 * with the same limits and defaults, the counters, the latency histogram (apps/common/hist.h),
 * and byte-for-byte the same summary line and JSON object. Only the socket calls differ
 * between the two programs. Plain C, no DPDK.
 *
 * Two measurements (issue 5):
 *   rr    request/response: each of N persistent connections sends B bytes to an echo server,
 *         waits for all B bytes back, repeats. Every round trip's latency (send call -> last
 *         byte of the echo in hand) goes into the histogram; the rate is transactions/s.
 *   bulk  N connections stream B-byte sends to a discard server. The rate is the payload
 *         whose send completed (handed to TCP: WskSend's completion, F3, or the bytes send()
 *         returned) during the run, over the run's length. At most a send buffer per
 *         connection (128 KiB in dpwsk, the socket buffer in Linux) may still be on its way
 *         when the run ends; over seconds that is noise. The server's bytes_in cross-checks it.
 * Only what completes before the deadline is counted, and the rate divides by exactly the
 * run's length (shorter only if a signal ended it), so both programs count the same way. */
#ifndef DPW_RR_H
#define DPW_RR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "cli.h"
#include "hist.h"

enum rr_mode {
	RR_MODE_RR,     /* request/response latency against an echo server */
	RR_MODE_BULK,   /* streaming throughput to a discard server */
};

#define RR_MAX_CONNECTIONS 1024u
#define RR_MAX_SIZE        (1u << 20)
#define RR_MAX_INFLIGHT    64u
#define RR_MAX_DURATION_S  3600.0
/* rr mode keeps a request and a response buffer per connection. */
#define RR_MAX_RR_MEMORY   (64u << 20)

#define RR_DEFAULT_RR_SIZE     1u
#define RR_DEFAULT_BULK_SIZE   65536u
#define RR_DEFAULT_INFLIGHT    4u

struct rr_config {
	enum rr_mode mode;
	double duration_s;       /* the measured run, after every connection is up */
	uint32_t connections;
	uint32_t size;           /* B: request size (rr) or send size (bulk) */
	uint32_t inflight;       /* bulk: sends outstanding per connection (dpwsk) */
	bool size_given, inflight_given;
	bool json;
	const char *target;      /* "A.B.C.D:PORT" or "[IPV6]:PORT" as given */
	struct sockaddr_storage remote;   /* the target, host family numbers (opt.h) */
};

/* --mode --duration --connections --size --inflight --json; ctx is a struct rr_config.
 * Terminated by a NULL name (RR_NOPTS entries with it). */
#define RR_NOPTS 7
extern const struct dpw_cli_opt rr_opts[RR_NOPTS];

void rr_config_defaults(struct rr_config *c);
/* After the options: the target, the mode's defaults and the cross-checks. 0, or -1 with a
 * one-line reason in err. */
int rr_config_finish(struct rr_config *c, const char *target, char *err, size_t errlen);
const char *rr_mode_name(enum rr_mode m);
/* dpwsk-bench-rr's command line (cli.h): rr_opts, the target operand (in c->target) and
 * rr_config_finish. */
struct dpw_cli rr_cli(struct rr_config *c);

/* Take the target out of argv: it is the last argument before "--" (EAL arguments) and must
 * look like A.B.C.D:PORT or [IPV6]:PORT (checked later by rr_config_finish). Returns it, or NULL with err
 * filled. argv keeps the rest, argc updated. */
char *rr_take_target(int *argc, char **argv, char *err, size_t errlen);

/* The run's counters and clock. One thread updates them. */
struct rr_stats {
	uint64_t transactions;   /* rr: round trips completed before the deadline */
	uint64_t bytes;          /* bulk: payload whose send completed before the deadline */
	uint64_t errors;
	char first_error[48];    /* the first failure's name (status or errno name) */
	struct dpw_hist lat_ns;  /* rr: round-trip latency */
	uint64_t t_start;        /* ns, CLOCK_MONOTONIC: the run starts */
	uint64_t deadline;       /* t_start + duration; moved earlier by a stop (signal) */
	double cpu_user_s, cpu_sys_s;   /* getrusage over the run (the whole process) */
};

uint64_t rr_now_ns(void);
void rr_stats_init(struct rr_stats *s);
/* The run starts now: the clock, the deadline, and the CPU time used so far. */
void rr_stats_begin(struct rr_stats *s, const struct rr_config *c);
/* Counted only if it completed before the deadline. */
static inline bool rr_in_run(const struct rr_stats *s, uint64_t now)
{
	return now < s->deadline;
}
/* Stop early (signal, every connection broken): the run ends now, if not ended already. */
void rr_stop_now(struct rr_stats *s, uint64_t now);
void rr_error(struct rr_stats *s, const char *name);
/* The run is over: the CPU time it used (call once nothing is counted any more). */
void rr_stats_end(struct rr_stats *s);
/* The summary: one text line "rr: ...", or one JSON object on one line. */
void rr_summary(const struct rr_config *c, const struct rr_stats *s, const char *program);

#endif /* DPW_RR_H */
