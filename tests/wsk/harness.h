/* Harness for the WSK conformance tests: the stack on the veth end of the stack namespace
 * (set up by scripts/netns.sh), the provider on its own lcore thread, one registered client,
 * and Linux kernel sockets in the peer namespace as the independent other side.
 *
 * Run as: scripts/netns.sh run build/tests/wsk/<test> (the Meson test definitions do this).
 * Test names cite the contract rules (docs/wsk-contract.md).
 *
 * Threads: every helper may be called from any thread. The helpers that wait for completions
 * poll the calling thread's current client (h_use_client; the harness's own client unless
 * set), and struct h_irp is updated atomically, so an IRP may complete on any thread that
 * polls the same client. */
#ifndef DPW_WSK_HARNESS_H
#define DPW_WSK_HARNESS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "dpwsk.h"
#include "wsk.h"

extern WSK_PROVIDER_NPI h_npi;      /* the captured provider NPI */
extern WSK_REGISTRATION h_reg;
extern uint32_t h_ip_stack, h_ip_peer; /* network byte order */
/* IPv6 (netns.sh with DPW_TOPO_IPV6=1 exports DPW_IP6_STACK, DPW_IP6_PEER, DPW_PREFIX6):
 * h_start then gives the engine --ip6 $DPW_IP6_STACK/$DPW_PREFIX6 and sets these. */
extern bool h_have_ip6;
extern IN6_ADDR h_ip6_stack, h_ip6_peer;

/* Whose address: the stack's, the Linux peer's, or the unspecified one (0.0.0.0 or ::). */
enum h_host { H_ANY, H_STACK, H_PEER };

/* Start everything (exits the process with a message on failure); stop it all. */
void h_start(int argc, char **argv);
/* Exit 77 (skipped) unless the topology has IPv6; call before h_start. */
void h_need_ip6(void);
int h_finish(void);   /* returns the exit status: 0 if every check passed */

/* Checks: print and count, never abort. Thread-safe. */
extern _Atomic int h_failures, h_passes;
#define H_CHECK(cond) h_check((cond), #cond, __FILE__, __LINE__)
#define H_CHECK_STATUS(got, want) h_check_status((got), (want), #got, __FILE__, __LINE__)
bool h_check(bool ok, const char *what, const char *file, int line);
bool h_check_status(NTSTATUS got, NTSTATUS want, const char *what, const char *file, int line);
void h_test(const char *name);  /* "=== name" header, for the log */

uint64_t h_now_ms(void);        /* CLOCK_MONOTONIC */

/* ---- clients ------------------------------------------------------------------------------ */

/* A further registered client (WskRegister supports several, R1). */
struct h_client {
	WSK_REGISTRATION reg;
	WSK_PROVIDER_NPI npi;
	WSK_CLIENT_DISPATCH dispatch;
};
/* WskRegister + WskCaptureProviderNPI with the given client version; the capture's status. */
NTSTATUS h_client_open(struct h_client *c, USHORT version);
void h_client_close(struct h_client *c);   /* release + deregister */
/* The client whose completions this thread's waiting helpers run, and through which h_socket
 * creates sockets (NULL: the harness's own, h_npi). */
void h_use_client(const WSK_PROVIDER_NPI *npi);
const WSK_PROVIDER_NPI *h_client_npi(void);

/* ---- IRPs --------------------------------------------------------------------------------- */

/* A request object with a completion routine that records completion (count and order). */
struct h_irp {
	PIRP irp;
	_Atomic int completions;  /* must end at exactly 1 (WSK-R2); set last, after the rest */
	uint64_t order;           /* global completion sequence number */
	NTSTATUS status;
	ULONG_PTR info;
	uintptr_t thread;         /* pthread_self() of the thread that ran the routine */
	BOOLEAN pending_returned; /* Irp->PendingReturned as the routine saw it */
};
void h_irp_init(struct h_irp *h);
void h_irp_reset(struct h_irp *h);   /* IoReuseIrp + routine again */
void h_irp_free(struct h_irp *h);
/* Run completions until h completed (or timeout_ms): true if it did. */
bool h_wait(struct h_irp *h, unsigned timeout_ms);
/* Run completions for about ms milliseconds (to check that nothing completes). */
void h_pump(unsigned ms);
/* Run completions until cond(arg) holds or timeout_ms passed: true if it held. */
bool h_pump_until(bool (*cond)(void *arg), void *arg, unsigned timeout_ms);
/* A number of IRPs issued together, and the h_pump_until predicate "all of them completed"
 * (arg: a struct h_irp_set *). */
