/* WskCloseSocket racing calls on another thread (WSK-C6). WSK forbids closing a socket while
 * another thread is still inside a call on it; dpwsk detects that where it can, counts it
 * (DpwGetProviderStats: ConcurrentClose) and never corrupts state. Each round, a second thread
 * fires WskSend and WskControlSocket calls at a connection while this thread closes it at a
 * random point: every IRP must complete exactly once, with a status that says what happened
 * (sent, cancelled by the close, or refused through the dead handle), the return value and the
 * IRP's status agreeing for a refusal; nothing is left open and every mbuf comes back. */
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

#define ROUNDS      300
#define CALLS       48       /* per round, from the racing thread */
#define PEER_PORT   5701

static struct h_buf payload;   /* one byte, shared by every send (R4: valid until done) */

struct racer {
	PWSK_SOCKET s;
	struct h_irp *irps[CALLS];
	NTSTATUS ret[CALLS];
	ULONG opt[CALLS];           /* WskGetOption's output: valid until completion (R4) */
	_Atomic unsigned issued;
	pthread_t thread;
};

static void *race(void *arg)
{
	struct racer *r = arg;

	for (unsigned i = 0; i < CALLS; i++) {
		const WSK_PROVIDER_CONNECTION_DISPATCH *cd = DpwConnectionDispatch(r->s);

		r->irps[i] = h_irp_new();
		if (i % 3 == 2)
			r->ret[i] = cd->WskControlSocket(r->s, WskGetOption, WSK_SO_KEEPALIVE,
							 WSK_SOL_SOCKET, 0, NULL, sizeof(r->opt[i]),
							 &r->opt[i], NULL, r->irps[i]->irp);
		else
			r->ret[i] = cd->WskSend(r->s, &payload.wb, 0, r->irps[i]->irp);
		r->issued = i + 1;
	}
	return NULL;
}

static struct racer *cur;

static bool all_done(void *arg)
{
	struct h_irp *close_irp = arg;

	if (close_irp->completions == 0)
		return false;
	for (unsigned i = 0; i < CALLS; i++)
		if (cur->irps[i]->completions == 0)
			return false;
	return true;
}

/* Received data of the closed connections goes back to the pool once lwIP lets go of it. */
static bool mbufs_back(void *arg)
{
	return h_mbufs_in_use() <= *(uint32_t *)arg;
}

int main(int argc, char **argv)
{
	DPW_PROVIDER_STATS before, after;
	unsigned sent = 0, cancelled = 0, refused = 0, wrong = 0, mismatch = 0, rounds = 0;
	uint32_t idle;
	int lfd;
	char b = 'x';

	h_start(argc, argv);
	h_test("close racing WskSend and WskControlSocket on another thread, 300 rounds: every "
	       "IRP completed exactly once, SUCCESS, CANCELLED or INVALID_HANDLE; nothing left "
	       "open; concurrent use counted (WSK-C6, R2, C2)");
	srand(1);
	h_buf_init(&payload, &b, 1);
	lfd = peer_listen(PEER_PORT);
	idle = h_mbufs_in_use();
	DpwGetProviderStats(&before);
	for (int round = 0; round < ROUNDS; round++) {
		struct racer r = { 0 };
		struct h_irp cl;
		unsigned at = (unsigned)rand() % CALLS;
		uint64_t end;
		int fd;

		if (!H_CHECK_STATUS(h_connect_to_peer_ex(WSK_FLAG_CONNECTION_SOCKET, NULL, NULL,
							 PEER_PORT, &r.s),
				    STATUS_SUCCESS))
			break;
		fd = peer_accept(lfd, 5000);
		cur = &r;
		if (pthread_create(&r.thread, NULL, race, &r) != 0)
			break;
		/* Close once the racer has issued `at` calls (bounded: it issues them all at once). */
		end = h_now_ms() + 5000;
		while (r.issued < at && h_now_ms() < end)
			sched_yield();
		h_irp_init(&cl);
		H_CHECK_STATUS(DpwConnectionDispatch(r.s)->WskCloseSocket(r.s, cl.irp),
			       STATUS_PENDING);
		pthread_join(r.thread, NULL);
		H_CHECK(h_pump_until(all_done, &cl, 5000));
		H_CHECK(cl.completions == 1);
		H_CHECK_STATUS(cl.status, STATUS_SUCCESS);
		for (unsigned i = 0; i < CALLS; i++) {
			struct h_irp *h = r.irps[i];

			wrong += h->completions != 1;
			if (h->status == STATUS_SUCCESS)
				sent++;
			else if (h->status == STATUS_CANCELLED && h->info == 0)
				cancelled++;
			else if (h->status == STATUS_INVALID_HANDLE)
				refused++;
			else
				wrong++;
			/* A synchronous refusal is the IRP's status too (R3). */
			if (r.ret[i] != STATUS_PENDING && r.ret[i] != STATUS_SUCCESS &&
			    r.ret[i] != h->status)
				mismatch++;
			if (h->completions == 1) {   /* else the provider may still use it: leave it */
				h_irp_free(h);
				free(h);
			}
		}
		h_irp_free(&cl);
		if (fd >= 0)
			close(fd);
		rounds++;
	}
	DpwGetProviderStats(&after);
	printf("%u rounds: %u calls succeeded, %u cancelled by the close, %u refused through the "
	       "dead handle; %llu concurrent closes detected\n",
	       rounds, sent, cancelled, refused,
	       (unsigned long long)(after.ConcurrentClose - before.ConcurrentClose));
	H_CHECK(rounds == ROUNDS);
	H_CHECK(wrong == 0);
	H_CHECK(mismatch == 0);
	H_CHECK(sent + cancelled + refused == rounds * CALLS);
	H_CHECK(refused > 0);   /* the race really happened: calls after the close were refused */
	H_CHECK(h_wait_sockets_open(0, 5000));
	H_CHECK(h_pump_until(mbufs_back, &idle, 5000));
	h_buf_free(&payload);
	close(lfd);
	return h_finish();
}
