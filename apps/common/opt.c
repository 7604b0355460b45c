/* Option values every program parses the same way (see opt.h). */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "opt.h"

int dpw_app_parse_u64(const char *name, const char *val, uint64_t min, uint64_t max,
		      uint64_t *out, char *err, size_t errlen)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(val, &end, 10);
	/* strtoull would take leading blanks, a sign or "-1" wrapped round: digits only. */
	if (val[0] < '0' || val[0] > '9' || *end != '\0' || errno != 0 || v < min || v > max) {
		snprintf(err, errlen, "--%s: '%s' is not a number from %" PRIu64 " to %" PRIu64,
			 name, val, min, max);
		return -1;
	}
	*out = v;
	return 0;
}

int dpw_app_parse_u32(const char *name, const char *val, uint32_t min, uint32_t max,
		      uint32_t *out, char *err, size_t errlen)
{
	uint64_t v;

	if (dpw_app_parse_u64(name, val, min, max, &v, err, errlen) != 0)
		return -1;
	*out = (uint32_t)v;
	return 0;
}

int dpw_app_parse_seconds(const char *name, const char *val, double min, double max,
			  double *out, char *err, size_t errlen)
{
	char *end;
	double d;

	errno = 0;
	d = strtod(val, &end);
	if (val[0] < '0' || val[0] > '9' || *end != '\0' || errno != 0 || !isfinite(d) ||
	    d < min || d > max) {
		snprintf(err, errlen, "--%s: '%s' is not a number of seconds from %g to %g", name,
			 val, min, max);
		return -1;
	}
	*out = d;
	return 0;
}

int dpw_app_parse_choice(const char *name, const char *val, const char *const *words, int *out,
			 char *err, size_t errlen)
{
	size_t used;
	int n = 0;

	while (words[n] != NULL) {
		if (strcmp(val, words[n]) == 0) {
			*out = n;
			return 0;
		}
		n++;
	}
	used = (size_t)snprintf(err, errlen, "--%s: '%s' is not ", name, val);
	for (int i = 0; i < n && used < errlen; i++)
		used += (size_t)snprintf(err + used, errlen - used, "%s%s",
					 i == 0 ? "" : i == n - 1 ? " or " : ", ", words[i]);
	return -1;
}

/* Windows' AF_INET6 (wsk_api/include/sockaddr.h): addresses a WSK program already converted
 * may carry it. This file never includes that header, so AF_INET6 here is the host's. */
#define WSK_AF_INET6 23

int dpw_app_addr_is_ipv6(const struct sockaddr *sa)
{
	return sa != NULL && (sa->sa_family == AF_INET6 || sa->sa_family == WSK_AF_INET6);
}

socklen_t dpw_app_addr_len(const struct sockaddr *sa)
{
	if (dpw_app_addr_is_ipv6(sa))
		return sizeof(struct sockaddr_in6);
	return sa != NULL && sa->sa_family == AF_INET ? sizeof(struct sockaddr_in) : 0;
}

char *dpw_app_format_endpoint(const struct sockaddr *sa, char *buf, size_t len)
{
	char ip[INET6_ADDRSTRLEN];

	if (dpw_app_addr_is_ipv6(sa)) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;

		inet_ntop(AF_INET6, &s6->sin6_addr, ip, sizeof(ip));
		snprintf(buf, len, "[%s]:%u", ip, ntohs(s6->sin6_port));
	} else if (sa != NULL && sa->sa_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;

		inet_ntop(AF_INET, &s4->sin_addr, ip, sizeof(ip));
		snprintf(buf, len, "%s:%u", ip, ntohs(s4->sin_port));
	} else {
		snprintf(buf, len, "?");
	}
	return buf;
}

/* Parse "HOST:PORT" / "[V6]:PORT" (host optional unless need_host) into ss; on failure a
 * reason (without the input) in why. */
