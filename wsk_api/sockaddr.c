/* Address helpers: Windows' family numbers on the WSK side, the host's on the POSIX side. */
#include <string.h>

#include "sockaddr.h"

/* The host's IPv6 number; AF_INET6 itself is Windows' 23 once sockaddr.h is included. */
#define HOST_AF_INET6 PF_INET6

/* The Windows names are typedefs of the system structures because both systems lay them out
 * the same way; these checks keep that claim honest on every host we build on. */
_Static_assert(sizeof(SOCKADDR) == 16, "SOCKADDR is 16 bytes on Windows");
_Static_assert(sizeof(SOCKADDR_IN) == 16, "SOCKADDR_IN is 16 bytes on Windows");
_Static_assert(sizeof(SOCKADDR_IN6) == 28, "SOCKADDR_IN6 is 28 bytes on Windows");
_Static_assert(sizeof(SOCKADDR_STORAGE) == 128, "SOCKADDR_STORAGE is 128 bytes on Windows");
_Static_assert(sizeof(((SOCKADDR *)0)->sa_family) == sizeof(ADDRESS_FAMILY),
	       "the family is a USHORT on Windows");
_Static_assert(offsetof(SOCKADDR_IN, sin_port) == 2 && offsetof(SOCKADDR_IN, sin_addr) == 4,
	       "SOCKADDR_IN layout");
_Static_assert(offsetof(SOCKADDR_IN6, sin6_port) == 2 &&
		       offsetof(SOCKADDR_IN6, sin6_flowinfo) == 4 &&
		       offsetof(SOCKADDR_IN6, sin6_addr) == 8 &&
		       offsetof(SOCKADDR_IN6, sin6_scope_id) == 24,
	       "SOCKADDR_IN6 layout");
_Static_assert(HOST_AF_INET6 != DPW_AF_INET6, "Windows' AF_INET6 is a number of its own");
_Static_assert(PF_INET == DPW_AF_INET, "AF_INET is 2 on both systems");

ADDRESS_FAMILY DpwSockaddrFamily(const SOCKADDR *Address)
{
	if (Address == NULL)
		return DPW_AF_UNSPEC;
	switch (Address->sa_family) {
	case DPW_AF_INET:
		return DPW_AF_INET;
	case DPW_AF_INET6:
	case HOST_AF_INET6:
		return DPW_AF_INET6;
	default:
		return DPW_AF_UNSPEC;
	}
}

ULONG DpwSockaddrLength(const SOCKADDR *Address)
{
	switch (DpwSockaddrFamily(Address)) {
	case DPW_AF_INET:
		return sizeof(SOCKADDR_IN);
	case DPW_AF_INET6:
		return sizeof(SOCKADDR_IN6);
	default:
		return 0;
	}
}

ULONG DpwSockaddrToPosix(const SOCKADDR *Src, struct sockaddr_storage *Dst)
{
	ULONG len = DpwSockaddrLength(Src);

	if (len == 0 || Dst == NULL)
		return 0;
	memset(Dst, 0, sizeof(*Dst));
	memcpy(Dst, Src, len);
	Dst->ss_family = DpwSockaddrFamily(Src) == DPW_AF_INET6 ? HOST_AF_INET6 : PF_INET;
	return len;
}

ULONG DpwSockaddrFromPosix(const struct sockaddr *Src, ULONG SrcLength, SOCKADDR *Dst,
			   ULONG DstLength)
{
	ADDRESS_FAMILY family;
	ULONG len;

	if (Src == NULL || Dst == NULL)
		return 0;
	switch (Src->sa_family) {
	case PF_INET:
		family = DPW_AF_INET;
		len = sizeof(SOCKADDR_IN);
		break;
	case HOST_AF_INET6:
		family = DPW_AF_INET6;
		len = sizeof(SOCKADDR_IN6);
		break;
	default:
		return 0;
	}
	if (SrcLength < len || DstLength < len)
		return 0;
	memmove(Dst, Src, len);  /* in place (Dst == Src) is allowed */
	Dst->sa_family = family;
	return len;
}
