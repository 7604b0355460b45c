/* libFuzzer harness: sequences of WSK calls interleaved with frames from a scripted peer, on
 * one engine over a net_ring port (no network), the provider embedded on the fuzzer's thread
 * (calls run inline, completions come out of WskPollCompletions). The peer is 198.18.0.1;
 * the stack 198.18.0.2 with fixed ISN FUZZ_ISN, so the harness can answer its SYNs.
 *
 * Input: ops, each one byte (op % OP_COUNT) followed by its argument bytes (a short input
 * reads zeros). Sockets live in NSOCK slots, slot i bound to port SLOT_PORT0 + i; IRPs come
 * from a fixed array of NIRP, each used again only after IoReuseIrp.
 *
 * Checked as it runs: an IRP completes only when issued and exactly once; a call that does
 * not return STATUS_PENDING has its IRP completed with that status by the next poll (R3).
 * Checked at the end of every input, after every socket was closed and the engine polled
 * until quiet: no IRP pending, no socket open, no TCP pcb besides TIME_WAIT; then after the
 * lwIP reset (peer_lwip.c) nothing left in lwIP's pools and every mbuf back. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include "dpw/engine_opts.h"
#include "dpw/engine.h"
#include "dpw/test_hooks.h"
#include "dpwsk.h"
#include "wsk.h"
#include "fixup.h"
#include "fuzz_port.h"
#include "peer_lwip.h"

#define FUZZ_ISN 0x10000000u
#define PEER_ISN 0x20000000u
#define NSOCK 4
#define NIRP 16
#define NBUF 4
#define BUF_LEN 2048
#define SLOT_PORT0 6000
#define PEER_PORT 80
#define TIME_STEP_MS 250

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum irp_state { IRP_FREE, IRP_PENDING, IRP_DONE };

/* One of the harness's IRPs, and what its call needs to stay valid until it completes. */
struct firp {
	PIRP irp;
	enum irp_state state;
	int completions;
	bool due;            /* the call returned a final status: completion by the next poll */
	NTSTATUS returned;
	int slot;            /* WskSocket: the slot the new socket goes to; else -1 */
	WSK_BUF buf;
};

enum slot_state { SLOT_EMPTY, SLOT_CREATING, SLOT_OPEN };

struct slot {
	enum slot_state state;
	ULONG category;
	PWSK_SOCKET sock;
	const VOID *disp;    /* its dispatch table, learnt while it was open */
	uint32_t stack_nxt;  /* the stack's next sequence number, as seen in its frames */
	uint32_t peer_nxt;   /* the scripted peer's */
};

static struct dpw_engine *engine;
static struct rte_ring *to_stack, *from_stack;
static struct rte_mempool *rx_pool;
static uint8_t engine_mac[6];
static const uint8_t peer_mac[6] = { 0x02, 0, 0, 0, 0, 0x01 };
static uint32_t clock_ms = 1000;
static uint32_t baseline_pcbs;   /* peer_lwip's own listeners */
static bool arp_wanted;
/* FUZZ_TRACE=1: one line per completion and per TCP frame the stack sent, to check by eye
 * that a seed drives the stack where it claims to. */
static bool trace;

static WSK_REGISTRATION reg;
static WSK_PROVIDER_NPI npi;
static const WSK_CLIENT_DISPATCH client_dispatch = { MAKE_WSK_VERSION(1, 0), 0, NULL };

static struct firp irps[NIRP + NSOCK];   /* the last NSOCK: the end-of-input closes */
static struct slot slots[NSOCK];
static struct slot stale[NSOCK];          /* sockets closed during this input */
static uint8_t bufs[NBUF][BUF_LEN];
static PMDL mdls[NBUF];

static void fail(const char *what)
{
	fprintf(stderr, "fuzz_api: %s\n", what);
	fflush(stderr);
	abort();
}

/* ---- the port ------------------------------------------------------------------------- */

static void inject(uint8_t *frame, uint16_t len, unsigned fix)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(rx_pool);

	if (m == NULL)
		fail("no RX mbuf left: received mbufs were lost");
	fixup_frame(frame, len, fix);
	memcpy(rte_pktmbuf_append(m, len), frame, len);
	dpw_engine_input(engine, m);
}

