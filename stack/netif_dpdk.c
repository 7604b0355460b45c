/* The lwIP network interface over a DPDK port.
 * RX: each received mbuf becomes a custom pbuf that points into the mbuf's data (no copy);
 *     when lwIP frees the pbuf, the mbuf goes back to its pool.
 * TX: a frame lwIP built in one block of its heap that lives in an mbuf (lwip_mem.c: its
 *     TCP segments, headers and data together) goes to the device in that mbuf, with a
 *     reference of its own, so that lwIP keeps the segment for retransmission and nothing is
 *     copied; any other pbuf chain is copied into fresh mbuf(s). Frames are buffered and sent
 *     in bursts at the end of every loop pass (or sooner when a burst's worth is waiting).
 * Checksums: where the port offloads them (offload.h), lwIP's generation of the IPv4 and TCP
 * checksums is off for this interface and each frame is marked for the device instead; and a
 * received frame whose checksums the device vouched for skips lwIP's checks of them (lwIP's
 * per-interface switches, LWIP_CHECKSUM_CTRL_PER_NETIF, set around that one frame's input). */
#include <string.h>

#include <rte_mbuf.h>

#include "lwip/etharp.h"
#include "lwip/ethip6.h"
#include "lwip/netif.h"
#include "lwip/pbuf.h"
#include "lwip/snmp.h"
#include "lwip/stats.h"
#include "netif/ethernet.h"

#include "engine_internal.h"
#include "lwip_mem.h"

/* TSO (lwip-0020): lwIP asks how large a segment may be, whether IP may leave one beyond the
 * MTU whole, and tells each segment's MSS on its way out (the device cuts to it). One lwIP per
 * process (per thread in the per-thread build), so one port's answer: tso_payload is 0 without
 * TSO. The segment noted is matched by
 * its pbuf, which reaches linkoutput within the same call; one that ARP queued arrives later,
 * its MSS forgotten, and linkoutput drops it if it is beyond the MTU (TCP resends it). */
static LWIP_PER_INSTANCE u16_t tso_payload;
static LWIP_PER_INSTANCE struct {
	const struct pbuf *p;
	u16_t mss;
} seg_out;

u16_t dpw_tcp_seg_max(u16_t mss)
{
	if (tso_payload == 0 || mss == 0 || mss >= tso_payload)
		return mss;
	return (u16_t)(tso_payload / mss * mss);
}

int dpw_netif_tso(const struct netif *netif)
{
	(void)netif;
	return tso_payload != 0;
}

void dpw_tcp_seg_out(u16_t mss, const struct pbuf *p)
{
	seg_out.p = p;
	seg_out.mss = mss;
}

/* The pbuf_custom sits in the mbuf's private area (the pool was created with room for it),
 * and the mbuf header sits right before that area. */
static inline struct pbuf_custom *mbuf_to_pbuf(struct rte_mbuf *m)
{
	return (struct pbuf_custom *)rte_mbuf_to_priv(m);
}

static inline struct rte_mbuf *pbuf_to_mbuf(struct pbuf *p)
{
	return (struct rte_mbuf *)((char *)p - sizeof(struct rte_mbuf));
}

/* lwIP calls this when the last reference to a received pbuf goes away. */
static void rx_pbuf_free(struct pbuf *p)
{
	rte_pktmbuf_free_seg(pbuf_to_mbuf(p));
}

/* Wrap one mbuf segment; segments are unlinked first, since each pbuf frees its own. */
static struct pbuf *wrap_segment(struct rte_mbuf *seg)
{
	struct pbuf_custom *pc = mbuf_to_pbuf(seg);

	pc->custom_free_function = rx_pbuf_free;
	return pbuf_alloced_custom(PBUF_RAW, rte_pktmbuf_data_len(seg), PBUF_REF, pc,
				   rte_pktmbuf_mtod(seg, void *), rte_pktmbuf_data_len(seg));
}

/* lwIP's checksum switches for this interface when no frame says otherwise: everything in
 * software but what the device computes on the way out. */
static u16_t checksum_base(const struct dpw_engine *e)
{
	u16_t flags = NETIF_CHECKSUM_ENABLE_ALL;

	if (e->port.offloads.tx)
		flags &= (u16_t)~(NETIF_CHECKSUM_GEN_IP | NETIF_CHECKSUM_GEN_TCP);
	return flags;
}

/* ethernet_input(), with lwIP's checks of what the device already verified switched off for
 * this frame only. lwIP handles the frame within the call, so the switches are back before
 * any other frame comes. */
