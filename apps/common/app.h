/* What every dpwsk program shares: the command line (port, address, EAL), starting the engine
 * with the WSK provider attached, one registered WSK client, the loop, signals, and an orderly
 * end. Programs are built only on the public API: dpw/engine_opts.h, dpw/engine.h, wsk.h,
 * dpwsk.h.
 *
 * Two ways to run, as the README's threading diagram shows:
 *   embedded  (threaded = false): the program's thread is the lcore. dpw_app_poll() runs one
 *             engine pass and then this client's completion routines; Wsk calls made from a
 *             completion routine or an event callback run inline, with no ring hop. Fastest;
 *             the program must never block.
 *   threaded  (threaded = true): the engine polls on a thread of its own; the program's thread
 *             blocks in dpw_app_wait() until completions arrive. Suits programs that block on
 *             other things (stdin, files).
 *
 * Signals (signals.h): SIGINT/SIGTERM ask the program to stop (dpw_app_stopping() turns true;
 * the engine keeps running so the program can close its sockets); SIGUSR1 prints the stats
 * lines, the program's own after them (print_stats). */
#ifndef DPW_APP_H
#define DPW_APP_H

#include <stdbool.h>
#include <stdint.h>

#include "cli.h"
#include "dpw/engine.h"
#include "dpw/engine_group.h"
#include "dpw/engine_opts.h"
#include "opt.h"   /* option values: numbers, durations, endpoints */
#include "dpwsk.h"
#include "wsk.h"

/* The most engines a program's group has: the steering's queue limit. */
#define DPW_APP_MAX_QUEUES 16

struct dpw_app {
	const char *prog;
	bool threaded;
	bool lane;                    /* a lane (dpw_app_start_lane): SIGUSR1 is not its to take */
	void *lanes_arg;              /* the program's state for its lanes (lanes.h) */
	struct dpw_engine_opts eng;   /* the engine's options, from the command line */
	struct dpw_engine *engine;    /* with a group: its first */
	struct dpw_engine_group *group;   /* a threaded program on the per-thread build */
	WSK_REGISTRATION reg;
	WSK_PROVIDER_NPI npi;   /* npi.Client and npi.Dispatch, for the program's calls */
	/* Optional, set after dpw_app_start: the program's own stats lines, printed after the
	 * common ones (SIGUSR1 and at the end). */
	void (*print_stats)(struct dpw_app *app);
};

/* Parse the command line once: the program's options, operand and checks (cli; its other
 * hooks are filled with the engine's options) and the engine's. Never returns on a bad
 * command line ("prog: error: reason" on stderr, exit 2) or --help (usage on stdout, exit 0).
 * Nothing is started yet. */
void dpw_app_parse(struct dpw_app *app, int argc, char **argv, struct dpw_cli *cli);

/* Start EAL and the engine from the parsed options, attach the provider, register a client
 * with the given event dispatch (NULL: no client-level events), capture the provider NPI and
 * install the signal handlers. Never returns on failure: "prog: error: reason" on stderr,
 * exit 1. A threaded program linked with the per-thread build (app_mt_dep) runs --queues N
 * engines (one without it), each polling on a thread of its own with the provider attached
 * there (one lcore each); its own thread makes the calls and runs the completions as with
 * one engine. An embedded program takes --queues through lanes (below). */
void dpw_app_start(struct dpw_app *app, const WSK_CLIENT_DISPATCH *client_dispatch,
		   bool threaded);

/* ---- several engines (--queues N, the per-thread build: app_mt_dep) ----------------------
 * The program's main thread starts EAL (dpw_app_start_eal) and the engines with
 * dpw_engine_group_start (dpw/engine_group.h); on each engine's thread a lane, a copy of the
 * program's dpw_app, drives that engine embedded with a WSK client of its own
 * (dpw_app_start_lane). The provider gives each engine's thread its own lcore: sockets a lane
 * makes from its completion routines are that lcore's, and run inline. */

/* --queues N asked for more than one engine. */
static inline bool dpw_app_several_queues(const struct dpw_app *app)
{
	return app->eng.engine.queues > 1;
}
/* EAL and the signal handlers only. Never returns on failure (exit 1). */
void dpw_app_start_eal(struct dpw_app *app);
/* On engine e's thread, before it polls (a group's start hook): lane becomes app's copy
 * driving e, the provider attached to e, a client of its own registered and captured. 0, or
 * -1 with the reason in err. */
int dpw_app_start_lane(struct dpw_app *lane, const struct dpw_app *app, struct dpw_engine *e,
		       char *err, size_t errlen);
