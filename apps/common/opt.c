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

/* Split "HOST:PORT" (host optional unless need_host) into sa. */
static int parse_endpoint(const char *s, struct sockaddr_in *sa, bool need_host)
{
	const char *colon = strrchr(s, ':');
	char host[INET_ADDRSTRLEN], err[8];
	uint64_t port;

	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	if (colon != NULL) {
		if ((size_t)(colon - s) >= sizeof(host))
			return -1;
		memcpy(host, s, (size_t)(colon - s));
		host[colon - s] = '\0';
		if (inet_pton(AF_INET, host, &sa->sin_addr) != 1)
			return -1;
		s = colon + 1;
	} else if (need_host) {
		return -1;
	}
	if (dpw_app_parse_u64("port", s, 1, 65535, &port, err, sizeof(err)) != 0)
		return -1;
	sa->sin_port = htons((uint16_t)port);
	return 0;
}

int dpw_app_parse_endpoint(const char *s, struct sockaddr_in *sa)
{
	return parse_endpoint(s, sa, false);
}

int dpw_app_parse_target(const char *s, struct sockaddr_in *sa, char *err, size_t errlen)
{
	if (s == NULL || parse_endpoint(s, sa, true) != 0 ||
	    sa->sin_addr.s_addr == htonl(INADDR_ANY) ||
	    sa->sin_addr.s_addr == htonl(INADDR_BROADCAST)) {
		snprintf(err, errlen, "bad target '%s': expected A.B.C.D:PORT", s ? s : "");
		return -1;
	}
	return 0;
}