static err_t input_checked(struct dpw_engine *e, struct pbuf *p, struct dpw_rx_verdict v)
{
	u16_t base = e->netif.chksum_flags, flags = base;   /* checksum_base(), set at init */
	err_t err;

	if (v.ip_good)
		flags &= (u16_t)~NETIF_CHECKSUM_CHECK_IP;
	if (v.l4_good)
		flags &= (u16_t)~(NETIF_CHECKSUM_CHECK_TCP | NETIF_CHECKSUM_CHECK_UDP);
	if (flags == base)
		return e->netif.input(p, &e->netif);
	e->c.rx_cksum_offloaded++;
	NETIF_SET_CHECKSUM_CTRL(&e->netif, flags);
	err = e->netif.input(p, &e->netif);
	NETIF_SET_CHECKSUM_CTRL(&e->netif, base);
	return err;
}

void dpw_netif_input(struct dpw_engine *e, struct rte_mbuf *m)
{
	struct dpw_rx_verdict verdict = { false, false };
	struct pbuf *head = NULL;
	struct rte_mbuf *seg = m, *next;

	e->c.rx_packets++;
	e->c.rx_bytes += rte_pktmbuf_pkt_len(m);
	/* lwIP would count a runt as an ARP protocol error; count it for what it is. */
	if (rte_pktmbuf_pkt_len(m) < RTE_ETHER_HDR_LEN) {
		e->c.drop_runt++;
		rte_pktmbuf_free(m);
		return;
	}
	if (e->port.offloads.rx)
		verdict = dpw_offload_rx_verdict(m);   /* the head's flags, before it is a pbuf */
	while (seg != NULL) {
		struct pbuf *p;

		next = seg->next;
		seg->next = NULL;
		seg->nb_segs = 1;
		if (rte_pktmbuf_data_len(seg) == 0) {
			rte_pktmbuf_free_seg(seg);
			seg = next;
			continue;
		}
		p = wrap_segment(seg);
		if (head == NULL)
			head = p;
		else
			pbuf_cat(head, p);
		seg = next;
	}
	if (head == NULL) {
		e->c.drop_runt++;
		return;
	}
	/* ethernet_input() consumes the pbuf on every path, error or not. */
	if (input_checked(e, head, verdict) != ERR_OK)
		pbuf_free(head);
}

void dpw_netif_flush_tx(struct dpw_engine *e)
{
	uint16_t sent;

	if (e->tx_count == 0)
		return;
	sent = dpw_port_tx(&e->port, e->tx_pending, (uint16_t)e->tx_count);
	for (uint16_t i = 0; i < sent; i++) {
		e->c.tx_packets++;
		e->c.tx_bytes += rte_pktmbuf_pkt_len(e->tx_pending[i]);
	}
	/* What the port did not take waits for the next pass, in order. */
	if (sent < e->tx_count)
		memmove(e->tx_pending, e->tx_pending + sent,
			(e->tx_count - sent) * sizeof(e->tx_pending[0]));
	e->tx_count -= sent;
	/* A frame that waits shares its mbuf with lwIP's segment (zero-copy TX) unless lwIP has
	 * let it go: before lwIP runs again, which may rewrite or reuse that buffer (a segment
	 * resent after a timeout and then cut to a smaller window, new data in the freed tail),
	 * the frame gets bytes of its own. Only when the port is backed up; copies counted. */
	for (unsigned i = 0; i < e->tx_count; i++) {
		struct rte_mbuf *m = e->tx_pending[i], *copy;

		if (rte_mbuf_refcnt_read(m) == 1 ||
		    (copy = rte_pktmbuf_copy(m, e->port.pool, 0, UINT32_MAX)) == NULL)
			continue;
		rte_pktmbuf_free(m);
		e->tx_pending[i] = copy;
		e->c.tx_unshared++;
	}
}

/* Shutdown: whatever the port never took is freed and counted as dropped. */
void dpw_netif_drop_tx(struct dpw_engine *e)
{
	for (unsigned i = 0; i < e->tx_count; i++)
		rte_pktmbuf_free(e->tx_pending[i]);
	e->c.tx_dropped += e->tx_count;
	e->tx_count = 0;
}

/* Copy a pbuf chain into a chain of mbufs. NULL when the pool is empty. */
static struct rte_mbuf *pbuf_to_mbufs(struct rte_mempool *pool, struct pbuf *p)
{
	struct rte_mbuf *head = NULL, *tail = NULL;
	u16_t copied = 0;

	while (copied < p->tot_len) {
		struct rte_mbuf *m = rte_pktmbuf_alloc(pool);
		u16_t room, chunk;

		if (m == NULL) {
			rte_pktmbuf_free(head);
			return NULL;
		}
		room = rte_pktmbuf_tailroom(m);
		chunk = (u16_t)RTE_MIN((unsigned)room, (unsigned)(p->tot_len - copied));
		pbuf_copy_partial(p, rte_pktmbuf_mtod(m, void *), chunk, copied);
		m->data_len = chunk;
		m->pkt_len = chunk;
		if (head == NULL) {
			head = m;
		} else {
			tail->next = m;
			head->nb_segs++;
			head->pkt_len += chunk;
		}
		tail = m;
		copied = (u16_t)(copied + chunk);
	}
	return head;
}

