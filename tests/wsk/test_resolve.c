/* WskGetAddressInfo, WskFreeAddressInfo and WskGetNameInfo (wsk_api/resolve.c; WSK-R3, W2,
 * W3): numeric addresses of both families, names from a hosts file (the test writes its own
 * and points DPW_HOSTS_FILE at it), the hints' family and AI_NUMERICHOST, AI_PASSIVE without a
 * node, ports as services, and the refusals (a name nowhere, a service name, bad arguments),
 * each returned and completed through the IRP with the same status. No DNS is ever asked. */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

static WCHAR wbuf[4][128];

/* An ASCII string as a UNICODE_STRING (one of four static buffers, by slot). */
static UNICODE_STRING U(int slot, const char *s)
{
	UNICODE_STRING u;
	size_t n = strlen(s);

	for (size_t i = 0; i <= n; i++)
		wbuf[slot][i] = (WCHAR)(unsigned char)s[i];
	u.Buffer = wbuf[slot];
	u.Length = (USHORT)(n * sizeof(WCHAR));
	u.MaximumLength = (USHORT)((n + 1) * sizeof(WCHAR));
	return u;
}

static bool u_is(const UNICODE_STRING *u, const char *s)
{
	size_t n = strlen(s);

	if (u->Length != n * sizeof(WCHAR))
		return false;
	for (size_t i = 0; i < n; i++)
		if (u->Buffer[i] != (WCHAR)(unsigned char)s[i])
			return false;
	return true;
}

/* The call's status, checked against its IRP's (the same, completed once). */
static NTSTATUS gai(const char *node, const char *service, int family, int flags,
		    PADDRINFOEXW *out)
{
	UNICODE_STRING n, s;
	ADDRINFOEXW hints = { 0 };
	struct h_irp x;
	NTSTATUS st;

	hints.ai_family = family;
	hints.ai_flags = flags;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_protocol = IPPROTO_TCP;
	if (node != NULL)
		n = U(0, node);
	if (service != NULL)
		s = U(1, service);
	h_irp_init(&x);
	st = h_npi.Dispatch->WskGetAddressInfo(h_npi.Client, node != NULL ? &n : NULL,
					       service != NULL ? &s : NULL, NS_ALL, NULL, &hints,
					       out, NULL, NULL, x.irp);
	H_CHECK(st != STATUS_PENDING);
	H_CHECK(h_wait(&x, 2000) && x.completions == 1);
	H_CHECK_STATUS(x.status, st);
	h_irp_free(&x);
	return st;
}

static bool entry_is(const ADDRINFOEXW *a, int family, const char *addr, uint16_t port)
{
	unsigned char want[16];

	if (a == NULL || a->ai_family != family || a->ai_addr == NULL ||
	    a->ai_socktype != SOCK_STREAM || a->ai_protocol != IPPROTO_TCP)
		return false;
	if (family == AF_INET) {
		const SOCKADDR_IN *s = (const SOCKADDR_IN *)a->ai_addr;

		return a->ai_addrlen == sizeof(*s) && s->sin_family == AF_INET &&
		       ntohs(s->sin_port) == port && inet_pton(PF_INET, addr, want) == 1 &&
		       memcmp(&s->sin_addr, want, 4) == 0;
	} else {
		const SOCKADDR_IN6 *s = (const SOCKADDR_IN6 *)a->ai_addr;

		return a->ai_addrlen == sizeof(*s) && s->sin6_family == AF_INET6 &&
		       ntohs(s->sin6_port) == port && inet_pton(PF_INET6, addr, want) == 1 &&
		       memcmp(&s->sin6_addr, want, 16) == 0;
	}
}

static void free_ai(PADDRINFOEXW a)
{
	h_npi.Dispatch->WskFreeAddressInfo(h_npi.Client, a);
}

