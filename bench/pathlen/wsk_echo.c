/* wsk_echo.h: a WSK echo server of the plainest kind. A connection's bytes are copied into a
 * send of their own (one WskSend per indication, NODELAY), the peer's FIN answered with
 * WskDisconnect and the socket closed once that completes; every IRP is the connection's or
 * the send's, freed in its completion routine. The lane state is thread-local: with
 * DpwDeliverLcore every event and routine of a connection runs on its lcore's thread. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>

#include "app.h"   /* dpw_app_irp_prepare, dpw_app_sync_irp: the programs' IRP helpers */
#include "dpwsk.h"
#include "dpw/engine.h"
#include "wsk.h"
#include "wsk_echo.h"

struct conn {
	PWSK_SOCKET sock;
	bool closing;
	IRP disc_irp, close_irp;
};

struct send {
	IRP irp;
	struct conn *c;
	MDL mdl;
	WSK_BUF buf;
	char data[];
};

static __thread unsigned accepted, open_here;
/* Server engine 0's: the client and the listener. */
static WSK_REGISTRATION reg;
static WSK_PROVIDER_NPI npi;
static PWSK_SOCKET listener;

static const WSK_CLIENT_DISPATCH client_dispatch = { MAKE_WSK_VERSION(1, 0), 0, NULL };

static NTSTATUS closed(PDEVICE_OBJECT dev, PIRP irp, PVOID ctx)
{
	(void)dev;
	(void)irp;
	open_here--;
	free(ctx);
	return STATUS_MORE_PROCESSING_REQUIRED;
}

static void conn_close(struct conn *c)
{
	if (c->closing)
		return;
	c->closing = true;
	dpw_app_irp_prepare(&c->close_irp, closed, c);
	DpwConnectionDispatch(c->sock)->WskCloseSocket(c->sock, &c->close_irp);
}

static NTSTATUS sent(PDEVICE_OBJECT dev, PIRP irp, PVOID ctx)
{
	struct send *s = ctx;

	(void)dev;
	if (irp->IoStatus.Status != STATUS_SUCCESS)
		conn_close(s->c);
	free(s);
	return STATUS_MORE_PROCESSING_REQUIRED;
}

static NTSTATUS WSKAPI on_receive(PVOID ctx, ULONG flags, PWSK_DATA_INDICATION list,
				  SIZE_T indicated, SIZE_T *taken)
{
	struct conn *c = ctx;
	struct send *s;
	SIZE_T at = 0;

	(void)flags;
	(void)taken;
	if (list == NULL || c->closing || indicated == 0)
		return STATUS_SUCCESS;
	if ((s = malloc(sizeof(*s) + indicated)) == NULL) {
		conn_close(c);
		return STATUS_SUCCESS;
	}
	for (PWSK_DATA_INDICATION d = list; d != NULL; d = d->Next) {
		SIZE_T left = d->Buffer.Length;
		ULONG off = d->Buffer.Offset;

		for (PMDL m = d->Buffer.Mdl; m != NULL && left > 0; m = m->Next, off = 0) {
			SIZE_T piece = MmGetMdlByteCount(m) - off;

			if (piece > left)
				piece = left;
			memcpy(s->data + at,
			       (char *)MmGetSystemAddressForMdlSafe(m, NormalPagePriority) + off,
			       piece);
			at += piece;
			left -= piece;
		}
	}
	s->c = c;
	MmInitializeMdl(&s->mdl, s->data, at);
	s->buf.Mdl = &s->mdl;
	s->buf.Offset = 0;
	s->buf.Length = at;
	dpw_app_irp_prepare(&s->irp, sent, s);
	DpwConnectionDispatch(c->sock)->WskSend(c->sock, &s->buf, WSK_FLAG_NODELAY, &s->irp);
	return STATUS_SUCCESS;   /* copied: the provider releases the indications */
}

static NTSTATUS disconnected(PDEVICE_OBJECT dev, PIRP irp, PVOID ctx)
{
	(void)dev;
	(void)irp;
	conn_close(ctx);
	return STATUS_MORE_PROCESSING_REQUIRED;
}

static NTSTATUS WSKAPI on_disconnect(PVOID ctx, ULONG flags)
{
	struct conn *c = ctx;

	if (c->closing)
		return STATUS_SUCCESS;
	if (flags & WSK_FLAG_ABORTIVE) {
		conn_close(c);
		return STATUS_SUCCESS;
	}
	dpw_app_irp_prepare(&c->disc_irp, disconnected, c);
	DpwConnectionDispatch(c->sock)->WskDisconnect(c->sock, NULL, 0, &c->disc_irp);
	return STATUS_SUCCESS;
}

