/* The unit tests' engine over a net_ring port (engine_fixture.h). */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <rte_eth_ring.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include "dpw/engine_opts.h"
#include "dpw/engine.h"
#include "engine_fixture.h"

struct dpw_engine *engine;
struct rte_mempool *pool;
struct rte_ring *to_stack, *from_stack;
struct frame_addrs peer;

bool fixture_start(const char *argv0)
{
	return fixture_start_ip6(argv0, NULL);
}

bool fixture_start_ip6(const char *argv0, const char *ip6)
{
	char prefix[64], err[DPW_ERRLEN];
	char *eal[] = { (char *)argv0, "--no-huge", "--no-pci", "--no-shconf", "-m", "256",
			"--no-telemetry", "--log-level=*:warning", "-l", "0", prefix, NULL };
	struct dpw_engine_config cfg = { 0 };
	struct rte_mbuf *out[8];
	uint8_t mac[6] = { 0 };
	int port;

	snprintf(prefix, sizeof(prefix), "--file-prefix=dpwsk-test-%d", (int)getpid());
	if (dpw_eal_init(11, eal, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s: %s\n", argv0, err);
		return false;
	}
	to_stack = rte_ring_create("to_stack", 1024, SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ);
	from_stack = rte_ring_create("from_stack", 1024, SOCKET_ID_ANY,
				     RING_F_SP_ENQ | RING_F_SC_DEQ);
	port = rte_eth_from_rings("dpw_test", &to_stack, 1, &from_stack, 1, SOCKET_ID_ANY);
	if (to_stack == NULL || from_stack == NULL || port < 0) {
		fprintf(stderr, "%s: no net_ring port\n", argv0);
		return false;
	}
	cfg.port_id = (uint16_t)port;
	dpw_parse_ipv4_prefix("198.18.0.2/24", &cfg.ipv4_addr, &cfg.ipv4_netmask);
	if (ip6 != NULL && dpw_parse_ipv6_prefix(ip6, cfg.ipv6_addr) != 0) {
		fprintf(stderr, "%s: bad IPv6 address %s\n", argv0, ip6);
		return false;
	}
	cfg.rx_desc = 512;
	cfg.tx_desc = 512;
	engine = dpw_engine_create(&cfg, err, sizeof(err));
	if (engine == NULL) {
		fprintf(stderr, "%s: %s\n", argv0, err);
		return false;
	}
	pool = dpw_engine_pktmbuf_pool(engine);
	dpw_engine_mac(engine, mac);
	memcpy(peer.dst_mac, mac, 6);
	memcpy(peer.src_mac, (uint8_t[]){ 0x02, 0, 0, 0, 0, 0x01 }, 6);
	peer.src_ip = inet_addr("198.18.0.1");
	peer.dst_ip = cfg.ipv4_addr;
	/* Bringing the interface up announces it (gratuitous ARP); start from silence. */
	free_all(out, run_and_collect(out, 8));
	return true;
}

bool fixture_inject(struct rte_mbuf *m)
{
	return m != NULL && rte_ring_enqueue(to_stack, m) == 0;
}

unsigned run_and_collect(struct rte_mbuf **out, unsigned max)
{
	unsigned n = 0;

	for (int i = 0; i < 4 || rte_ring_count(to_stack) > 0; i++)
		dpw_engine_poll(engine);
	while (n < max && rte_ring_dequeue(from_stack, (void **)&out[n]) == 0)
		n++;
	return n;
}

void free_all(struct rte_mbuf **m, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		rte_pktmbuf_free(m[i]);
}

unsigned fixture_shutdown(struct rte_mbuf **out, unsigned max)
{
	struct rte_mbuf *m = NULL;
	unsigned n = 0;

	dpw_engine_shutdown(engine);
	while (rte_ring_dequeue(from_stack, (void **)&m) == 0) {
		if (n < max)
			out[n++] = m;
		else
			rte_pktmbuf_free(m);
	}
	return n;
}

void fixture_end(void)
{
	dpw_engine_destroy(engine);
	rte_ring_free(to_stack);
	rte_ring_free(from_stack);
	dpw_eal_cleanup();
}
