/* The port: one poll-mode driver's device with its mbuf pool, one RX and one TX queue
 * (port.c). Below the engine: it knows nothing of lwIP or of the engine that owns it. */
#ifndef DPW_PORT_H
#define DPW_PORT_H

#include <stdbool.h>
#include <stdint.h>

#include <rte_ether.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

#include "dpw/engine.h"
#include "offload.h"

/* What its user holds of the pool beside the rings, counted into the pool's size: an RX
 * burst, and frames made but not yet taken by the device (the engine's TX buffer). */
#define DPW_RX_BURST 32
#define DPW_TX_BUF 512

#define DPW_PORT_JOIN_SLOTS 8
#define DPW_PORT_PACKET_FDS 16

struct dpw_port {
	uint16_t id;
	uint16_t rx_desc, tx_desc;
	uint16_t mtu;
	bool open;          /* found: close it on teardown */
	bool started;
	struct rte_mempool *pool;
	struct rte_ether_addr mac;
	struct dpw_offloads offloads;   /* checksum offloads in use (offload.h) */
	/* The device takes a frame's bytes (DMA, or a copy into a kernel or shared ring) and only
	 * then lets the mbuf go, so an mbuf lwIP still holds may be sent as it is (zero-copy
	 * TX). Not net_ring: it hands the mbuf itself to whoever reads the ring. */
	bool tx_mbuf_shareable;
	uint32_t extra_mbufs; /* the pool's mbufs beyond what the queues and bursts need */
	uint32_t mbuf_idle; /* mbufs the queues hold with no traffic (stats: what "idle" means) */
	/* Several engines on the port (port_share.c): this engine's queue pair, and what they
	 * share (NULL: the port is this engine's alone, queue 0). */
	uint16_t queue;
	struct dpw_port_share *share;
	/* Several queues: RSS over TCP flows asked of the device (rss.h), to be read back. */
	bool rss_asked;
	/* [the engine's thread] Connections accepted here on a spread port hold it through one
	 * reference in the share, taken by the first and given back by the last, so that a
	 * connection joins and leaves without the share's lock (issue 15: no shared write per
	 * connection). A port not in the table (full) takes a reference per connection. */
	struct dpw_port_join {
		uint16_t port;
		bool udp;
		uint32_t n;      /* connections holding it here; 0: the slot is free */
	} joins[DPW_PORT_JOIN_SLOTS];
	/* af_packet: the kernel's sockets under the port, whose ring drops its PMD does not
	 * report (af_packet_drops.h), and what they dropped so far. Read by queue 0's engine. */
	int packet_fds[DPW_PORT_PACKET_FDS];
	unsigned n_packet_fds;
	uint64_t packet_drops;
};

/* The id of the port cfg names: 0, or -1 with a reason in err. */
int dpw_port_find(const struct dpw_engine_config *cfg, uint16_t *port, char *err,
		  size_t errlen);
/* Find the port cfg names, make its pool (priv_size bytes of private area an mbuf), set up
 * and start its queues (cfg->queues pairs, at least one); multicast on (all_multicast) when
 * IPv6 needs it. The caller polls queue 0. 0, or -1 with a reason in err. */
int dpw_port_open(struct dpw_port *p, const struct dpw_engine_config *cfg, uint16_t priv_size,
		  bool all_multicast, char *err, size_t errlen);
void dpw_port_close(struct dpw_port *p);
/* Bursts, kept in port.c: rte_ethdev.h drags in <netinet/ip.h>, whose macros clash with
 * lwIP's protocol headers, so files that use lwIP's internals do not include it. */
uint16_t dpw_port_rx(struct dpw_port *p, struct rte_mbuf **pkts, uint16_t n);
uint16_t dpw_port_tx(struct dpw_port *p, struct rte_mbuf **pkts, uint16_t n);
/* Frames the device dropped because its receive queue was full. */
uint64_t dpw_port_rx_missed(struct dpw_port *p);

/* port_share.c: several engines on one port, one queue pair each (config.queues > 1). The
 * first to open it opens the port with every queue and the pool they all use; the last to
 * release it closes the port and frees the pool and the steering rings. */
#define DPW_MAX_QUEUES 16
int dpw_port_share_open(struct dpw_port *p, const struct dpw_engine_config *cfg,
			uint16_t priv_size, bool all_multicast, char *err, size_t errlen);
void dpw_port_share_release(struct dpw_port *p);
/* The ring of frames steered to queue's engine (multi-producer, its engine consumes). */
struct rte_ring *dpw_port_share_ring(const struct dpw_port *p, uint16_t queue);
/* The port's pinned local ports (steer.h), NULL when the port is this engine's alone. */
struct dpw_steer_pins;
const struct dpw_steer_pins *dpw_port_share_pins(const struct dpw_port *p);
/* The hash TCP flows are steered by (rss.h), NULL when by the stack's own rules or the port
 * is this engine's alone; and its name, as dpw_engine_steering gives it. */
struct dpw_rss;
const struct dpw_rss *dpw_port_share_rss(const struct dpw_port *p);
const char *dpw_port_share_steering(const struct dpw_port *p);
/* Pin local port (UDP or TCP) to this engine's queue, one more socket on it: 0, 1 when the
 * port is spread by a listener of this engine's (the socket joins it), or -1 when another
 * engine's sockets hold it. Unpin: one socket fewer; at none, the port is steered by
 * hash again. No-ops for port 0 or a port not shared. An ephemeral port is not pinned: its
 * frames go where its own rule says (steer.h), so pin gives 0 on that engine and -1 on any
 * other (and on every engine for TCP's connect ports under a hash). */
int dpw_port_share_pin(struct dpw_port *p, bool udp, uint16_t port);
void dpw_port_share_unpin(struct dpw_port *p, bool udp, uint16_t port);
/* A listener on every engine: the one socket pinning port to this engine's queue spreads it
 * (DPW_STEER_PIN_SPREAD): 0 (also when a listener of this queue's spread it already), or -1
 * when other sockets are on it or it is not this queue's. Undone by dpw_port_share_unpin.
 * Join: one more socket on a spread port (a connection the listener accepted, on this
 * engine, its thread): 0, or -1 when the port is not spread. Leave undoes a join. */
int dpw_port_share_spread(struct dpw_port *p, bool udp, uint16_t port);
int dpw_port_share_join(struct dpw_port *p, bool udp, uint16_t port);
void dpw_port_share_leave(struct dpw_port *p, bool udp, uint16_t port);
/* Which queue's engine holds port now: the one it is pinned to, or the spread listener's own,
 * or for an ephemeral port the one its frames go to by its number; -1 when none (not a
 * shared port, nobody on a fixed port, TCP's connect ports under a hash). Any thread; a
 * snapshot. */
int dpw_port_share_holder(const struct dpw_port *p, bool udp, uint16_t port);

#endif /* DPW_PORT_H */
