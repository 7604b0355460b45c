/* HTTP/1.1 response heads for dpwsk-httpd: the status line and the header fields it sends,
 * with a correct Content-Length always (there is no chunked encoding here), and the short
 * text bodies of error responses. Formatting only: no I/O. */
#ifndef DPW_HTTP_RESPONSE_H
#define DPW_HTTP_RESPONSE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

enum http_connection_field {
	HTTP_CONN_NONE,        /* HTTP/1.1 keep-alive: the default needs no field */
	HTTP_CONN_CLOSE,       /* we close after this response */
	HTTP_CONN_KEEP_ALIVE,  /* HTTP/1.0 that asked to keep the connection */
};

/* "OK", "Not Found", ...; "Unknown" for a status not used here. */
const char *http_reason(int status);

/* "Sun, 06 Nov 1994 08:49:37 GMT" (IMF-fixdate, RFC 9110 5.6.7) into out[30]. */
void http_format_date(time_t t, char out[30]);

/* The head of a response: status line, Date, Server, Content-Type (if type is not NULL),
 * Content-Length, Allow (405), Connection as asked, and the empty line. Returns its length, or
 * 0 if room is too small. */
size_t http_format_head(char *buf, size_t room, int status, const char *date, const char *type,
			uint64_t content_length, enum http_connection_field conn);

/* The body of an error response: "404 Not Found\n". Returns its length (0 if room is short). */
size_t http_format_error_body(char *buf, size_t room, int status);

#endif /* DPW_HTTP_RESPONSE_H */
