/* Software steering between the engines of one port (config.queues > 1): which engine owns a
 * frame, and which ephemeral ports an engine may take so that its connections' frames come
 * back to it. On ports whose hash the stack cannot know (af_packet's fanout, memif, tap,
 * net_ring) by rules of its own; on a port with RSS, TCP flows by the NIC's own hash (rss.h),
 * so that the rule agrees with where the NIC put the frame. Pure functions of the frame, the
 * queue count, the pinned ports and the hash, besides this thread's queue for lwIP's port
 * hook. Without lwIP's headers (DPDK's clash with them). */
#ifndef DPW_STEER_H
#define DPW_STEER_H

#include <stdatomic.h>
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
 * it belongs to the engine whose queue is the port modulo the queue count (but for TCP's
 * connect ports under a hash, below). */
#define DPW_EPHEMERAL_FIRST 0xc000u

/* Steered by the port's hash (struct dpw_rss given), the ephemeral range is cut in two. A TCP
 * connect that picks its port knowing the remote (dpw_steer_connect_begin) takes one below
 * DPW_EPHEMERAL_BIND_FIRST whose flow hashes to its queue: the NIC brings every frame of it
 * there. Every other pick (a bind to port 0: listeners, WskBind before WskConnect, UDP)
 * takes one from DPW_EPHEMERAL_BIND_FIRST up, by the port-number rule, whatever the
 * remote. */
#define DPW_EPHEMERAL_BIND_FIRST 0xe000u

/* Local ports below the ephemeral range pinned to one engine (docs/many-lcores.md, step 5a):
 * a socket bound to a fixed port lives on one engine, so every frame to that port must reach
 * it, whatever the remote. One table per shared port (port_share.c), written only at a bind
 * and at the last close on a port, under the port share's lock; read on every frame with a
 * relaxed load, so the hot path writes nothing shared. */
/* A port held by a listener that listens on every engine (docs/many-lcores.md, step 5): its
 * frames are spread by the remote's hash, as for a port nobody holds, but no other engine may
 * pin it while the listener or a connection it accepted is there. A flag: the low bits keep
 * the listener's own engine (queue + 1), where a later bind to the port is judged (step 6). */
#define DPW_STEER_PIN_SPREAD 0x8000u

struct dpw_rss;

struct dpw_steer_pins {
	/* [udp][port]: 0 none, else queue + 1, with DPW_STEER_PIN_SPREAD when spread */
	_Atomic uint16_t owner[2][DPW_EPHEMERAL_FIRST];
	uint32_t count[2][DPW_EPHEMERAL_FIRST];           /* sockets on it [the share's lock] */
};

/* The engine (queue) that owns frame m, of queues, or DPW_STEER_ALL, or DPW_STEER_FRAGMENT.
 * Frames to a port pinned in pins (NULL: none) go to its engine; other connections to a port
 * below the ephemeral range are spread by a hash of the remote address and port (every
 * engine listens); frames to an ephemeral port go to the engine that picked it; an ICMP
 * error goes to the owner of the flow whose packet it quotes; everything else that no flow
 * owns (ICMP echo, IPv6 extension headers other than one fragment header, other ethertypes)
 * goes to queue 0. With rss (NULL: none), a TCP flow that is neither pinned nor on a port
 * from DPW_EPHEMERAL_BIND_FIRST up goes where the port's hash puts it. */
uint16_t dpw_steer_owner(const struct rte_mbuf *m, uint16_t queues,
			 const struct dpw_steer_pins *pins, const struct dpw_rss *rss);

/* Whether queue's engine may take port as its ephemeral port when it does not know the
 * remote: the port-number rule (with rss, only from DPW_EPHEMERAL_BIND_FIRST up). */
static inline bool dpw_steer_port_ok(uint16_t port, uint16_t queue, uint16_t queues, bool rss)
{
	if (queues <= 1 || port < DPW_EPHEMERAL_FIRST)
		return true;
	return port % queues == queue && (!rss || port >= DPW_EPHEMERAL_BIND_FIRST);
}

/* lwIP's TCP ephemeral range ends below this port (TCP_LOCAL_PORT_RANGE_END). */
#define DPW_EPHEMERAL_END 0xffffu

/* The port queue's engine tries after port (LWIP_HOOK_LOCAL_PORT_NEXT, lwip-0022), in
 * [DPW_EPHEMERAL_FIRST, DPW_EPHEMERAL_END): by the port-number rule, its next own port, so that
 * a search tries one port per free port instead of queues; when the hash decides (by_hash: a
 * connect that knows its remote, under rss), simply the next. dpw_steer_port_ok still judges
 * each. */
static inline uint16_t dpw_steer_port_next(uint16_t port, uint16_t queue, uint16_t queues,
					   bool rss, bool by_hash)
{
	uint32_t first = rss ? DPW_EPHEMERAL_BIND_FIRST : DPW_EPHEMERAL_FIRST;
	uint32_t p = (uint32_t)port + 1;

	if (queues <= 1 || by_hash)   /* by hash: only ports below DPW_EPHEMERAL_BIND_FIRST */
		return (uint16_t)(p >= (by_hash ? DPW_EPHEMERAL_BIND_FIRST : DPW_EPHEMERAL_END) ||
						  p < DPW_EPHEMERAL_FIRST
					  ? DPW_EPHEMERAL_FIRST
					  : p);
	if (p < first)
		p = first;
	p += (queue + queues - p % queues) % queues;   /* up to the next p with p % queues == queue */
	if (p >= DPW_EPHEMERAL_END)
		p = first + (queue + queues - first % queues) % queues;
	return (uint16_t)p;
}

/* This thread's engine's queue, the queue count and the port's hash (NULL: none), for lwIP's
 * LWIP_HOOK_LOCAL_PORT_OK (lwip-0022): set when the engine is created, cleared when it goes. */
void dpw_steer_set_queue(uint16_t queue, uint16_t queues, const struct dpw_rss *rss);

/* A TCP connect about to pick its ephemeral port (tcp_connect with local port 0, which calls
 * the port hook): the hook then takes only a port whose flow from remote:remote_port to
 * local the port's hash puts on this engine's queue. Addresses in network order, 4 or 16
 * bytes; local is read when the hook runs (lwIP fills the pcb's address in before it picks
 * the port). Without a hash, the port-number rule as for any pick. Ended by
 * dpw_steer_connect_end, on the same thread. */
void dpw_steer_connect_begin(bool v6, const void *local, const void *remote,
			     uint16_t remote_port);
void dpw_steer_connect_end(void);
/* Every connect port whose flow hashes here is taken (lwIP found none): from now to the end,
 * the port rule, as for any pick (its frames are then handed on from wherever the NIC puts
 * them). False when the connect was not picking by hash, or already fell back. */
bool dpw_steer_connect_fallback(void);

#endif /* DPW_STEER_H */
