/* dpwsk-pathlen --side client --wsk: the client engines open their connections through the
 * WSK provider, as dpwsk-connclose --queues N does: a client per engine (a lane), every call
 * made from the completion routine of the one before, on the engine's lcore
 * (DpwDeliverLcore). Each connection: WskSocketConnect, a 64-byte WskSend, WskReceive until
 * the 64 bytes are back, WskDisconnect, a WskReceive that meets the peer's FIN, then
 * WskCloseSocket. Kept apart from the raw side (lwIP's headers clash with WSK's). Every
 * function runs on a client engine's thread, which polls its engine. */
#ifndef DPW_PATHLEN_WSK_CLIENT_H
#define DPW_PATHLEN_WSK_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct dpw_engine;

/* The provider on this thread's engine and a client of this lane's own: before any opens. */
bool wsk_client_attach(struct dpw_engine *e, char *err, size_t len);
/* Open n connections to server (network order):port, each followed by the next as it ends,
 * until wsk_client_stop. done(arg) runs on this lcore as each one ends, failed or not. */
bool wsk_client_start(unsigned n, uint32_t server, uint16_t port, void (*done)(bool ok));
void wsk_client_stop(void);
/* Connections under way on this lane (0 once stopped and all ended). */
unsigned wsk_client_active(void);
/* Once none is active: release and deregister this lane's client. */
void wsk_client_deregister(void);

#endif /* DPW_PATHLEN_WSK_CLIENT_H */
