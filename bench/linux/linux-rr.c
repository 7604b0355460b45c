/* linux-rr: the load of dpwsk-bench-rr on kernel sockets, the kernel side of the latency and
 * throughput comparison (issue 5, parts 3 and 4). Same options, counting and output
 * (bench/rr/rr.c); only the socket calls differ:
 *
 *   dpwsk-bench-rr                          linux-rr
 *   WskSocketConnect                        socket, [bind --bind], connect (5 s limit)
 *   rr: WskReceive(WAITALL) +               TCP_NODELAY; send B bytes, recv until B bytes
 *       WskSend(NODELAY)                    (EPOLLOUT while a large request does not fit)
 *   bulk: K WskSends of B bytes in flight   send B bytes whenever writable: the socket buffer
 *                                           bounds what is outstanding (--inflight ignored)
 *   WskDisconnect + WskCloseSocket          close (FIN after what is queued)
 *
 *   linux-rr [--mode rr|bulk] [--duration S] [--connections N] [--size B] [--inflight K]
 *            [--json] [--bind ADDR] [--spin] A.B.C.D:PORT|[IPV6]:PORT
 *
 * One thread, epoll (level-triggered), every send and recv MSG_DONTWAIT. By default it
 * sleeps in epoll_wait, as kernel-socket programs do (so a round trip includes the kernel
 * waking it); --spin polls epoll_wait without sleeping, the closer match to dpwsk's
 * busy-polling lcore.
 * --bind picks the local address.
 *
 * The kernel baseline runs over the same veth as dpwsk, from the same namespace. The stack's
 * side has no kernel address (the kernel there must not answer for dpwsk), so the benchmark
 * script gives it one for the kernel runs only, while no dpwsk process runs, and removes it
 * afterwards (198.18.0.4, not the stack's .2, so the peer's ARP cache cannot mix them up):
 *   ip -n $DPW_NS_STACK addr add 198.18.0.4/24 dev $DPW_IF_STACK
 *   ip netns exec $DPW_NS_STACK linux-rr --bind 198.18.0.4 [--mode bulk] $DPW_IP_PEER:PORT
 *   ip -n $DPW_NS_STACK addr del 198.18.0.4/24 dev $DPW_IF_STACK */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "opt.h"
#include "signals.h"
#include "rr.h"

#define PROG "linux-rr"

struct conn {
	int fd;
	bool broken;
	bool busy;             /* rr: a transaction is in flight */
	bool want_out;         /* EPOLLOUT registered */
	uint32_t sent, got;    /* rr: this transaction's progress */
	uint32_t seq;
	uint64_t t0;
	uint8_t *tx, *rx;      /* rr: B bytes each; bulk: tx is the shared buffer */
};

static struct {
	struct rr_config cfg;
	struct rr_stats st;
	struct conn *conns;
	uint8_t *bulk_tx;
	struct sockaddr_storage local;   /* --bind; the target is cfg.remote */
	bool have_local, spin;
	int ep;
	unsigned working, busy;
	bool stopping;
} R;


/* A call failed: count it once per connection and retire the connection (no more calls;
 * closed at the end). With none left working, the run ends. */
static void fail_with(struct conn *c, const char *name)
{
	if (c->broken)
		return;
	c->broken = true;
	if (c->busy) {
		c->busy = false;
		R.busy--;
	}
	rr_error(&R.st, name);
	epoll_ctl(R.ep, EPOLL_CTL_DEL, c->fd, NULL);
	if (R.working > 0 && --R.working == 0)
		rr_stop_now(&R.st, rr_now_ns());
}

static void fail_errno(struct conn *c, const char *what, int err)
{
	const char *name = strerrorname_np(err);

	fail_with(c, name != NULL ? name : what);
}

static void set_out(struct conn *c, bool on)
{
	struct epoll_event ev = { .events = EPOLLIN | (on ? EPOLLOUT : 0) };

	if (c->want_out == on)
		return;
	ev.data.ptr = c;
	if (epoll_ctl(R.ep, EPOLL_CTL_MOD, c->fd, &ev) != 0)
		fail_errno(c, "epoll_ctl", errno);
	c->want_out = on;
}

/* ---- rr -------------------------------------------------------------------------------------- */

/* Send what the socket takes of the request; EPOLLOUT for the rest. */
static void rr_send(struct conn *c)
{
	while (c->sent < R.cfg.size) {
		ssize_t n = send(c->fd, c->tx + c->sent, R.cfg.size - c->sent,
				 MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				set_out(c, true);
			else
				fail_errno(c, "send", errno);
			return;
		}
		c->sent += (uint32_t)n;
	}
	set_out(c, false);
}

