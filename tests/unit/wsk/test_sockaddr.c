/* Addresses: Windows' family numbers on the WSK side (AF_INET6 is 23), the host's on the
 * POSIX side, and the helpers that convert between them. */
#include <arpa/inet.h>  /* a system socket header first: AF_INET6 must still be 23 */
#include <string.h>

#include "sockaddr.h"
#include "wsk_test.h"

static int test_family_numbers(void)
{
	CHECK(AF_INET == 2);
	CHECK(AF_INET6 == 23);          /* Windows', whatever the include order */
	CHECK(DPW_AF_INET6 == 23 && DPW_AF_INET == 2 && DPW_AF_UNSPEC == 0);
	CHECK(PF_INET6 != 23);          /* the host keeps its own for POSIX calls */
	CHECK(sizeof(SOCKADDR_IN) == 16 && sizeof(SOCKADDR_IN6) == 28);
	CHECK(sizeof(SOCKADDR_INET) == 28 && sizeof(SOCKADDR_STORAGE) == 128);
	return 0;
}

static int test_family_and_length(void)
{
	SOCKADDR_INET a;

	memset(&a, 0, sizeof(a));
	a.si_family = AF_INET;
	CHECK(DpwSockaddrFamily((PSOCKADDR)&a) == DPW_AF_INET);
	CHECK(DpwSockaddrLength((PSOCKADDR)&a) == sizeof(SOCKADDR_IN));
	a.si_family = AF_INET6;
	CHECK(a.Ipv6.sin6_family == 23);
	CHECK(DpwSockaddrFamily((PSOCKADDR)&a) == DPW_AF_INET6);
	CHECK(DpwSockaddrLength((PSOCKADDR)&a) == sizeof(SOCKADDR_IN6));
	/* (ours) the host's IPv6 number is accepted as IPv6 too. */
	a.si_family = PF_INET6;
	CHECK(DpwSockaddrFamily((PSOCKADDR)&a) == DPW_AF_INET6);
	a.si_family = 1;                /* AF_UNIX: no transport here */
	CHECK(DpwSockaddrFamily((PSOCKADDR)&a) == DPW_AF_UNSPEC);
	CHECK(DpwSockaddrLength((PSOCKADDR)&a) == 0);
	CHECK(DpwSockaddrLength(NULL) == 0);
	return 0;
}

static int test_to_posix(void)
{
	SOCKADDR_IN6 w6;
	SOCKADDR_IN w4;
	struct sockaddr_storage p;
	struct sockaddr_in6 *p6 = (struct sockaddr_in6 *)&p;
	struct sockaddr_in *p4 = (struct sockaddr_in *)&p;

	memset(&w6, 0, sizeof(w6));
	w6.sin6_family = AF_INET6;
	w6.sin6_port = htons(7);
	w6.sin6_scope_id = 3;
	CHECK(inet_pton(PF_INET6, "2001:db8::1", &w6.sin6_addr) == 1);
	CHECK(DpwSockaddrToPosix((PSOCKADDR)&w6, &p) == sizeof(struct sockaddr_in6));
	CHECK(p6->sin6_family == PF_INET6 && ntohs(p6->sin6_port) == 7 && p6->sin6_scope_id == 3);
	CHECK(memcmp(&p6->sin6_addr, &w6.sin6_addr, 16) == 0);

	memset(&w4, 0, sizeof(w4));
	w4.sin_family = AF_INET;
	w4.sin_port = htons(80);
	w4.sin_addr.s_addr = htonl(0xC6120001);   /* 198.18.0.1 */
	CHECK(DpwSockaddrToPosix((PSOCKADDR)&w4, &p) == sizeof(struct sockaddr_in));
	CHECK(p4->sin_family == PF_INET && ntohs(p4->sin_port) == 80);
	CHECK(p4->sin_addr.s_addr == htonl(0xC6120001));

	w4.sin_family = 1;
	CHECK(DpwSockaddrToPosix((PSOCKADDR)&w4, &p) == 0);
	CHECK(DpwSockaddrToPosix(NULL, &p) == 0);
	return 0;
}

static int test_from_posix(void)
{
	struct sockaddr_in6 p6;
	SOCKADDR_INET w;

	memset(&p6, 0, sizeof(p6));
	p6.sin6_family = PF_INET6;
	p6.sin6_port = htons(443);
	p6.sin6_addr.s6_addr[15] = 1;
	CHECK(DpwSockaddrFromPosix((struct sockaddr *)&p6, sizeof(p6), (PSOCKADDR)&w, sizeof(w)) ==
	      sizeof(SOCKADDR_IN6));
	CHECK(w.si_family == 23 && ntohs(w.Ipv6.sin6_port) == 443);
	CHECK(w.Ipv6.sin6_addr.s6_addr[15] == 1);
	/* Too short a source or destination: nothing. */
	CHECK(DpwSockaddrFromPosix((struct sockaddr *)&p6, 16, (PSOCKADDR)&w, sizeof(w)) == 0);
	CHECK(DpwSockaddrFromPosix((struct sockaddr *)&p6, sizeof(p6), (PSOCKADDR)&w, 16) == 0);
	/* In place. */
	CHECK(DpwSockaddrFromPosix((struct sockaddr *)&p6, sizeof(p6), (PSOCKADDR)&p6,
				   sizeof(p6)) == sizeof(SOCKADDR_IN6));
	CHECK(p6.sin6_family == 23);
	return 0;
}

int main(void)
{
	int failures = 0;

	RUN(test_family_numbers);
	RUN(test_family_and_length);
	RUN(test_to_posix);
	RUN(test_from_posix);
	return failures != 0;
}
