/* Threading (WSK-R2, C10, F7, DESIGN "Embedded mode"): four application threads run
 * connect/send/receive/close cycles at once against a Linux echo peer (a thread of this
 * test), first each with its own registered client, then all sharing one; every IRP issued is
 * kept until the end and must have completed exactly once. Then the same traffic with the
 * stack's side driven entirely from event callbacks on the lcore (calls made there run
 * inline), Linux clients on four threads, the completions polled by those threads. */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harness.h"
#include "irp_internal.h"

#define THREADS      4
#define CYCLES       1000       /* per thread and phase, unless the time bound comes first */
#define PHASE_MS     15000      /* time bound of one phase */
#define ECHO_PORT    5501       /* the Linux echo peer */
#define STACK_PORT   6201       /* the stack's callback-driven echo (embedded mode) */
#define MAX_MSG      1024
#define IRPS_PER_CYCLE 7   /* socket, bind, connect, send, receive, [receive], close */

/* ---- the Linux echo peer ---------------------------------------------------------------- */

static _Atomic bool echo_stop;
static _Atomic int echo_accepted;

static void *echo_peer(void *arg)
{
	enum { MAXFD = 64 };
	struct pollfd p[MAXFD + 1];
	int lfd = *(int *)arg, n = 0;
	uint64_t end = h_now_ms() + 120000;   /* a bound even if the test forgets to stop it */
	char buf[4096];

	p[0].fd = lfd;
	p[0].events = POLLIN;
	while (!atomic_load(&echo_stop) && h_now_ms() < end) {
		if (poll(p, (nfds_t)n + 1, 20) <= 0)
			continue;
		if ((p[0].revents & POLLIN) && n < MAXFD) {
			int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);

			if (fd >= 0) {
				p[++n].fd = fd;
				p[n].events = POLLIN;
				p[n].revents = 0;
				echo_accepted++;
			}
		}
		for (int i = 1; i <= n; i++) {
			ssize_t r;

			if (p[i].revents == 0)
				continue;
			r = recv(p[i].fd, buf, sizeof(buf), MSG_DONTWAIT);
			if (r > 0 && peer_write_all(p[i].fd, buf, (size_t)r))
				continue;
			if (r < 0 && errno == EAGAIN)
				continue;
			close(p[i].fd);            /* EOF, reset or write failure */
			p[i] = p[n--];
			i--;
		}
	}
	for (int i = 1; i <= n; i++)
		close(p[i].fd);
	return NULL;
}

/* ---- phases A and B: application threads ----------------------------------------------- */

struct worker {
	int id;
	bool own_client;
	struct h_client client;
	struct h_irp *irps;          /* every IRP this thread issued, kept to the end */
	unsigned used, issued;
	unsigned cycles, failures, not_cancelled;
	uint64_t deadline;
	pthread_t thread;
};

static struct h_irp *next_irp(struct worker *w)
{
	struct h_irp *h = &w->irps[w->used++];

	h_irp_init(h);
	w->issued++;
	return h;
}

/* Wait for h; false (and counted) when it did not complete or failed. */
static bool done_ok(struct worker *w, struct h_irp *h, NTSTATUS issued)
{
	if (issued != STATUS_PENDING && issued != STATUS_SUCCESS)
		h_wait(h, 1000);
	if (!h_wait(h, 5000) || h->status != STATUS_SUCCESS) {
		if (w->failures++ < 5)
			fprintf(stderr, "thread %d cycle %u: status %s\n", w->id, w->cycles,
				h->completions ? DpwNtStatusName(h->status) : "(not completed)");
		return false;
	}
	return true;
}

