/* Transport addresses as WSK passes them: SOCKADDR, SOCKADDR_IN, SOCKADDR_IN6, SOCKADDR_INET,
 * SOCKADDR_STORAGE, with Windows' address-family numbers. */
#ifndef DPWSK_SOCKADDR_H
#define DPWSK_SOCKADDR_H

/*
 * Windows and Linux lay these structures out identically (family, port, address, in the same
 * places and sizes; checked by static assertions in sockaddr.c), so the Windows names are
 * typedefs of the system's structures: `sin_addr.s_addr` and `sin6_addr.s6_addr` work as in
 * Windows code, and no structure tag clashes with <sys/socket.h>. The Windows-only spellings
 * `S_un.S_addr` and `u.Byte` are not provided.
 *
 * What differs is the family number. Windows has AF_INET 2 (as Linux) but AF_INET6 23 (Linux:
 * 10). WSK callers and the provider speak Windows, so in every file that includes this header
 * AF_INET6 is 23, whatever was included before or after it: the system headers are included
 * here first (they are include-guarded, so a later #include changes nothing) and AF_INET6 is
 * then redefined. A file that also calls POSIX socket functions should use PF_INET6 (still
 * the host's value) for them, or convert with DpwSockaddrToPosix / DpwSockaddrFromPosix.
 * SOCK_STREAM, SOCK_DGRAM, IPPROTO_TCP and IPPROTO_UDP have the same values on both systems
 * and come from the system headers.
 */
#include <netinet/in.h>
#include <sys/socket.h>

#include "wsk_base.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Windows' numbers, usable even where AF_INET6 is not in scope. */
#define DPW_AF_UNSPEC 0
#define DPW_AF_INET   2
#define DPW_AF_INET6  23

#undef AF_INET6
#define AF_INET6 DPW_AF_INET6

typedef USHORT ADDRESS_FAMILY;

typedef struct in_addr IN_ADDR, *PIN_ADDR;
typedef struct in6_addr IN6_ADDR, *PIN6_ADDR;

typedef struct sockaddr SOCKADDR, *PSOCKADDR, *LPSOCKADDR;
typedef struct sockaddr_in SOCKADDR_IN, *PSOCKADDR_IN;
typedef struct sockaddr_in6 SOCKADDR_IN6, *PSOCKADDR_IN6;
typedef struct sockaddr_storage SOCKADDR_STORAGE, *PSOCKADDR_STORAGE;

/* Either IP family in one object; si_family overlays both families' first field. */
typedef union _SOCKADDR_INET {
	SOCKADDR_IN Ipv4;
	SOCKADDR_IN6 Ipv6;
	ADDRESS_FAMILY si_family;
} SOCKADDR_INET, *PSOCKADDR_INET;

/*
 * The family of an address in Windows' numbering: DPW_AF_INET, DPW_AF_INET6, or DPW_AF_UNSPEC
 * for NULL or any other family. (ours) An address carrying the host's own IPv6 number (10 on
 * Linux, e.g. straight from getaddrinfo or a file that did not include this header) is taken
 * as IPv6 too: 10 is no family WSK serves, so accepting it cannot be mistaken.
 */
ADDRESS_FAMILY DpwSockaddrFamily(const SOCKADDR *Address);

/* sizeof(SOCKADDR_IN) or sizeof(SOCKADDR_IN6) for the address's family, 0 when unsupported. */
ULONG DpwSockaddrLength(const SOCKADDR *Address);

/* Copies a WSK address into a POSIX one with the host's family number; returns the POSIX
 * length (for bind/connect/sendto), or 0 if Src is NULL or of an unsupported family. */
ULONG DpwSockaddrToPosix(const SOCKADDR *Src, struct sockaddr_storage *Dst);

/* Copies a POSIX address (host family number, SrcLength bytes) into a WSK one with Windows'
 * family number; returns the WSK length, or 0 if the family is unsupported, SrcLength is too
 * short, or DstLength cannot hold the result. */
ULONG DpwSockaddrFromPosix(const struct sockaddr *Src, ULONG SrcLength, SOCKADDR *Dst,
			   ULONG DstLength);

#ifdef __cplusplus
}
#endif

#endif /* DPWSK_SOCKADDR_H */
