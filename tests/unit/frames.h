/* Build Ethernet frames for the engine's unit tests: ARP, ICMP echo, TCP, UDP, with correct
 * checksums unless a test asks for a wrong one. */
#ifndef DPW_TEST_FRAMES_H
#define DPW_TEST_FRAMES_H

#include <stdbool.h>
#include <stdint.h>

struct rte_mbuf;
struct rte_mempool;

struct frame_addrs {
	uint8_t src_mac[6], dst_mac[6];
	uint32_t src_ip, dst_ip;  /* network byte order */
};

enum frame_fault {
	FAULT_NONE,
	FAULT_IP_CHECKSUM,   /* IPv4 header checksum off by one */
	FAULT_IP_LENGTH,     /* total length claims 100 bytes more than the frame has */
	FAULT_L4_CHECKSUM,   /* TCP/UDP/ICMP checksum off by one */
};

struct rte_mbuf *frame_arp_request(struct rte_mempool *mp, const struct frame_addrs *a);
struct rte_mbuf *frame_icmp_echo(struct rte_mempool *mp, const struct frame_addrs *a,
				 uint16_t id, uint16_t seq, uint16_t payload_len,
				 enum frame_fault fault);
/* tcp_flags as in the header (0x02 SYN, 0x10 ACK, ...) */
struct rte_mbuf *frame_tcp(struct rte_mempool *mp, const struct frame_addrs *a, uint16_t sport,
			   uint16_t dport, uint32_t seq, uint32_t ack, uint8_t tcp_flags,
			   const void *payload, uint16_t payload_len, enum frame_fault fault);
struct rte_mbuf *frame_udp(struct rte_mempool *mp, const struct frame_addrs *a, uint16_t sport,
			   uint16_t dport, const void *payload, uint16_t payload_len,
			   enum frame_fault fault);
struct rte_mbuf *frame_raw(struct rte_mempool *mp, const void *bytes, uint16_t len);

/* Parsing what the stack sent. Each returns false when the frame is not of that kind. */
bool frame_is_arp_reply(struct rte_mbuf *m, const struct frame_addrs *a);
bool frame_is_icmp_echo_reply(struct rte_mbuf *m, uint16_t id, uint16_t seq,
			      uint16_t payload_len);
/* Fills flags/seq/ack of a TCP segment with valid IP and TCP checksums. */
bool frame_tcp_info(struct rte_mbuf *m, uint8_t *flags, uint32_t *seq, uint32_t *ack);

#endif /* DPW_TEST_FRAMES_H */
