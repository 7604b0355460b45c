/* Harness for the WSK conformance tests: the stack on the veth end of the stack namespace
 * (set up by scripts/netns.sh), the provider on its own lcore thread, one registered client,
 * and Linux kernel sockets in the peer namespace as the independent other side.
 *
 * Run as: scripts/netns.sh run ip netns exec "$DPW_NS_STACK" build/tests/wsk/<test> (the
 * Meson test definitions do this). Test names cite WSK-SPEC rules. */
#ifndef DPW_WSK_HARNESS_H
#define DPW_WSK_HARNESS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "dpwsk.h"
#include "wsk.h"

extern WSK_PROVIDER_NPI h_npi;      /* the captured provider NPI */
extern WSK_REGISTRATION h_reg;
extern uint32_t h_ip_stack, h_ip_peer; /* network byte order */

/* Start everything (exits the process with a message on failure); stop it all. */
void h_start(int argc, char **argv);
int h_finish(void);   /* returns the exit status: 0 if every check passed */

/* Checks: print and count, never abort. */
extern int h_failures, h_passes;
#define H_CHECK(cond) h_check((cond), #cond, __FILE__, __LINE__)
#define H_CHECK_STATUS(got, want) h_check_status((got), (want), #got, __FILE__, __LINE__)
bool h_check(bool ok, const char *what, const char *file, int line);
bool h_check_status(NTSTATUS got, NTSTATUS want, const char *what, const char *file, int line);
void h_test(const char *name);  /* "=== name" header, for the log */

/* A request object with a completion routine that records completion (count and order). */
struct h_irp {
	PIRP irp;
	int completions;     /* must end at exactly 1 (WSK-R2) */
	uint64_t order;      /* global completion sequence number */
	NTSTATUS status;
	ULONG_PTR info;
};
void h_irp_init(struct h_irp *h);
void h_irp_reset(struct h_irp *h);   /* IoReuseIrp + routine again */
void h_irp_free(struct h_irp *h);
/* Run completions until h completed (or timeout_ms): true if it did. */
bool h_wait(struct h_irp *h, unsigned timeout_ms);
/* Run completions for about ms milliseconds (to check that nothing completes). */
void h_pump(unsigned ms);

/* Synchronous helpers: issue, wait (5 s), return the completion status. */
NTSTATUS h_socket(ULONG category, PVOID ctx, const VOID *dispatch, PWSK_SOCKET *out);
NTSTATUS h_bind(PWSK_SOCKET s, uint32_t ip, uint16_t port);
NTSTATUS h_connect(PWSK_SOCKET s, uint32_t ip, uint16_t port);
NTSTATUS h_close(PWSK_SOCKET s);
NTSTATUS h_send(PWSK_SOCKET s, const void *data, size_t len, ULONG flags);
NTSTATUS h_set_events(PWSK_SOCKET s, ULONG mask);
/* Connect a new stream socket to the peer's TCP port (status SUCCESS or the failure). */
NTSTATUS h_connect_to_peer(uint16_t port, PWSK_SOCKET *out);

/* A WSK_BUF over flat memory (one MDL), freed with h_buf_free. */
struct h_buf {
	WSK_BUF wb;
	PMDL mdl;
};
void h_buf_init(struct h_buf *b, void *data, size_t len);
void h_buf_free(struct h_buf *b);

void h_sockaddr(SOCKADDR_IN *sa, uint32_t ip, uint16_t port);

/* Linux sockets in the peer namespace (created there; usable from any thread). */
int peer_socket(int type);
int peer_listen(uint16_t port);       /* TCP listener on the peer address */
int peer_accept(int lfd, unsigned timeout_ms);   /* -1 on timeout */
int peer_connect(uint16_t port);      /* TCP connect to the stack's address (blocking, 5 s) */
/* read with a timeout: bytes, 0 on EOF, -errno on error (e.g. -ECONNRESET), -ETIMEDOUT */
long peer_read(int fd, void *buf, size_t len, unsigned timeout_ms);
bool peer_write_all(int fd, const void *buf, size_t len);

#endif /* DPW_WSK_HARNESS_H */
