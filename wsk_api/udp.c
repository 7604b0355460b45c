/* Datagram sockets over lwIP's raw UDP API, on the lcore (WSK F8). Not written yet: every
 * datagram call completes with STATUS_NOT_SUPPORTED, so a client gets an answer, not a hang. */
#include "socket_internal.h"

void dpw_udp_execute(struct dpw_req *r)
{
	dpw_req_complete(r, STATUS_NOT_SUPPORTED, 0);
}

void dpw_udp_close(struct dpw_socket *s)
{
	(void)s;
}
