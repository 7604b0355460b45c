/* Counters: the engine's own plus lwIP's drop counters, and the pool occupancy. lwIP's
 * counters are plain globals written by the polling thread, so only that thread reads them
 * live; it publishes a snapshot for the others (telemetry, a stats signal handled on an
 * application thread). */
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "lwip/memp.h"
#include "lwip/priv/tcp_priv.h"
#include "lwip/stats.h"

#include "engine_internal.h"

static uint32_t pool_used(memp_t type)
{
	return lwip_stats.memp[type] != NULL ? lwip_stats.memp[type]->used : 0;
}

/* lwIP's own high-water mark: exact, unlike a sample. */
static uint32_t pool_max(memp_t type)
{
	return lwip_stats.memp[type] != NULL ? lwip_stats.memp[type]->max : 0;
}

static uint32_t pool_size(memp_t type)
{
	return lwip_stats.memp[type] != NULL ? lwip_stats.memp[type]->avail : 0;
}

/* Half-open connections: lwIP counts them on their listener (accepts_pending, lwip-0017);
 * listeners are few, so summing them costs nothing. */
static uint32_t syn_rcvd(void)
{
	uint32_t n = 0;

	for (const struct tcp_pcb_listen *l = tcp_listen_pcbs.listen_pcbs; l != NULL; l = l->next)
		n += l->accepts_pending;
	return n;
}

_Static_assert(sizeof(struct dpw_engine_stats) % sizeof(uint64_t) == 0,
	       "the snapshot copies the stats as whole words");

/* The port's pool in use: counted from every lcore's cache of it, so a read of lines other
 * lcores write. Taken by whoever reads the stats, when they read them, not by the engine's
 * once-a-millisecond snapshot (dpw_stats_publish), which would read those lines a thousand
 * times a second for nobody (bench/sharing). */
static uint32_t pool_in_use(const struct dpw_engine *e)
{
	return e->port.pool != NULL ? rte_mempool_in_use_count(e->port.pool) : 0;
}

