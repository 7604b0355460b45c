/* Close races (WSK-C2, C3, C5, C8, R2): 100,000 seeded random interleavings of WskCloseSocket
 * with what else can happen to a connection at that moment.
 *
 * Each interleaving is one connection between the stack and a Linux socket in the peer
 * namespace, either direction (the stack connects to a Linux listener, or Linux connects to a
 * stack listener). A random script then leaves some WskReceive / WskSend IRPs pending,
 * perhaps enables the receive and disconnect events, and closes the socket racing one of: the
 * peer's RST (SO_LINGER 0 close), peer data, the stack's timers (the peer's window is tiny and
 * it does not read, so sends stay queued and lwIP probes; data is still in flight; or the
 * peer stops ACKing, a tc filter in its namespace dropping what it sends, and lwIP
 * retransmits), the peer's FIN, or nothing. The close comes from this thread (before, after, or a random spin
 * or delay after the peer's action), from inside a receive or send completion routine, or
 * from inside the receive or disconnect event on the polling core. A few scripts close a
 * socket whose connect is still in progress.
 *
 * Many interleavings run at once (a pipeline of SLOTS connections), driven by one thread:
 * an epoll loop over the client's completion fd and the Linux sockets. Checked, for every
 * interleaving: every IRP completed exactly once, each with a status the race allows
 * (C2: cancelled ones with Information 0), every IRP of the socket before its close IRP (C2),
 * the close with STATUS_SUCCESS (C1); no event callback running or called once the close IRP
 * completed (C5); the bytes each side received were the other side's (no mix-up between
 * connections); the Linux peer saw a RST and never a FIN (C3). At the end: IRPs issued ==
 * completed, no double completion, SocketsOpen, mbufs and TCP pcbs back to their idle counts
 * (C8). Then C2 once more where the client's completion ring overflows: 80,000 receives
 * pending at the close, another thread freeing ring slots while the cancellations are posted.
 *
 * DPW_SEED=n reproduces a run's scripts (the seed is printed; the timing of the races is the
 * machine's). DPW_STRESS_COUNT=n changes the number of interleavings: 100,000 by default,
 * 60,000 in an AddressSanitizer build, 20,000 under ThreadSanitizer (each about 30 s). */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <netinet/in.h>
#include <linux/tcp.h>   /* tcp_info with tcpi_snd_wnd (glibc's lacks it) */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "irp_internal.h"

/* The sanitizers slow the stack and this thread several times over: fewer interleavings
 * there, as many as fit in about half a minute. GCC says __SANITIZE_*__, clang
 * __has_feature. */
#if defined(__has_feature)
#if __has_feature(address_sanitizer) && !defined(__SANITIZE_ADDRESS__)
#define __SANITIZE_ADDRESS__ 1
#endif
#if __has_feature(thread_sanitizer) && !defined(__SANITIZE_THREAD__)
#define __SANITIZE_THREAD__ 1
#endif
#endif
#if defined(__SANITIZE_THREAD__)
#define DEFAULT_COUNT 20000
#elif defined(__SANITIZE_ADDRESS__)
#define DEFAULT_COUNT 60000
#else
#define DEFAULT_COUNT 100000
#endif

#define SLOTS          192        /* interleavings in flight */
#define PEER_LPORT     20000      /* + slot: Linux listener the stack connects to */
#define SILENT_LPORT   0x9c00     /* + slot: the same, but nothing Linux sends but SYNs
				   * leaves its namespace (tc filter): it never ACKs */
#define STACK_LPORT    30000      /* + slot: stack listener Linux connects to */
#define EPH_FIRST      42000      /* explicit local ports of the connecting side */
#define EPH_LAST       59999
#define MAX_RECV       3
#define MAX_SEND       2
#define RECV_BUF       4096
#define BIG_SEND       (192 * 1024)   /* more than lwIP's send buffer + a tiny window */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define SLOW           3          /* time bounds stretch with the sanitizer's slowness */
#else
#define SLOW           1
#endif
#define CONN_MS        (20000 * SLOW)  /* one interleaving, start to end */
/* A close that a completion or an event should have made: late by this much, it is taken as
 * lost. 3 s was too little on a machine whose CPUs other suites kept busy (a clean-clone CI
 * run beside sanitizer tests lost 8 of 66,800 interleavings in one burst, all within 40 of
 * each other); a lost completion is still caught, well inside CONN_MS. */
#define FALLBACK_MS    (10000 * SLOW)
#define PEER_RST_MS    (5000 * SLOW)   /* the peer's wait for the close's RST */
#define QUARANTINE     1024       /* finished interleavings kept before free (C5 check) */

/* ---- seeded randomness ------------------------------------------------------------------ */

static uint64_t rng;

/* The tc filter that silences SILENT_LPORT could be installed (see main). */
static bool silent_ok;

static uint64_t rnd(void)
{
	/* xorshift64*: tiny, and the same sequence for the same seed everywhere */
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return rng * 0x2545F4914F6CDD1Dull;
}

static uint32_t below(uint32_t n)
{
	return (uint32_t)((rnd() >> 32) % n);
}

static bool chance(unsigned percent)
{
	return below(100) < percent;
}

/* ---- scripts ---------------------------------------------------------------------------- */

enum race { RACE_RST, RACE_DATA, RACE_TIMER, RACE_FIN, RACE_NONE, RACE_N };
enum closer { BY_DRIVER, BY_RECV_ROUTINE, BY_SEND_ROUTINE, BY_RECV_EVENT, BY_DISC_EVENT,
	      BY_N };
enum timing { CLOSE_FIRST, PEER_FIRST, SPIN_PEER_FIRST, SPIN_CLOSE_FIRST, DELAY, TIMING_N };
enum reply { REPLY_CONSUME, REPLY_RETAIN, REPLY_REFUSE };

static const char *race_name[RACE_N] = { "peer RST", "peer data", "timers", "peer FIN",
					 "nothing" };
static const char *closer_name[BY_N] = { "test thread", "receive completion",
					 "send completion", "receive event",
					 "disconnect event" };
static const char *timing_name[TIMING_N] = { "close first", "peer first",
					     "peer, spin, close", "close, spin, peer",
					     "delayed close" };

struct script {
	bool peer_connects;       /* Linux connects to a stack listener */
	bool connect_race;        /* close while the stack's connect is in progress */
	bool small_window;        /* the peer's receive buffer at its minimum */
	bool silent_peer;         /* the peer's ACKs are dropped: lwIP retransmits */
	ULONG events;             /* WSK_EVENT_RECEIVE / WSK_EVENT_DISCONNECT enabled */
	enum reply reply;         /* what the receive event answers */
	unsigned nrecv, nsend;
	uint32_t recv_len[MAX_RECV];
	ULONG recv_flags[MAX_RECV];
	uint32_t send_len[MAX_SEND];
	enum race race;
	bool then_rst;            /* data or FIN, then at once the RST */
	uint32_t data_len;
	enum closer closer;
	enum timing timing;
	uint32_t spin;            /* busy iterations between the two actions */
	uint32_t delay_ms;
};

