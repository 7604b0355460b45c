/* Make a fuzzer's frame pass the stack's checks: IPv4 header checksum, TCP, UDP, ICMP and
 * ICMPv6 checksums and, if asked, the IP and UDP length fields. Without this nearly every
 * mutated frame would die at the first checksum and the fuzzer would never get deeper. */
#ifndef DPW_FUZZ_FIXUP_H
#define DPW_FUZZ_FIXUP_H

#include <stddef.h>
#include <stdint.h>

enum {
	FIXUP_CHECKSUMS = 1 << 0,
	FIXUP_LENGTHS = 1 << 1,   /* IPv4 total length, IPv6 payload length, UDP length */
};

/* Fix what `what` says in an Ethernet frame of len bytes, in place. Anything too short or
 * inconsistent to fix is left alone: the stack must cope with it as it is. */
void fixup_frame(uint8_t *f, size_t len, unsigned what);

#endif /* DPW_FUZZ_FIXUP_H */
