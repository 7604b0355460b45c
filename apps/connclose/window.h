/* The closed loop's window (window.c), shared by dpwsk-connclose and linux-connclose.
 *
 * Why: a server whose accept queue is full drops SYNs without a word, and the client's stack
 * resends one only after its initial RTO (1 s, RFC 6298). A client that cycles faster than the
 * server accepts fills that queue within milliseconds whenever the server pauses; if every
 * slot waited for its own connect, one overflow would cost every slot a whole second, and the
 * run would measure RTOs, not the server (issue 11: 0.11-0.20x the kernel client against
 * nginx, whose worker sat idle).
 *
 * What: --concurrency N is the most connects in flight, not a fixed count. A connect that has
 * not completed after the connect-time estimate (RFC 6298's srtt + 4 rttvar over the connect
 * latencies measured so far, at least CC_LATE_MIN_NS) is taken as lost: it leaves the window,
 * which halves once per round of losses (TCP's multiplicative decrease), and a spare slot may
 * start the next cycle. The window grows back by 1/W per connect completed in time (TCP's
 * additive increase: one per window's worth), up to N. The late
 * connect itself goes on (its stack resends the SYN) and ends its cycle normally; its latency
 * counts as it was. Two refinements, both from TCP:
 * - a late connect that completes before any SYN of it could have been resent (under
 *   CC_SYN_RTO_NS) was slow, not lost (a busy machine): the window is given back what its
 *   loss took (RFC 4015's undo), and the estimate learns the slower times;
 * - with the window at one connect and that one late again, the time a connect may take
 *   doubles (up to 64 times, as an RTO backs off), so that a server that answers nothing is
 *   probed a few times a second, not 100 times; a connect completed in time resets it.
 *
 * --fixed-window turns this off: exactly N slots, each waiting for its own connect. */
#ifndef DPW_CC_WINDOW_H
#define DPW_CC_WINDOW_H

#include <stdbool.h>
#include <stdint.h>

#define CC_LATE_MIN_NS 2000000ull    /* 2 ms: far below the 1 s RTO, far above a LAN RTT */
#define CC_SYN_RTO_NS 1000000000ull /* both stacks' initial RTO (RFC 6298; lwipopts.h) */
#define CC_SPARE_SLOTS 4096u         /* at least, for late connects (or --concurrency's) */

struct cc_window {
	bool fixed;            /* --fixed-window: every slot in the window, nothing late */
	uint32_t max;          /* --concurrency */
	double w;              /* connects allowed in flight */
	uint32_t in_window;    /* cycles started, not finished and not late */
	uint64_t recover;      /* cycles started before this one belong to a round already cut */
	double srtt, rttvar;   /* connect latency, ns (0: no sample yet) */
	double w_undo;         /* the window before the cuts a spurious loss may undo (0: none) */
	unsigned backoff;      /* late after CC_LATE_MIN_NS or the estimate, << backoff */
	uint64_t late;         /* connects taken as lost */
	uint64_t spurious;     /* of them, completed before a SYN could have been resent */
	uint64_t cuts;         /* times the window halved */
	double w_min;          /* the smallest the window was */
};

/* Slots to allocate for --concurrency n: n, and spares for late connects (bounded by the
 * ports one address has: CC_MAX_CONCURRENCY). */
uint32_t cc_window_slots(uint32_t n, bool fixed);
void cc_window_init(struct cc_window *w, uint32_t n, bool fixed);
/* May a cycle start now? */
bool cc_window_open(const struct cc_window *w);
/* A cycle started (its caller keeps its serial: cc_stats.started before the increment). */
void cc_window_started(struct cc_window *w);
/* Its connect completed after latency_ns; late: it had been taken as lost. */
void cc_window_connected(struct cc_window *w, uint64_t latency_ns, bool late);
/* How long a connect may take before it is taken as lost. */
uint64_t cc_window_late_ns(const struct cc_window *w);
/* A connect is taken as lost now: the cycle numbered serial, of started_so_far. The window
 * halves unless a loss among the cycles started since the last cut already halved it. */
void cc_window_lost(struct cc_window *w, uint64_t serial, uint64_t started_so_far);
/* A connect started at t_connect (cycle serial, of started_so_far) and not yet answered:
 * taken as lost if it is late by now; *late records it, so that it is taken once. */
void cc_window_watch(struct cc_window *w, bool *late, uint64_t serial, uint64_t t_connect,
		     uint64_t now, uint64_t started_so_far);
/* A cycle that was not late ended (late ones left the window already). */
void cc_window_finished(struct cc_window *w, bool late);

#endif /* DPW_CC_WINDOW_H */
