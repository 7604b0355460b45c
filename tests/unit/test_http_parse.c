/* dpwsk-httpd's request parser (apps/httpd/http_parse.c) from tables of good and bad input:
 * where a head ends (whole, and arriving one byte at a time), what a request line and its
 * header fields parse to or which status refuses them, and which targets become which
 * relative paths (".." refused however it is spelled). Also the response head's framing
 * fields (http_response.c). No network. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "http_parse.h"
#include "http_response.h"

/* ---- where a head ends --------------------------------------------------------------------- */

static const struct {
	const char *in;
	size_t end;    /* expected head length; 0: not complete */
} heads[] = {
	{ "GET / HTTP/1.1\r\nHost: a\r\n\r\n", 27 },
	{ "GET / HTTP/1.1\r\nHost: a\r\n\r\nGET /next", 27 },   /* pipelined: the first only */
	{ "GET / HTTP/1.0\n\n", 16 },                          /* bare LF */
	{ "GET / HTTP/1.0\r\n\n", 17 },                        /* mixed */
	{ "GET / HTTP/1.0\n\r\n", 17 },
	{ "GET / HTTP/1.1\r\nHost: a\r\n", 0 },
	{ "GET / HTTP/1.1\r\nHost: a\r\n\r", 0 },
	{ "GET / HTTP/1.1\r\n\r", 0 },
	{ "GET / HTTP/1.1", 0 },
	{ "", 0 },
};

static void test_head_end(void)
{
	for (size_t i = 0; i < sizeof(heads) / sizeof(heads[0]); i++) {
		const char *in = heads[i].in;
		size_t len = strlen(in), scan = 0, got = 0, end;

		end = http_find_head_end(in, len, &scan);
		if (end != heads[i].end)
			fprintf(stderr, "head #%zu: '%s'\n", i, in);
		CHECK_EQ_U(end, heads[i].end);
		/* The same bytes one at a time, resuming from scan: the same answer, found when the
		 * last byte of the head arrives. */
		scan = 0;
		for (size_t n = 1; n <= len && got == 0; n++) {
			got = http_find_head_end(in, n, &scan);
			CHECK(scan <= n);
			if (got != 0)
				CHECK_EQ_U(got, n);
		}
		CHECK_EQ_U(got, heads[i].end);
	}
	CHECK_EQ_U(http_skip_empty_lines("\r\n\r\nGET", 7), 4);
	CHECK_EQ_U(http_skip_empty_lines("\n\nGET", 5), 2);
	CHECK_EQ_U(http_skip_empty_lines("GET", 3), 0);
}

/* ---- requests -------------------------------------------------------------------------------- */

struct req_case {
	const char *name;
	const char *in;               /* a complete head */
	int status;                   /* 0: parsed */
	enum http_method method;
	const char *target;
	unsigned minor;
	bool keep_alive;
	long long content_length;     /* -1: none */
};

