/* Several engines on one port, one queue pair each (config.queues > 1; the per-thread build,
 * where each engine has its own lwIP on its own thread). The first engine to come opens the
 * port with every queue and the mbuf pool they all use; the others take their queue of it.
 * Frames that reach the wrong engine are handed to their owner through one ring per queue
 * (engine.c steers, steer.c decides); the rings live here, not in the engines, so that a frame
 * may still be handed to an engine that has already gone: its ring is drained when the last
 * engine releases the port, which then closes it and frees the pool and the rings. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_ring.h>

#include "dpw/test_hooks.h"
#include "errors.h"
#include "port.h"
#include "rss.h"
#include "steer.h"

#define STEER_RING_SIZE 4096

struct dpw_port_share {
	uint16_t queues;
	unsigned users;
	struct dpw_port port;                          /* as the first engine opened it */
	struct rte_ring *ring[DPW_MAX_QUEUES];         /* frames steered to queue q's engine */
	struct dpw_steer_pins *pins;                   /* fixed ports pinned to an engine */
	const char *steering;                          /* dpw_engine_steering's name */
	enum dpw_steering asked;                       /* config.steering, the same for all */
	bool hashed;                                   /* TCP flows steered by rss */
	struct dpw_rss rss;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
/* Times the lock was taken to hold or give back a local port (dpw/test_hooks.h): a test shows
 * that connections join and leave a spread port without it. */
static atomic_uint_fast64_t pin_locks;

static void lock_pins(void)
{
	pthread_mutex_lock(&lock);
	atomic_fetch_add_explicit(&pin_locks, 1, memory_order_relaxed);
}

uint64_t dpw_test_port_pin_locks(void)
{
	return atomic_load_explicit(&pin_locks, memory_order_relaxed);
}
static struct dpw_port_share *shares[RTE_MAX_ETHPORTS];   /* [lock] by port id */

static void drain(struct rte_ring *r)
{
	struct rte_mbuf *m;

	while (rte_ring_dequeue(r, (void **)&m) == 0)
		rte_pktmbuf_free(m);
}

/* mbufs not back in their pool when it was freed: 0 unless dpwsk lost some. */
static _Atomic uint64_t mbufs_lost;

uint64_t dpw_engine_shared_mbufs_lost(void)
{
	return mbufs_lost;
}

static void share_free(struct dpw_port_share *s)
{
	unsigned in_use;

	for (unsigned q = 0; q < s->queues; q++) {
		if (s->ring[q] != NULL)
			drain(s->ring[q]);
		rte_ring_free(s->ring[q]);
	}
	dpw_port_close(&s->port);   /* the driver frees what its queues hold */
	if (s->port.pool != NULL && (in_use = rte_mempool_in_use_count(s->port.pool)) != 0) {
		fprintf(stderr, "dpwsk: port %u: %u mbufs not back in the pool at its close\n",
			s->port.id, in_use);
		mbufs_lost += in_use;
	}
	rte_mempool_free(s->port.pool);
	free(s->pins);
	free(s);
}

/* How the port's frames find their engine (config.steering): the port's RSS when it has it
 * and it was not declined, a Toeplitz hash of our own when asked, else the stack's rules. */
static int choose_steering(struct dpw_port_share *s, const struct dpw_engine_config *cfg,
			   char *err, size_t errlen)
{
	char why[160];

	s->steering = "software";
	s->asked = cfg->steering;
	if (cfg->steering == DPW_STEERING_TOEPLITZ) {
		dpw_rss_emulate(&s->rss, s->queues);
		s->steering = "toeplitz";
		s->hashed = true;
		return 0;
	}
	if (!s->port.rss_asked)   /* (rss demanded of a port without it: refused at its open) */
		return 0;
	if (dpw_rss_port_read(s->port.id, s->queues, &s->rss, why, sizeof(why)) == 0) {
		s->steering = "rss";
		s->hashed = true;
		return 0;
	}
	if (cfg->steering == DPW_STEERING_RSS) {
		dpw_set_err(err, errlen, "port %u: RSS not usable: %s", s->port.id, why);
		return -1;
	}
	/* The NIC still spreads the frames; the rules hand each to its owner. */
	fprintf(stderr, "dpwsk: port %u: RSS not usable (%s): frames steered in software\n",
		s->port.id, why);
	return 0;
}

