/* Raw-lwIP listeners and binds for the demultiplexing tests (test_demux.c), kept apart from
 * the DPDK side because lwIP's and <netinet/ip.h>'s macros clash. Polling thread only. */
#ifndef DPW_TEST_DEMUX_PROBE_H
#define DPW_TEST_DEMUX_PROBE_H

#include <stdbool.h>
#include <stdint.h>

enum probe_family { PROBE_V4, PROBE_V6, PROBE_ANY_FAMILY };

/* A listener on port: on the stack's address 198.18.0.2 (specific) or the unspecified one
 * of its family, SO_REUSEADDR if reuse. Connections it accepts count under tag; with
 * close_at_once, each is closed (a FIN) as soon as it is accepted. -1 on failure. */
int probe_listen(uint16_t port, enum probe_family family, bool specific, bool reuse, int tag,
		 bool close_at_once);
void probe_listen_close(int listener);
unsigned probe_accepted(int tag);
/* Bytes received on the accepted connection from this peer port. */
uint32_t probe_bytes_from(uint16_t peer_port);
/* Turn keepalive on for the accepted connection from this peer port, first probe after
 * idle_ms without traffic, as a WSK client's SO_KEEPALIVE does (tcp_timers_on, lwip-0014).
 * false if there is no such connection. */
bool probe_keepalive(uint16_t peer_port, uint32_t idle_ms);

/* Bind new pcbs to port 0 until lwIP finds no free ephemeral port (or max): how many were
 * bound; *next_err is what the next bind returned, *distinct whether all ports differed. */
unsigned probe_bind_ephemeral(unsigned max, int *next_err, bool *distinct);
/* Free the first pcb bound above and bind a new one to port 0: the port it got, which must
 * be the one freed (0 on failure); *freed the freed port. */
uint16_t probe_rebind_one(uint16_t *freed);
void probe_release_bound(void);

/* A connect from the stack to 198.18.0.1:port (the SYN goes out at the next poll); 0 or -1.
 * probe_connect_abort drops it. */
int probe_connect(uint16_t port);
void probe_connect_abort(void);

#endif /* DPW_TEST_DEMUX_PROBE_H */
