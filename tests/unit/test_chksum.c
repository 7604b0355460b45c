/* stack/chksum.c against the checksum computed the plain way (RFC 1071: 16-bit words in
 * memory order, end-around carry), for every length 0..2100 at every alignment 0..7, over
 * random bytes and over all-0xff bytes (the carries' worst case); dpw_chksum_copy also
 * copies exactly those bytes and touches nothing around them. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dpw_chksum.h"

static uint16_t reference(const uint8_t *p, size_t n)
{
	uint32_t sum = 0;
	size_t i;

	for (i = 0; i + 1 < n; i += 2) {
		uint16_t w;

		memcpy(&w, p + i, 2);
		sum += w;
	}
	if (i < n) {
		uint16_t w = 0;

		memcpy(&w, p + i, 1);
		sum += w;
	}
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

int main(void)
{
	enum { MAXLEN = 2100, GUARD = 16 };
	static uint8_t src[MAXLEN + GUARD], dst[MAXLEN + 2 * GUARD];
	unsigned checks = 0, fails = 0;

	srand(12345);
	for (int pattern = 0; pattern < 2; pattern++) {
		for (size_t i = 0; i < sizeof(src); i++)
			src[i] = pattern ? 0xff : (uint8_t)rand();
		for (size_t off = 0; off < 8; off++) {
			for (size_t len = 0; len <= MAXLEN; len++) {
				uint16_t want = reference(src + off, len);
				uint16_t got = dpw_chksum(src + off, (int)len), got_copy;

				memset(dst, 0xa5, sizeof(dst));
				got_copy = dpw_chksum_copy(dst + GUARD + (off ^ 5) % 8, src + off,
							   (uint16_t)len);
				checks += 3;
				if (got != want || got_copy != want ||
				    memcmp(dst + GUARD + (off ^ 5) % 8, src + off, len) != 0) {
					if (fails++ < 5)
						printf("FAIL: chksum/len-%zu-off-%zu-pattern-%d: want "
						       "%04x, sum %04x, copy %04x\n", len, off,
						       pattern, want, got, got_copy);
				}
				/* Nothing written outside the destination. */
				for (size_t g = 0; g < GUARD + (off ^ 5) % 8; g++)
					if (dst[g] != 0xa5)
						fails++;
				for (size_t g = GUARD + (off ^ 5) % 8 + len; g < sizeof(dst); g++)
					if (dst[g] != 0xa5)
						fails++;
			}
		}
	}
	printf("%s: chksum/all (%u checks, %u failed)\n", fails ? "FAIL" : "PASS", checks, fails);
	return fails ? 1 : 0;
}
