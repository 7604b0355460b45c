/* dpwsk-rawecho: the engine alone, with a TCP echo listener on lwIP's raw API.
 * It answers ARP and ping, echoes every byte sent to its TCP port, and prints its counters
 * when stopped (SIGINT/SIGTERM). The WSK programs beside it replace it for real use; this one
 * exists to check the engine underneath them.
 *
 * It is built on the per-thread stack (stack_mt_dep), so --queues N runs N engines on the
 * port, one per queue pair, each with its own lwIP on a thread of its own (issue 15): every
 * engine listens, connections are spread over them, and frames that reach the wrong one are
 * steered to their owner in software (the engine's steer.c). */
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>

#include "lwip/tcp.h"

#include "dpw/engine.h"
#include "dpw/engine_opts.h"
#include "engine_cli.h"
#include "signals.h"

struct options {
	uint16_t port;
};

/* Per connection: data received but not yet echoed (the send buffer was full). */
struct echo_conn {
	struct pbuf *backlog;
	bool peer_closed;  /* FIN seen: close once the backlog is echoed */
};

static void echo_free(struct tcp_pcb *pcb, struct echo_conn *c)
{
	tcp_arg(pcb, NULL);
	tcp_recv(pcb, NULL);
	tcp_sent(pcb, NULL);
	tcp_err(pcb, NULL);
	if (c != NULL) {
		if (c->backlog != NULL)
			pbuf_free(c->backlog);
		free(c);
	}
}

/* Echo as much of the backlog as the send buffer takes; the receive window is reopened only
 * for bytes echoed, so a slow reader slows the sender instead of growing our memory. */
static void echo_pump(struct tcp_pcb *pcb, struct echo_conn *c)
{
	while (c->backlog != NULL) {
		struct pbuf *p = c->backlog;
		u16_t n = (u16_t)LWIP_MIN((u32_t)p->len, (u32_t)tcp_sndbuf(pcb));

		if (n == 0 || tcp_write(pcb, p->payload, n, TCP_WRITE_FLAG_COPY) != ERR_OK)
			break;
		tcp_recved(pcb, n);
		if (n == p->len) {
			c->backlog = p->next;
			if (p->next != NULL)
				pbuf_ref(p->next);
			pbuf_free(p);
		} else {
			pbuf_remove_header(p, n);
		}
	}
	tcp_output(pcb);
}

/* Close our side; lwIP sends what is queued, then the FIN. */
static err_t echo_close(struct tcp_pcb *pcb, struct echo_conn *c)
{
	echo_free(pcb, c);
	if (tcp_close(pcb) != ERR_OK) {
		tcp_abort(pcb);
		return ERR_ABRT;
	}
	return ERR_OK;
}

static err_t on_sent(void *arg, struct tcp_pcb *pcb, u16_t len)
{
	struct echo_conn *c = arg;

	(void)len;
	if (c == NULL)
		return ERR_OK;
	echo_pump(pcb, c);
	if (c->peer_closed && c->backlog == NULL)
		return echo_close(pcb, c);
	return ERR_OK;
}

static err_t on_recv(void *arg, struct tcp_pcb *pcb, struct pbuf *p, err_t err)
{
	struct echo_conn *c = arg;

	if (err != ERR_OK) {
		if (p != NULL)
			pbuf_free(p);
		return ERR_OK;
	}
	if (p == NULL) {
		/* Peer sent FIN: finish echoing what we hold, then close. */
		c->peer_closed = true;
		if (c->backlog == NULL)
			return echo_close(pcb, c);
		return ERR_OK;
	}
	if (c->backlog == NULL)
		c->backlog = p;
	else
		pbuf_cat(c->backlog, p);
	echo_pump(pcb, c);
	return ERR_OK;
}

static void on_err(void *arg, err_t err)
{
	struct echo_conn *c = arg;

	(void)err;
	/* The pcb is already gone (RST from the peer or abort). */
	if (c != NULL) {
		if (c->backlog != NULL)
			pbuf_free(c->backlog);
		free(c);
	}
}

/* Connections this thread's engine accepted (with --queues, one engine per thread). */
static __thread unsigned long accepted;

static err_t on_accept(void *arg, struct tcp_pcb *pcb, err_t err)
{
	struct echo_conn *c;

	(void)arg;
	if (err != ERR_OK || pcb == NULL)
		return ERR_VAL;
	accepted++;
	c = calloc(1, sizeof(*c));
	if (c == NULL) {
		tcp_abort(pcb);
		return ERR_ABRT;
	}
	tcp_arg(pcb, c);
	tcp_recv(pcb, on_recv);
	tcp_sent(pcb, on_sent);
	tcp_err(pcb, on_err);
	tcp_nagle_disable(pcb);
	return ERR_OK;
}