static void rr_issue(struct conn *c)
{
	uint32_t seq = ++c->seq;

	/* As dpwsk-bench-rr: the sequence number in the first bytes, so a stale echo shows. */
	memcpy(c->tx, &seq, R.cfg.size < sizeof(seq) ? R.cfg.size : sizeof(seq));
	c->sent = c->got = 0;
	c->busy = true;
	R.busy++;
	c->t0 = rr_now_ns();
	rr_send(c);
}

static void rr_readable(struct conn *c)
{
	while (c->busy && c->got < R.cfg.size) {
		ssize_t n = recv(c->fd, c->rx + c->got, R.cfg.size - c->got, MSG_DONTWAIT);
		uint64_t now;

		if (n == 0) {
			fail_with(c, "peer_closed");
			return;
		}
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN)
				fail_errno(c, "recv", errno);
			return;
		}
		c->got += (uint32_t)n;
		if (c->got < R.cfg.size)
			continue;
		now = rr_now_ns();
		c->busy = false;
		R.busy--;
		if (memcmp(c->rx, c->tx, R.cfg.size) != 0) {
			fail_with(c, "echo_mismatch");
			return;
		}
		if (rr_in_run(&R.st, now)) {
			R.st.transactions++;
			dpw_hist_add(&R.st.lat_ns, now - c->t0);
		}
		if (!R.stopping)
			rr_issue(c);
	}
	if (!c->busy) {
		/* Data between transactions: the echo server sent more than it was sent. */
		char b;

		if (recv(c->fd, &b, 1, MSG_DONTWAIT | MSG_PEEK) > 0)
			fail_with(c, "unexpected_data");
	}
}

/* ---- bulk ------------------------------------------------------------------------------------ */

static void bulk_writable(struct conn *c)
{
	/* A bounded burst, so the clock is read and other connections get their turn. */
	for (int i = 0; i < 16 && !R.stopping; i++) {
		ssize_t n = send(c->fd, R.bulk_tx, R.cfg.size, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0) {
			if (errno != EAGAIN && errno != EINTR)
				fail_errno(c, "send", errno);
			return;
		}
		if (rr_in_run(&R.st, rr_now_ns()))
			R.st.bytes += (uint64_t)n;
	}
}

/* ---- set-up ---------------------------------------------------------------------------------- */

static int connect_one(struct conn *c)
{
	struct epoll_event ev = { .events = EPOLLIN };
	struct timeval tv = { .tv_sec = 5 };   /* connect's limit (SO_SNDTIMEO bounds it) */
	int one = 1;

	c->fd = socket(R.cfg.remote.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->fd < 0)
		return -1;
	if (setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) != 0 ||
	    (R.cfg.mode == RR_MODE_RR &&
	     setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) != 0) ||
	    (R.have_local && bind(c->fd, (struct sockaddr *)&R.local,
				  dpw_app_addr_len((struct sockaddr *)&R.local)) != 0) ||
	    connect(c->fd, (struct sockaddr *)&R.cfg.remote,
		    dpw_app_addr_len((struct sockaddr *)&R.cfg.remote)) != 0)
		return -1;
	/* The run's calls all pass MSG_DONTWAIT; the send timeout was for connect only. */
	tv.tv_sec = 0;
	setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (R.cfg.mode == RR_MODE_BULK) {
		ev.events |= EPOLLOUT;   /* always: a writable socket gets more data */
		c->want_out = true;
	}
	ev.data.ptr = c;
	return epoll_ctl(R.ep, EPOLL_CTL_ADD, c->fd, &ev);
}

/* Bulk never receives: the discard server closing (0) or sending anything is an error. */
static void bulk_readable(struct conn *c)
{
	char b[64];
	ssize_t n = recv(c->fd, b, sizeof(b), MSG_DONTWAIT);

	if (n == 0)
		fail_with(c, "peer_closed");
	else if (n > 0)
		fail_with(c, "unexpected_data");
	else if (errno != EAGAIN && errno != EINTR)
		fail_errno(c, "recv", errno);
}

static void on_event(struct conn *c, uint32_t events)
{
	if (events & (EPOLLIN | EPOLLERR | EPOLLHUP)) {
		if (R.cfg.mode == RR_MODE_RR)
			rr_readable(c);
		else
			bulk_readable(c);
	}
	if (c->broken || !(events & EPOLLOUT))
		return;
	if (R.cfg.mode == RR_MODE_BULK)
		bulk_writable(c);
	else if (c->busy)
		rr_send(c);
	else
		set_out(c, false);
}