/* The mbuf a frame was built in, ready to send as it is (another reference on it), or NULL
 * when the frame must be copied: a chain, or a block of lwIP's heap outside the mbufs.
 * The frame is the pbuf's payload now (headers prepended in its reserved room). lwIP may
 * later rewrite the headers for a retransmission while a device still holds this reference:
 * by then the device has read the frame (DMA, or af_packet's and memif's copies, made
 * within the burst call), and the rewrite gives a consistent header anyway. */
static struct rte_mbuf *frame_mbuf(struct pbuf *p)
{
	struct rte_mbuf *m;

	/* Only a PBUF_RAM pbuf (struct and data in one block of lwIP's heap) has a heap header
	 * before it to look at. */
	if (p->next != NULL || !(p->type_internal & PBUF_TYPE_FLAG_STRUCT_DATA_CONTIGUOUS) ||
	    pbuf_get_allocsrc(p) != PBUF_TYPE_ALLOC_SRC_MASK_STD_HEAP ||
	    (m = dpw_lwip_mem_mbuf(p)) == NULL)
		return NULL;
	rte_mbuf_refcnt_update(m, 1);
	m->data_off = (uint16_t)((char *)p->payload - (char *)m->buf_addr);
	m->data_len = p->len;
	m->pkt_len = p->len;
	m->nb_segs = 1;
	m->next = NULL;
	m->ol_flags = 0;
	m->packet_type = 0;
	return m;
}

static err_t linkoutput(struct netif *netif, struct pbuf *p)
{
	struct dpw_engine *e = netif->state;
	struct rte_mbuf *m;

	if (e->tx_count == DPW_TX_BUF)
		dpw_netif_flush_tx(e);
	if (e->tx_count == DPW_TX_BUF) {
		/* The port is not draining: refuse, so that TCP keeps the segment and retries. */
		e->c.tx_dropped++;
		LINK_STATS_INC(link.drop);
		return ERR_MEM;
	}
	m = frame_mbuf(p);
	if (m != NULL)
		e->c.tx_zero_copy++;
	else
		m = pbuf_to_mbufs(e->port.pool, p);
	if (m == NULL) {
		e->c.tx_dropped++;
		LINK_STATS_INC(link.memerr);
		return ERR_MEM;
	}
	{
		u16_t mss = p == seg_out.p ? seg_out.mss : 0;
		bool tso;

		seg_out.p = NULL;
		if (dpw_offload_tx_mark(&e->port.offloads, m, mss, &tso))
			e->c.tx_cksum_offloaded++;
		e->c.tx_tso += tso;
		/* A large segment that lost its MSS on the way (ARP queued it and sends it
		 * later) cannot go: a device drops it, net_tap would refuse it and hold up every
		 * frame behind it. Dropped here; TCP resends it, marked this time. */
		if (!tso && rte_pktmbuf_pkt_len(m) > (uint32_t)e->port.mtu + RTE_ETHER_HDR_LEN) {
			rte_pktmbuf_free(m);
			e->c.tx_dropped++;
			LINK_STATS_INC(link.drop);
			return ERR_OK;
		}
	}
	if (e->capture != NULL)
		dpw_capture_frames(e->capture, e->port.id, &m, 1, true);
	e->tx_pending[e->tx_count++] = m;
	LINK_STATS_INC(link.xmit);
	if (e->tx_count >= DPW_RX_BURST)
		dpw_netif_flush_tx(e);
	return ERR_OK;
}

err_t dpw_netif_init(struct netif *netif)
{
	struct dpw_engine *e = netif->state;

	netif->name[0] = 'd';
	netif->name[1] = 'p';
	netif->output = etharp_output;
	netif->output_ip6 = ethip6_output;
	netif->linkoutput = linkoutput;
	netif->mtu = e->port.mtu;
	netif->hwaddr_len = ETH_HWADDR_LEN;
	memcpy(netif->hwaddr, e->port.mac.addr_bytes, ETH_HWADDR_LEN);
	netif->flags = NETIF_FLAG_BROADCAST | NETIF_FLAG_ETHARP | NETIF_FLAG_ETHERNET |
		       NETIF_FLAG_LINK_UP;
	NETIF_SET_CHECKSUM_CTRL(netif, checksum_base(e));
	tso_payload = e->port.offloads.tso ? DPW_TSO_MAX_PAYLOAD : 0;
	return ERR_OK;
}
