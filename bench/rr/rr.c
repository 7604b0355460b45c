/* Options, counters and output shared by dpwsk-bench-rr and linux-rr (see rr.h). */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "opt.h"
#include "rr.h"

/* ---- options ------------------------------------------------------------------------------ */

/* --mode's words, in the order of enum rr_mode. */
static const char *const mode_names[] = { "rr", "bulk", NULL };

static int set_mode(void *ctx, const char *val, char *err, size_t errlen)
{
	int m;

	if (dpw_app_parse_choice("mode", val, mode_names, &m, err, errlen) != 0)
		return -1;
	((struct rr_config *)ctx)->mode = (enum rr_mode)m;
	return 0;
}

static int set_duration(void *ctx, const char *val, char *err, size_t errlen)
{
	return dpw_app_parse_seconds("duration", val, 0.1, RR_MAX_DURATION_S,
				     &((struct rr_config *)ctx)->duration_s, err, errlen);
}

static int set_connections(void *ctx, const char *val, char *err, size_t errlen)
{
	struct rr_config *c = ctx;

	return dpw_app_parse_u32("connections", val, 1, RR_MAX_CONNECTIONS, &c->connections, err,
			 errlen);
}

static int set_size(void *ctx, const char *val, char *err, size_t errlen)
{
	struct rr_config *c = ctx;

	c->size_given = true;
	return dpw_app_parse_u32("size", val, 1, RR_MAX_SIZE, &c->size, err, errlen);
}

static int set_inflight(void *ctx, const char *val, char *err, size_t errlen)
{
	struct rr_config *c = ctx;

	c->inflight_given = true;
	return dpw_app_parse_u32("inflight", val, 1, RR_MAX_INFLIGHT, &c->inflight, err, errlen);
}

static int set_json(void *ctx, const char *val, char *err, size_t errlen)
{
	struct rr_config *c = ctx;

	(void)val;
	(void)err;
	(void)errlen;
	c->json = true;
	return 0;
}

const struct dpw_cli_opt rr_opts[RR_NOPTS] = {
	{ "mode", true, "rr|bulk", "rr: request/response latency against an echo server "
	  "(default); bulk: throughput to a discard server", set_mode },
	{ "duration", true, "S", "seconds measured, once every connection is up (default 5, "
	  "0.1 to 3600)", set_duration },
	{ "connections", true, "N", "persistent connections (default 1, at most 1024)",
	  set_connections },
	{ "size", true, "B", "bytes per request (rr, default 1) or per send (bulk, default "
	  "65536); at most 1048576", set_size },
	{ "inflight", true, "K", "bulk: sends outstanding per connection (default 4, at most "
	  "64); linux-rr accepts it and lets the socket buffer bound what is outstanding",
	  set_inflight },
	{ "json", false, NULL, "print the summary as one JSON object on one line", set_json },
	{ NULL, false, NULL, NULL, NULL },
};

void rr_config_defaults(struct rr_config *c)
{
	memset(c, 0, sizeof(*c));
	c->mode = RR_MODE_RR;
	c->duration_s = 5.0;
	c->connections = 1;
	c->inflight = RR_DEFAULT_INFLIGHT;
}

int rr_config_finish(struct rr_config *c, const char *target, char *err, size_t errlen)
{
	if (dpw_app_parse_target(target, &c->remote, err, errlen) != 0)
		return -1;
	if (!c->size_given)
		c->size = c->mode == RR_MODE_RR ? RR_DEFAULT_RR_SIZE : RR_DEFAULT_BULK_SIZE;
	if (c->mode == RR_MODE_RR && c->inflight_given) {
		/* A round trip is one request at a time; pipelining would measure something
		 * else. */
		snprintf(err, errlen, "--inflight applies to --mode bulk only");
		return -1;
	}
	if (c->mode == RR_MODE_RR &&
	    (uint64_t)c->connections * c->size * 2 > RR_MAX_RR_MEMORY) {
		snprintf(err, errlen, "--connections %" PRIu32 " x --size %" PRIu32 " needs more "
			 "than %u MiB of buffers", c->connections, c->size, RR_MAX_RR_MEMORY >> 20);
		return -1;
	}
	c->target = target;
	return 0;
}

const char *rr_mode_name(enum rr_mode m)
{
	return (unsigned)m <= RR_MODE_BULK ? mode_names[m] : "?";
}

static int validate(void *ctx, char *err, size_t errlen)
{
	struct rr_config *c = ctx;

	return rr_config_finish(c, c->target, err, errlen);
}

struct dpw_cli rr_cli(struct rr_config *c)
{
	return (struct dpw_cli){
		.synopsis = "[--mode rr|bulk] [--duration S] [--connections N] [--size B] "
			    "[--inflight K] [--json] A.B.C.D:PORT|[IPV6]:PORT",
		.opts = rr_opts, .ctx = c, .operand_name = "target", .operand = &c->target,
		.validate = validate,
	};
}