static const struct req_case reqs[] = {
	/* good */
	{ "get 1.1", "GET /index.html HTTP/1.1\r\nHost: x\r\n\r\n", 0, HTTP_METHOD_GET,
	  "/index.html", 1, true, -1 },
	{ "head 1.1", "HEAD / HTTP/1.1\r\nHost: x\r\n\r\n", 0, HTTP_METHOD_HEAD, "/", 1, true, -1 },
	{ "1.1 close", "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 0,
	  HTTP_METHOD_GET, "/", 1, false, -1 },
	{ "1.1 close in a list, any case", "GET / HTTP/1.1\r\nHost: x\r\nConnection: TE, CLOSE\r\n\r\n",
	  0, HTTP_METHOD_GET, "/", 1, false, -1 },
	{ "1.0 closes by default", "GET / HTTP/1.0\r\n\r\n", 0, HTTP_METHOD_GET, "/", 0, false, -1 },
	{ "1.0 keep-alive", "GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", 0, HTTP_METHOD_GET,
	  "/", 0, true, -1 },
	{ "1.0 keep-alive and close", "GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n", 0,
	  HTTP_METHOD_GET, "/", 0, false, -1 },
	{ "1.0 needs no Host", "GET /a HTTP/1.0\r\nUser-Agent: t\r\n\r\n", 0, HTTP_METHOD_GET, "/a",
	  0, false, -1 },
	{ "1.2 is 1.x", "GET / HTTP/1.2\r\nHost: x\r\n\r\n", 0, HTTP_METHOD_GET, "/", 2, true, -1 },
	{ "bare LF", "GET /lf HTTP/1.1\nHost: x\n\n", 0, HTTP_METHOD_GET, "/lf", 1, true, -1 },
	{ "header names any case, OWS", "GET / HTTP/1.1\r\nhOsT:x\r\nX-A:  \t v \t\r\n\r\n", 0,
	  HTTP_METHOD_GET, "/", 1, true, -1 },
	{ "empty header value", "GET / HTTP/1.1\r\nHost:\r\nX-Empty:\r\n\r\n", 0, HTTP_METHOD_GET,
	  "/", 1, true, -1 },
	{ "obs-text in a value", "GET / HTTP/1.1\r\nHost: x\r\nX: caf\xc3\xa9\r\n\r\n", 0,
	  HTTP_METHOD_GET, "/", 1, true, -1 },
	{ "content-length", "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 12\r\n\r\n", 0,
	  HTTP_METHOD_GET, "/", 1, true, 12 },
	{ "content-length repeated, equal",
	  "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\ncontent-length: 5\r\n\r\n", 0,
	  HTTP_METHOD_GET, "/", 1, true, 5 },
	{ "other method parses (405 later)", "POST /form HTTP/1.1\r\nHost: x\r\n\r\n", 0,
	  HTTP_METHOD_OTHER, "/form", 1, true, -1 },
	{ "lower-case get is another method", "get / HTTP/1.1\r\nHost: x\r\n\r\n", 0,
	  HTTP_METHOD_OTHER, "/", 1, true, -1 },
	{ "absolute-form target", "GET http://x/a?b=c HTTP/1.1\r\nHost: x\r\n\r\n", 0,
	  HTTP_METHOD_GET, "http://x/a?b=c", 1, true, -1 },

	/* bad */
	{ "no version (HTTP/0.9)", "GET /\r\n\r\n", 400, 0, NULL, 0, false, -1 },
	{ "two spaces", "GET  / HTTP/1.1\r\nHost: x\r\n\r\n", 400, 0, NULL, 0, false, -1 },
	{ "space in target", "GET /a b HTTP/1.1\r\nHost: x\r\n\r\n", 400, 0, NULL, 0, false, -1 },
	{ "lower-case version", "GET / http/1.1\r\nHost: x\r\n\r\n", 400, 0, NULL, 0, false, -1 },
	{ "version junk", "GET / HTTP/1.1x\r\nHost: x\r\n\r\n", 400, 0, NULL, 0, false, -1 },
	{ "HTTP/2.0", "GET / HTTP/2.0\r\nHost: x\r\n\r\n", 505, 0, NULL, 0, false, -1 },
	{ "HTTP/0.9 line with version", "GET / HTTP/0.9\r\n\r\n", 505, 0, NULL, 0, false, -1 },
	{ "empty method", " / HTTP/1.1\r\nHost: x\r\n\r\n", 400, 0, NULL, 0, false, -1 },
	{ "method with a separator", "GE(T / HTTP/1.1\r\nHost: x\r\n\r\n", 400, 0, NULL, 0, false,
	  -1 },
	{ "1.1 without Host", "GET / HTTP/1.1\r\nAccept: */*\r\n\r\n", 400, 0, NULL, 0, false, -1 },
	{ "two Hosts", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400, 0, NULL, 0, false, -1 },
	{ "space before colon", "GET / HTTP/1.1\r\nHost : x\r\n\r\n", 400, 0, NULL, 0, false, -1 },
	{ "no colon", "GET / HTTP/1.1\r\nHost: x\r\nBroken\r\n\r\n", 400, 0, NULL, 0, false, -1 },
	{ "empty field name", "GET / HTTP/1.1\r\nHost: x\r\n: v\r\n\r\n", 400, 0, NULL, 0, false,
	  -1 },
	{ "folded line", "GET / HTTP/1.1\r\nHost: x\r\nX: a\r\n b\r\n\r\n", 400, 0, NULL, 0, false,
	  -1 },
	{ "bare CR", "GET / HTTP/1.1\r\nHost: x\rY: z\r\n\r\n", 400, 0, NULL, 0, false, -1 },
	{ "control byte in a value", "GET / HTTP/1.1\r\nHost: x\r\nX: a\x01z\r\n\r\n", 400, 0, NULL,
	  0, false, -1 },
	{ "DEL in a value", "GET / HTTP/1.1\r\nHost: x\r\nX: a\x7fz\r\n\r\n", 400, 0, NULL, 0, false,
	  -1 },
	{ "content-length not a number",
	  "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 1x\r\n\r\n", 400, 0, NULL, 0, false, -1 },
	{ "content-length negative", "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n",
	  400, 0, NULL, 0, false, -1 },
	{ "content-length list", "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 5, 5\r\n\r\n", 400,
	  0, NULL, 0, false, -1 },
	{ "content-length huge",
	  "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999\r\n\r\n", 400, 0, NULL,
	  0, false, -1 },
	{ "content-length conflicting",
	  "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n", 400, 0,
	  NULL, 0, false, -1 },
	{ "transfer-encoding", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n",
	  501, 0, NULL, 0, false, -1 },
	{ "transfer-encoding with content-length",
	  "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n",
	  400, 0, NULL, 0, false, -1 },
};

