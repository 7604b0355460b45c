/* The lwIP side of test_lwip_instances.c: an echo server and a pattern client on raw lwIP,
 * and what an instance holds. Kept apart from the DPDK side, whose headers clash with
 * lwIP's. Every function runs on the thread of the instance it looks at. */
#ifndef DPW_TEST_INSTANCES_PROBE_H
#define DPW_TEST_INSTANCES_PROBE_H

#include <stdbool.h>
#include <stdint.h>

struct echo_client {
	uint32_t len;        /* bytes to send, and to get back */
	uint8_t seed;        /* the pattern's, so two clients send different bytes */
	void *pcb;           /* lwIP's, NULL once closed or reset */
	uint16_t local_port; /* the ephemeral port lwIP chose */
	uint32_t sent, echoed, mismatches;
	bool failed;
	const char *failure;
	unsigned active_at_peak, pcbs_used_at_peak;   /* probe_note_peak */
};

/* Listen on port and echo whatever arrives, counting connections into *accepted (may be
 * NULL); false if lwIP refused. */
bool probe_echo_listen(uint16_t port, unsigned *accepted);
/* Connect to peer_ip (network order):port and send c->len bytes of pattern, checking what
 * comes back; driven by lwIP's callbacks from then on. */
bool probe_client_start(struct echo_client *c, uint32_t peer_ip, uint16_t port);
bool probe_client_done(const struct echo_client *c);   /* all back, or failed */
void probe_client_close(struct echo_client *c);
/* The most connections on the active list, and TCP pcbs taken from the pool, seen so far. */
void probe_note_peak(struct echo_client *c);
/* TCP pcbs taken from this instance's pool now. */
unsigned probe_pcbs_in_pool(void);
/* This instance's interfaces, and how many of them have the address own_ip. */
unsigned probe_netifs(uint32_t own_ip, unsigned *own);
/* On a thread that never initialised lwIP: no pools, no interfaces. */
bool probe_no_pools(void);
bool probe_no_netifs(void);

#endif /* DPW_TEST_INSTANCES_PROBE_H */
