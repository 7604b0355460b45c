/* Options, counters and output shared by the two connect/close load generators (see cc.h). */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "cc.h"
#include "opt.h"

/* ---- options ------------------------------------------------------------------------------ */

/* --mode's words, in the order of enum cc_mode. */
static const char *const mode_names[] = { "rst", "graceful", "exchange", NULL };

static int set_concurrency(void *ctx, const char *val, char *err, size_t errlen)
{
	struct cc_config *c = ctx;
	uint64_t v;

	if (dpw_app_parse_u64("concurrency", val, 1, CC_MAX_CONCURRENCY, &v, err, errlen) != 0)
		return -1;
	c->concurrency = (uint32_t)v;
	return 0;
}

static int set_cycles(void *ctx, const char *val, char *err, size_t errlen)
{
	struct cc_config *c = ctx;

	return dpw_app_parse_u64("cycles", val, 1, CC_MAX_CYCLES, &c->cycles, err, errlen);
}

static int set_duration(void *ctx, const char *val, char *err, size_t errlen)
{
	return dpw_app_parse_seconds("duration", val, CC_MIN_DURATION_S, CC_MAX_DURATION_S,
				     &((struct cc_config *)ctx)->duration_s, err, errlen);
}

static int set_mode(void *ctx, const char *val, char *err, size_t errlen)
{
	int m;

	if (dpw_app_parse_choice("mode", val, mode_names, &m, err, errlen) != 0)
		return -1;
	((struct cc_config *)ctx)->mode = (enum cc_mode)m;
	return 0;
}

static int set_bytes(void *ctx, const char *val, char *err, size_t errlen)
{
	struct cc_config *c = ctx;
	uint64_t v;

	if (dpw_app_parse_u64("bytes", val, 1, CC_MAX_BYTES, &v, err, errlen) != 0)
		return -1;
	c->bytes = (uint32_t)v;
	return 0;
}

static int set_rate(void *ctx, const char *val, char *err, size_t errlen)
{
	return dpw_app_parse_u64("rate", val, 1, CC_MAX_RATE, &((struct cc_config *)ctx)->rate,
				 err, errlen);
}

static int set_fixed_window(void *ctx, const char *val, char *err, size_t errlen)
{
	(void)val;
	(void)err;
	(void)errlen;
	((struct cc_config *)ctx)->fixed_window = true;
	return 0;
}

static int set_json(void *ctx, const char *val, char *err, size_t errlen)
{
	struct cc_config *c = ctx;

	(void)val;
	(void)err;
	(void)errlen;
	c->json = true;
	return 0;
}

const struct dpw_cli_opt cc_opts[] = {
	{ "concurrency", true, "N", "connections in flight (default 16, at most 16384)",
	  set_concurrency },
	{ "cycles", true, "C", "stop after C connect/close cycles", set_cycles },
	{ "duration", true, "SECS", "stop after this long (whichever of --cycles and "
	  "--duration comes first; give at least one)", set_duration },
	{ "mode", true, "MODE", "rst: close as soon as connected (default); "
	  "graceful: disconnect, wait for the peer's FIN, close; exchange: send K bytes, read "
	  "K back, close", set_mode },
	{ "bytes", true, "K", "bytes sent and expected back per cycle in exchange mode "
	  "(default 1, at most 65536)", set_bytes },
	{ "rate", true, "N", "open loop: start N connections a second on a fixed schedule, "
	  "at most --concurrency in flight; connect latency counts from each one's scheduled "
	  "start", set_rate },
	{ "fixed-window", false, NULL, "closed loop: exactly --concurrency connects in flight, "
	  "each slot waiting for its own (default: a connect not done within the measured "
	  "connect time + 4 deviations, at least 2 ms, is taken as a lost SYN; it leaves the "
	  "window, which halves, and a spare slot goes on)", set_fixed_window },
	{ "json", false, NULL, "print the final summary as one JSON object on one line",
	  set_json },
	{ NULL, false, NULL, NULL, NULL },
};

