/* lwIP raw-API helpers for test_syn_backlog.c, kept apart from the DPDK-heavy test file
 * because lwIP's and <netinet/ip.h>'s macros clash. Call on the polling thread only. */
#ifndef DPW_TEST_SYN_PROBE_H
#define DPW_TEST_SYN_PROBE_H

#include <stdint.h>

/* A listener with a cap of BACKLOG half-open connections that accepts every connection and
 * keeps it. Returns 0 or -1. */
int syn_probe_listen(uint16_t port, uint16_t backlog);
/* Connections it accepted so far. */
unsigned syn_probe_accepted(void);
/* The state (lwIP's enum tcp_state) of the connection from REMOTE_PORT to LOCAL_PORT, or
 * -1 if there is none. */
int syn_probe_state(uint16_t local_port, uint16_t remote_port);
/* Take pcbs from the pool (unbound, so lwIP can never free them for others) until only
 * LEAVE_FREE are left; returns how many it took. syn_probe_release gives them back. */
unsigned syn_probe_fill_pool(unsigned leave_free);
void syn_probe_release(void);

#endif /* DPW_TEST_SYN_PROBE_H */