/* Every counter but mbuf_in_use: what the snapshot holds. */
static void read_counters(const struct dpw_engine *e, struct dpw_engine_stats *s)
{
	memset(s, 0, sizeof(*s));
	s->rx_packets = e->c.rx_packets;
	s->rx_bytes = e->c.rx_bytes;
	s->tx_packets = e->c.tx_packets;
	s->tx_bytes = e->c.tx_bytes;
	s->tx_dropped = e->c.tx_dropped;
	s->loops = e->c.loops;
	s->rx_missed = e->c.rx_missed;
	s->time_wait_trimmed = dpw_tcp_time_wait_trimmed();
	s->lwip_errors = dpw_lwip_errors();
	s->tcp_retransmits = lwip_stats.mib2.tcpretranssegs;
	s->tcp_connect_fails = lwip_stats.mib2.tcpattemptfails;

	s->drop_runt = e->c.drop_runt;
	s->drop_link = lwip_stats.link.drop + lwip_stats.etharp.drop;
	/* IP counts both versions (IPv6 has no header checksum). */
	s->drop_ip_chksum = lwip_stats.ip.chkerr;
	s->drop_ip_len = lwip_stats.ip.lenerr + lwip_stats.ip6.lenerr;
	s->drop_ip_other = lwip_stats.ip.drop - lwip_stats.ip.chkerr - lwip_stats.ip.lenerr +
			   lwip_stats.ip6.drop - lwip_stats.ip6.lenerr;
	s->drop_tcp_chksum = lwip_stats.tcp.chkerr;
	s->drop_tcp_other = lwip_stats.tcp.drop - lwip_stats.tcp.chkerr;
	s->drop_udp_chksum = lwip_stats.udp.chkerr;
	s->drop_udp_other = lwip_stats.udp.drop - lwip_stats.udp.chkerr;
	/* lwIP counts an ICMP checksum or length error without counting a drop. */
	s->drop_icmp = lwip_stats.icmp.drop + lwip_stats.icmp.chkerr + lwip_stats.icmp.lenerr +
		       lwip_stats.icmp.err;
	/* ICMPv6 and Neighbor Discovery (counted apart) count every error as a drop too. */
	s->drop_icmp += lwip_stats.icmp6.drop + lwip_stats.nd6.drop;
	s->rx_dropped = s->rx_missed + s->drop_runt + e->c.rx_nombuf + s->drop_link +
			lwip_stats.ip.drop + lwip_stats.ip6.drop + lwip_stats.tcp.drop +
			lwip_stats.udp.drop + s->drop_icmp;

	s->mbuf_total = e->port.pool != NULL ? e->port.pool->size : 0;
	s->mbuf_idle = e->shut_down ? 0 : e->port.mbuf_idle;
	s->tcp_pcbs_in_use = pool_used(MEMP_TCP_PCB);
	s->tcp_pcbs_timed = tcp_timer_pcbs_count;
	s->tcp_time_wait = tcp_tw_pcbs_count;
	s->tcp_pcbs_max = pool_max(MEMP_TCP_PCB);
	s->tcp_pcbs_total = pool_size(MEMP_TCP_PCB);
	s->tcp_listen_pcbs_in_use = pool_used(MEMP_TCP_PCB_LISTEN);
	s->udp_pcbs_in_use = pool_used(MEMP_UDP_PCB);

	s->syn_evicted = tcp_syn_stats.evicted;
	s->syn_evicted_pool = tcp_syn_stats.evicted_pool;
	s->syn_dropped = tcp_syn_stats.dropped;
	s->syn_reset_half_open = tcp_syn_stats.reset_half_open;
	s->syn_ack_in_listen = tcp_syn_stats.ack_in_listen;
	s->syn_rcvd = syn_rcvd();
	s->syn_rcvd_max = s->syn_rcvd > e->c.syn_rcvd_max ? s->syn_rcvd : e->c.syn_rcvd_max;
	s->tx_cksum_offloaded = e->c.tx_cksum_offloaded;
	s->tx_zero_copy = e->c.tx_zero_copy;
	s->tx_unshared = e->c.tx_unshared;
	s->tx_tso = e->c.tx_tso;
	s->rx_cksum_offloaded = e->c.rx_cksum_offloaded;
	s->steered_out = e->c.steered_out;
	s->steered_in = e->c.steered_in;
	s->steer_copies = e->c.steer_copies;
	s->steer_dropped = e->c.steer_dropped;
	s->busy_cycles = e->c.busy_cycles;
	s->busy_loops = e->c.busy_loops;
	s->busy_cpu_ns = e->c.busy_cpu_ns;
	s->connect_fallbacks = e->c.connect_fallbacks;
	if (e->capture != NULL) {
		struct dpw_capture_counts n;

		dpw_capture_counts(e->capture, &n);
		s->capture_frames = n.frames;
		s->capture_skipped = n.skipped;
	} else {
		s->capture_frames = e->captured.frames;   /* closed at shutdown: its last counts */
		s->capture_skipped = e->captured.skipped;
	}
}

/* The polling thread's view: every counter now. */
static void read_live(const struct dpw_engine *e, struct dpw_engine_stats *s)
{
	read_counters(e, s);
	s->mbuf_in_use = pool_in_use(e);
}

