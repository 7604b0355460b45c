/* lwIP configuration for dpwsk: one polling lcore (NO_SYS), zero-copy RX over DPDK mbufs,
 * pools sized for tens of thousands of concurrent connections. Every knob says why. */
#ifndef DPW_LWIPOPTS_H
#define DPW_LWIPOPTS_H

/* --- threading: lwIP lives on the lcore only; application threads reach it through rings */
#define NO_SYS                          1  /* no OS threads inside lwIP: the poll loop drives it */
#define SYS_LIGHTWEIGHT_PROT            0  /* single-threaded by design, no critical sections */
#define LWIP_SOCKET                     0  /* the WSK layer replaces BSD sockets */
#define LWIP_NETCONN                    0  /* netconn needs threads */
#define LWIP_TIMERS                     1  /* sys_check_timeouts() is called every loop pass */

/* --- memory ------------------------------------------------------------------------------ */
#define MEM_LIBC_MALLOC                 1  /* tcp_write copies: no fixed heap to size... */
/* ...served from size classes kept for reuse (stack/lwip_mem.c): no heap call per segment */
#include <stddef.h>
void *dpw_lwip_malloc(size_t size);
void *dpw_lwip_calloc(size_t n, size_t size);
void dpw_lwip_free(void *p);
#define mem_clib_malloc                 dpw_lwip_malloc
#define mem_clib_calloc                 dpw_lwip_calloc
#define mem_clib_free                   dpw_lwip_free
#define MEM_ALIGNMENT                   8  /* 64-bit hosts */
#define MEMP_MEM_MALLOC                 0  /* fixed pools: O(1) alloc, counts we can watch;
                                              a pool holds at most 65535 (lwIP's u16_t count) */
/* Connections, TIME_WAIT included: meson's tcp_pcbs option (default 60,000; up to millions,
 * lwip-0015). The pool is static: each pcb costs its size in memory from the start. */
#ifndef DPW_TCP_PCBS
#define DPW_TCP_PCBS                60000
#endif
#define MEMP_NUM_TCP_PCB     DPW_TCP_PCBS
#define MEMP_NUM_TCP_PCB_LISTEN       256  /* listeners are few */
#define MEMP_NUM_TCP_SEG            65535  /* unacked + queued segments across all connections */
#define MEMP_NUM_UDP_PCB             1024  /* datagram sockets */
#define MEMP_NUM_PBUF               65535  /* PBUF_REF/ROM headers (zero-copy TX references) */
#define MEMP_NUM_REASSDATA             32  /* concurrent IP reassemblies */
#define IP_REASS_MAX_PBUFS            256  /* fragments held at once (each is an mbuf) */
#define MEMP_NUM_FRAG_PBUF            256  /* outgoing IP fragments */
#define MEMP_NUM_ARP_QUEUE           1024  /* packets waiting for ARP during connect storms */
#define MEMP_NUM_SYS_TIMEOUT           16  /* lwIP's own cyclic timers + a few of ours */
#define PBUF_POOL_SIZE                512  /* lwIP's own pool: only for reassembly/ICMP copies;
                                              received frames are mbufs, not PBUF_POOL */
#define PBUF_POOL_BUFSIZE            1600  /* one Ethernet frame */
#define LWIP_SUPPORT_CUSTOM_PBUF        1  /* RX pbufs wrap the mbuf, freed back to its pool */
#define MEMP_OVERFLOW_CHECK             0  /* costs per alloc; ASan builds cover this */

/* --- link and IP -------------------------------------------------------------------------- */
#define LWIP_ETHERNET                   1
#define LWIP_ARP                        1
#define ARP_TABLE_SIZE                256  /* peers on the segment (and the gateway) */
#define ARP_QUEUEING                    1  /* keep SYNs sent before ARP resolves */
#define ARP_QUEUE_LEN                1024  /* per entry: a connect storm's SYNs all wait for the
                                              * first ARP reply (64 dropped 192 of 256, each
                                              * then waiting out the SYN's RTO) */
#define ETHARP_SUPPORT_STATIC_ENTRIES   1  /* NIC validation pins peers without ARP */
#define ETH_PAD_SIZE                    0  /* mbuf data is already 128-byte aligned */
#define LWIP_IPV4                       1
#define LWIP_IPV6                       1  /* dual stack: IPv4 always, IPv6 when --ip6 is given */
#define LWIP_IPV6_NUM_ADDRESSES         3  /* link-local from the MAC, one global, one spare */
#define LWIP_IPV6_SCOPES                0  /* one port per engine: a link-local address can only
                                              mean this link, so no zones to carry around */
#define LWIP_IPV6_MLD                   0  /* no MLD reports: lwIP then accepts the
                                              solicited-node groups of its own addresses, which
                                              is all Neighbor Discovery needs on a LAN */
#define LWIP_IPV6_AUTOCONFIG            0  /* static addressing, as for IPv4 */
#define LWIP_IPV6_SEND_ROUTER_SOLICIT   0  /* no router discovery: no chatter on the wire */
#define LWIP_IPV6_DHCP6                 0
#define LWIP_IPV6_DUP_DETECT_ATTEMPTS   0  /* addresses are usable at once (as with nodad) */
#define LWIP_ICMP6                      1  /* echo replies, errors, Neighbor Discovery */
#define LWIP_IPV6_FRAG                  1
#define LWIP_IPV6_REASS                 1
#define IPV6_FRAG_COPYHEADER            1  /* 64-bit: lwIP's reassembly helper (a pointer and
                                              two u16) is wider than the 8-byte fragment header */
#define LWIP_ND6_QUEUEING               1  /* keep SYNs sent before a neighbour resolves... */
#define MEMP_NUM_ND6_QUEUE           1024  /* ... as many as ARP does, for the same reason */
#define LWIP_ND6_NUM_NEIGHBORS         64  /* neighbours on the link; lwIP indexes these
                                              tables with 8-bit (often signed) counters, so
                                              above 127 its loops never end */
#define LWIP_ND6_NUM_DESTINATIONS      64
#define LWIP_ND6_ALLOW_RA_UPDATES       0  /* no routers: nothing may change our MTU or hops */
#define IP_REASSEMBLY                   1
#define IP_FRAG                         1
#define IP_DEFAULT_TTL                 64  /* same as Linux, so captures compare */
#define LWIP_ICMP                       1  /* echo replies */
#define LWIP_RAW                        0  /* no raw sockets */
#define LWIP_DHCP                       0  /* static addressing only */
#define LWIP_AUTOIP                     0
#define LWIP_IGMP                       0
#define LWIP_DNS                        0
#define LWIP_UDP                        1
#define LWIP_SINGLE_NETIF               0  /* keep the door open for several ports */
#define LWIP_NETIF_STATUS_CALLBACK      0
#define LWIP_NETIF_LINK_CALLBACK        0

/* --- checksums: all on in software; switched per interface (LWIP_CHECKSUM_CTRL_PER_NETIF) where
 * the port offloads them (stack/offload.h) */
#define LWIP_CHECKSUM_CTRL_PER_NETIF    1
#define LWIP_CHECKSUM_ON_COPY           1  /* tcp_write sums what it copies into a segment, so the
                                              data is read once, not again at send time */
#include "dpw_chksum.h"                      /* 64 bits at a time, and copy+sum in one pass */
#define LWIP_CHKSUM(data, len)          dpw_chksum(data, len)
#define LWIP_CHKSUM_COPY(dst, src, len) dpw_chksum_copy(dst, src, len)
#define CHECKSUM_GEN_IP                 1
#define CHECKSUM_GEN_TCP                1
#define CHECKSUM_GEN_UDP                1
#define CHECKSUM_GEN_ICMP               1
#define CHECKSUM_CHECK_IP               1  /* bad frames are dropped and counted */
#define CHECKSUM_CHECK_TCP              1
#define CHECKSUM_CHECK_UDP              1
#define CHECKSUM_CHECK_ICMP             1

/* --- TCP ------------------------------------------------------------------------------------ */
#define LWIP_TCP                        1
#define TCP_MSS                      1460  /* Ethernet MTU 1500 */
#define LWIP_WND_SCALE                  1  /* windows above 64 KiB for bulk throughput */
#define TCP_RCV_SCALE                   2  /* advertise up to 256 KiB */
#define TCP_WND              (128 * 1024)  /* receive window per connection */
#define TCP_SND_BUF          (128 * 1024)  /* send buffer per connection */
#define TCP_SND_QUEUELEN  (4 * TCP_SND_BUF / TCP_MSS)  /* segments per connection */
#define TCP_SNDLOWAT      (TCP_SND_BUF / 4)  /* wake senders when a quarter is free */
#define TCP_QUEUE_OOSEQ                 1  /* keep out-of-order data: no retransmit storms */
#define LWIP_TCP_SACK_OUT               0  /* lwIP 2.1 does not receive SACK; keep it simple */
/* lwIP's backlog counts a listener's half-open (SYN_RCVD) connections. Patch 0017 widens it
 * to u16_t and, at the cap, drops the oldest half-open ones instead of the new SYN, so a SYN
 * flood from spoofed sources holds at most this many pcbs (and SYN-ACKs) per listener and
 * never locks real clients out; a real client's handshake has backlog newer SYNs' time to
 * complete. 1024: four times a load generator's 256 in flight; an eviction walks the active
 * list once per 128 SYNs at the cap. Accepted connections are
 * bounded apart, by the WSK provider's accept queue (1024 per listener). */
#define TCP_LISTEN_BACKLOG              1
#define TCP_DEFAULT_LISTEN_BACKLOG   1024
#define TCP_MSL                      2000UL  /* ms; TIME_WAIT is 2*MSL = 4 s, not 2 min: a
                                              connect/close client recycles ports quickly, and
                                              lwIP reclaims the oldest TIME_WAIT pcb on demand */
#define TCP_OVERSIZE         TCP_MSS   /* fewer, fuller segments from small writes */
#define LWIP_TCP_TIMESTAMPS             0  /* not needed on a LAN; Linux copes without */
#define LWIP_TCP_KEEPALIVE              1  /* SO_KEEPALIVE (WSK F9) */
#define LWIP_TCP_PCB_NUM_EXT_ARGS       1  /* slot for the WSK socket object */
#define TCP_TMR_INTERVAL              100  /* ms; finer than lwIP's 250 for faster RTO/delayed ACK */
#define LWIP_TCP_INITIAL_RTO_MS      1000  /* RFC 6298 and Linux (lwIP: 3 s): a SYN dropped by a
                                              busy server costs 1 s, not 3 (lwip-0013) */
#define LWIP_RANDOMIZE_INITIAL_LOCAL_PORTS 1 /* ephemeral ports start at a random point */
#define SO_REUSE                        1  /* SO_REUSEADDR (WSK F2, F9) */

/* --- statistics: the drop counters the engine exports ----------------------------------------- */
#define LWIP_STATS                      1
#define STAT_COUNTER                u64_t  /* the engine's drop counters never wrap (lwIP's
                                              default u16_t wrapped at 65,536; patch 0011) */
