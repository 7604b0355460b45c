/* DbgPrint's format strings as Windows reads them (km.h, dpw_km_format). Drivers print
 * UNICODE_STRINGs with %wZ, wide strings with %ws or %S, and size their integers the LLP64
 * way: on Windows `long` (%ld, %lu, %lx with a LONG or ULONG) is 32 bits, %I64d and %lld are
 * 64, %Id and %Iu (and C99's %z) pointer-sized. glibc's vsnprintf reads all of these
 * differently (a 64-bit long, no w, I or Z), so each conversion is parsed here, its argument
 * taken with its Windows type, and printed one at a time. Wide characters outside ASCII print
 * as '?': the output is a log line, not a conversion. */
#define DPW_KM_RUNTIME   /* not driver code: no -fshort-wchar check */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <ntddk.h>

#include "km.h"

/* Appends to a bounded buffer, counting what would have been written (as snprintf). */
struct out {
	char *buf;
	size_t cap, len;
};

static void put(struct out *o, const char *s, size_t n)
{
	if (o->len < o->cap) {
		size_t room = o->cap - o->len;

		memcpy(o->buf + o->len, s, n < room ? n : room);
	}
	o->len += n;
}

static void put_printf(struct out *o, const char *spec, ...)
{
	char tmp[512];
	va_list ap;
	int n;

	va_start(ap, spec);
	n = vsnprintf(tmp, sizeof(tmp), spec, ap);
	va_end(ap);
	if (n > 0)
		put(o, tmp, (size_t)n < sizeof(tmp) ? (size_t)n : sizeof(tmp) - 1);
}

/* UTF-16 (n units, or up to a NUL when n is SIZE_MAX) to ASCII, '?' for the rest. */
static void narrow(const WCHAR *w, size_t n, char *dst, size_t cap)
{
	size_t i = 0;

	for (; w != NULL && i + 1 < cap && (n == SIZE_MAX ? w[i] != 0 : i < n); i++)
		dst[i] = w[i] >= 0x20 && w[i] <= 0x7e ? (char)w[i] : '?';
	dst[i] = '\0';
}

enum size { SZ_INT, SZ_SHORT, SZ_CHAR, SZ_64, SZ_PTR, SZ_WIDE, SZ_LONG_DOUBLE };

