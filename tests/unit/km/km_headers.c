/* Every kernel-call header a Windows WSK driver includes, in the order drivers use, in one
 * C translation unit (km/meson.build compiles it with clang, -Wall -Wextra -Werror). */
#include <ntddk.h>
#include <wdm.h>
#include <ntstrsafe.h>
#include <wsk.h>

C_ASSERT(sizeof(WCHAR) == 2);
C_ASSERT(SOL_SOCKET == 0xffff && SO_REUSEADDR == 4 && IPV6_V6ONLY == 27);

int dpw_km_headers_c(void);
int dpw_km_headers_c(void)
{
	static const WCHAR name[] = L"Parameters";   /* UTF-16 with -fshort-wchar */
	UNICODE_STRING u = RTL_CONSTANT_STRING(name);
	KEVENT e;
	IPPROTO p = IPPROTO_TCP;

	(void)e;
	return u.Length == 20 && p == 6;
}