#define STAT_COUNTER_F              "llu"
#define LWIP_STATS_DISPLAY              0
#define LINK_STATS                      1
#define ETHARP_STATS                    1
#define IP_STATS                        1
#define IPFRAG_STATS                    1
#define ICMP_STATS                      1
#define TCP_STATS                       1
#define UDP_STATS                       1
#define MEM_STATS                       1
#define MEMP_STATS                      1
#define SYS_STATS                       0
#define MIB2_STATS                      1  /* TCP's retransmissions and failed connects */

/* --- hooks and misc --------------------------------------------------------------------------- */
#define LWIP_HOOK_FILENAME "dpw_lwip_hooks.h"
#define LWIP_HOOK_TCP_ISN(lip, lport, rip, rport) dpw_tcp_isn((lip), (lport), (rip), (rport))
/* Called for every segment matched to a pcb: only a TIME_WAIT one costs more than a test. */
#define LWIP_HOOK_TCP_INPACKET_PCB(pcb, hdr, optlen, opt1len, opt2, p)                 \
	((pcb)->state == TIME_WAIT ? dpw_tcp_timewait_syn((pcb), (hdr), (optlen), (opt2), (p)) \
				   : ERR_OK)

/* TCP segmentation offload (lwip-0020): segments up to dpw_tcp_seg_max() bytes where the port
 * cuts them to the MSS itself, not fragmented by IP, each one's MSS told to the interface
 * (netif_dpdk.c). With the port offering no TSO: the MSS, as lwIP does. */
