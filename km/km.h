/* What dpwsk-host asks of the kernel-call runtime (runtime.c) beyond ntddk.h: the driver's
 * name for its debug output, and what the driver left behind after DriverUnload. */
#ifndef DPWSK_KM_H
#define DPWSK_KM_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* DbgPrint lines start "<name>: ". */
void dpw_km_set_driver_name(const char *name);

/* The driver's service key, \Registry\Machine\System\CurrentControlSet\Services\<name>:
 * ZwOpenKey opens it and its Parameters subkey. */
void dpw_km_set_service_key(const char *path);
/* A value of the driver's registry key (ntddk.h, ZwQueryValueKey): 0, or -1 if the name or
 * the table is too long. */
int dpw_km_registry_set(const char *name, const char *value);

/* A DbgPrint format as Windows reads it (%wZ, %ws, %S, %Z, %I64d, LLP64's 32-bit %ld ...)
 * into buf, at most cap bytes with the NUL; returns the length the whole text needs, as
 * snprintf does (dbgprint_format.c). */
size_t dpw_km_format(char *buf, size_t cap, const char *fmt, va_list ap);

struct dpw_km_leaks {
	unsigned threads_running;     /* PsCreateSystemThread threads not ended */
	unsigned handles_open;        /* their handles not closed with ZwClose */
	unsigned references;          /* ObReferenceObject* not dereferenced */
	unsigned keys_open;           /* ZwOpenKey not closed */
	uint64_t pool_blocks, pool_bytes;   /* ExAllocatePool* not freed */
};
void dpw_km_leaks(struct dpw_km_leaks *out);
/* One line per kind of leak, "<who>: ..."; returns how many kinds there were (0: none). */
unsigned dpw_km_report_leaks(FILE *f, const char *who);

#endif /* DPWSK_KM_H */