/* Every counter by the name the stats line and telemetry give it. */
#define U64(name, field) { name, offsetof(struct dpw_engine_stats, field), false, false }
#define U32(name, field) { name, offsetof(struct dpw_engine_stats, field), true, false }
#define POOL(name, field) { name, offsetof(struct dpw_engine_stats, field), true, true }
const struct dpw_stat_field dpw_stat_fields[] = {
	U64("rx_packets", rx_packets), U64("rx_bytes", rx_bytes),
	U64("tx_packets", tx_packets), U64("tx_bytes", tx_bytes),
	U64("rx_dropped", rx_dropped), U64("tx_dropped", tx_dropped),
	U64("drop_runt", drop_runt), U64("drop_link", drop_link),
	U64("drop_ip_chksum", drop_ip_chksum), U64("drop_ip_len", drop_ip_len),
	U64("drop_ip_other", drop_ip_other), U64("drop_tcp_chksum", drop_tcp_chksum),
	U64("drop_tcp_other", drop_tcp_other), U64("drop_udp_chksum", drop_udp_chksum),
	U64("drop_udp_other", drop_udp_other), U64("drop_icmp", drop_icmp),
	POOL("mbuf_in_use", mbuf_in_use), POOL("mbuf_idle", mbuf_idle),
	POOL("mbuf_total", mbuf_total), U32("tcp_pcbs", tcp_pcbs_in_use),
	U32("tcp_pcbs_timed", tcp_pcbs_timed), U32("tcp_time_wait", tcp_time_wait),
	U32("tcp_pcbs_max", tcp_pcbs_max), U32("tcp_pcbs_total", tcp_pcbs_total),
	U32("tcp_listen_pcbs", tcp_listen_pcbs_in_use), U32("udp_pcbs", udp_pcbs_in_use),
	U64("loops", loops), U64("rx_missed", rx_missed),
	U64("time_wait_trimmed", time_wait_trimmed), U64("tcp_retransmits", tcp_retransmits),
	U64("tcp_connect_fails", tcp_connect_fails), U64("lwip_errors", lwip_errors),
	U32("syn_rcvd", syn_rcvd), U32("syn_rcvd_max", syn_rcvd_max),
	U64("syn_evicted", syn_evicted), U64("syn_evicted_pool", syn_evicted_pool),
	U64("syn_dropped", syn_dropped), U64("syn_reset_half_open", syn_reset_half_open),
	U64("syn_ack_in_listen", syn_ack_in_listen),
	U64("capture_frames", capture_frames), U64("capture_skipped", capture_skipped),
	U64("tx_cksum_offloaded", tx_cksum_offloaded), U64("tx_zero_copy", tx_zero_copy),
	U64("tx_unshared", tx_unshared), U64("tx_tso", tx_tso),
	U64("rx_cksum_offloaded", rx_cksum_offloaded),
	U64("steered_out", steered_out), U64("steered_in", steered_in),
	U64("steer_copies", steer_copies), U64("steer_dropped", steer_dropped),
	U64("busy_cycles", busy_cycles), U64("busy_loops", busy_loops),
	U64("busy_cpu_ns", busy_cpu_ns), U64("connect_fallbacks", connect_fallbacks),
	{ NULL, 0, false, false },
};

uint64_t dpw_stat_value(const struct dpw_engine_stats *s, const struct dpw_stat_field *f)
{
	const char *p = (const char *)s + f->offset;

	return f->is_u32 ? *(const uint32_t *)p : *(const uint64_t *)p;
}

void dpw_engine_stats_add(struct dpw_engine_stats *total, const struct dpw_engine_stats *s,
			  bool first_of_port)
{
	for (const struct dpw_stat_field *f = dpw_stat_fields; f->name != NULL; f++) {
		char *t = (char *)total + f->offset;
		uint64_t v = dpw_stat_value(s, f);

		if (f->per_port && !first_of_port)
			continue;
		if (f->is_u32)
			*(uint32_t *)t += (uint32_t)v;
		else
			*(uint64_t *)t += v;
	}
}

void dpw_engine_format_stats(const struct dpw_engine_stats *s, char *buf, size_t len)
{
	size_t used = 0;

	if (len > 0)
		buf[0] = '\0';
	for (const struct dpw_stat_field *f = dpw_stat_fields; f->name != NULL; f++) {
		int n = snprintf(buf + used, len - used, "%s%s=%" PRIu64, used > 0 ? " " : "",
				 f->name, dpw_stat_value(s, f));

		if (n < 0 || (size_t)n >= len - used)
			return;   /* truncated at a field boundary */
		used += (size_t)n;
	}
}

