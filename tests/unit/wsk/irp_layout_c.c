/* The IRP's layout as the library (C) sees it, for test_headers_cxx.cpp to compare with C++'s. */
#include <stddef.h>

#include "dpwsk.h"

const size_t dpw_irp_layout_c[] = {
	offsetof(IRP, Cancel),   offsetof(IRP, UserBuffer),   offsetof(IRP, CompletionRoutine),
	offsetof(IRP, DpwCancel), offsetof(IRP, DpwState),    offsetof(IRP, DpwAllocated),
	offsetof(IRP, Tail),     sizeof(IRP),
};
