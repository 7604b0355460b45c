/* Security descriptors, userspace meaning (WSK-F2, C7), and who may share a local address.
 *
 * A descriptor is a small refcounted object: the set of registered clients allowed to share
 * the local address of a socket that carries it (wsk_options.h, DPW_SECURITY_DESCRIPTOR).
 * Its content never changes after WSK_CACHE_SD, so the lcore reads it without a lock. Who
 * holds references:
 *   - the client, once per handle it was given (WSK_CACHE_SD, WskGetOption(SO_WSK_SECURITY));
 *     WSK_RELEASE_SD gives one back;
 *   - each socket that carries it (WskSocket's SecurityDescriptor, SO_WSK_SECURITY, or an
 *     accepted connection inheriting its listener's), until the socket is freed.
 * So a descriptor applied to a socket stays cached after the socket is closed: only
 * WSK_RELEASE_SD ends the client's hold (C7). WskDeregister reports and releases the handles
 * a client never released. Handles are checked against the list of live descriptors, so a
 * stale or foreign pointer gets STATUS_INVALID_PARAMETER, never a crash.
 *
 * Sharing (dpw_bind_pcb): a bind to a port already in use follows Microsoft's table for
 * sharing transport addresses (W5, share_table below): each socket's option (none,
 * SO_REUSEADDR, SO_EXCLUSIVEADDRUSE), wildcard or specific address, and in some cases the
 * first socket's descriptor, which must admit the second's client. lwIP itself only knows
 * SOF_REUSEADDR on both sides, so for a bind the table allows the flag is lent to the pcbs
 * involved for the duration of udp_bind/tcp_bind, then put back. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lwip/ip_addr.h"
#include "lwip/priv/tcp_priv.h"
#include "lwip/tcp.h"
#include "lwip/udp.h"

#include "dpw/engine.h"
#include "options_internal.h"

#define SD_MAGIC 0x44535744u   /* "DWSD" */

struct dpw_sd {
	DPW_SECURITY_DESCRIPTOR pub;     /* first: a handle reads as the cached copy */
	uint32_t magic;
	uint32_t refs;                   /* handles + sockets; under sd_lock */
	uint32_t handles;                /* of which: handles the owner holds */
	struct dpw_client *owner;
	struct dpw_sd *next;
	PWSK_CLIENT clients[];
};

static pthread_mutex_t sd_lock = PTHREAD_MUTEX_INITIALIZER;
static struct dpw_sd *sds;           /* every live descriptor */
static DPW_SECURITY_STATS sd_stats;  /* under sd_lock */

VOID DpwGetSecurityStats(PDPW_SECURITY_STATS Stats)
{
	if (Stats == NULL)
		return;
	pthread_mutex_lock(&sd_lock);
	*Stats = sd_stats;
	pthread_mutex_unlock(&sd_lock);
}

/* Under sd_lock: the descriptor behind a handle, or NULL if it is none of ours. */
static struct dpw_sd *find_locked(PVOID handle)
{
	struct dpw_sd *d;

	for (d = sds; d != NULL && (PVOID)d != handle; d = d->next)
		;
	return d != NULL && d->magic == SD_MAGIC ? d : NULL;
}

static void put_locked(struct dpw_sd *d)
{
	struct dpw_sd **pp;

	if (--d->refs > 0)
		return;
	for (pp = &sds; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == d) {
			*pp = d->next;
			break;
		}
	}
	sd_stats.Descriptors--;
	d->magic = 0;
	free(d);
}

static bool admits(const struct dpw_sd *d, PWSK_CLIENT client)
{
	if (d->pub.Flags & DPW_SD_SHARE_ANY_CLIENT)
		return true;
	for (ULONG i = 0; i < d->pub.ClientCount; i++)
		if (d->clients[i] == client)
			return true;
	return false;
}

/* ---- WskControlClient: WSK_CACHE_SD, WSK_RELEASE_SD (any thread) ---------------------------- */

