/* The TCP transport's state machine in one place: the transitions of the diagram in
 * socket_internal.h, and the one function through which every change goes. */
#include <stdio.h>

#include "tcp_internal.h"

#define TO(x) (1u << DPW_TCP_##x)

/* For each state, the states it may go to. */
static const unsigned next[DPW_TCP_STATES] = {
	[DPW_TCP_NONE] = TO(BOUND) | TO(OPEN),   /* OPEN: a connection made by accept */
	[DPW_TCP_BOUND] = TO(LISTENING) | TO(CONNECTING),
	[DPW_TCP_LISTENING] = 0,
	[DPW_TCP_CONNECTING] = TO(OPEN) | TO(RESET),
	[DPW_TCP_OPEN] = TO(SEND_CLOSED) | TO(RECEIVE_CLOSED) | TO(RESET),
	[DPW_TCP_SEND_CLOSED] = TO(DISCONNECTED) | TO(RESET),
	[DPW_TCP_RECEIVE_CLOSED] = TO(DISCONNECTED) | TO(RESET),
	[DPW_TCP_DISCONNECTED] = TO(RESET),
	[DPW_TCP_RESET] = 0,
};

static const char *const names[DPW_TCP_STATES] = {
	"NONE", "BOUND", "LISTENING", "CONNECTING", "OPEN", "SEND_CLOSED", "RECEIVE_CLOSED",
	"DISCONNECTED", "RESET",
};

void dpw_tcp_set_state(struct dpw_socket *s, enum dpw_tcp_state to)
{
	enum dpw_tcp_state from = s->t.tcp.state;

	if (from == to)
		return;
	if (!(next[from] & (1u << to))) {
		unsigned long n = atomic_fetch_add_explicit(&dpw_counters.bad_transitions, 1,
							    memory_order_relaxed);

		if (n < 10)
			fprintf(stderr, "dpwsk: TCP socket state %s -> %s is not a transition of "
				"the provider's state machine (a provider bug; counted)\n",
				names[from], names[to]);
	}
	s->t.tcp.state = to;
}
