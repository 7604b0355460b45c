/* lwIP raw-API listeners for the engine tests, kept apart from the DPDK-heavy test file
 * because lwIP's and <netinet/ip.h>'s macros clash. Call on the polling thread only. */
#ifndef DPW_TEST_LWIP_PROBE_H
#define DPW_TEST_LWIP_PROBE_H

#include <stdint.h>

/* A listener whose connections never read: lwIP keeps their data (and so the mbufs).
 * Returns 0 or -1. */
int probe_listen_hoarding(uint16_t port);
/* Bytes the hoarding connections are holding. */
uint32_t probe_hoarded_bytes(void);
/* Make lwIP meet one of its checked errors (LWIP_ERROR: tcp_close(NULL)); returns lwIP's
 * error code, which is not ERR_OK. */
int probe_lwip_error(void);

#endif /* DPW_TEST_LWIP_PROBE_H */