NTSTATUS dpw_security_cache(struct dpw_client *c, SIZE_T in_len, PVOID in, SIZE_T out_len,
			    PVOID out, SIZE_T *out_used)
{
	const DPW_SECURITY_DESCRIPTOR *src;
	struct dpw_sd *d;

	if (in == NULL || in_len < sizeof(PSECURITY_DESCRIPTOR) || out == NULL ||
	    out_len < sizeof(PSECURITY_DESCRIPTOR))
		return STATUS_INVALID_PARAMETER;
	src = *(const PSECURITY_DESCRIPTOR *)in;
	if (src == NULL || src->Revision != DPW_SECURITY_DESCRIPTOR_REVISION ||
	    (src->Flags & ~(ULONG)DPW_SD_SHARE_ANY_CLIENT) != 0 ||
	    src->ClientCount > DPW_SD_MAX_CLIENTS || (src->ClientCount > 0 && src->Clients == NULL))
		return STATUS_INVALID_PARAMETER;
	d = calloc(1, sizeof(*d) + src->ClientCount * sizeof(PWSK_CLIENT));
	if (d == NULL)
		return STATUS_INSUFFICIENT_RESOURCES;
	if (src->ClientCount > 0)
		memcpy(d->clients, src->Clients, src->ClientCount * sizeof(PWSK_CLIENT));
	d->pub.Revision = DPW_SECURITY_DESCRIPTOR_REVISION;
	d->pub.Flags = src->Flags;
	d->pub.ClientCount = src->ClientCount;
	d->pub.Clients = d->clients;
	d->magic = SD_MAGIC;
	d->refs = 1;
	d->handles = 1;
	d->owner = c;
	pthread_mutex_lock(&sd_lock);
	d->next = sds;
	sds = d;
	sd_stats.Descriptors++;
	sd_stats.CachedHandles++;
	pthread_mutex_unlock(&sd_lock);
	*(PSECURITY_DESCRIPTOR *)out = d;
	if (out_used != NULL)
		*out_used = sizeof(PSECURITY_DESCRIPTOR);
	return STATUS_SUCCESS;
}

NTSTATUS dpw_security_release(struct dpw_client *c, SIZE_T in_len, PVOID in)
{
	struct dpw_sd *d;

	if (in == NULL || in_len < sizeof(PSECURITY_DESCRIPTOR))
		return STATUS_INVALID_PARAMETER;
	pthread_mutex_lock(&sd_lock);
	d = find_locked(*(PSECURITY_DESCRIPTOR *)in);
	if (d == NULL || d->owner != c || d->handles == 0) {
		pthread_mutex_unlock(&sd_lock);
		return STATUS_INVALID_PARAMETER;   /* not a handle this client holds */
	}
	d->handles--;
	sd_stats.CachedHandles--;
	put_locked(d);
	pthread_mutex_unlock(&sd_lock);
	return STATUS_SUCCESS;
}

/* WskDeregister, once every socket of c is closed: handles never released are reported and
 * released (C7), so that nothing outlives the client. */
void dpw_security_client_gone(struct dpw_client *c)
{
	struct dpw_sd **pp, *d;

	pthread_mutex_lock(&sd_lock);
	for (pp = &sds; (d = *pp) != NULL;) {
		if (d->owner != c) {
			pp = &d->next;
			continue;
		}
		if (d->handles > 0) {
			fprintf(stderr,
				"dpwsk: WskDeregister: client %p still had %u cached security "
				"descriptor handle(s) for %p, never released with WSK_RELEASE_SD "
				"(WSK-C7); releasing them\n",
				(void *)c, d->handles, (void *)d);
			sd_stats.ReportedAtDeregister += d->handles;
			sd_stats.CachedHandles -= d->handles;
			d->refs -= d->handles;
			d->handles = 0;
		}
		d->owner = NULL;   /* no client can name it any more */
		if (d->refs == 0) {
			*pp = d->next;
			sd_stats.Descriptors--;
			d->magic = 0;
			free(d);
			continue;
		}
		pp = &d->next;
	}
	pthread_mutex_unlock(&sd_lock);
}

/* ---- sockets (lcore) ----------------------------------------------------------------------- */

NTSTATUS dpw_security_socket_set(struct dpw_socket *s, PVOID handle)
{
	struct dpw_sd *d = NULL, *old = s->security;

	pthread_mutex_lock(&sd_lock);
	if (handle != NULL) {
		d = find_locked(handle);
		/* Only a handle the socket's own client holds (not released yet). */
		if (d == NULL || d->owner != s->client || d->handles == 0) {
			pthread_mutex_unlock(&sd_lock);
			return STATUS_INVALID_PARAMETER;
		}
		d->refs++;
	}
	s->security = d;   /* NULL: back to the default, which shares with nobody */
	if (old != NULL)
		put_locked(old);
	pthread_mutex_unlock(&sd_lock);
	return STATUS_SUCCESS;
}