static void put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16));
	put16(p + 2, (uint16_t)v);
}
static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* The peer's ARP reply (198.18.0.1 is at peer_mac), so the stack's SYNs go out at once. */
static void peer_arp(void)
{
	uint8_t f[42] = { 0 };

	memcpy(f, engine_mac, 6);
	memcpy(f + 6, peer_mac, 6);
	put16(f + 12, 0x0806);
	put16(f + 14, 1);
	put16(f + 16, 0x0800);
	f[18] = 6;
	f[19] = 4;
	put16(f + 20, 2);
	memcpy(f + 22, peer_mac, 6);
	put32(f + 28, 0xc6120001);
	memcpy(f + 32, engine_mac, 6);
	put32(f + 38, 0xc6120002);
	inject(f, sizeof(f), 0);
}

/* A TCP segment from the peer's port 80 to a slot's port, checksums and lengths fixed up. */
static void peer_tcp(int slot, uint8_t flags, uint32_t seq, uint32_t ack, uint16_t dlen)
{
	static uint8_t f[14 + 20 + 20 + 1024];
	uint8_t *ip = f + 14, *tcp = ip + 20;

	memset(f, 0, 54);
	memcpy(f, engine_mac, 6);
	memcpy(f + 6, peer_mac, 6);
	put16(f + 12, 0x0800);
	ip[0] = 0x45;
	ip[8] = 64;
	ip[9] = 6;
	put32(ip + 12, 0xc6120001);
	put32(ip + 16, 0xc6120002);
	put16(tcp, PEER_PORT);
	put16(tcp + 2, (uint16_t)(SLOT_PORT0 + slot));
	put32(tcp + 4, seq);
	put32(tcp + 8, ack);
	tcp[12] = 5 << 4;
	tcp[13] = flags;
	put16(tcp + 14, 8192);
	memset(tcp + 20, 'p', dlen);
	inject(f, (uint16_t)(54 + dlen), FIXUP_CHECKSUMS | FIXUP_LENGTHS);
}

/* Frames the stack sent: learn each slot's sequence numbers and whether it asks for the
 * peer's address; then drop them. */
static void learn_tx(const uint8_t *f, uint32_t len)
{
	if (len >= 42 && f[12] == 0x08 && f[13] == 0x06 && f[21] == 1 &&
	    get32(f + 38) == 0xc6120001)
		arp_wanted = true;
	if (len >= 54 && f[12] == 0x08 && f[13] == 0x00 && f[14] == 0x45 && f[23] == 6) {
		const uint8_t *t = f + 34;
		unsigned port = (unsigned)(t[0] << 8 | t[1]);
		uint32_t dlen = (uint32_t)(f[16] << 8 | f[17]) - 20 - (uint32_t)(t[12] >> 4) * 4;
		uint32_t end = get32(t + 4) + dlen + ((t[13] & 0x03) ? 1u : 0u);

		if (trace)
			fprintf(stderr, "  tx tcp %u flags %02x seq %08x ack %08x len %u\n", port,
				t[13], get32(t + 4), get32(t + 8), dlen);
		if (port >= SLOT_PORT0 && port < SLOT_PORT0 + NSOCK &&
		    (int32_t)(end - slots[port - SLOT_PORT0].stack_nxt) > 0)
			slots[port - SLOT_PORT0].stack_nxt = end;
	}
}

static void drain_tx(void)
{
	struct rte_mbuf *out[64];
	unsigned n;

	while ((n = rte_ring_dequeue_burst(from_stack, (void **)out, 64, NULL)) > 0) {
		for (unsigned i = 0; i < n; i++)
			learn_tx(rte_pktmbuf_mtod(out[i], const uint8_t *),
				 rte_pktmbuf_data_len(out[i]));
		rte_pktmbuf_free_bulk(out, n);
	}
}

/* ---- IRPs ------------------------------------------------------------------------------ */

static NTSTATUS on_complete(PDEVICE_OBJECT dev, PIRP irp, PVOID ctx)
{
	struct firp *f = ctx;

	(void)dev;
	if (f->irp != irp)
		fail("a completion routine ran with another IRP than its own");
	if (f->state != IRP_PENDING)
		fail(f->completions > 0 ? "an IRP completed twice" : "an IRP completed unissued");
	f->completions++;
	f->state = IRP_DONE;
	if (trace)
		fprintf(stderr, "  irp %d completed: status %08x info %lu\n", (int)(f - irps),
			(unsigned)irp->IoStatus.Status, (unsigned long)irp->IoStatus.Information);
	if (f->due && irp->IoStatus.Status != f->returned)
		fail("an IRP completed with another status than its call returned (R3)");
	if (f->slot >= 0) {
		slots[f->slot].state = SLOT_EMPTY;
		if (irp->IoStatus.Status == STATUS_SUCCESS) {
			slots[f->slot].state = SLOT_OPEN;
			slots[f->slot].sock = (PWSK_SOCKET)irp->IoStatus.Information;
			slots[f->slot].disp = slots[f->slot].sock->Dispatch;
		}
	}
	return STATUS_MORE_PROCESSING_REQUIRED;   /* the IRP is the harness's */
}

