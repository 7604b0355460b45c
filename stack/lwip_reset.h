/* Letting go of what lwIP holds for the peers: the engine's shutdown and the fuzz harnesses'
 * reset between inputs both need it. Polling thread only. */
#ifndef DPW_LWIP_RESET_H
#define DPW_LWIP_RESET_H

/* Abort every TCP connection (established or on the way, TIME_WAIT, bound only; a peer that
 * had one gets a RST) and age out every partial IPv4 and IPv6 datagram (lwIP frees one only
 * when it expires). Afterwards no received pbuf is held for them; listeners and UDP pcbs
 * stay. */
void dpw_lwip_drop_connections(void);

#endif /* DPW_LWIP_RESET_H */