static int set_port(void *ctx, const char *val, char *err, size_t errlen)
{
	struct options *o = ctx;
	char *end;
	long v = strtol(val, &end, 10);

	if (*val == '\0' || *end != '\0' || v < 1 || v > 65535) {
		snprintf(err, errlen, "bad --echo-port '%s': expected 1-65535", val);
		return -1;
	}
	o->port = (uint16_t)v;
	return 0;
}

static const struct dpw_cli_opt opts[] = {
	{ "echo-port", true, "PORT", "TCP port of the echo listener (default 7)", set_port },
	{ NULL, false, NULL, NULL, NULL },
};

static struct tcp_pcb *listen_on(uint16_t port, char *err, size_t errlen)
{
	struct tcp_pcb *pcb = tcp_new(), *lpcb;
	err_t rc;

	if (pcb == NULL) {
		snprintf(err, errlen, "cannot allocate a TCP pcb");
		return NULL;
	}
	rc = tcp_bind(pcb, IP_ANY_TYPE, port);
	if (rc != ERR_OK) {
		snprintf(err, errlen, "cannot bind TCP port %u: lwIP err %d", port, (int)rc);
		tcp_abort(pcb);
		return NULL;
	}
	lpcb = tcp_listen_with_backlog_and_err(pcb, TCP_DEFAULT_LISTEN_BACKLOG, &rc);
	if (lpcb == NULL) {
		snprintf(err, errlen, "cannot listen on TCP port %u: lwIP err %d", port, (int)rc);
		tcp_abort(pcb);
		return NULL;
	}
	tcp_accept(lpcb, on_accept);
	return lpcb;
}

/* --queues N: an engine per queue pair, each created, polled and ended on its own thread
 * (the per-thread build's rule), all listening on the echo port. The main thread waits, and
 * answers SIGUSR1 with the engines' total (their published snapshots); at the end each engine
 * prints its own line ("dpwsk: queue N stats ...") and the main thread the total ("dpwsk:
 * stats ...", the shared mbuf pool once), so that one line still describes the process. */
struct queue_run {
	struct dpw_engine_config cfg;
	uint16_t port;
	pthread_t thread;
	bool failed;
	struct dpw_engine *engine;         /* [runs_lock] while it may be read */
	struct dpw_engine_stats final;     /* after shutdown */
	unsigned shut_order;               /* 0 for the first engine to shut down, ... */
};

static atomic_uint queues_up, shut_down;
static pthread_mutex_t runs_lock = PTHREAD_MUTEX_INITIALIZER;

static void *queue_main(void *arg)
{
	struct queue_run *q = arg;
	char err[DPW_ERRLEN], line[1024];
	struct dpw_engine *e = dpw_engine_create(&q->cfg, err, sizeof(err));

	if (e == NULL || listen_on(q->port, err, sizeof(err)) == NULL) {
		fprintf(stderr, "dpwsk-rawecho: error: queue %u: %s\n", q->cfg.queue, err);
		q->failed = true;
		dpw_signals_stop();   /* a partial server is no server */
		if (e != NULL)
			dpw_engine_destroy(e);
		atomic_fetch_add(&queues_up, 1);
		return NULL;
	}
	pthread_mutex_lock(&runs_lock);
	q->engine = e;
	pthread_mutex_unlock(&runs_lock);
	atomic_fetch_add(&queues_up, 1);
	while (!dpw_signals_stopping())
		dpw_engine_poll(e);
	dpw_engine_shutdown(e);
	dpw_engine_get_stats(e, &q->final);
	q->shut_order = atomic_fetch_add(&shut_down, 1);
	dpw_engine_format_stats(&q->final, line, sizeof(line));
	printf("dpwsk: queue %u accepted=%lu\n", q->cfg.queue, accepted);
	printf("dpwsk: queue %u stats %s\n", q->cfg.queue, line);
	fflush(stdout);
	pthread_mutex_lock(&runs_lock);
	q->engine = NULL;
	pthread_mutex_unlock(&runs_lock);
	dpw_engine_destroy(e);
	return NULL;
}

/* Every engine on one port: the shared pool's fields from one only. At the end, from the
 * engine that shut down last: when the others did, it still held its own mbufs. */
static void print_total(struct queue_run *q, uint16_t n, bool final)
{
	struct dpw_engine_stats total, s;
	bool first = true;
	char line[1024];
	uint16_t last = 0;

	memset(&total, 0, sizeof(total));
	for (uint16_t i = 1; final && i < n; i++)
		if (q[i].shut_order > q[last].shut_order)
			last = i;
	pthread_mutex_lock(&runs_lock);
	for (uint16_t k = 0; k < n; k++) {
		uint16_t i = (uint16_t)((last + k) % n);   /* the last to shut down first */

		if (final) {
			s = q[i].final;
		} else if (q[i].engine != NULL) {
			dpw_engine_get_stats(q[i].engine, &s);
		} else {
			continue;
		}
		dpw_engine_stats_add(&total, &s, first);
		first = false;
	}
	pthread_mutex_unlock(&runs_lock);
	/* At the end, mbufs in use are those not back when the last engine freed the pool. The
	 * last engine's own figure is taken before that: a frame handed to an engine that had
	 * already shut down waits in its ring until the port is released (port_share.c). */
	if (final)
		total.mbuf_in_use = (uint32_t)dpw_engine_shared_mbufs_lost();
	dpw_engine_format_stats(&total, line, sizeof(line));
	printf("dpwsk: stats %s\n", line);
	fflush(stdout);
}

