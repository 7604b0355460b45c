/* Frames the kernel dropped at an af_packet port's rings, which DPDK 22.11's af_packet PMD
 * does not report: its imissed stays 0 (it never asks the kernel for PACKET_STATISTICS). A
 * ring fills when its lcore falls behind (a flood, a busy machine); every frame that arrives
 * then is lost before dpwsk sees it, and without this count the loss showed nowhere. Below
 * the port (port.c); Linux only, as af_packet is. */
#ifndef DPW_AF_PACKET_DROPS_H
#define DPW_AF_PACKET_DROPS_H

#include <stdint.h>

/* The process's AF_PACKET sockets with TPACKET_V2 rings bound to interface if_index (the
 * PMD's, one per queue): up to max descriptors into fds, how many. Read once, after the port
 * started. */
unsigned dpw_af_packet_sockets(int if_index, int *fds, unsigned max);

/* Frames the kernel dropped on those sockets since the last call (reading the kernel's
 * counts resets them; nothing else reads them). */
uint64_t dpw_af_packet_drops(const int *fds, unsigned n);

#endif /* DPW_AF_PACKET_DROPS_H */
