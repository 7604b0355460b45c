/* HTTP/1.x request heads: finding, parsing, and the target as a safe path (see http_parse.h). */
#include <string.h>

#include "http_parse.h"

/* ---- character classes (RFC 9110 5.6.2, 5.5) --------------------------------------------- */

static bool is_tchar(unsigned char ch)
{
	if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9'))
		return true;
	return ch != '\0' && strchr("!#$%&'*+-.^_`|~", ch) != NULL;
}

/* A byte allowed in a field value: visible ASCII, space, tab, and obs-text (0x80-0xff). */
static bool is_field_vchar(unsigned char ch)
{
	return ch == '\t' || (ch >= 0x20 && ch != 0x7f);
}

static bool is_ows(unsigned char ch)
{
	return ch == ' ' || ch == '\t';
}

static char lower(char ch)
{
	return ch >= 'A' && ch <= 'Z' ? (char)(ch - 'A' + 'a') : ch;
}

/* s[0, n) equals the lower-case word w, ignoring case. */
static bool ieq(const char *s, size_t n, const char *w)
{
	size_t i;

	for (i = 0; i < n && w[i] != '\0'; i++)
		if (lower(s[i]) != w[i])
			return false;
	return i == n && w[i] == '\0';
}

/* ---- finding the head ----------------------------------------------------------------------- */

size_t http_skip_empty_lines(const char *buf, size_t len)
{
	size_t i = 0;

	while (i < len && (buf[i] == '\r' || buf[i] == '\n'))
		i++;
	return i;
}

size_t http_find_head_end(const char *buf, size_t len, size_t *scan)
{
	size_t i = *scan;

	while (i < len) {
		const char *nl = memchr(buf + i, '\n', len - i);

		if (nl == NULL) {
			*scan = len;
			return 0;
		}
		i = (size_t)(nl - buf);
		/* An empty line follows this LF: "\n\n" or "\n\r\n". */
		if (i + 1 >= len || (buf[i + 1] == '\r' && i + 2 >= len)) {
			*scan = i;   /* not decidable yet: look at this LF again */
			return 0;
		}
		if (buf[i + 1] == '\n')
			return i + 2;
		if (buf[i + 1] == '\r' && buf[i + 2] == '\n')
			return i + 3;
		i++;
	}
	*scan = len;
	return 0;
}

/* ---- parsing -------------------------------------------------------------------------------- */

/* The next line of buf[*pos, end): its bytes without the CRLF or LF. false for a line holding
 * a bare CR (RFC 9112 2.2: a recipient may reject it, and we do) or for no LF before end. */
static bool next_line(const char *buf, size_t end, size_t *pos, const char **line,
		      size_t *line_len)
{
	const char *p = buf + *pos;
	const char *nl = memchr(p, '\n', end - *pos);
	size_t n;

	if (nl == NULL)
		return false;
	n = (size_t)(nl - p);
	*pos += n + 1;
	if (n > 0 && p[n - 1] == '\r')
		n--;
	if (memchr(p, '\r', n) != NULL)
		return false;
	*line = p;
	*line_len = n;
	return true;
}

/* "METHOD SP target SP HTTP/d.d": 0, 400 or 505. */
static int parse_request_line(const char *l, size_t n, struct http_request *req)
{
	size_t i = 0, t;

	while (i < n && is_tchar((unsigned char)l[i]))
		i++;
	if (i == 0 || i >= n || l[i] != ' ')
		return 400;
	if (i == 3 && memcmp(l, "GET", 3) == 0)
		req->method = HTTP_METHOD_GET;
	else if (i == 4 && memcmp(l, "HEAD", 4) == 0)
		req->method = HTTP_METHOD_HEAD;
	else
		req->method = HTTP_METHOD_OTHER;   /* methods are case-sensitive: "get" is not GET */
	t = ++i;
	while (i < n && (unsigned char)l[i] > 0x20 && (unsigned char)l[i] < 0x7f)
		i++;
	if (i == t || i >= n || l[i] != ' ')
		return 400;
	req->target = l + t;
	req->target_len = i - t;
	i++;
	if (n - i != 8 || memcmp(l + i, "HTTP/", 5) != 0 || l[i + 5] < '0' || l[i + 5] > '9' ||
	    l[i + 6] != '.' || l[i + 7] < '0' || l[i + 7] > '9')
		return 400;
	if (l[i + 5] != '1')
		return 505;
	req->version_minor = (unsigned)(l[i + 7] - '0');
	return 0;
}

struct fields {
	unsigned hosts;
	bool conn_close, conn_keep_alive;
};

/* Connection: a comma-separated list of options; close and keep-alive matter here. */
static void parse_connection(const char *v, size_t n, struct fields *f)
{
	size_t i = 0;

	while (i < n) {
		size_t s, e;

		while (i < n && (is_ows((unsigned char)v[i]) || v[i] == ','))
			i++;
		s = i;
		while (i < n && v[i] != ',')
			i++;
		e = i;
		while (e > s && is_ows((unsigned char)v[e - 1]))
			e--;
		if (ieq(v + s, e - s, "close"))
			f->conn_close = true;
		else if (ieq(v + s, e - s, "keep-alive"))
			f->conn_keep_alive = true;
	}
}