static void irp_reuse(struct firp *f)
{
	IoReuseIrp(f->irp, STATUS_UNSUCCESSFUL);
	IoSetCompletionRoutine(f->irp, on_complete, f, TRUE, TRUE, TRUE);
	f->state = IRP_FREE;
	f->completions = 0;
	f->due = false;
	f->slot = -1;
}

/* A free IRP; a completed one reused if none is free; NULL when all are pending. */
static struct firp *irp_take(void)
{
	for (int i = 0; i < NIRP; i++)
		if (irps[i].state == IRP_FREE)
			return &irps[i];
	for (int i = 0; i < NIRP; i++)
		if (irps[i].state == IRP_DONE) {
			irp_reuse(&irps[i]);
			return &irps[i];
		}
	return NULL;
}

static void irp_issue(struct firp *f) { f->state = IRP_PENDING; }

/* What a call returned: anything but STATUS_PENDING means the IRP has completed with it or
 * does so by the next poll. */
static void irp_returned(struct firp *f, NTSTATUS st)
{
	if (st == STATUS_PENDING)
		return;
	if (f->state == IRP_DONE && f->irp->IoStatus.Status != st)
		fail("an IRP completed with another status than its call returned (R3)");
	f->due = true;
	f->returned = st;
}

static void poll_once(void)
{
	if (arp_wanted) {
		arp_wanted = false;
		peer_arp();
	}
	dpw_engine_poll(engine);
	drain_tx();
	WskPollCompletions(npi.Client, 1024);
	for (int i = 0; i < NIRP + NSOCK; i++)
		if (irps[i].state == IRP_PENDING && irps[i].due)
			fail("a call returned a final status but its IRP did not complete (R3)");
}

static void let_time_pass(uint32_t ms)
{
	while (ms > 0) {
		uint32_t step = ms < TIME_STEP_MS ? ms : TIME_STEP_MS;

		clock_ms += step;
		ms -= step;
		poll_once();
	}
}

/* ---- ops ------------------------------------------------------------------------------- */

struct input {
	const uint8_t *p;
	size_t n;
};

static uint8_t next(struct input *in)
{
	if (in->n == 0)
		return 0;
	in->n--;
	return *in->p++;
}

static SOCKADDR_IN sockaddr_v4(uint32_t ip_host, uint16_t port)
{
	SOCKADDR_IN sa;

	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = (USHORT)(port >> 8 | (port & 0xff) << 8);
	sa.sin_addr.s_addr = (ULONG)(ip_host >> 24 | (ip_host >> 8 & 0xff00) |
				     (ip_host << 8 & 0xff0000) | ip_host << 24);
	return sa;
}

/* A buffer for a send or receive: a good one of the pool, or one to be refused (R4). */
static void make_buf(struct firp *f, uint8_t kind, uint8_t len)
{
	PMDL mdl = mdls[kind % NBUF];
	size_t l = (size_t)len * 8;

	switch (kind >> 5) {
	case 0:
		f->buf = (WSK_BUF){ NULL, 0, l ? l : 1 };          /* no MDL, a length */
		break;
	case 1:
		f->buf = (WSK_BUF){ mdl, BUF_LEN + 1, 1 };          /* offset past the MDL */
		break;
	case 2:
		f->buf = (WSK_BUF){ mdl, 0, BUF_LEN + 1 + l };      /* longer than the chain */
		break;
	default:
		f->buf = (WSK_BUF){ mdl, kind & 7, l };
		break;
	}
}

