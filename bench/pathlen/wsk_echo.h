/* dpwsk-pathlen --wsk: the server engines serve through the WSK provider instead of lwIP's raw
 * API, as dpwsk-echo --queues N does (a listener spread over every lcore, each connection's
 * events and completion routines on its own lcore: DpwDeliverLcore). Kept apart from the raw
 * side, whose lwIP headers clash with the WSK ones. Every function runs on a server engine's
 * thread, which polls its engine through poll(engine). */
#ifndef DPW_PATHLEN_WSK_ECHO_H
#define DPW_PATHLEN_WSK_ECHO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct dpw_engine;

/* The provider on this thread's engine (every server engine, before any listens). */
bool wsk_echo_attach(struct dpw_engine *e, char *err, size_t len);
/* Server engine 0: register the client and listen on port (spread over every attached
 * lcore), polling e until the calls complete. */
bool wsk_echo_listen(struct dpw_engine *e, uint16_t port, char *err, size_t len);
/* Connections this thread's lcore accepted, and those still open here. */
unsigned wsk_echo_accepted(void);
unsigned wsk_echo_open(void);
/* Server engine 0: close the listener (polling e until done). */
void wsk_echo_unlisten(struct dpw_engine *e);
/* Server engine 0, once no connection is open anywhere: release and deregister. */
void wsk_echo_deregister(void);
/* Once, after the WSK side's engines closed everything and deregistered (either side's:
 * DpwProviderDetach). */
void wsk_echo_detach(void);

#endif /* DPW_PATHLEN_WSK_ECHO_H */
