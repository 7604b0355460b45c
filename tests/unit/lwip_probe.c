/* Raw-API listeners for the engine tests (see lwip_probe.h). */
#include "lwip/tcp.h"

#include "lwip_listen.h"
#include "lwip_probe.h"

static uint32_t hoarded;

/* Refusing the data (ERR_MEM) makes lwIP keep it as pcb->refused_data and retry later: the
 * received mbufs stay out of the pool until the connection goes away. */
static err_t hoard_recv(void *arg, struct tcp_pcb *pcb, struct pbuf *p, err_t err)
{
	(void)err;
	if (p == NULL)
		return ERR_OK;
	if (arg == NULL) {   /* count each connection's data once, not on every redelivery */
		hoarded += p->tot_len;
		tcp_arg(pcb, (void *)1);
	}
	return ERR_MEM;
}

static err_t hoard_accept(void *arg, struct tcp_pcb *pcb, err_t err)
{
	(void)arg;
	if (err != ERR_OK || pcb == NULL)
		return ERR_VAL;
	tcp_recv(pcb, hoard_recv);
	return ERR_OK;
}

int probe_listen_hoarding(uint16_t port)
{
	return lwip_listen(IPADDR_TYPE_ANY, port, 0, hoard_accept, NULL) != NULL ? 0 : -1;
}

uint32_t probe_hoarded_bytes(void)
{
	return hoarded;
}

int probe_lwip_error(void)
{
	return tcp_close(NULL);
}