PVOID dpw_security_socket_get(struct dpw_socket *s)
{
	struct dpw_sd *d = s->security;

	if (d == NULL)
		return NULL;
	pthread_mutex_lock(&sd_lock);
	if (d->owner != NULL) {
		d->refs++;
		d->handles++;
		sd_stats.CachedHandles++;
	} else {
		d = NULL;   /* its client deregistered: no handle to give */
	}
	pthread_mutex_unlock(&sd_lock);
	return d;
}

void dpw_security_inherit(struct dpw_socket *conn, const struct dpw_socket *listener)
{
	dpw_security_inherit_sd(conn, listener->security);
}

PVOID dpw_security_ref(PVOID sd)
{
	struct dpw_sd *d = sd;

	if (d != NULL) {
		pthread_mutex_lock(&sd_lock);
		d->refs++;
		pthread_mutex_unlock(&sd_lock);
	}
	return d;
}

void dpw_security_unref(PVOID sd)
{
	if (sd == NULL)
		return;
	pthread_mutex_lock(&sd_lock);
	put_locked(sd);
	pthread_mutex_unlock(&sd_lock);
}

void dpw_security_inherit_sd(struct dpw_socket *conn, PVOID sd)
{
	if (sd == NULL || conn->security != NULL)
		return;
	conn->security = dpw_security_ref(sd);
}

void dpw_security_socket_closed(struct dpw_socket *s)
{
	struct dpw_sd *d = s->security;

	if (d == NULL)
		return;
	s->security = NULL;
	pthread_mutex_lock(&sd_lock);
	put_locked(d);
	pthread_mutex_unlock(&sd_lock);
}

/* ---- sharing a local address (F2) ----------------------------------------------------------- */

/* The socket behind a pcb's callback argument, if it is one of ours and still open (a pcb in
 * TIME_WAIT, or of raw lwIP code sharing the engine, has none). */
static struct dpw_socket *socket_of(void *arg)
{
	struct dpw_socket *o = arg;
	uint32_t st;

	if (arg == NULL || !dpw_socket_is_slot((PWSK_SOCKET)arg))
		return NULL;
	st = atomic_load_explicit(&o->handle_state, memory_order_relaxed);
	return st == DPW_HANDLE_LIVE || st == DPW_HANDLE_CLOSING ? o : NULL;
}

/* Microsoft's table for sharing transport addresses (WSK, "Sharing Transport Addresses"):
 * the result of binding a second socket to a port another holds, by each one's option and
 * whether each address is the wildcard or a specific one. CHECK: allowed if the first
 * socket's security descriptor admits the second's client (with none, nobody is admitted). */
enum share_opt { OPT_DEFAULT, OPT_REUSE, OPT_EXCLUSIVE };
enum verdict { V_SUCCESS, V_INUSE, V_DENIED, V_CHECK };

static const uint8_t share_table[3][2][3][2] = {
	/* second: no option   first: default W, S     SO_REUSEADDR W, S    EXCLUSIVE W, S */
	[OPT_DEFAULT] = { { { V_INUSE, V_SUCCESS }, { V_INUSE, V_SUCCESS }, { V_INUSE, V_SUCCESS } },
			  { { V_CHECK, V_INUSE }, { V_CHECK, V_DENIED }, { V_DENIED, V_INUSE } } },
	[OPT_REUSE] = { { { V_DENIED, V_SUCCESS }, { V_SUCCESS, V_SUCCESS }, { V_DENIED, V_SUCCESS } },
			{ { V_CHECK, V_DENIED }, { V_SUCCESS, V_SUCCESS }, { V_DENIED, V_DENIED } } },
	[OPT_EXCLUSIVE] = { { { V_INUSE, V_INUSE }, { V_INUSE, V_INUSE }, { V_INUSE, V_INUSE } },
			    { { V_CHECK, V_INUSE }, { V_CHECK, V_INUSE }, { V_DENIED, V_INUSE } } },
};

static enum share_opt opt_of(const struct dpw_socket *s)
{
	return s->exclusive_addr ? OPT_EXCLUSIVE : s->reuse_addr ? OPT_REUSE : OPT_DEFAULT;
}