/* Content-Length: digits only, at most 18 of them; a repeat must agree (RFC 9112 6.3). */
static int parse_content_length(const char *v, size_t n, struct http_request *req)
{
	uint64_t x = 0;

	if (n == 0 || n > 18)
		return 400;
	for (size_t i = 0; i < n; i++) {
		if (v[i] < '0' || v[i] > '9')
			return 400;
		x = x * 10 + (uint64_t)(v[i] - '0');
	}
	if (req->has_content_length && req->content_length != x)
		return 400;
	req->has_content_length = true;
	req->content_length = x;
	return 0;
}

/* "name: value": 0 or 400. */
static int parse_field(const char *l, size_t n, struct http_request *req, struct fields *f)
{
	size_t i = 0, vs, ve;

	while (i < n && is_tchar((unsigned char)l[i]))
		i++;
	/* No whitespace before the colon, no empty name, no folded continuation line. */
	if (i == 0 || i >= n || l[i] != ':')
		return 400;
	vs = i + 1;
	while (vs < n && is_ows((unsigned char)l[vs]))
		vs++;
	ve = n;
	while (ve > vs && is_ows((unsigned char)l[ve - 1]))
		ve--;
	for (size_t k = vs; k < ve; k++)
		if (!is_field_vchar((unsigned char)l[k]))
			return 400;
	if (ieq(l, i, "host"))
		f->hosts++;
	else if (ieq(l, i, "connection"))
		parse_connection(l + vs, ve - vs, f);
	else if (ieq(l, i, "content-length"))
		return parse_content_length(l + vs, ve - vs, req);
	else if (ieq(l, i, "transfer-encoding"))
		req->transfer_encoding = true;
	return 0;
}

int http_parse_request(const char *buf, size_t head_len, struct http_request *req)
{
	struct fields f = { 0 };
	const char *l;
	size_t pos = 0, n;
	unsigned lines = 0;
	int st;

	memset(req, 0, sizeof(*req));
	req->method = HTTP_METHOD_OTHER;
	if (memchr(buf, '\0', head_len) != NULL)
		return 400;
	if (!next_line(buf, head_len, &pos, &l, &n))
		return 400;
	st = parse_request_line(l, n, req);
	if (st != 0)
		return st;
	for (;;) {
		if (!next_line(buf, head_len, &pos, &l, &n))
			return 400;   /* the head ended without its empty line */
		if (n == 0)
			break;
		if (++lines > HTTP_MAX_HEADER_LINES)
			return 431;
		st = parse_field(l, n, req, &f);
		if (st != 0)
			return st;
	}
	if (pos != head_len)
		return 400;   /* bytes after the empty line belong to no head */
	if (f.hosts > 1 || (req->version_minor >= 1 && f.hosts == 0))
		return 400;   /* RFC 9112 3.2: exactly one Host in HTTP/1.1 */
	if (req->transfer_encoding)
		return req->has_content_length ? 400 : 501;
	if (req->version_minor >= 1)
		req->keep_alive = !f.conn_close;
	else
		req->keep_alive = f.conn_keep_alive && !f.conn_close;
	return 0;
}

/* ---- the target as a path -------------------------------------------------------------------- */

static int hex_value(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	ch = lower(ch);
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	return -1;
}

int http_target_to_path(const char *target, size_t len, char *out, size_t outlen, bool *dir)
{
	size_t i = 0, o = 0, seg = 0, end;

	*dir = false;
	if (outlen == 0)
		return 414;
	/* absolute-form (RFC 9112 3.2.2): skip the scheme and the authority. */
	if (len >= 7 && ieq(target, 7, "http://"))
		i = 7;
	else if (len >= 8 && ieq(target, 8, "https://"))
		i = 8;
	if (i > 0) {
		while (i < len && target[i] != '/' && target[i] != '?' && target[i] != '#')
			i++;
	} else if (len == 0 || target[0] != '/') {
		return 400;   /* neither origin-form nor absolute-form ("*", "host:port") */
	}
	end = i;
	while (end < len && target[end] != '?' && target[end] != '#')
		end++;
	*dir = end == i || target[end - 1] == '/';
	/* One byte at a time: decode, and close a segment at each '/' (an encoded "%2F" too, so
	 * that "..%2F" is seen as the ".." it is). seg is where the current segment starts. */
	for (; i <= end; i++) {
		char ch;

		if (i == end) {
			ch = '/';
		} else if (target[i] == '%') {
			int hi = i + 2 < end ? hex_value(target[i + 1]) : -1;
			int lo = hi >= 0 ? hex_value(target[i + 2]) : -1;

			if (lo < 0 || (hi == 0 && lo == 0))
				return 400;   /* a bad escape, or an encoded NUL */
			ch = (char)(hi * 16 + lo);
			i += 2;
		} else {
			ch = target[i];
		}
		if (ch != '/') {
			if (o + 1 >= outlen)
				return 414;
			out[o++] = ch;
			continue;
		}
		/* End of a segment: out[seg, o) */
		if (o - seg == 2 && out[seg] == '.' && out[seg + 1] == '.')
			return 403;
		if (o == seg || (o - seg == 1 && out[seg] == '.')) {
			o = seg;   /* empty or ".": nothing */
			continue;
		}
		if (i == end)
			break;
		if (o + 1 >= outlen)
			return 414;
		out[o++] = '/';
		seg = o;
	}
	if (o > 0 && out[o - 1] == '/')
		o--;   /* the separator before a final empty or "." segment */
	out[o] = '\0';
	return 0;
}
