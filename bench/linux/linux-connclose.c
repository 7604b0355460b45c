/* linux-connclose: the load of dpwsk-connclose on kernel sockets, for the connection-rate
 * benchmark. Same options, same cycles, same histograms and output (apps/connclose/cc.c), so
 * the two compare like with like; only the socket calls differ:
 *
 *   dpwsk-connclose                      linux-connclose
 *   WskSocketConnect                     socket + non-blocking connect, EPOLLOUT, SO_ERROR
 *   rst: WskCloseSocket (RST, C3)        SO_LINGER {1, 0} + close (RST)
 *   exchange: WskSend + WskReceive       send + recv until K bytes, then the RST close
 *   graceful: WskDisconnect + receive 0  shutdown(SHUT_WR), recv until 0, close
 *
 * Connect latency: connect() call -> writable with SO_ERROR 0. Close latency: the close()
 * call itself (kernel closes are synchronous). One thread, epoll, level-triggered; it sleeps
 * in epoll_wait when there is nothing to do (at most 1 ms while the closed loop's window
 * watches for late connects, window.h), so its CPU time is the kernel's real cost.
 *
 *   linux-connclose [--concurrency N] [--cycles C] [--duration S] [--mode rst|graceful|
 *                   exchange] [--bytes K] [--rate N] [--fixed-window] [--json]
 *                   A.B.C.D:PORT|[IPV6]:PORT */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cc.h"
#include "opt.h"
#include "signals.h"

enum slot_state {
	SLOT_IDLE,         /* waiting for an arrival (open loop) or room in the window */
	SLOT_CONNECTING,   /* waiting for EPOLLOUT */
	SLOT_SENDING,      /* exchange: the socket did not take all K bytes at once */
	SLOT_RECEIVING,    /* exchange: waiting for the echo; graceful: for the peer's FIN */
};

struct slot {
	enum slot_state state;
	int fd;
	uint32_t sent, got;
	bool failed;
	bool late;                  /* its connect was taken as lost (window.h) */
	uint64_t serial;            /* the cycle's number, for the window's rounds */
	char fail_name[48];
	uint64_t t_connect;
	uint8_t *rx;
};

static struct {
	struct cc_config cfg;
	struct cc_stats st;
	struct slot *slots;
	uint32_t nslots;            /* --concurrency, and spares for late connects (window.h) */
	uint8_t *tx;
	int ep;
	unsigned active;
	bool stopping;
	struct cc_schedule sched;   /* open loop (--rate): the arrivals */
	uint32_t *idle, nidle;      /* slots waiting for an arrival or for the window */
} R;


static void fail_with(struct slot *s, const char *name)
{
	if (!s->failed) {
		s->failed = true;
		snprintf(s->fail_name, sizeof(s->fail_name), "%s", name);
	}
}

static void fail_errno(struct slot *s, int err)
{
	const char *name = strerrorname_np(err);
	char buf[24];

	if (name == NULL) {
		snprintf(buf, sizeof(buf), "errno %d", err);
		name = buf;
	}
	fail_with(s, name);
}

static bool may_start(void)
{
	return !R.stopping && (R.cfg.cycles == 0 || R.st.started < R.cfg.cycles);
}

static void slot_idle(struct slot *s)
{
	s->state = SLOT_IDLE;
	R.active--;
	R.idle[R.nidle++] = (uint32_t)(s - R.slots);
}

static void finish_cycle(struct slot *s)
{
	R.st.cycles++;
	if (s->failed)
		cc_error(&R.st, s->fail_name);
	R.st.t_end = cc_now_ns();
	cc_window_finished(&R.st.window, s->late);
	slot_idle(s);   /* the main loop starts the next one (no recursion) */
}

/* Close the connection: with a RST (SO_LINGER 0) unless the exchange was graceful. */
static void close_conn(struct slot *s, bool rst)
{
	uint64_t t;

	if (rst) {
		struct linger lg = { .l_onoff = 1, .l_linger = 0 };

		if (setsockopt(s->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)) != 0)
			fail_errno(s, errno);
	}
	t = cc_now_ns();
	if (close(s->fd) != 0)
		fail_errno(s, errno);
	dpw_hist_add(&R.st.close_ns, cc_now_ns() - t);
	s->fd = -1;
	R.st.open--;
}

static bool watch(struct slot *s, int op, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.u32 = (uint32_t)(s - R.slots) };

	if (epoll_ctl(R.ep, op, s->fd, &ev) != 0) {
		fail_errno(s, errno);
		return false;
	}
	return true;
}

static void receive_phase(struct slot *s)
{
	s->state = SLOT_RECEIVING;
	if (!watch(s, EPOLL_CTL_MOD, EPOLLIN)) {
		close_conn(s, true);
		finish_cycle(s);
	}
}

