/* The raw-lwIP listener of lwip_listen.h. */
#include "lwip_listen.h"

struct tcp_pcb *lwip_listen(u8_t type, u16_t port, u16_t backlog, tcp_accept_fn accept,
			    void *arg)
{
	const ip_addr_t *any = type == IPADDR_TYPE_V4 ? IP4_ADDR_ANY
			       : type == IPADDR_TYPE_V6 ? IP6_ADDR_ANY : IP_ANY_TYPE;
	struct tcp_pcb *pcb = tcp_new_ip_type(type), *l;

	if (pcb == NULL)
		return NULL;
	if (tcp_bind(pcb, any, port) != ERR_OK) {
		tcp_abort(pcb);
		return NULL;
	}
	/* On failure tcp_listen leaves the bound pcb as it was: ours to free. */
	l = tcp_listen_with_backlog(pcb, backlog != 0 ? backlog : TCP_DEFAULT_LISTEN_BACKLOG);
	if (l == NULL) {
		tcp_abort(pcb);
		return NULL;
	}
	tcp_arg(l, arg);
	tcp_accept(l, accept);
	return l;
}