struct h_irp_set {
	struct h_irp *irps;
	int n;
};
bool h_irps_completed(void *set);

/* ---- synchronous helpers: issue, wait (5 s), return the completion status ------------------ */

/* How long they wait from now on (5000 ms by default): for a test whose polling lcores
 * outnumber the machine's CPUs. */
void h_set_sync_wait(unsigned ms);

/* The IPv4 forms take addresses as uint32_t and SOCKADDR_IN; the _af and _sa forms take an
 * address family (AF_INET, or AF_INET6: Windows' 23 here) and any WSK address (SOCKADDR_INET
 * holds either family's). */
NTSTATUS h_socket(ULONG category, PVOID ctx, const VOID *dispatch, PWSK_SOCKET *out);
NTSTATUS h_socket_af(ADDRESS_FAMILY af, ULONG category, PVOID ctx, const VOID *dispatch,
		     PWSK_SOCKET *out);
NTSTATUS h_bind(PWSK_SOCKET s, uint32_t ip, uint16_t port);
NTSTATUS h_bind_sa(PWSK_SOCKET s, const SOCKADDR *sa);
NTSTATUS h_connect(PWSK_SOCKET s, uint32_t ip, uint16_t port);
NTSTATUS h_connect_sa(PWSK_SOCKET s, const SOCKADDR *sa);
NTSTATUS h_listen(PWSK_SOCKET s);
NTSTATUS h_close(PWSK_SOCKET s);
NTSTATUS h_send(PWSK_SOCKET s, const void *data, size_t len, ULONG flags);
/* Receive into data (len bytes); *got receives Information. */
NTSTATUS h_receive(PWSK_SOCKET s, void *data, size_t len, ULONG flags, size_t *got);
/* WskDisconnect with an optional final buffer (data NULL or len 0: none). */
NTSTATUS h_disconnect(PWSK_SOCKET s, const void *data, size_t len, ULONG flags);
NTSTATUS h_accept(PWSK_SOCKET l, PVOID ctx, const VOID *dispatch, SOCKADDR_IN *local,
		  SOCKADDR_IN *remote, PWSK_SOCKET *out);
/* local and remote (either may be NULL) must hold the listener's family's address. */
NTSTATUS h_accept_sa(PWSK_SOCKET l, PVOID ctx, const VOID *dispatch, PSOCKADDR local,
		     PSOCKADDR remote, PWSK_SOCKET *out);
NTSTATUS h_local_address(PWSK_SOCKET s, SOCKADDR_IN *sa);
NTSTATUS h_remote_address(PWSK_SOCKET s, SOCKADDR_IN *sa);
NTSTATUS h_local_address_sa(PWSK_SOCKET s, SOCKADDR_INET *sa);
NTSTATUS h_remote_address_sa(PWSK_SOCKET s, SOCKADDR_INET *sa);
NTSTATUS h_set_events(PWSK_SOCKET s, ULONG mask);
/* SIO_WSK_QUERY_RECEIVE_BACKLOG of a stream or connection socket: bytes received and not yet
 * taken; (SIZE_T)-1 if the query failed. */
SIZE_T h_receive_backlog(PWSK_SOCKET s);
/* WskSendTo of len bytes on a datagram socket, to (a SOCKADDR_IN, SOCKADDR_IN6 or
 * SOCKADDR_INET; NULL: the socket's fixed address), waited for; *info the bytes sent. */
NTSTATUS h_send_to(PWSK_SOCKET s, const void *data, size_t len, const void *to,
		   ULONG_PTR *info);
/* Connect a new stream socket to the peer's TCP port (status SUCCESS or the failure). */
NTSTATUS h_connect_to_peer(uint16_t port, PWSK_SOCKET *out);
/* The same with a chosen category (stream or connection) and event context/dispatch. */
NTSTATUS h_connect_to_peer_ex(ULONG category, PVOID ctx, const VOID *dispatch, uint16_t port,
			      PWSK_SOCKET *out);
/* ... and with a chosen family: bound to the unspecified address, connected to the peer's
 * address of that family. */
NTSTATUS h_connect_to_peer_af(ADDRESS_FAMILY af, ULONG category, PVOID ctx,
			      const VOID *dispatch, uint16_t port, PWSK_SOCKET *out);
