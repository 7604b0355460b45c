/* The kernel calls a WSK client driver makes besides WSK itself, for running Windows driver
 * code unchanged in userspace under dpwsk-host (apps/host): events, system threads, object
 * references, spin locks, SLists, Interlocked*, pool allocation with tags, debug output, SAL
 * annotations, and the socket option numbers as Windows has them. A driver includes <ntddk.h>
 * (or <wdm.h>) and <wsk.h> as on Windows, is built as a shared object with -fshort-wchar (so
 * that L"..." is UTF-16, as WCHAR is), and finds these functions in the host at load time.
 *
 * What differs from a kernel, on purpose: there is one IRQL (spin locks spin, nothing
 * raises), pool types only say zeroed or not, and waits block the calling thread. The host
 * counts what a driver allocates and reports what it left behind at unload (runtime.c). */
#ifndef DPWSK_KM_NTDDK_H
#define DPWSK_KM_NTDDK_H

#include <stdarg.h>

#include "irp.h"
#include "mdl.h"
#include "ntstatus.h"
#include "sockaddr.h"   /* the system's socket headers first: their option numbers go below */
#include "wsk_base.h"
#include "wsk_types.h"   /* ADDRINFOEXW and the DPW_AI_/DPW_NI_ numbers */

#ifdef __cplusplus
extern "C" {
#endif

#if !defined(__cplusplus) && !defined(DPW_KM_RUNTIME) && defined(__WCHAR_MAX__) && \
	__WCHAR_MAX__ > 0xffff
/* L"..." must be UTF-16 to fill a UNICODE_STRING, as on Windows. */
#warning "build Windows driver code with -fshort-wchar: L\"...\" is 32-bit wide otherwise"
#endif

/* ---- annotations and the compiler ------------------------------------------------------- */

/* SAL, the IRQL annotations and calling conventions describe; they check nothing here. */
#define _In_
#define _In_opt_
#define _Out_
#define _Out_opt_
#define _Inout_
#define _Inout_opt_
#define _In_z_
#define _Outptr_
#define _Outptr_opt_
#define _In_reads_(n)
#define _In_reads_bytes_(n)
#define _In_reads_opt_(n)
#define _In_reads_bytes_opt_(n)
#define _Out_writes_(n)
#define _Out_writes_bytes_(n)
#define _Out_writes_bytes_opt_(n)
#define _Out_writes_bytes_to_(n, m)
#define _Inout_updates_(n)
#define _Inout_updates_bytes_(n)
#define _Field_size_(n)
#define _Field_size_bytes_(n)
#define _Must_inspect_result_
#define _Success_(e)
#define _Ret_maybenull_
#define _Post_invalid_
#define _Post_writable_byte_size_(n)
#define _Use_decl_annotations_
#define _Function_class_(f)
#define _Dispatch_type_(t)
#define _When_(c, a)
#define _At_(e, a)
#define _IRQL_requires_(l)
#define _IRQL_requires_max_(l)
#define _IRQL_requires_min_(l)
#define _IRQL_requires_same_
#define _IRQL_raises_(l)
#define _IRQL_saves_
#define _IRQL_restores_
#define _IRQL_saves_global_(k, p)
#define _IRQL_restores_global_(k, p)
#define _Requires_lock_held_(l)
#define _Requires_lock_not_held_(l)
#define _Acquires_lock_(l)
#define _Releases_lock_(l)
#define _Guarded_by_(l)
#define _Interlocked_
#define _Interlocked_operand_
#define _Kernel_float_used_
#define __drv_aliasesMem
#define __drv_allocatesMem(k)
#define __drv_freesMem(k)
#define __drv_maxIRQL(l)
#define __drv_requiresIRQL(l)
#define __drv_when(c, a)
#define __in
#define __out
#define __inout
#define __in_opt
#define __out_opt

#define NTKERNELAPI
#define NTSYSAPI
#define NTHALAPI
#define FASTCALL
#define DECLSPEC_NOINLINE __attribute__((noinline))
#define FORCEINLINE static inline
#ifndef __cplusplus
#define EXTERN_C extern
#else
#define EXTERN_C extern "C"
#endif
#define PAGED_CODE() ((void)0)
#define PAGED_CODE_LOCKED() ((void)0)
#define INIT_FUNCTION
#define ARGUMENT_PRESENT(p) ((p) != NULL)
#define ASSERT(e) ((void)0)
#define NT_ASSERT(e) ((void)0)
#define NT_VERIFY(e) ((void)(e))
#define C_ASSERT(e) typedef char DPW_CONCAT_(dpw_c_assert_, __LINE__)[(e) ? 1 : -1]
#define DPW_CONCAT2_(a, b) a##b
#define DPW_CONCAT_(a, b) DPW_CONCAT2_(a, b)
#define RTL_NUMBER_OF(a) (sizeof(a) / sizeof((a)[0]))
#define ARRAYSIZE(a) RTL_NUMBER_OF(a)
#define FIELD_OFFSET(type, field) ((LONG)offsetof(type, field))
#define CONTAINING_RECORD(address, type, field) \
	((type *)((PCHAR)(address) - offsetof(type, field)))
#define RtlUshortByteSwap(v) __builtin_bswap16((USHORT)(v))
#define RtlUlongByteSwap(v) __builtin_bswap32((ULONG)(v))
#define RtlUlonglongByteSwap(v) __builtin_bswap64((ULONGLONG)(v))
#define RtlZeroMemory(d, n) memset((d), 0, (n))
#define RtlFillMemory(d, n, v) memset((d), (v), (n))
#define RtlCopyMemory(d, s, n) memcpy((d), (s), (n))
#define RtlMoveMemory(d, s, n) memmove((d), (s), (n))
#define RtlEqualMemory(a, b, n) (memcmp((a), (b), (n)) == 0)
#define RtlCompareMemory(a, b, n) dpw_km_compare_memory((a), (b), (n))

/* ---- base types kernel code uses beyond WSK's ----------------------------------------------- */

typedef void *HANDLE, **PHANDLE;
typedef UCHAR KIRQL, *PKIRQL;
typedef LONG KPRIORITY;
typedef ULONG ACCESS_MASK;
typedef ULONG LOGICAL;
typedef int BOOL;
typedef unsigned char BYTE, *PBYTE;
typedef uint16_t WORD;
typedef uint32_t DWORD;
typedef int64_t LONG64, *PLONG64;
typedef uint64_t ULONG64, *PULONG64, DWORD64;
typedef const char *PCSTR, *PCSZ;
typedef char *PSTR;
typedef LONGLONG *PLONGLONG;
typedef ULONGLONG *PULONGLONG;
typedef CHAR *PSZ;
typedef GUID *LPGUID;

typedef union _LARGE_INTEGER {
	struct {
		ULONG LowPart;
		LONG HighPart;
	} u;
	LONGLONG QuadPart;
} LARGE_INTEGER, *PLARGE_INTEGER;

typedef union _ULARGE_INTEGER {
	struct {
		ULONG LowPart;
		ULONG HighPart;
	} u;
	ULONGLONG QuadPart;
} ULARGE_INTEGER, *PULARGE_INTEGER;

typedef const UNICODE_STRING *PCUNICODE_STRING;
typedef struct _STRING {
	USHORT Length;
	USHORT MaximumLength;
	PCHAR Buffer;
} STRING, ANSI_STRING, *PSTRING, *PANSI_STRING;

#define RTL_CONSTANT_STRING(s) \
	{ (USHORT)(sizeof(s) - sizeof((s)[0])), (USHORT)sizeof(s), (PWCH)(s) }

/* IRQLs exist as numbers only: nothing raises or lowers, and every caller may wait. */
#define PASSIVE_LEVEL  0
#define APC_LEVEL      1
#define DISPATCH_LEVEL 2
#define KeGetCurrentIrql() ((KIRQL)PASSIVE_LEVEL)
#define KeRaiseIrql(n, o) ((void)(n), *(o) = PASSIVE_LEVEL)
#define KeLowerIrql(n) ((void)(n))

/* Waits and their results. */
typedef enum _KWAIT_REASON { Executive = 0, UserRequest = 6, WrQueue = 15 } KWAIT_REASON;
typedef enum _EVENT_TYPE { NotificationEvent = 0, SynchronizationEvent = 1 } EVENT_TYPE;
#define IO_NO_INCREMENT 0
#define IO_NETWORK_INCREMENT 2
#define LOW_PRIORITY 0
#define LOW_REALTIME_PRIORITY 16
#define HIGH_PRIORITY 31

/* A waitable object's header (Windows' DISPATCHER_HEADER): events and threads start with it,
 * so KeWaitForSingleObject takes either. SignalState is a futex word. */
typedef struct _DISPATCHER_HEADER {
	LONG Type;                   /* DPW_KM_OBJ_* */
	volatile LONG SignalState;
	LONG Reserved[2];
} DISPATCHER_HEADER;
#define DPW_KM_OBJ_NOTIFICATION_EVENT  0
#define DPW_KM_OBJ_SYNCHRONIZATION_EVENT 1
#define DPW_KM_OBJ_THREAD 6

typedef struct _KEVENT {
	DISPATCHER_HEADER Header;
} KEVENT, *PKEVENT, *PRKEVENT;

/* ---- events and waits --------------------------------------------------------------------- */

VOID KeInitializeEvent(PRKEVENT Event, EVENT_TYPE Type, BOOLEAN State);
/* Returns the previous state. A notification event wakes every waiter and stays set; a
 * synchronization event lets exactly one waiter through and resets itself. Wait is ignored. */
LONG KeSetEvent(PRKEVENT Event, KPRIORITY Increment, BOOLEAN Wait);
LONG KeResetEvent(PRKEVENT Event);
VOID KeClearEvent(PRKEVENT Event);
LONG KeReadStateEvent(PRKEVENT Event);
/* Object: a KEVENT or a thread (ObReferenceObjectByHandle on a PsCreateSystemThread handle).
 * Timeout: NULL waits forever; negative is relative, positive absolute (system time), both in
 * 100 ns units; 0 only tests. STATUS_SUCCESS or STATUS_TIMEOUT; STATUS_INVALID_PARAMETER for
 * an object that is not waitable. */
NTSTATUS KeWaitForSingleObject(PVOID Object, KWAIT_REASON WaitReason, KPROCESSOR_MODE WaitMode,
			       BOOLEAN Alertable, PLARGE_INTEGER Timeout);
/* Sleeps for Interval (relative if negative, as KeWaitForSingleObject's timeout). */
NTSTATUS KeDelayExecutionThread(KPROCESSOR_MODE WaitMode, BOOLEAN Alertable,
				PLARGE_INTEGER Interval);
/* 100 ns units since 1601-01-01 (UTC), and since an arbitrary start (the boot, here). */
VOID KeQuerySystemTime(PLARGE_INTEGER CurrentTime);
ULONGLONG KeQueryInterruptTime(VOID);
#define KeQuerySystemTimePrecise KeQuerySystemTime

/* ---- system threads and object references ------------------------------------------------- */

typedef struct _OBJECT_ATTRIBUTES {
	ULONG Length;
	HANDLE RootDirectory;
	PUNICODE_STRING ObjectName;
	ULONG Attributes;
	PVOID SecurityDescriptor;
	PVOID SecurityQualityOfService;
} OBJECT_ATTRIBUTES, *POBJECT_ATTRIBUTES;
#define OBJ_KERNEL_HANDLE 0x00000200L
#define OBJ_CASE_INSENSITIVE 0x00000040L
#define InitializeObjectAttributes(p, n, a, r, s)                                         \
	do {                                                                              \
		(p)->Length = sizeof(OBJECT_ATTRIBUTES);                                  \
		(p)->RootDirectory = (r);                                                 \
		(p)->Attributes = (a);                                                    \
		(p)->ObjectName = (n);                                                    \
		(p)->SecurityDescriptor = (s);                                            \
		(p)->SecurityQualityOfService = NULL;                                     \
	} while (0)

typedef struct _CLIENT_ID {
	HANDLE UniqueProcess;
	HANDLE UniqueThread;
} CLIENT_ID, *PCLIENT_ID;

typedef VOID KSTART_ROUTINE(PVOID StartContext);
typedef KSTART_ROUTINE *PKSTART_ROUTINE;

#define THREAD_ALL_ACCESS 0x001FFFFF
#define SYNCHRONIZE 0x00100000
#define GENERIC_ALL 0x10000000
#define NtCurrentProcess() ((HANDLE)(LONG_PTR)-1)
#define ZwCurrentProcess() NtCurrentProcess()

typedef struct _OBJECT_TYPE *POBJECT_TYPE;
typedef struct _OBJECT_HANDLE_INFORMATION *POBJECT_HANDLE_INFORMATION;
extern POBJECT_TYPE *PsThreadType;
extern POBJECT_TYPE *ExEventObjectType;

/* A thread of the process, running StartRoutine(StartContext). *ThreadHandle must be closed
 * with ZwClose; the thread ends by returning or with PsTerminateSystemThread. */
NTSTATUS PsCreateSystemThread(PHANDLE ThreadHandle, ULONG DesiredAccess,
			      POBJECT_ATTRIBUTES ObjectAttributes, HANDLE ProcessHandle,
			      PCLIENT_ID ClientId, PKSTART_ROUTINE StartRoutine,
			      PVOID StartContext);
NTSTATUS PsTerminateSystemThread(NTSTATUS ExitStatus) __attribute__((noreturn));
PETHREAD PsGetCurrentThread(VOID);
HANDLE PsGetCurrentThreadId(VOID);
#define KeGetCurrentThread() PsGetCurrentThread()
/* A referenced pointer to the object behind Handle (a thread's, here): released with
 * ObDereferenceObject. STATUS_INVALID_HANDLE for a handle that is none. */
NTSTATUS ObReferenceObjectByHandle(HANDLE Handle, ACCESS_MASK DesiredAccess,
				   POBJECT_TYPE ObjectType, KPROCESSOR_MODE AccessMode,
				   PVOID *Object, POBJECT_HANDLE_INFORMATION HandleInformation);
LONG_PTR ObfReferenceObject(PVOID Object);
LONG_PTR ObfDereferenceObject(PVOID Object);
#define ObReferenceObject(o) ObfReferenceObject(o)
#define ObDereferenceObject(o) ObfDereferenceObject(o)
/* Closes a thread's handle or a registry key's. */
NTSTATUS ZwClose(HANDLE Handle);
#define NtClose ZwClose

/* ---- the registry: the driver's parameters --------------------------------------------------- */

/* dpwsk-host keeps one key of values for the driver, set on its command line (--param
 * NAME=VALUE: digits make a REG_DWORD, anything else a REG_SZ). ZwOpenKey opens the driver's
 * service key (RegistryPath) or its Parameters subkey, both holding those values; any other
 * key is STATUS_OBJECT_NAME_NOT_FOUND. */
#define REG_NONE 0
#define REG_SZ 1
#define REG_BINARY 3
#define REG_DWORD 4
#define KEY_QUERY_VALUE 0x0001
#define KEY_READ 0x20019
#define KEY_ALL_ACCESS 0xF003F
typedef enum _KEY_VALUE_INFORMATION_CLASS {
	KeyValueBasicInformation = 0,
	KeyValueFullInformation = 1,
	KeyValuePartialInformation = 2,
} KEY_VALUE_INFORMATION_CLASS;
typedef struct _KEY_VALUE_PARTIAL_INFORMATION {
	ULONG TitleIndex;
	ULONG Type;
	ULONG DataLength;
	UCHAR Data[1];
} KEY_VALUE_PARTIAL_INFORMATION, *PKEY_VALUE_PARTIAL_INFORMATION;
NTSTATUS ZwOpenKey(PHANDLE KeyHandle, ACCESS_MASK DesiredAccess,
		   POBJECT_ATTRIBUTES ObjectAttributes);
/* KeyValuePartialInformation only (STATUS_INVALID_PARAMETER for the others). A Length too
 * small for the header is STATUS_BUFFER_TOO_SMALL, for the data STATUS_BUFFER_OVERFLOW; both
 * set *ResultLength to what is needed. */
NTSTATUS ZwQueryValueKey(HANDLE KeyHandle, PUNICODE_STRING ValueName,
			 KEY_VALUE_INFORMATION_CLASS KeyValueInformationClass,
			 PVOID KeyValueInformation, ULONG Length, PULONG ResultLength);

/* ---- spin locks, SLists, Interlocked -------------------------------------------------------- */

VOID KeInitializeSpinLock(PKSPIN_LOCK SpinLock);
VOID KeAcquireSpinLockAtDpcLevel(PKSPIN_LOCK SpinLock);
VOID KeReleaseSpinLockFromDpcLevel(PKSPIN_LOCK SpinLock);
#define KeAcquireSpinLock(l, old) (*(old) = PASSIVE_LEVEL, KeAcquireSpinLockAtDpcLevel(l))
#define KeReleaseSpinLock(l, old) ((void)(old), KeReleaseSpinLockFromDpcLevel(l))
#define KeAcquireSpinLockRaiseToDpc(l) (KeAcquireSpinLockAtDpcLevel(l), (KIRQL)PASSIVE_LEVEL)

typedef struct _SINGLE_LIST_ENTRY {
	struct _SINGLE_LIST_ENTRY *Next;
} SINGLE_LIST_ENTRY, *PSINGLE_LIST_ENTRY, SLIST_ENTRY, *PSLIST_ENTRY;
/* Windows' is one 16-byte word changed with a double-width CAS; here a small lock keeps the
 * same promises (LIFO, atomic push, pop and flush, a depth). */
typedef struct _SLIST_HEADER {
	PSLIST_ENTRY Next;
	USHORT Depth;
	KSPIN_LOCK Lock;
} SLIST_HEADER, *PSLIST_HEADER;
VOID InitializeSListHead(PSLIST_HEADER ListHead);
PSLIST_ENTRY InterlockedPushEntrySList(PSLIST_HEADER ListHead, PSLIST_ENTRY ListEntry);
PSLIST_ENTRY InterlockedPopEntrySList(PSLIST_HEADER ListHead);
PSLIST_ENTRY InterlockedFlushSList(PSLIST_HEADER ListHead);
USHORT QueryDepthSList(PSLIST_HEADER ListHead);
#define ExInitializeSListHead InitializeSListHead
#define ExInterlockedPushEntrySList(h, e, l) ((void)(l), InterlockedPushEntrySList(h, e))
#define ExInterlockedPopEntrySList(h, l) ((void)(l), InterlockedPopEntrySList(h))
#define ExInterlockedFlushSList InterlockedFlushSList
#define ExQueryDepthSList QueryDepthSList

/* Doubly linked lists (LIST_ENTRY is wsk_base.h's). */
FORCEINLINE VOID InitializeListHead(PLIST_ENTRY h)
{
	h->Flink = h->Blink = h;
}
FORCEINLINE BOOLEAN IsListEmpty(const LIST_ENTRY *h)
{
	return h->Flink == h;
}
FORCEINLINE VOID InsertTailList(PLIST_ENTRY h, PLIST_ENTRY e)
{
	e->Flink = h;
	e->Blink = h->Blink;
	h->Blink->Flink = e;
	h->Blink = e;
}
FORCEINLINE VOID InsertHeadList(PLIST_ENTRY h, PLIST_ENTRY e)
{
	e->Flink = h->Flink;
	e->Blink = h;
	h->Flink->Blink = e;
	h->Flink = e;
}
FORCEINLINE BOOLEAN RemoveEntryList(PLIST_ENTRY e)
{
	PLIST_ENTRY f = e->Flink, b = e->Blink;

	b->Flink = f;
	f->Blink = b;
	return f == b;
}
FORCEINLINE PLIST_ENTRY RemoveHeadList(PLIST_ENTRY h)
{
	PLIST_ENTRY e = h->Flink;

	RemoveEntryList(e);
	return e;
}
FORCEINLINE PLIST_ENTRY RemoveTailList(PLIST_ENTRY h)
{
	PLIST_ENTRY e = h->Blink;

	RemoveEntryList(e);
	return e;
}

/* Interlocked*: full barriers, as on Windows. */
#define DPW_KM_SEQ __ATOMIC_SEQ_CST
FORCEINLINE LONG InterlockedIncrement(LONG volatile *p)
{
	return __atomic_add_fetch(p, 1, DPW_KM_SEQ);
}
FORCEINLINE LONG InterlockedDecrement(LONG volatile *p)
{
	return __atomic_sub_fetch(p, 1, DPW_KM_SEQ);
}
FORCEINLINE LONG InterlockedExchange(LONG volatile *p, LONG v)
{
	return __atomic_exchange_n(p, v, DPW_KM_SEQ);
}
FORCEINLINE LONG InterlockedExchangeAdd(LONG volatile *p, LONG v)
{
	return __atomic_fetch_add(p, v, DPW_KM_SEQ);
}
FORCEINLINE LONG InterlockedAdd(LONG volatile *p, LONG v)
{
	return __atomic_add_fetch(p, v, DPW_KM_SEQ);
}
FORCEINLINE LONG InterlockedCompareExchange(LONG volatile *p, LONG exchange, LONG comparand)
{
	__atomic_compare_exchange_n(p, &comparand, exchange, 0, DPW_KM_SEQ, DPW_KM_SEQ);
	return comparand;
}
FORCEINLINE LONG InterlockedOr(LONG volatile *p, LONG v)
{
	return __atomic_fetch_or(p, v, DPW_KM_SEQ);
}
FORCEINLINE LONG InterlockedAnd(LONG volatile *p, LONG v)
{
	return __atomic_fetch_and(p, v, DPW_KM_SEQ);
}
FORCEINLINE LONG64 InterlockedIncrement64(LONG64 volatile *p)
{
	return __atomic_add_fetch(p, 1, DPW_KM_SEQ);
}
FORCEINLINE LONG64 InterlockedDecrement64(LONG64 volatile *p)
{
	return __atomic_sub_fetch(p, 1, DPW_KM_SEQ);
}
FORCEINLINE LONG64 InterlockedExchangeAdd64(LONG64 volatile *p, LONG64 v)
{
	return __atomic_fetch_add(p, v, DPW_KM_SEQ);
}
FORCEINLINE LONG64 InterlockedCompareExchange64(LONG64 volatile *p, LONG64 exchange,
						LONG64 comparand)
{
	__atomic_compare_exchange_n(p, &comparand, exchange, 0, DPW_KM_SEQ, DPW_KM_SEQ);
	return comparand;
}
FORCEINLINE PVOID InterlockedExchangePointer(PVOID volatile *p, PVOID v)
{
	return __atomic_exchange_n(p, v, DPW_KM_SEQ);
}
FORCEINLINE PVOID InterlockedCompareExchangePointer(PVOID volatile *p, PVOID exchange,
						    PVOID comparand)
{
	__atomic_compare_exchange_n(p, &comparand, exchange, 0, DPW_KM_SEQ, DPW_KM_SEQ);
	return comparand;
}
#define ReadNoFence(p) __atomic_load_n((p), __ATOMIC_RELAXED)
#define WriteNoFence(p, v) __atomic_store_n((p), (v), __ATOMIC_RELAXED)
#define KeMemoryBarrier() __atomic_thread_fence(DPW_KM_SEQ)
#define MemoryBarrier() __atomic_thread_fence(DPW_KM_SEQ)

/* ---- pool -------------------------------------------------------------------------------- */

typedef enum _POOL_TYPE {
	NonPagedPool = 0,
	NonPagedPoolExecute = 0,
	PagedPool = 1,
	NonPagedPoolMustSucceed = 2,
	NonPagedPoolCacheAligned = 4,
	PagedPoolCacheAligned = 5,
	NonPagedPoolNx = 512,
	NonPagedPoolNxCacheAligned = 516,
} POOL_TYPE;
typedef ULONG64 POOL_FLAGS;
#define POOL_FLAG_UNINITIALIZED  0x0000000000000002ULL
#define POOL_FLAG_CACHE_ALIGNED  0x0000000000000004ULL
#define POOL_FLAG_RAISE_ON_FAILURE 0x0000000000000020ULL
#define POOL_FLAG_NON_PAGED      0x0000000000000040ULL
#define POOL_FLAG_NON_PAGED_EXECUTE 0x0000000000000080ULL
#define POOL_FLAG_PAGED          0x0000000000000100ULL

/* Memory counted per tag (the host reports what is still allocated at unload). ExAllocatePool2
 * zeroes unless POOL_FLAG_UNINITIALIZED, as on Windows; the older calls do not. NULL when
 * out of memory or for a size of 0. */
PVOID ExAllocatePoolWithTag(POOL_TYPE PoolType, SIZE_T NumberOfBytes, ULONG Tag);
PVOID ExAllocatePool2(POOL_FLAGS Flags, SIZE_T NumberOfBytes, ULONG Tag);
PVOID ExAllocatePoolZero(POOL_TYPE PoolType, SIZE_T NumberOfBytes, ULONG Tag);
VOID ExFreePoolWithTag(PVOID P, ULONG Tag);
VOID ExFreePool(PVOID P);
#define ExAllocatePool(t, n) ExAllocatePoolWithTag((t), (n), 0x656e6f4e /* 'None' */)

/* ---- strings and debug output -------------------------------------------------------------- */

VOID RtlInitUnicodeString(PUNICODE_STRING DestinationString, PCWSTR SourceString);
SIZE_T dpw_km_compare_memory(const VOID *a, const VOID *b, SIZE_T n);

/* To stderr, prefixed with the driver's name. KdPrint((...)) takes its arguments in double
 * parentheses, as on Windows. The format is Windows': %wZ (a PUNICODE_STRING), %ws and %S
 * (wide strings), %Z, %I64d, %Iu, and `l` is 32 bits (LONG, ULONG), as a driver writes it.
 * Not declared printf-like: the compiler would check Windows formats against glibc's. */
ULONG DbgPrint(PCSTR Format, ...);
ULONG DbgPrintEx(ULONG ComponentId, ULONG Level, PCSTR Format, ...);
ULONG vDbgPrintEx(ULONG ComponentId, ULONG Level, PCSTR Format, va_list ap);
#define KdPrint(args) DbgPrint args
#define KdPrintEx(args) DbgPrintEx args
#define DPFLTR_IHVNETWORK_ID 82
#define DPFLTR_IHVDRIVER_ID 77
#define DPFLTR_DEFAULT_ID 101
#define DPFLTR_ERROR_LEVEL 0
#define DPFLTR_WARNING_LEVEL 1
#define DPFLTR_TRACE_LEVEL 2
#define DPFLTR_INFO_LEVEL 3

/* ---- the driver object ------------------------------------------------------------------- */

typedef struct _DRIVER_OBJECT DRIVER_OBJECT, *PDRIVER_OBJECT;
typedef NTSTATUS DRIVER_INITIALIZE(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath);
typedef DRIVER_INITIALIZE *PDRIVER_INITIALIZE;
typedef VOID DRIVER_UNLOAD(PDRIVER_OBJECT DriverObject);
typedef DRIVER_UNLOAD *PDRIVER_UNLOAD;
typedef NTSTATUS DRIVER_DISPATCH(PDEVICE_OBJECT DeviceObject, PIRP Irp);
typedef DRIVER_DISPATCH *PDRIVER_DISPATCH;
#define IRP_MJ_MAXIMUM_FUNCTION 0x1b

/* dpwsk-host fills DriverName ("\Driver\<name>") and calls DriverEntry, then DriverUnload at
 * SIGINT/SIGTERM. Device objects do not exist here: a WSK client needs none. */
struct _DRIVER_OBJECT {
	CSHORT Type;
	CSHORT Size;
	PDEVICE_OBJECT DeviceObject;
	ULONG Flags;
	PVOID DriverStart;
	ULONG DriverSize;
	PVOID DriverSection;
	PVOID DriverExtension;
	UNICODE_STRING DriverName;
	PUNICODE_STRING HardwareDatabase;
	PVOID FastIoDispatch;
	PDRIVER_INITIALIZE DriverInit;
	PVOID DriverStartIo;
	PDRIVER_UNLOAD DriverUnload;
	PDRIVER_DISPATCH MajorFunction[IRP_MJ_MAXIMUM_FUNCTION + 1];
};

/* ---- socket numbers as Windows has them --------------------------------------------------- */

/* The system's socket headers (included above, by sockaddr.h) define these with Linux's
 * numbers; Windows code means Windows' (ws2def.h, ws2ipdef.h), which the provider reads. */
#undef SOL_SOCKET
#define SOL_SOCKET 0xffff
#undef SO_REUSEADDR
#define SO_REUSEADDR 0x0004
#undef SO_KEEPALIVE
#define SO_KEEPALIVE 0x0008
#undef SO_SNDBUF
#define SO_SNDBUF 0x1001
#undef SO_RCVBUF
#define SO_RCVBUF 0x1002
#undef SO_EXCLUSIVEADDRUSE
#define SO_EXCLUSIVEADDRUSE ((int)(~SO_REUSEADDR))
#undef IPV6_V6ONLY
#define IPV6_V6ONLY 27
#undef AI_PASSIVE
#define AI_PASSIVE DPW_AI_PASSIVE
#undef AI_CANONNAME
#define AI_CANONNAME DPW_AI_CANONNAME
#undef AI_NUMERICHOST
#define AI_NUMERICHOST DPW_AI_NUMERICHOST
#undef NI_NOFQDN
#define NI_NOFQDN DPW_NI_NOFQDN
#undef NI_NUMERICHOST
#define NI_NUMERICHOST DPW_NI_NUMERICHOST
#undef NI_NAMEREQD
#define NI_NAMEREQD DPW_NI_NAMEREQD
#undef NI_NUMERICSERV
#define NI_NUMERICSERV DPW_NI_NUMERICSERV
#undef NI_DGRAM
#define NI_DGRAM DPW_NI_DGRAM
/* IPPROTO_TCP, IPPROTO_UDP, IPPROTO_IPV6, SOCK_STREAM, SOCK_DGRAM and TCP_NODELAY have the
 * same numbers on both systems. Windows names the protocol type: */
typedef int IPPROTO, *PIPPROTO;

#ifdef __cplusplus
}
#endif

/* memset/memcpy for the Rtl macros, after the C linkage block. */
#include <string.h>

#endif /* DPWSK_KM_NTDDK_H */
