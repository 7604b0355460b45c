/* A raw-lwIP listener for test_ooseq_window.c that keeps what it reads and never reopens
 * the window (no tcp_recved), so the right edge the peer was first offered stays where it
 * is. Apart from the DPDK side because lwIP's and <netinet/ip.h>'s macros clash. Polling
 * thread only. */
#ifndef DPW_TEST_OOSEQ_PROBE_H
#define DPW_TEST_OOSEQ_PROBE_H

#include <stdbool.h>
#include <stdint.h>

#define OOSEQ_PROBE_MAX (256u * 1024u)

/* 0 or -1. One connection at a time. */
int ooseq_listen(uint16_t port);
/* The accepted connection's next expected sequence number and receive window; false if
 * there is none (not yet accepted, or gone). */
bool ooseq_state(uint32_t *rcv_nxt, uint32_t *rcv_wnd);
/* What the application was handed, in order: bytes (at most OOSEQ_PROBE_MAX are kept;
 * the count goes on). */
uint32_t ooseq_received(const uint8_t **data);

#endif /* DPW_TEST_OOSEQ_PROBE_H */