static void test_requests(void)
{
	for (size_t i = 0; i < sizeof(reqs) / sizeof(reqs[0]); i++) {
		const struct req_case *c = &reqs[i];
		struct http_request r;
		size_t len = strlen(c->in), scan = 0;
		size_t end = http_find_head_end(c->in, len, &scan);
		int st;

		CHECK_EQ_U(end, len);   /* every case is one complete head */
		st = http_parse_request(c->in, end != 0 ? end : len, &r);
		if (st != c->status)
			fprintf(stderr, "request '%s': status %d, expected %d\n", c->name, st,
				c->status);
		CHECK_EQ_U(st, c->status);
		if (st != 0 || c->status != 0)
			continue;
		if (r.method != c->method || r.target_len != strlen(c->target) ||
		    memcmp(r.target, c->target, r.target_len) != 0 || r.version_minor != c->minor ||
		    r.keep_alive != c->keep_alive ||
		    r.has_content_length != (c->content_length >= 0) ||
		    (c->content_length >= 0 && r.content_length != (uint64_t)c->content_length)) {
			fprintf(stderr, "request '%s': method %d target '%.*s' minor %u keep %d "
				"cl %d/%llu\n", c->name, r.method, (int)r.target_len, r.target,
				r.version_minor, r.keep_alive, r.has_content_length,
				(unsigned long long)r.content_length);
			CHECK(!"request fields as expected");
		} else {
			CHECK(true);
		}
	}
}

/* Too many header lines: 431; the limit itself is fine. A NUL anywhere: 400. */
static void test_limits(void)
{
	char buf[8192];
	struct http_request r;
	size_t n;

	for (int extra = 0; extra <= 1; extra++) {
		n = (size_t)snprintf(buf, sizeof(buf), "GET / HTTP/1.1\r\nHost: x\r\n");
		for (int i = 1; i < HTTP_MAX_HEADER_LINES + extra; i++)
			n += (size_t)snprintf(buf + n, sizeof(buf) - n, "X-%d: v\r\n", i);
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "\r\n");
		CHECK_EQ_U(http_parse_request(buf, n, &r), extra ? 431 : 0);
	}
	memcpy(buf, "GET /\0 HTTP/1.1\r\nHost: x\r\n\r\n", 29);
	CHECK_EQ_U(http_parse_request(buf, 29, &r), 400);
	/* A head whose length does not end at the empty line. */
	CHECK_EQ_U(http_parse_request("GET / HTTP/1.1\r\nHost: x\r\n", 25, &r), 400);
}

/* ---- targets -------------------------------------------------------------------------------- */

static const struct {
	const char *target;
	int status;
	const char *path;
	bool dir;
} targets[] = {
	{ "/", 0, "", true },
	{ "/index.html", 0, "index.html", false },
	{ "/a/b/c.txt", 0, "a/b/c.txt", false },
	{ "/a/b/", 0, "a/b", true },
	{ "//a///b", 0, "a/b", false },
	{ "/./a/./b/.", 0, "a/b", false },
	{ "/a?x=/../../etc/passwd", 0, "a", false },   /* the query is not part of the path */
	{ "/a#frag", 0, "a", false },
	{ "/hello%20world", 0, "hello world", false },
	{ "/%7Euser/%41", 0, "~user/A", false },
	{ "/a%2Fb", 0, "a/b", false },
	{ "/..a/b..", 0, "..a/b..", false },           /* names with dots are names */
	{ "/.hidden", 0, ".hidden", false },
	{ "http://host:80/x/y", 0, "x/y", false },
	{ "HTTP://host", 0, "", true },
	{ "https://host/?q", 0, "", true },
	{ "/..", 403, NULL, false },
	{ "/../etc/passwd", 403, NULL, false },
	{ "/a/../b", 403, NULL, false },
	{ "/a/..", 403, NULL, false },
	{ "/%2e%2e/etc/passwd", 403, NULL, false },
	{ "/%2E%2e", 403, NULL, false },
	{ "/.%2e/x", 403, NULL, false },
	{ "/a/..%2Fb", 403, NULL, false },
	{ "/a%2F..%2Fb", 403, NULL, false },
	{ "http://host/../x", 403, NULL, false },
	{ "*", 400, NULL, false },
	{ "host:80", 400, NULL, false },
	{ "a/b", 400, NULL, false },
	{ "/%", 400, NULL, false },
	{ "/%4", 400, NULL, false },
	{ "/%zz", 400, NULL, false },
	{ "/a%00b", 400, NULL, false },
};

