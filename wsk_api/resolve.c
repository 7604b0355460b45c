/* WskGetAddressInfo, WskFreeAddressInfo, WskGetNameInfo, on the caller's thread: numeric
 * addresses, and names in /etc/hosts. No DNS: the stack owns its port and sends nothing it
 * was not asked to, and the host's resolver would reach its network through the kernel's
 * stack, not this one. A name found nowhere is STATUS_NOT_FOUND. Services are port numbers
 * (a name such as "http" is STATUS_NOT_FOUND too). Results carry Windows' family numbers. */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "provider_internal.h"

#define HOSTS_FILE "/etc/hosts"
#define NAME_MAX_LEN 255
#define MAX_RESULTS 16

/* Where /etc/hosts is read (a test may point it elsewhere: DPW_HOSTS_FILE). */
static const char *hosts_file(void)
{
	const char *f = getenv("DPW_HOSTS_FILE");

	return f != NULL && *f != '\0' ? f : HOSTS_FILE;
}

/* UTF-16 to ASCII; false for anything else, or too long. */
static bool ascii_of(const UNICODE_STRING *u, char *out, size_t cap)
{
	size_t n = u->Length / sizeof(WCHAR);

	if (u->Buffer == NULL || n == 0 || n >= cap)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (u->Buffer[i] == 0 || u->Buffer[i] > 0x7e)
			return false;
		out[i] = (char)u->Buffer[i];
	}
	out[n] = '\0';
	return true;
}

static bool utf16_into(PUNICODE_STRING u, const char *s)
{
	size_t n = strlen(s);

	if (u == NULL || u->Buffer == NULL || (n + 1) * sizeof(WCHAR) > u->MaximumLength)
		return false;
	for (size_t i = 0; i <= n; i++)
		u->Buffer[i] = (WCHAR)(unsigned char)s[i];
	u->Length = (USHORT)(n * sizeof(WCHAR));
	return true;
}

/* One address found: family in Windows' numbering and its bytes. */
struct found {
	ADDRESS_FAMILY af;
	unsigned char addr[16];
};

static bool parse_numeric(const char *s, struct found *f)
{
	if (inet_pton(PF_INET, s, f->addr) == 1) {
		f->af = DPW_AF_INET;
		return true;
	}
	if (inet_pton(PF_INET6, s, f->addr) == 1) {
		f->af = DPW_AF_INET6;
		return true;
	}
	return false;
}

static bool family_wanted(int hint, ADDRESS_FAMILY af)
{
	return hint == DPW_AF_UNSPEC || hint == (int)af;
}

/* Addresses listed for name in the hosts file, in file order: how many (up to max). */
static unsigned from_hosts(const char *name, int family, struct found *out, unsigned max)
{
	FILE *f = fopen(hosts_file(), "r");
	char line[1024];
	unsigned n = 0;

	if (f == NULL)
		return 0;
	while (n < max && fgets(line, sizeof(line), f) != NULL) {
		char *save = NULL, *addr, *tok;
		struct found a;

		line[strcspn(line, "#\n")] = '\0';
		addr = strtok_r(line, " \t", &save);
		if (addr == NULL || !parse_numeric(addr, &a) || !family_wanted(family, a.af))
			continue;
		while ((tok = strtok_r(NULL, " \t", &save)) != NULL)
			if (strcasecmp(tok, name) == 0) {
				out[n++] = a;
				break;
			}
	}
	fclose(f);
	return n;
}

/* The first name the hosts file gives addr, into out; false if none. */
static bool name_in_hosts(const struct found *addr, char *out, size_t cap)
{
	FILE *f = fopen(hosts_file(), "r");
	char line[1024];
	bool hit = false;

	if (f == NULL)
		return false;
	while (!hit && fgets(line, sizeof(line), f) != NULL) {
		char *save = NULL, *a = NULL, *name;
		struct found x;

		line[strcspn(line, "#\n")] = '\0';
		a = strtok_r(line, " \t", &save);
		if (a == NULL || !parse_numeric(a, &x) || x.af != addr->af ||
		    memcmp(x.addr, addr->addr, x.af == DPW_AF_INET ? 4 : 16) != 0)
			continue;
		if ((name = strtok_r(NULL, " \t", &save)) != NULL && strlen(name) < cap) {
			strcpy(out, name);
			hit = true;
		}
	}
	fclose(f);
	return hit;
}

