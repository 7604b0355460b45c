/* The programs' signals, installed in this one place: SIGINT and SIGTERM ask the program to
 * stop, SIGUSR1 asks for its counters. The handlers only set flags; the program's loop reads
 * them (nothing else is safe in a handler, and the lcore must not be interrupted mid-pass). */
#ifndef DPW_SIGNALS_H
#define DPW_SIGNALS_H

#include <stdbool.h>

void dpw_signals_install(void);
/* A stop was asked for (SIGINT, SIGTERM or dpw_signals_stop). */
bool dpw_signals_stopping(void);
void dpw_signals_stop(void);
/* Was SIGUSR1 received since the last call? */
bool dpw_signals_take_stats(void);

#endif /* DPW_SIGNALS_H */
