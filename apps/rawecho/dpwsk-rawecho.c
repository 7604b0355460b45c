/* dpwsk-rawecho: the engine alone, with a TCP echo listener on lwIP's raw API.
 * It answers ARP and ping, echoes every byte sent to its TCP port, and prints its counters
 * when stopped (SIGINT/SIGTERM). The WSK programs beside it replace it for real use; this one
 * exists to check the engine underneath them.
 *
 * It is built on the per-thread stack (stack_mt_dep), so --queues N runs N engines on the
 * port, one per queue pair, each with its own lwIP on a thread of its own (issue 15): every
 * engine listens, connections are spread over them, and frames that reach the wrong one are
 * steered to their owner in software (the engine's steer.c). */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>

#include "lwip/tcp.h"

#include "dpw/engine.h"
#include "dpw/engine_group.h"
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

/* arg: the listener's count of connections accepted (with --queues, one per engine). */
static err_t on_accept(void *arg, struct tcp_pcb *pcb, err_t err)
{
	unsigned long *accepted = arg;
	struct echo_conn *c;

	if (err != ERR_OK || pcb == NULL)
		return ERR_VAL;
	(*accepted)++;
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

static struct tcp_pcb *listen_on(uint16_t port, unsigned long *accepted, char *err,
				 size_t errlen)
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
	tcp_arg(lpcb, accepted);
	tcp_accept(lpcb, on_accept);
	return lpcb;
}

/* --queues N: an engine per queue pair (dpw/engine_group.h: each created, polled and ended
 * on a thread of its own, on its own lcore's CPUs), all listening on the echo port. The main
 * thread waits, and answers SIGUSR1 with the engines' total; at the end it prints each
 * engine's line ("dpwsk: queue N stats ...") and the total ("dpwsk: stats ...", the shared
 * mbuf pool once), so that one line still describes the process. */
struct queues_run {
	uint16_t port;
	unsigned long accepted[16];   /* per queue; read after the group is destroyed */
};

static int queue_listen(struct dpw_engine *e, uint16_t queue, void *arg, char *err,
			size_t errlen)
{
	struct queues_run *r = arg;

	(void)e;
	return listen_on(r->port, &r->accepted[queue], err, errlen) != NULL ? 0 : -1;
}

static void print_stats(const char *prefix, const struct dpw_engine_stats *s)
{
	char line[DPW_STATS_LINE];

	dpw_engine_format_stats(s, line, sizeof(line));
	printf("dpwsk: %sstats %s\n", prefix, line);
	fflush(stdout);
}

static int run_queues(struct dpw_engine_opts *eng, uint16_t port)
{
	struct queues_run r = { .port = port };
	struct dpw_engine_stats each[16], total;
	struct dpw_engine_group *g;
	struct dpw_engine *e0;
	char err[DPW_ERRLEN], ip[INET_ADDRSTRLEN], prefix[32];
	uint8_t mac[6];

	if (dpw_eal_init(eng->eal_argc, eng->eal_argv, err, sizeof(err)) < 0) {
		fprintf(stderr, "dpwsk-rawecho: error: %s\n", err);
		return 1;
	}
	dpw_signals_install();
	/* A partial server is no server: the group starts whole or not at all. */
	g = dpw_engine_group_start(&eng->engine, queue_listen, NULL, &r, err, sizeof(err));
	if (g == NULL) {
		fprintf(stderr, "dpwsk-rawecho: error: %s\n", err);
		dpw_eal_cleanup();
		return 1;
	}
	e0 = dpw_engine_group_engine(g, 0);
	dpw_engine_mac(e0, mac);   /* the port's: every engine's */
	inet_ntop(AF_INET, &eng->engine.ipv4_addr, ip, sizeof(ip));
	printf("dpwsk: ready port=%s ip=%s mac=%02x:%02x:%02x:%02x:%02x:%02x echo=%u queues=%u "
	       "steering=%s\n", eng->engine.port_name, ip, mac[0], mac[1], mac[2], mac[3], mac[4],
	       mac[5], port, eng->engine.queues, dpw_engine_steering(e0));
	fflush(stdout);
	while (!dpw_signals_stopping()) {
		if (dpw_signals_take_stats()) {
			dpw_engine_group_stats(g, &total);
			print_stats("", &total);
		}
		usleep(1000);   /* this thread only waits: the engines poll on theirs */
	}
	dpw_engine_group_destroy(g, each, &total);
	for (uint16_t i = 0; i < eng->engine.queues; i++) {
		printf("dpwsk: queue %u accepted=%lu\n", i, r.accepted[i]);
		snprintf(prefix, sizeof(prefix), "queue %u ", i);
		print_stats(prefix, &each[i]);
	}
	print_stats("", &total);
	dpw_eal_cleanup();
	return 0;
}

int main(int argc, char **argv)
{
	struct options o = { .port = 7 };
	struct dpw_engine_opts eng;
	struct dpw_cli cli = { .synopsis = "[--echo-port PORT] --iface NAME --ip A.B.C.D/N",
			       .opts = opts, .ctx = &o };
	struct dpw_engine *e;
	struct tcp_pcb *listener;
	unsigned long accepted = 0;
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

	listener = listen_on(o.port, &accepted, err, sizeof(err));
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
