/* linux-server: the kernel-socket TCP server the connection benchmarks and the connclose tests
 * run against (in the peer namespace). One thread, epoll, non-blocking sockets: it accepts
 * every connection, discards or echoes what arrives, and closes on the peer's FIN or RST.
 * It counts what happened, so a test can check that every cycle a client reported reached it.
 *
 *   linux-server [--port P] [--mode discard|echo] [--backlog N] [--max-time SECONDS]
 *
 * It listens on [::]:P as a dual-stack socket (IPV6_V6ONLY off), so IPv4 and IPv6 clients
 * both reach it; where the kernel has no IPv6, on 0.0.0.0:P.
 *
 * Prints "linux-server: listening port=P mode=M family=dual|ipv4" once the socket listens (tests wait for that
 * line instead of sleeping), the counts on SIGUSR1, and the counts again on SIGTERM/SIGINT or
 * at --max-time (default 3600 s, so a forgotten server does not run forever), then exits 0:
 *   linux-server: accepted=N eof=N reset=N errors=N open=N bytes_in=N bytes_out=N
 *                 accept_failed=N
 * accept_failed counts accept() failing for reasons of the kernel's own (under a full accept
 * queue, say), apart from errors, which count what a connection did wrong. */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "signals.h"

struct conn {
	bool open;
	uint8_t *out;        /* echo bytes the socket did not take yet */
	size_t out_len, out_off;
};

static struct {
	uint64_t accepted, eof, reset, errors, open, bytes_in, bytes_out, accept_failed;
} cnt;

static struct conn *conns;   /* indexed by fd */
static size_t nconns;
static int ep;
static bool echo;

static void print_counts(void)
{
	printf("linux-server: accepted=%" PRIu64 " eof=%" PRIu64 " reset=%" PRIu64
	       " errors=%" PRIu64 " open=%" PRIu64 " bytes_in=%" PRIu64 " bytes_out=%" PRIu64
	       " accept_failed=%" PRIu64 "\n",
	       cnt.accepted, cnt.eof, cnt.reset, cnt.errors, cnt.open, cnt.bytes_in,
	       cnt.bytes_out, cnt.accept_failed);
	fflush(stdout);
}

static int usage_error(const char *what)
{
	fprintf(stderr, "linux-server: error: %s\n", what);
	return 2;
}

static bool parse_num(const char *s, unsigned long max, unsigned long *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (s[0] < '0' || s[0] > '9' || *end != '\0' || errno != 0 || v == 0 || v > max)
		return false;
	*out = v;
	return true;
}

static struct conn *conn_of(int fd)
{
	if ((size_t)fd >= nconns) {
		size_t n = nconns ? nconns : 1024;
		struct conn *c;

		while (n <= (size_t)fd)
			n *= 2;
		c = realloc(conns, n * sizeof(*c));
		if (c == NULL)
			return NULL;
		memset(c + nconns, 0, (n - nconns) * sizeof(*c));
		conns = c;
		nconns = n;
	}
	return &conns[fd];
}

static void conn_close(int fd)
{
	struct conn *c = &conns[fd];

	free(c->out);
	memset(c, 0, sizeof(*c));
	close(fd);   /* after a FIN: ours goes out; after a RST: nothing */
	cnt.open--;
}

static void accept_all(int lfd)
{
	for (;;) {
		int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct epoll_event ev = { .events = EPOLLIN };
		struct conn *c;

		if (fd < 0) {
			/* Reset while queued, on systems that report it here (Linux returns the
			 * socket, and the first recv says ECONNRESET). */
			if (errno == ECONNABORTED) {
				cnt.accepted++;
				cnt.reset++;
				continue;
			}
			if (errno != EAGAIN && errno != EINTR)
				cnt.accept_failed++;
			return;
		}
		cnt.accepted++;
		cnt.open++;
		c = conn_of(fd);
		ev.data.fd = fd;
		if (c == NULL || epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) != 0) {
			cnt.errors++;
			close(fd);
			cnt.open--;
			continue;
		}
		c->open = true;
	}
}

/* Send what is buffered; true when all of it went, false when the socket is full (wait for
 * EPOLLOUT) or failed (then the connection is closed and *closed set). */
static bool flush_out(int fd, struct conn *c, bool *closed)
{
	while (c->out_off < c->out_len) {
		ssize_t n = send(fd, c->out + c->out_off, c->out_len - c->out_off,
				 MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				return false;
			if (errno == ECONNRESET || errno == EPIPE)
				cnt.reset++;
			else
				cnt.errors++;
			conn_close(fd);
			*closed = true;
			return false;
		}
		c->out_off += (size_t)n;
		cnt.bytes_out += (uint64_t)n;
	}
	free(c->out);
	c->out = NULL;
	c->out_len = c->out_off = 0;
	return true;
}