static struct dpw_port_share *share_new(const struct dpw_engine_config *cfg, uint16_t priv_size,
					bool all_multicast, char *err, size_t errlen)
{
	struct dpw_port_share *s = calloc(1, sizeof(*s));
	char name[RTE_RING_NAMESIZE];

	if (s == NULL) {
		dpw_set_err(err, errlen, "out of memory");
		return NULL;
	}
	s->queues = cfg->queues;
	s->pins = calloc(1, sizeof(*s->pins));
	if (s->pins == NULL) {
		dpw_set_err(err, errlen, "out of memory for the pinned ports' table");
		free(s);
		return NULL;
	}
	if (dpw_port_open(&s->port, cfg, priv_size, all_multicast, err, errlen) != 0 ||
	    choose_steering(s, cfg, err, errlen) != 0) {
		share_free(s);
		return NULL;
	}
	for (unsigned q = 0; q < s->queues; q++) {
		snprintf(name, sizeof(name), "dpw_steer_p%u_q%u", s->port.id, q);
		s->ring[q] = rte_ring_create(name, STEER_RING_SIZE, rte_eth_dev_socket_id(s->port.id),
					     RING_F_SC_DEQ);
		if (s->ring[q] == NULL) {
			dpw_set_err(err, errlen, "cannot create the steering ring %s: %s", name,
				    rte_strerror(rte_errno));
			share_free(s);
			return NULL;
		}
	}
	return s;
}

int dpw_port_share_open(struct dpw_port *p, const struct dpw_engine_config *cfg,
			uint16_t priv_size, bool all_multicast, char *err, size_t errlen)
{
	struct dpw_port_share *s;
	uint16_t id;
	int ret = -1;

	if (cfg->queues > DPW_MAX_QUEUES || cfg->queue >= cfg->queues) {
		dpw_set_err(err, errlen, "queue %u of %u: at most %u queues, numbered from 0",
			    cfg->queue, cfg->queues, DPW_MAX_QUEUES);
		return -1;
	}
	if (dpw_port_find(cfg, &id, err, errlen) != 0)
		return -1;
	pthread_mutex_lock(&lock);
	s = shares[id];
	if (s == NULL)
		s = shares[id] = share_new(cfg, priv_size, all_multicast, err, errlen);
	else if (s->queues != cfg->queues)
		dpw_set_err(err, errlen, "port %u is shared by %u queues, not %u", id, s->queues,
			    cfg->queues);
	else if (s->asked != cfg->steering)
		dpw_set_err(err, errlen, "port %u is steered as its first engine asked (%s), not "
			    "as this one asks", id, s->steering);
	if (s != NULL && s->queues == cfg->queues && s->asked == cfg->steering) {
		s->users++;
		*p = s->port;
		p->queue = cfg->queue;
		p->share = s;
		ret = 0;
	}
	pthread_mutex_unlock(&lock);
	return ret;
}

void dpw_port_share_release(struct dpw_port *p)
{
	struct dpw_port_share *s = p->share;

	if (s == NULL)
		return;
	pthread_mutex_lock(&lock);
	drain(s->ring[p->queue]);   /* frames for this engine's lwIP, which is gone */
	if (--s->users == 0) {
		shares[s->port.id] = NULL;
		share_free(s);
	}
	pthread_mutex_unlock(&lock);
	p->share = NULL;
	p->pool = NULL;
	p->open = p->started = false;
}

struct rte_ring *dpw_port_share_ring(const struct dpw_port *p, uint16_t queue)
{
	return p->share->ring[queue];
}

const struct dpw_steer_pins *dpw_port_share_pins(const struct dpw_port *p)
{
	return p->share != NULL ? p->share->pins : NULL;
}

const struct dpw_rss *dpw_port_share_rss(const struct dpw_port *p)
{
	return p->share != NULL && p->share->hashed ? &p->share->rss : NULL;
}

const char *dpw_port_share_steering(const struct dpw_port *p)
{
	return p->share != NULL ? p->share->steering : "none";
}

/* Whether port can be pinned on p: only a shared port's, and only below the ephemeral range
 * (port 0 picks one there; an ephemeral port's frames go where its own rule says, below). */
static bool pinnable(const struct dpw_port *p, uint16_t port)
{
	return p->share != NULL && port != 0 && port < DPW_EPHEMERAL_FIRST;
}

/* The queue whose engine gets the frames to an ephemeral port, whatever the remote: the
 * port's number decides (steer.h); -1 for TCP's connect ports under a hash, whose frames go
 * where each remote's hash puts them. */
static int ephemeral_queue(const struct dpw_port *p, bool udp, uint16_t port)
{
	if (p->share->hashed && !udp && port < DPW_EPHEMERAL_BIND_FIRST)
		return -1;
	return port % p->share->queues;
}

