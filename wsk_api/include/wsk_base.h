/* Windows base types for dpwsk's WSK API, with the widths Windows gives them (LP64 Linux
 * would otherwise make ULONG 64 bits). Only what the WSK, IRP and MDL headers need. */
#ifndef DPWSK_WSK_BASE_H
#define DPWSK_WSK_BASE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Calling conventions and SAL annotations mean nothing here; kept so ported code compiles. */
#define NTAPI
#define WSKAPI
#ifndef CONST
#define CONST const
#endif
#ifndef VOID
#define VOID void
#endif

typedef char CHAR, *PCHAR;
typedef signed char CCHAR;          /* signed as on Windows, whatever the host's char is */
typedef unsigned char UCHAR, *PUCHAR;
typedef int16_t SHORT, CSHORT;
typedef uint16_t USHORT, *PUSHORT;
typedef int32_t INT, LONG, *PLONG;
typedef uint32_t UINT, ULONG, *PULONG;  /* 32 bits even on 64-bit hosts, as on Windows */
typedef int64_t LONGLONG;
typedef uint64_t ULONGLONG;
typedef intptr_t LONG_PTR;
typedef uintptr_t ULONG_PTR, *PULONG_PTR;
typedef size_t SIZE_T, *PSIZE_T;
typedef void *PVOID;
typedef const void *PCVOID;
typedef uint16_t WCHAR, *PWCH, *PWSTR;  /* UTF-16 code unit: Windows' wchar_t */
typedef const WCHAR *PCWSTR;

typedef UCHAR BOOLEAN, *PBOOLEAN;
#ifndef TRUE
#define TRUE 1
#endif
#ifndef FALSE
#define FALSE 0
#endif

typedef LONG NTSTATUS, *PNTSTATUS;

/* Severity is in the top two bits: 0 success, 1 informational, 2 warning, 3 error. */
#define NT_SUCCESS(Status)     (((NTSTATUS)(Status)) >= 0)
#define NT_INFORMATION(Status) ((((ULONG)(Status)) >> 30) == 1)
#define NT_WARNING(Status)     ((((ULONG)(Status)) >> 30) == 2)
#define NT_ERROR(Status)       ((((ULONG)(Status)) >> 30) == 3)

/* Processor modes. A userspace provider has only one caller mode; the type is kept because
 * WSK and IRP signatures carry it. */
typedef CCHAR KPROCESSOR_MODE;
typedef enum _MODE { KernelMode, UserMode, MaximumMode } MODE;

/* Kernel objects WSK signatures mention but dpwsk never dereferences: callers pass NULL. */
typedef struct _DEVICE_OBJECT *PDEVICE_OBJECT;
typedef struct _KTHREAD *PETHREAD;
typedef struct _KPROCESS *PEPROCESS;
typedef PVOID PSECURITY_DESCRIPTOR;
typedef ULONG_PTR KSPIN_LOCK, *PKSPIN_LOCK;

typedef struct _GUID {
	ULONG Data1;
	USHORT Data2;
	USHORT Data3;
	UCHAR Data4[8];
} GUID, *PGUID;

/* Network Programming Interface identifier (netioddk.h). */
typedef GUID NPIID, *PNPIID;

typedef struct _LIST_ENTRY {
	struct _LIST_ENTRY *Flink;
	struct _LIST_ENTRY *Blink;
} LIST_ENTRY, *PLIST_ENTRY;

typedef struct _UNICODE_STRING {
	USHORT Length;          /* bytes, not characters, as on Windows */
	USHORT MaximumLength;
	PWCH Buffer;
} UNICODE_STRING, *PUNICODE_STRING;

#ifndef UNREFERENCED_PARAMETER
#define UNREFERENCED_PARAMETER(P) ((void)(P))
#endif

#ifdef __cplusplus
}
#endif

#endif /* DPWSK_WSK_BASE_H */
