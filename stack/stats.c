/* Counters: the engine's own plus lwIP's drop counters, and the pool occupancy. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "lwip/memp.h"
#include "lwip/stats.h"

#include "engine_internal.h"

static uint32_t pool_used(memp_t type)
{
	return lwip_stats.memp[type] != NULL ? lwip_stats.memp[type]->used : 0;
}

void dpw_engine_get_stats(const struct dpw_engine *e, struct dpw_engine_stats *s)
{
	memset(s, 0, sizeof(*s));
	s->rx_packets = e->c.rx_packets;
	s->rx_bytes = e->c.rx_bytes;
	s->tx_packets = e->c.tx_packets;
	s->tx_bytes = e->c.tx_bytes;
	s->tx_dropped = e->c.tx_dropped;
	s->loops = e->c.loops;

	s->drop_runt = e->c.drop_runt;
	s->drop_link = lwip_stats.link.drop + lwip_stats.etharp.drop;
	s->drop_ip_chksum = lwip_stats.ip.chkerr;
	s->drop_ip_len = lwip_stats.ip.lenerr;
	s->drop_ip_other = lwip_stats.ip.drop - lwip_stats.ip.chkerr - lwip_stats.ip.lenerr;
	s->drop_tcp_chksum = lwip_stats.tcp.chkerr;
	s->drop_tcp_other = lwip_stats.tcp.drop - lwip_stats.tcp.chkerr;
	s->drop_udp_chksum = lwip_stats.udp.chkerr;
	s->drop_udp_other = lwip_stats.udp.drop - lwip_stats.udp.chkerr;
	/* lwIP counts an ICMP checksum or length error without counting a drop. */
	s->drop_icmp = lwip_stats.icmp.drop + lwip_stats.icmp.chkerr + lwip_stats.icmp.lenerr +
		       lwip_stats.icmp.err;
	s->rx_dropped = s->drop_runt + e->c.rx_nombuf + s->drop_link + lwip_stats.ip.drop + lwip_stats.tcp.drop +
			lwip_stats.udp.drop + s->drop_icmp;

	s->mbuf_total = e->pool != NULL ? e->pool->size : 0;
	s->mbuf_in_use = e->pool != NULL ? rte_mempool_in_use_count(e->pool) : 0;
	s->mbuf_idle = e->shut_down ? 0 : e->mbuf_idle;
	s->tcp_pcbs_in_use = pool_used(MEMP_TCP_PCB);
	s->tcp_listen_pcbs_in_use = pool_used(MEMP_TCP_PCB_LISTEN);
	s->udp_pcbs_in_use = pool_used(MEMP_UDP_PCB);
}

void dpw_engine_format_stats(const struct dpw_engine_stats *s, char *buf, size_t len)
{
	snprintf(buf, len,
		 "rx_packets=%" PRIu64 " rx_bytes=%" PRIu64 " tx_packets=%" PRIu64
		 " tx_bytes=%" PRIu64 " rx_dropped=%" PRIu64 " tx_dropped=%" PRIu64
		 " drop_runt=%" PRIu64 " drop_link=%" PRIu64 " drop_ip_chksum=%" PRIu64
		 " drop_ip_len=%" PRIu64 " drop_ip_other=%" PRIu64 " drop_tcp_chksum=%" PRIu64
		 " drop_tcp_other=%" PRIu64 " drop_udp_chksum=%" PRIu64 " drop_udp_other=%" PRIu64
		 " drop_icmp=%" PRIu64 " mbuf_in_use=%u mbuf_idle=%u mbuf_total=%u"
		 " tcp_pcbs=%u tcp_listen_pcbs=%u udp_pcbs=%u loops=%" PRIu64,
		 s->rx_packets, s->rx_bytes, s->tx_packets, s->tx_bytes, s->rx_dropped,
		 s->tx_dropped, s->drop_runt, s->drop_link, s->drop_ip_chksum, s->drop_ip_len,
		 s->drop_ip_other, s->drop_tcp_chksum, s->drop_tcp_other, s->drop_udp_chksum,
		 s->drop_udp_other, s->drop_icmp, s->mbuf_in_use, s->mbuf_idle, s->mbuf_total,
		 s->tcp_pcbs_in_use, s->tcp_listen_pcbs_in_use, s->udp_pcbs_in_use, s->loops);
}
