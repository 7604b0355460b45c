/* Security descriptors, userspace meaning (WSK-F2, W5, C7; wsk_options.h): WSK_CACHE_SD and
 * WSK_RELEASE_SD through WskControlClient, descriptors applied by WskSocket and SO_WSK_SECURITY,
 * two registered clients sharing a port where Microsoft's table asks the first socket's
 * descriptor and it admits the second's client (and not otherwise), the descriptor staying cached after its socket closes until
 * WSK_RELEASE_SD, and WskDeregister reporting descriptors a client never released. */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harness.h"

static NTSTATUS cache_sd(const WSK_PROVIDER_NPI *npi, const PWSK_CLIENT *clients, ULONG n,
			 ULONG flags, PSECURITY_DESCRIPTOR *out)
{
	DPW_SECURITY_DESCRIPTOR d = { DPW_SECURITY_DESCRIPTOR_REVISION, flags, n, clients };
	PSECURITY_DESCRIPTOR in = &d;
	SIZE_T used = 0;
	NTSTATUS st;

	*out = NULL;
	st = npi->Dispatch->WskControlClient(npi->Client, WSK_CACHE_SD, sizeof(in), &in,
					     sizeof(*out), out, &used, NULL);
	if (st == STATUS_SUCCESS)
		H_CHECK(used == sizeof(PSECURITY_DESCRIPTOR));
	return st;
}

static NTSTATUS release_sd(const WSK_PROVIDER_NPI *npi, PSECURITY_DESCRIPTOR sd)
{
	return npi->Dispatch->WskControlClient(npi->Client, WSK_RELEASE_SD, sizeof(sd), &sd, 0,
					       NULL, NULL, NULL);
}

static NTSTATUS ctl(PWSK_SOCKET s, WSK_CONTROL_SOCKET_TYPE type, ULONG code, void *in,
		    size_t in_len, void *out, size_t out_len)
{
	struct h_irp *h = h_irp_new();

	return h_irp_done(h, DpwBasicDispatch(s)->WskControlSocket(s, type, code, WSK_SOL_SOCKET,
								   in_len, in, out_len, out, NULL,
								   h->irp), NULL);
}

static NTSTATUS set_sd(PWSK_SOCKET s, PSECURITY_DESCRIPTOR sd)
{
	return ctl(s, WskSetOption, SO_WSK_SECURITY, &sd, sizeof(sd), NULL, 0);
}

static NTSTATUS set_ulong(PWSK_SOCKET s, ULONG code, ULONG v)
{
	return ctl(s, WskSetOption, code, &v, sizeof(v), NULL, 0);
}

/* WskSocket with a SecurityDescriptor, for the thread's current client (h_use_client). */
static NTSTATUS socket_sd(ULONG category, PSECURITY_DESCRIPTOR sd, PWSK_SOCKET *out)
{
	const WSK_PROVIDER_NPI *npi = h_client_npi();
	struct h_irp *h = h_irp_new();
	bool dg = category == WSK_FLAG_DATAGRAM_SOCKET;
	ULONG_PTR info;
	NTSTATUS st;

	st = h_irp_done(h, npi->Dispatch->WskSocket(npi->Client, AF_INET, dg ? SOCK_DGRAM : SOCK_STREAM,
						  dg ? IPPROTO_UDP : IPPROTO_TCP, category, NULL,
						  NULL, NULL, NULL, sd, h->irp),
		      &info);
	*out = st == STATUS_SUCCESS ? (PWSK_SOCKET)info : NULL;
	return st;
}

static PWSK_SOCKET sock(ULONG category)
{
	PWSK_SOCKET s = NULL;

	H_CHECK_STATUS(h_socket(category, NULL, NULL, &s), STATUS_SUCCESS);
	return s;
}

static DPW_SECURITY_STATS sstats(void)
{
	DPW_SECURITY_STATS s;

	DpwGetSecurityStats(&s);
	return s;
}

static SIZE_T backlog(PWSK_SOCKET s)
{
	SIZE_T v = 0;

	if (ctl(s, WskIoctl, SIO_WSK_QUERY_RECEIVE_BACKLOG, NULL, 0, &v, sizeof(v)) !=
	    STATUS_SUCCESS)
		return (SIZE_T)-1;
	return v;
}

