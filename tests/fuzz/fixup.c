/* Checksum and length fix-ups for fuzzed frames (see fixup.h). Works on plain bytes, not on
 * lwIP's or DPDK's header structs, so that it cannot share their bugs. */
#include "fixup.h"

#define ETH_HLEN 14
#define IP4_HLEN 20
#define IP6_HLEN 40
#define PROTO_ICMP 1
#define PROTO_TCP 6
#define PROTO_UDP 17
#define PROTO_ICMP6 58

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* The one's complement sum of len bytes, added to sum (not yet folded). */
static uint32_t sum_bytes(uint32_t sum, const uint8_t *p, size_t len)
{
	for (; len > 1; p += 2, len -= 2)
		sum += get16(p);
	if (len == 1)
		sum += (uint32_t)p[0] << 8;
	return sum;
}

static uint16_t fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* Store the checksum of a transport segment (l4, l4len bytes) whose checksum field sits at
 * ck_off, given the pseudo-header's sum (0 for ICMPv4, which has none). */
static void fix_l4(uint8_t *l4, size_t l4len, size_t ck_off, uint32_t pseudo, int is_udp)
{
	uint16_t ck;

	if (l4len < ck_off + 2)
		return;
	put16(l4 + ck_off, 0);
	ck = fold(sum_bytes(pseudo, l4, l4len));
	if (is_udp && ck == 0)
		ck = 0xffff;   /* 0 means "no checksum" in UDP */
	put16(l4 + ck_off, ck);
}

static void fix_transport(uint8_t proto, uint8_t *l4, size_t l4len, uint32_t pseudo,
			  unsigned what)
{
	switch (proto) {
	case PROTO_TCP:
		if (l4len >= 20)
			fix_l4(l4, l4len, 16, pseudo, 0);
		break;
	case PROTO_UDP:
		if (l4len < 8)
			break;
		if ((what & FIXUP_LENGTHS) && l4len <= 0xffff)
			put16(l4 + 4, (uint16_t)l4len);
		fix_l4(l4, l4len, 6, pseudo, 1);
		break;
	case PROTO_ICMP:
		fix_l4(l4, l4len, 2, 0, 0);
		break;
	case PROTO_ICMP6:
		fix_l4(l4, l4len, 2, pseudo, 0);
		break;
	}
}

static void fix_ip4(uint8_t *ip, size_t len, unsigned what)
{
	size_t ihl, end;
	uint32_t pseudo;

	if (len < IP4_HLEN)
		return;
	if ((what & FIXUP_LENGTHS) && len <= 0xffff)
		put16(ip + 2, (uint16_t)len);
	ihl = (size_t)(ip[0] & 0x0f) * 4;
	end = get16(ip + 2);
	if (ihl < IP4_HLEN || ihl > len || end < ihl)
		return;
	if (end > len)
		end = len;
	if (what & FIXUP_CHECKSUMS) {
		put16(ip + 10, 0);
		put16(ip + 10, fold(sum_bytes(0, ip, ihl)));
	}
	/* A fragment's transport checksum covers the whole datagram: leave it to the fuzzer. */
	if (!(what & FIXUP_CHECKSUMS) || (get16(ip + 6) & 0x3fff) != 0)
		return;
	pseudo = sum_bytes(0, ip + 12, 8) + ip[9] + (uint32_t)(end - ihl);
	fix_transport(ip[9], ip + ihl, end - ihl, pseudo, what);
}

static void fix_ip6(uint8_t *ip, size_t len, unsigned what)
{
	size_t end, off = IP6_HLEN;
	uint8_t nh;
	uint32_t pseudo;

	if (len < IP6_HLEN)
		return;
	if ((what & FIXUP_LENGTHS) && len - IP6_HLEN <= 0xffff)
		put16(ip + 4, (uint16_t)(len - IP6_HLEN));
	end = IP6_HLEN + (size_t)get16(ip + 4);
	if (end > len)
		end = len;
	if (!(what & FIXUP_CHECKSUMS))
		return;
	/* Skip hop-by-hop (0), routing (43) and destination options (60); stop at a fragment
	 * header (44), whose transport checksum covers the reassembled datagram. */
	nh = ip[6];
	while ((nh == 0 || nh == 43 || nh == 60) && off + 8 <= end) {
		nh = ip[off];
		off += 8 * ((size_t)ip[off + 1] + 1);
	}
	if (off > end)
		return;
	pseudo = sum_bytes(0, ip + 8, 32) + nh + (uint32_t)(end - off);
	fix_transport(nh, ip + off, end - off, pseudo, what);
}

void fixup_frame(uint8_t *f, size_t len, unsigned what)
{
	if (len < ETH_HLEN)
		return;
	switch (get16(f + 12)) {
	case 0x0800:
		fix_ip4(f + ETH_HLEN, len - ETH_HLEN, what);
		break;
	case 0x86dd:
		fix_ip6(f + ETH_HLEN, len - ETH_HLEN, what);
		break;
	}
}