static int run_queues(struct dpw_engine_opts *eng, uint16_t port)
{
	uint16_t n = eng->engine.queues;
	struct queue_run q[16];
	char err[DPW_ERRLEN], ip[INET_ADDRSTRLEN];
	uint8_t mac[6] = { 0 };
	bool failed = false;

	if (dpw_eal_init(eng->eal_argc, eng->eal_argv, err, sizeof(err)) < 0) {
		fprintf(stderr, "dpwsk-rawecho: error: %s\n", err);
		return 1;
	}
	dpw_signals_install();
	for (uint16_t i = 0; i < n; i++) {
		q[i] = (struct queue_run){ .cfg = eng->engine, .port = port };
		q[i].cfg.queue = i;
		if (pthread_create(&q[i].thread, NULL, queue_main, &q[i]) != 0) {
			fprintf(stderr, "dpwsk-rawecho: error: cannot start a thread\n");
			dpw_signals_stop();
			n = i;
			failed = true;
			break;
		}
	}
	/* Ready once every engine listens (each thread counts itself in, even on failure);
	 * 60 s at most, the threads' own start is bounded by the port's. */
	for (int waited = 0; atomic_load(&queues_up) < n && waited < 60000; waited++)
		usleep(1000);
	for (uint16_t i = 0; i < n; i++)
		failed |= q[i].failed;
	if (atomic_load(&queues_up) < n) {
		fprintf(stderr, "dpwsk-rawecho: error: the engines did not start within 60 s\n");
		dpw_signals_stop();
		failed = true;
	}
	if (!failed) {
		pthread_mutex_lock(&runs_lock);
		if (q[0].engine != NULL)
			dpw_engine_mac(q[0].engine, mac);   /* the port's: every engine's */
		pthread_mutex_unlock(&runs_lock);
		inet_ntop(AF_INET, &eng->engine.ipv4_addr, ip, sizeof(ip));
		printf("dpwsk: ready port=%s ip=%s mac=%02x:%02x:%02x:%02x:%02x:%02x echo=%u "
		       "queues=%u\n", eng->engine.port_name, ip, mac[0], mac[1], mac[2], mac[3],
		       mac[4], mac[5], port, n);
		fflush(stdout);
	}
	while (!dpw_signals_stopping()) {
		if (dpw_signals_take_stats())
			print_total(q, n, false);
		usleep(1000);   /* this thread only waits: the engines poll on theirs */
	}
	for (uint16_t i = 0; i < n; i++)
		pthread_join(q[i].thread, NULL);
	if (!failed)
		print_total(q, n, true);
	dpw_eal_cleanup();
	return failed ? 1 : 0;
}

int main(int argc, char **argv)
{
	struct options o = { .port = 7 };
	struct dpw_engine_opts eng;
	struct dpw_cli cli = { .synopsis = "[--echo-port PORT] --iface NAME --ip A.B.C.D/N",
			       .opts = opts, .ctx = &o };
	struct dpw_engine *e;
	struct tcp_pcb *listener;
	char err[DPW_ERRLEN], ip[INET_ADDRSTRLEN];
	uint8_t mac[6];

	dpw_engine_opts_init(&eng, argv[0]);
	cli.other = dpw_engine_cli(&eng);
	dpw_cli_parse_or_exit(&cli, "dpwsk-rawecho", argc, argv);
	if (eng.engine.queues > 1)
		return run_queues(&eng, o.port);
	e = dpw_engine_opts_start(&eng, err, sizeof(err));
	if (e == NULL) {
		fprintf(stderr, "dpwsk-rawecho: error: %s\n", err);
		return 1;
	}
	dpw_signals_install();

	listener = listen_on(o.port, err, sizeof(err));
	if (listener == NULL) {
		fprintf(stderr, "dpwsk-rawecho: error: %s\n", err);
		dpw_engine_opts_stop(e);
		return 1;
	}

	dpw_engine_mac(e, mac);
	inet_ntop(AF_INET, &eng.engine.ipv4_addr, ip, sizeof(ip));
	/* Tests wait for this line instead of sleeping. */
	printf("dpwsk: ready port=%s ip=%s mac=%02x:%02x:%02x:%02x:%02x:%02x echo=%u\n",
	       eng.engine.port_name, ip, mac[0], mac[1], mac[2], mac[3], mac[4], mac[5], o.port);
	fflush(stdout);

	while (!dpw_signals_stopping()) {
		dpw_engine_poll(e);
		if (dpw_signals_take_stats())
			dpw_engine_print_stats(e);
	}
	dpw_engine_opts_stop(e);
	return 0;
}
