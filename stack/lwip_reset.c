/* What lwIP holds for the peers, let go (lwip_reset.h). */
#include "lwip/ip4_frag.h"
#include "lwip/ip6_frag.h"
#include "lwip/priv/tcp_priv.h"
#include "lwip/tcp.h"

#include "lwip_reset.h"

void dpw_lwip_drop_connections(void)
{
	/* tcp_abort unlinks the pcb from its list, so each list's head is the next one. */
	while (tcp_active_pcbs != NULL)
		tcp_abort(tcp_active_pcbs);
	while (tcp_tw_pcbs != NULL)
		tcp_abort(tcp_tw_pcbs);
	while (tcp_bound_pcbs != NULL)
		tcp_abort(tcp_bound_pcbs);
#if IP_REASSEMBLY
	for (int i = 0; i <= IP_REASS_MAXAGE; i++)
		ip_reass_tmr();
#endif
#if LWIP_IPV6 && LWIP_IPV6_REASS
	for (int i = 0; i <= IPV6_REASS_MAXAGE; i++)
		ip6_reass_tmr();
#endif
}
