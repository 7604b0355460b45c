/* The bounded string calls of Windows' ntstrsafe.h that drivers use instead of the C library:
 * formatted printing and lengths, always NUL-terminated, STATUS_BUFFER_OVERFLOW when cut. */
#ifndef DPWSK_KM_NTSTRSAFE_H
#define DPWSK_KM_NTSTRSAFE_H

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "ntddk.h"

#define NTSTRSAFE_MAX_CCH 2147483647

static inline NTSTATUS RtlStringCbVPrintfA(char *Dest, size_t cbDest, const char *Format,
					   va_list ap)
{
	int n;

	if (Dest == NULL || cbDest == 0 || cbDest > NTSTRSAFE_MAX_CCH)
		return STATUS_INVALID_PARAMETER;
	n = vsnprintf(Dest, cbDest, Format, ap);
	if (n < 0) {
		Dest[0] = '\0';
		return STATUS_INVALID_PARAMETER;
	}
	return (size_t)n >= cbDest ? STATUS_BUFFER_OVERFLOW : STATUS_SUCCESS;
}

static inline NTSTATUS RtlStringCbPrintfA(char *Dest, size_t cbDest, const char *Format, ...)
	__attribute__((format(printf, 3, 4)));
static inline NTSTATUS RtlStringCbPrintfA(char *Dest, size_t cbDest, const char *Format, ...)
{
	va_list ap;
	NTSTATUS st;

	va_start(ap, Format);
	st = RtlStringCbVPrintfA(Dest, cbDest, Format, ap);
	va_end(ap);
	return st;
}
#define RtlStringCchPrintfA RtlStringCbPrintfA

static inline NTSTATUS RtlStringCbLengthA(const char *Psz, size_t cbMax, size_t *pcbLength)
{
	size_t n = 0;

	if (Psz == NULL || cbMax > NTSTRSAFE_MAX_CCH)
		return STATUS_INVALID_PARAMETER;
	while (n < cbMax && Psz[n] != '\0')
		n++;
	if (n == cbMax)
		return STATUS_INVALID_PARAMETER;
	if (pcbLength != NULL)
		*pcbLength = n;
	return STATUS_SUCCESS;
}
#define RtlStringCchLengthA RtlStringCbLengthA

static inline NTSTATUS RtlStringCbCopyA(char *Dest, size_t cbDest, const char *Src)
{
	return RtlStringCbPrintfA(Dest, cbDest, "%s", Src);
}
#define RtlStringCchCopyA RtlStringCbCopyA

#endif /* DPWSK_KM_NTSTRSAFE_H */