static void on_readable(int fd, struct conn *c)
{
	static uint8_t buf[65536];
	ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
	bool closed = false;

	if (n == 0) {
		cnt.eof++;
		conn_close(fd);
		return;
	}
	if (n < 0) {
		if (errno == EAGAIN || errno == EINTR)
			return;
		if (errno == ECONNRESET)
			cnt.reset++;
		else
			cnt.errors++;
		conn_close(fd);
		return;
	}
	cnt.bytes_in += (uint64_t)n;
	if (!echo)
		return;
	c->out = malloc((size_t)n);
	if (c->out == NULL) {
		cnt.errors++;
		conn_close(fd);
		return;
	}
	memcpy(c->out, buf, (size_t)n);
	c->out_len = (size_t)n;
	c->out_off = 0;
	if (!flush_out(fd, c, &closed) && !closed) {
		/* The peer reads slowly: stop reading until the echo is out. */
		struct epoll_event ev = { .events = EPOLLOUT, .data.fd = fd };

		if (epoll_ctl(ep, EPOLL_CTL_MOD, fd, &ev) != 0) {
			cnt.errors++;
			conn_close(fd);
		}
	}
}

static void on_writable(int fd, struct conn *c)
{
	bool closed = false;

	/* Still full: wait for the next EPOLLOUT. Failed: flush_out closed it. */
	if (flush_out(fd, c, &closed)) {
		struct epoll_event ev = { .events = EPOLLIN, .data.fd = fd };

		if (epoll_ctl(ep, EPOLL_CTL_MOD, fd, &ev) != 0) {
			cnt.errors++;
			conn_close(fd);
		}
	}
}

/* A listening socket on port: dual-stack [::] if the kernel has IPv6, else 0.0.0.0. -1 with
 * errno set on failure. */
static int open_listener(unsigned long port, unsigned long backlog, bool *dual)
{
	struct sockaddr_in6 s6 = { .sin6_family = AF_INET6, .sin6_port = htons((uint16_t)port) };
	struct sockaddr_in s4 = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	int fd, one = 1, off = 0, e;

	*dual = true;
	fd = socket(AF_INET6, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 && errno == EAFNOSUPPORT) {
		*dual = false;
		fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	}
	if (fd < 0)
		return -1;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
	    (*dual && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off)) != 0) ||
	    (*dual ? bind(fd, (struct sockaddr *)&s6, sizeof(s6)) :
		     bind(fd, (struct sockaddr *)&s4, sizeof(s4))) != 0 ||
	    listen(fd, (int)backlog) != 0) {
		e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

int main(int argc, char **argv)
{
	unsigned long port = 5000, backlog = 4096, max_time = 3600, v;
	bool dual;
	struct epoll_event evs[256];
	struct rlimit rl;
	struct timespec t0, t;
	int lfd;

	/* Each option takes a value: two arguments a step. */
	for (int i = 1; i < argc; i += 2) {
		const char *a = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;

		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			printf("usage: linux-server [--port P] [--mode discard|echo] [--backlog N] "
			       "[--max-time SECONDS]\n");
			return 0;
		}
		if (val == NULL)
			return usage_error(strncmp(a, "--", 2) == 0 ? "an option needs a value" :
					   "unexpected argument (see --help)");
		if (strcmp(a, "--port") == 0 && parse_num(val, 65535, &v))
			port = v;
		else if (strcmp(a, "--backlog") == 0 && parse_num(val, 1u << 20, &v))
			backlog = v;
		else if (strcmp(a, "--max-time") == 0 && parse_num(val, 86400, &v))
			max_time = v;
		else if (strcmp(a, "--mode") == 0 && strcmp(val, "echo") == 0)
			echo = true;
		else if (strcmp(a, "--mode") == 0 && strcmp(val, "discard") == 0)
			echo = false;
		else
			return usage_error("bad option or value (see --help)");
	}

	/* One descriptor per connection: take what the hard limit allows. */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	dpw_signals_install();
	signal(SIGPIPE, SIG_IGN);

	lfd = open_listener(port, backlog, &dual);
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (lfd < 0 || ep < 0) {
		fprintf(stderr, "linux-server: error: cannot listen on port %lu: %s\n", port,
			strerror(errno));
		return 1;
	}
	{
		struct epoll_event ev = { .events = EPOLLIN, .data.fd = lfd };

		if (epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev) != 0) {
			fprintf(stderr, "linux-server: error: epoll: %s\n", strerror(errno));
			return 1;
		}
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("linux-server: listening port=%lu mode=%s family=%s\n", port,
	       echo ? "echo" : "discard", dual ? "dual" : "ipv4");
	fflush(stdout);

	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (!dpw_signals_stopping()) {
		int n = epoll_wait(ep, evs, 256, 200);

		if (dpw_signals_take_stats()) {
			print_counts();
		}
		clock_gettime(CLOCK_MONOTONIC, &t);
		if ((unsigned long)(t.tv_sec - t0.tv_sec) >= max_time) {
			fprintf(stderr, "linux-server: --max-time %lu s reached\n", max_time);
			break;
		}
		for (int i = 0; i < n; i++) {
			int fd = evs[i].data.fd;
			struct conn *c;

			if (fd == lfd) {
				accept_all(lfd);
				continue;
			}
			c = &conns[fd];
			if (!c->open)
				continue;   /* closed earlier in this batch */
			if (c->out != NULL)
				on_writable(fd, c);
			else
				on_readable(fd, c);
		}
	}
	print_counts();
	for (size_t fd = 0; fd < nconns; fd++)
		if (conns[fd].open)
			conn_close((int)fd);
	free(conns);
	close(lfd);
	close(ep);
	return 0;
}