static void test_targets(void)
{
	char out[64], tiny[4];
	bool dir;

	for (size_t i = 0; i < sizeof(targets) / sizeof(targets[0]); i++) {
		const char *t = targets[i].target;
		int st = http_target_to_path(t, strlen(t), out, sizeof(out), &dir);

		if (st != targets[i].status ||
		    (st == 0 && (strcmp(out, targets[i].path) != 0 || dir != targets[i].dir)))
			fprintf(stderr, "target '%s': status %d path '%s' dir %d\n", t, st,
				st == 0 ? out : "", dir);
		CHECK_EQ_U(st, targets[i].status);
		if (st == 0 && targets[i].status == 0) {
			CHECK(strcmp(out, targets[i].path) == 0);
			CHECK(dir == targets[i].dir);
		}
	}
	CHECK_EQ_U(http_target_to_path("/abc", 4, tiny, sizeof(tiny), &dir), 0);
	CHECK(strcmp(tiny, "abc") == 0);
	CHECK_EQ_U(http_target_to_path("/abcd", 5, tiny, sizeof(tiny), &dir), 414);
	CHECK_EQ_U(http_target_to_path("/ab/c", 5, tiny, sizeof(tiny), &dir), 414);
}

/* ---- response heads ------------------------------------------------------------------------- */

static void test_response(void)
{
	char buf[512], body[64], date[30];
	size_t n;

	http_format_date(784111777, date);   /* RFC 9110's example instant */
	CHECK(strcmp(date, "Sun, 06 Nov 1994 08:49:37 GMT") == 0);
	n = http_format_head(buf, sizeof(buf), 200, date, "text/plain", 5368709120ull,
			     HTTP_CONN_NONE);
	CHECK(n > 0 && n == strlen(buf));
	CHECK(strncmp(buf, "HTTP/1.1 200 OK\r\n", 17) == 0);
	CHECK(strstr(buf, "\r\nContent-Length: 5368709120\r\n") != NULL);
	CHECK(strstr(buf, "\r\nContent-Type: text/plain\r\n") != NULL);
	CHECK(strstr(buf, "Connection") == NULL);
	CHECK(n >= 4 && strcmp(buf + n - 4, "\r\n\r\n") == 0);
	CHECK(strstr(buf, "\r\n\r\n") == buf + n - 4);   /* one empty line, at the end */

	n = http_format_head(buf, sizeof(buf), 405, date, NULL, 0, HTTP_CONN_CLOSE);
	CHECK(strncmp(buf, "HTTP/1.1 405 Method Not Allowed\r\n", 33) == 0);
	CHECK(strstr(buf, "\r\nAllow: GET, HEAD\r\n") != NULL);
	CHECK(strstr(buf, "\r\nConnection: close\r\n") != NULL);
	CHECK(strstr(buf, "Content-Type") == NULL);
	CHECK(strstr(buf, "\r\nContent-Length: 0\r\n") != NULL);

	n = http_format_head(buf, sizeof(buf), 200, date, NULL, 1, HTTP_CONN_KEEP_ALIVE);
	CHECK(strstr(buf, "\r\nConnection: keep-alive\r\n") != NULL);
	CHECK_EQ_U(http_format_head(buf, 20, 200, date, NULL, 1, HTTP_CONN_NONE), 0);

	n = http_format_error_body(body, sizeof(body), 431);
	CHECK(n == strlen("431 Request Header Fields Too Large\n") &&
	      strcmp(body, "431 Request Header Fields Too Large\n") == 0);
}

int main(void)
{
	test_head_end();
	test_requests();
	test_limits();
	test_targets();
	test_response();
	return check_report("http-parse");
}