static bool one_cycle(struct worker *w, uint8_t *out, uint8_t *in)
{
	const WSK_PROVIDER_NPI *npi = h_client_npi();
	size_t len = 64 + (size_t)((w->id * 131 + w->cycles * 17) % (MAX_MSG - 64));
	uint32_t seed = (uint32_t)(w->id << 16 | w->cycles);
	SOCKADDR_IN local, remote;
	struct h_irp *h, *pending = NULL;
	PWSK_SOCKET s;
	PMDL out_mdl, in_mdl;
	WSK_BUF ob, ib;
	bool ok = false;

	h_sockaddr(&local, 0, 0);
	h_sockaddr(&remote, h_ip_peer, ECHO_PORT);
	h = next_irp(w);
	if (!done_ok(w, h, npi->Dispatch->WskSocket(npi->Client, AF_INET, SOCK_STREAM,
						    IPPROTO_TCP, WSK_FLAG_STREAM_SOCKET, NULL,
						    NULL, NULL, NULL, NULL, h->irp)))
		return false;
	s = (PWSK_SOCKET)h->info;

	h_fill_pattern(out, len, seed, 0);
	memset(in, 0, len);
	out_mdl = IoAllocateMdl(out, (ULONG)len, FALSE, FALSE, NULL);
	in_mdl = IoAllocateMdl(in, (ULONG)len, FALSE, FALSE, NULL);
	ob = (WSK_BUF){ out_mdl, 0, len };
	ib = (WSK_BUF){ in_mdl, 0, len };

	h = next_irp(w);
	if (!done_ok(w, h, DpwStreamDispatch(s)->WskBind(s, (PSOCKADDR)&local, 0, h->irp)))
		goto close;
	h = next_irp(w);
	if (!done_ok(w, h, DpwStreamDispatch(s)->WskConnect(s, (PSOCKADDR)&remote, 0, h->irp)))
		goto close;
	h = next_irp(w);
	if (!done_ok(w, h, DpwStreamDispatch(s)->WskSend(s, &ob, 0, h->irp)) || h->info != len)
		goto close;
	h = next_irp(w);
	if (!done_ok(w, h, DpwStreamDispatch(s)->WskReceive(s, &ib, WSK_FLAG_WAITALL,
							    h->irp)) || h->info != len)
		goto close;
	ok = h_check_pattern(in, len, seed, 0) == len;
	if (!ok && w->failures++ < 5)
		fprintf(stderr, "thread %d cycle %u: echo differs\n", w->id, w->cycles);
	if (w->cycles % 4 == 3) {
		/* A receive still pending when the close comes: it must complete too, once,
		 * before the close (C2). */
		pending = next_irp(w);
		if (DpwStreamDispatch(s)->WskReceive(s, &ib, 0, pending->irp) != STATUS_PENDING)
			ok = false;
	}
close:
	h = next_irp(w);
	if (!done_ok(w, h, DpwStreamDispatch(s)->WskCloseSocket(s, h->irp)))
		ok = false;
	if (pending != NULL) {
		if (!h_wait(pending, 1000) || pending->order > h->order)
			ok = false;
		else if (pending->status != STATUS_CANCELLED)
			w->not_cancelled++;
	}
	IoFreeMdl(out_mdl);
	IoFreeMdl(in_mdl);
	return ok;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	uint8_t out[MAX_MSG], in[MAX_MSG];

	if (w->own_client) {
		if (h_client_open(&w->client, MAKE_WSK_VERSION(1, 0)) != STATUS_SUCCESS) {
			w->failures++;
			return NULL;
		}
		h_use_client(&w->client.npi);
	}
	while (w->cycles < CYCLES && h_now_ms() < w->deadline) {
		if (!one_cycle(w, out, in) && w->failures > 20)
			break;
		w->cycles++;
	}
	/* Late or double completions would show up now. */
	h_pump(100);
	if (w->own_client) {
		h_use_client(NULL);
		h_client_close(&w->client);
	}
	return NULL;
}