/* s binding to ip, against o holding o_ip (an overlapping address on the same port). */
static enum verdict share_verdict(const struct dpw_socket *s, const ip_addr_t *ip,
				  const struct dpw_socket *o, const ip_addr_t *o_ip, bool o_reuse,
				  bool time_wait)
{
	enum verdict v;

	/* No socket behind the pcb: lwIP's own rules. A connection in TIME_WAIT gives way to
	 * SO_REUSEADDR on the new socket alone (as lwIP and Linux do, and as a server restarting
	 * on its port needs); any other pcb only if both have it. */
	if (o == NULL)
		return s->reuse_addr && (time_wait || o_reuse) ? V_SUCCESS : V_INUSE;
	v = share_table[opt_of(s)][!ip_addr_isany(ip)][opt_of(o)][!ip_addr_isany(o_ip)];
	if (v == V_CHECK)
		v = o->security != NULL && admits(o->security, s->client) ? V_SUCCESS : V_DENIED;
	return v;
}

/* One pass over the pcbs bound to port on an address overlapping ip (own excepted): s's
 * verdicts, or with no s only the count of those lacking SOF_REUSEADDR. */
struct share_walk {
	struct dpw_socket *s;
	const ip_addr_t *ip;
	uint16_t port;
	bool udp;
	void *own;                       /* the pcb to bind: a udp_pcb if udp, else a tcp_pcb */
	bool denied, in_use, in_use_same;  /* refusals met: DENIED, INUSE (on ip itself) */
	bool lend;                       /* allowed where lwIP's own check would refuse */
	unsigned lacking;                /* overlapping pcbs without SOF_REUSEADDR */
	u8_t **lent;                     /* second pass: the flags lent, to put back */
	unsigned nlent;
};

static void visit(struct share_walk *w, const ip_addr_t *local_ip, u8_t *so_options, void *arg,
		  bool time_wait)
{
	bool reuse = (*so_options & SOF_REUSEADDR) != 0;

	/* The families meet only through a dual-stack socket's wildcard (W6: any type). */
	if ((IP_GET_TYPE(local_ip) != IP_GET_TYPE(w->ip) && !IP_IS_ANY_TYPE_VAL(*local_ip) &&
	     !IP_IS_ANY_TYPE_VAL(*w->ip)) ||
	    !(ip_addr_isany(local_ip) || ip_addr_isany(w->ip) || ip_addr_cmp(local_ip, w->ip)))
		return;
	if (w->lent != NULL) {
		if (!reuse) {
			*so_options |= SOF_REUSEADDR;
			w->lent[w->nlent++] = so_options;
		}
		return;
	}
	if (w->s == NULL) {
		w->lacking += !reuse;
		return;
	}
	switch (share_verdict(w->s, w->ip, socket_of(arg), local_ip, reuse, time_wait)) {
	case V_DENIED:
		w->denied = true;
		break;
	case V_INUSE:
		w->in_use = true;
		w->in_use_same |= ip_addr_cmp(local_ip, w->ip);
		break;
	default:
		/* lwIP lets two pcbs overlap only if both carry SOF_REUSEADDR. */
		w->lend |= !reuse || !w->s->reuse_addr;
		break;
	}
	w->lacking += !reuse;
}

static void walk(struct share_walk *w)
{
	if (w->udp) {
		for (struct udp_pcb *u = udp_pcbs; u != NULL; u = u->next)
			if ((void *)u != w->own && u->local_port == w->port)
				visit(w, &u->local_ip, &u->so_options, u->recv_arg, false);
		return;
	}
	/* Listening, bound, active and TIME_WAIT pcbs: the common members only. */
	for (int i = 0; i < NUM_TCP_PCB_LISTS; i++)
		for (struct tcp_pcb *t = *tcp_pcb_lists[i]; t != NULL; t = t->next)
			if ((void *)t != w->own && t->local_port == w->port)
				visit(w, &t->local_ip, &t->so_options, t->callback_arg,
				      t->state == TIME_WAIT);
}

static err_t bind_now(struct share_walk *w)
{
	return w->udp ? udp_bind(w->own, w->ip, w->port) : tcp_bind(w->own, w->ip, w->port);
}

/* The bind, with SOF_REUSEADDR lent for lwIP's own check (it lets two pcbs overlap only if
 * both carry it) to own, whose flags own_options are, and to every overlapping pcb without it
 * (w->lacking, counted by a first walk); put back after. */
static err_t bind_lending(struct share_walk *w, u8_t *own_options)
{
	u8_t before = *own_options;
	err_t err;

	w->lent = malloc((w->lacking > 0 ? w->lacking : 1) * sizeof(*w->lent));
	if (w->lent == NULL)
		return ERR_MEM;
	*own_options |= SOF_REUSEADDR;
	walk(w);
	err = bind_now(w);
	for (unsigned i = 0; i < w->nlent; i++)
		*w->lent[i] &= (u8_t)~SOF_REUSEADDR;
	free(w->lent);
	w->lent = NULL;
	*own_options = (u8_t)((*own_options & ~SOF_REUSEADDR) | (before & SOF_REUSEADDR));
	return err;
}