/* One epoll_wait and its events; sleeps up to 100 ms unless --spin. */
static void poll_once(void)
{
	struct epoll_event evs[64];
	int n = epoll_wait(R.ep, evs, 64, R.spin ? 0 : 100);

	for (int i = 0; i < n; i++) {
		struct conn *c = evs[i].data.ptr;

		if (!c->broken)
			on_event(c, evs[i].events);
	}
}

/* ---- command line ---------------------------------------------------------------------------- */

static int set_bind(void *ctx, const char *val, char *err, size_t errlen)
{
	struct sockaddr_in *s4 = (struct sockaddr_in *)&R.local;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&R.local;

	(void)ctx;
	memset(&R.local, 0, sizeof(R.local));
	if (inet_pton(AF_INET, val, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
	} else if (inet_pton(AF_INET6, val, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
	} else {
		snprintf(err, errlen, "--bind: '%s' is not an IPv4 or IPv6 address", val);
		return -1;
	}
	R.have_local = true;
	return 0;
}

static int set_spin(void *ctx, const char *val, char *err, size_t errlen)
{
	(void)ctx;
	(void)val;
	(void)err;
	(void)errlen;
	R.spin = true;
	return 0;
}

/* linux-rr's own options, after the shared ones. */
static const struct dpw_cli_opt own_opts[] = {
	{ "bind", true, "ADDR", "local address to connect from, A.B.C.D or an IPv6 address of "
	  "the target's family (linux-rr only)", set_bind },
	{ "spin", false, NULL, "poll epoll_wait without sleeping, as dpwsk's lcore does "
	  "(linux-rr only)", set_spin },
	{ NULL, false, NULL, NULL, NULL },
};

static const struct dpw_cli_opt *find_opt(const char *name)
{
	for (const struct dpw_cli_opt *o = rr_opts; o->name != NULL; o++)
		if (strcmp(o->name, name) == 0)
			return o;
	for (const struct dpw_cli_opt *o = own_opts; o->name != NULL; o++)
		if (strcmp(o->name, name) == 0)
			return o;
	return NULL;
}

static void usage(void)
{
	printf("usage: " PROG " [options] A.B.C.D:PORT|[IPV6]:PORT\n");
	for (int t = 0; t < 2; t++)
		for (const struct dpw_cli_opt *o = t ? own_opts : rr_opts; o->name != NULL; o++)
			printf("  --%s%s%s\n      %s\n", o->name, o->has_arg ? " " : "",
			       o->has_arg ? o->arg_name : "", o->help);
}

/* 0, or 2 after a one-line error. */
static int parse_args(int argc, char **argv)
{
	char err[256];
	char *target = rr_take_target(&argc, argv, err, sizeof(err));

	if (target == NULL)
		goto bad;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *val;
		const struct dpw_cli_opt *o;
		char name[64];

		if (strncmp(a, "--", 2) != 0 || a[2] == '\0') {
			snprintf(err, sizeof(err), "unexpected argument '%s' (see --help)", a);
			goto bad;
		}
		val = strchr(a, '=');
		snprintf(name, sizeof(name), "%.*s",
			 (int)(val ? (size_t)(val - a - 2) : strlen(a + 2)), a + 2);
		if (val != NULL)
			val++;
		o = find_opt(name);
		if (o == NULL) {
			snprintf(err, sizeof(err), "unknown option '--%s' (see --help)", name);
			goto bad;
		}
		if (o->has_arg && val == NULL) {
			if (i + 1 >= argc) {
				snprintf(err, sizeof(err), "--%s needs a value", name);
				goto bad;
			}
			val = argv[++i];
		} else if (!o->has_arg && val != NULL) {
			snprintf(err, sizeof(err), "--%s takes no value", name);
			goto bad;
		}
		if (o->set(&R.cfg, val, err, sizeof(err)) != 0)
			goto bad;
	}
	if (rr_config_finish(&R.cfg, target, err, sizeof(err)) != 0)
		goto bad;
	if (R.have_local && R.local.ss_family != R.cfg.remote.ss_family) {
		snprintf(err, sizeof(err), "--bind and the target '%s' are of different address "
			 "families", target);
		goto bad;
	}
	return 0;
bad:
	fprintf(stderr, PROG ": error: %s\n", err);
	return 2;
}

/* ---- main ------------------------------------------------------------------------------------ */

static int setup(void)
{
	R.ep = epoll_create1(EPOLL_CLOEXEC);
	R.conns = calloc(R.cfg.connections, sizeof(*R.conns));
	if (R.ep < 0 || R.conns == NULL)
		return -1;
	if (R.cfg.mode == RR_MODE_BULK) {
		R.bulk_tx = malloc(R.cfg.size);
		if (R.bulk_tx == NULL)
			return -1;
		for (uint32_t i = 0; i < R.cfg.size; i++)
			R.bulk_tx[i] = (uint8_t)(i * 131u + 7u);   /* dpwsk-bench-rr's bytes */
	}
	for (uint32_t i = 0; i < R.cfg.connections; i++) {
		struct conn *c = &R.conns[i];

		c->fd = -1;
		if (R.cfg.mode != RR_MODE_RR)
			continue;
		c->tx = malloc(R.cfg.size);
		c->rx = malloc(R.cfg.size);
		if (c->tx == NULL || c->rx == NULL)
			return -1;
		for (uint32_t b = 0; b < R.cfg.size; b++)
			c->tx[b] = (uint8_t)(b * 131u + i);
	}
	return 0;
}

static void cleanup(void)
{
	if (R.conns != NULL)
		for (uint32_t i = 0; i < R.cfg.connections; i++) {
			if (R.conns[i].fd >= 0)
				close(R.conns[i].fd);   /* FIN after what is queued */
			free(R.conns[i].tx);
			free(R.conns[i].rx);
		}
	free(R.conns);
	free(R.bulk_tx);
	if (R.ep >= 0)
		close(R.ep);
}

/* The measured run: the first sends, then events until the deadline or a stop. */
static void run(void)
{
	rr_stats_begin(&R.st, &R.cfg);
	R.working = R.cfg.connections;
	if (R.cfg.mode == RR_MODE_RR)
		for (uint32_t i = 0; i < R.cfg.connections; i++)
			rr_issue(&R.conns[i]);
	for (;;) {
		uint64_t now;

		poll_once();
		now = rr_now_ns();
		if (dpw_signals_stopping())
			rr_stop_now(&R.st, now);
		if (!rr_in_run(&R.st, now))
			break;
	}
	R.stopping = true;
	rr_stats_end(&R.st);   /* the CPU time of the run, not of the ending */
}

int main(int argc, char **argv)
{
	int rc;

	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			usage();
			return 0;
		}
	rr_config_defaults(&R.cfg);
	rr_stats_init(&R.st);
	R.ep = -1;
	rc = parse_args(argc, argv);
	if (rc != 0)
		return rc;
	setvbuf(stdout, NULL, _IOLBF, 0);
	dpw_signals_install();
	signal(SIGPIPE, SIG_IGN);

	if (setup() != 0) {
		fprintf(stderr, PROG ": error: out of memory for %u connections\n",
			R.cfg.connections);
		cleanup();
		return 1;
	}
	printf(PROG ": start target=%s mode=%s connections=%u size=%u wait=%s\n", R.cfg.target,
	       rr_mode_name(R.cfg.mode), R.cfg.connections, R.cfg.size,
	       R.spin ? "spin" : "sleep");

	/* Connect everything before the clock starts: the run measures steady state. */
	for (uint32_t i = 0; i < R.cfg.connections && !dpw_signals_stopping(); i++)
		if (connect_one(&R.conns[i]) != 0) {
			int e = errno;
			const char *name = strerrorname_np(e);

			fprintf(stderr, PROG ": error: connection %u to %s: %s\n", i, R.cfg.target,
				strerror(e));
			rr_error(&R.st, name != NULL ? name : "connect");
			break;
		}
	if (R.st.errors == 0 && !dpw_signals_stopping())
		run();
	R.stopping = true;

	/* rr: the transactions in flight finish (uncounted), 5 s at most; then everything is
	 * closed (bulk: the kernel still sends what is queued, then the FIN). */
	if (R.cfg.mode == RR_MODE_RR) {
		uint64_t end = rr_now_ns() + 5000000000ull;

		while (R.busy > 0 && rr_now_ns() < end)
			poll_once();
		if (R.busy > 0)
			rr_error(&R.st, "unfinished_at_end");
	}
	cleanup();
	rr_summary(&R.cfg, &R.st, PROG);
	return R.st.errors == 0 ? 0 : 1;
}