char *rr_take_target(int *argc, char **argv, char *err, size_t errlen)
{
	int last = *argc - 1;
	char *target;

	for (int i = 1; i < *argc; i++)
		if (strcmp(argv[i], "--") == 0) {
			last = i - 1;
			break;
		}
	/* A missing target leaves an option or its value last: "5" or "198.18.0.2/24" has no
	 * ':' and is refused here; a PCI address ("--port 0000:03:00.0") is taken, which leaves
	 * --port without its value, refused by the option parser. Either way one line, exit 2. */
	if (last < 1 || argv[last][0] == '-' || strchr(argv[last], ':') == NULL) {
		snprintf(err, errlen, "give the server as " DPW_ENDPOINT_SYNTAX ", the last argument "
			 "(see --help)");
		return NULL;
	}
	target = argv[last];
	memmove(&argv[last], &argv[last + 1], (size_t)(*argc - last) * sizeof(*argv));
	(*argc)--;
	return target;
}

/* ---- counters and output ------------------------------------------------------------------ */

uint64_t rr_now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

static void cpu_used(double *user, double *sys)
{
	struct rusage ru;

	*user = *sys = 0;
	if (getrusage(RUSAGE_SELF, &ru) == 0) {
		*user = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6;
		*sys = (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
	}
}

void rr_stats_init(struct rr_stats *s)
{
	memset(s, 0, sizeof(*s));
	dpw_hist_init(&s->lat_ns);
	s->deadline = UINT64_MAX;
}

void rr_stats_begin(struct rr_stats *s, const struct rr_config *c)
{
	cpu_used(&s->cpu_user_s, &s->cpu_sys_s);
	s->t_start = rr_now_ns();
	s->deadline = s->t_start + (uint64_t)(c->duration_s * 1e9);
}

void rr_stop_now(struct rr_stats *s, uint64_t now)
{
	if (now < s->deadline)
		s->deadline = now;
}

void rr_error(struct rr_stats *s, const char *name)
{
	if (s->errors++ == 0)
		snprintf(s->first_error, sizeof(s->first_error), "%s", name);
}

void rr_stats_end(struct rr_stats *s)
{
	double user, sys;

	cpu_used(&user, &sys);
	s->cpu_user_s = user - s->cpu_user_s;
	s->cpu_sys_s = sys - s->cpu_sys_s;
}

static double us(uint64_t ns)
{
	return (double)ns / 1000.0;
}

void rr_summary(const struct rr_config *c, const struct rr_stats *s, const char *program)
{
	/* A run that never started (every connect failed) has no length. */
	double elapsed = s->t_start != 0 && s->deadline > s->t_start ?
			 (double)(s->deadline - s->t_start) / 1e9 : 0;
	double cpu = s->cpu_user_s + s->cpu_sys_s;
	const struct dpw_hist *h = &s->lat_ns;

	if (c->mode == RR_MODE_RR) {
		double rate = elapsed > 0 ? (double)s->transactions / elapsed : 0;

		printf(c->json ?
		       "{\"program\":\"%s\",\"mode\":\"rr\",\"target\":\"%s\",\"connections\":%"
		       PRIu32 ",\"size\":%" PRIu32 ",\"duration_s\":%.3f,\"transactions\":%" PRIu64
		       ",\"rate\":%.1f,\"rate_unit\":\"tx/s\",\"p50_us\":%.1f,\"p99_us\":%.1f,"
		       "\"p999_us\":%.1f,\"max_us\":%.1f,\"mean_us\":%.1f,\"cpu_s\":%.3f,"
		       "\"errors\":%" PRIu64 :
		       "rr: program=%s mode=rr target=%s connections=%" PRIu32 " size=%" PRIu32
		       " duration_s=%.3f transactions=%" PRIu64 " rate=%.1f tx/s p50_us=%.1f"
		       " p99_us=%.1f p999_us=%.1f max_us=%.1f mean_us=%.1f cpu_s=%.3f"
		       " errors=%" PRIu64,
		       program, c->target, c->connections, c->size, elapsed, s->transactions, rate,
		       us(dpw_hist_quantile(h, 0.50)), us(dpw_hist_quantile(h, 0.99)),
		       us(dpw_hist_quantile(h, 0.999)), us(h->count ? h->max : 0),
		       dpw_hist_mean(h) / 1000.0, cpu, s->errors);
	} else {
		double mbs = elapsed > 0 ? (double)s->bytes / elapsed / 1e6 : 0;

		printf(c->json ?
		       "{\"program\":\"%s\",\"mode\":\"bulk\",\"target\":\"%s\",\"connections\":%"
		       PRIu32 ",\"size\":%" PRIu32 ",\"inflight\":%" PRIu32 ",\"duration_s\":%.3f,"
		       "\"bytes\":%" PRIu64 ",\"rate\":%.1f,\"rate_unit\":\"MB/s\",\"gbit_s\":%.3f,"
		       "\"cpu_s\":%.3f,\"errors\":%" PRIu64 :
		       "rr: program=%s mode=bulk target=%s connections=%" PRIu32 " size=%" PRIu32
		       " inflight=%" PRIu32 " duration_s=%.3f bytes=%" PRIu64 " rate=%.1f MB/s"
		       " gbit_s=%.3f cpu_s=%.3f errors=%" PRIu64,
		       program, c->target, c->connections, c->size, c->inflight, elapsed, s->bytes,
		       mbs, mbs * 8 / 1000, cpu, s->errors);
	}
	/* Error names are status or errno names: nothing to escape. */
	if (s->errors != 0)
		printf(c->json ? ",\"first_error\":\"%s\"" : " first_error=%s", s->first_error);
	printf(c->json ? "}\n" : "\n");
	fflush(stdout);
}
