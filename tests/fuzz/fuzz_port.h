/* What the fuzz harnesses share to start: DPDK's EAL (no hugepages, no PCI, a file prefix of
 * the process's own) and a net_ring port whose rings the harness fills and drains. */
#ifndef DPW_FUZZ_PORT_H
#define DPW_FUZZ_PORT_H

#include <stddef.h>

struct rte_ring;

/* EAL for program name (its log at error level), then the port: frames the harness puts in
 * *to_stack reach the engine, what the engine sends lands in *from_stack. The port id, or -1
 * with a one-line reason in err. */
int fuzz_port_create(const char *name, struct rte_ring **to_stack, struct rte_ring **from_stack,
		     char *err, size_t errlen);

#endif /* DPW_FUZZ_PORT_H */
