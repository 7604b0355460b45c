/* wsk_client.h */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>

#include "app.h"   /* dpw_app_irp_prepare */
#include "dpwsk.h"
#include "wsk.h"
#include "wsk_client.h"

#define EXCHANGE 64

struct cconn {
	PWSK_SOCKET sock;
	IRP irp;
	MDL mdl;
	WSK_BUF buf;
	SIZE_T got;
	bool ok;
	uint8_t out[EXCHANGE], in[EXCHANGE];
};

/* The lane's: one client per engine thread, its routines on this thread. */
static __thread WSK_REGISTRATION reg;
static __thread WSK_PROVIDER_NPI npi;
static __thread bool stopping;
static __thread unsigned active;
static __thread SOCKADDR_IN server_addr;
static __thread void (*on_done)(bool ok);

static const WSK_CLIENT_DISPATCH client_dispatch = { MAKE_WSK_VERSION(1, 0), 0, NULL };

static void open_one(struct cconn *c);

static void next_call(struct cconn *c, PIO_COMPLETION_ROUTINE done)
{
	dpw_app_irp_prepare(&c->irp, done, c);
}

static void set_buf(struct cconn *c, uint8_t *p, SIZE_T len)
{
	MmInitializeMdl(&c->mdl, p, len);
	c->buf.Mdl = &c->mdl;
	c->buf.Offset = 0;
	c->buf.Length = len;
}

/* A connection ended (ok or not): the next one in its slot, unless stopping. */
static NTSTATUS slot_next(struct cconn *c, bool ok)
{
	on_done(ok);
	if (stopping) {
		active--;
		free(c);
	} else {
		open_one(c);
	}
	return STATUS_MORE_PROCESSING_REQUIRED;
}

static NTSTATUS closed(PDEVICE_OBJECT dev, PIRP irp, PVOID ctx)
{
	struct cconn *c = ctx;

	(void)dev;
	(void)irp;
	return slot_next(c, c->ok);
}

static void close_it(struct cconn *c)
{
	next_call(c, closed);
	DpwConnectionDispatch(c->sock)->WskCloseSocket(c->sock, &c->irp);
}

/* A call failed: the connection is closed (abortively, if it is not disconnected). */
static NTSTATUS give_up(struct cconn *c)
{
	c->ok = false;
	close_it(c);
	return STATUS_MORE_PROCESSING_REQUIRED;
}

static NTSTATUS fin_seen(PDEVICE_OBJECT dev, PIRP irp, PVOID ctx)
{
	struct cconn *c = ctx;

	(void)dev;
	/* The peer's FIN: a receive of 0 bytes. Both ways disconnected, the close sends
	 * nothing (C3). */
	c->ok = c->ok && irp->IoStatus.Status == STATUS_SUCCESS && irp->IoStatus.Information == 0;
	close_it(c);
	return STATUS_MORE_PROCESSING_REQUIRED;
}

static NTSTATUS disconnected(PDEVICE_OBJECT dev, PIRP irp, PVOID ctx)
{
	struct cconn *c = ctx;

	(void)dev;
	if (irp->IoStatus.Status != STATUS_SUCCESS)
		return give_up(c);
	set_buf(c, c->in, sizeof(c->in));
	next_call(c, fin_seen);
	DpwConnectionDispatch(c->sock)->WskReceive(c->sock, &c->buf, 0, &c->irp);
	return STATUS_MORE_PROCESSING_REQUIRED;
}

static NTSTATUS received(PDEVICE_OBJECT dev, PIRP irp, PVOID ctx)
{
	struct cconn *c = ctx;

	(void)dev;
	if (irp->IoStatus.Status != STATUS_SUCCESS || irp->IoStatus.Information == 0)
		return give_up(c);
	c->got += irp->IoStatus.Information;
	if (c->got < EXCHANGE) {   /* the rest of the echo */
		set_buf(c, c->in + c->got, EXCHANGE - c->got);
		next_call(c, received);
		DpwConnectionDispatch(c->sock)->WskReceive(c->sock, &c->buf, 0, &c->irp);
		return STATUS_MORE_PROCESSING_REQUIRED;
	}
	c->ok = memcmp(c->in, c->out, EXCHANGE) == 0;
	next_call(c, disconnected);
	DpwConnectionDispatch(c->sock)->WskDisconnect(c->sock, NULL, 0, &c->irp);
	return STATUS_MORE_PROCESSING_REQUIRED;
}

