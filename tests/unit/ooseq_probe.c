/* The window-holding listener of ooseq_probe.h. */
#include "lwip/pbuf.h"
#include "lwip/tcp.h"

#include "lwip_listen.h"
#include "ooseq_probe.h"

static struct tcp_pcb *conn;
static uint8_t kept[OOSEQ_PROBE_MAX];
static uint32_t received;

static err_t on_recv(void *arg, struct tcp_pcb *pcb, struct pbuf *p, err_t err)
{
	(void)arg, (void)pcb, (void)err;
	if (p == NULL)
		return ERR_OK;
	if (received < OOSEQ_PROBE_MAX) {
		u16_t room = (u16_t)LWIP_MIN(p->tot_len, OOSEQ_PROBE_MAX - received);

		pbuf_copy_partial(p, kept + received, room, 0);
	}
	received += p->tot_len;
	pbuf_free(p);   /* taken, but no tcp_recved: the window stays as small as it got */
	return ERR_OK;
}

static void on_err(void *arg, err_t err)
{
	(void)arg, (void)err;
	conn = NULL;
}

static err_t on_accept(void *arg, struct tcp_pcb *pcb, err_t err)
{
	(void)arg;
	if (err != ERR_OK || pcb == NULL)
		return ERR_VAL;
	conn = pcb;
	tcp_recv(pcb, on_recv);
	tcp_err(pcb, on_err);
	return ERR_OK;
}

int ooseq_listen(uint16_t port)
{
	return lwip_listen(IPADDR_TYPE_V4, port, 0, on_accept, NULL) != NULL ? 0 : -1;
}

bool ooseq_state(uint32_t *rcv_nxt, uint32_t *rcv_wnd)
{
	if (conn == NULL)
		return false;
	*rcv_nxt = conn->rcv_nxt;
	*rcv_wnd = conn->rcv_wnd;
	return true;
}

uint32_t ooseq_received(const uint8_t **data)
{
	*data = kept;
	return received;
}
