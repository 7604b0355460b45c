/* The fuzz harnesses' EAL and net_ring port (fuzz_port.h). */
#include <stdio.h>
#include <unistd.h>

#include <rte_eth_ring.h>
#include <rte_ring.h>

#include "dpw/engine.h"
#include "fuzz_port.h"

int fuzz_port_create(const char *name, struct rte_ring **to_stack, struct rte_ring **from_stack,
		     char *err, size_t errlen)
{
	char prefix[64];
	char *eal[] = { (char *)name, "--no-huge", "--no-pci", "--no-shconf", "-m", "256",
			"--no-telemetry", "--log-level=*:error", "-l", "0", prefix, NULL };
	int port;

	snprintf(prefix, sizeof(prefix), "--file-prefix=dpwsk-%s-%d", name, (int)getpid());
	if (dpw_eal_init(11, eal, err, errlen) < 0)
		return -1;
	/* RX small: the harness hands frames in one at a time and polls */
	*to_stack = rte_ring_create("fuzz_to_stack", 64, SOCKET_ID_ANY,
				    RING_F_SP_ENQ | RING_F_SC_DEQ);
	*from_stack = rte_ring_create("fuzz_from_stack", 1024, SOCKET_ID_ANY,
				      RING_F_SP_ENQ | RING_F_SC_DEQ);
	if (*to_stack == NULL || *from_stack == NULL) {
		snprintf(err, errlen, "cannot create the port's rings");
		return -1;
	}
	port = rte_eth_from_rings("dpw_fuzz", to_stack, 1, from_stack, 1, SOCKET_ID_ANY);
	if (port < 0)
		snprintf(err, errlen, "cannot create the net_ring port");
	return port;
}
