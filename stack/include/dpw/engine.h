/* The dpwsk engine: one DPDK port, one lwIP instance, one polling lcore.
 *
 * Lifecycle:  dpw_eal_init() -> dpw_engine_create() -> dpw_engine_poll() in your own loop
 *             (embedded mode) or dpw_engine_run() (owns the calling thread until stopped)
 *             -> dpw_engine_destroy() -> dpw_eal_cleanup().
 * lwIP keeps global state, so a process has at most one engine. Every lwIP call must be made
 * on the thread that polls the engine. */
#ifndef DPW_ENGINE_H
#define DPW_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct dpw_engine;

/* Room for a one-line error message, as every dpw_ call that can fail fills one in. */
#define DPW_ERRLEN 256

struct dpw_engine_config {
	/* Which ethdev: a device name as EAL knows it ("net_af_packet0", "0000:03:00.0") ... */
	const char *port_name;
	/* ... or, when port_name is NULL, this port id (unit tests use net_ring ports). */
	uint16_t port_id;
	uint32_t ipv4_addr;     /* network byte order */
	uint32_t ipv4_netmask;  /* network byte order */
	uint32_t ipv4_gateway;  /* network byte order, 0 for none */
	/* IPv6, alongside IPv4: a global address in a /64 (lwIP's on-link rule), all zero for
	 * none. The port also gets a link-local address from its MAC. Both are usable at once
	 * (no duplicate address detection); neighbours on the link are found by Neighbor
	 * Discovery; there is no router, so only the /64 and link-local addresses are reachable. */
	uint8_t ipv6_addr[16];
	uint16_t rx_desc;       /* RX queue depth, 0 for the default (1024) */
	uint16_t tx_desc;       /* TX queue depth, 0 for the default (1024) */
	uint32_t extra_mbufs;   /* mbufs beyond the queues' needs held by lwIP (0: default 16384) */
	uint16_t mtu;           /* 0 for 1500 */
	/* Write what the port receives and what the stack sends to it into this pcapng file
	 * (Wireshark, tcpdump -r), NULL for none; frames stop going in once the file reaches
	 * capture_limit bytes (0: 100 MB), and are counted as capture_skipped. */
	const char *capture_path;
	uint64_t capture_limit;
	/* Checksum offloads are used where the device offers them (IPv4 header and TCP on TX,
	 * IP/TCP/UDP checks on RX); true to compute and check every checksum in software. */
	bool no_offloads;
	/* lwIP's segments go to the device in the mbufs they were built in, without a copy,
	 * where the device allows it (not net_ring); true to copy every frame into a fresh mbuf,
	 * as before. */
	bool no_zero_copy;
	/* Several engines on one port, one per queue pair, each on a thread of its own, in one
	 * process (the per-thread build only: stack_mt_dep). queues: how many (0 or 1: the port
	 * is this engine's alone); queue: this engine's. Every engine of the port gives the same
	 * configuration besides queue. A frame that reaches the wrong engine is handed to the one
	 * that owns its flow (steer.c); ARP replies and neighbour advertisements reach all. */
	uint16_t queues, queue;
	/* Count busy_cpu_ns (a system call per loop pass: for measurements). */
	bool busy_cpu;
	/* With several queues: how frames find their engine (docs/many-lcores.md). */
	enum dpw_steering {
		/* The port's RSS where it hashes TCP and reports its key and RETA, else
		 * DPW_STEERING_SOFTWARE. */
		DPW_STEERING_AUTO,
		/* The stack's own rules (steer.h): what reaches the wrong engine is handed on. */
		DPW_STEERING_SOFTWARE,
		/* The port's RSS, or the engine is not created. */
		DPW_STEERING_RSS,
		/* TCP flows by a Toeplitz hash of our own, as a NIC with RSS would: on a port
		 * without it, the same path as RSS with every hop in software (tests). */
		DPW_STEERING_TOEPLITZ,
	} steering;
};

/* Several engines on one port (config.queues): mbufs that were not back in the port's pool
 * when its last engine went, over the process's life. 0 unless dpwsk lost some. */
uint64_t dpw_engine_shared_mbufs_lost(void);