/* A socket listening on the stack's address: a listen-category socket (listens on bind) or
 * a stream socket (bind, then WskListen). */
NTSTATUS h_listener(ULONG category, uint16_t port, PVOID ctx, const VOID *dispatch,
		    PWSK_SOCKET *out);
/* The same for a family, bound to the stack's address of that family (H_STACK) or to the
 * unspecified one (H_ANY). */
NTSTATUS h_listener_af(ADDRESS_FAMILY af, ULONG category, enum h_host where, uint16_t port,
		       PVOID ctx, const VOID *dispatch, PWSK_SOCKET *out);

/* The category (WSK_FLAG_*_SOCKET) of a TCP socket, known from its dispatch table; ~0u when
 * the table is none of the provider's listen, connection or stream tables. */
ULONG h_category(PWSK_SOCKET s);

/* lwIP's TCP pcbs in use (engine stats): connections the transport still keeps. */
uint32_t h_tcp_pcbs_in_use(void);
/* The size of lwIP's connection pcb pool (meson option tcp_pcbs), UINT32_MAX if unknown. */
uint32_t h_tcp_pcbs_total(void);
/* SYNs the stack could give no pcb at all (the pool empty), UINT64_MAX if unknown. */
uint64_t h_syn_dropped(void);
/* mbufs out of the engine's pool (received data the stack or a client still holds). */
uint32_t h_mbufs_in_use(void);
/* TCP segments the transport dropped, checksum errors aside: chiefly segments for a
 * connection it no longer has, each of which it answers with a RST. */
uint64_t h_tcp_segments_dropped(void);

/* All the engine's counters (dpw/engine.h), read on the lcore: false if it did not answer
 * within 2 s. */
struct dpw_engine_stats;
bool h_engine_stats(struct dpw_engine_stats *out);
/* Several lcores (DPW_HARNESS_QUEUES, the per-thread harness): how many, and one engine's
 * counters by its port queue (a snapshot at most a millisecond old). With one engine: 1, and
 * queue 0 is h_engine_stats. */
unsigned h_lcores(void);
bool h_engine_stats_of(unsigned queue, struct dpw_engine_stats *out);

/* Provider counters (DpwGetProviderStats). */
ULONG h_sockets_open(void);
/* Run completions until the provider has exactly n sockets open (or timeout): true if so. */
bool h_wait_sockets_open(ULONG n, unsigned timeout_ms);

/* A WSK_BUF over flat memory (one MDL), freed with h_buf_free. */
struct h_buf {
	WSK_BUF wb;
	PMDL mdl;
};
void h_buf_init(struct h_buf *b, void *data, size_t len);
void h_buf_free(struct h_buf *b);

void h_sockaddr(SOCKADDR_IN *sa, uint32_t ip, uint16_t port);
/* sin6_family AF_INET6 (23); ip NULL: the unspecified address. */
void h_sockaddr6(SOCKADDR_IN6 *sa, const IN6_ADDR *ip, uint16_t port);
/* who's address of family af, with port (host order). */
void h_addr(SOCKADDR_INET *sa, ADDRESS_FAMILY af, enum h_host who, uint16_t port);
/* sa is exactly that: the family, the address, the port. */
bool h_addr_is(const SOCKADDR_INET *sa, ADDRESS_FAMILY af, enum h_host who, uint16_t port);
/* "family 23 [2001:2::2]:80 scope 0", for logs. */
const char *h_addr_str(const SOCKADDR_INET *sa, char *buf, size_t len);

/* The bytes of a chain of data indications (a receive event's), in order: piece(p, len, arg)
 * for each run of them, Buffer.Offset and Buffer.Length applied. The bytes in all. */
size_t h_indication_bytes(PWSK_DATA_INDICATION di,
			  void (*piece)(const uint8_t *p, size_t len, void *arg), void *arg);

/* A reproducible byte pattern: the byte at stream position pos of stream seed. */
static inline uint8_t h_pattern(uint32_t seed, uint64_t pos)
{
	uint64_t x = (pos + 1) * 0x9E3779B97F4A7C15ull ^ ((uint64_t)seed << 32);

	return (uint8_t)(x >> 56);
}
void h_fill_pattern(void *buf, size_t len, uint32_t seed, uint64_t pos);
/* Index of the first byte that differs from the pattern, or len when all match. */
size_t h_check_pattern(const void *buf, size_t len, uint32_t seed, uint64_t pos);