static NTSTATUS gni(const SOCKADDR *sa, ULONG len, ULONG flags, UNICODE_STRING *node,
		    UNICODE_STRING *service)
{
	struct h_irp x;
	NTSTATUS st;

	h_irp_init(&x);
	st = h_npi.Dispatch->WskGetNameInfo(h_npi.Client, (PSOCKADDR)sa, len, node, service,
					    flags, NULL, NULL, x.irp);
	H_CHECK(h_wait(&x, 2000) && x.completions == 1);
	H_CHECK_STATUS(x.status, st);
	h_irp_free(&x);
	return st;
}

int main(int argc, char **argv)
{
	char hosts[] = "/tmp/dpwsk-hosts-XXXXXX";
	PADDRINFOEXW ai = NULL;
	int fd;

	h_start(argc, argv);
	fd = mkstemp(hosts);
	H_CHECK(fd >= 0);
	if (fd >= 0) {
		const char text[] = "# a test's own hosts file\n"
				    "198.18.0.1   peer.test peer   # the Linux peer\n"
				    "2001:2::1    peer.test\n"
				    "198.18.0.2   stack.test\n";

		H_CHECK(write(fd, text, sizeof(text) - 1) == (ssize_t)sizeof(text) - 1);
		close(fd);
		setenv("DPW_HOSTS_FILE", hosts, 1);
	}

	h_test("a numeric IPv4 address and a port: one entry, AF_INET, the port in network "
	       "order (WSK-R3, W2, W7)");
	H_CHECK_STATUS(gai("198.18.0.1", "7007", AF_UNSPEC, 0, &ai), STATUS_SUCCESS);
	H_CHECK(entry_is(ai, AF_INET, "198.18.0.1", 7007) && ai->ai_next == NULL);
	free_ai(ai);

	h_test("a numeric IPv6 address: AF_INET6 as Windows numbers it, 23 (W7)");
	H_CHECK_STATUS(gai("2001:2::1", "80", AF_UNSPEC, 0, &ai), STATUS_SUCCESS);
	H_CHECK(entry_is(ai, AF_INET6, "2001:2::1", 80) && ai->ai_next == NULL);
	free_ai(ai);

	h_test("a numeric address of the other family than the hints': STATUS_NOT_FOUND (W7)");
	H_CHECK_STATUS(gai("198.18.0.1", NULL, AF_INET6, 0, &ai), STATUS_NOT_FOUND);
	H_CHECK(ai == NULL);

	h_test("a name from the hosts file: every address, in the file's order; the hints' "
	       "family filters; aliases and case do not matter (W7)");
	H_CHECK_STATUS(gai("peer.test", "9", AF_UNSPEC, 0, &ai), STATUS_SUCCESS);
	H_CHECK(entry_is(ai, AF_INET, "198.18.0.1", 9) && ai->ai_next != NULL &&
		entry_is(ai->ai_next, AF_INET6, "2001:2::1", 9) && ai->ai_next->ai_next == NULL);
	free_ai(ai);
	H_CHECK_STATUS(gai("PEER", NULL, AF_INET, 0, &ai), STATUS_SUCCESS);
	H_CHECK(entry_is(ai, AF_INET, "198.18.0.1", 0) && ai->ai_next == NULL);
	free_ai(ai);

	h_test("AI_NUMERICHOST with a name, a name nowhere, a service name: STATUS_NOT_FOUND "
	       "(no DNS, W7)");
	H_CHECK_STATUS(gai("peer.test", NULL, AF_UNSPEC, DPW_AI_NUMERICHOST, &ai),
		       STATUS_NOT_FOUND);
	H_CHECK_STATUS(gai("nowhere.invalid", NULL, AF_UNSPEC, 0, &ai), STATUS_NOT_FOUND);
	H_CHECK_STATUS(gai("198.18.0.1", "http", AF_UNSPEC, 0, &ai), STATUS_NOT_FOUND);
	H_CHECK_STATUS(gai("198.18.0.1", "65536", AF_UNSPEC, 0, &ai), STATUS_NOT_FOUND);

	h_test("no node with AI_PASSIVE: the unspecified address of each family (W7)");
	H_CHECK_STATUS(gai(NULL, "7", AF_UNSPEC, DPW_AI_PASSIVE, &ai), STATUS_SUCCESS);
	H_CHECK(entry_is(ai, AF_INET, "0.0.0.0", 7) && ai->ai_next != NULL &&
		entry_is(ai->ai_next, AF_INET6, "::", 7));
	free_ai(ai);

	h_test("neither node nor service, an unknown family, no result pointer: "
	       "STATUS_INVALID_PARAMETER; no IRP: STATUS_INVALID_PARAMETER, nothing completed "
	       "(WSK-R3, W7)");
	H_CHECK_STATUS(gai(NULL, NULL, AF_UNSPEC, 0, &ai), STATUS_INVALID_PARAMETER);
	H_CHECK_STATUS(gai("198.18.0.1", NULL, 99, 0, &ai), STATUS_INVALID_PARAMETER);
	{
		UNICODE_STRING n = U(0, "198.18.0.1");
		struct h_irp x;

		h_irp_init(&x);
		H_CHECK_STATUS(h_npi.Dispatch->WskGetAddressInfo(h_npi.Client, &n, NULL, NS_ALL,
								 NULL, NULL, NULL, NULL, NULL,
								 x.irp),
			       STATUS_INVALID_PARAMETER);
		H_CHECK(h_wait(&x, 2000) && x.status == STATUS_INVALID_PARAMETER);
		h_irp_free(&x);
		H_CHECK_STATUS(h_npi.Dispatch->WskGetAddressInfo(h_npi.Client, &n, NULL, NS_ALL,
								 NULL, NULL, &ai, NULL, NULL,
								 NULL),
			       STATUS_INVALID_PARAMETER);
	}

	h_test("WskGetNameInfo: the hosts file's first name and the port; NI_NUMERICHOST the "
	       "address; NI_NAMEREQD without a name STATUS_NOT_FOUND; a short buffer "
	       "STATUS_BUFFER_TOO_SMALL (W7)");
	{
		SOCKADDR_IN sa;
		SOCKADDR_IN6 sa6 = { 0 };
		WCHAR nb[64], sb[8], tiny[4];
		UNICODE_STRING node = { 0, sizeof(nb), nb }, svc = { 0, sizeof(sb), sb };
		UNICODE_STRING small = { 0, sizeof(tiny), tiny };

		h_sockaddr(&sa, inet_addr("198.18.0.1"), 8080);
		H_CHECK_STATUS(gni((SOCKADDR *)&sa, sizeof(sa), 0, &node, &svc), STATUS_SUCCESS);
		H_CHECK(u_is(&node, "peer.test") && u_is(&svc, "8080"));
		H_CHECK_STATUS(gni((SOCKADDR *)&sa, sizeof(sa), DPW_NI_NUMERICHOST, &node, NULL),
			       STATUS_SUCCESS);
		H_CHECK(u_is(&node, "198.18.0.1"));
		sa6.sin6_family = AF_INET6;
		inet_pton(PF_INET6, "2001:2::7", &sa6.sin6_addr);
		H_CHECK_STATUS(gni((SOCKADDR *)&sa6, sizeof(sa6), DPW_NI_NAMEREQD, &node, NULL),
			       STATUS_NOT_FOUND);
		H_CHECK_STATUS(gni((SOCKADDR *)&sa6, sizeof(sa6), 0, &node, NULL), STATUS_SUCCESS);
		H_CHECK(u_is(&node, "2001:2::7"));
		H_CHECK_STATUS(gni((SOCKADDR *)&sa, sizeof(sa), 0, &small, NULL),
			       STATUS_BUFFER_TOO_SMALL);
		H_CHECK_STATUS(gni((SOCKADDR *)&sa, 4, 0, &node, NULL), STATUS_INVALID_PARAMETER);
	}
	unlink(hosts);
	return h_finish();
}
