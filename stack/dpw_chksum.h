/* The Internet checksum for lwIP (chksum.c): lwipopts.h points LWIP_CHKSUM and
 * LWIP_CHKSUM_COPY here. Without lwIP's types: lwipopts.h includes this before them. */
#ifndef DPW_CHKSUM_H
#define DPW_CHKSUM_H

#include <stdint.h>

/* The non-inverted one's-complement sum of len bytes at data, folded to 16 bits, as lwIP's
 * lwip_standard_chksum returns it. */
uint16_t dpw_chksum(const void *data, int len);
/* Copy len bytes from src to dst and return their sum, as dpw_chksum would, in one pass. */
uint16_t dpw_chksum_copy(void *dst, const void *src, uint16_t len);

#endif /* DPW_CHKSUM_H */
