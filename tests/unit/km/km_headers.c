/* Every kernel-call header a Windows WSK driver includes, in the order drivers use, in one
 * C translation unit (km/meson.build compiles it with clang, -Wall -Wextra -Werror). */
#include <ntddk.h>
#include <wdm.h>
#include <ntstrsafe.h>
#include <wsk.h>

C_ASSERT(sizeof(WCHAR) == 2);
C_ASSERT(SOL_SOCKET == 0xffff && SO_REUSEADDR == 4 && IPV6_V6ONLY == 27);

/* SAL annotations, PAGED_CODE and KdPrint as drivers write them. */
_IRQL_requires_max_(PASSIVE_LEVEL)
static NTSTATUS annotated(_In_ PCUNICODE_STRING in, _Out_ PULONG out, _In_opt_ PVOID ctx,
			  _Inout_ PLONG count)
{
	PAGED_CODE();
	UNREFERENCED_PARAMETER(ctx);
	*out = in->Length;
	InterlockedIncrement(count);
	KdPrint(("annotated: %wZ\n", in));
	return STATUS_SUCCESS;
}

int dpw_km_headers_c(void);
int dpw_km_headers_c(void)
{
	static const WCHAR name[] = L"Parameters";   /* UTF-16 with -fshort-wchar */
	UNICODE_STRING u = RTL_CONSTANT_STRING(name);
	KEVENT e;
	IPPROTO p = IPPROTO_TCP;

	ULONG len = 0;
	LONG count = 0;

	(void)e;
	return annotated(&u, &len, NULL, &count) == STATUS_SUCCESS && u.Length == 20 && p == 6;
}