static const WSK_CLIENT_CONNECTION_DISPATCH conn_events = {
	.WskReceiveEvent = on_receive,
	.WskDisconnectEvent = on_disconnect,
};

static NTSTATUS WSKAPI on_accept(PVOID ctx, ULONG flags, PSOCKADDR local, PSOCKADDR remote,
				 PWSK_SOCKET sock, PVOID *sock_ctx,
				 const WSK_CLIENT_CONNECTION_DISPATCH **sock_dispatch)
{
	struct conn *c;

	(void)ctx;
	(void)flags;
	(void)local;
	(void)remote;
	if (sock == NULL)
		return STATUS_SUCCESS;   /* the listener is going away */
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return STATUS_REQUEST_NOT_ACCEPTED;
	c->sock = sock;
	accepted++;
	open_here++;
	*sock_ctx = c;
	*sock_dispatch = &conn_events;
	return STATUS_SUCCESS;
}

static const WSK_CLIENT_LISTEN_DISPATCH listen_events = { .WskAcceptEvent = on_accept };

/* Poll until the call's routine ran (the lcore runs it at a pass's end): its status. A
 * million passes at most: the provider completes every IRP. */
static NTSTATUS sync_wait(struct dpw_engine *e, struct dpw_app_sync *s)
{
	for (unsigned i = 0; i < 1000000 && !s->done; i++)
		dpw_engine_poll(e);
	return s->done ? s->irp.IoStatus.Status : STATUS_IO_TIMEOUT;
}

bool wsk_echo_attach(struct dpw_engine *e, char *err, size_t len)
{
	NTSTATUS st = DpwProviderAttach(e);

	if (st != STATUS_SUCCESS)
		snprintf(err, len, "DpwProviderAttach: %s", DpwNtStatusName(st));
	return st == STATUS_SUCCESS;
}

bool wsk_echo_listen(struct dpw_engine *e, uint16_t port, char *err, size_t len)
{
	WSK_CLIENT_NPI client = { NULL, &client_dispatch };
	WSK_EVENT_CALLBACK_CONTROL events = {
		(PNPIID)&NPI_WSK_INTERFACE_ID,
		WSK_EVENT_ACCEPT | WSK_EVENT_RECEIVE | WSK_EVENT_DISCONNECT
	};
	SOCKADDR_IN any = { .sin_family = AF_INET, .sin_port = htons(port) };
	struct dpw_app_sync s;
	NTSTATUS st = WskRegister(&client, &reg);

	if (st == STATUS_SUCCESS)
		st = WskCaptureProviderNPI(&reg, WSK_NO_WAIT, &npi);
	if (st == STATUS_SUCCESS)
		st = DpwSetCompletionDelivery(npi.Client, DpwDeliverLcore);
	if (st == STATUS_SUCCESS)
		st = npi.Dispatch->WskControlClient(npi.Client, WSK_SET_STATIC_EVENT_CALLBACKS,
						    sizeof(events), &events, 0, NULL, NULL, NULL);
	if (st != STATUS_SUCCESS) {
		snprintf(err, len, "WSK client: %s", DpwNtStatusName(st));
		return false;
	}
	npi.Dispatch->WskSocket(npi.Client, AF_INET, SOCK_STREAM, IPPROTO_TCP,
				WSK_FLAG_LISTEN_SOCKET, NULL, &listen_events, NULL, NULL, NULL,
				dpw_app_sync_irp(&s));
	if ((st = sync_wait(e, &s)) != STATUS_SUCCESS) {
		snprintf(err, len, "WskSocket: %s", DpwNtStatusName(st));
		return false;
	}
	listener = (PWSK_SOCKET)s.irp.IoStatus.Information;
	DpwListenDispatch(listener)->WskBind(listener, (PSOCKADDR)&any, 0, dpw_app_sync_irp(&s));
	if ((st = sync_wait(e, &s)) != STATUS_SUCCESS) {
		snprintf(err, len, "WskBind to port %u: %s", port, DpwNtStatusName(st));
		return false;
	}
	return true;
}

unsigned wsk_echo_accepted(void)
{
	return accepted;
}

unsigned wsk_echo_open(void)
{
	return open_here;
}

void wsk_echo_unlisten(struct dpw_engine *e)
{
	struct dpw_app_sync s;

	if (listener == NULL)
		return;
	DpwListenDispatch(listener)->WskCloseSocket(listener, dpw_app_sync_irp(&s));
	sync_wait(e, &s);
	listener = NULL;
}

void wsk_echo_deregister(void)
{
	if (npi.Client == NULL)
		return;
	WskReleaseProviderNPI(&reg);
	WskDeregister(&reg);
	npi.Client = NULL;
}

void wsk_echo_detach(void)
{
	DpwProviderDetach();
}
