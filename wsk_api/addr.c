/* Addresses between WSK's SOCKADDR (Windows family numbers) and lwIP's ip_addr_t. IPv4 only
 * while lwIP is built without IPv6 (stack/lwipopts.h). */
#include <string.h>

#include "lwip/ip_addr.h"

#include "socket_internal.h"

NTSTATUS dpw_sockaddr_to_lwip(const SOCKADDR *sa, ip_addr_t *ip, uint16_t *port)
{
	const SOCKADDR_IN *in = (const SOCKADDR_IN *)sa;

	if (sa == NULL)
		return STATUS_INVALID_PARAMETER;
	if (DpwSockaddrFamily(sa) == DPW_AF_INET6)
		return STATUS_NOT_SUPPORTED;   /* lwIP is built IPv4-only for now */
	if (DpwSockaddrFamily(sa) != DPW_AF_INET)
		return STATUS_INVALID_ADDRESS;
	ip_addr_set_ip4_u32_val(*ip, in->sin_addr.s_addr);
	*port = lwip_ntohs(in->sin_port);
	return STATUS_SUCCESS;
}

void dpw_lwip_to_sockaddr(const ip_addr_t *ip, uint16_t port, SOCKADDR_INET *out)
{
	memset(out, 0, sizeof(*out));
	out->Ipv4.sin_family = DPW_AF_INET;
	out->Ipv4.sin_port = lwip_htons(port);
	out->Ipv4.sin_addr.s_addr = ip4_addr_get_u32(ip_2_ip4(ip));
}

void dpw_copy_sockaddr(PSOCKADDR dst, const SOCKADDR_INET *src)
{
	if (dst != NULL)
		memcpy(dst, src, src->si_family == DPW_AF_INET6 ? sizeof(SOCKADDR_IN6)
								: sizeof(SOCKADDR_IN));
}
