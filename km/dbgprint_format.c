/* DbgPrint's format strings as Windows reads them (km.h, dpw_km_format). Drivers print
 * UNICODE_STRINGs with %wZ, wide strings with %ws or %S (and counted ones with %.*ws), and
 * size their integers the LLP64 way: on Windows `long` (%ld, %lu, %lx with a LONG or ULONG)
 * is 32 bits, %I64d and %lld are 64, %Id and %Iu (and C99's %z) pointer-sized. glibc's
 * vsnprintf reads all of these differently (a 64-bit long, no w, I or Z), so each conversion
 * is parsed here, its argument taken with its Windows type, and printed one at a time. Wide
 * characters outside ASCII print as '?': the output is a log line, not a conversion. */
#define DPW_KM_RUNTIME   /* not driver code: no -fshort-wchar check */
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
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

/* One conversion, printed by glibc straight into what room is left. */
static void put_printf(struct out *o, const char *spec, ...)
{
	va_list ap;
	int n;

	va_start(ap, spec);
	if (o->len < o->cap)
		n = vsnprintf(o->buf + o->len, o->cap - o->len, spec, ap);
	else
		n = vsnprintf(NULL, 0, spec, ap);
	va_end(ap);
	if (n > 0)
		o->len += (size_t)n;
}

/* UTF-16, at most n units and up to a NUL, to ASCII ('?' for the rest), in dst. */
static const char *narrow(const WCHAR *w, size_t n, char *dst, size_t cap)
{
	size_t i = 0;

	for (; i < n && i + 1 < cap && w[i] != 0; i++)
		dst[i] = w[i] >= 0x20 && w[i] <= 0x7e ? (char)w[i] : '?';
	dst[i] = '\0';
	return dst;
}

enum size { SZ_INT, SZ_SHORT, SZ_CHAR, SZ_64, SZ_PTR, SZ_WIDE, SZ_LONG_DOUBLE };

/* The length modifier at *fmt, Windows' and C99's, moved past. */
static enum size length_of(const char **fmt)
{
	const char *f = *fmt;
	enum size size = SZ_INT;

	if (strncmp(f, "I64", 3) == 0) {
		size = SZ_64;
		f += 3;
	} else if (strncmp(f, "I32", 3) == 0) {
		f += 3;
	} else if (strncmp(f, "ll", 2) == 0) {
		size = SZ_64;
		f += 2;
	} else if (strncmp(f, "hh", 2) == 0) {
		size = SZ_CHAR;
		f += 2;
	} else if (*f == 'I' || *f == 'z' || *f == 't') {
		size = SZ_PTR;
		f++;
	} else if (*f == 'j') {
		size = SZ_64;
		f++;
	} else if (*f == 'h') {
		size = SZ_SHORT;
		f++;
	} else if (*f == 'l') {   /* LLP64: 32 bits, or a wide char/string */
		size = f[1] == 'c' || f[1] == 's' ? SZ_WIDE : SZ_INT;
		f++;
	} else if (*f == 'w') {
		size = SZ_WIDE;
		f++;
	} else if (*f == 'L') {
		size = SZ_LONG_DOUBLE;
		f++;
	}
	*fmt = f;
	return size;
}