static void make_script(struct script *sc)
{
	memset(sc, 0, sizeof(*sc));
	sc->peer_connects = chance(50);
	sc->connect_race = !sc->peer_connects && chance(4);
	if (sc->connect_race) {
		/* The close follows the bind's completion (the connect's SYN is out by then): at
		 * once, after a spin, or a few ms later, racing the SYN-ACK. */
		uint32_t p = below(100);

		sc->timing = p < 40 ? CLOSE_FIRST : p < 85 ? SPIN_CLOSE_FIRST : DELAY;
		sc->spin = below(1u << below(17));
		sc->delay_ms = 1 + below(3);
		return;
	}
	sc->race = (enum race)below(RACE_N);
	sc->small_window = sc->race == RACE_TIMER ? chance(70) : chance(10);
	if (silent_ok && !sc->peer_connects && sc->race == RACE_TIMER && chance(3)) {
		/* Sends in flight that nobody acknowledges; the close comes before, around or
		 * after lwIP's first retransmissions (its RTO starts at 1 s, then 2 s:
		 * LWIP_TCP_INITIAL_RTO_MS). */
		sc->silent_peer = true;
		sc->small_window = false;
		sc->closer = BY_DRIVER;
		sc->timing = DELAY;
		sc->delay_ms = 1000 + below(3500);
		sc->nrecv = below(MAX_RECV + 1);
		for (unsigned i = 0; i < sc->nrecv; i++)
			sc->recv_len[i] = 1 + below(RECV_BUF);
		sc->nsend = 1 + below(MAX_SEND);
		for (unsigned i = 0; i < sc->nsend; i++)
			sc->send_len[i] = 1 + below(16384);
		sc->events = chance(30) ? WSK_EVENT_DISCONNECT : 0;
		return;
	}

	/* Who closes: the test thread most often; the others where the race triggers them. */
	for (;;) {
		uint32_t pick = below(8);

		sc->closer = pick < 4 ? BY_DRIVER : (enum closer)(pick - 3);
		if (sc->closer == BY_RECV_ROUTINE && (sc->race == RACE_TIMER || sc->race == RACE_NONE))
			continue;
		if (sc->closer == BY_RECV_EVENT && sc->race != RACE_DATA)
			continue;
		if (sc->closer == BY_DISC_EVENT && sc->race != RACE_FIN && sc->race != RACE_RST)
			continue;
		break;
	}
	/* Not with a receive completion closing: the data may reach the stack before the
	 * receives do (they travel through the request ring), and then the event takes it. */
	if ((chance(30) && sc->closer != BY_RECV_ROUTINE) || sc->closer == BY_RECV_EVENT)
		sc->events |= WSK_EVENT_RECEIVE;
	if (chance(30) || sc->closer == BY_DISC_EVENT)
		sc->events |= WSK_EVENT_DISCONNECT;
	sc->reply = (enum reply)below(3);

	sc->nrecv = sc->closer == BY_RECV_EVENT ? 0
		    : sc->closer == BY_RECV_ROUTINE ? 1 + below(MAX_RECV) : below(MAX_RECV + 1);
	/* The disconnect event comes only once received data is taken: no unread data there. */
	if (sc->closer == BY_DISC_EVENT && sc->race == RACE_FIN)
		sc->nrecv = 0;
	for (unsigned i = 0; i < sc->nrecv; i++) {
		sc->recv_len[i] = 1 + below(RECV_BUF);
		/* The receive whose completion closes must complete on the first data. */
		if (chance(20) && !(i == 0 && sc->closer == BY_RECV_ROUTINE))
			sc->recv_flags[i] = WSK_FLAG_WAITALL;
	}
	sc->nsend = sc->closer == BY_SEND_ROUTINE ? 1 + below(MAX_SEND) : below(MAX_SEND + 1);
	for (unsigned i = 0; i < sc->nsend; i++) {
		uint32_t kind = below(100);

		if (i == 0 && sc->closer == BY_SEND_ROUTINE)
			kind = 0;   /* small: it completes at once, the close follows from its routine */
		sc->send_len[i] = kind < 50   ? 1 + below(1460)
				  : kind < 85 || !sc->small_window ? 4096 + below(28 * 1024)
				  : BIG_SEND;
	}
	if (sc->race == RACE_DATA)
		sc->data_len = chance(5) ? 16384 + below(16384) : 1 + below(8192);
	if (sc->race == RACE_DATA || sc->race == RACE_FIN)
		sc->then_rst = chance(20);

	if (sc->race == RACE_TIMER || sc->race == RACE_NONE) {
		uint32_t p = below(100);

		sc->timing = DELAY;
		/* Mostly at once; some while ACKs or window probes are due; a few long enough for
		 * lwIP's persist timer (its first probe comes after 600 ms). */
		sc->delay_ms = p < 70 ? 0 : p < 95 ? 1 + below(20)
			       : sc->race == RACE_TIMER ? 100 + below(1400) : 1 + below(50);
	} else {
		sc->timing = (enum timing)below(TIMING_N);
		if (sc->timing == SPIN_PEER_FIRST || sc->timing == SPIN_CLOSE_FIRST)
			sc->spin = below(1u << below(15));
		if (sc->timing == DELAY)
			sc->delay_ms = 1 + below(5);
	}
}

/* ---- interleavings ------------------------------------------------------------------------ */

enum tk { TK_OPEN, TK_BIND, TK_CONNECT, TK_CONTROL, TK_RECV, TK_SEND = TK_RECV + MAX_RECV,
	  TK_CLOSE = TK_SEND + MAX_SEND, TK_N };
static const char *tk_name(int k)
{
	static const char *names[] = { "open", "bind", "connect", "control" };

	return k < TK_RECV ? names[k] : k < TK_SEND ? "receive" : k < TK_CLOSE ? "send" : "close";
}

struct conn;

/* One IRP of an interleaving, and what came back. Touched on the test thread only: the
 * completion routines run there (the lcore only posts), except close.irp's state, which the
 * event callbacks read. */
struct tirp {
	PIRP irp;
	struct conn *c;
	int kind;
	bool issued;
	int completions;
	uint64_t order, issue_seq;
	NTSTATUS status;
	ULONG_PTR info;
	PMDL mdl;
	WSK_BUF wb;
};

enum peer_state { P_NONE, P_CONNECTING, P_OPEN, P_VERIFY, P_DONE };
enum peer_end { END_NONE, END_SELF_ABORT, END_RST, END_EOF, END_ERROR, END_TIMEOUT };

/* What epoll reports: which object a ready fd belongs to. */
enum tag_type { TAG_CQ, TAG_LISTENER, TAG_SILENT_LISTENER, TAG_PEER, TAG_STALE };
struct tag {
	enum tag_type type;
	void *obj;
};

struct slot;

struct retained {
	PWSK_DATA_INDICATION list;
	struct retained *next;
};

struct conn {
	uint64_t serial;
	struct slot *slot;
	struct script sc;
	uint8_t sbyte, pbyte;     /* stack->peer and peer->stack byte value */
	uint16_t stack_port, peer_port;
	SOCKADDR_IN local, remote;
	PWSK_SOCKET sock;         /* set on the test thread before anything reaches the lcore */
	struct tirp t[TK_N];
	unsigned issued, completed;
	uint8_t *rbuf, *sbuf;

	bool stack_ready, peer_ready, fired;
	_Atomic int close_claim;  /* who closes (enum closer + 1): the first to claim does */
	bool close_done;
	uint64_t close_at;        /* DELAY timing: the test thread closes then */
	uint64_t fallback_at, deadline, verify_until;

	int pfd;
	struct tag ptag;
	enum peer_state pstate;
	enum peer_end pend;
	bool peer_send_reset;     /* a peer send() already consumed the reset (ECONNRESET) */
	size_t peer_read;

	/* written by the callbacks on the lcore */
	_Atomic unsigned ev_recv, ev_disc, ev_bad_bytes, c5_violations;
	_Atomic(struct retained *) retained;
	_Atomic bool retired;
};

struct slot {
	int idx;
	int peer_lfd, silent_lfd;
	struct tag ltag, silent_tag;
	PWSK_SOCKET stack_l;
	struct conn *c;
};

static struct {
	WSK_PROVIDER_NPI *npi;
	int ep;
	struct slot slots[SLOTS];
	uint64_t count, started, retired, failed;
	uint64_t issued, completed, order, issue_seq;
	_Atomic uint64_t closes_issued;   /* try_close may run on the lcore */
	uint16_t next_stack_port, next_peer_port;
	struct conn *quarantine[QUARANTINE];
	unsigned qpos;
	/* counters for the report */
	uint64_t by_race[RACE_N], by_closer[BY_N], by_timing[TIMING_N], connect_races;
	uint64_t peer_connects, small_windows, with_events, silent_peers;
	uint64_t st_cancelled[TK_N], st_success[TK_N], st_reset[TK_N], st_other[TK_N];
	uint64_t peer_rst, peer_self, peer_reset_on_send, stale_peer, stale_ok;
	uint64_t fallbacks, retained_released, bytes_to_peer, bytes_from_peer;
	_Atomic uint64_t ev_recv, ev_disc, ev_close;
	uint64_t peer_read;
	_Atomic unsigned messages;   /* conn_fail may run on the lcore */
} g;

