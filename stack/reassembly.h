/* IP fragments on a port shared by several engines (config.queues > 1). A fragment carries
 * no ports (only the first does, and fragments come in any order), so no engine can tell
 * from one fragment whose flow it is. They all go to queue 0's engine (steer.c), which
 * gathers them here into whole datagrams and steers those by their ports like any frame.
 * lwIP's own reassembly could not: it hands the datagram straight to its own TCP and UDP,
 * which would answer another engine's flow with a RST or an ICMP port unreachable.
 * On a port of its own an engine leaves fragments to lwIP, as before. Without lwIP's
 * headers (DPDK's clash with them). */
#ifndef DPW_REASSEMBLY_H
#define DPW_REASSEMBLY_H

#include <stdint.h>

struct rte_mbuf;
struct dpw_reassembly;

/* Room for DPW_REASSEMBLY_DATAGRAMS datagrams in progress, each of at most DPDK's
 * RTE_LIBRTE_IP_FRAG_MAX_FRAG (8) fragments, each given DPW_REASSEMBLY_SECONDS to complete.
 * NULL when out of memory. */
#define DPW_REASSEMBLY_DATAGRAMS 256
#define DPW_REASSEMBLY_SECONDS 15   /* lwIP's IP_REASS_MAXAGE, RFC 791's suggestion */
struct dpw_reassembly *dpw_reassembly_create(int socket_id);
/* Frees the table and every fragment it still holds. */
void dpw_reassembly_destroy(struct dpw_reassembly *r);

/* Take fragment m (an IPv4 fragment, or IPv6 with a fragment header right after the fixed
 * one, as steer.c classed it): the whole datagram as an mbuf chain when m completed it
 * (its IPv4 header checksum valid again), else NULL (m is held, or was dropped: a bad IPv4
 * header checksum, a datagram past 64 KiB, an impossible fragment, a full table, a datagram
 * of too many fragments). */
struct rte_mbuf *dpw_reassembly_add(struct dpw_reassembly *r, struct rte_mbuf *m);
/* Frees fragments dropped meanwhile and datagrams that did not complete in time: once per
 * engine tick (the table frees only what it replaces otherwise). */
void dpw_reassembly_expire(struct dpw_reassembly *r);

#endif /* DPW_REASSEMBLY_H */
