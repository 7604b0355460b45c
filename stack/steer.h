/* Software steering between the engines of one port (config.queues > 1), for ports whose
 * hash the stack cannot know (af_packet's fanout, memif, tap, net_ring): which engine owns a
 * frame, and which ephemeral ports a engine may take so that its connections' frames come
 * back to it. Pure functions of the frame and the queue count, besides this thread's queue
 * for lwIP's port hook. Without lwIP's headers (DPDK's clash with them). */
#ifndef DPW_STEER_H
#define DPW_STEER_H

#include <stdbool.h>
#include <stdint.h>

struct rte_mbuf;

/* Every engine wants the frame: ARP replies and neighbour advertisements (what each lwIP
 * learns its neighbours from). */
#define DPW_STEER_ALL UINT16_MAX

/* An IP fragment: its owner is known only once it is whole. The engine of queue 0 gathers
 * the fragments (reassembly.c) and steers the whole datagram. */
#define DPW_STEER_FRAGMENT (UINT16_MAX - 1)

/* lwIP's ephemeral range (TCP_LOCAL_PORT_RANGE_START..END, and UDP's): a frame to a port in
 * it belongs to the engine whose queue is the port modulo the queue count. */
#define DPW_EPHEMERAL_FIRST 0xc000u

/* The engine (queue) that owns frame m, of queues, or DPW_STEER_ALL, or DPW_STEER_FRAGMENT.
 * Connections to a port below the ephemeral range are spread by a hash of the remote address
 * and port (every engine listens); frames to an ephemeral port go to the engine that picked
 * it; an ICMP error goes to the owner of the flow whose packet it quotes; everything else
 * that no flow owns (ICMP echo, IPv6 extension headers other than one fragment header, other
 * ethertypes) goes to queue 0. */
uint16_t dpw_steer_owner(const struct rte_mbuf *m, uint16_t queues);

/* Whether queue's engine may take port as its ephemeral port. */
static inline bool dpw_steer_port_ok(uint16_t port, uint16_t queue, uint16_t queues)
{
	return queues <= 1 || port < DPW_EPHEMERAL_FIRST || port % queues == queue;
}

/* This thread's engine's queue and the queue count, for lwIP's LWIP_HOOK_LOCAL_PORT_OK
 * (lwip-0022): set when the engine is created, cleared when it goes. */
void dpw_steer_set_queue(uint16_t queue, uint16_t queues);

#endif /* DPW_STEER_H */