/* exchange: push the rest of the K bytes; then wait for the echo. */
static void send_some(struct slot *s)
{
	while (s->sent < R.cfg.bytes) {
		ssize_t n = send(s->fd, R.tx + s->sent, R.cfg.bytes - s->sent,
				 MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0) {
			if (errno == EAGAIN)
				return;   /* SLOT_SENDING: EPOLLOUT is still watched */
			fail_errno(s, errno);
			close_conn(s, true);
			finish_cycle(s);
			return;
		}
		s->sent += (uint32_t)n;
	}
	receive_phase(s);
}

static void on_connected(struct slot *s)
{
	uint64_t took = cc_now_ns() - s->t_connect;

	dpw_hist_add(&R.st.connect_ns, took);
	cc_window_connected(&R.st.window, took, s->late);
	R.st.open++;
	switch (R.cfg.mode) {
	case CC_MODE_RST:
		close_conn(s, true);
		finish_cycle(s);
		break;
	case CC_MODE_EXCHANGE:
		s->state = SLOT_SENDING;
		send_some(s);
		break;
	case CC_MODE_GRACEFUL:
		if (shutdown(s->fd, SHUT_WR) != 0) {
			fail_errno(s, errno);
			close_conn(s, true);
			finish_cycle(s);
			return;
		}
		receive_phase(s);
		break;
	}
}

/* A cycle whose connect latency counts from t_start (now, or its scheduled arrival). */
static void start_cycle(struct slot *s, uint64_t t_start)
{
	int r;

	if (!may_start()) {
		slot_idle(s);
		return;
	}
	s->serial = R.st.started++;
	s->late = false;
	cc_window_started(&R.st.window);
	s->failed = false;
	s->sent = s->got = 0;
	s->t_connect = t_start;
	s->fd = socket(R.cfg.remote.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s->fd < 0) {
		fail_errno(s, errno);
		finish_cycle(s);
		return;
	}
	r = connect(s->fd, (struct sockaddr *)&R.cfg.remote,
		    dpw_app_addr_len((struct sockaddr *)&R.cfg.remote));
	if (r != 0 && errno != EINPROGRESS) {
		fail_errno(s, errno);
		close(s->fd);
		s->fd = -1;
		finish_cycle(s);
		return;
	}
	if (!watch(s, EPOLL_CTL_ADD, EPOLLOUT)) {
		close(s->fd);
		s->fd = -1;
		finish_cycle(s);
		return;
	}
	s->state = SLOT_CONNECTING;
	if (r == 0)
		on_connected(s);
}