void cc_config_defaults(struct cc_config *c)
{
	memset(c, 0, sizeof(*c));
	c->concurrency = 16;
	c->mode = CC_MODE_RST;
	c->bytes = 1;
}

static int validate(void *ctx, char *err, size_t errlen)
{
	struct cc_config *c = ctx;

	if (c->target == NULL) {
		snprintf(err, errlen,
			 "no target given: expected " DPW_ENDPOINT_SYNTAX " (see --help)");
		return -1;
	}
	if (dpw_app_parse_target(c->target, &c->remote, err, errlen) != 0)
		return -1;
	if (c->cycles == 0 && c->duration_s == 0) {
		snprintf(err, errlen, "give --cycles C or --duration SECONDS (or both)");
		return -1;
	}
	return 0;
}

struct dpw_cli cc_cli(struct cc_config *c)
{
	return (struct dpw_cli){
		.synopsis = "[--concurrency N] [--cycles C] [--duration SECS] "
			    "[--mode rst|graceful|exchange] [--bytes K] [--rate N] [--fixed-window] "
			    "[--json] A.B.C.D:PORT|[IPV6]:PORT",
		.opts = cc_opts, .ctx = c, .operand_name = "target", .operand = &c->target,
		.validate = validate,
	};
}

const char *cc_mode_name(enum cc_mode m)
{
	return (unsigned)m <= CC_MODE_EXCHANGE ? mode_names[m] : "?";
}

/* ---- counters and output ------------------------------------------------------------------ */

uint64_t cc_now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

void cc_stats_init(struct cc_stats *s, const struct cc_config *c)
{
	memset(s, 0, sizeof(*s));
	/* The open loop's schedule, not a window, sets its pace. */
	cc_window_init(&s->window, c->concurrency, c->fixed_window || c->rate != 0);
	dpw_hist_init(&s->connect_ns);
	dpw_hist_init(&s->close_ns);
	snprintf(s->kinds[CC_MAX_ERROR_KINDS].name, sizeof(s->kinds[0].name), "other");
}

static void add_errors(struct cc_stats *s, const char *name, uint64_t n)
{
	unsigned k;

	s->errors += n;
	for (k = 0; k < s->nkinds; k++)
		if (strcmp(s->kinds[k].name, name) == 0)
			break;
	if (k == s->nkinds) {
		if (s->nkinds == CC_MAX_ERROR_KINDS) {
			s->kinds[CC_MAX_ERROR_KINDS].n += n;   /* more kinds than slots: lumped */
			return;
		}
		snprintf(s->kinds[k].name, sizeof(s->kinds[k].name), "%s", name);
		s->nkinds++;
	}
	s->kinds[k].n += n;
}

void cc_error(struct cc_stats *s, const char *name)
{
	add_errors(s, name, 1);
}

void cc_stats_merge(struct cc_stats *dst, const struct cc_stats *src)
{
	dst->started += src->started;
	dst->cycles += src->cycles;
	dst->open += src->open;
	/* Errors by kind, through cc_error so that the kinds merge by name. */
	for (unsigned k = 0; k < src->nkinds; k++)
		add_errors(dst, src->kinds[k].name, src->kinds[k].n);
	if (src->kinds[CC_MAX_ERROR_KINDS].n > 0) {
		dst->errors += src->kinds[CC_MAX_ERROR_KINDS].n;
		dst->kinds[CC_MAX_ERROR_KINDS].n += src->kinds[CC_MAX_ERROR_KINDS].n;
	}
	dpw_hist_merge(&dst->connect_ns, &src->connect_ns);
	dpw_hist_merge(&dst->close_ns, &src->close_ns);
	if (dst->t_start == 0 || (src->t_start != 0 && src->t_start < dst->t_start))
		dst->t_start = src->t_start;
	if (src->t_end > dst->t_end)
		dst->t_end = src->t_end;
	dst->late += src->late;
	if (src->max_lag_ns > dst->max_lag_ns)
		dst->max_lag_ns = src->max_lag_ns;
	dst->window.late += src->window.late;
	dst->window.spurious += src->window.spurious;
	dst->window.cuts += src->window.cuts;
}

