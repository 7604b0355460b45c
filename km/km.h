/* What dpwsk-host asks of the kernel-call runtime (runtime.c) beyond ntddk.h: the driver's
 * name for its debug output, and what the driver left behind after DriverUnload. */
#ifndef DPWSK_KM_H
#define DPWSK_KM_H

#include <stdint.h>
#include <stdio.h>

/* DbgPrint lines start "<name>: ". */
void dpw_km_set_driver_name(const char *name);

struct dpw_km_leaks {
	unsigned threads_running;     /* PsCreateSystemThread threads not ended */
	unsigned handles_open;        /* their handles not closed with ZwClose */
	unsigned references;          /* ObReferenceObject* not dereferenced */
	uint64_t pool_blocks, pool_bytes;   /* ExAllocatePool* not freed */
};
void dpw_km_leaks(struct dpw_km_leaks *out);
/* One line per kind of leak, "<who>: ..."; returns how many kinds there were (0: none). */
unsigned dpw_km_report_leaks(FILE *f, const char *who);

#endif /* DPWSK_KM_H */