/* A port number, 0-65535, digits only. */
static bool parse_port(const char *s, uint16_t *port)
{
	unsigned long v = 0;

	if (*s == '\0')
		return false;
	for (; *s != '\0'; s++) {
		if (!isdigit((unsigned char)*s) || (v = v * 10 + (unsigned long)(*s - '0')) > 65535)
			return false;
	}
	*port = (uint16_t)v;
	return true;
}

/* One result entry with its address in the same allocation. */
struct entry {
	ADDRINFOEXW ai;
	union {
		SOCKADDR_IN v4;
		SOCKADDR_IN6 v6;
	} sa;
};

static PADDRINFOEXW build(const struct found *f, unsigned n, uint16_t port,
			  const ADDRINFOEXW *hints)
{
	PADDRINFOEXW head = NULL, *tail = &head;

	for (unsigned i = 0; i < n; i++) {
		struct entry *e = calloc(1, sizeof(*e));

		if (e == NULL) {
			dpw_free_address_info(NULL, head);
			return NULL;
		}
		e->ai.ai_family = f[i].af;
		e->ai.ai_socktype = hints != NULL ? hints->ai_socktype : 0;
		e->ai.ai_protocol = hints != NULL ? hints->ai_protocol : 0;
		e->ai.ai_addr = (struct sockaddr *)&e->sa;
		if (f[i].af == DPW_AF_INET) {
			e->sa.v4.sin_family = DPW_AF_INET;
			e->sa.v4.sin_port = htons(port);
			memcpy(&e->sa.v4.sin_addr, f[i].addr, 4);
			e->ai.ai_addrlen = sizeof(e->sa.v4);
		} else {
			e->sa.v6.sin6_family = DPW_AF_INET6;
			e->sa.v6.sin6_port = htons(port);
			memcpy(&e->sa.v6.sin6_addr, f[i].addr, 16);
			e->ai.ai_addrlen = sizeof(e->sa.v6);
		}
		*tail = &e->ai;
		tail = &e->ai.ai_next;
	}
	return head;
}

/* What the call answers, its IRP completed with it (W2: at once, on this thread). */
static NTSTATUS finish(struct dpw_client *c, PIRP irp, NTSTATUS st)
{
	return dpw_fail_taken(c, irp, st);
}

NTSTATUS dpw_get_address_info(PWSK_CLIENT Client, PUNICODE_STRING NodeName,
			      PUNICODE_STRING ServiceName, ULONG NameSpace, GUID *Provider,
			      PADDRINFOEXW Hints, PADDRINFOEXW *Result, PIRP Irp)
{
	struct dpw_client *c = dpw_client_from_handle(Client);
	char node[NAME_MAX_LEN + 1], service[16];
	struct found f[MAX_RESULTS];
	int family = Hints != NULL ? Hints->ai_family : DPW_AF_UNSPEC;
	int flags = Hints != NULL ? Hints->ai_flags : 0;
	uint16_t port = 0;
	unsigned n = 0;

	if (DpwStartIrp(Irp) != STATUS_SUCCESS)
		return STATUS_INVALID_PARAMETER;   /* R3: no IRP, nothing completed */
	if (Client == NULL)
		return finish(c, Irp, STATUS_INVALID_HANDLE);   /* W3 */
	if (c == NULL)
		return finish(c, Irp, STATUS_DEVICE_NOT_READY);
	if (Result == NULL || Provider != NULL || (NameSpace != NS_ALL && NameSpace != NS_DNS) ||
	    (NodeName == NULL && ServiceName == NULL) ||
	    (family != DPW_AF_UNSPEC && family != DPW_AF_INET && family != DPW_AF_INET6))
		return finish(c, Irp, STATUS_INVALID_PARAMETER);
	*Result = NULL;
	if (ServiceName != NULL &&
	    (!ascii_of(ServiceName, service, sizeof(service)) || !parse_port(service, &port)))
		return finish(c, Irp, STATUS_NOT_FOUND);
	if (NodeName == NULL) {
		/* No node: the unspecified address for a bind (AI_PASSIVE); without it Windows
		 * gives loopback, which this stack does not have. */
		if (!(flags & DPW_AI_PASSIVE))
			return finish(c, Irp, STATUS_NOT_FOUND);
		if (family_wanted(family, DPW_AF_INET))
			f[n++] = (struct found){ .af = DPW_AF_INET };
		if (family_wanted(family, DPW_AF_INET6))
			f[n++] = (struct found){ .af = DPW_AF_INET6 };
	} else if (!ascii_of(NodeName, node, sizeof(node))) {
		return finish(c, Irp, STATUS_INVALID_PARAMETER);
	} else if (parse_numeric(node, &f[0])) {
		n = family_wanted(family, f[0].af) ? 1 : 0;
	} else if (!(flags & DPW_AI_NUMERICHOST)) {
		n = from_hosts(node, family, f, MAX_RESULTS);
	}
	if (n == 0)
		return finish(c, Irp, STATUS_NOT_FOUND);
	if ((*Result = build(f, n, port, Hints)) == NULL)
		return finish(c, Irp, STATUS_INSUFFICIENT_RESOURCES);
	return finish(c, Irp, STATUS_SUCCESS);
}

