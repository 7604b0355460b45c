/* The programs' signals (see signals.h). */
#include <signal.h>
#include <stdatomic.h>
#include <string.h>

#include "signals.h"

/* Lock-free atomics: safe in a handler, and read by any thread (dpwsk-rawecho --queues polls
 * one engine per thread), which a volatile sig_atomic_t is not. */
static atomic_int stop_requested, stats_requested;

static void on_signal(int sig)
{
	if (sig == SIGUSR1)
		stats_requested = 1;
	else
		stop_requested = 1;
}

void dpw_signals_install(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);
}

bool dpw_signals_stopping(void)
{
	return stop_requested != 0;
}

void dpw_signals_stop(void)
{
	stop_requested = 1;
}

bool dpw_signals_take_stats(void)
{
	if (!stats_requested)
		return false;
	stats_requested = 0;
	return true;
}