struct dpw_engine_stats {
	uint64_t rx_packets, rx_bytes;   /* frames received from the port */
	uint64_t tx_packets, tx_bytes;   /* frames the port accepted */
	uint64_t rx_dropped;             /* frames lwIP or the driver discarded, all reasons */
	uint64_t tx_dropped;             /* frames lost on TX (no mbuf, port queue full too long) */
	/* rx_dropped broken down, from lwIP's counters */
	uint64_t drop_runt;              /* shorter than an Ethernet header */
	uint64_t drop_link;              /* unknown ethertype, not for our MAC, ARP errors */
	uint64_t drop_ip_chksum, drop_ip_len, drop_ip_other;
	uint64_t drop_tcp_chksum, drop_tcp_other;
	uint64_t drop_udp_chksum, drop_udp_other;
	uint64_t drop_icmp;
	uint64_t loops;                  /* poll passes */
	uint64_t rx_missed;              /* frames the device dropped, its queue full (counted
					  * in rx_dropped; read about once a millisecond) */
	uint64_t time_wait_trimmed;      /* TIME_WAIT connections freed early: over the bound */
	uint64_t tcp_retransmits;        /* segments TCP sent again (a SYN counts: a server
					  * dropping SYNs shows here) */
	uint64_t tcp_connect_fails;      /* connects and handshakes that failed (RFC 1213) */
	uint64_t lwip_errors;            /* lwIP's checked errors (LWIP_ERROR) recovered from:
					  * a bug in dpwsk or lwIP, never caused by traffic */
	/* SYN floods: half-open connections are capped per listener (TCP_DEFAULT_LISTEN_BACKLOG)
	 * and the oldest go first (lwip-0017) */
	uint64_t syn_evicted;            /* half-open dropped for a new SYN at a listener's cap */
	uint64_t syn_evicted_pool;       /* half-open dropped because the pcb pool was empty */
	uint64_t syn_dropped;            /* SYNs that got no pcb at all */
	uint64_t syn_reset_half_open;    /* half-open connections a RST ended before their
					  * handshake's ACK: never accepted (lwip-0023) */
	uint64_t syn_ack_in_listen;      /* ACKs for no half-open connection, answered with a RST
					  * (e.g. a handshake ACK overtaken by its RST) */
	uint64_t capture_frames;         /* written to the capture file (config.capture_path) */
	uint64_t capture_skipped;        /* not written: the file at its limit, or no copy mbuf */
	uint64_t tx_cksum_offloaded;     /* frames sent with their checksums left to the device */
	uint64_t tx_zero_copy;           /* frames sent in the mbuf lwIP built them in (no copy) */
	uint64_t tx_unshared;            /* of those, copied after all: the port did not take them
					  * within the pass, and lwIP may change its segment */
	uint64_t tx_tso;                 /* TCP segments beyond the MTU sent for the device to cut
					  * (TSO; the port offering it) */
	uint64_t rx_cksum_offloaded;     /* frames whose checksums the device verified, so that
					  * lwIP did not (config.no_offloads off, the port able) */
	/* Several engines on one port (config.queues): frames handed to the engine that owns
	 * their flow, received from the others so, copies sent to all (ARP replies, neighbour
	 * advertisements), and frames lost because the owner's ring was full. */
	uint64_t steered_out, steered_in, steer_copies, steer_dropped;
	/* The lcore's work, apart from its idle polling: TSC cycles spent in loop passes that
	 * received or sent a frame, and how many such passes. Cycles per connection or per
	 * request/response, comparable between 1 and N engines (bench/lcores.sh). */
	uint64_t busy_cycles, busy_loops;
	/* config.busy_cpu: the CPU time (the thread's own clock, ns) of those passes, less one
	 * clock read each. Unlike busy_cycles it does not grow while the lcore waits for a CPU
	 * it shares, so it stays the stack's own cost on a machine with fewer CPUs than
	 * lcores. 0 without busy_cpu. */
	uint64_t busy_cpu_ns;
	/* Connects that found every port whose flow hashes to this engine taken and took one by
	 * the port rule, whose frames other engines hand on (steering by a hash only). */
	uint64_t connect_fallbacks;
	uint32_t mbuf_in_use;            /* mbufs out of the pool right now */
	uint32_t mbuf_idle;              /* in use right after start: the queues' own share */
	uint32_t mbuf_total;
	uint32_t tcp_pcbs_in_use;        /* lwIP pcb pools */
	uint32_t tcp_pcbs_timed;         /* connections lwIP's timers visit: those with
					  * something due; idle ones cost nothing (lwip-0014) */
	uint32_t tcp_time_wait;          /* of tcp_pcbs_in_use, in TIME_WAIT */
	uint32_t tcp_pcbs_max;           /* the most connection pcbs ever in use at once */
	uint32_t tcp_pcbs_total;         /* the pool's size (MEMP_NUM_TCP_PCB) */
	uint32_t tcp_listen_pcbs_in_use;
	uint32_t udp_pcbs_in_use;
	uint32_t syn_rcvd;               /* half-open connections on the listeners right now */
	uint32_t syn_rcvd_max;           /* the most seen at once (sampled each stats tick) */
};

