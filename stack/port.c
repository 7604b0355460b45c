/* Port bring-up for any poll-mode driver: the mbuf pool, its queue pairs, start. */
#include <string.h>

#include <rte_ethdev.h>
#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>

#include "af_packet_drops.h"
#include "errors.h"
#include "port.h"
#include "rss.h"

#define DEFAULT_DESC 1024
#define DEFAULT_EXTRA_MBUFS 16384
#define MEMPOOL_CACHE 256


int dpw_port_find(const struct dpw_engine_config *cfg, uint16_t *port, char *err,
		  size_t errlen)
{
	if (cfg->port_name != NULL) {
		if (rte_eth_dev_get_port_by_name(cfg->port_name, port) != 0) {
			dpw_set_err(err, errlen,
				    "port '%s' not found: EAL created %u port(s); check the device "
				    "name, its --vdev/-a argument, or that its interface exists",
				    cfg->port_name, rte_eth_dev_count_avail());
			return -1;
		}
		return 0;
	}
	if (!rte_eth_dev_is_valid_port(cfg->port_id)) {
		dpw_set_err(err, errlen, "port %u does not exist (EAL created %u port(s))",
			    cfg->port_id, rte_eth_dev_count_avail());
		return -1;
	}
	*port = cfg->port_id;
	return 0;
}

int dpw_port_open(struct dpw_port *p, const struct dpw_engine_config *cfg, uint16_t priv_size,
		  bool all_multicast, char *err, size_t errlen)
{
	struct rte_eth_conf conf;
	struct rte_eth_dev_info info;
	char name[RTE_MEMPOOL_NAMESIZE];
	uint16_t nb_rx, nb_tx;
	unsigned nb_mbufs;
	int ret;

	uint16_t queues = cfg->queues > 1 ? cfg->queues : 1;

	if (dpw_port_find(cfg, &p->id, err, errlen) != 0)
		return -1;
	p->open = true;
	ret = rte_eth_dev_info_get(p->id, &info);
	if (ret != 0) {
		dpw_set_err(err, errlen, "port %u: cannot read device info: %s", p->id,
			    rte_strerror(-ret));
		return -1;
	}

	p->tx_mbuf_shareable = strcmp(info.driver_name, "net_ring") != 0;
	memset(&conf, 0, sizeof(conf));
	dpw_offloads_choose(&info, !cfg->no_offloads, &p->offloads, &conf.rxmode.offloads,
			    &conf.txmode.offloads);
	p->rss_asked = queues > 1 && (cfg->steering == DPW_STEERING_AUTO ||
				      cfg->steering == DPW_STEERING_RSS) &&
		       dpw_rss_port_wanted(&info, &conf);
	if (queues > 1 && cfg->steering == DPW_STEERING_RSS && !p->rss_asked) {
		dpw_set_err(err, errlen, "port %u (%s) has no RSS over TCP with a key and RETA "
			    "it can report: steer with software or toeplitz instead of rss",
			    p->id, info.driver_name);
		return -1;
	}
	ret = rte_eth_dev_configure(p->id, queues, queues, &conf);
	if (ret != 0) {
		dpw_set_err(err, errlen, "port %u (%s): configure failed: %s", p->id,
			    info.driver_name, rte_strerror(-ret));
		return -1;
	}
	nb_rx = cfg->rx_desc ? cfg->rx_desc : DEFAULT_DESC;
	nb_tx = cfg->tx_desc ? cfg->tx_desc : DEFAULT_DESC;
	ret = rte_eth_dev_adjust_nb_rx_tx_desc(p->id, &nb_rx, &nb_tx);
	if (ret != 0) {
		dpw_set_err(err, errlen, "port %u: queue depths %u/%u rejected: %s", p->id,
			    nb_rx, nb_tx, rte_strerror(-ret));
		return -1;
	}
	p->rx_desc = nb_rx;
	p->tx_desc = nb_tx;

	/* Enough mbufs to fill both rings, the TX buffer and every lcore's mempool cache, plus
	 * what lwIP may hold (out-of-order segments, data the application has not read). */
	p->extra_mbufs = cfg->extra_mbufs ? cfg->extra_mbufs : DEFAULT_EXTRA_MBUFS;
	nb_mbufs = queues * (nb_rx + nb_tx + DPW_TX_BUF + 2 * DPW_RX_BURST + p->extra_mbufs) +
		   MEMPOOL_CACHE * rte_lcore_count();
	snprintf(name, sizeof(name), "dpw_mbuf_p%u", p->id);
	p->pool = rte_pktmbuf_pool_create(name, nb_mbufs, MEMPOOL_CACHE, priv_size,
					  RTE_MBUF_DEFAULT_BUF_SIZE, rte_eth_dev_socket_id(p->id));
	if (p->pool == NULL) {
		dpw_set_err(err, errlen, "cannot create a pool of %u mbufs: %s (raise EAL -m?)",
			    nb_mbufs, rte_strerror(rte_errno));
		return -1;
	}

	ret = 0;
	for (uint16_t q = 0; q < queues && ret == 0; q++) {
		ret = rte_eth_rx_queue_setup(p->id, q, nb_rx, rte_eth_dev_socket_id(p->id),
					     NULL, p->pool);
		if (ret == 0)
			ret = rte_eth_tx_queue_setup(p->id, q, nb_tx,
						     rte_eth_dev_socket_id(p->id), NULL);
	}
	if (ret != 0) {
		dpw_set_err(err, errlen, "port %u: queue setup failed: %s", p->id,
			    rte_strerror(-ret));
		return -1;
	}
	if (cfg->mtu != 0 && (ret = rte_eth_dev_set_mtu(p->id, cfg->mtu)) != 0) {
		dpw_set_err(err, errlen, "port %u: MTU %u rejected: %s", p->id, cfg->mtu,
			    rte_strerror(-ret));
		return -1;
	}
	if (rte_eth_dev_get_mtu(p->id, &p->mtu) != 0 || p->mtu == 0)
		p->mtu = RTE_ETHER_MTU;
	p->offloads.mtu = p->mtu;
	ret = rte_eth_macaddr_get(p->id, &p->mac);
	if (ret == 0)
		ret = rte_eth_dev_start(p->id);
	if (ret != 0) {
		dpw_set_err(err, errlen, "port %u (%s): start failed: %s", p->id,
			    info.driver_name, rte_strerror(-ret));
		return -1;
	}
	p->started = true;
	if (strcmp(info.driver_name, "net_af_packet") == 0 && info.if_index != 0)
		p->n_packet_fds = dpw_af_packet_sockets((int)info.if_index, p->packet_fds,
							DPW_PORT_PACKET_FDS);
	/* Neighbor Discovery asks for us at a multicast MAC (33:33:ff:...) that a NIC's unicast
	 * filter drops. Drivers without the knob (af_packet) pass every frame anyway. */
	if (all_multicast)
		(void)rte_eth_allmulticast_enable(p->id);
	/* Some drivers fill their RX ring at start: that share of the pool is "idle", the
	 * baseline the leak checks compare against. */
	p->mbuf_idle = rte_mempool_in_use_count(p->pool);
	return 0;
}