static ULONGLONG received_target;

int main(int argc, char **argv)
{
	struct h_client B, C;
	const WSK_PROVIDER_NPI *A;
	PWSK_CLIENT both[2], only_a[1], only_b[1];
	PSECURITY_DESCRIPTOR sd_a, sd_b, sd_a_only, sd_b_only, sd_any, sd, got;
	PWSK_SOCKET a1, a2, a3, b1, b2, b3, x, y, z;
	DPW_SECURITY_STATS s0, s1, s2;
	NTSTATUS st;
	SIZE_T n;

	h_start(argc, argv);
	A = &h_npi;
	H_CHECK_STATUS(h_client_open(&B, MAKE_WSK_VERSION(1, 0)), STATUS_SUCCESS);
	both[0] = A->Client;
	both[1] = B.npi.Client;
	only_a[0] = A->Client;
	only_b[0] = B.npi.Client;
	s0 = sstats();

	h_test("WSK_CACHE_SD argument checks: STATUS_INVALID_PARAMETER, nothing cached (C7)");
	{
		DPW_SECURITY_DESCRIPTOR bad = { 99, 0, 1, only_a };
		PSECURITY_DESCRIPTOR in = &bad, nul = NULL;

		H_CHECK_STATUS(A->Dispatch->WskControlClient(A->Client, WSK_CACHE_SD, sizeof(in),
							     &in, sizeof(sd), &sd, NULL, NULL),
			       STATUS_INVALID_PARAMETER);   /* revision */
		bad.Revision = DPW_SECURITY_DESCRIPTOR_REVISION;
		bad.Flags = 0x80;
		H_CHECK_STATUS(A->Dispatch->WskControlClient(A->Client, WSK_CACHE_SD, sizeof(in),
							     &in, sizeof(sd), &sd, NULL, NULL),
			       STATUS_INVALID_PARAMETER);   /* unknown flag */
		bad.Flags = 0;
		bad.Clients = NULL;
		H_CHECK_STATUS(A->Dispatch->WskControlClient(A->Client, WSK_CACHE_SD, sizeof(in),
							     &in, sizeof(sd), &sd, NULL, NULL),
			       STATUS_INVALID_PARAMETER);   /* clients missing */
		bad.Clients = only_a;
		bad.ClientCount = DPW_SD_MAX_CLIENTS + 1;
		H_CHECK_STATUS(A->Dispatch->WskControlClient(A->Client, WSK_CACHE_SD, sizeof(in),
							     &in, sizeof(sd), &sd, NULL, NULL),
			       STATUS_INVALID_PARAMETER);   /* too many */
		bad.ClientCount = 1;
		H_CHECK_STATUS(A->Dispatch->WskControlClient(A->Client, WSK_CACHE_SD, sizeof(nul),
							     &nul, sizeof(sd), &sd, NULL, NULL),
			       STATUS_INVALID_PARAMETER);   /* no descriptor */
		H_CHECK_STATUS(A->Dispatch->WskControlClient(A->Client, WSK_CACHE_SD, 1, &in,
							     sizeof(sd), &sd, NULL, NULL),
			       STATUS_INVALID_PARAMETER);   /* InputSize */
		H_CHECK_STATUS(A->Dispatch->WskControlClient(A->Client, WSK_CACHE_SD, sizeof(in),
							     &in, 0, NULL, NULL, NULL),
			       STATUS_INVALID_PARAMETER);   /* nowhere to put the handle */
		s1 = sstats();
		H_CHECK(s1.Descriptors == s0.Descriptors && s1.CachedHandles == s0.CachedHandles);
	}

	h_test("WSK_CACHE_SD: a handle that reads as the cached copy; WSK_RELEASE_SD frees it, "
	       "once (C7)");
	{
		PWSK_CLIENT tmp[2] = { A->Client, B.npi.Client };
		const DPW_SECURITY_DESCRIPTOR *copy;

		H_CHECK_STATUS(cache_sd(A, tmp, 2, 0, &sd), STATUS_SUCCESS);
		tmp[0] = tmp[1] = NULL;   /* the caller's array may go away: it was copied */
		copy = sd;
		H_CHECK(copy != NULL && copy->Revision == DPW_SECURITY_DESCRIPTOR_REVISION &&
			copy->ClientCount == 2 && copy->Clients[0] == A->Client &&
			copy->Clients[1] == B.npi.Client);
		s1 = sstats();
		H_CHECK(s1.Descriptors == s0.Descriptors + 1 && s1.CachedHandles == s0.CachedHandles + 1);
		H_CHECK_STATUS(release_sd(&B.npi, sd), STATUS_INVALID_PARAMETER);   /* not B's */
		H_CHECK_STATUS(release_sd(A, sd), STATUS_SUCCESS);
		H_CHECK_STATUS(release_sd(A, sd), STATUS_INVALID_PARAMETER);        /* once */
		H_CHECK_STATUS(release_sd(A, (PSECURITY_DESCRIPTOR)&tmp), STATUS_INVALID_PARAMETER);
		s1 = sstats();
		H_CHECK(s1.Descriptors == s0.Descriptors && s1.CachedHandles == s0.CachedHandles);
	}

	H_CHECK_STATUS(cache_sd(A, both, 2, 0, &sd_a), STATUS_SUCCESS);
	H_CHECK_STATUS(cache_sd(A, only_a, 1, 0, &sd_a_only), STATUS_SUCCESS);
	H_CHECK_STATUS(cache_sd(A, NULL, 0, DPW_SD_SHARE_ANY_CLIENT, &sd_any), STATUS_SUCCESS);
	H_CHECK_STATUS(cache_sd(&B.npi, both, 2, 0, &sd_b), STATUS_SUCCESS);
	H_CHECK_STATUS(cache_sd(&B.npi, only_b, 1, 0, &sd_b_only), STATUS_SUCCESS);

	h_test("two clients share a port when the first, on the wildcard address, carries a "
	       "descriptor admitting the second's client, which binds the specific address "
	       "(WSK-F2, W5: the table's CHECK)");
	a1 = sock(WSK_FLAG_DATAGRAM_SOCKET);
	H_CHECK_STATUS(set_sd(a1, sd_a), STATUS_SUCCESS);          /* by SO_WSK_SECURITY */
	H_CHECK_STATUS(h_bind(a1, 0, 6200), STATUS_SUCCESS);
	h_use_client(&B.npi);
	H_CHECK_STATUS(socket_sd(WSK_FLAG_DATAGRAM_SOCKET, sd_b, &b1), STATUS_SUCCESS);   /* WskSocket */
	H_CHECK_STATUS(h_bind(b1, h_ip_stack, 6200), STATUS_SUCCESS);
	h_use_client(NULL);
	{
		int fd = peer_socket(SOCK_DGRAM);
		struct sockaddr_in to = { .sin_family = PF_INET, .sin_port = htons(6200) };
		DPW_DATAGRAM_STATS d0;

		to.sin_addr.s_addr = h_ip_stack;
		DpwGetDatagramStats(&d0);
		received_target = d0.Received + 1;
		H_CHECK(sendto(fd, "both", 4, 0, (struct sockaddr *)&to, sizeof(to)) == 4);
		H_CHECK(h_pump_until(h_datagrams_received, &received_target, 5000));
		n = backlog(a1);
		h_use_client(&B.npi);   /* b1's IRPs complete on B's ring */
		n += backlog(b1);
		h_use_client(NULL);
		H_CHECK(n == 4);   /* one of the two got it */
		close(fd);
	}

	h_test("the very address another socket holds: STATUS_ADDRESS_ALREADY_ASSOCIATED, "
	       "whatever the descriptors (W5)");
	x = sock(WSK_FLAG_DATAGRAM_SOCKET);
	H_CHECK_STATUS(set_sd(x, sd_a), STATUS_SUCCESS);
	H_CHECK_STATUS(h_bind(x, h_ip_stack, 6200), STATUS_ADDRESS_ALREADY_ASSOCIATED);
	H_CHECK_STATUS(h_bind(x, 0, 6200), STATUS_ADDRESS_ALREADY_ASSOCIATED);
	H_CHECK_STATUS(h_close(x), STATUS_SUCCESS);
	a2 = sock(WSK_FLAG_DATAGRAM_SOCKET);
	H_CHECK_STATUS(set_sd(a2, sd_a), STATUS_SUCCESS);
	H_CHECK_STATUS(h_bind(a2, h_ip_stack, 6201), STATUS_SUCCESS);
	h_use_client(&B.npi);
	H_CHECK_STATUS(socket_sd(WSK_FLAG_DATAGRAM_SOCKET, sd_b, &b2), STATUS_SUCCESS);
	H_CHECK_STATUS(h_bind(b2, h_ip_stack, 6201), STATUS_ADDRESS_ALREADY_ASSOCIATED);
	H_CHECK_STATUS(h_close(b2), STATUS_SUCCESS);
	h_use_client(NULL);

	h_test("the first socket's descriptor decides: one admitting only its own client, or "
	       "none at all, denies the other (STATUS_ACCESS_DENIED, W5)");
	a3 = sock(WSK_FLAG_DATAGRAM_SOCKET);
	H_CHECK_STATUS(set_sd(a3, sd_a_only), STATUS_SUCCESS);
	H_CHECK_STATUS(h_bind(a3, 0, 6202), STATUS_SUCCESS);
	y = sock(WSK_FLAG_DATAGRAM_SOCKET);
	H_CHECK_STATUS(h_bind(y, 0, 6206), STATUS_SUCCESS);   /* no descriptor */
	h_use_client(&B.npi);
	H_CHECK_STATUS(socket_sd(WSK_FLAG_DATAGRAM_SOCKET, sd_b, &b3), STATUS_SUCCESS);
	H_CHECK_STATUS(h_bind(b3, h_ip_stack, 6202), STATUS_ACCESS_DENIED);
	H_CHECK_STATUS(h_bind(b3, h_ip_stack, 6206), STATUS_ACCESS_DENIED);
	H_CHECK_STATUS(h_close(b3), STATUS_SUCCESS);
	h_use_client(NULL);
	/* its own client is admitted */
	x = sock(WSK_FLAG_DATAGRAM_SOCKET);
	H_CHECK_STATUS(h_bind(x, h_ip_stack, 6202), STATUS_SUCCESS);
	H_CHECK_STATUS(h_close(x), STATUS_SUCCESS);
	H_CHECK_STATUS(h_close(y), STATUS_SUCCESS);

	h_test("SO_EXCLUSIVEADDRUSE on the first socket wins over a descriptor that admits the "
	       "client (W5)");
	x = sock(WSK_FLAG_DATAGRAM_SOCKET);
	H_CHECK_STATUS(set_sd(x, sd_a), STATUS_SUCCESS);
	H_CHECK_STATUS(set_ulong(x, (ULONG)WSK_SO_EXCLUSIVEADDRUSE, 1), STATUS_SUCCESS);
	H_CHECK_STATUS(h_bind(x, 0, 6207), STATUS_SUCCESS);
	h_use_client(&B.npi);
	H_CHECK_STATUS(socket_sd(WSK_FLAG_DATAGRAM_SOCKET, sd_b, &b3), STATUS_SUCCESS);
	H_CHECK_STATUS(h_bind(b3, h_ip_stack, 6207), STATUS_ACCESS_DENIED);
	H_CHECK_STATUS(h_close(b3), STATUS_SUCCESS);
	h_use_client(NULL);
	H_CHECK_STATUS(h_close(x), STATUS_SUCCESS);

	h_test("DPW_SD_SHARE_ANY_CLIENT: sockets of the same client share (F2)");
	x = sock(WSK_FLAG_DATAGRAM_SOCKET);
	y = sock(WSK_FLAG_DATAGRAM_SOCKET);
	H_CHECK_STATUS(set_sd(x, sd_any), STATUS_SUCCESS);
	H_CHECK_STATUS(set_sd(y, sd_any), STATUS_SUCCESS);
	H_CHECK_STATUS(h_bind(x, 0, 6203), STATUS_SUCCESS);
	H_CHECK_STATUS(h_bind(y, h_ip_stack, 6203), STATUS_SUCCESS);
	H_CHECK_STATUS(h_close(x), STATUS_SUCCESS);
	H_CHECK_STATUS(h_close(y), STATUS_SUCCESS);

	h_test("TCP sockets of two clients share a port by descriptors too (F2, W5)");
	x = sock(WSK_FLAG_CONNECTION_SOCKET);
	H_CHECK_STATUS(set_sd(x, sd_a_only), STATUS_SUCCESS);
	H_CHECK_STATUS(h_bind(x, 0, 6204), STATUS_SUCCESS);
	h_use_client(&B.npi);
	H_CHECK_STATUS(socket_sd(WSK_FLAG_CONNECTION_SOCKET, sd_b, &y), STATUS_SUCCESS);
	H_CHECK_STATUS(h_bind(y, h_ip_stack, 6204), STATUS_ACCESS_DENIED);
	H_CHECK_STATUS(h_close(y), STATUS_SUCCESS);
	h_use_client(NULL);
	H_CHECK_STATUS(h_close(x), STATUS_SUCCESS);
	x = sock(WSK_FLAG_CONNECTION_SOCKET);
	H_CHECK_STATUS(set_sd(x, sd_a), STATUS_SUCCESS);
	H_CHECK_STATUS(h_bind(x, 0, 6204), STATUS_SUCCESS);
	h_use_client(&B.npi);
	H_CHECK_STATUS(socket_sd(WSK_FLAG_CONNECTION_SOCKET, sd_b_only, &y), STATUS_SUCCESS);
	H_CHECK_STATUS(h_bind(y, h_ip_stack, 6204), STATUS_SUCCESS);
	H_CHECK_STATUS(h_close(y), STATUS_SUCCESS);
	h_use_client(NULL);
	H_CHECK_STATUS(h_close(x), STATUS_SUCCESS);

	h_test("SO_WSK_SECURITY: after bind STATUS_INVALID_DEVICE_STATE; another client's or an "
	       "unknown handle STATUS_INVALID_PARAMETER (F9)");
	H_CHECK_STATUS(set_sd(a1, sd_a_only), STATUS_INVALID_DEVICE_STATE);
	x = sock(WSK_FLAG_DATAGRAM_SOCKET);
	H_CHECK_STATUS(set_sd(x, sd_b), STATUS_INVALID_PARAMETER);
	H_CHECK_STATUS(set_sd(x, (PSECURITY_DESCRIPTOR)&st), STATUS_INVALID_PARAMETER);
	H_CHECK_STATUS(ctl(x, WskSetOption, SO_WSK_SECURITY, NULL, 0, NULL, 0),
		       STATUS_INVALID_PARAMETER);
	H_CHECK_STATUS(h_close(x), STATUS_SUCCESS);

	h_test("WskSocket with a handle that is not the client's: STATUS_INVALID_PARAMETER, no "
	       "socket made");
	{
		ULONG open = h_sockets_open();

		H_CHECK_STATUS(socket_sd(WSK_FLAG_DATAGRAM_SOCKET, sd_b, &x),
			       STATUS_INVALID_PARAMETER);
		H_CHECK(x == NULL);
		H_CHECK(h_wait_sockets_open(open, 5000));
	}

	h_test("WskGetOption(SO_WSK_SECURITY): another cached handle, released with "
	       "WSK_RELEASE_SD (C7)");
	s1 = sstats();
	got = NULL;
	H_CHECK_STATUS(ctl(a1, WskGetOption, SO_WSK_SECURITY, NULL, 0, &got, sizeof(got)),
		       STATUS_SUCCESS);
	H_CHECK(got == sd_a);
	H_CHECK(sstats().CachedHandles == s1.CachedHandles + 1);
	H_CHECK_STATUS(release_sd(A, got), STATUS_SUCCESS);
	H_CHECK(sstats().CachedHandles == s1.CachedHandles);
	x = sock(WSK_FLAG_DATAGRAM_SOCKET);
	got = &got;
	H_CHECK_STATUS(ctl(x, WskGetOption, SO_WSK_SECURITY, NULL, 0, &got, sizeof(got)),
		       STATUS_SUCCESS);
	H_CHECK(got == NULL);   /* none applied: the default, shared with nobody */
	H_CHECK_STATUS(h_close(x), STATUS_SUCCESS);

	h_test("a descriptor applied to a socket stays cached after the socket closes (WSK-C7)");
	H_CHECK_STATUS(cache_sd(A, only_a, 1, 0, &sd), STATUS_SUCCESS);
	s1 = sstats();
	x = sock(WSK_FLAG_DATAGRAM_SOCKET);
	H_CHECK_STATUS(set_sd(x, sd), STATUS_SUCCESS);
	H_CHECK_STATUS(h_bind(x, h_ip_stack, 6205), STATUS_SUCCESS);
	H_CHECK_STATUS(h_close(x), STATUS_SUCCESS);
	H_CHECK(sstats().Descriptors == s1.Descriptors && sstats().CachedHandles == s1.CachedHandles);
	y = sock(WSK_FLAG_DATAGRAM_SOCKET);
	H_CHECK_STATUS(set_sd(y, sd), STATUS_SUCCESS);   /* still a valid cached handle */
	H_CHECK_STATUS(h_bind(y, 0, 6205), STATUS_SUCCESS);

	h_test("WSK_RELEASE_SD ends the cache; a socket carrying it keeps it until it closes (C7)");
	H_CHECK_STATUS(release_sd(A, sd), STATUS_SUCCESS);
	H_CHECK(sstats().CachedHandles == s1.CachedHandles - 1);
	H_CHECK(sstats().Descriptors == s1.Descriptors);   /* y still holds it */
	z = sock(WSK_FLAG_DATAGRAM_SOCKET);
	H_CHECK_STATUS(set_sd(z, sd), STATUS_INVALID_PARAMETER);   /* the handle is gone */
	H_CHECK_STATUS(set_sd(z, sd_a_only), STATUS_SUCCESS);
	H_CHECK_STATUS(h_bind(z, h_ip_stack, 6205), STATUS_SUCCESS);   /* y's still in force */
	H_CHECK_STATUS(h_close(z), STATUS_SUCCESS);
	H_CHECK_STATUS(h_close(y), STATUS_SUCCESS);
	H_CHECK(sstats().Descriptors == s1.Descriptors - 1);

	h_test("WskDeregister reports descriptors its client never released, and releases them "
	       "(C7)");
	H_CHECK_STATUS(h_client_open(&C, MAKE_WSK_VERSION(1, 0)), STATUS_SUCCESS);
	s1 = sstats();
	H_CHECK_STATUS(cache_sd(&C.npi, both, 2, 0, &sd), STATUS_SUCCESS);
	H_CHECK_STATUS(cache_sd(&C.npi, NULL, 0, DPW_SD_SHARE_ANY_CLIENT, &sd), STATUS_SUCCESS);
	h_use_client(&C.npi);
	x = sock(WSK_FLAG_DATAGRAM_SOCKET);
	H_CHECK_STATUS(set_sd(x, sd), STATUS_SUCCESS);
	H_CHECK_STATUS(h_close(x), STATUS_SUCCESS);
	h_use_client(NULL);
	s2 = sstats();
	H_CHECK(s2.Descriptors == s1.Descriptors + 2 && s2.CachedHandles == s1.CachedHandles + 2);
	h_client_close(&C);   /* prints the report on stderr */
	s2 = sstats();
	H_CHECK(s2.ReportedAtDeregister == s1.ReportedAtDeregister + 2);
	H_CHECK(s2.Descriptors == s1.Descriptors && s2.CachedHandles == s1.CachedHandles);

	h_test("everything released: no descriptor left (C7, C8)");
	H_CHECK_STATUS(h_close(a1), STATUS_SUCCESS);
	H_CHECK_STATUS(h_close(a2), STATUS_SUCCESS);
	H_CHECK_STATUS(h_close(a3), STATUS_SUCCESS);
	h_use_client(&B.npi);
	H_CHECK_STATUS(h_close(b1), STATUS_SUCCESS);
	h_use_client(NULL);
	H_CHECK_STATUS(release_sd(A, sd_a), STATUS_SUCCESS);
	H_CHECK_STATUS(release_sd(A, sd_a_only), STATUS_SUCCESS);
	H_CHECK_STATUS(release_sd(A, sd_any), STATUS_SUCCESS);
	H_CHECK_STATUS(release_sd(&B.npi, sd_b), STATUS_SUCCESS);
	H_CHECK_STATUS(release_sd(&B.npi, sd_b_only), STATUS_SUCCESS);
	s1 = sstats();
	H_CHECK(s1.Descriptors == 0 && s1.CachedHandles == 0);
	h_client_close(&B);
	H_CHECK(sstats().ReportedAtDeregister == s2.ReportedAtDeregister);   /* B owed none */

	return h_finish();
}