static void run_phase(bool own_clients, const char *name)
{
	struct worker w[THREADS];
	DPW_PROVIDER_STATS before, after;
	unsigned issued = 0, completed = 0, wrong = 0, cycles = 0, failures = 0;
	unsigned not_cancelled = 0, elsewhere = 0;
	uint64_t t0 = h_now_ms();

	h_test(name);
	DpwGetProviderStats(&before);
	for (int i = 0; i < THREADS; i++) {
		memset(&w[i], 0, sizeof(w[i]));
		w[i].id = i;
		w[i].own_client = own_clients;
		w[i].deadline = t0 + PHASE_MS;
		w[i].irps = calloc(CYCLES * IRPS_PER_CYCLE, sizeof(struct h_irp));
		if (w[i].irps == NULL ||
		    pthread_create(&w[i].thread, NULL, worker_main, &w[i]) != 0) {
			H_CHECK(!"thread start");
			return;
		}
	}
	for (int i = 0; i < THREADS; i++)
		pthread_join(w[i].thread, NULL);
	if (!own_clients)
		h_pump(50);
	DpwGetProviderStats(&after);
	for (int i = 0; i < THREADS; i++) {
		for (unsigned k = 0; k < w[i].used; k++) {
			int n = w[i].irps[k].completions;

			completed += (unsigned)n;
			wrong += n != 1;
			elsewhere += w[i].irps[k].thread != (uintptr_t)w[i].thread;
			if (w[i].irps[k].irp != NULL)
				h_irp_free(&w[i].irps[k]);
		}
		issued += w[i].issued;
		cycles += w[i].cycles;
		failures += w[i].failures;
		not_cancelled += w[i].not_cancelled;
		free(w[i].irps);
	}
	printf("%u cycles, %u IRPs issued, %u completions (%u run by another thread), %u failed "
	       "cycles, %llu ms\n", cycles, issued, completed, elsewhere, failures,
	       (unsigned long long)(h_now_ms() - t0));
	if (not_cancelled > 0)   /* C2's status itself is checked in wsk-accept */
		printf("note: %u receives pending at close completed with another status than "
		       "STATUS_CANCELLED\n", not_cancelled);
	H_CHECK(cycles >= THREADS * 20);                    /* real work was done */
	H_CHECK(failures == 0);
	H_CHECK(wrong == 0);                                /* R2: each IRP exactly once */
	H_CHECK(completed == issued);                       /* none lost, none doubled */
	/* C10: every completion went through a completion ring. */
	H_CHECK(after.Completions - before.Completions == issued);
	H_CHECK(after.ConcurrentClose == before.ConcurrentClose);
	if (own_clients)
		H_CHECK(elsewhere == 0);                    /* own ring, own thread */
	H_CHECK(h_wait_sockets_open(0, 5000));
}

/* ---- phase C: embedded mode, the stack's side in callbacks on the lcore ------------------ */

struct conn;

/* An IRP the callbacks issue on the lcore; its routine runs on an application thread. */
struct lcore_irp {
	PIRP irp;
	struct conn *conn;
	PMDL mdl;
	WSK_BUF wb;                  /* valid until completion (R4) */
	uint8_t *buf;
	bool is_close;
};

struct conn {
	PWSK_SOCKET s;
	struct lcore_irp close;
};

static struct {
	_Atomic unsigned accepted, received_events, disconnects, off_lcore;
	_Atomic unsigned issued, completed, failed;
	_Atomic unsigned closes_done;
	pthread_t main;
	PWSK_CLIENT client;
} emb;

static NTSTATUS WSKAPI lcore_irp_done(PDEVICE_OBJECT dev, PIRP irp, PVOID ctx)
{
	struct lcore_irp *li = ctx;

	(void)dev;
	/* The routine frees what it completes: a second completion of the same IRP would show
	 * as completed > issued (and to ASan, and in the IRP statistics). */
	if (irp->IoStatus.Status != STATUS_SUCCESS)
		emb.failed++;
	emb.completed++;
	IoFreeIrp(irp);
	if (li->is_close) {
		emb.closes_done++;
		free(li->conn);                 /* the socket is gone: its context goes too */
	} else {
		IoFreeMdl(li->mdl);
		free(li->buf);
		free(li);
	}
	return STATUS_MORE_PROCESSING_REQUIRED;
}