static void op_socket(struct input *in)
{
	static const ULONG cats[] = { WSK_FLAG_LISTEN_SOCKET, WSK_FLAG_CONNECTION_SOCKET,
				      WSK_FLAG_STREAM_SOCKET, WSK_FLAG_DATAGRAM_SOCKET };
	int s = next(in) % NSOCK;
	ULONG cat = cats[next(in) % 4];
	struct firp *f = irp_take();
	bool dgram = cat == WSK_FLAG_DATAGRAM_SOCKET;

	if (f == NULL || slots[s].state != SLOT_EMPTY)
		return;
	slots[s] = (struct slot){ SLOT_CREATING, cat, NULL, NULL, FUZZ_ISN, PEER_ISN };
	f->slot = s;
	irp_issue(f);
	irp_returned(f, npi.Dispatch->WskSocket(npi.Client, AF_INET,
						dgram ? SOCK_DGRAM : SOCK_STREAM,
						dgram ? IPPROTO_UDP : IPPROTO_TCP, cat, NULL, NULL,
						NULL, NULL, NULL, f->irp));
}

/* The slot's socket: open, or (sometimes) one closed earlier in this input, called through
 * the table it had while open, as a client with a stale handle would. */
static const struct slot *pick(struct input *in, int *slot)
{
	uint8_t b = next(in);

	*slot = b % NSOCK;
	if (b & 0x80)
		return stale[*slot].sock != NULL ? &stale[*slot] : NULL;
	return slots[*slot].state == SLOT_OPEN ? &slots[*slot] : NULL;
}

static void op_call(uint8_t op, struct input *in)
{
	int s;
	const struct slot *sl = pick(in, &s);
	PWSK_SOCKET sock = sl != NULL ? sl->sock : NULL;
	uint8_t a = next(in), b = next(in);
	struct firp *f;
	SOCKADDR_IN local = sockaddr_v4(a & 1 ? 0xc6120002 : 0, (uint16_t)(SLOT_PORT0 + s));
	static SOCKADDR_IN peer, from;
	NTSTATUS st;

	if (sock == NULL || (f = irp_take()) == NULL)
		return;
	peer = sockaddr_v4(0xc6120001, PEER_PORT);
	irp_issue(f);
	/* Every table starts with the basic members and WskBind; past that the category says
	 * which table it is (R5). A stale handle may name any category: the provider checks. */
	const WSK_PROVIDER_BASIC_DISPATCH *bd = sl->disp;
	const WSK_PROVIDER_LISTEN_DISPATCH *ld = sl->disp;
	const WSK_PROVIDER_CONNECTION_DISPATCH *cd = sl->disp;
	const WSK_PROVIDER_STREAM_DISPATCH *sd = sl->disp;
	const WSK_PROVIDER_DATAGRAM_DISPATCH *dd = sl->disp;
	ULONG cat = sl->category;

	switch (op) {
	case 1:
		st = ld->WskBind(sock, (PSOCKADDR)&local, 0, f->irp);
		break;
	case 2:
		st = cat == WSK_FLAG_STREAM_SOCKET ? sd->WskListen(sock, f->irp)
						   : bd->WskCloseSocket(sock, f->irp);
		if (cat != WSK_FLAG_STREAM_SOCKET)
			goto closed;
		break;
	case 3:
		if (cat == WSK_FLAG_CONNECTION_SOCKET)
			st = cd->WskConnect(sock, (PSOCKADDR)&peer, 0, f->irp);
		else if (cat == WSK_FLAG_STREAM_SOCKET)
			st = sd->WskConnect(sock, (PSOCKADDR)&peer, 0, f->irp);
		else
			st = ld->WskBind(sock, (PSOCKADDR)&local, 0, f->irp);
		break;
	case 4:
	case 5:
		make_buf(f, a, b);
		if (cat == WSK_FLAG_DATAGRAM_SOCKET)
			st = op == 4 ? dd->WskSendTo(sock, &f->buf, 0, (PSOCKADDR)&peer, 0, NULL,
						     f->irp)
				     : dd->WskReceiveFrom(sock, &f->buf, 0, (PSOCKADDR)&from, NULL,
							  NULL, NULL, f->irp);
		else if (cat == WSK_FLAG_CONNECTION_SOCKET)
			st = op == 4 ? cd->WskSend(sock, &f->buf, 0, f->irp)
				     : cd->WskReceive(sock, &f->buf, 0, f->irp);
		else if (cat == WSK_FLAG_STREAM_SOCKET)
			st = op == 4 ? sd->WskSend(sock, &f->buf, 0, f->irp)
				     : sd->WskReceive(sock, &f->buf, 0, f->irp);
		else
			st = ld->WskBind(sock, (PSOCKADDR)&local, 0, f->irp);
		break;
	case 6:
		if (cat == WSK_FLAG_CONNECTION_SOCKET || cat == WSK_FLAG_STREAM_SOCKET) {
			make_buf(f, (uint8_t)(a | 0x60), b);
			st = (cat == WSK_FLAG_CONNECTION_SOCKET ? cd->WskDisconnect
								: sd->WskDisconnect)(
				sock, b & 1 ? &f->buf : NULL, a & 2 ? WSK_FLAG_ABORTIVE : 0,
				f->irp);
		} else {
			st = ld->WskBind(sock, (PSOCKADDR)&local, 0, f->irp);
		}
		break;
	default:
		st = bd->WskCloseSocket(sock, f->irp);
		goto closed;
	}
	irp_returned(f, st);
	return;
closed:
	irp_returned(f, st);
	if (sl == &slots[s]) {
		stale[s] = slots[s];
		slots[s].state = SLOT_EMPTY;
	}
}

