/* HTTP/1.1 response heads (see http_response.h). */
#include <inttypes.h>
#include <stdio.h>

#include "http_response.h"

const char *http_reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 400: return "Bad Request";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 414: return "URI Too Long";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 503: return "Service Unavailable";
	case 505: return "HTTP Version Not Supported";
	default: return "Unknown";
	}
}

void http_format_date(time_t t, char out[30])
{
	/* The English names the format requires, whatever the process locale is. */
	static const char days[7][4] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
	static const char months[12][4] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
					    "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	struct tm tm;

	gmtime_r(&t, &tm);
	/* Unsigned and reduced, so that the compiler sees every field fit its width. */
	snprintf(out, 30, "%s, %02u %s %04u %02u:%02u:%02u GMT", days[(unsigned)tm.tm_wday % 7],
		 (unsigned)tm.tm_mday % 100, months[(unsigned)tm.tm_mon % 12],
		 (unsigned)(tm.tm_year + 1900) % 10000, (unsigned)tm.tm_hour % 100,
		 (unsigned)tm.tm_min % 100, (unsigned)tm.tm_sec % 100);
}

size_t http_format_head(char *buf, size_t room, int status, const char *date, const char *type,
			uint64_t content_length, enum http_connection_field conn)
{
	static const char *const conn_field[] = {
		[HTTP_CONN_NONE] = "",
		[HTTP_CONN_CLOSE] = "Connection: close\r\n",
		[HTTP_CONN_KEEP_ALIVE] = "Connection: keep-alive\r\n",
	};
	int n = snprintf(buf, room,
			 "HTTP/1.1 %d %s\r\n"
			 "Date: %s\r\n"
			 "Server: dpwsk-httpd\r\n"
			 "%s%s%s"
			 "Content-Length: %" PRIu64 "\r\n"
			 "%s"
			 "%s"
			 "\r\n",
			 status, http_reason(status), date,
			 type != NULL ? "Content-Type: " : "", type != NULL ? type : "",
			 type != NULL ? "\r\n" : "",
			 content_length,
			 status == 405 ? "Allow: GET, HEAD\r\n" : "",
			 conn_field[conn]);

	return n > 0 && (size_t)n < room ? (size_t)n : 0;
}

size_t http_format_error_body(char *buf, size_t room, int status)
{
	int n = snprintf(buf, room, "%d %s\n", status, http_reason(status));

	return n > 0 && (size_t)n < room ? (size_t)n : 0;
}