/* ---- the Linux peer ---------------------------------------------------------------------- */

/* Linux sockets in the peer namespace (created there; usable from any thread). The plain
 * forms are IPv4; the _af forms take a family: AF_INET, or IPv6 as Windows' AF_INET6 (23, as
 * files including this header see it) or the host's PF_INET6. IPv6 sockets are IPv6-only. */
int peer_socket(int type);
int peer_socket_af(int af, int type);
int peer_listen(uint16_t port);       /* TCP listener on the peer address */
int peer_listen_af(int af, uint16_t port);
int peer_accept(int lfd, unsigned timeout_ms);   /* -1 on timeout */
int peer_connect(uint16_t port);      /* TCP connect to the stack's address (blocking, 5 s) */
int peer_connect_af(int af, uint16_t port);
/* Start a non-blocking connect to the stack's port (-1 on an immediate failure); finish it:
 * 0 once connected, -errno on failure, -ETIMEDOUT. The fd stays non-blocking. */
int peer_connect_start(uint16_t port);
int peer_connect_start_af(int af, uint16_t port);
int peer_connect_finish(int fd, unsigned timeout_ms);
/* Wait (bounded) until the kernel has taken a reset or end on fd: poll reports POLLERR and
 * POLLHUP whatever events are asked for. Then SO_ERROR: the errno the reset left (0 if
 * none). -ETIMEDOUT if nothing came. */
int peer_wait_error(int fd, unsigned timeout_ms);
/* who's address of family af with port, as a POSIX address (host family number); its length. */
socklen_t peer_sockaddr(int af, enum h_host who, uint16_t port, struct sockaddr_storage *ss);
/* read with a timeout: bytes, 0 on EOF, -errno on error (e.g. -ECONNRESET), -ETIMEDOUT */
long peer_read(int fd, void *buf, size_t len, unsigned timeout_ms);
/* Read exactly len bytes (each read within timeout_ms): len, or what peer_read said. */
long peer_read_all(int fd, void *buf, size_t len, unsigned timeout_ms);
bool peer_write_all(int fd, const void *buf, size_t len);
/* Read and discard until the stream ends: 0 on EOF, -errno (e.g. -ECONNRESET), -ETIMEDOUT
 * when a read waits longer than timeout_ms. *bytes (if not NULL) receives the bytes read. */
long peer_drain(int fd, unsigned timeout_ms, size_t *bytes);
/* Bytes written on fd that the other side has not acknowledged yet (SIOCOUTQ). */
int peer_unacked(int fd);
void peer_abort(int fd);              /* close with SO_LINGER 0: the kernel sends a RST */
void peer_set_rcvbuf(int fd, int bytes);
uint16_t peer_local_port(int fd);     /* host order */

/* A packet socket on the peer's veth end: sees every TCP segment on the wire, both ways,
 * over IPv4 and (when the topology has it) IPv6; "from the stack" is by source address (the
 * stack's IPv4 or global IPv6 address). */
struct h_tap {
	int fd;
};
struct h_tap_counts {
	unsigned rst_from_stack, fin_from_stack, syn_from_stack;
	unsigned rst_from_peer, fin_from_peer;
	unsigned v4_tcp, v6_tcp;   /* TCP segments seen, either way, by IP version */
};
bool h_tap_open(struct h_tap *t);
/* Count the segments seen since the last call, reading for about ms milliseconds
 * (counts are added to *c). */
void h_tap_collect(struct h_tap *t, struct h_tap_counts *c, unsigned ms);
void h_tap_close(struct h_tap *t);

/* Heap IRPs for synchronous calls whose wait may run out (then the IRP is left to the
 * provider, never freed under it): h_irp_new, then h_irp_done with what the call returned. */
struct h_irp *h_irp_new(void);
NTSTATUS h_irp_done(struct h_irp *h, NTSTATUS issued, ULONG_PTR *info);

/* h_pump_until predicate: the stack has received at least *(ULONGLONG *)target datagrams
 * in all (DpwGetDatagramStats). */
bool h_datagrams_received(void *target);
/* The same for datagrams dropped at a full receive queue (QueueDrops). The provider counts a
 * datagram received before it queues or drops it: wait for this too before reading drops. */
bool h_datagrams_dropped(void *target);

#endif /* DPW_WSK_HARNESS_H */