#define LWIP_TCP_SEG_MAX(pcb)           dpw_tcp_seg_max((pcb)->mss)
#define LWIP_NETIF_TSO(netif)           dpw_netif_tso(netif)
#define LWIP_HOOK_TCP_SEG_OUT(pcb, p)   dpw_tcp_seg_out((pcb)->mss, (p))

/* --- misc --------------------------------------------------------------------------- */
#define LWIP_NETIF_HOSTNAME             0
#define LWIP_NETIF_API                  0
#define LWIP_HAVE_LOOPIF                0
#define LWIP_NETIF_LOOPBACK             0
#define LWIP_DEBUG                      0
#define LWIP_DONT_PROVIDE_BYTEORDER_FUNCTIONS 1 /* glibc's htons & co. (DPDK includes them) */

/* --- instances (lwip-0021, issue 15) ---------------------------------------------------- */
/* The per-thread build (stack/meson.build's dpw_lwip_mt and dpw_stack_mt): one lwIP instance
 * per thread that creates an engine, its globals thread-local, its pools and TCP tables from
 * lwip_instance.c when that thread first initialises lwIP. The default build keeps one
 * instance per process and is unchanged by this. */
#ifdef DPW_LWIP_PER_THREAD
#define LWIP_INSTANCES                  1
#define LWIP_PER_INSTANCE               __thread
#define LWIP_INSTANCE_ALLOC(bytes)      dpw_lwip_instance_alloc(bytes)
void *dpw_lwip_instance_alloc(size_t bytes);
/* Several engines on one port: an engine takes only the ephemeral ports whose frames the
 * software steering brings back to it (lwip-0022, steer.c). */
int dpw_local_port_ok(unsigned short port);
#define LWIP_HOOK_LOCAL_PORT_OK(port)   dpw_local_port_ok(port)
/* ...and goes straight to the next port it may take (lwip-0022): one try per connect, not
 * one per engine. */
int dpw_local_port_next(unsigned short port);
#define LWIP_HOOK_LOCAL_PORT_NEXT(port) ((u16_t)dpw_local_port_next(port))
#endif

#endif /* DPW_LWIPOPTS_H */