/* Whether cfg gives an IPv6 address (ipv6_addr not all zero). */
bool dpw_engine_config_has_ipv6(const struct dpw_engine_config *cfg);

/* Start DPDK's EAL from an argument list (argv[0] is the program name). Returns 0 or -1 with
 * a one-line reason in err. */
int dpw_eal_init(int argc, char **argv, char *err, size_t errlen);
void dpw_eal_cleanup(void);
/* dpdk-dumpcap / dpdk-pdump can attach to this process (EAL runs with a shared configuration,
 * and rte_pdump_init() succeeded). */
bool dpw_eal_pdump_enabled(void);

/* Bring up the port, the mbuf pool and lwIP. NULL on failure, with the reason in err. */
struct dpw_engine *dpw_engine_create(const struct dpw_engine_config *cfg, char *err,
				     size_t errlen);

/* One loop pass: RX burst into lwIP, lwIP timers, flush TX. Returns frames received (with
 * several engines on the port, those the others handed over too). Call it from the same
 * thread every time (in the per-thread build, the thread that created the engine). */
unsigned dpw_engine_poll(struct dpw_engine *e);

/* Work to do on the lcore once per loop pass, after RX and before TX is flushed (the WSK
 * provider drains its request ring here). At most DPW_MAX_POLL_HOOKS; 0 or -1 when full. */
#define DPW_MAX_POLL_HOOKS 4
typedef void (*dpw_poll_hook_fn)(void *arg);
int dpw_engine_add_poll_hook(struct dpw_engine *e, dpw_poll_hook_fn fn, void *arg);
void dpw_engine_remove_poll_hook(struct dpw_engine *e, dpw_poll_hook_fn fn, void *arg);

/* Poll until dpw_engine_stop() is called (from any thread or a signal handler). */
void dpw_engine_run(struct dpw_engine *e);
void dpw_engine_stop(struct dpw_engine *e);
bool dpw_engine_stopping(const struct dpw_engine *e);

/* Run the loop on a thread of its own (a DPDK worker lcore if one is free, else a new
 * registered thread); dpw_engine_join() stops it and waits. */
int dpw_engine_start(struct dpw_engine *e, char *err, size_t errlen);
void dpw_engine_join(struct dpw_engine *e);

/* Stop the loop, abort every connection (peers get a RST), release every pbuf lwIP holds,
 * stop and close the port. Afterwards every mbuf is back in the pool (stats.mbuf_in_use is
 * 0) and the stats stay readable. dpw_engine_destroy() frees the pool and the engine, and
 * shuts down first if that was not done. */
void dpw_engine_shutdown(struct dpw_engine *e);
void dpw_engine_destroy(struct dpw_engine *e);

/* Any thread. On the polling thread the figures are live; other threads get a snapshot the
 * loop publishes every millisecond (and once more at shutdown, exact), but for mbuf_in_use,
 * which every reader counts from the pool when it reads (the pool's count reads every
 * lcore's cache of it: not for the loop to do each millisecond). */
void dpw_engine_get_stats(const struct dpw_engine *e, struct dpw_engine_stats *out);
/* The same, but on another thread wait (timeout_ms at most) for a snapshot the loop took
 * after this call, so that it shows what this thread did before: false if none came (the
 * loop stopped or is stalled; out then holds the latest). For tests and tools that compare
 * counters across their own actions. */
bool dpw_engine_get_fresh_stats(const struct dpw_engine *e, struct dpw_engine_stats *out,
				unsigned timeout_ms);
/* One line, key=value pairs, for logs and tests; DPW_STATS_LINE holds every field (a buffer
 * too short ends the line at a field). */
#define DPW_STATS_LINE 2048
void dpw_engine_format_stats(const struct dpw_engine_stats *s, char *buf, size_t len);
/* Add engine counters s to a total of several engines (zeroed first): every field summed,
 * except those of the port's mbuf pool, which the engines of one port share: those only when
 * first_of_port. High-water marks are summed too (an upper bound of the total's). */
