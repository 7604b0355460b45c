/* Addresses between WSK's SOCKADDR (Windows family numbers) and lwIP's ip_addr_t, and the
 * rule that a socket speaks the family it was created with. An AF_INET6 socket is IPv6 only,
 * as Windows' default (IPV6_V6ONLY), so IPv4-mapped addresses are not accepted either, unless
 * the client turned IPV6_V6ONLY off before binding (W6): then its lwIP pcb takes both
 * families (IPADDR_TYPE_ANY), "::" binds both wildcards, an IPv4-mapped address
 * (::ffff:a.b.c.d) means that IPv4 address, and IPv4 peers are reported IPv4-mapped. */
#include <stdbool.h>
#include <string.h>

#include "lwip/ip_addr.h"
#include "lwip/netif.h"

#include "socket_internal.h"

static NTSTATUS sockaddr_to_lwip(const SOCKADDR *sa, ip_addr_t *ip, uint16_t *port,
				 bool dual_stack)
{
	if (sa == NULL)
		return STATUS_INVALID_PARAMETER;
	switch (DpwSockaddrFamily(sa)) {
	case DPW_AF_INET: {
		const SOCKADDR_IN *in = (const SOCKADDR_IN *)sa;

		ip_addr_set_ip4_u32_val(*ip, in->sin_addr.s_addr);
		*port = lwip_ntohs(in->sin_port);
		return STATUS_SUCCESS;
	}
	case DPW_AF_INET6: {
		const SOCKADDR_IN6 *in6 = (const SOCKADDR_IN6 *)sa;

		*port = lwip_ntohs(in6->sin6_port);
		if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr)) {
			uint32_t v4;

			if (!dual_stack)
				return STATUS_INVALID_ADDRESS;
			memcpy(&v4, &in6->sin6_addr.s6_addr[12], 4);
			ip_addr_set_ip4_u32_val(*ip, v4);
			return STATUS_SUCCESS;
		}
		if (dual_stack && IN6_IS_ADDR_UNSPECIFIED(&in6->sin6_addr)) {
			*ip = (ip_addr_t)IPADDR_ANY_TYPE_INIT;   /* both families' wildcard */
			return STATUS_SUCCESS;
		}
		memset(ip, 0, sizeof(*ip));
		IP_SET_TYPE(ip, IPADDR_TYPE_V6);
		memcpy(ip_2_ip6(ip)->addr, &in6->sin6_addr, 16);
		return STATUS_SUCCESS;
	}
	default:
		return STATUS_INVALID_ADDRESS;
	}
}

NTSTATUS dpw_sockaddr_for_socket(const struct dpw_socket *s, const SOCKADDR *sa, ip_addr_t *ip,
				 uint16_t *port)
{
	if (sa != NULL && DpwSockaddrFamily(sa) != s->af)
		return STATUS_INVALID_ADDRESS;   /* Winsock's WSAEAFNOSUPPORT / WSAEFAULT */
	return sockaddr_to_lwip(sa, ip, port, s->dual_stack);
}

bool dpw_ip_is_bindable(const ip_addr_t *ip)
{
	struct netif *n;

	if (ip_addr_isany(ip))
		return true;
	NETIF_FOREACH(n) {
		if (IP_IS_V6(ip) ? netif_get_ip6_addr_match(n, ip_2_ip6(ip)) >= 0
				 : ip4_addr_cmp(netif_ip4_addr(n), ip_2_ip4(ip)))
			return true;
	}
	return false;
}

bool dpw_ip_reachable(const ip_addr_t *ip)
{
	struct netif *n;

	if (!IP_IS_V6(ip) || ip6_addr_islinklocal(ip_2_ip6(ip)))
		return true;   /* IPv4: lwIP's own routing says (ERR_RTE) */
	NETIF_FOREACH(n) {
		for (int i = 0; i < LWIP_IPV6_NUM_ADDRESSES; i++)
			if (ip6_addr_isvalid(netif_ip6_addr_state(n, i)) &&
			    ip6_addr_netcmp(ip_2_ip6(ip), netif_ip6_addr(n, i)))
				return true;
	}
	return false;
}

u8_t dpw_socket_ip_type(const struct dpw_socket *s)
{
	if (s->af != DPW_AF_INET6)
		return IPADDR_TYPE_V4;
	return s->dual_stack ? IPADDR_TYPE_ANY : IPADDR_TYPE_V6;
}

void dpw_lwip_to_sockaddr(const ip_addr_t *ip, uint16_t port, SOCKADDR_INET *out)
{
	memset(out, 0, sizeof(*out));
	if (IP_IS_V6(ip)) {
		out->Ipv6.sin6_family = DPW_AF_INET6;
		out->Ipv6.sin6_port = lwip_htons(port);
		memcpy(&out->Ipv6.sin6_addr, ip_2_ip6(ip)->addr, 16);
		return;
	}
	out->Ipv4.sin_family = DPW_AF_INET;
	out->Ipv4.sin_port = lwip_htons(port);
	out->Ipv4.sin_addr.s_addr = ip4_addr_get_u32(ip_2_ip4(ip));
}

void dpw_socket_sockaddr(const struct dpw_socket *s, const ip_addr_t *ip, uint16_t port,
			 SOCKADDR_INET *out)
{
	uint32_t v4;

	if (s->af != DPW_AF_INET6 || IP_IS_V6(ip)) {
		dpw_lwip_to_sockaddr(ip, port, out);
		return;
	}
	/* An AF_INET6 socket speaks AF_INET6 only: an IPv4 address (a dual-stack socket's peer
	 * or local address) is reported IPv4-mapped, the any-type wildcard as "::" (W6). */
	memset(out, 0, sizeof(*out));
	out->Ipv6.sin6_family = DPW_AF_INET6;
	out->Ipv6.sin6_port = lwip_htons(port);
	if (IP_IS_ANY_TYPE_VAL(*ip))
		return;
	v4 = ip4_addr_get_u32(ip_2_ip4(ip));
	out->Ipv6.sin6_addr.s6_addr[10] = 0xff;
	out->Ipv6.sin6_addr.s6_addr[11] = 0xff;
	memcpy(&out->Ipv6.sin6_addr.s6_addr[12], &v4, 4);
}

void dpw_copy_sockaddr(PSOCKADDR dst, const SOCKADDR_INET *src)
{
	if (dst != NULL)
		memcpy(dst, src, src->si_family == DPW_AF_INET6 ? sizeof(SOCKADDR_IN6)
								: sizeof(SOCKADDR_IN));
}
