/* The kernel-call runtime dpwsk-host lends a driver (km/runtime.c, ntddk.h), no network:
 * KEVENTs of both kinds (one waiter or all, reset or not), waits with relative, absolute and
 * zero timeouts, system threads as waitable objects with their references and handles, spin
 * locks and SLists under two threads, pool memory per tag, the registry key, and the leak
 * report that says what is still held. */
#define DPW_KM_RUNTIME   /* built without -fshort-wchar: no L"..." strings here */
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "km.h"
#include "ntddk.h"

static int failures, checks;

#define CHECK(cond)                                                                     \
	do {                                                                            \
		checks++;                                                               \
		if (!(cond)) {                                                          \
			failures++;                                                     \
			printf("FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond);          \
		}                                                                       \
	} while (0)

static uint64_t now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000 + (uint64_t)t.tv_nsec / 1000000;
}

static LARGE_INTEGER relative_ms(LONGLONG ms)
{
	LARGE_INTEGER t;

	t.QuadPart = -ms * 10000;
	return t;
}

/* ---- events ------------------------------------------------------------------------------ */

static KEVENT gate;
static volatile LONG passed;

static VOID waiter(PVOID ctx)
{
	(void)ctx;
	if (KeWaitForSingleObject(&gate, Executive, KernelMode, FALSE, NULL) == STATUS_SUCCESS)
		InterlockedIncrement(&passed);
	PsTerminateSystemThread(STATUS_SUCCESS);
}

/* Start n waiter threads on gate; their objects in t[]. */
static void start_waiters(PETHREAD *t, int n)
{
	for (int i = 0; i < n; i++) {
		HANDLE h;

		CHECK(PsCreateSystemThread(&h, THREAD_ALL_ACCESS, NULL, NULL, NULL, waiter, NULL) ==
		      STATUS_SUCCESS);
		CHECK(ObReferenceObjectByHandle(h, THREAD_ALL_ACCESS, *PsThreadType, KernelMode,
						(PVOID *)&t[i], NULL) == STATUS_SUCCESS);
		CHECK(ZwClose(h) == STATUS_SUCCESS);
		CHECK(ZwClose(h) == STATUS_INVALID_HANDLE);   /* once */
	}
}

static void test_events(void)
{
	PETHREAD t[4];
	LARGE_INTEGER zero = { .QuadPart = 0 }, rel, past;
	uint64_t t0;

	printf("=== notification event: every waiter goes through, the event stays set\n");
	KeInitializeEvent(&gate, NotificationEvent, FALSE);
	passed = 0;
	start_waiters(t, 4);
	CHECK(KeWaitForSingleObject(&gate, Executive, KernelMode, FALSE, &zero) == STATUS_TIMEOUT);
	CHECK(KeSetEvent(&gate, IO_NO_INCREMENT, FALSE) == 0);
	for (int i = 0; i < 4; i++) {
		rel = relative_ms(5000);
		CHECK(KeWaitForSingleObject(t[i], Executive, KernelMode, FALSE, &rel) ==
		      STATUS_SUCCESS);
		ObDereferenceObject(t[i]);
	}
	CHECK(passed == 4);
	CHECK(KeReadStateEvent(&gate) == 1);
	CHECK(KeResetEvent(&gate) == 1 && KeReadStateEvent(&gate) == 0);

	printf("=== synchronization event: one waiter per KeSetEvent, reset by the wait\n");
	KeInitializeEvent(&gate, SynchronizationEvent, FALSE);
	passed = 0;
	start_waiters(t, 2);
	/* One signal lets exactly one through, whether the waiters already wait or not: the
	 * one that takes it resets the event. */
	KeSetEvent(&gate, IO_NO_INCREMENT, FALSE);
	t0 = now_ms();
	while (passed < 1 && now_ms() - t0 < 5000)
		sched_yield();
	CHECK(passed == 1);
	CHECK(KeReadStateEvent(&gate) == 0);   /* taken by the waiter */
	KeSetEvent(&gate, IO_NO_INCREMENT, FALSE);
	for (int i = 0; i < 2; i++) {
		rel = relative_ms(5000);
		CHECK(KeWaitForSingleObject(t[i], Executive, KernelMode, FALSE, &rel) ==
		      STATUS_SUCCESS);
		ObDereferenceObject(t[i]);
	}
	CHECK(passed == 2);

	printf("=== timeouts: relative (not before it), absolute in the future (not before it) "
	       "and in the past, zero\n");
	KeInitializeEvent(&gate, NotificationEvent, FALSE);
	rel = relative_ms(50);
	t0 = now_ms();
	CHECK(KeWaitForSingleObject(&gate, Executive, KernelMode, FALSE, &rel) == STATUS_TIMEOUT);
	CHECK(now_ms() - t0 >= 49);
	KeQuerySystemTime(&past);
	past.QuadPart += 50 * 10000;   /* 50 ms from now, in system time */
	t0 = now_ms();
	CHECK(KeWaitForSingleObject(&gate, Executive, KernelMode, FALSE, &past) == STATUS_TIMEOUT);
	CHECK(now_ms() - t0 >= 49);
	KeQuerySystemTime(&past);
	past.QuadPart -= 10000000;   /* a second ago */
	CHECK(KeWaitForSingleObject(&gate, Executive, KernelMode, FALSE, &past) == STATUS_TIMEOUT);
	CHECK(KeWaitForSingleObject(&gate, Executive, KernelMode, FALSE, &zero) == STATUS_TIMEOUT);
	KeSetEvent(&gate, IO_NO_INCREMENT, FALSE);
	CHECK(KeWaitForSingleObject(&gate, Executive, KernelMode, FALSE, &zero) == STATUS_SUCCESS);
	rel = relative_ms(20);
	t0 = now_ms();
	CHECK(KeDelayExecutionThread(KernelMode, FALSE, &rel) == STATUS_SUCCESS);
	CHECK(now_ms() - t0 >= 19);
	CHECK(KeWaitForSingleObject(NULL, Executive, KernelMode, FALSE, NULL) ==
	      STATUS_INVALID_PARAMETER);
}

/* ---- threads, references, handles ------------------------------------------------------- */

static VOID returns(PVOID ctx)
{
	*(int *)ctx = 1;   /* ends by returning, not PsTerminateSystemThread */
}

static void test_threads(void)
{
	struct dpw_km_leaks l;
	HANDLE h;
	PETHREAD t = NULL;
	int ran = 0;

	printf("=== a thread that returns is ended too; a handle is a reference until ZwClose\n");
	CHECK(PsCreateSystemThread(&h, THREAD_ALL_ACCESS, NULL, NULL, NULL, returns, &ran) ==
	      STATUS_SUCCESS);
	CHECK(ObReferenceObjectByHandle(h, THREAD_ALL_ACCESS, *PsThreadType, KernelMode,
					(PVOID *)&t, NULL) == STATUS_SUCCESS);
	CHECK(KeWaitForSingleObject(t, Executive, KernelMode, FALSE, NULL) == STATUS_SUCCESS);
	CHECK(ran == 1);
	dpw_km_leaks(&l);
	CHECK(l.threads_running == 0 && l.handles_open == 1 && l.references == 1);
	ObDereferenceObject(t);
	CHECK(ZwClose(h) == STATUS_SUCCESS);
	dpw_km_leaks(&l);
	CHECK(l.threads_running == 0 && l.handles_open == 0 && l.references == 0);
	CHECK(ObReferenceObjectByHandle(h, 0, *PsThreadType, KernelMode, (PVOID *)&t, NULL) ==
	      STATUS_INVALID_HANDLE);
	CHECK(ObReferenceObjectByHandle((HANDLE)&ran, 0, *PsThreadType, KernelMode, (PVOID *)&t,
					NULL) == STATUS_INVALID_HANDLE);
}

/* PsTerminateSystemThread must leave without unwinding the driver's frames: once the thread
 * is signalled ended, the host may unload the driver's image, and an unwind reads its tables
 * (dpwsk-host died so at exit, 1 run in 5). A cleanup handler pushed in the start routine is
 * the witness: an unwind runs it, the way out that jumps below the driver's frames does not. */
static volatile int unwound;
static volatile pid_t terminating_tid;

static void note_unwound(void *arg)
{
	(void)arg;
	unwound = 1;
}

static VOID terminates(PVOID ctx)
{
	(void)ctx;
	terminating_tid = (pid_t)syscall(SYS_gettid);
	pthread_cleanup_push(note_unwound, NULL);
	PsTerminateSystemThread(STATUS_SUCCESS);
	pthread_cleanup_pop(0);
}

static void test_terminate_does_not_unwind(void)
{
	char task[64];
	HANDLE h;
	PETHREAD t = NULL;
	uint64_t deadline;

	printf("=== PsTerminateSystemThread leaves without unwinding the driver's frames\n");
	CHECK(PsCreateSystemThread(&h, THREAD_ALL_ACCESS, NULL, NULL, NULL, terminates, NULL) ==
	      STATUS_SUCCESS);
	CHECK(ObReferenceObjectByHandle(h, THREAD_ALL_ACCESS, *PsThreadType, KernelMode,
					(PVOID *)&t, NULL) == STATUS_SUCCESS);
	CHECK(KeWaitForSingleObject(t, Executive, KernelMode, FALSE, NULL) == STATUS_SUCCESS);
	ObDereferenceObject(t);
	CHECK(ZwClose(h) == STATUS_SUCCESS);
	/* Wait (bounded) for the Linux thread itself to be gone: whatever its way out runs, has. */
	snprintf(task, sizeof(task), "/proc/self/task/%d", (int)terminating_tid);
	deadline = now_ms() + 5000;
	while (access(task, F_OK) == 0 && now_ms() < deadline)
		sched_yield();
	CHECK(access(task, F_OK) != 0);
	CHECK(unwound == 0);
}

/* ---- spin locks, SLists, Interlocked ---------------------------------------------------- */

static KSPIN_LOCK lock;
static long shared_count;
static SLIST_HEADER list;
static SLIST_ENTRY entries[2][1000];

static VOID hammer(PVOID ctx)
{
	int who = (int)(intptr_t)ctx;

	for (int i = 0; i < 1000; i++) {
		KIRQL irql;

		KeAcquireSpinLock(&lock, &irql);
		shared_count++;
		KeReleaseSpinLock(&lock, irql);
		InterlockedPushEntrySList(&list, &entries[who][i]);
	}
}

static void test_locks(void)
{
	HANDLE h[2];
	PETHREAD t[2];
	PSLIST_ENTRY e;
	LONG v = 5;
	int n = 0;

	printf("=== spin lock and SList under two threads: nothing lost\n");
	KeInitializeSpinLock(&lock);
	InitializeSListHead(&list);
	for (int i = 0; i < 2; i++) {
		CHECK(PsCreateSystemThread(&h[i], THREAD_ALL_ACCESS, NULL, NULL, NULL, hammer,
					   (PVOID)(intptr_t)i) == STATUS_SUCCESS);
		ObReferenceObjectByHandle(h[i], 0, *PsThreadType, KernelMode, (PVOID *)&t[i], NULL);
		ZwClose(h[i]);
	}
	for (int i = 0; i < 2; i++) {
		KeWaitForSingleObject(t[i], Executive, KernelMode, FALSE, NULL);
		ObDereferenceObject(t[i]);
	}
	CHECK(shared_count == 2000);
	CHECK(QueryDepthSList(&list) == 2000);
	while ((e = InterlockedPopEntrySList(&list)) != NULL)
		n++;
	CHECK(n == 2000 && QueryDepthSList(&list) == 0);
	InterlockedPushEntrySList(&list, &entries[0][0]);
	InterlockedPushEntrySList(&list, &entries[0][1]);
	CHECK(InterlockedPopEntrySList(&list) == &entries[0][1]);   /* LIFO */
	CHECK(InterlockedFlushSList(&list) == &entries[0][0] && QueryDepthSList(&list) == 0);

	printf("=== Interlocked*: the values Windows returns\n");
	CHECK(InterlockedIncrement(&v) == 6 && InterlockedDecrement(&v) == 5);
	CHECK(InterlockedExchange(&v, 9) == 5 && v == 9);
	CHECK(InterlockedCompareExchange(&v, 1, 8) == 9 && v == 9);
	CHECK(InterlockedCompareExchange(&v, 1, 9) == 9 && v == 1);
	CHECK(InterlockedExchangeAdd(&v, 4) == 1 && v == 5);
}

/* ---- pool, registry, the report --------------------------------------------------------- */

static void test_pool_registry(void)
{
	struct dpw_km_leaks l0, l;
	char report[512];
	FILE *f;
	PUCHAR a, b;
	UNICODE_STRING key, name;
	OBJECT_ATTRIBUTES attr;
	WCHAR kbuf[128], nbuf[16];
	UCHAR buf[64];
	PKEY_VALUE_PARTIAL_INFORMATION v = (PKEY_VALUE_PARTIAL_INFORMATION)buf;
	HANDLE k;
	ULONG got;
	const char *path = "\\Registry\\Machine\\System\\CurrentControlSet\\Services\\t\\Parameters";

	printf("=== pool: counted per tag, ExAllocatePool2 zeroed, reported until freed\n");
	dpw_km_leaks(&l0);
	a = ExAllocatePool2(POOL_FLAG_NON_PAGED, 100, 0x74736554 /* 'tseT' */);
	b = ExAllocatePoolWithTag(NonPagedPoolNx, 10, 0x74736554);
	CHECK(a != NULL && b != NULL && ((uintptr_t)a % 64) == 0);
	CHECK(a[0] == 0 && a[99] == 0);
	CHECK(ExAllocatePool2(POOL_FLAG_NON_PAGED, 0, 1) == NULL);
	dpw_km_leaks(&l);
	CHECK(l.pool_blocks == l0.pool_blocks + 2 && l.pool_bytes == l0.pool_bytes + 110);
	f = fmemopen(report, sizeof(report), "w");
	CHECK(dpw_km_report_leaks(f, "t") >= 1);
	fclose(f);
	CHECK(strstr(report, "'Test' 2 (110 bytes)") != NULL);
	ExFreePoolWithTag(a, 0x74736554);
	ExFreePool(b);
	dpw_km_leaks(&l);
	CHECK(l.pool_blocks == l0.pool_blocks && l.pool_bytes == l0.pool_bytes);

	printf("=== registry: the service key's Parameters, REG_DWORD and REG_SZ, short buffers\n");
	dpw_km_set_service_key("\\Registry\\Machine\\System\\CurrentControlSet\\Services\\t");
	CHECK(dpw_km_registry_set("Port", "7008") == 0);
	CHECK(dpw_km_registry_set("Server", "peer.test") == 0);
	for (size_t i = 0; i <= strlen(path); i++)
		kbuf[i] = (WCHAR)path[i];
	RtlInitUnicodeString(&key, kbuf);
	CHECK(key.Length == strlen(path) * 2);
	InitializeObjectAttributes(&attr, &key, OBJ_KERNEL_HANDLE, NULL, NULL);
	CHECK(ZwOpenKey(&k, KEY_READ, &attr) == STATUS_SUCCESS);
	nbuf[0] = 'P'; nbuf[1] = 'o'; nbuf[2] = 'r'; nbuf[3] = 't'; nbuf[4] = 0;
	RtlInitUnicodeString(&name, nbuf);
	CHECK(ZwQueryValueKey(k, &name, KeyValuePartialInformation, v, sizeof(buf), &got) ==
	      STATUS_SUCCESS);
	CHECK(v->Type == REG_DWORD && v->DataLength == 4 && *(ULONG *)v->Data == 7008);
	nbuf[0] = 'S'; nbuf[1] = 'e'; nbuf[2] = 'r'; nbuf[3] = 'v'; nbuf[4] = 'e'; nbuf[5] = 'r';
	nbuf[6] = 0;
	RtlInitUnicodeString(&name, nbuf);
	CHECK(ZwQueryValueKey(k, &name, KeyValuePartialInformation, v, 14, &got) ==
	      STATUS_BUFFER_OVERFLOW);
	CHECK(got == offsetof(KEY_VALUE_PARTIAL_INFORMATION, Data) + 20 && v->DataLength == 20);
	CHECK(ZwQueryValueKey(k, &name, KeyValuePartialInformation, v, 4, &got) ==
	      STATUS_BUFFER_TOO_SMALL);
	CHECK(ZwQueryValueKey(k, &name, KeyValuePartialInformation, v, sizeof(buf), &got) ==
	      STATUS_SUCCESS);
	CHECK(v->Type == REG_SZ && ((WCHAR *)v->Data)[0] == 'p' && ((WCHAR *)v->Data)[9] == 0);
	nbuf[0] = 'X';
	nbuf[1] = 0;
	RtlInitUnicodeString(&name, nbuf);
	CHECK(ZwQueryValueKey(k, &name, KeyValuePartialInformation, v, sizeof(buf), &got) ==
	      STATUS_OBJECT_NAME_NOT_FOUND);
	dpw_km_leaks(&l);
	CHECK(l.keys_open == 1);
	CHECK(ZwClose(k) == STATUS_SUCCESS);
	CHECK(ZwQueryValueKey(k, &name, KeyValuePartialInformation, v, sizeof(buf), &got) ==
	      STATUS_INVALID_HANDLE);
	kbuf[4] = 'X';   /* another key */
	CHECK(ZwOpenKey(&k, KEY_READ, &attr) == STATUS_OBJECT_NAME_NOT_FOUND);
	dpw_km_leaks(&l);
	CHECK(l.keys_open == 0);
}

/* ---- DbgPrint's formats --------------------------------------------------------------------- */

static size_t format_into(char *buf, size_t cap, const char *fmt, ...)
{
	va_list ap;
	size_t n;

	va_start(ap, fmt);
	n = dpw_km_format(buf, cap, fmt, ap);
	va_end(ap);
	return n;
}

static bool formats_as(const char *want, const char *fmt, ...)
{
	char got[256];
	va_list ap;
	size_t n;

	va_start(ap, fmt);
	n = dpw_km_format(got, sizeof(got), fmt, ap);
	va_end(ap);
	if (n != strlen(want) || strcmp(got, want) != 0) {
		printf("format \"%s\": got \"%s\" (%zu), want \"%s\"\n", fmt, got, n, want);
		return false;
	}
	return true;
}

static void test_formats(void)
{
	static const WCHAR wide[] = { 'T', 'c', 'p', 'i', 'p', '6', 0 };   /* no -fshort-wchar here */
	UNICODE_STRING u = RTL_CONSTANT_STRING(wide);
	static const WCHAR odd[] = { 'a', 0x263a, 'b', 0 };
	char ansi_text[] = "abcdef";
	ANSI_STRING a = { 3, sizeof(ansi_text), ansi_text };
	ULONG ul = 4000000000u;
	LONG l = -5;
	char small[8];

	printf("=== DbgPrint formats as Windows reads them: %%wZ, %%ws, %%S, %%Z, %%I64, LLP64 "
	       "longs, '*' widths\n");
	CHECK(formats_as("key Tcpip6.", "key %wZ.", &u));
	CHECK(formats_as("[Tcpip6] [Tcp] [a?b]", "[%ws] [%.3S] [%ls]", wide, wide, odd));
	CHECK(formats_as("abc|x|W", "%Z|%c|%wc", &a, 'x', (WCHAR)'W'));
	CHECK(formats_as("4000000000 -5 ee6b2800", "%lu %ld %lx", ul, l, ul));
	CHECK(formats_as("18446744073709551615 -1 ffffffffffffffff",
			 "%I64u %I64d %llx", (ULONGLONG)-1, (LONGLONG)-1, (ULONGLONG)-1));
	CHECK(formats_as("7 8", "%Iu %zu", (SIZE_T)7, (SIZE_T)8));
	CHECK(formats_as("   42|42   |0042|  ab", "%5d|%-5d|%04x|%*.*s", 42, 42, 0x42, 4, 2,
			 "abc"));
	CHECK(formats_as("100% (null) (null)", "100%% %ws %wZ", (PCWSTR)NULL,
			 (PUNICODE_STRING)NULL));
	CHECK(formats_as("1.50 end %", "%.2f end %", 1.5));
	CHECK(formats_as("%k", "%k"));
	{
		/* a counted wide string without a NUL (%.*ws): nothing read past its count */
		WCHAR *counted = malloc(3 * sizeof(WCHAR));
		static char long_text[700];

		memcpy(counted, wide, 3 * sizeof(WCHAR));
		CHECK(formats_as("<Tcp>", "<%.*ws>", 3, counted));
		free(counted);
		CHECK(formats_as("narrow|n", "%hS|%hC", "narrow", 'n'));
		CHECK(formats_as("5    |abc", "%-*d|%.*s", -5, 5, -1, "abc"));
		memset(long_text, 'y', sizeof(long_text) - 1);
		CHECK(format_into(NULL, 0, "[%s]", long_text) == sizeof(long_text) + 1);
	}
	/* bounded like snprintf: the length it needed, the text cut with its NUL */
	CHECK(format_into(small, sizeof(small), "01234%d", 56789) == 10);
	CHECK(strcmp(small, "0123456") == 0);
}

int main(void)
{
	test_formats();
	test_events();
	test_threads();
	test_terminate_does_not_unwind();
	test_locks();
	test_pool_registry();
	printf("=== nothing left behind\n");
	{
		FILE *f = fopen("/dev/null", "w");

		CHECK(dpw_km_report_leaks(f, "t") == 0);
		fclose(f);
	}
	printf("%d checks passed, %d failed\n", checks - failures, failures);
	return failures == 0 ? 0 : 1;
}