/* Failure report for one interleaving, limited so a broken run stays readable. */
static void conn_fail(struct conn *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void conn_fail(struct conn *c, const char *fmt, ...)
{
	va_list ap;

	h_failures++;
	if (g.messages++ >= 30)
		return;
	va_start(ap, fmt);
	if (c->sc.connect_race)
		fprintf(stderr, "FAIL interleaving %llu (close while connecting, %s): ",
			(unsigned long long)c->serial, timing_name[c->sc.timing]);
	else
		fprintf(stderr, "FAIL interleaving %llu (%s, %s, race %s, closed by %s%s%s): ",
			(unsigned long long)c->serial,
			c->sc.peer_connects ? "Linux connects" : "stack connects",
			c->sc.silent_peer ? "silent peer" : c->sc.small_window ? "tiny window"
										: "window",
			race_name[c->sc.race], closer_name[c->sc.closer],
			c->sc.closer == BY_DRIVER ? ", " : "",
			c->sc.closer == BY_DRIVER ? timing_name[c->sc.timing] : "");
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

static uint16_t next_port(uint16_t *p)
{
	if (*p < EPH_FIRST || *p >= EPH_LAST)
		*p = EPH_FIRST;
	return (*p)++;
}

/* A local port for the stack's side. A connection the stack ends gracefully stays in
 * TIME_WAIT for 2*MSL (4 s, stack/lwipopts.h) holding its local port, and a bind to that port
 * then fails with STATUS_ADDRESS_ALREADY_ASSOCIATED (F2), as on Windows and Linux. So a port
 * is given out again only that long after its connection retired (closed on both sides, so
 * any TIME_WAIT began before), and never while its connection is still open: counting from
 * the bind instead, a connection slowed down on a busy machine (retransmissions under ASan)
 * was still in TIME_WAIT when its port came round again. With the engine on a core of its own
 * the test opens more than 18,000 ports in 4 s; then it waits for the oldest one to age: a
 * bound on the rate, not a wait for any event. */
#define PORT_REUSE_MS  (2 * 2000 + 500)
static uint64_t stack_port_freed_ms[EPH_LAST + 1];
static bool stack_port_busy[EPH_LAST + 1];

static uint16_t next_stack_port(uint16_t *p)
{
	uint16_t port = next_port(p);

	/* skip the ports whose connections are still open (there are always far fewer of
	 * those than ports) */
	for (unsigned n = 0; stack_port_busy[port] && n < EPH_LAST - EPH_FIRST; n++)
		port = next_port(p);
	uint64_t now = h_now_ms(), freed = stack_port_freed_ms[port];

	if (freed != 0 && now < freed + PORT_REUSE_MS)
		usleep((useconds_t)(freed + PORT_REUSE_MS - now) * 1000);
	stack_port_busy[port] = true;
	return port;
}

/* The connection using a stack-side port retired: the port may go again after TIME_WAIT. */
static void stack_port_release(uint16_t port)
{
	if (port != 0) {
		stack_port_busy[port] = false;
		stack_port_freed_ms[port] = h_now_ms();
	}
}

static void spin(uint32_t n)
{
	for (volatile uint32_t i = 0; i < n; i++)
		;
}

static void ep_set(int fd, struct tag *t, uint32_t events, int op)
{
	struct epoll_event e = { .events = events, .data.ptr = t };

	if (epoll_ctl(g.ep, op, fd, &e) != 0) {
		fprintf(stderr, "epoll_ctl: %s\n", strerror(errno));
		h_failures++;
	}
}

/* ---- the event callbacks (polling core) -------------------------------------------------- */

static void try_close(struct conn *c, enum closer who);

/* C5: once the close IRP completed, no callback of the socket may run. */
static void check_quiet(struct conn *c)
{
	if (atomic_load(&c->retired) ||
	    (atomic_load(&c->close_claim) != 0 &&
	     DpwGetIrpState(c->t[TK_CLOSE].irp) >= DpwIrpCompleting))
		c->c5_violations++;
}

/* Every byte the peer sends on a connection is its pbyte. */
static void check_piece(const uint8_t *p, size_t len, void *arg)
{
	struct conn *c = arg;

	for (size_t i = 0; i < len; i++)
		if (p[i] != c->pbyte)
			c->ev_bad_bytes++;
}

static NTSTATUS WSKAPI ev_receive(PVOID ctx, ULONG flags, PWSK_DATA_INDICATION di,
				  SIZE_T indicated, SIZE_T *accepted)
{
	struct conn *c = ctx;
	size_t seen;
	NTSTATUS st = STATUS_SUCCESS;

	(void)flags;
	(void)accepted;
	check_quiet(c);
	c->ev_recv++;
	g.ev_recv++;
	seen = h_indication_bytes(di, check_piece, c);
	if (seen != indicated)
		c->ev_bad_bytes++;
	if (c->sc.closer == BY_RECV_EVENT)
		try_close(c, BY_RECV_EVENT);      /* C5: inside the socket's own callback */
	if (di != NULL && c->sc.reply == REPLY_RETAIN) {
		struct retained *r = malloc(sizeof(*r));

		if (r != NULL) {
			/* C9: the data stays ours until WskRelease, close or not. */
			r->list = di;
			r->next = atomic_load(&c->retained);
			while (!atomic_compare_exchange_weak(&c->retained, &r->next, r))
				;
			st = STATUS_PENDING;
		}
	} else if (di != NULL && c->sc.reply == REPLY_REFUSE) {
		st = STATUS_DATA_NOT_ACCEPTED;
	}
	check_quiet(c);
	return st;
}

static NTSTATUS WSKAPI ev_disconnect(PVOID ctx, ULONG flags)
{
	struct conn *c = ctx;

	(void)flags;
	check_quiet(c);
	c->ev_disc++;
	g.ev_disc++;
	if (c->sc.closer == BY_DISC_EVENT)
		try_close(c, BY_DISC_EVENT);
	check_quiet(c);
	return STATUS_SUCCESS;
}

static const WSK_CLIENT_CONNECTION_DISPATCH conn_events = { ev_receive, ev_disconnect, NULL };

/* ---- issuing IRPs ------------------------------------------------------------------------ */

static NTSTATUS WSKAPI t_done(PDEVICE_OBJECT dev, PIRP irp, PVOID ctx);

static struct tirp *arm(struct conn *c, int k)
{
	struct tirp *t = &c->t[k];

	if (t->irp == NULL) {
		t->irp = IoAllocateIrp(1, FALSE);
		if (t->irp == NULL) {
			fprintf(stderr, "out of memory\n");
			exit(1);
		}
	}
	t->c = c;
	t->kind = k;
	IoSetCompletionRoutine(t->irp, t_done, t, TRUE, TRUE, TRUE);
	t->issued = true;
	t->issue_seq = ++g.issue_seq;
	c->issued++;
	g.issued++;
	return t;
}

/* What a call returned. A receive or send may fail at once (the connection was reset: R3,
 * the IRP completes with that status too, checked in t_done); the set-up calls may not. */
static void issued(struct conn *c, int k, NTSTATUS st)
{
	if (st != STATUS_PENDING && st != STATUS_SUCCESS && k < TK_RECV)
		conn_fail(c, "%s returned %s", tk_name(k), DpwNtStatusName(st));
}

static void try_close(struct conn *c, enum closer who)
{
	int none = 0;
	NTSTATUS st;

	if (!atomic_compare_exchange_strong(&c->close_claim, &none, (int)who + 1))
		return;
	/* Counted here, on whichever thread closes; the test thread reads it once the close
	 * completed (the completion ring orders the two). */
	c->t[TK_CLOSE].issued = true;
	g.closes_issued++;
	/* The close IRP was armed before anything could call this (see fire()). */
	st = DpwConnectionDispatch(c->sock)->WskCloseSocket(c->sock, c->t[TK_CLOSE].irp);
	if (st != STATUS_PENDING && st != STATUS_SUCCESS)
		conn_fail(c, "WskCloseSocket returned %s", DpwNtStatusName(st));   /* C1 */
	if (who != BY_DRIVER)
		g.ev_close += who == BY_RECV_EVENT || who == BY_DISC_EVENT;
}

static void close_now(struct conn *c)
{
	try_close(c, BY_DRIVER);
}

static void issue_recv(struct conn *c, unsigned i)
{
	struct tirp *t = arm(c, TK_RECV + (int)i);
	uint8_t *buf = c->rbuf + i * RECV_BUF;

	t->mdl = IoAllocateMdl(buf, c->sc.recv_len[i], FALSE, FALSE, NULL);
	t->wb = (WSK_BUF){ t->mdl, 0, c->sc.recv_len[i] };
	issued(c, t->kind, DpwConnectionDispatch(c->sock)->WskReceive(c->sock, &t->wb,
								      c->sc.recv_flags[i], t->irp));
}

static void issue_send(struct conn *c, unsigned i)
{
	struct tirp *t = arm(c, TK_SEND + (int)i);

	t->mdl = IoAllocateMdl(c->sbuf, c->sc.send_len[i], FALSE, FALSE, NULL);
	t->wb = (WSK_BUF){ t->mdl, 0, c->sc.send_len[i] };
	issued(c, t->kind, DpwConnectionDispatch(c->sock)->WskSend(c->sock, &t->wb, 0, t->irp));
}

/* ---- the peer's side --------------------------------------------------------------------- */

static void peer_close_fd(struct conn *c, enum peer_end how)
{
	if (c->pfd >= 0)
		close(c->pfd);   /* leaves the epoll set with it */
	c->pfd = -1;
	c->pstate = P_DONE;
	c->pend = how;
}

static void peer_send(struct conn *c, uint32_t len)
{
	uint8_t buf[32768];

	memset(buf, c->pbyte, len < sizeof(buf) ? len : sizeof(buf));
	while (len > 0) {
		ssize_t n = send(c->pfd, buf, len < sizeof(buf) ? len : sizeof(buf),
				 MSG_DONTWAIT | MSG_NOSIGNAL);

		if (n <= 0) {
			/* The stack's RST got here first: this send consumed the error (Linux
			 * reports it once), a later read sees only the end of the stream. */
			if (n < 0 && (errno == ECONNRESET || errno == EPIPE))
				c->peer_send_reset = true;
			return;   /* or the window is full: the rest is not needed for the race */
		}
		len -= (uint32_t)n;
	}
}

static void peer_act(struct conn *c)
{
	switch (c->sc.race) {
	case RACE_RST:
		peer_abort(c->pfd);
		c->pfd = -1;
		peer_close_fd(c, END_SELF_ABORT);
		return;
	case RACE_DATA:
		peer_send(c, c->sc.data_len);
		g.bytes_from_peer += c->sc.data_len;
		break;
	case RACE_FIN:
		shutdown(c->pfd, SHUT_WR);
		break;
	default:
		return;
	}
	if (c->sc.then_rst) {
		peer_abort(c->pfd);
		c->pfd = -1;
		peer_close_fd(c, END_SELF_ABORT);
	}
}

static void try_retire(struct conn *c);

/* After the close: read what the stack sent, then the RST (C3). Never a FIN: no graceful
 * disconnect happens in these scripts. */
static void peer_verify(struct conn *c)
{
	uint8_t buf[16384];

	for (;;) {
		ssize_t n = recv(c->pfd, buf, sizeof(buf), MSG_DONTWAIT);

		if (n > 0) {
			for (ssize_t i = 0; i < n; i++)
				if (buf[i] != c->sbyte) {
					conn_fail(c, "the peer read byte %u, want %u (another "
						  "connection's data?)", buf[i], c->sbyte);
					break;
				}
			c->peer_read += (size_t)n;
			continue;
		}
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n < 0 && errno == ECONNRESET) {
			peer_close_fd(c, END_RST);
		} else if (n == 0 && c->peer_send_reset) {
			peer_close_fd(c, END_RST);     /* the reset was reported to send() */
			g.peer_reset_on_send++;
		} else {
			if (n == 0)
				conn_fail(c, "the peer read the end of the stream (a FIN), want a RST "
					  "(C3)");
			else
				conn_fail(c, "the peer's read failed: %s", strerror(errno));
			peer_close_fd(c, n == 0 ? END_EOF : END_ERROR);
		}
		try_retire(c);
		return;
	}
}

/* Connections accepted by a Linux listener that belong to no running interleaving: those of
 * connect races (the stack closed while connecting, after the handshake got through). They
 * too must end with a RST. */
struct stale {
	struct tag tag;
	int fd;
	uint64_t until;
	struct stale *next;
};
static struct stale *stales;

static void stale_add(int fd)
{
	struct stale *s = calloc(1, sizeof(*s));

	g.stale_peer++;
	if (s == NULL) {
		close(fd);
		return;
	}
	s->fd = fd;
	s->tag = (struct tag){ TAG_STALE, s };
	s->until = h_now_ms() + PEER_RST_MS;
	s->next = stales;
	stales = s;
	ep_set(fd, &s->tag, EPOLLIN, EPOLL_CTL_ADD);
}

static void stale_ready(struct stale *s)
{
	char buf[4096];
	ssize_t n;

	while ((n = recv(s->fd, buf, sizeof(buf), MSG_DONTWAIT)) > 0)
		;
	if (n < 0 && errno == EAGAIN)
		return;
	if (n < 0 && errno == ECONNRESET) {
		g.stale_ok++;
	} else {
		h_failures++;
		fprintf(stderr, "FAIL a connection the stack closed while connecting ended with %s, "
				"want a RST (C3)\n", n == 0 ? "a FIN" : strerror(errno));
	}
	close(s->fd);
	s->fd = -1;
}

static void stales_sweep(uint64_t now, bool final)
{
	for (struct stale **pp = &stales; *pp != NULL;) {
		struct stale *s = *pp;

		if (s->fd >= 0 && (now >= s->until || final)) {
			h_failures++;
			fprintf(stderr, "FAIL a connection the stack closed while connecting saw no RST "
					"within %u ms (C3)\n", PEER_RST_MS);
			close(s->fd);
			s->fd = -1;
		}
		if (s->fd < 0) {
			*pp = s->next;
			free(s);
		} else {
			pp = &s->next;
		}
	}
}

/* ---- the steps of an interleaving ---------------------------------------------------------- */

static void fire(struct conn *c)
{
	const struct script *sc = &c->sc;

	c->fired = true;
	for (unsigned i = 0; i < sc->nrecv; i++)
		issue_recv(c, i);
	for (unsigned i = 0; i < sc->nsend; i++)
		issue_send(c, i);
	if (sc->closer != BY_DRIVER) {
		/* The peer's action makes a completion or an event close the socket. */
		peer_act(c);
		c->fallback_at = h_now_ms() + FALLBACK_MS;
		return;
	}
	switch (sc->timing) {
	case CLOSE_FIRST:
		close_now(c);
		peer_act(c);
		break;
	case PEER_FIRST:
		peer_act(c);
		close_now(c);
		break;
	case SPIN_PEER_FIRST:
		peer_act(c);
		spin(sc->spin);
		close_now(c);
		break;
	case SPIN_CLOSE_FIRST:
		close_now(c);
		spin(sc->spin);
		peer_act(c);
		break;
	case DELAY:
		peer_act(c);
		if (sc->delay_ms == 0)
			close_now(c);
		else
			c->close_at = h_now_ms() + sc->delay_ms;
		break;
	default:
		break;
	}
}

/* Both ends are connected: enable the events first (and wait for that, so that the data the
 * peer sends next meets them), then fire. */
static void ready(struct conn *c)
{
	if (!c->stack_ready || !c->peer_ready || c->fired)
		return;
	if (c->sc.events != 0 && !c->t[TK_CONTROL].issued) {
		static WSK_EVENT_CALLBACK_CONTROL ctl_recv = { (PNPIID)&NPI_WSK_INTERFACE_ID,
							       WSK_EVENT_RECEIVE };
		static WSK_EVENT_CALLBACK_CONTROL ctl_disc = { (PNPIID)&NPI_WSK_INTERFACE_ID,
							       WSK_EVENT_DISCONNECT };
		static WSK_EVENT_CALLBACK_CONTROL ctl_both = { (PNPIID)&NPI_WSK_INTERFACE_ID,
							       WSK_EVENT_RECEIVE |
								       WSK_EVENT_DISCONNECT };
		WSK_EVENT_CALLBACK_CONTROL *ctl = c->sc.events == WSK_EVENT_RECEIVE ? &ctl_recv
						  : c->sc.events == WSK_EVENT_DISCONNECT ? &ctl_disc
						  : &ctl_both;
		const WSK_PROVIDER_CONNECTION_DISPATCH *cd = DpwConnectionDispatch(c->sock);
		struct tirp *t = arm(c, TK_CONTROL);

		issued(c, TK_CONTROL,
		       cd->WskControlSocket(c->sock, WskSetOption, SO_WSK_EVENT_CALLBACK, SOL_SOCKET,
					    sizeof(*ctl), ctl, 0, NULL, NULL, t->irp));
		return;
	}
	fire(c);
}

static void connect_race_go(struct conn *c)
{
	struct tirp *tb = arm(c, TK_BIND), *tc = arm(c, TK_CONNECT);

	/* In order on the polling core: bind, connect (SYN out). The close comes once the bind
	 * completed (t_done): a close called at once would find both still in the request ring
	 * and cancel them (C2) before any SYN. */
	issued(c, TK_BIND, DpwConnectionDispatch(c->sock)->WskBind(c->sock, (PSOCKADDR)&c->local, 0,
								   tb->irp));
	issued(c, TK_CONNECT, DpwConnectionDispatch(c->sock)->WskConnect(c->sock,
									 (PSOCKADDR)&c->remote, 0,
									 tc->irp));
	c->peer_ready = true;
	c->pstate = P_DONE;   /* whatever Linux accepted is checked as a stale connection */
	c->pend = END_NONE;
}

static bool status_allowed(int k, NTSTATUS st, ULONG_PTR info, const struct conn *c)
{
	if (k == TK_CLOSE || k == TK_OPEN || k == TK_CONTROL)
		return st == STATUS_SUCCESS;
	if (st == STATUS_CANCELLED)
		return info == 0;                      /* C2 */
	if (k == TK_BIND)
		return st == STATUS_SUCCESS;
	if (k == TK_CONNECT)
		return st == STATUS_SUCCESS || st == STATUS_CONNECTION_REFUSED ||
		       st == STATUS_CONNECTION_RESET;
	if (st == STATUS_CONNECTION_RESET || st == STATUS_CONNECTION_ABORTED)
		return info == 0;
	if (st != STATUS_SUCCESS)
		return false;
	if (k >= TK_SEND)
		return info == c->sc.send_len[k - TK_SEND];   /* F3: all of it */
	return info <= c->sc.recv_len[k - TK_RECV];
}

static void on_close_done(struct conn *c, struct tirp *t)
{
	c->close_done = true;
	if (t->status != STATUS_SUCCESS)
		conn_fail(c, "close completed with %s (C1)", DpwNtStatusName(t->status));
	/* C2: the close completes last. The routines run on this thread in completion order,
	 * so every other IRP of the socket has run its routine by now. */
	for (int k = TK_BIND; k < TK_CLOSE; k++)
		if (c->t[k].issued && c->t[k].completions != 1)
			conn_fail(c, "%s IRP not completed before the close IRP (C2)",
				  tk_name(k));
	/* C9 (ours): indications retained in the receive event are released after the close;
	 * their mbufs must still go back to the pool. */
	for (struct retained *r = atomic_exchange(&c->retained, NULL), *next; r != NULL;
	     r = next) {
		next = r->next;
		if (DpwConnectionDispatch(c->sock)->WskRelease(c->sock, r->list) != STATUS_SUCCESS)
			conn_fail(c, "WskRelease after close failed (C9)");
		g.retained_released++;
		free(r);
	}
	if (c->pstate == P_OPEN) {
		c->pstate = P_VERIFY;
		c->verify_until = h_now_ms() + PEER_RST_MS;
		ep_set(c->pfd, &c->ptag, EPOLLIN, EPOLL_CTL_ADD);
		peer_verify(c);
	}
}

static NTSTATUS WSKAPI t_done(PDEVICE_OBJECT dev, PIRP irp, PVOID ctx)
{
	struct tirp *t = ctx;
	struct conn *c = t->c;
	int k = t->kind;

	(void)dev;
	t->completions++;
	t->status = irp->IoStatus.Status;
	t->info = irp->IoStatus.Information;
	t->order = ++g.order;
	c->completed++;
	g.completed++;
	if (t->completions != 1) {
		conn_fail(c, "%s IRP completed %d times (R2)", tk_name(k), t->completions);
		return STATUS_MORE_PROCESSING_REQUIRED;
	}
	if (t->status == STATUS_CANCELLED)
		g.st_cancelled[k]++;
	else if (t->status == STATUS_SUCCESS)
		g.st_success[k]++;
	else if (t->status == STATUS_CONNECTION_RESET || t->status == STATUS_CONNECTION_ABORTED)
		g.st_reset[k]++;
	else
		g.st_other[k]++;
	if (!status_allowed(k, t->status, t->info, c))
		conn_fail(c, "%s IRP completed with %s, Information %lu", tk_name(k),
			  DpwNtStatusName(t->status), (unsigned long)t->info);

	if (k == TK_OPEN) {
		if (t->status != STATUS_SUCCESS) {
			c->stack_ready = c->peer_ready = c->fired = true;
			c->close_done = true;           /* nothing to close */
			atomic_store(&c->close_claim, -1);
			if (c->pfd >= 0)
				peer_close_fd(c, END_NONE);
			c->pstate = P_DONE;
		} else {
			c->sock = (PWSK_SOCKET)t->info;
			if (c->sc.peer_connects &&
			    (c->remote.sin_port != htons(c->peer_port) ||
			     c->local.sin_port != htons((uint16_t)(STACK_LPORT + c->slot->idx))))
				conn_fail(c, "accepted a connection from port %u, want %u (F6)",
					  ntohs(c->remote.sin_port), c->peer_port);
			c->stack_ready = true;
			if (c->sc.connect_race)
				connect_race_go(c);
			else
				ready(c);
		}
	} else if (k == TK_BIND) {
		if (c->sc.timing == DELAY)
			c->close_at = h_now_ms() + c->sc.delay_ms;
		else {
			if (c->sc.timing == SPIN_CLOSE_FIRST)
				spin(c->sc.spin);
			close_now(c);
		}
	} else if (k == TK_CONTROL) {
		fire(c);
	} else if (k >= TK_RECV && k < TK_SEND) {
		if (t->status == STATUS_SUCCESS)
			for (ULONG_PTR i = 0; i < t->info; i++)
				if (c->rbuf[(k - TK_RECV) * RECV_BUF + i] != c->pbyte) {
					conn_fail(c, "received byte %u, want %u",
						  c->rbuf[(k - TK_RECV) * RECV_BUF + i], c->pbyte);
					break;
				}
		if (k == TK_RECV && c->sc.closer == BY_RECV_ROUTINE)
			try_close(c, BY_RECV_ROUTINE);   /* C5: close inside a completion routine */
	} else if (k == TK_SEND) {
		if (c->sc.closer == BY_SEND_ROUTINE)
			try_close(c, BY_SEND_ROUTINE);
	} else if (k == TK_CLOSE) {
		on_close_done(c, t);
	}
	try_retire(c);
	return STATUS_MORE_PROCESSING_REQUIRED;   /* the IRP stays ours */
}

/* ---- starting and ending interleavings ----------------------------------------------------- */

static void start(struct slot *s)
{
	struct conn *c = calloc(1, sizeof(*c));
	const WSK_PROVIDER_NPI *npi = g.npi;
	struct script *sc;
	uint64_t now = h_now_ms();

	if (c == NULL || (c->rbuf = malloc(MAX_RECV * RECV_BUF)) == NULL) {
		fprintf(stderr, "out of memory\n");
		exit(1);
	}
	sc = &c->sc;
	c->serial = g.started++;
	c->slot = s;
	s->c = c;
	c->pfd = -1;
	c->ptag = (struct tag){ TAG_PEER, c };
	c->sbyte = (uint8_t)(1 + c->serial % 251);
	c->pbyte = (uint8_t)(c->sbyte ^ 0x80);
	c->deadline = now + CONN_MS;
	make_script(sc);
	if (sc->connect_race) {
		g.connect_races++;
	} else {
		g.by_race[sc->race]++;
		g.by_closer[sc->closer]++;
		if (sc->closer == BY_DRIVER)
			g.by_timing[sc->timing]++;
		g.peer_connects += sc->peer_connects;
		g.small_windows += sc->small_window;
		g.silent_peers += sc->silent_peer;
		g.with_events += sc->events != 0;
	}
	if (sc->nsend > 0) {
		uint32_t max = 0;

		for (unsigned i = 0; i < sc->nsend; i++)
			max = sc->send_len[i] > max ? sc->send_len[i] : max;
		c->sbuf = malloc(max);
		if (c->sbuf == NULL)
			exit(1);
		memset(c->sbuf, c->sbyte, max);
		for (unsigned i = 0; i < sc->nsend; i++)
			g.bytes_to_peer += sc->send_len[i];
	}
	/* The close IRP exists from the start: the callbacks look at its state (C5). */
	c->t[TK_CLOSE].irp = IoAllocateIrp(1, FALSE);
	IoSetCompletionRoutine(c->t[TK_CLOSE].irp, t_done, &c->t[TK_CLOSE], TRUE, TRUE, TRUE);
	c->t[TK_CLOSE].c = c;
	c->t[TK_CLOSE].kind = TK_CLOSE;

	if (sc->peer_connects) {
		struct sockaddr_in me = { .sin_family = AF_INET }, to = { .sin_family = AF_INET };
		int one = 1, minbuf = 1;
		struct tirp *t = arm(c, TK_OPEN);

		issued(c, TK_OPEN,
		       DpwListenDispatch(s->stack_l)->WskAccept(s->stack_l, 0, c, &conn_events,
								(PSOCKADDR)&c->local,
								(PSOCKADDR)&c->remote, t->irp));
		c->peer_port = next_port(&g.next_peer_port);
		c->pfd = peer_socket(SOCK_STREAM | SOCK_NONBLOCK);
		me.sin_addr.s_addr = h_ip_peer;
		me.sin_port = htons(c->peer_port);
		to.sin_addr.s_addr = h_ip_stack;
		to.sin_port = htons((uint16_t)(STACK_LPORT + s->idx));
		setsockopt(c->pfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (sc->small_window)
			setsockopt(c->pfd, SOL_SOCKET, SO_RCVBUF, &minbuf, sizeof(minbuf));
		if (c->pfd < 0 || bind(c->pfd, (struct sockaddr *)&me, sizeof(me)) != 0 ||
		    (connect(c->pfd, (struct sockaddr *)&to, sizeof(to)) != 0 &&
		     errno != EINPROGRESS)) {
			conn_fail(c, "peer connect from port %u: %s", c->peer_port, strerror(errno));
			exit(1);
		}
		c->pstate = P_CONNECTING;
		ep_set(c->pfd, &c->ptag, EPOLLOUT, EPOLL_CTL_ADD);
	} else {
		int rcvbuf = sc->small_window ? 1 : 65536;
		struct tirp *t;

		c->stack_port = next_stack_port(&g.next_stack_port);
		h_sockaddr(&c->local, 0, c->stack_port);
		h_sockaddr(&c->remote, h_ip_peer,
			   (uint16_t)((sc->silent_peer ? SILENT_LPORT : PEER_LPORT) + s->idx));
		/* A child takes its window from the listener's buffer at the SYN. */
		setsockopt(s->peer_lfd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
		t = arm(c, TK_OPEN);
		if (sc->connect_race) {
			issued(c, TK_OPEN,
			       npi->Dispatch->WskSocket(npi->Client, AF_INET, SOCK_STREAM,
							IPPROTO_TCP, WSK_FLAG_CONNECTION_SOCKET, c,
							&conn_events, NULL, NULL, NULL, t->irp));
		} else {
			issued(c, TK_OPEN,
			       npi->Dispatch->WskSocketConnect(npi->Client, SOCK_STREAM, IPPROTO_TCP,
							       (PSOCKADDR)&c->local,
							       (PSOCKADDR)&c->remote, 0, c,
							       &conn_events, NULL, NULL, NULL,
							       t->irp));
			c->pstate = P_CONNECTING;   /* until the listener hands it over */
		}
	}
}

static void dump(struct conn *c)
{
	for (int k = 0; k < TK_N; k++)
		if (c->t[k].issued)
			fprintf(stderr, "   %-8s issue %llu order %llu %s %lu irp %p\n", tk_name(k),
				(unsigned long long)c->t[k].issue_seq,
				(unsigned long long)c->t[k].order, DpwNtStatusName(c->t[k].status),
				(unsigned long)c->t[k].info, (void *)c->t[k].irp);
	fprintf(stderr, "   claim %d events %lu nrecv %u nsend %u\n", atomic_load(&c->close_claim),
		(unsigned long)c->sc.events, c->sc.nrecv, c->sc.nsend);
}

static void try_retire(struct conn *c)
{
	struct slot *s = c->slot;

	if (!c->close_done || c->pstate != P_DONE || s->c != c ||
	    c->completed != c->issued + (atomic_load(&c->close_claim) > 0))
		return;
	/* C2: every IRP of the socket completed before the close did. */
	if (atomic_load(&c->close_claim) > 0)
		for (int k = TK_BIND; k < TK_CLOSE; k++)
			if (c->t[k].issued && c->t[k].order > c->t[TK_CLOSE].order)
				conn_fail(c, "%s IRP completed after the close IRP (C2)",
					  tk_name(k));
	/* The byte stream stays in order (F3, F4): a receive that got data, or a send that
	 * completed, comes after every earlier one, and each of those moved data too. Cancelled
	 * ones may complete in any order (C2 only asks: before the close). */
	for (int k = TK_RECV + 1; k < TK_SEND; k++) {
		if (!c->t[k].issued || c->t[k].status != STATUS_SUCCESS || c->t[k].info == 0)
			continue;
		for (int j = TK_RECV; j < k; j++)
			if (c->t[j].order > c->t[k].order || c->t[j].status != STATUS_SUCCESS ||
			    c->t[j].info == 0) {
				conn_fail(c, "receive %d got data, but receive %d before it completed "
					  "%s with %s, %lu bytes (F4)", k - TK_RECV, j - TK_RECV,
					  c->t[j].order > c->t[k].order ? "after it" : "before it",
					  DpwNtStatusName(c->t[j].status), (unsigned long)c->t[j].info);
				dump(c);
			}
	}
	for (int k = TK_SEND + 1; k < TK_CLOSE; k++) {
		if (!c->t[k].issued || c->t[k].status != STATUS_SUCCESS)
			continue;
		for (int j = TK_SEND; j < k; j++)
			if (c->t[j].order > c->t[k].order || c->t[j].status != STATUS_SUCCESS) {
				conn_fail(c, "send %d completed, but send %d before it completed %s "
					  "with %s (F3)", k - TK_SEND, j - TK_SEND,
					  c->t[j].order > c->t[k].order ? "after it" : "before it",
					  DpwNtStatusName(c->t[j].status));
				dump(c);
			}
	}
	if (c->c5_violations > 0)
		conn_fail(c, "%u event callbacks ran after the close IRP completed (C5)",
			  (unsigned)c->c5_violations);
	if (c->ev_bad_bytes > 0)
		conn_fail(c, "the receive event saw %u wrong bytes", (unsigned)c->ev_bad_bytes);
	g.peer_read += c->peer_read;
	if (c->pend == END_RST)
		g.peer_rst++;
	else if (c->pend == END_SELF_ABORT)
		g.peer_self++;

	for (int k = 0; k < TK_N; k++) {
		if (c->t[k].mdl != NULL)
			IoFreeMdl(c->t[k].mdl);
		if (c->t[k].irp != NULL)
			IoFreeIrp(c->t[k].irp);
	}
	free(c->rbuf);
	free(c->sbuf);
	c->rbuf = c->sbuf = NULL;
	stack_port_release(c->stack_port);
	s->c = NULL;
	g.retired++;
	/* Freed later: a callback that still ran for this socket (C5) would be seen by the
	 * retired flag, and by ASan once freed. */
	atomic_store(&c->retired, true);
	free(g.quarantine[g.qpos]);
	g.quarantine[g.qpos] = c;
	g.qpos = (g.qpos + 1) % QUARANTINE;
}

/* An interleaving that did not finish in CONN_MS: report where it stood, abandon it (its
 * memory stays, the provider may still hold its IRPs). */
static void abandon(struct conn *c)
{
	char what[256];
	size_t n = 0;

	for (int k = 0; k < TK_N; k++)
		if (c->t[k].issued && c->t[k].completions == 0)
			n += (size_t)snprintf(what + n, sizeof(what) - n, " %s", tk_name(k));
	conn_fail(c, "did not finish in %u ms: close claimed by %d, close done %d, peer state "
		     "%d, not completed:%s", CONN_MS, atomic_load(&c->close_claim), c->close_done,
		  c->pstate, n ? what : " none");
	if (c->pfd >= 0)
		close(c->pfd);
	c->pfd = -1;
	c->slot->c = NULL;
	g.failed++;
}

/* ---- the Linux listeners -------------------------------------------------------------------- */

static void listener_ready(struct slot *s, int lfd)
{
	for (;;) {
		struct sockaddr_in a;
		socklen_t len = sizeof(a);
		int fd = accept4(lfd, (struct sockaddr *)&a, &len,
				 SOCK_CLOEXEC | SOCK_NONBLOCK);
		struct conn *c = s->c;

		if (fd < 0)
			return;
		if (c != NULL && !c->sc.peer_connects && !c->sc.connect_race &&
		    c->pstate == P_CONNECTING && a.sin_port == htons(c->stack_port)) {
			c->pfd = fd;
			c->pstate = P_OPEN;
			c->peer_ready = true;
			ready(c);
		} else {
			stale_add(fd);
		}
	}
}

static void peer_ready(struct conn *c)
{
	if (c->pstate == P_CONNECTING) {
		int err = 0;
		socklen_t len = sizeof(err);

		getsockopt(c->pfd, SOL_SOCKET, SO_ERROR, &err, &len);
		if (err != 0) {
			conn_fail(c, "peer connect: %s", strerror(err));
			peer_close_fd(c, END_ERROR);
			return;
		}
		epoll_ctl(g.ep, EPOLL_CTL_DEL, c->pfd, NULL);
		c->pstate = P_OPEN;
		c->peer_ready = true;
		ready(c);
	} else if (c->pstate == P_VERIFY) {
		peer_verify(c);
	}
}

/* What the Linux end of a connection says about it, for a failure message: whether the
 * peer's FIN (or data) reached the stack and was acknowledged tells a lost segment from a
 * completion the provider never posted. */
static void peer_tcp_state(const struct conn *c, char *out, size_t len)
{
	static const char *const names[] = { "?", "ESTABLISHED", "SYN_SENT", "SYN_RECV",
					     "FIN_WAIT1", "FIN_WAIT2", "TIME_WAIT", "CLOSE",
					     "CLOSE_WAIT", "LAST_ACK", "LISTEN", "CLOSING" };
	struct tcp_info ti;
	socklen_t tl = sizeof(ti);

	if (c->pfd < 0 || getsockopt(c->pfd, IPPROTO_TCP, TCP_INFO, &ti, &tl) != 0) {
		snprintf(out, len, "the peer's socket is closed");
		return;
	}
	snprintf(out, len, "the peer is in %s, %u unacknowledged, %u retransmits, backoff %u, "
		 "the stack's window %u",
		 ti.tcpi_state < sizeof(names) / sizeof(names[0]) ? names[ti.tcpi_state] : "?",
		 ti.tcpi_unacked, ti.tcpi_retransmits, ti.tcpi_backoff, ti.tcpi_snd_wnd);
}

/* ---- the loop ----------------------------------------------------------------------------- */

static void sweep(uint64_t now)
{
	for (int i = 0; i < SLOTS; i++) {
		struct conn *c = g.slots[i].c;

		if (c == NULL)
			continue;
		if (c->close_at != 0 && now >= c->close_at) {
			c->close_at = 0;
			close_now(c);
		}
		if (c->fallback_at != 0 && now >= c->fallback_at) {
			c->fallback_at = 0;
			if (atomic_load(&c->close_claim) == 0) {
				char peer[160];

				g.fallbacks++;
				peer_tcp_state(c, peer, sizeof(peer));
				conn_fail(c, "the %s never came (%u of %u IRPs completed; %s): "
					  "closing from the test thread",
					  closer_name[c->sc.closer], c->completed, c->issued, peer);
				close_now(c);
			}
		}
		if (c->pstate == P_VERIFY && now >= c->verify_until) {
			conn_fail(c, "the peer saw no RST within %u ms of the close (C3)",
				  PEER_RST_MS);
			peer_close_fd(c, END_TIMEOUT);
			try_retire(c);
		}
		if (g.slots[i].c == c && now >= c->deadline)
			abandon(c);
	}
	stales_sweep(now, false);
}

static void run(void)
{
	struct tag cq = { TAG_CQ, NULL };
	struct epoll_event evs[64];
	uint64_t t0 = h_now_ms(), last_print = t0, next_sweep = t0, printed = 0;
	uint64_t limit = t0 + 600000;   /* a bound for the whole run */
	int cfd = WskCompletionFd(g.npi->Client);

	ep_set(cfd, &cq, EPOLLIN, EPOLL_CTL_ADD);
	while (g.retired + g.failed < g.count) {
		uint64_t now = h_now_ms();
		ULONG ran;
		int n;

		for (int i = 0; i < SLOTS && g.started < g.count; i++)
			if (g.slots[i].c == NULL)
				start(&g.slots[i]);
		ran = WskPollCompletions(g.npi->Client, 1024);
		n = epoll_wait(g.ep, evs, 64, ran > 0 ? 0 : 1);
		for (int i = 0; i < n; i++) {
			struct tag *t = evs[i].data.ptr;

			switch (t->type) {
			case TAG_CQ:
				break;   /* the next WskPollCompletions runs them */
			case TAG_LISTENER:
				listener_ready(t->obj, ((struct slot *)t->obj)->peer_lfd);
				break;
			case TAG_SILENT_LISTENER:
				listener_ready(t->obj, ((struct slot *)t->obj)->silent_lfd);
				break;
			case TAG_PEER:
				peer_ready(t->obj);
				break;
			case TAG_STALE:
				stale_ready(t->obj);
				break;
			}
		}
		now = h_now_ms();
		if (now >= next_sweep) {
			sweep(now);
			next_sweep = now + 1;
		}
		if (now - last_print >= 10000 || g.retired - printed >= 10000) {
			printf("  %llu of %llu interleavings done (%llu IRPs), %.1f s\n",
			       (unsigned long long)g.retired, (unsigned long long)g.count,
			       (unsigned long long)g.completed, (double)(now - t0) / 1000);
			last_print = now;
			printed = g.retired - g.retired % 10000;
		}
		if (now > limit) {
			h_failures++;
			fprintf(stderr, "FAIL the run did not end within 600 s\n");
			break;
		}
	}
	/* Late completions (a double one would show now), and the last stale peers. */
	for (uint64_t end = h_now_ms() + 200; h_now_ms() < end;) {
		int n;

		WskPollCompletions(g.npi->Client, 1024);
		n = epoll_wait(g.ep, evs, 64, 5);
		for (int i = 0; i < n; i++) {
			struct tag *t = evs[i].data.ptr;

			if (t->type == TAG_STALE)
				stale_ready(t->obj);
			else if (t->type == TAG_LISTENER)
				listener_ready(t->obj, ((struct slot *)t->obj)->peer_lfd);
			else if (t->type == TAG_SILENT_LISTENER)
				listener_ready(t->obj, ((struct slot *)t->obj)->silent_lfd);
		}
	}
	printf("%llu interleavings in %.1f s (%.0f/s)\n", (unsigned long long)g.retired,
	       (double)(h_now_ms() - t0) / 1000,
	       (double)g.retired * 1000.0 / (double)(h_now_ms() - t0 + 1));
}

/* ---- C2 through an overflowing completion ring --------------------------------------------- */

/* A client's completion ring holds 65,536 IRPs; more spill to an overflow list. A close with
 * more receives pending than that posts its cancellations to the ring, then to the list, then
 * its own completion: a consumer that frees ring slots meanwhile must not let the close (or
 * anything) overtake what waits in the list. The poller frees slots one at a time from the
 * moment the ring spilled, while the polling core is still posting. */
#define FLOOD        80000
#define FLOOD_PORT   5702

struct flood_irp {
	PIRP irp;
	int completions;
	uint64_t order;
};

static struct {
	struct flood_irp *f;          /* FLOOD receives, then the close */
	uint64_t order;               /* routines run on the poller, then (after join) here */
	_Atomic bool stop, close_done;
	ULONGLONG spills0;
} fl;

static NTSTATUS WSKAPI flood_done(PDEVICE_OBJECT dev, PIRP irp, PVOID ctx)
{
	struct flood_irp *f = ctx;

	(void)dev;
	(void)irp;
	f->completions++;
	f->order = ++fl.order;
	if (f == &fl.f[FLOOD])
		atomic_store(&fl.close_done, true);
	return STATUS_MORE_PROCESSING_REQUIRED;
}

static void *flood_poller(void *arg)
{
	DPW_PROVIDER_STATS ps;

	(void)arg;
	do
		DpwGetProviderStats(&ps);
	while (ps.CompletionSpills == fl.spills0 && !atomic_load(&fl.stop));
	while (!atomic_load(&fl.stop))
		WskPollCompletions(h_npi.Client, 1);
	return NULL;
}

static void flood_round(int lfd)
{
	PWSK_SOCKET s;
	DPW_PROVIDER_STATS ps;
	char byte;
	PMDL mdl = IoAllocateMdl(&byte, 1, FALSE, FALSE, NULL);
	WSK_BUF wb = { mdl, 0, 1 };
	unsigned refused = 0, twice = 0, after = 0;
	uint64_t end;
	pthread_t poller;
	int fd;

	if (!H_CHECK_STATUS(h_connect_to_peer_ex(WSK_FLAG_CONNECTION_SOCKET, NULL, NULL,
						 FLOOD_PORT, &s),
			    STATUS_SUCCESS))
		return;
	fd = peer_accept(lfd, 5000);
	fl.f = calloc(FLOOD + 1, sizeof(*fl.f));
	fl.order = 0;
	atomic_store(&fl.stop, false);
	atomic_store(&fl.close_done, false);
	for (int i = 0; i <= FLOOD; i++) {
		fl.f[i].irp = IoAllocateIrp(1, FALSE);
		IoSetCompletionRoutine(fl.f[i].irp, flood_done, &fl.f[i], TRUE, TRUE, TRUE);
	}
	for (int i = 0; i < FLOOD; i++) {
		/* Paced, so that the request ring (65,536 too) seldom refuses one; one it refuses
		 * completed at once (R3), before the close, and is checked like the others. */
		if (i % 4096 == 4095)
			usleep(2000);
		if (DpwConnectionDispatch(s)->WskReceive(s, &wb, 0,
							 fl.f[i].irp) != STATUS_PENDING) {
			refused++;
			usleep(1000);
		}
	}
	usleep(100000);   /* not needed for correctness: ones still queued are cancelled too */
	DpwGetProviderStats(&ps);
	fl.spills0 = ps.CompletionSpills;
	pthread_create(&poller, NULL, flood_poller, NULL);
	H_CHECK_STATUS(DpwConnectionDispatch(s)->WskCloseSocket(s, fl.f[FLOOD].irp),
		       STATUS_PENDING);
	for (end = h_now_ms() + 20000; !atomic_load(&fl.close_done) && h_now_ms() < end;)
		usleep(1000);   /* the poller runs the routines; this only bounds the wait */
	atomic_store(&fl.stop, true);
	pthread_join(poller, NULL);
	h_pump(100);      /* whatever is left runs now, after the close: counted below */
	DpwGetProviderStats(&ps);
	for (int i = 0; i < FLOOD; i++) {
		twice += fl.f[i].completions != 1;
		after += fl.f[i].completions == 1 && fl.f[i].order > fl.f[FLOOD].order;
	}
	printf("%u receives pending at the close, %llu completions spilled; %u completed after "
	       "the close, %u not exactly once\n", FLOOD - refused,
	       (unsigned long long)(ps.CompletionSpills - fl.spills0), after, twice);
	H_CHECK(fl.f[FLOOD].completions == 1);
	H_CHECK(ps.CompletionSpills > fl.spills0);   /* the ring did overflow */
	H_CHECK(twice == 0);                          /* R2 */
	H_CHECK(after == 0);                          /* C2 */
	for (int i = 0; i <= FLOOD; i++)
		IoFreeIrp(fl.f[i].irp);
	free(fl.f);
	IoFreeMdl(mdl);
	if (fd >= 0)
		close(fd);
}

/* ---- main ------------------------------------------------------------------------------------ */

/* In the peer namespace, on its veth end: TCP segments from ports SILENT_LPORT..+255 other
 * than SYNs go to a blackhole qdisc (HTB, so that only kernel parts Debian always has are
 * needed; unclassified traffic takes HTB's direct path, unshaped). The namespace, and the
 * filter with it, go when the test ends. */
static bool silence_peer_ports(void)
{
	const char *ns = getenv("DPW_NS_PEER"), *dev = getenv("DPW_IF_PEER");
	char cmd[1024];

	if (ns == NULL || dev == NULL)
		return false;
	snprintf(cmd, sizeof(cmd),
		 "set -e; x() { ip netns exec '%s' tc \"$@\"; }; "
		 "x qdisc add dev '%s' root handle 1: htb; "
		 "x class add dev '%s' parent 1: classid 1:1 htb rate 1mbit; "
		 "x qdisc add dev '%s' parent 1:1 handle 10: blackhole; "
		 "x filter add dev '%s' parent 1: protocol ip prio 1 u32 "
		 "match ip protocol 6 0xff match u16 0x%04x 0xff00 at 20 "
		 "match u8 0 0x02 at 33 flowid 1:1",
		 ns, dev, dev, dev, dev, SILENT_LPORT);
	return system(cmd) == 0;
}

static bool pcbs_are(void *want)
{
	return h_tcp_pcbs_in_use() == *(uint32_t *)want;
}

static bool mbufs_are(void *want)
{
	return h_mbufs_in_use() == *(uint32_t *)want;
}

static void report(void)
{
	printf("scripts: %llu connect races; %llu with Linux connecting, %llu tiny windows, %llu "
	       "silent peers, %llu with events\n", (unsigned long long)g.connect_races,
	       (unsigned long long)g.peer_connects, (unsigned long long)g.small_windows,
	       (unsigned long long)g.silent_peers, (unsigned long long)g.with_events);
	printf("  race:");
	for (int i = 0; i < RACE_N; i++)
		printf(" %s %llu%s", race_name[i], (unsigned long long)g.by_race[i],
		       i + 1 < RACE_N ? "," : "\n");
	printf("  closed by:");
	for (int i = 0; i < BY_N; i++)
		printf(" %s %llu%s", closer_name[i], (unsigned long long)g.by_closer[i],
		       i + 1 < BY_N ? "," : "\n");
	printf("  test-thread closes:");
	for (int i = 0; i < TIMING_N; i++)
		printf(" %s %llu%s", timing_name[i], (unsigned long long)g.by_timing[i],
		       i + 1 < TIMING_N ? "," : "\n");
	printf("IRPs (success / cancelled / reset or aborted / other):\n");
	for (int k = 0; k < TK_N; k++) {
		uint64_t sum = g.st_success[k] + g.st_cancelled[k] + g.st_reset[k] + g.st_other[k];

		if (k > TK_RECV && k < TK_SEND)
			continue;   /* one line per kind */
		if (k == TK_RECV || k == TK_SEND) {
			int last = k == TK_RECV ? TK_SEND : TK_CLOSE;

			for (int j = k + 1; j < last; j++) {
				g.st_success[k] += g.st_success[j];
				g.st_cancelled[k] += g.st_cancelled[j];
				g.st_reset[k] += g.st_reset[j];
				g.st_other[k] += g.st_other[j];
			}
			sum = g.st_success[k] + g.st_cancelled[k] + g.st_reset[k] + g.st_other[k];
		}
		if (k > TK_SEND && k < TK_CLOSE)
			continue;
		if (sum > 0)
			printf("  %-8s %llu / %llu / %llu / %llu\n", tk_name(k),
			       (unsigned long long)g.st_success[k],
			       (unsigned long long)g.st_cancelled[k],
			       (unsigned long long)g.st_reset[k], (unsigned long long)g.st_other[k]);
	}
	printf("events: %llu receive, %llu disconnect, %llu closes from inside them; %llu "
	       "retained indications released after the close\n",
	       (unsigned long long)g.ev_recv, (unsigned long long)g.ev_disc,
	       (unsigned long long)g.ev_close, (unsigned long long)g.retained_released);
	printf("data: sends of %llu bytes issued (the peer read %llu of them before the RST), the "
	       "peer sent %llu bytes\n", (unsigned long long)g.bytes_to_peer,
	       (unsigned long long)g.peer_read, (unsigned long long)g.bytes_from_peer);
	printf("Linux peer: %llu saw the RST (%llu of them in a send), %llu reset it itself; "
	       "%llu connections of connect races, %llu of them reset\n",
	       (unsigned long long)g.peer_rst, (unsigned long long)g.peer_reset_on_send,
	       (unsigned long long)g.peer_self, (unsigned long long)g.stale_peer,
	       (unsigned long long)g.stale_ok);
}

int main(int argc, char **argv)
{
	const char *seed_env = getenv("DPW_SEED"), *count_env = getenv("DPW_STRESS_COUNT");
	DPW_IRP_STATS is0, is1;
	uint32_t pcbs0, mbufs0;
	ULONG open0;
	uint64_t seed;

	h_start(argc, argv);
	seed = seed_env != NULL ? strtoull(seed_env, NULL, 0) : (uint64_t)time(NULL) ^
								    (uint64_t)getpid() << 32;
	rng = seed != 0 ? seed : 1;
	g.count = count_env != NULL ? strtoull(count_env, NULL, 0) : DEFAULT_COUNT;
	printf("seed %llu (DPW_SEED=%llu repeats these scripts), %llu interleavings, %d at once\n",
	       (unsigned long long)seed, (unsigned long long)seed, (unsigned long long)g.count,
	       SLOTS);
	h_test("close races: WskCloseSocket against the peer's RST, data, FIN, the stack's "
	       "timers or nothing, from the test thread, a completion routine or an event; "
	       "pending IRPs cancelled once, before the close; RST on the wire (WSK-C1, C2, C3, "
	       "C5, C9, R2)");
	DpwGetIrpStats(&is0);
	pcbs0 = h_tcp_pcbs_in_use();
	mbufs0 = h_mbufs_in_use();
	open0 = h_sockets_open();
	g.npi = &h_npi;
	g.ep = epoll_create1(EPOLL_CLOEXEC);
	for (int i = 0; i < SLOTS; i++) {
		struct slot *s = &g.slots[i];

		s->idx = i;
		s->peer_lfd = peer_listen((uint16_t)(PEER_LPORT + i));
		fcntl(s->peer_lfd, F_SETFL, fcntl(s->peer_lfd, F_GETFL) | O_NONBLOCK);
		s->ltag = (struct tag){ TAG_LISTENER, s };
		ep_set(s->peer_lfd, &s->ltag, EPOLLIN, EPOLL_CTL_ADD);
		s->silent_lfd = peer_listen((uint16_t)(SILENT_LPORT + i));
		fcntl(s->silent_lfd, F_SETFL, fcntl(s->silent_lfd, F_GETFL) | O_NONBLOCK);
		s->silent_tag = (struct tag){ TAG_SILENT_LISTENER, s };
		ep_set(s->silent_lfd, &s->silent_tag, EPOLLIN, EPOLL_CTL_ADD);
		if (!H_CHECK_STATUS(h_listener(WSK_FLAG_LISTEN_SOCKET, (uint16_t)(STACK_LPORT + i),
					       NULL, NULL, &s->stack_l),
				    STATUS_SUCCESS))
			return h_finish();
	}
	silent_ok = silence_peer_ports();
	if (!silent_ok)
		printf("note: no tc filter in the peer namespace (sch_htb, cls_u32): the scripts "
		       "where the peer stops ACKing are left out\n");
	run();
	report();
	H_CHECK(g.retired == g.count);
	H_CHECK(g.failed == 0);
	H_CHECK(g.fallbacks == 0);
	H_CHECK(g.issued + g.closes_issued == g.completed);  /* R2: none lost, none doubled */

	h_test("close with more cancellations than the client's completion ring holds, a thread "
	       "polling meanwhile: every one still completes before the close (WSK-C2, R2)");
	{
		int lfd = peer_listen(FLOOD_PORT);

		for (int round = 0; round < 3; round++)
			flood_round(lfd);
		close(lfd);
	}

	h_test("afterwards: no socket, pcb or mbuf left behind, no IRP completed twice (WSK-C8, "
	       "R2)");
	for (int i = 0; i < SLOTS; i++) {
		H_CHECK_STATUS(h_close(g.slots[i].stack_l), STATUS_SUCCESS);
		close(g.slots[i].peer_lfd);
		close(g.slots[i].silent_lfd);
	}
	stales_sweep(h_now_ms(), true);
	H_CHECK(h_wait_sockets_open(open0, 5000));
	if (!H_CHECK(h_pump_until(pcbs_are, &pcbs0, 5000)))
		fprintf(stderr, "tcp pcbs in use: %u, idle %u\n", h_tcp_pcbs_in_use(), pcbs0);
	if (!H_CHECK(h_pump_until(mbufs_are, &mbufs0, 5000)))
		fprintf(stderr, "mbufs in use: %u, idle %u\n", h_mbufs_in_use(), mbufs0);
	DpwGetIrpStats(&is1);
	H_CHECK(is1.DoubleCompletions == is0.DoubleCompletions);
	H_CHECK(is1.BadRuns == is0.BadRuns);
	H_CHECK(is1.BusyStarts == is0.BusyStarts);
	H_CHECK(is1.BusyFrees == is0.BusyFrees);
	H_CHECK(is1.BadCompletionStatus == is0.BadCompletionStatus);
	H_CHECK(is1.NotOwnedByRoutine == is0.NotOwnedByRoutine);
	printf("sockets open %u, tcp pcbs %u, mbufs in use %u (idle: %u, %u, %u)\n",
	       (unsigned)h_sockets_open(), h_tcp_pcbs_in_use(), h_mbufs_in_use(), (unsigned)open0,
	       pcbs0, mbufs0);
	for (unsigned i = 0; i < QUARANTINE; i++)
		free(g.quarantine[i]);
	close(g.ep);
	return h_finish();
}