VOID dpw_free_address_info(PWSK_CLIENT Client, PADDRINFOEXW AddrInfo)
{
	(void)Client;
	while (AddrInfo != NULL) {
		PADDRINFOEXW next = AddrInfo->ai_next;

		free(AddrInfo);   /* the entry's first member: one allocation each */
		AddrInfo = next;
	}
}

NTSTATUS dpw_get_name_info(PWSK_CLIENT Client, PSOCKADDR SockAddr, ULONG SockAddrLength,
			   PUNICODE_STRING NodeName, PUNICODE_STRING ServiceName, ULONG Flags,
			   PIRP Irp)
{
	struct dpw_client *c = dpw_client_from_handle(Client);
	char text[INET6_ADDRSTRLEN + 1], name[NAME_MAX_LEN + 1], port[8];
	struct found f = { 0 };
	ULONG len = DpwSockaddrLength(SockAddr);

	if (DpwStartIrp(Irp) != STATUS_SUCCESS)
		return STATUS_INVALID_PARAMETER;
	if (Client == NULL)
		return finish(c, Irp, STATUS_INVALID_HANDLE);
	if (c == NULL)
		return finish(c, Irp, STATUS_DEVICE_NOT_READY);
	if (len == 0 || SockAddrLength < len || (NodeName == NULL && ServiceName == NULL))
		return finish(c, Irp, STATUS_INVALID_PARAMETER);
	f.af = DpwSockaddrFamily(SockAddr);
	if (f.af == DPW_AF_INET)
		memcpy(f.addr, &((const SOCKADDR_IN *)SockAddr)->sin_addr, 4);
	else
		memcpy(f.addr, &((const SOCKADDR_IN6 *)SockAddr)->sin6_addr, 16);
	if (NodeName != NULL) {
		bool named = !(Flags & DPW_NI_NUMERICHOST) && name_in_hosts(&f, name, sizeof(name));

		if (!named && (Flags & DPW_NI_NAMEREQD))
			return finish(c, Irp, STATUS_NOT_FOUND);
		inet_ntop(f.af == DPW_AF_INET ? PF_INET : PF_INET6, f.addr, text, sizeof(text));
		if (!utf16_into(NodeName, named ? name : text))
			return finish(c, Irp, STATUS_BUFFER_TOO_SMALL);
	}
	if (ServiceName != NULL) {
		snprintf(port, sizeof(port), "%u",
			 ntohs(f.af == DPW_AF_INET ? ((const SOCKADDR_IN *)SockAddr)->sin_port
						   : ((const SOCKADDR_IN6 *)SockAddr)->sin6_port));
		if (!utf16_into(ServiceName, port))
			return finish(c, Irp, STATUS_BUFFER_TOO_SMALL);
	}
	return finish(c, Irp, STATUS_SUCCESS);
}
