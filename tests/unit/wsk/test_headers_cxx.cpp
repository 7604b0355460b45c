// The public headers compiled as C++17, as WSK client code often is (issue 14): they parse
// (no C-only _Atomic), the IRP's layout is the one the C library uses, and the public IRP and
// MDL calls work from C++, Cancel read the way drivers read it (if (Irp->Cancel)).
#include <cstddef>
#include <cstdio>

#include "dpwsk.h"

extern "C" const size_t dpw_irp_layout_c[];

static int failures;

#define CHECK(cond)                                                                     \
	do {                                                                            \
		if (!(cond)) {                                                          \
			failures++;                                                     \
			std::printf("FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond);     \
		}                                                                       \
	} while (0)

static NTSTATUS WSKAPI on_done(PDEVICE_OBJECT, PIRP, PVOID ctx)
{
	++*static_cast<int *>(ctx);
	return STATUS_MORE_PROCESSING_REQUIRED;
}

// A client's dispatch table written the C++ way: designated members are C++20, so by order.
static NTSTATUS WSKAPI on_disconnect(PVOID, ULONG)
{
	return STATUS_SUCCESS;
}

int main()
{
	const size_t cxx[] = {
		offsetof(IRP, Cancel),    offsetof(IRP, UserBuffer), offsetof(IRP, CompletionRoutine),
		offsetof(IRP, DpwCancel), offsetof(IRP, DpwState),   offsetof(IRP, DpwAllocated),
		offsetof(IRP, Tail),      sizeof(IRP),
	};
	for (size_t i = 0; i < sizeof(cxx) / sizeof(cxx[0]); i++)
		CHECK(cxx[i] == dpw_irp_layout_c[i]);

	int calls = 0;
	PIRP irp = IoAllocateIrp(1, FALSE);

	CHECK(irp != nullptr);
	IoSetCompletionRoutine(irp, on_done, &calls, TRUE, TRUE, TRUE);
	CHECK(irp->CompletionRoutine == on_done);
	CHECK(!irp->Cancel);
	CHECK(DpwGetIrpState(irp) == DpwIrpIdle);
	CHECK(IoCancelIrp(irp) == FALSE);   // nobody holds it: no hook ran, but it is marked
	if (irp->Cancel)
		calls += 10;
	CHECK(calls == 10);
	IoReuseIrp(irp, STATUS_UNSUCCESSFUL);
	CHECK(!irp->Cancel && irp->CompletionRoutine == nullptr);
	IoFreeIrp(irp);

	char buf[100];
	PMDL mdl = IoAllocateMdl(buf, sizeof(buf), FALSE, FALSE, nullptr);

	CHECK(mdl != nullptr && MmGetMdlByteCount(mdl) == sizeof(buf));
	IoFreeMdl(mdl);

	WSK_CLIENT_CONNECTION_DISPATCH events = { nullptr, on_disconnect, nullptr };
	CHECK(events.WskDisconnectEvent == on_disconnect);

	std::printf("headers-cxx17: %s\n", failures == 0 ? "all checks passed" : "FAILED");
	return failures != 0;
}