static int parse_endpoint(const char *s, struct sockaddr_storage *ss, bool need_host,
			  char *why, size_t whylen)
{
	char host[INET6_ADDRSTRLEN + 1], perr[8];
	const char *port_s = s, *colon;
	uint64_t port;
	size_t n;

	memset(ss, 0, sizeof(*ss));
	ss->ss_family = AF_INET;
	if (s[0] == '[') {
		const char *close = strchr(s, ']');
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

		if (close == NULL) {
			snprintf(why, whylen, "missing ']' after the IPv6 address");
			return -1;
		}
		n = (size_t)(close - s - 1);
		if (n == 0 || n >= sizeof(host)) {
			snprintf(why, whylen, "not an IPv6 address between '[' and ']'");
			return -1;
		}
		memcpy(host, s + 1, n);
		host[n] = '\0';
		if (inet_pton(AF_INET6, host, &s6->sin6_addr) != 1) {
			snprintf(why, whylen, "'%s' is not an IPv6 address", host);
			return -1;
		}
		s6->sin6_family = AF_INET6;
		if (close[1] != ':') {
			snprintf(why, whylen, "expected ':PORT' after ']'");
			return -1;
		}
		port_s = close + 2;
	} else if ((colon = strchr(s, ':')) != NULL) {
		struct sockaddr_in *s4 = (struct sockaddr_in *)ss;

		if (strchr(colon + 1, ':') != NULL) {
			snprintf(why, whylen, "an IPv6 address goes in brackets: [IPV6]:PORT");
			return -1;
		}
		n = (size_t)(colon - s);
		if (n >= sizeof(host) || (memcpy(host, s, n), host[n] = '\0',
					  inet_pton(AF_INET, host, &s4->sin_addr) != 1)) {
			snprintf(why, whylen, "'%.*s' is not an IPv4 address (A.B.C.D)",
				 (int)(n < 64 ? n : 64), s);
			return -1;
		}
		port_s = colon + 1;
	} else if (need_host) {
		snprintf(why, whylen, "expected " DPW_ENDPOINT_SYNTAX);
		return -1;
	}
	if (dpw_app_parse_u64("port", port_s, 1, 65535, &port, perr, sizeof(perr)) != 0) {
		snprintf(why, whylen, "port '%.16s' is not a number from 1 to 65535", port_s);
		return -1;
	}
	/* sin_port and sin6_port are at the same place. */
	((struct sockaddr_in *)ss)->sin_port = htons((uint16_t)port);
	return 0;
}

static bool is_multicast(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET6)
		return IN6_IS_ADDR_MULTICAST(&((const struct sockaddr_in6 *)ss)->sin6_addr);
	return IN_MULTICAST(ntohl(((const struct sockaddr_in *)ss)->sin_addr.s_addr));
}

int dpw_app_parse_endpoint(const char *s, struct sockaddr_storage *ss, char *err,
			   size_t errlen)
{
	char why[128];

	if (s == NULL || parse_endpoint(s, ss, false, why, sizeof(why)) != 0) {
		snprintf(err, errlen, "'%s': %s", s ? s : "", s ? why : "missing");
		return -1;
	}
	if (is_multicast(ss)) {
		snprintf(err, errlen, "'%s': a multicast address is not a local address", s);
		return -1;
	}
	return 0;
}

int dpw_app_parse_target(const char *s, struct sockaddr_storage *ss, char *err, size_t errlen)
{
	char why[128];

	if (s == NULL) {
		snprintf(err, errlen, "no target: expected " DPW_ENDPOINT_SYNTAX);
		return -1;
	}
	if (parse_endpoint(s, ss, true, why, sizeof(why)) == 0) {
		if (ss->ss_family == AF_INET6) {
			const struct in6_addr *a = &((const struct sockaddr_in6 *)ss)->sin6_addr;

			if (IN6_IS_ADDR_UNSPECIFIED(a))
				snprintf(why, sizeof(why), "the unspecified address :: names no host");
			else if (IN6_IS_ADDR_MULTICAST(a))
				snprintf(why, sizeof(why), "a multicast address names no one host");
			else if (IN6_IS_ADDR_V4MAPPED(a))
				snprintf(why, sizeof(why), "an IPv4-mapped address: give A.B.C.D:PORT");
			else
				return 0;
		} else {
			uint32_t a = ntohl(((const struct sockaddr_in *)ss)->sin_addr.s_addr);

			if (a == INADDR_ANY)
				snprintf(why, sizeof(why), "the unspecified address 0.0.0.0 names no host");
			else if (a == INADDR_BROADCAST)
				snprintf(why, sizeof(why), "the broadcast address names no one host");
			else if (IN_MULTICAST(a))
				snprintf(why, sizeof(why), "a multicast address names no one host");
			else
				return 0;
		}
	}
	snprintf(err, errlen, "bad target '%s': %s", s, why);
	return -1;
}