void dpw_stats_publish(struct dpw_engine *e)
{
	uint64_t words[DPW_STATS_WORDS];
	uintptr_t self = (uintptr_t)pthread_self();
	uint32_t seq;

	if (e->port.started)
		e->c.rx_missed = dpw_port_rx_missed(&e->port);
	if (atomic_load_explicit(&e->poller, memory_order_relaxed) != self)
		atomic_store_explicit(&e->poller, self, memory_order_relaxed);
	read_counters(e, (struct dpw_engine_stats *)words);
	e->c.syn_rcvd_max = ((struct dpw_engine_stats *)words)->syn_rcvd_max;
	/* odd: a write is in progress */
	seq = atomic_load_explicit(&e->snap_seq, memory_order_relaxed);
	atomic_store_explicit(&e->snap_seq, seq + 1, memory_order_relaxed);
	atomic_thread_fence(memory_order_release);
	for (size_t i = 0; i < DPW_STATS_WORDS; i++)
		atomic_store_explicit(&e->snap[i], words[i], memory_order_relaxed);
	atomic_store_explicit(&e->snap_seq, seq + 2, memory_order_release);
}

void dpw_stats_poller_here(struct dpw_engine *e)
{
	atomic_store_explicit(&e->poller, (uintptr_t)pthread_self(), memory_order_relaxed);
}

static void read_snapshot(const struct dpw_engine *ce, struct dpw_engine_stats *s)
{
	struct dpw_engine *e = (struct dpw_engine *)ce;   /* atomics are read, never written */
	uint64_t words[DPW_STATS_WORDS];
	uint32_t before, after;

	do {
		before = atomic_load_explicit(&e->snap_seq, memory_order_acquire);
		for (size_t i = 0; i < DPW_STATS_WORDS; i++)
			words[i] = atomic_load_explicit(&e->snap[i], memory_order_relaxed);
		atomic_thread_fence(memory_order_acquire);
		after = atomic_load_explicit(&e->snap_seq, memory_order_relaxed);
	} while ((before & 1) != 0 || before != after);
	memcpy(s, words, sizeof(*s));
	s->mbuf_in_use = pool_in_use(ce);
}

/* Live on the polling thread (and before the loop first ran); elsewhere the snapshot, at
 * most 1/DPW_TICK_HZ old while the loop runs, exact once it has stopped and the
 * engine was shut down. */
void dpw_engine_get_stats(const struct dpw_engine *e, struct dpw_engine_stats *s)
{
	uintptr_t poller = atomic_load_explicit(&((struct dpw_engine *)e)->poller,
						memory_order_relaxed);

	if (poller == 0 || poller == (uintptr_t)pthread_self()) {
		read_live(e, s);
	} else {
		read_snapshot(e, s);
	}
}

bool dpw_engine_get_fresh_stats(const struct dpw_engine *ce, struct dpw_engine_stats *s,
				unsigned timeout_ms)
{
	struct dpw_engine *e = (struct dpw_engine *)ce;   /* atomics are read, never written */
	uintptr_t poller = atomic_load_explicit(&e->poller, memory_order_relaxed);
	uint32_t seq = atomic_load_explicit(&e->snap_seq, memory_order_acquire);
	/* Even: the next publish starts after this call; odd: one is under way, so the one
	 * after it. Sequence numbers wrap, hence the difference. */
	uint32_t want = (seq & 1) == 0 ? 2 : 3;
	struct timespec now, end;
	bool fresh = true;

	if (poller == 0 || poller == (uintptr_t)pthread_self()) {
		read_live(e, s);
		return true;
	}
	clock_gettime(CLOCK_MONOTONIC, &end);
	end.tv_sec += timeout_ms / 1000;
	end.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (end.tv_nsec >= 1000000000L) {
		end.tv_sec++;
		end.tv_nsec -= 1000000000L;
	}
	while ((uint32_t)(atomic_load_explicit(&e->snap_seq, memory_order_acquire) - seq) < want) {
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec > end.tv_sec ||
		    (now.tv_sec == end.tv_sec && now.tv_nsec >= end.tv_nsec)) {
			fresh = false;
			break;
		}
		sched_yield();
	}
	read_snapshot(e, s);
	return fresh;
}