static PIRP lcore_irp_arm(struct lcore_irp *li)
{
	li->irp = IoAllocateIrp(1, FALSE);
	if (li->irp != NULL)
		IoSetCompletionRoutine(li->irp, lcore_irp_done, li, TRUE, TRUE, TRUE);
	return li->irp;
}

/* Copy the indicated bytes into a buffer of cap bytes (no more than that). */
struct copy_to {
	uint8_t *buf;
	size_t len, cap;
};

static void copy_piece(const uint8_t *p, size_t n, void *arg)
{
	struct copy_to *to = arg;

	if (n > to->cap - to->len)
		n = to->cap - to->len;
	memcpy(to->buf + to->len, p, n);
	to->len += n;
}

static NTSTATUS WSKAPI emb_receive(PVOID ctx, ULONG flags, PWSK_DATA_INDICATION di,
				   SIZE_T indicated, SIZE_T *accepted)
{
	struct conn *c = ctx;
	struct lcore_irp *li;
	size_t n = 0;

	(void)flags;
	(void)accepted;
	if (pthread_equal(pthread_self(), emb.main))
		emb.off_lcore++;
	emb.received_events++;
	if (di == NULL || indicated == 0)
		return STATUS_SUCCESS;
	li = calloc(1, sizeof(*li));
	if (li == NULL || (li->buf = malloc(indicated)) == NULL) {
		free(li);
		emb.failed++;
		return STATUS_SUCCESS;
	}
	{
		struct copy_to to = { li->buf, 0, indicated };

		h_indication_bytes(di, copy_piece, &to);
		n = to.len;
	}
	li->conn = c;
	li->mdl = IoAllocateMdl(li->buf, (ULONG)n, FALSE, FALSE, NULL);
	if (li->mdl == NULL || lcore_irp_arm(li) == NULL) {
		emb.failed++;
		return STATUS_SUCCESS;
	}
	li->wb = (WSK_BUF){ li->mdl, 0, n };
	emb.issued++;
	/* F7: a Wsk call from the callback; on the lcore it runs inline. */
	{
		NTSTATUS st = DpwConnectionDispatch(c->s)->WskSend(c->s, &li->wb, 0, li->irp);

		if (st != STATUS_PENDING && st != STATUS_SUCCESS)
			emb.failed++;
	}
	return STATUS_SUCCESS;
}

static NTSTATUS WSKAPI emb_disconnect(PVOID ctx, ULONG flags)
{
	struct conn *c = ctx;

	(void)flags;
	if (pthread_equal(pthread_self(), emb.main))
		emb.off_lcore++;
	emb.disconnects++;
	/* C5: close from inside the socket's own callback. */
	c->close.conn = c;
	c->close.is_close = true;
	if (lcore_irp_arm(&c->close) == NULL) {
		emb.failed++;
		return STATUS_SUCCESS;
	}
	emb.issued++;
	DpwConnectionDispatch(c->s)->WskCloseSocket(c->s, c->close.irp);
	return STATUS_SUCCESS;
}

static const WSK_CLIENT_CONNECTION_DISPATCH emb_conn_events = { emb_receive, emb_disconnect,
								NULL };

static NTSTATUS WSKAPI emb_accept(PVOID ctx, ULONG flags, PSOCKADDR local, PSOCKADDR remote,
				  PWSK_SOCKET s, PVOID *sctx,
				  const WSK_CLIENT_CONNECTION_DISPATCH **sdispatch)
{
	struct conn *c;

	(void)ctx;
	(void)flags;
	(void)local;
	(void)remote;
	if (s == NULL)
		return STATUS_SUCCESS;
	if (pthread_equal(pthread_self(), emb.main))
		emb.off_lcore++;
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		return STATUS_REQUEST_NOT_ACCEPTED;
	c->s = s;
	*sctx = c;
	*sdispatch = &emb_conn_events;
	emb.accepted++;
	return STATUS_SUCCESS;
}