/* The lane's end, on its thread, once its sockets are closed: release the NPI, deregister.
 * 0, or 1 if sockets were left (then not deregistered). */
int dpw_app_finish_lane(struct dpw_app *lane, unsigned sockets_left);

/* The program's thread of a program whose lanes run on their own (app->group set to their
 * group): once the lanes are done, print the stats lines (the group's total, the provider's,
 * the program's), then stop the group, print each engine's last counters, clean up EAL. 0. */
int dpw_app_finish_lanes(struct dpw_app *app);
/* The program's thread while lanes run: sleep ms, then answer SIGUSR1 (app's stats lines). */
void dpw_app_nap(struct dpw_app *app, unsigned ms);

/* Embedded: one engine pass, then up to 256 completion routines. */
void dpw_app_poll(struct dpw_app *app);
/* Threaded: wait up to timeout_ms for completions and run them. */
void dpw_app_wait(struct dpw_app *app, unsigned timeout_ms);

/* A stop was asked for (signal or dpw_app_stop). */
bool dpw_app_stopping(void);
void dpw_app_stop(void);

/* Keep the loop (embedded) or completions (threaded) going until the provider has no open
 * socket or timeout_ms passed: the program's closes completing. Returns the sockets still
 * open. */
unsigned dpw_app_drain(struct dpw_app *app, unsigned timeout_ms);

/* The end: drain (5 s), release the NPI, deregister, stop the engine, print the final stats
 * line, clean up EAL. Returns 0, or 1 if sockets were left open (reported on stderr; the
 * client is then not deregistered, as WskDeregister would wait for them forever). */
int dpw_app_finish(struct dpw_app *app);

/* Print "dpwsk: stats ..." (engine) and "dpwsk: wsk ..." (provider) lines to stdout. Safe
 * from any thread. */
void dpw_app_print_stats(struct dpw_app *app);
/* The last counters of n engines (an engine group's, dpw_engine_group_destroy): with more
 * than one, a "dpwsk: queue Q stats ..." line each; then "dpwsk: stats ..." for total. */
void dpw_app_print_engine_stats(const struct dpw_engine_stats *each, unsigned n,
				const struct dpw_engine_stats *total);

/* Print the line tests and scripts wait for instead of sleeping:
 * "dpwsk: ready port=... ip=... [ip6=...] mac=... offloads=... <what>" (ip6= when --ip6 was given;
 * offloads= the checksum offloads in use, dpw_engine_offloads). */
void dpw_app_ready(struct dpw_app *app, const char *what);
/* "prog: error: <message>" on stderr (one line). */
void dpw_app_fail(struct dpw_app *app, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* ---- addresses ------------------------------------------------------------------------------ */

/* Was the engine given an IPv6 address (--ip6)? Servers then listen on [::] too. */
bool dpw_app_has_ipv6(const struct dpw_app *app);
/* An address parsed by opt.h (host family numbers) as WSK takes it: a copy with Windows'
 * AF_INET6 (23) for IPv6. Returns its length (0: not an IP address). */
ULONG dpw_app_wsk_addr(const struct sockaddr_storage *posix, SOCKADDR_STORAGE *wsk);
/* The WSK wildcard of a family (AF_INET or AF_INET6, Windows' numbers) with a port (host
 * order): 0.0.0.0:port or [::]:port. */
void dpw_app_wsk_any(ADDRESS_FAMILY family, uint16_t port, SOCKADDR_STORAGE *wsk);

/* ---- small helpers the programs share ----------------------------------------------------- */

uint64_t dpw_app_now_ns(void);   /* CLOCK_MONOTONIC */

/* A caller-owned IRP made ready for a call: its routine runs on success, error and cancel. */
void dpw_app_irp_prepare(PIRP irp, PIO_COMPLETION_ROUTINE done, PVOID ctx);

/* A set-up call the program waits for (each program waits its own way, until done). */
struct dpw_app_sync {
	IRP irp;
	bool done;
};
/* s's IRP, ready; done turns true when it completes (status in irp.IoStatus). */
PIRP dpw_app_sync_irp(struct dpw_app_sync *s);
/* Embedded programs: run the loop (dpw_app_poll) until s completes, 5 s at most; its status
 * (STATUS_IO_TIMEOUT if it did not), and its Information in *info if info is not NULL. */
NTSTATUS dpw_app_sync_poll(struct dpw_app *app, struct dpw_app_sync *s, ULONG_PTR *info);

#endif /* DPW_APP_H */