/* Stop and close the port (the driver frees the mbufs on its rings); the pool stays, so that
 * the caller can check that every mbuf came back. */
void dpw_port_close(struct dpw_port *p)
{
	p->n_packet_fds = 0;   /* the driver closes them */
	if (p->started) {
		rte_eth_dev_stop(p->id);
		p->started = false;
	}
	if (p->open) {
		rte_eth_dev_close(p->id);
		p->open = false;
	}
}

uint16_t dpw_port_rx(struct dpw_port *p, struct rte_mbuf **pkts, uint16_t n)
{
	return rte_eth_rx_burst(p->id, p->queue, pkts, n);
}

uint16_t dpw_port_tx(struct dpw_port *p, struct rte_mbuf **pkts, uint16_t n)
{
	return rte_eth_tx_burst(p->id, p->queue, pkts, n);
}

/* Frames the device dropped because its receive queue was full (af_packet: a kernel ring
 * overflowed, counted here since its PMD does not). A system call or more: read at the stats
 * snapshot's rate, not per pass. */
uint64_t dpw_port_rx_missed(struct dpw_port *p)
{
	struct rte_eth_stats st;

	/* The device's count is the port's: with several engines on it, queue 0's reports it. */
	if (!p->started || p->queue != 0 || rte_eth_stats_get(p->id, &st) != 0)
		return 0;
	p->packet_drops += dpw_af_packet_drops(p->packet_fds, p->n_packet_fds);
	return st.imissed + p->packet_drops;
}
