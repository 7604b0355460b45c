/* One-line error messages for a caller's buffer (errors.c). */
#ifndef DPW_ERRORS_H
#define DPW_ERRORS_H

#include <stddef.h>

/* Format a one-line message into err (errlen bytes, always terminated; nothing if NULL). */
void dpw_set_err(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif /* DPW_ERRORS_H */