size_t dpw_km_format(char *buf, size_t cap, const char *fmt, va_list ap)
{
	struct out o = { buf, cap, 0 };
	va_list args;

	va_copy(args, ap);
	while (*fmt != '\0') {
		char spec[48], flags[8], text[512];
		const char *start = fmt;
		int width = -1, prec = -1;
		size_t nflags = 0, k;
		enum size size;
		bool wide;

		if (*fmt != '%') {
			put(&o, fmt++, 1);
			continue;
		}
		fmt++;
		while (*fmt != '\0' && strchr("-+ #0", *fmt) != NULL) {
			if (nflags + 1 < sizeof(flags))
				flags[nflags++] = *fmt;
			fmt++;
		}
		if (*fmt == '*') {   /* a negative width from the arguments: left-justified */
			width = va_arg(args, int);
			if (width < 0) {
				width = width == INT32_MIN ? 0 : -width;
				if (nflags + 1 < sizeof(flags))
					flags[nflags++] = '-';
			}
			fmt++;
		} else {
			for (; *fmt >= '0' && *fmt <= '9'; fmt++)
				width = (width < 0 ? 0 : width) * 10 % 100000 + (*fmt - '0');
		}
		if (*fmt == '.') {
			fmt++;
			prec = 0;
			if (*fmt == '*') {   /* negative: as if none were given */
				prec = va_arg(args, int);
				fmt++;
			} else {
				for (; *fmt >= '0' && *fmt <= '9'; fmt++)
					prec = prec * 10 % 100000 + (*fmt - '0');
			}
		}
		flags[nflags] = '\0';
		size = length_of(&fmt);
		/* The spec glibc gets: flags, width, precision; the length and conversion follow. */
		k = (size_t)snprintf(spec, sizeof(spec), "%%%s", flags);
		if (width >= 0)
			k += (size_t)snprintf(spec + k, sizeof(spec) - k, "%d", width);
		if (prec >= 0)
			k += (size_t)snprintf(spec + k, sizeof(spec) - k, ".%d", prec);
		/* %S, %C: wide unless 'h'; %s, %c: wide with 'l' or 'w' */
		wide = ((*fmt == 'S' || *fmt == 'C') && size != SZ_SHORT) || size == SZ_WIDE;
		switch (*fmt) {
		case 'd': case 'i':
			if (size == SZ_64 || size == SZ_PTR) {
				snprintf(spec + k, sizeof(spec) - k, "lld");
				put_printf(&o, spec, size == SZ_64 ? (long long)va_arg(args, LONGLONG)
							 : (long long)va_arg(args, intptr_t));
			} else {
				int v = va_arg(args, int);

				snprintf(spec + k, sizeof(spec) - k, "d");
				put_printf(&o, spec, size == SZ_SHORT ? (short)v
						   : size == SZ_CHAR ? (signed char)v : v);
			}
			break;
		case 'u': case 'o': case 'x': case 'X':
			if (size == SZ_64 || size == SZ_PTR) {
				snprintf(spec + k, sizeof(spec) - k, "ll%c", *fmt);
				put_printf(&o, spec, size == SZ_64
					   ? (unsigned long long)va_arg(args, ULONGLONG)
					   : (unsigned long long)va_arg(args, uintptr_t));
			} else {
				unsigned v = va_arg(args, unsigned);

				snprintf(spec + k, sizeof(spec) - k, "%c", *fmt);
				put_printf(&o, spec, size == SZ_SHORT ? (unsigned short)v
						   : size == SZ_CHAR ? (unsigned char)v : v);
			}
			break;
		case 'c': case 'C': {
			int c = va_arg(args, int);   /* a char or a WCHAR, promoted */

			if (wide)
				c = c >= 0x20 && c <= 0x7e ? c : '?';
			snprintf(spec + k, sizeof(spec) - k, "c");
			put_printf(&o, spec, c);
			break;
		}
		case 's': case 'S':
			snprintf(spec + k, sizeof(spec) - k, "s");
			if (wide) {
				/* a counted string (%.*ws) need not end in a NUL: no read past prec */
				const WCHAR *w = va_arg(args, const WCHAR *);

				put_printf(&o, spec, w == NULL ? "(null)"
					   : narrow(w, prec >= 0 ? (size_t)prec : SIZE_MAX, text,
						    sizeof(text)));
			} else {
				const char *s = va_arg(args, const char *);

				put_printf(&o, spec, s != NULL ? s : "(null)");
			}
			break;
		case 'Z': {   /* %wZ a PUNICODE_STRING, %Z a PANSI_STRING: Length bytes, no NUL */
			snprintf(spec + k, sizeof(spec) - k, "s");
			if (size == SZ_WIDE) {
				const UNICODE_STRING *u = va_arg(args, const UNICODE_STRING *);

				put_printf(&o, spec, u == NULL || u->Buffer == NULL ? "(null)"
					   : narrow(u->Buffer, u->Length / sizeof(WCHAR), text,
						    sizeof(text)));
			} else {
				const ANSI_STRING *a = va_arg(args, const ANSI_STRING *);

				if (a == NULL || a->Buffer == NULL) {
					put_printf(&o, spec, "(null)");
				} else {
					size_t n = a->Length < sizeof(text) ? a->Length
									    : sizeof(text) - 1;

					memcpy(text, a->Buffer, n);
					text[n] = '\0';
					put_printf(&o, spec, text);
				}
			}
			break;
		}
		case 'p':
			snprintf(spec + k, sizeof(spec) - k, "p");
			put_printf(&o, spec, va_arg(args, void *));
			break;
		case 'e': case 'E': case 'f': case 'F': case 'g': case 'G': case 'a': case 'A':
			if (size == SZ_LONG_DOUBLE) {
				snprintf(spec + k, sizeof(spec) - k, "L%c", *fmt);
				put_printf(&o, spec, va_arg(args, long double));
			} else {
				snprintf(spec + k, sizeof(spec) - k, "%c", *fmt);
				put_printf(&o, spec, va_arg(args, double));
			}
			break;
		case '%':
			put(&o, "%", 1);
			break;
		case 'n':   /* writes through a pointer: taken, never written */
			(void)va_arg(args, void *);
			break;
		case '\0':  /* the format ends inside a conversion: printed as it stands */
			put(&o, start, strlen(start));
			continue;
		default:    /* not a conversion Windows knows: printed as it stands */
			put(&o, start, (size_t)(fmt + 1 - start));
			break;
		}
		fmt++;
	}
	va_end(args);
	if (cap > 0)
		buf[o.len < cap ? o.len : cap - 1] = '\0';
	return o.len;
}