void dpw_engine_stats_add(struct dpw_engine_stats *total, const struct dpw_engine_stats *s,
			  bool first_of_port);

/* The engine's lwIP netif (struct netif *) and MAC, for code that uses lwIP directly. */
void *dpw_engine_netif(struct dpw_engine *e);
void dpw_engine_mac(const struct dpw_engine *e, uint8_t mac[6]);
/* The checksum offloads in use on the port: "tx-ipv4-cksum,tx-tcp-cksum,rx-cksum" or a part
 * of it, or "none" (software only: the device has none, or config.no_offloads). */
void dpw_engine_offloads(const struct dpw_engine *e, char *buf, size_t len);
uint16_t dpw_engine_port_id(const struct dpw_engine *e);
/* How frames reach this engine: "rss" (the port's hash puts TCP flows on their engine's
 * queue), "toeplitz" (the same hash in software), "software" (the stack's own rules), or
 * "none" (the port is this engine's alone). */
const char *dpw_engine_steering(const struct dpw_engine *e);
/* A TCP connect on this thread's engine about to let lwIP pick its local port (tcp_connect
 * on a pcb with port 0), between begin and end: with several engines steered by a hash,
 * lwIP may then pick only a port whose flow from remote:remote_port to local the hash puts
 * on this engine (steer.h). Addresses in network order, 4 or 16 bytes; local is read while
 * lwIP picks (it fills the pcb's local address in first). */
void dpw_engine_connect_begin(bool v6, const void *local, const void *remote,
			      uint16_t remote_port);
void dpw_engine_connect_end(void);
/* Within begin/end, after lwIP found no free port whose flow hashes to e's queue: true if
 * a second try may take a port by the port rule (counted, connect_fallbacks); false when the
 * pick was not by hash, or already fell back. */
bool dpw_engine_connect_fallback(struct dpw_engine *e);
/* Several engines on one port: a socket bound to local port (below the ephemeral range) lives
 * on this engine, so every frame to that port must come here, whatever its remote. Pin it,
 * one more socket on it: 0; 1 when a listener of this engine's has spread the port (below)
 * and the socket joins it there; -1 when another engine's sockets hold the port (one engine
 * per fixed port, but for a listener spread over them all). Unpin when such a
 * socket goes; at the last, the port's frames are spread by their remote's hash again. udp:
 * the UDP port, else the TCP one. No-ops (0) on an engine that has its port alone. */
int dpw_engine_pin_port(struct dpw_engine *e, bool udp, uint16_t port);
void dpw_engine_unpin_port(struct dpw_engine *e, bool udp, uint16_t port);
/* Which engine of the port holds local port: the queue it is pinned to, or the spread
 * listener's own; -1 when none. A bind on another engine moves its socket there
 * (docs/many-lcores.md, step 6). And which queue this engine polls. */
int dpw_engine_port_holder(const struct dpw_engine *e, bool udp, uint16_t port);
uint16_t dpw_engine_queue(const struct dpw_engine *e);
/* A listener that listens on every engine (docs/many-lcores.md, step 5): the one socket that
 * pinned port here lets its frames spread by the remote's hash again, while the port stays
 * held: 0, or -1 (other sockets on it); unpin undoes it. Join: a connection accepted on such
 * a port, on this engine (its thread), holds it too: 0, or -1 when it is not spread; leave
 * undoes a join. The connections of one engine share one hold: no lock per connection. */
int dpw_engine_spread_port(struct dpw_engine *e, bool udp, uint16_t port);
int dpw_engine_join_port(struct dpw_engine *e, bool udp, uint16_t port);
void dpw_engine_leave_port(struct dpw_engine *e, bool udp, uint16_t port);
/* The pool RX mbufs come from (each has room for the engine's pbuf in its private area):
 * frames an embedding application injects must come from here too. */
struct rte_mempool;
struct rte_mempool *dpw_engine_pktmbuf_pool(struct dpw_engine *e);
/* Hand one frame to lwIP as if the port had received it (embedded packet apps, tests). */
struct rte_mbuf;
void dpw_engine_input(struct dpw_engine *e, struct rte_mbuf *m);

#ifdef __cplusplus
}
#endif
#endif /* DPW_ENGINE_H */
