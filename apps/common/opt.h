/* Option values every program parses the same way: numbers in a range, durations, and
 * IPv4 endpoints. Plain C, no DPDK: the Linux benchmark programs (bench/linux) use it too, so
 * both sides of a comparison accept the same command lines. Each returns 0, or -1 with a
 * one-line reason in err. */
#ifndef DPW_OPT_H
#define DPW_OPT_H

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>

/* A decimal number from min to max: "--NAME: 'VAL' is not a number from MIN to MAX". */
int dpw_app_parse_u64(const char *name, const char *val, uint64_t min, uint64_t max,
		      uint64_t *out, char *err, size_t errlen);
/* The same for a 32-bit field. */
int dpw_app_parse_u32(const char *name, const char *val, uint32_t min, uint32_t max,
		      uint32_t *out, char *err, size_t errlen);
/* A number of seconds (decimals allowed) from min to max. */
int dpw_app_parse_seconds(const char *name, const char *val, double min, double max,
			  double *out, char *err, size_t errlen);
/* "A.B.C.D:PORT", or "PORT" alone (address 0.0.0.0): a local endpoint. */
int dpw_app_parse_endpoint(const char *s, struct sockaddr_in *sa);
/* "A.B.C.D:PORT" naming one host (not 0.0.0.0 nor the broadcast address), port 1-65535: a
 * target to connect to. */
int dpw_app_parse_target(const char *s, struct sockaddr_in *sa, char *err, size_t errlen);

#endif /* DPW_OPT_H */