static const WSK_CLIENT_LISTEN_DISPATCH emb_listen_events = { emb_accept, NULL, NULL };

struct client_thread {
	int id;
	unsigned cycles, failures;
	uint64_t deadline;
	pthread_t thread;
};

/* Wait until fd is readable, running the embedded client's completions meanwhile. */
static bool readable(int fd, unsigned timeout_ms)
{
	uint64_t end = h_now_ms() + timeout_ms;
	struct pollfd p = { .fd = fd, .events = POLLIN };

	do {
		WskPollCompletions(emb.client, 64);
		if (poll(&p, 1, 1) == 1)
			return true;
	} while (h_now_ms() < end);
	return false;
}

static void *client_main(void *arg)
{
	struct client_thread *t = arg;
	uint8_t out[MAX_MSG], in[MAX_MSG];

	while (t->cycles < CYCLES && h_now_ms() < t->deadline) {
		size_t len = 64 + (size_t)((t->id * 131 + t->cycles * 17) % (MAX_MSG - 64));
		size_t got = 0;
		uint32_t seed = (uint32_t)(0x8000 | t->id << 12 | t->cycles);
		long n = 0;
		int fd = peer_connect(STACK_PORT);

		if (fd < 0)
			goto fail;
		h_fill_pattern(out, len, seed, 0);
		if (!peer_write_all(fd, out, len))
			goto fail_fd;
		while (got < len && readable(fd, 5000) &&
		       (n = recv(fd, in + got, len - got, MSG_DONTWAIT)) > 0)
			got += (size_t)n;
		if (got != len || h_check_pattern(in, len, seed, 0) != len)
			goto fail_fd;
		/* Our FIN: the stack's disconnect event closes its socket, abortively (C3). */
		shutdown(fd, SHUT_WR);
		n = readable(fd, 5000) ? recv(fd, in, 1, MSG_DONTWAIT) : -2;
		if (n != -1 || errno != ECONNRESET)
			goto fail_fd;
		close(fd);
		t->cycles++;
		continue;
fail_fd:
		close(fd);
fail:
		if (t->failures++ < 5)
			fprintf(stderr, "client %d cycle %u failed (got %zu of %zu, n %ld)\n",
				t->id, t->cycles, got, len, n);
		if (t->failures > 20)
			break;
		t->cycles++;
	}
	return NULL;
}

static bool all_closed(void *arg)
{
	(void)arg;
	return emb.closes_done >= emb.accepted && emb.completed >= emb.issued;
}

