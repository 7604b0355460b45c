/* HTTP/1.x request heads for dpwsk-httpd: where a head ends in a byte stream, the request line
 * and the few header fields a static file server acts on, and the request target turned into
 * a relative path that cannot leave the served directory.
 *
 * Pure functions over the caller's bytes: no I/O, no allocation, nothing kept between calls
 * but what the caller passes back in. That keeps them fast on the polling core and lets a
 * unit test drive them from a table (tests/unit/test_http_parse.c).
 *
 * Strict where leniency would be a hazard (RFC 9112): whitespace before a header's colon,
 * folded header lines, a bare CR, NUL and other control bytes, conflicting Content-Length,
 * Transfer-Encoding with Content-Length, a second Host, or an HTTP/1.1 request without Host
 * are all rejected with 400, because a proxy in front could read them differently and smuggle
 * a request past us. Lenient where RFC 9112 allows: bare LF line ends, empty lines before the
 * request line (the caller skips them with http_skip_empty_lines). */
#ifndef DPW_HTTP_PARSE_H
#define DPW_HTTP_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* More header lines than this in one request: 431. */
#define HTTP_MAX_HEADER_LINES 100

enum http_method {
	HTTP_METHOD_GET,
	HTTP_METHOD_HEAD,
	HTTP_METHOD_OTHER,   /* a well-formed method we do not serve: 405 */
};

struct http_request {
	enum http_method method;
	const char *target;          /* points into the caller's buffer, not NUL-terminated */
	size_t target_len;
	unsigned version_minor;      /* HTTP/1.<minor> (the major is always 1 when parsed) */
	bool keep_alive;             /* the version's default, then Connection: close/keep-alive */
	bool has_content_length;
	uint64_t content_length;     /* body bytes that follow the head (to be skipped) */
	bool transfer_encoding;      /* present: the body's framing is one we do not decode */
};

/* Leading CR and LF bytes of buf[0, len): empty lines a client may send between requests
 * (RFC 9112 2.2). The caller drops them before looking for a head. */
size_t http_skip_empty_lines(const char *buf, size_t len);

/* Length of the request head at the start of buf[0, len), through the empty line that ends it
 * (CRLF CRLF, or bare LF as RFC 9112 allows), or 0 if it is not all there yet. *scan is where
 * the search resumes: 0 for a new head, then left as this call set it, so that a head arriving
 * a few bytes at a time is searched once over, not again from the start on every arrival. */
size_t http_find_head_end(const char *buf, size_t len, size_t *scan);

/* Parse a complete head (head_len from http_find_head_end). Returns 0 and fills req, or the
 * status to answer with: 400 malformed, 431 too many header lines, 501 a Transfer-Encoding
 * (no request body framing but Content-Length is served), 505 an HTTP major version other
 * than 1. On error req holds what was parsed up to the fault (the method, for HEAD). */
int http_parse_request(const char *buf, size_t head_len, struct http_request *req);

/* Turn a request target into a path relative to the served directory: origin-form "/a/b?q"
 * or absolute-form "http://host/a/b"; the query and fragment are dropped, %XX escapes decoded,
 * empty and "." segments dropped. The result has no leading slash ("" for the root) and no
 * ".." segment: a ".." anywhere, as typed or %-encoded, is refused rather than resolved. Sets
 * *dir if the target ends in '/'. Returns 0, 400 (not a path target, a bad or NUL escape),
 * 403 (a ".." segment), or 414 (longer than out can hold). */
int http_target_to_path(const char *target, size_t len, char *out, size_t outlen, bool *dir);

#endif /* DPW_HTTP_PARSE_H */