static void on_event(struct slot *s)
{
	int err = 0;
	socklen_t len = sizeof(err);
	ssize_t n;

	switch (s->state) {
	case SLOT_CONNECTING:
		if (getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
			err = errno;
		if (err != 0) {
			fail_errno(s, err);
			close(s->fd);
			s->fd = -1;
			finish_cycle(s);
			return;
		}
		on_connected(s);
		return;
	case SLOT_SENDING:
		send_some(s);
		return;
	case SLOT_RECEIVING:
		if (R.cfg.mode == CC_MODE_GRACEFUL) {
			n = recv(s->fd, s->rx, R.cfg.bytes, MSG_DONTWAIT);
			if (n < 0 && errno == EAGAIN)
				return;
			if (n < 0)
				fail_errno(s, errno);
			else if (n > 0)
				fail_with(s, "unexpected_data");
			close_conn(s, n != 0);   /* both FINs seen: an ordinary close */
			finish_cycle(s);
			return;
		}
		n = recv(s->fd, s->rx + s->got, R.cfg.bytes - s->got, MSG_DONTWAIT);
		if (n < 0 && errno == EAGAIN)
			return;
		if (n <= 0) {
			if (n < 0)
				fail_errno(s, errno);
			else
				fail_with(s, "short_receive");
			close_conn(s, true);
			finish_cycle(s);
			return;
		}
		s->got += (uint32_t)n;
		if (s->got < R.cfg.bytes)
			return;
		if (memcmp(s->rx, R.tx, R.cfg.bytes) != 0)
			fail_with(s, "echo_mismatch");
		close_conn(s, true);
		finish_cycle(s);
		return;
	default:
		return;
	}
}

/* The end of the run with cycles stuck (a peer that does not answer): they fail as
 * "unfinished_at_end", as in dpwsk-connclose; connected ones are reset. */
static void abort_in_flight(void)
{
	for (uint32_t i = 0; i < R.nslots; i++) {
		struct slot *s = &R.slots[i];

		if (s->state == SLOT_IDLE)
			continue;
		fail_with(s, "unfinished_at_end");
		if (s->state == SLOT_CONNECTING) {
			close(s->fd);
			s->fd = -1;
		} else {
			close_conn(s, true);
		}
		finish_cycle(s);
	}
}

/* Closed loop: idle slots start cycles while the window has room; at most one attempt per
 * slot and pass, so that attempts failing at once (no descriptors, say) are retried after the
 * main loop's time checks, not in a tight loop. True if more could start at once. */
static bool start_ready(uint64_t now)
{
	for (uint32_t tries = R.nslots; tries > 0 && R.nidle > 0 && may_start() &&
					  cc_window_open(&R.st.window); tries--) {
		R.active++;
		start_cycle(&R.slots[R.idle[--R.nidle]], now);
	}
	return R.nidle > 0 && may_start() && cc_window_open(&R.st.window);
}

/* Closed loop: connects older than the window's estimate are taken as lost (window.h). */
static void take_late_connects(uint64_t now)
{
	for (uint32_t i = 0; i < R.nslots; i++) {
		struct slot *s = &R.slots[i];

		if (s->state == SLOT_CONNECTING)
			cc_window_watch(&R.st.window, &s->late, s->serial, s->t_connect, now,
					R.st.started);
	}
}

int main(int argc, char **argv)
{
	struct dpw_cli cli = cc_cli(&R.cfg);
	struct epoll_event evs[256];
	struct rlimit rl;
	uint64_t deadline = 0, stop_at = 0, next_scan = 0, now;

	cc_config_defaults(&R.cfg);
	dpw_cli_parse_or_exit(&cli, "linux-connclose", argc, argv);
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	dpw_signals_install();
	signal(SIGPIPE, SIG_IGN);

	cc_stats_init(&R.st, &R.cfg);   /* the window, which says how many slots */
	R.nslots = cc_window_slots(R.cfg.concurrency, R.st.window.fixed);
	R.ep = epoll_create1(EPOLL_CLOEXEC);
	R.slots = calloc(R.nslots, sizeof(*R.slots));
	R.idle = calloc(R.nslots, sizeof(*R.idle));
	R.tx = malloc(R.cfg.bytes);
	if (R.ep < 0 || R.slots == NULL || R.idle == NULL || R.tx == NULL) {
		fprintf(stderr, "linux-connclose: error: out of memory\n");
		return 1;
	}
	for (uint32_t i = 0; i < R.cfg.bytes; i++)
		R.tx[i] = (uint8_t)(i * 131u + 7u);   /* the same bytes dpwsk-connclose sends */
	for (uint32_t i = 0; i < R.nslots; i++) {
		R.slots[i].fd = -1;
		R.slots[i].rx = malloc(R.cfg.bytes);
		if (R.slots[i].rx == NULL) {
			fprintf(stderr, "linux-connclose: error: out of memory\n");
			return 1;
		}
	}
	printf("linux-connclose: start target=%s mode=%s concurrency=%u\n", R.cfg.target,
	       cc_mode_name(R.cfg.mode), R.cfg.concurrency);

	cc_stats_begin(&R.st);
	if (R.cfg.duration_s > 0)
		deadline = R.st.t_start + (uint64_t)(R.cfg.duration_s * 1e9);
	for (uint32_t i = R.nslots; i > 0; i--)
		R.idle[R.nidle++] = i - 1;   /* SLOT_IDLE from calloc */
	if (R.cfg.rate != 0)
		cc_schedule_start(&R.sched, R.cfg.rate, R.st.t_start);
	/* Closed loop: until the last cycle ends. Open loop: arrivals keep coming until the end
	 * (or the last of --cycles), with none in flight in between. */
	while (R.active > 0 || may_start()) {
		bool again = false;
		int n, wait_ms = 100;
		uint64_t at;

		if (R.cfg.rate == 0) {
			now = cc_now_ns();
			if (!R.st.window.fixed) {
				if (now >= next_scan) {
					take_late_connects(now);
					next_scan = now + 1000000;
				}
				wait_ms = 1;   /* late is >= 2 ms: look every millisecond */
			}
			again = start_ready(now);
		} else {
			now = cc_now_ns();
			while (R.nidle > 0 && may_start() && cc_schedule_due(&R.sched, now, &at)) {
				cc_schedule_take(&R.sched, &R.st, at, now);
				R.active++;
				start_cycle(&R.slots[R.idle[--R.nidle]], at);
			}
			/* Sleep no longer than until the next arrival (epoll's unit is 1 ms: spin
			 * below that, as the open loop's schedule needs). */
			wait_ms = (int)(cc_schedule_wait_ns(&R.sched, cc_now_ns()) / 1000000);
			if (wait_ms > 100)
				wait_ms = 100;
		}
		n = epoll_wait(R.ep, evs, 256, again ? 0 : wait_ms);
		for (int i = 0; i < n; i++)
			on_event(&R.slots[evs[i].data.u32]);
		now = cc_now_ns();
		cc_progress(&R.st, now);
		if (!R.stopping && (dpw_signals_stopping() || (deadline != 0 && now >= deadline))) {
			R.stopping = true;
			stop_at = now;
		}
		if (R.stopping && now - stop_at > 5000000000ull)
			abort_in_flight();
	}
	cc_stats_end(&R.st);
	cc_summary(&R.cfg, &R.st, "linux-connclose");
	for (uint32_t i = 0; i < R.nslots; i++)
		free(R.slots[i].rx);
	free(R.slots);
	free(R.idle);
	free(R.tx);
	close(R.ep);
	return R.st.errors == 0 ? 0 : 1;
}