static void run_embedded(void)
{
	WSK_EVENT_CALLBACK_CONTROL ctl = { (PNPIID)&NPI_WSK_INTERFACE_ID,
					   WSK_EVENT_ACCEPT | WSK_EVENT_RECEIVE |
						   WSK_EVENT_DISCONNECT };
	struct client_thread t[THREADS];
	DPW_PROVIDER_STATS before, after;
	struct h_client c;
	PWSK_SOCKET l;
	unsigned cycles = 0, failures = 0;
	uint64_t t0 = h_now_ms();

	h_test("embedded mode: an echo server run from event callbacks on the lcore; its calls "
	       "run inline, completions polled by four application threads (WSK-F7, C5, C10, R2)");
	if (!H_CHECK_STATUS(h_client_open(&c, MAKE_WSK_VERSION(1, 0)), STATUS_SUCCESS))
		return;
	emb.main = pthread_self();
	emb.client = c.npi.Client;
	H_CHECK_STATUS(c.npi.Dispatch->WskControlClient(c.npi.Client,
							WSK_SET_STATIC_EVENT_CALLBACKS,
							sizeof(ctl), &ctl, 0, NULL, NULL, NULL),
		       STATUS_SUCCESS);
	h_use_client(&c.npi);
	if (!H_CHECK_STATUS(h_listener(WSK_FLAG_LISTEN_SOCKET, STACK_PORT, NULL,
				       &emb_listen_events, &l),
			    STATUS_SUCCESS)) {
		h_use_client(NULL);
		h_client_close(&c);
		return;
	}
	DpwGetProviderStats(&before);
	for (int i = 0; i < THREADS; i++) {
		memset(&t[i], 0, sizeof(t[i]));
		t[i].id = i;
		t[i].deadline = t0 + PHASE_MS;
		pthread_create(&t[i].thread, NULL, client_main, &t[i]);
	}
	for (int i = 0; i < THREADS; i++) {
		pthread_join(t[i].thread, NULL);
		cycles += t[i].cycles;
		failures += t[i].failures;
	}
	H_CHECK(h_pump_until(all_closed, NULL, 5000));
	h_pump(100);                                         /* anything doubled shows now */
	DpwGetProviderStats(&after);
	printf("%u cycles, %u accepted, %u receive events, %u lcore IRPs, %u completed, "
	       "%llu inline requests, %llu ms\n", cycles, emb.accepted, emb.received_events,
	       emb.issued, emb.completed,
	       (unsigned long long)(after.InlineRequests - before.InlineRequests),
	       (unsigned long long)(h_now_ms() - t0));
	H_CHECK(cycles >= THREADS * 20);
	H_CHECK(failures == 0);
	H_CHECK(emb.accepted == cycles);
	H_CHECK(emb.off_lcore == 0);                         /* F7: callbacks on the lcore */
	H_CHECK(emb.completed == emb.issued);                /* R2: none lost or doubled */
	H_CHECK(emb.failed == 0);
	/* Every call the callbacks made ran inline, without the request ring. */
	H_CHECK(after.InlineRequests - before.InlineRequests == emb.issued);
	H_CHECK(after.Completions - before.Completions == emb.issued);
	H_CHECK_STATUS(h_close(l), STATUS_SUCCESS);
	if (!H_CHECK(h_wait_sockets_open(0, 5000))) {
		/* A socket nobody will close: WskDeregister would wait for it for ever. */
		fprintf(stderr, "embedded client left registered: %u sockets open\n",
			(unsigned)h_sockets_open());
		h_use_client(NULL);
		return;
	}
	h_use_client(NULL);
	h_client_close(&c);
}

int main(int argc, char **argv)
{
	DPW_IRP_STATS is0, is1;
	DPW_PROVIDER_STATS ps;
	pthread_t echo;
	int lfd;

	h_start(argc, argv);
	DpwGetIrpStats(&is0);
	lfd = peer_listen(ECHO_PORT);
	pthread_create(&echo, NULL, echo_peer, &lfd);

	run_phase(true, "4 threads, each with its own client: connect/send/receive/close cycles "
			"at once, every IRP completed exactly once (WSK-R2, C10)");
	run_phase(false, "4 threads sharing one client, each polling it: the same cycles, every "
			 "IRP completed exactly once whichever thread ran it (WSK-R2, C10)");
	atomic_store(&echo_stop, true);
	pthread_join(echo, NULL);
	close(lfd);

	run_embedded();

	h_test("at the end: no socket open, no IRP completed twice or misused (WSK-R2, C8)");
	DpwGetProviderStats(&ps);
	DpwGetIrpStats(&is1);
	H_CHECK(ps.SocketsOpen == 0);
	H_CHECK(is1.DoubleCompletions == is0.DoubleCompletions);
	H_CHECK(is1.BadRuns == is0.BadRuns);
	H_CHECK(is1.BusyStarts == is0.BusyStarts);
	H_CHECK(is1.BusyFrees == is0.BusyFrees);
	H_CHECK(is1.BadCompletionStatus == is0.BadCompletionStatus);
	H_CHECK(is1.NotOwnedByRoutine == is0.NotOwnedByRoutine);
	return h_finish();
}