size_t dpw_km_format(char *buf, size_t cap, const char *fmt, va_list ap)
{
	struct out o = { buf, cap, 0 };
	va_list args;

	va_copy(args, ap);
	while (*fmt != '\0') {
		char spec[64], text[512];
		size_t k = 0;
		enum size size = SZ_INT;
		const char *start = fmt;

		if (*fmt != '%') {
			put(&o, fmt++, 1);
			continue;
		}
		spec[k++] = *fmt++;
		while (strchr("-+ #0", *fmt) != NULL && *fmt != '\0' && k < 8)
			spec[k++] = *fmt++;
		/* width and precision: '*' takes an int argument, written into the spec */
		for (int part = 0; part < 2; part++) {
			if (part == 1) {
				if (*fmt != '.')
					break;
				spec[k++] = *fmt++;
			}
			if (*fmt == '*') {
				k += (size_t)snprintf(spec + k, 12, "%d", va_arg(args, int));
				fmt++;
			} else {
				while (*fmt >= '0' && *fmt <= '9' && k < 24)
					spec[k++] = *fmt++;
			}
		}
		if (strncmp(fmt, "I64", 3) == 0) {
			size = SZ_64;
			fmt += 3;
		} else if (strncmp(fmt, "I32", 3) == 0) {
			fmt += 3;
		} else if (strncmp(fmt, "ll", 2) == 0) {
			size = SZ_64;
			fmt += 2;
		} else if (strncmp(fmt, "hh", 2) == 0) {
			size = SZ_CHAR;
			fmt += 2;
		} else if (*fmt == 'I' || *fmt == 'z' || *fmt == 't' || *fmt == 'j') {
			size = *fmt == 'j' ? SZ_64 : SZ_PTR;
			fmt++;
		} else if (*fmt == 'h') {
			size = SZ_SHORT;
			fmt++;
		} else if (*fmt == 'l') {   /* LLP64: 32 bits, or a wide char/string */
			size = fmt[1] == 'c' || fmt[1] == 's' ? SZ_WIDE : SZ_INT;
			fmt++;
		} else if (*fmt == 'w') {
			size = SZ_WIDE;
			fmt++;
		} else if (*fmt == 'L') {
			size = SZ_LONG_DOUBLE;
			fmt++;
		}
		switch (*fmt) {
		case 'd': case 'i':
			strcpy(spec + k, size == SZ_INT || size == SZ_SHORT || size == SZ_CHAR ? "d"
									       : "lld");
			if (size == SZ_64)
				put_printf(&o, spec, (long long)va_arg(args, LONGLONG));
			else if (size == SZ_PTR)
				put_printf(&o, spec, (long long)va_arg(args, intptr_t));
			else
				put_printf(&o, spec, size == SZ_SHORT ? (short)va_arg(args, int)
						     : size == SZ_CHAR ? (signed char)va_arg(args, int)
								       : va_arg(args, int));
			break;
		case 'u': case 'o': case 'x': case 'X':
			if (size == SZ_INT || size == SZ_SHORT || size == SZ_CHAR) {
				unsigned v = va_arg(args, unsigned);

				v = size == SZ_SHORT ? (unsigned short)v
				  : size == SZ_CHAR ? (unsigned char)v : v;
				spec[k] = *fmt;
				spec[k + 1] = '\0';
				put_printf(&o, spec, v);
			} else {
				spec[k] = 'l';
				spec[k + 1] = 'l';
				spec[k + 2] = *fmt;
				spec[k + 3] = '\0';
				put_printf(&o, spec, size == SZ_64
					   ? (unsigned long long)va_arg(args, ULONGLONG)
					   : (unsigned long long)va_arg(args, uintptr_t));
			}
			break;
		case 'c': case 'C': {
			int c = va_arg(args, int);   /* a char or a WCHAR, promoted */

			if (*fmt == 'C' || size == SZ_WIDE)
				c = c >= 0x20 && c <= 0x7e ? c : '?';
			strcpy(spec + k, "c");
			put_printf(&o, spec, c);
			break;
		}
		case 's': case 'S': {
			if (*fmt == 'S' || size == SZ_WIDE) {
				const WCHAR *w = va_arg(args, const WCHAR *);

				narrow(w, SIZE_MAX, text, sizeof(text));
				strcpy(spec + k, "s");
				put_printf(&o, spec, w != NULL ? text : "(null)");
			} else {
				const char *s = va_arg(args, const char *);

				strcpy(spec + k, "s");
				put_printf(&o, spec, s != NULL ? s : "(null)");
			}
			break;
		}
		case 'Z': {   /* %wZ a PUNICODE_STRING, %Z a PANSI_STRING: Length bytes, no NUL */
			strcpy(spec + k, "s");
			if (size == SZ_WIDE) {
				const UNICODE_STRING *u = va_arg(args, const UNICODE_STRING *);

				if (u != NULL)
					narrow(u->Buffer, u->Length / sizeof(WCHAR), text, sizeof(text));
				put_printf(&o, spec, u != NULL ? text : "(null)");
			} else {
				const ANSI_STRING *a = va_arg(args, const ANSI_STRING *);
				size_t n = a != NULL ? a->Length : 0;

				if (n >= sizeof(text))
					n = sizeof(text) - 1;
				if (a != NULL && a->Buffer != NULL)
					memcpy(text, a->Buffer, n);
				text[a != NULL && a->Buffer != NULL ? n : 0] = '\0';
				put_printf(&o, spec, a != NULL ? text : "(null)");
			}
			break;
		}
		case 'p':
			strcpy(spec + k, "p");
			put_printf(&o, spec, va_arg(args, void *));
			break;
		case 'e': case 'E': case 'f': case 'F': case 'g': case 'G': case 'a': case 'A':
			if (size == SZ_LONG_DOUBLE) {
				spec[k] = 'L';
				spec[k + 1] = *fmt;
				spec[k + 2] = '\0';
				put_printf(&o, spec, va_arg(args, long double));
			} else {
				spec[k] = *fmt;
				spec[k + 1] = '\0';
				put_printf(&o, spec, va_arg(args, double));
			}
			break;
		case '%':
			put(&o, "%", 1);
			break;
		case 'n':   /* writes through a pointer: taken, never written */
			(void)va_arg(args, void *);
			break;
		default:    /* not a conversion Windows knows: printed as it stands */
			if (*fmt == '\0') {
				put(&o, start, strlen(start));
				va_end(args);
				goto done;
			}
			put(&o, start, (size_t)(fmt + 1 - start));
			break;
		}
		fmt++;
	}
	va_end(args);
done:
	if (cap > 0)
		buf[o.len < cap ? o.len : cap - 1] = '\0';
	return o.len;
}