int dpw_port_share_pin(struct dpw_port *p, bool udp, uint16_t port)
{
	struct dpw_steer_pins *pins;
	uint16_t mine = (uint16_t)(p->queue + 1), held;
	int ret = 0;

	/* A bind to an ephemeral port: only where its frames go (a bind elsewhere moves first,
	 * step 6, dpw_port_share_holder). */
	if (p->share != NULL && port >= DPW_EPHEMERAL_FIRST)
		return ephemeral_queue(p, udp, port) == p->queue ? 0 : -1;
	if (!pinnable(p, port))
		return 0;
	pins = p->share->pins;
	lock_pins();
	held = atomic_load_explicit(&pins->owner[udp][port], memory_order_relaxed);
	if (held == (DPW_STEER_PIN_SPREAD | mine)) {
		pins->count[udp][port]++;   /* beside this engine's spread listener (W5 allowed) */
		ret = 1;
	} else if (held != 0 && held != mine) {
		ret = -1;
	} else {
		pins->count[udp][port]++;
		/* Release: seen before any frame the new socket's peer sends in answer. */
		atomic_store_explicit(&pins->owner[udp][port], mine, memory_order_release);
	}
	pthread_mutex_unlock(&lock);
	return ret;
}

int dpw_port_share_spread(struct dpw_port *p, bool udp, uint16_t port)
{
	struct dpw_steer_pins *pins;
	uint16_t mine = (uint16_t)(p->queue + 1), held;
	int ret = -1;

	if (!pinnable(p, port))
		return -1;
	pins = p->share->pins;
	lock_pins();
	held = atomic_load_explicit(&pins->owner[udp][port], memory_order_relaxed);
	if (held == mine && pins->count[udp][port] == 1) {
		atomic_store_explicit(&pins->owner[udp][port], DPW_STEER_PIN_SPREAD | mine,
				      memory_order_release);
		ret = 0;
	} else if (held == (DPW_STEER_PIN_SPREAD | mine)) {
		ret = 0;   /* spread already, by another listener of this engine's */
	}
	pthread_mutex_unlock(&lock);
	return ret;
}

/* This engine's slot for a spread port its connections hold, else a free one (n == 0), else
 * NULL. */
static struct dpw_port_join *join_slot(struct dpw_port *p, bool udp, uint16_t port)
{
	struct dpw_port_join *free_slot = NULL;

	for (unsigned i = 0; i < DPW_PORT_JOIN_SLOTS; i++) {
		struct dpw_port_join *j = &p->joins[i];

		if (j->n > 0 && j->port == port && j->udp == udp)
			return j;
		if (j->n == 0 && free_slot == NULL)
			free_slot = j;
	}
	return free_slot;
}

int dpw_port_share_join(struct dpw_port *p, bool udp, uint16_t port)
{
	struct dpw_steer_pins *pins;
	struct dpw_port_join *j;
	int ret = -1;

	if (!pinnable(p, port))
		return -1;
	/* The port is held while this engine's reference is: a spread port's owner (and its
	 * spread mark) stays until its count is 0, so this join is what the locked one would
	 * be. */
	j = join_slot(p, udp, port);
	if (j != NULL && j->n > 0) {
		j->n++;
		return 0;
	}
	pins = p->share->pins;
	lock_pins();
	if (atomic_load_explicit(&pins->owner[udp][port], memory_order_relaxed) &
	    DPW_STEER_PIN_SPREAD) {
		pins->count[udp][port]++;
		ret = 0;
	}
	pthread_mutex_unlock(&lock);
	if (ret == 0 && j != NULL)
		*j = (struct dpw_port_join){ .port = port, .udp = udp, .n = 1 };
	return ret;
}

void dpw_port_share_leave(struct dpw_port *p, bool udp, uint16_t port)
{
	struct dpw_port_join *j;

	if (!pinnable(p, port))
		return;
	/* A connection that joined while the table was full had a reference of its own; if it
	 * leaves through a slot made since, the slot's reference lasts until that slot's last
	 * connection leaves without one: the count is right again once all have left, and
	 * above 0 while any is there. */
	j = join_slot(p, udp, port);
	if (j != NULL && j->n > 0 && --j->n > 0)
		return;
	dpw_port_share_unpin(p, udp, port);
}

void dpw_port_share_unpin(struct dpw_port *p, bool udp, uint16_t port)
{
	struct dpw_steer_pins *pins;

	if (!pinnable(p, port))
		return;
	pins = p->share->pins;
	lock_pins();
	if (pins->count[udp][port] > 0 && --pins->count[udp][port] == 0)
		atomic_store_explicit(&pins->owner[udp][port], 0, memory_order_release);
	pthread_mutex_unlock(&lock);
}

int dpw_port_share_holder(const struct dpw_port *p, bool udp, uint16_t port)
{
	uint16_t held;

	if (p->share != NULL && port >= DPW_EPHEMERAL_FIRST)
		return ephemeral_queue(p, udp, port);
	if (!pinnable(p, port))
		return -1;
	held = atomic_load_explicit(&p->share->pins->owner[udp][port], memory_order_relaxed) &
	       (uint16_t)~DPW_STEER_PIN_SPREAD;
	return held != 0 ? held - 1 : -1;
}