static void op_cancel(struct input *in)
{
	struct firp *f = &irps[next(in) % NIRP];

	if (f->state == IRP_PENDING)
		IoCancelIrp(f->irp);
}

static void op_reuse(struct input *in)
{
	struct firp *f = &irps[next(in) % NIRP];

	if (f->state == IRP_DONE)
		irp_reuse(f);
}

/* The scripted peer: a segment on a slot's connection, numbered from what both sides sent. */
static void op_peer(struct input *in)
{
	uint8_t b = next(in), len = next(in);
	struct slot *sl = &slots[b % NSOCK];

	switch ((b >> 2) % 6) {
	case 0:
		peer_tcp(b % NSOCK, 0x12, PEER_ISN, sl->stack_nxt, 0);   /* SYN-ACK */
		sl->peer_nxt = PEER_ISN + 1;
		break;
	case 1:
		peer_tcp(b % NSOCK, 0x18, sl->peer_nxt, sl->stack_nxt, len);  /* data */
		sl->peer_nxt += len;
		break;
	case 2:
		peer_tcp(b % NSOCK, 0x11, sl->peer_nxt, sl->stack_nxt, 0);  /* FIN */
		sl->peer_nxt += 1;
		break;
	case 3:
		peer_tcp(b % NSOCK, 0x14, sl->peer_nxt, sl->stack_nxt, 0);  /* RST */
		break;
	case 4:
		peer_tcp(b % NSOCK, 0x10, sl->peer_nxt, sl->stack_nxt, 0);  /* ACK */
		break;
	default:
		peer_tcp(b % NSOCK, 0x10, sl->peer_nxt + (uint32_t)len * 1000,
			 sl->stack_nxt - len, len);   /* out of window */
		break;
	}
}

/* A frame of the fuzzer's own, checksums fixed up (as fuzz_frames). */
static void op_raw(struct input *in)
{
	static uint8_t f[1514];
	uint16_t len = next(in);

	len = (uint16_t)(len * 4);
	if (len > in->n)
		len = (uint16_t)in->n;
	if (len < 14)
		return;
	memcpy(f, in->p, len);
	in->p += len;
	in->n -= len;
	memcpy(f, engine_mac, 6);
	inject(f, len, FIXUP_CHECKSUMS | FIXUP_LENGTHS);
}

#define OP_COUNT 14

static void run_op(struct input *in)
{
	uint8_t op = next(in) % OP_COUNT;

	switch (op) {
	case 0:
		op_socket(in);
		break;
	case 1: case 2: case 3: case 4: case 5: case 6: case 7:
		op_call(op, in);
		break;
	case 8:
		op_cancel(in);
		break;
	case 9:
		op_reuse(in);
		break;
	case 10:
		let_time_pass((uint32_t)next(in) * 20);
		break;
	case 11:
		op_peer(in);
		break;
	case 12:
		op_raw(in);
		break;
	default:
		poll_once();
		break;
	}
}

