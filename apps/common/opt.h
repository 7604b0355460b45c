/* Option values every program parses the same way: numbers in a range, durations, and
 * endpoints of either IP family. Plain C, no DPDK: the Linux benchmark programs (bench/linux)
 * use it too, so both sides of a comparison accept the same command lines. Each returns 0, or
 * -1 with a one-line reason in err.
 *
 * Addresses come out as the host's sockets take them: a struct sockaddr_storage holding a
 * sockaddr_in (AF_INET) or a sockaddr_in6 with the host's IPv6 family number (PF_INET6), ready
 * for socket(), connect() and bind(). WSK programs hand them to the provider through
 * dpw_app_wsk_addr() (app.h), which puts in Windows' AF_INET6 (23). */
#ifndef DPW_OPT_H
#define DPW_OPT_H

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* A decimal number from min to max: "--NAME: 'VAL' is not a number from MIN to MAX". */
int dpw_app_parse_u64(const char *name, const char *val, uint64_t min, uint64_t max,
		      uint64_t *out, char *err, size_t errlen);
/* The same for a 32-bit field. */
int dpw_app_parse_u32(const char *name, const char *val, uint32_t min, uint32_t max,
		      uint32_t *out, char *err, size_t errlen);
/* A number of seconds (decimals allowed) from min to max. */
int dpw_app_parse_seconds(const char *name, const char *val, double min, double max,
			  double *out, char *err, size_t errlen);

/* One of words (NULL-terminated), its index in *out: "--NAME: 'VAL' is not a, b or c". */
int dpw_app_parse_choice(const char *name, const char *val, const char *const *words, int *out,
			 char *err, size_t errlen);

/* The endpoint syntax, for usage lines and messages. */
#define DPW_ENDPOINT_SYNTAX "A.B.C.D:PORT or [IPV6]:PORT"

/* A local endpoint: "A.B.C.D:PORT", "[IPV6]:PORT" (the unspecified address allowed: [::]:80),
 * or "PORT" alone (0.0.0.0:PORT); port 1-65535, no multicast address. The error reads
 * "'S': reason" (the caller prefixes what it was parsing). */
int dpw_app_parse_endpoint(const char *s, struct sockaddr_storage *ss, char *err,
			   size_t errlen);
/* A target to connect or send to: "A.B.C.D:PORT" or "[IPV6]:PORT" naming one host (not the
 * unspecified address, not a broadcast, multicast or IPv4-mapped one), port 1-65535. The
 * error reads "bad target 'S': reason". */
int dpw_app_parse_target(const char *s, struct sockaddr_storage *ss, char *err, size_t errlen);

/* The length to pass with a parsed address: sizeof(struct sockaddr_in) or of sockaddr_in6;
 * 0 for any other family. Either IPv6 number (the host's or Windows' 23) is understood. */
socklen_t dpw_app_addr_len(const struct sockaddr *sa);
/* Is it IPv6 (either number)? */
int dpw_app_addr_is_ipv6(const struct sockaddr *sa);
/* "A.B.C.D:PORT" or "[IPV6]:PORT" into buf (DPW_ENDPOINT_STRLEN bytes are enough); either
 * IPv6 number is understood. Returns buf. */
#define DPW_ENDPOINT_STRLEN (INET6_ADDRSTRLEN + 8)
char *dpw_app_format_endpoint(const struct sockaddr *sa, char *buf, size_t len);

#endif /* DPW_OPT_H */