/* s holds port on its engine, taken by take (a pin, or a join of a spread port); remembered
 * for the unpin at its teardown. A pin beside a listener of this lcore that spread the port
 * joins the spread (take says 1). */
static bool hold_port(struct dpw_socket *s, uint16_t port,
		      int (*take)(struct dpw_engine *e, bool udp, uint16_t port))
{
	/* On the socket's lcore: its engine is this one's. */
	struct dpw_engine *e = dpw_engine_here();
	int held;

	if (port == 0 || s->pinned_on != NULL || e == NULL)
		return true;
	held = take(e, s->category == WSK_FLAG_DATAGRAM_SOCKET, port);
	if (held < 0)
		return false;
	s->pinned_port = port;
	s->pinned_on = e;
	s->port_spread = held > 0;
	return true;
}

bool dpw_socket_pin_port(struct dpw_socket *s, uint16_t port)
{
	return hold_port(s, port, dpw_engine_pin_port);
}

bool dpw_socket_spread_port(struct dpw_socket *s)
{
	return s->pinned_on != NULL &&
	       dpw_engine_spread_port(s->pinned_on, s->category == WSK_FLAG_DATAGRAM_SOCKET,
				      s->pinned_port) == 0;
}

bool dpw_socket_join_port(struct dpw_socket *s, uint16_t port)
{
	bool held = hold_port(s, port, dpw_engine_join_port);

	s->port_joined = held && s->pinned_on != NULL;
	return held;
}

void dpw_socket_unpin_port(struct dpw_socket *s)
{
	bool udp = s->category == WSK_FLAG_DATAGRAM_SOCKET;

	if (s->pinned_on != NULL && s->port_joined)
		dpw_engine_leave_port(s->pinned_on, udp, s->pinned_port);
	else if (s->pinned_on != NULL)
		dpw_engine_unpin_port(s->pinned_on, udp, s->pinned_port);
	s->pinned_on = NULL;
	s->pinned_port = 0;
	s->port_spread = false;
	s->port_joined = false;
}

err_t dpw_bind_pcb(struct dpw_socket *s, const ip_addr_t *ip, uint16_t port, NTSTATUS *refusal)
{
	bool udp = s->category == WSK_FLAG_DATAGRAM_SOCKET;
	struct share_walk w = { .s = s, .ip = ip, .port = port, .udp = udp,
				.own = udp ? (void *)s->t.udp.pcb : (void *)s->t.tcp.pcb };
	err_t err;

	*refusal = STATUS_ADDRESS_ALREADY_ASSOCIATED;
	if (port != 0) {   /* an ephemeral port is free by construction */
		walk(&w);
		/* Refused: DENIED before INUSE, whichever socket came first in the walk. INUSE on
		 * the very same address is what Windows was seen to answer (W5); on an address
		 * that overlaps it (the wildcard and a specific one), the table's status. */
		if (w.denied || w.in_use) {
			*refusal = w.denied ? STATUS_ACCESS_DENIED
			 : w.in_use_same ? STATUS_ADDRESS_ALREADY_ASSOCIATED
					 : STATUS_ADDRESS_ALREADY_EXISTS;
			return ERR_USE;
		}
	}
	/* Several lcores on one port: every frame to a fixed port must reach this lcore
	 * (step 5a). Another lcore's sockets on it are another lwIP's pcbs, which W5 cannot
	 * weigh here: refused as an address in use. */
	if (!dpw_socket_pin_port(s, port)) {
		*refusal = STATUS_ADDRESS_ALREADY_ASSOCIATED;
		return ERR_USE;
	}
	/* Allowed by the table where lwIP knows only SOF_REUSEADDR on both sides: the flag lent
	 * on every pcb involved for the bind's own check. */
	err = !w.lend ? bind_now(&w)
	      : bind_lending(&w, udp ? &s->t.udp.pcb->so_options : &s->t.tcp.pcb->so_options);
	if (err != ERR_OK)
		dpw_socket_unpin_port(s);
	return err;
}

err_t dpw_bind_beside(struct tcp_pcb *pcb, const ip_addr_t *ip, uint16_t port)
{
	struct share_walk w = { .ip = ip, .port = port, .own = pcb };

	walk(&w);   /* counts the overlapping pcbs without SOF_REUSEADDR */
	return bind_lending(&w, &pcb->so_options);
}