/* ---- setup and the end-of-input checks ------------------------------------------------- */

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char err[DPW_ERRLEN];
	struct dpw_engine_config cfg = { 0 };
	struct dpw_engine_stats es;
	WSK_CLIENT_NPI cnpi = { NULL, &client_dispatch };
	int port;

	(void)argc;
	(void)argv;
	trace = getenv("FUZZ_TRACE") != NULL;
	port = fuzz_port_create("fuzz_api", &to_stack, &from_stack, err, sizeof(err));
	if (port < 0)
		fail(err);
	cfg.port_id = (uint16_t)port;
	if (dpw_parse_ipv4_prefix("198.18.0.2/24", &cfg.ipv4_addr, &cfg.ipv4_netmask) != 0)
		fail("bad address");
	cfg.rx_desc = 64;
	cfg.tx_desc = 64;
	cfg.extra_mbufs = 2048;
	dpw_test_set_clock(&clock_ms);
	dpw_test_set_fixed_isn(FUZZ_ISN);
	engine = dpw_engine_create(&cfg, err, sizeof(err));
	if (engine == NULL)
		fail(err);
	dpw_engine_mac(engine, engine_mac);
	rx_pool = rte_pktmbuf_pool_create("fuzz_rx", 1023, 0, FUZZ_RX_PRIV,
					  RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
	if (rx_pool == NULL)
		fail("cannot create the RX pool");
	if (fuzz_apps_start() != 0)
		fail("cannot start peer_lwip's applications");
	if (DpwProviderAttach(engine) != STATUS_SUCCESS || WskRegister(&cnpi, &reg) != 0 ||
	    WskCaptureProviderNPI(&reg, WSK_NO_WAIT, &npi) != STATUS_SUCCESS)
		fail("cannot attach the provider or register the client");
	for (int i = 0; i < NBUF; i++)
		if ((mdls[i] = DpwAllocateMdlForBuffer(bufs[i], BUF_LEN)) == NULL)
			fail("cannot allocate an MDL");
	for (int i = 0; i < NIRP + NSOCK; i++) {
		if ((irps[i].irp = IoAllocateIrp(1, FALSE)) == NULL)
			fail("cannot allocate an IRP");
		irp_reuse(&irps[i]);
	}
	poll_once();
	dpw_engine_get_stats(engine, &es);
	baseline_pcbs = es.tcp_pcbs_in_use;
	return 0;
}

static void close_all(void)
{
	for (int i = 0; i < 8; i++)
		poll_once();   /* sockets still being created get their handles */
	for (int s = 0; s < NSOCK; s++) {
		struct firp *f = &irps[NIRP + s];

		if (slots[s].state == SLOT_CREATING)
			fail("a WskSocket IRP still pending after polling");
		if (slots[s].state != SLOT_OPEN)
			continue;
		irp_reuse(f);
		irp_issue(f);
		irp_returned(f, ((const WSK_PROVIDER_BASIC_DISPATCH *)slots[s].disp)
				    ->WskCloseSocket(slots[s].sock, f->irp));
		slots[s].state = SLOT_EMPTY;
	}
	for (int i = 0; i < 8; i++)
		poll_once();
}

static void check_end(void)
{
	DPW_PROVIDER_STATS ps;
	struct dpw_engine_stats es;
	const char *left;
	char msg[160];

	for (int i = 0; i < NIRP + NSOCK; i++)
		if (irps[i].state == IRP_PENDING)
			fail("an IRP still pending after every socket was closed");
	DpwGetProviderStats(&ps);
	if (ps.SocketsOpen != 0)
		fail("sockets still open after every one was closed");
	if (ps.BadTransitions != 0)
		fail("a TCP socket left the provider's state machine");
	dpw_engine_get_stats(engine, &es);
	if (es.tcp_pcbs_in_use != baseline_pcbs + es.tcp_time_wait) {
		snprintf(msg, sizeof(msg), "%u TCP pcbs in use (%u in TIME_WAIT, %u listeners) "
			 "after every socket was closed", es.tcp_pcbs_in_use, es.tcp_time_wait,
			 baseline_pcbs);
		fail(msg);
	}
	fuzz_apps_reset(dpw_engine_netif(engine));
	poll_once();
	if ((left = fuzz_apps_leftover()) != NULL) {
		snprintf(msg, sizeof(msg), "after the reset lwIP still holds %s", left);
		fail(msg);
	}
	dpw_engine_get_stats(engine, &es);
	if (es.mbuf_in_use != es.mbuf_idle || rte_mempool_in_use_count(rx_pool) != 0) {
		snprintf(msg, sizeof(msg), "%u engine mbufs in use (%u at idle), %u RX mbufs",
			 es.mbuf_in_use, es.mbuf_idle, rte_mempool_in_use_count(rx_pool));
		fail(msg);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct input in = { data, size };

	clock_ms += 600000;   /* lwIP's cyclic timers meet every input at the same phase */
	for (int i = 0; i < NIRP + NSOCK; i++)
		irp_reuse(&irps[i]);
	memset(slots, 0, sizeof(slots));
	memset(stale, 0, sizeof(stale));
	poll_once();
	peer_arp();
	poll_once();
	while (in.n > 0)
		run_op(&in);
	close_all();
	check_end();
	return 0;
}