void cc_progress(struct cc_stats *s, uint64_t now)
{
	double dt;

	if (s->last_tick == 0) {
		s->last_tick = now;
		return;
	}
	if (now - s->last_tick < 1000000000u)
		return;
	dt = (double)(now - s->last_tick) / 1e9;
	printf("connclose: t=%.1f cycles=%" PRIu64 " rate=%.0f/s errors=%" PRIu64
	       " open=%" PRIu64 "\n",
	       (double)(now - s->t_start) / 1e9, s->cycles,
	       (double)(s->cycles - s->last_cycles) / dt, s->errors, s->open);
	fflush(stdout);
	s->last_tick = now;
	s->last_cycles = s->cycles;
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

void cc_stats_begin(struct cc_stats *s)
{
	s->t_start = s->t_end = s->last_tick = cc_now_ns();
	cpu_used(&s->cpu_user_s, &s->cpu_sys_s);
}

void cc_stats_end(struct cc_stats *s)
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

static void print_latency_text(const char *what, const struct dpw_hist *h)
{
	printf("connclose: %s_us p50=%.1f p99=%.1f p99.9=%.1f max=%.1f mean=%.1f n=%" PRIu64
	       "\n", what, us(dpw_hist_quantile(h, 0.50)), us(dpw_hist_quantile(h, 0.99)),
	       us(dpw_hist_quantile(h, 0.999)), us(h->max), dpw_hist_mean(h) / 1000.0,
	       h->count);
}

static void print_latency_json(const char *what, const struct dpw_hist *h)
{
	printf(",\"%s_us\":{\"p50\":%.1f,\"p99\":%.1f,\"p999\":%.1f,\"max\":%.1f,"
	       "\"mean\":%.1f,\"n\":%" PRIu64 "}",
	       what, us(dpw_hist_quantile(h, 0.50)), us(dpw_hist_quantile(h, 0.99)),
	       us(dpw_hist_quantile(h, 0.999)), us(h->max), dpw_hist_mean(h) / 1000.0,
	       h->count);
}

/* Error names are status or errno names; escape anyway so the JSON always parses. */
static void print_json_string(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			printf("\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			printf("\\u%04x", (unsigned char)*s);
		else
			putchar(*s);
	}
	putchar('"');
}

void cc_schedule_start(struct cc_schedule *sch, uint64_t rate, uint64_t now)
{
	sch->t0 = now;
	sch->taken = 0;
	sch->period_ns = 1e9 / (double)rate;
}

static uint64_t arrival_at(const struct cc_schedule *sch, uint64_t k)
{
	return sch->t0 + (uint64_t)((double)k * sch->period_ns);
}

bool cc_schedule_due(const struct cc_schedule *sch, uint64_t now, uint64_t *at)
{
	*at = arrival_at(sch, sch->taken);
	return *at <= now;
}

void cc_schedule_take(struct cc_schedule *sch, struct cc_stats *s, uint64_t at, uint64_t now)
{
	/* A slot that was free takes it within a poll pass; a millisecond means none was. */
	if (now - at > 1000000)
		s->late++;
	if (now - at > s->max_lag_ns)
		s->max_lag_ns = now - at;
	sch->taken++;
}

uint64_t cc_schedule_wait_ns(const struct cc_schedule *sch, uint64_t now)
{
	uint64_t at = arrival_at(sch, sch->taken);

	return at > now ? at - now : 0;
}

void cc_summary(const struct cc_config *c, const struct cc_stats *s, const char *program)
{
	double elapsed = (double)(s->t_end - s->t_start) / 1e9;
	double cpu = s->cpu_user_s + s->cpu_sys_s;
	double rate = elapsed > 0 ? (double)s->cycles / elapsed : 0;
	double cpu_us = s->cycles ? cpu * 1e6 / (double)s->cycles : 0;
	unsigned k;

	if (c->json) {
		bool first = true;

		printf("{\"program\":\"%s\",\"mode\":\"%s\",\"target\":\"%s\",\"concurrency\":%u,"
		       "\"bytes\":%u,\"cycles\":%" PRIu64 ",\"errors\":%" PRIu64 ",\"errors_by_status\":{",
		       program, cc_mode_name(c->mode), c->target, c->concurrency,
		       c->mode == CC_MODE_EXCHANGE ? c->bytes : 0, s->cycles, s->errors);
		for (k = 0; k <= CC_MAX_ERROR_KINDS; k++) {
			if (s->kinds[k].n == 0)
				continue;
			printf("%s", first ? "" : ",");
			print_json_string(s->kinds[k].name);
			printf(":%" PRIu64, s->kinds[k].n);
			first = false;
		}
		printf("},\"elapsed_s\":%.3f,\"conn_per_s\":%.1f,\"cpu_user_s\":%.3f,"
		       "\"cpu_sys_s\":%.3f,\"cpu_us_per_conn\":%.2f",
		       elapsed, rate, s->cpu_user_s, s->cpu_sys_s, cpu_us);
		if (c->rate != 0)
			printf(",\"rate\":%" PRIu64 ",\"late\":%" PRIu64 ",\"max_lag_ms\":%.1f",
			       c->rate, s->late, (double)s->max_lag_ns / 1e6);
		if (!s->window.fixed)
			printf(",\"late_connects\":%" PRIu64 ",\"late_but_answered\":%" PRIu64
			       ",\"window_cuts\":%" PRIu64 ",\"window_min\":%.0f,"
			       "\"late_after_ms\":%.1f",
			       s->window.late, s->window.spurious, s->window.cuts, s->window.w_min,
			       (double)cc_window_late_ns(&s->window) / 1e6);
		print_latency_json("connect", &s->connect_ns);
		print_latency_json("close", &s->close_ns);
		printf("}\n");
	} else {
		printf("connclose: done program=%s mode=%s target=%s concurrency=%u bytes=%u\n",
		       program, cc_mode_name(c->mode), c->target, c->concurrency,
		       c->mode == CC_MODE_EXCHANGE ? c->bytes : 0);
		printf("connclose: cycles=%" PRIu64 " errors=%" PRIu64 " elapsed_s=%.3f "
		       "conn_per_s=%.1f cpu_user_s=%.3f cpu_sys_s=%.3f cpu_us_per_conn=%.2f\n",
		       s->cycles, s->errors, elapsed, rate, s->cpu_user_s, s->cpu_sys_s, cpu_us);
		if (c->rate != 0)
			printf("connclose: open_loop rate=%" PRIu64 "/s late=%" PRIu64
			       " max_lag_ms=%.1f (arrivals that found no free slot; latencies count "
			       "from the schedule)\n", c->rate, s->late, (double)s->max_lag_ns / 1e6);
		if (!s->window.fixed)
			printf("connclose: window late_connects=%" PRIu64 " late_but_answered=%"
			       PRIu64 " cuts=%" PRIu64 " min=%.0f late_after_ms=%.1f (connects taken "
			       "as lost SYNs, and of them those answered before a SYN was resent)\n",
			       s->window.late, s->window.spurious, s->window.cuts, s->window.w_min,
			       (double)cc_window_late_ns(&s->window) / 1e6);
		print_latency_text("connect", &s->connect_ns);
		print_latency_text("close", &s->close_ns);
		for (k = 0; k <= CC_MAX_ERROR_KINDS; k++)
			if (s->kinds[k].n != 0)
				printf("connclose: error %s=%" PRIu64 "\n", s->kinds[k].name,
				       s->kinds[k].n);
	}
	fflush(stdout);
}