static NTSTATUS sent(PDEVICE_OBJECT dev, PIRP irp, PVOID ctx)
{
	struct cconn *c = ctx;

	(void)dev;
	if (irp->IoStatus.Status != STATUS_SUCCESS)
		return give_up(c);
	set_buf(c, c->in, EXCHANGE);
	next_call(c, received);
	DpwConnectionDispatch(c->sock)->WskReceive(c->sock, &c->buf, 0, &c->irp);
	return STATUS_MORE_PROCESSING_REQUIRED;
}

static NTSTATUS connected(PDEVICE_OBJECT dev, PIRP irp, PVOID ctx)
{
	struct cconn *c = ctx;

	(void)dev;
	if (irp->IoStatus.Status != STATUS_SUCCESS)
		return slot_next(c, false);   /* no socket to close */
	c->sock = (PWSK_SOCKET)irp->IoStatus.Information;
	set_buf(c, c->out, EXCHANGE);
	next_call(c, sent);
	DpwConnectionDispatch(c->sock)->WskSend(c->sock, &c->buf, WSK_FLAG_NODELAY, &c->irp);
	return STATUS_MORE_PROCESSING_REQUIRED;
}

/* The addresses stay where they are until the call completes (a call made off the lcore
 * is queued with them). */
static SOCKADDR_IN any = { .sin_family = AF_INET };

static void open_one(struct cconn *c)
{
	c->sock = NULL;
	c->got = 0;
	c->ok = true;
	for (unsigned i = 0; i < EXCHANGE; i++)
		c->out[i] = (uint8_t)(i * 7 + (uintptr_t)c);
	next_call(c, connected);
	npi.Dispatch->WskSocketConnect(npi.Client, SOCK_STREAM, IPPROTO_TCP, (PSOCKADDR)&any,
				       (PSOCKADDR)&server_addr, 0, c, NULL, NULL, NULL, NULL,
				       &c->irp);
}

bool wsk_client_attach(struct dpw_engine *e, char *err, size_t len)
{
	WSK_CLIENT_NPI client = { NULL, &client_dispatch };
	NTSTATUS st = DpwProviderAttach(e);

	if (st == STATUS_SUCCESS)
		st = WskRegister(&client, &reg);
	if (st == STATUS_SUCCESS)
		st = WskCaptureProviderNPI(&reg, WSK_NO_WAIT, &npi);
	if (st == STATUS_SUCCESS)
		st = DpwSetCompletionDelivery(npi.Client, DpwDeliverLcore);
	if (st != STATUS_SUCCESS)
		snprintf(err, len, "WSK client lane: %s", DpwNtStatusName(st));
	return st == STATUS_SUCCESS;
}

bool wsk_client_start(unsigned n, uint32_t server, uint16_t port, void (*done)(bool ok))
{
	on_done = done;
	server_addr.sin_family = AF_INET;
	server_addr.sin_addr.s_addr = server;
	server_addr.sin_port = htons(port);
	for (unsigned i = 0; i < n; i++) {
		struct cconn *c = calloc(1, sizeof(*c));

		if (c == NULL)
			return false;
		active++;
		open_one(c);
	}
	return true;
}

void wsk_client_stop(void)
{
	stopping = true;
}

unsigned wsk_client_active(void)
{
	return active;
}

void wsk_client_deregister(void)
{
	if (npi.Client == NULL)
		return;
	WskReleaseProviderNPI(&reg);
	WskDeregister(&reg);
	npi.Client = NULL;
}
