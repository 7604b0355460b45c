/* What dpwsk-host asks of the kernel-call runtime (runtime.c) beyond ntddk.h: the driver's
 * name for its debug output, and what the driver left behind after DriverUnload. */
#ifndef DPWSK_KM_H
#define DPWSK_KM_H

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
