/* The kernel calls of ntddk.h, in userspace: what dpwsk-host lends a Windows driver. Waits
 * are futexes on the object's SignalState word (so a zeroed or stack KEVENT needs no
 * teardown, as on Windows); system threads are pthreads behind a reference-counted object;
 * pool memory carries a small header with its tag. Everything a driver takes is counted so
 * that the host can say, after DriverUnload, what the driver left behind (km.h). */
#define DPW_KM_RUNTIME   /* this file is not driver code: no -fshort-wchar check */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "km.h"
#include "ntddk.h"

/* ---- time ------------------------------------------------------------------------------ */

#define NS_PER_TICK 100LL                    /* Windows' time unit: 100 ns */
#define TICKS_PER_SEC 10000000LL
#define EPOCH_1601_TO_1970_SEC 11644473600LL

static LONGLONG ticks_of(const struct timespec *t)
{
	return (LONGLONG)t->tv_sec * TICKS_PER_SEC + t->tv_nsec / NS_PER_TICK;
}

VOID KeQuerySystemTime(PLARGE_INTEGER CurrentTime)
{
	struct timespec t;

	clock_gettime(CLOCK_REALTIME, &t);
	CurrentTime->QuadPart = ticks_of(&t) + EPOCH_1601_TO_1970_SEC * TICKS_PER_SEC;
}

ULONGLONG KeQueryInterruptTime(VOID)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (ULONGLONG)ticks_of(&t);
}

/* A Windows timeout as a CLOCK_MONOTONIC deadline in ticks: negative is relative, positive
 * an absolute system time. */
static LONGLONG deadline_of(const LARGE_INTEGER *timeout)
{
	LONGLONG now = (LONGLONG)KeQueryInterruptTime();
	LARGE_INTEGER sys;

	if (timeout->QuadPart <= 0)
		return now - timeout->QuadPart;
	KeQuerySystemTime(&sys);
	return now + (timeout->QuadPart > sys.QuadPart ? timeout->QuadPart - sys.QuadPart : 0);
}

/* ---- waits ------------------------------------------------------------------------------ */

static long futex(volatile LONG *word, int op, LONG val, const struct timespec *rel)
{
	return syscall(SYS_futex, word, op, val, rel, NULL, 0);
}

VOID KeInitializeEvent(PRKEVENT Event, EVENT_TYPE Type, BOOLEAN State)
{
	Event->Header.Type = Type == SynchronizationEvent ? DPW_KM_OBJ_SYNCHRONIZATION_EVENT
							 : DPW_KM_OBJ_NOTIFICATION_EVENT;
	Event->Header.Reserved[0] = Event->Header.Reserved[1] = 0;
	__atomic_store_n(&Event->Header.SignalState, State ? 1 : 0, __ATOMIC_SEQ_CST);
}

LONG KeSetEvent(PRKEVENT Event, KPRIORITY Increment, BOOLEAN Wait)
{
	/* One waiter for a synchronization event (it takes the signal), all for a notification.
	 * Read before the signal: a waiter that sees it may return and free the event at once
	 * (drivers keep a KEVENT in the memory the wait protects, as Windows lets them), so
	 * nothing here reads the event after it. The wake only names the address: a spurious
	 * wake there is harmless, waiters look again. */
	int waking = Event->Header.Type == DPW_KM_OBJ_SYNCHRONIZATION_EVENT ? 1 : INT_MAX;
	LONG was = __atomic_exchange_n(&Event->Header.SignalState, 1, __ATOMIC_SEQ_CST);

	(void)Increment;
	(void)Wait;
	futex(&Event->Header.SignalState, FUTEX_WAKE_PRIVATE, waking, NULL);
	return was;
}

LONG KeResetEvent(PRKEVENT Event)
{
	return __atomic_exchange_n(&Event->Header.SignalState, 0, __ATOMIC_SEQ_CST);
}

VOID KeClearEvent(PRKEVENT Event)
{
	__atomic_store_n(&Event->Header.SignalState, 0, __ATOMIC_SEQ_CST);
}

LONG KeReadStateEvent(PRKEVENT Event)
{
	return __atomic_load_n(&Event->Header.SignalState, __ATOMIC_SEQ_CST);
}

/* Signalled now? A synchronization event is taken by the waiter that sees it set. */
static bool take_signal(DISPATCHER_HEADER *h)
{
	LONG one = 1;

	if (h->Type == DPW_KM_OBJ_SYNCHRONIZATION_EVENT)
		return __atomic_compare_exchange_n(&h->SignalState, &one, 0, false,
						   __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
	return __atomic_load_n(&h->SignalState, __ATOMIC_SEQ_CST) != 0;
}

NTSTATUS KeWaitForSingleObject(PVOID Object, KWAIT_REASON WaitReason, KPROCESSOR_MODE WaitMode,
			       BOOLEAN Alertable, PLARGE_INTEGER Timeout)
{
	DISPATCHER_HEADER *h = Object;
	LONGLONG deadline = 0;

	(void)WaitReason;
	(void)WaitMode;
	(void)Alertable;
	if (h == NULL || (h->Type != DPW_KM_OBJ_NOTIFICATION_EVENT &&
			  h->Type != DPW_KM_OBJ_SYNCHRONIZATION_EVENT && h->Type != DPW_KM_OBJ_THREAD))
		return STATUS_INVALID_PARAMETER;
	if (Timeout != NULL)
		deadline = deadline_of(Timeout);
	for (;;) {
		struct timespec rel, *relp = NULL;

		if (take_signal(h))
			return STATUS_SUCCESS;
		if (Timeout != NULL) {
			LONGLONG left = deadline - (LONGLONG)KeQueryInterruptTime();

			if (left <= 0)
				return STATUS_TIMEOUT;
			rel.tv_sec = left / TICKS_PER_SEC;
			rel.tv_nsec = (left % TICKS_PER_SEC) * NS_PER_TICK;
			relp = &rel;
		}
		/* Sleeps only while the word is still 0: a KeSetEvent in between returns at once. */
		if (futex(&h->SignalState, FUTEX_WAIT_PRIVATE, 0, relp) != 0 && errno != EAGAIN &&
		    errno != EINTR && errno != ETIMEDOUT)
			return STATUS_INVALID_PARAMETER;
	}
}

NTSTATUS KeDelayExecutionThread(KPROCESSOR_MODE WaitMode, BOOLEAN Alertable,
				PLARGE_INTEGER Interval)
{
	KEVENT never;

	if (Interval == NULL)
		return STATUS_INVALID_PARAMETER;
	KeInitializeEvent(&never, NotificationEvent, FALSE);
	return KeWaitForSingleObject(&never, Executive, WaitMode, Alertable, Interval) ==
			       STATUS_TIMEOUT ? STATUS_SUCCESS : STATUS_INVALID_PARAMETER;
}

/* ---- system threads and their objects ------------------------------------------------------- */

/* A thread object: waitable (signalled when the thread has ended), referenced by its handle,
 * by the running thread, and by each ObReferenceObject; freed at the last reference. */
struct _KTHREAD {
	DISPATCHER_HEADER Header;          /* first: KeWaitForSingleObject takes the object */
	uint32_t magic;
	LONG refs;
	bool handle_open;                  /* [objects_lock] the handle's reference */
	bool running;                      /* [objects_lock] the running thread's reference */
	PKSTART_ROUTINE start;
	PVOID context;
	struct _KTHREAD *next;             /* [objects_lock] every live object */
};

#define THREAD_MAGIC 0x4b544852u   /* "KTHR" */

static pthread_mutex_t objects_lock = PTHREAD_MUTEX_INITIALIZER;
static struct _KTHREAD *objects;       /* [objects_lock] */
static __thread struct _KTHREAD *current;
/* Where PsTerminateSystemThread leaves a system thread: back in thread_main, below the
 * driver's frames (see there). */
static __thread jmp_buf *thread_exit_point;
static __thread struct _KTHREAD other_thread = { { DPW_KM_OBJ_THREAD, 0, { 0, 0 } }, 0, 0,
						 false, false, NULL, NULL, NULL };
static LONG threads_running;

static POBJECT_TYPE thread_type_tag, event_type_tag;
POBJECT_TYPE *PsThreadType = &thread_type_tag;
POBJECT_TYPE *ExEventObjectType = &event_type_tag;

/* The live object behind a pointer, or NULL: handles and object pointers are checked against
 * the list, so a stale or foreign one is refused instead of followed. [objects_lock] */
static struct _KTHREAD *find_locked(const void *p)
{
	for (struct _KTHREAD *t = objects; t != NULL; t = t->next)
		if (t == p)
			return t;
	return NULL;
}

static void unref_locked(struct _KTHREAD *t)
{
	if (--t->refs > 0)
		return;
	for (struct _KTHREAD **pp = &objects; *pp != NULL; pp = &(*pp)->next)
		if (*pp == t) {
			*pp = t->next;
			break;
		}
	t->magic = 0;
	free(t);
}

/* The thread is over: its waiters go, and its own reference with it. */
static void thread_ended(struct _KTHREAD *t)
{
	/* All under the lock the leak count takes: a waiter woken here already sees the thread
	 * not running and its reference gone. */
	pthread_mutex_lock(&objects_lock);
	__atomic_sub_fetch(&threads_running, 1, __ATOMIC_SEQ_CST);
	t->running = false;
	__atomic_store_n(&t->Header.SignalState, 1, __ATOMIC_SEQ_CST);
	futex(&t->Header.SignalState, FUTEX_WAKE_PRIVATE, INT_MAX, NULL);
	unref_locked(t);
	pthread_mutex_unlock(&objects_lock);
}

/* A system thread ends in here, whether its start routine returns or calls
 * PsTerminateSystemThread, which jumps back to this frame. It must not end with pthread_exit
 * from the driver's frames: that unwinds through them, reading the driver image's unwind
 * tables, and once the thread is signalled ended the host may already have unloaded that
 * image (a SIGSEGV in libgcc's unwinder at the host's exit). The kernel's
 * PsTerminateSystemThread runs no handlers either. */
static void *thread_main(void *arg)
{
	struct _KTHREAD *t = arg;
	jmp_buf exit_point;

	current = t;
	if (setjmp(exit_point) == 0) {
		thread_exit_point = &exit_point;
		t->start(t->context);
	}
	thread_exit_point = NULL;
	current = NULL;
	thread_ended(t);
	return NULL;
}

NTSTATUS PsCreateSystemThread(PHANDLE ThreadHandle, ULONG DesiredAccess,
			      POBJECT_ATTRIBUTES ObjectAttributes, HANDLE ProcessHandle,
			      PCLIENT_ID ClientId, PKSTART_ROUTINE StartRoutine,
			      PVOID StartContext)
{
	struct _KTHREAD *t;
	pthread_attr_t attr;
	pthread_t tid;
	int rc;

	(void)DesiredAccess;
	(void)ObjectAttributes;
	(void)ProcessHandle;
	if (ThreadHandle == NULL || StartRoutine == NULL)
		return STATUS_INVALID_PARAMETER;
	t = calloc(1, sizeof(*t));
	if (t == NULL)
		return STATUS_INSUFFICIENT_RESOURCES;
	t->Header.Type = DPW_KM_OBJ_THREAD;
	t->magic = THREAD_MAGIC;
	t->refs = 2;                       /* the handle's and the running thread's */
	t->handle_open = true;
	t->running = true;
	t->start = StartRoutine;
	t->context = StartContext;
	pthread_mutex_lock(&objects_lock);
	t->next = objects;
	objects = t;
	pthread_mutex_unlock(&objects_lock);
	__atomic_add_fetch(&threads_running, 1, __ATOMIC_SEQ_CST);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	rc = pthread_create(&tid, &attr, thread_main, t);
	pthread_attr_destroy(&attr);
	if (rc != 0) {
		__atomic_sub_fetch(&threads_running, 1, __ATOMIC_SEQ_CST);
		pthread_mutex_lock(&objects_lock);
		t->refs = 1;
		t->running = false;
		unref_locked(t);
		pthread_mutex_unlock(&objects_lock);
		return STATUS_INSUFFICIENT_RESOURCES;
	}
	if (ClientId != NULL) {
		ClientId->UniqueProcess = (HANDLE)(intptr_t)getpid();
		ClientId->UniqueThread = (HANDLE)t;
	}
	*ThreadHandle = (HANDLE)t;
	return STATUS_SUCCESS;
}

NTSTATUS PsTerminateSystemThread(NTSTATUS ExitStatus)
{
	struct _KTHREAD *t = current;

	(void)ExitStatus;
	if (t != NULL && thread_exit_point != NULL)
		longjmp(*thread_exit_point, 1);   /* thread_main ends it */
	pthread_exit(NULL);   /* not a system thread: nothing of ours to end */
}

PETHREAD PsGetCurrentThread(VOID)
{
	return current != NULL ? current : &other_thread;
}

HANDLE PsGetCurrentThreadId(VOID)
{
	return (HANDLE)(uintptr_t)syscall(SYS_gettid);
}

NTSTATUS ObReferenceObjectByHandle(HANDLE Handle, ACCESS_MASK DesiredAccess,
				   POBJECT_TYPE ObjectType, KPROCESSOR_MODE AccessMode,
				   PVOID *Object, POBJECT_HANDLE_INFORMATION HandleInformation)
{
	struct _KTHREAD *t;

	(void)DesiredAccess;
	(void)AccessMode;
	(void)HandleInformation;
	if (Object == NULL)
		return STATUS_INVALID_PARAMETER;
	*Object = NULL;
	if (ObjectType != NULL && ObjectType != *PsThreadType)
		return STATUS_OBJECT_TYPE_MISMATCH;
	pthread_mutex_lock(&objects_lock);
	t = find_locked(Handle);
	if (t == NULL || !t->handle_open) {
		pthread_mutex_unlock(&objects_lock);
		return STATUS_INVALID_HANDLE;
	}
	t->refs++;
	pthread_mutex_unlock(&objects_lock);
	*Object = t;
	return STATUS_SUCCESS;
}

LONG_PTR ObfReferenceObject(PVOID Object)
{
	struct _KTHREAD *t;
	LONG_PTR refs = 0;

	pthread_mutex_lock(&objects_lock);
	if ((t = find_locked(Object)) != NULL)
		refs = ++t->refs;
	pthread_mutex_unlock(&objects_lock);
	if (t == NULL)
		fprintf(stderr, "dpwsk-host: ObReferenceObject on %p, which is no object\n", Object);
	return refs;
}

LONG_PTR ObfDereferenceObject(PVOID Object)
{
	struct _KTHREAD *t;
	LONG_PTR refs = 0;

	pthread_mutex_lock(&objects_lock);
	if ((t = find_locked(Object)) != NULL) {
		refs = t->refs - 1;
		unref_locked(t);
	}
	pthread_mutex_unlock(&objects_lock);
	if (t == NULL)
		fprintf(stderr, "dpwsk-host: ObDereferenceObject on %p, which is no object "
			"(dereferenced once too often?)\n", Object);
	return refs;
}

static bool close_key(HANDLE Handle);

NTSTATUS ZwClose(HANDLE Handle)
{
	struct _KTHREAD *t;

	if (close_key(Handle))
		return STATUS_SUCCESS;
	pthread_mutex_lock(&objects_lock);
	t = find_locked(Handle);
	if (t == NULL || !t->handle_open) {
		pthread_mutex_unlock(&objects_lock);
		return STATUS_INVALID_HANDLE;
	}
	t->handle_open = false;
	unref_locked(t);
	pthread_mutex_unlock(&objects_lock);
	return STATUS_SUCCESS;
}

/* ---- the registry: one key of the driver's parameters ------------------------------------------ */

#define MAX_VALUES 32

static struct value {
	char name[64];
	char text[256];
} values[MAX_VALUES];
static unsigned nvalues;   /* set by the host before DriverEntry; read-only afterwards */

struct key {
	uint32_t magic;
	struct key *next;      /* [objects_lock] */
};
#define KEY_MAGIC 0x4b455921u   /* "KEY!" */
static struct key *keys;           /* [objects_lock] open keys */
static unsigned keys_open;         /* [objects_lock] */

int dpw_km_registry_set(const char *name, const char *value)
{
	if (nvalues == MAX_VALUES || strlen(name) >= sizeof(values[0].name) ||
	    strlen(value) >= sizeof(values[0].text))
		return -1;
	snprintf(values[nvalues].name, sizeof(values[0].name), "%s", name);
	snprintf(values[nvalues].text, sizeof(values[0].text), "%s", value);
	nvalues++;
	return 0;
}

/* UTF-16 to ASCII, for names; false if not ASCII or too long. */
static bool ascii(const UNICODE_STRING *u, char *out, size_t cap)
{
	size_t n = u != NULL && u->Buffer != NULL ? u->Length / sizeof(WCHAR) : 0;

	if (n >= cap)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (u->Buffer[i] == 0 || u->Buffer[i] > 0x7e)
			return false;
		out[i] = (char)u->Buffer[i];
	}
	out[n] = '\0';
	return true;
}

static bool ends_with(const char *s, const char *tail)
{
	size_t a = strlen(s), b = strlen(tail);

	return a >= b && strcasecmp(s + a - b, tail) == 0;
}

static char service_key[256];   /* "\Registry\Machine\...\Services\<name>", set by the host */

void dpw_km_set_service_key(const char *path)
{
	snprintf(service_key, sizeof(service_key), "%s", path);
}

NTSTATUS ZwOpenKey(PHANDLE KeyHandle, ACCESS_MASK DesiredAccess,
		   POBJECT_ATTRIBUTES ObjectAttributes)
{
	char path[512];
	struct key *k;

	(void)DesiredAccess;
	if (KeyHandle == NULL || ObjectAttributes == NULL ||
	    !ascii(ObjectAttributes->ObjectName, path, sizeof(path)))
		return STATUS_INVALID_PARAMETER;
	*KeyHandle = NULL;
	if (strcasecmp(path, service_key) != 0 &&
	    !(strncasecmp(path, service_key, strlen(service_key)) == 0 &&
	      ends_with(path, "\\Parameters") && strlen(path) == strlen(service_key) + 11))
		return STATUS_OBJECT_NAME_NOT_FOUND;
	if ((k = calloc(1, sizeof(*k))) == NULL)
		return STATUS_INSUFFICIENT_RESOURCES;
	k->magic = KEY_MAGIC;
	pthread_mutex_lock(&objects_lock);
	k->next = keys;
	keys = k;
	keys_open++;
	pthread_mutex_unlock(&objects_lock);
	*KeyHandle = (HANDLE)k;
	return STATUS_SUCCESS;
}

static bool key_open(HANDLE h)
{
	bool found = false;

	pthread_mutex_lock(&objects_lock);
	for (struct key *k = keys; k != NULL && !found; k = k->next)
		found = (HANDLE)k == h;
	pthread_mutex_unlock(&objects_lock);
	return found;
}

static bool close_key(HANDLE Handle)
{
	struct key *k = NULL;

	pthread_mutex_lock(&objects_lock);
	for (struct key **pp = &keys; *pp != NULL; pp = &(*pp)->next)
		if ((HANDLE)*pp == Handle) {
			k = *pp;
			*pp = k->next;
			keys_open--;
			break;
		}
	pthread_mutex_unlock(&objects_lock);
	if (k == NULL)
		return false;
	k->magic = 0;
	free(k);
	return true;
}

/* All digits, at most 32 bits: a REG_DWORD. */
static bool dword_of(const char *s, ULONG *v)
{
	unsigned long long x = 0;

	if (*s == '\0')
		return false;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9' || (x = x * 10 + (unsigned)(*s - '0')) > 0xffffffffull)
			return false;
	}
	*v = (ULONG)x;
	return true;
}

NTSTATUS ZwQueryValueKey(HANDLE KeyHandle, PUNICODE_STRING ValueName,
			 KEY_VALUE_INFORMATION_CLASS KeyValueInformationClass,
			 PVOID KeyValueInformation, ULONG Length, PULONG ResultLength)
{
	const size_t head = offsetof(KEY_VALUE_PARTIAL_INFORMATION, Data);
	PKEY_VALUE_PARTIAL_INFORMATION out = KeyValueInformation;
	const struct value *v = NULL;
	char name[64];
	ULONG dword, type, len;
	size_t n;

	if (!key_open(KeyHandle))
		return STATUS_INVALID_HANDLE;
	if (KeyValueInformationClass != KeyValuePartialInformation || ResultLength == NULL ||
	    !ascii(ValueName, name, sizeof(name)))
		return STATUS_INVALID_PARAMETER;
	for (unsigned i = 0; i < nvalues && v == NULL; i++)
		if (strcasecmp(values[i].name, name) == 0)
			v = &values[i];
	if (v == NULL)
		return STATUS_OBJECT_NAME_NOT_FOUND;
	n = strlen(v->text);
	if (dword_of(v->text, &dword)) {
		type = REG_DWORD;
		len = sizeof(ULONG);
	} else {
		type = REG_SZ;
		len = (ULONG)((n + 1) * sizeof(WCHAR));
	}
	*ResultLength = (ULONG)(head + len);
	if (out == NULL || Length < head)
		return STATUS_BUFFER_TOO_SMALL;
	out->TitleIndex = 0;
	out->Type = type;
	out->DataLength = len;
	if (Length < head + len)
		return STATUS_BUFFER_OVERFLOW;
	if (type == REG_DWORD) {
		memcpy(out->Data, &dword, sizeof(dword));
	} else {
		for (size_t i = 0; i <= n; i++) {
			WCHAR w = (WCHAR)(unsigned char)v->text[i];

			memcpy(out->Data + i * sizeof(WCHAR), &w, sizeof(w));
		}
	}
	return STATUS_SUCCESS;
}

/* ---- spin locks and SLists ------------------------------------------------------------------ */

VOID KeInitializeSpinLock(PKSPIN_LOCK SpinLock)
{
	__atomic_store_n(SpinLock, 0, __ATOMIC_RELEASE);
}

VOID KeAcquireSpinLockAtDpcLevel(PKSPIN_LOCK SpinLock)
{
	unsigned spins = 0;

	while (__atomic_exchange_n(SpinLock, 1, __ATOMIC_ACQUIRE) != 0) {
		/* The holder may have been preempted (a userspace thread can be, unlike code at
		 * DISPATCH_LEVEL): after a while, let it run. */
		while (__atomic_load_n(SpinLock, __ATOMIC_RELAXED) != 0)
			if (++spins % 128 == 0)
				sched_yield();
			else
				__builtin_ia32_pause();
	}
}

VOID KeReleaseSpinLockFromDpcLevel(PKSPIN_LOCK SpinLock)
{
	__atomic_store_n(SpinLock, 0, __ATOMIC_RELEASE);
}

VOID InitializeSListHead(PSLIST_HEADER ListHead)
{
	ListHead->Next = NULL;
	ListHead->Depth = 0;
	KeInitializeSpinLock(&ListHead->Lock);
}

PSLIST_ENTRY InterlockedPushEntrySList(PSLIST_HEADER ListHead, PSLIST_ENTRY ListEntry)
{
	PSLIST_ENTRY first;

	KeAcquireSpinLockAtDpcLevel(&ListHead->Lock);
	first = ListHead->Next;
	ListEntry->Next = first;
	ListHead->Next = ListEntry;
	ListHead->Depth++;
	KeReleaseSpinLockFromDpcLevel(&ListHead->Lock);
	return first;
}

PSLIST_ENTRY InterlockedPopEntrySList(PSLIST_HEADER ListHead)
{
	PSLIST_ENTRY first;

	KeAcquireSpinLockAtDpcLevel(&ListHead->Lock);
	first = ListHead->Next;
	if (first != NULL) {
		ListHead->Next = first->Next;
		ListHead->Depth--;
	}
	KeReleaseSpinLockFromDpcLevel(&ListHead->Lock);
	return first;
}

PSLIST_ENTRY InterlockedFlushSList(PSLIST_HEADER ListHead)
{
	PSLIST_ENTRY first;

	KeAcquireSpinLockAtDpcLevel(&ListHead->Lock);
	first = ListHead->Next;
	ListHead->Next = NULL;
	ListHead->Depth = 0;
	KeReleaseSpinLockFromDpcLevel(&ListHead->Lock);
	return first;
}

USHORT QueryDepthSList(PSLIST_HEADER ListHead)
{
	USHORT d;

	KeAcquireSpinLockAtDpcLevel(&ListHead->Lock);
	d = ListHead->Depth;
	KeReleaseSpinLockFromDpcLevel(&ListHead->Lock);
	return d;
}

/* ---- pool ----------------------------------------------------------------------------------- */

/* Each block: 64 bytes before the caller's memory (cache-aligned, whatever was asked), the
 * header in their last 16. Counted per tag. */
#define POOL_ALIGN 64
#define POOL_MAGIC 0x4c4f4f50u        /* "POOL" */
#define POOL_FREED 0x44454546u        /* "FEED": freed once already */
#define MAX_TAGS 128

struct pool_header {
	uint32_t magic;
	uint32_t tag;
	uint64_t size;
};

static struct tag_count {
	uint32_t tag;
	uint64_t blocks, bytes;
} tags[MAX_TAGS];
static unsigned ntags;
static uint64_t untracked_blocks;     /* [pool_lock] tags beyond MAX_TAGS */
static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;

static struct pool_header *header_of(PVOID p)
{
	return (struct pool_header *)((char *)p - sizeof(struct pool_header));
}

static void count_pool(uint32_t tag, int64_t blocks, int64_t bytes)
{
	pthread_mutex_lock(&pool_lock);
	for (unsigned i = 0; i < ntags; i++)
		if (tags[i].tag == tag) {
			tags[i].blocks += (uint64_t)blocks;
			tags[i].bytes += (uint64_t)bytes;
			pthread_mutex_unlock(&pool_lock);
			return;
		}
	if (ntags < MAX_TAGS) {
		tags[ntags].tag = tag;
		tags[ntags].blocks = (uint64_t)blocks;
		tags[ntags].bytes = (uint64_t)bytes;
		ntags++;
	} else {
		untracked_blocks += (uint64_t)blocks;
	}
	pthread_mutex_unlock(&pool_lock);
}

static PVOID pool_alloc(SIZE_T n, ULONG tag, bool zero)
{
	void *base;
	struct pool_header *h;
	char *p;

	if (n == 0 || n > SIZE_MAX - POOL_ALIGN || posix_memalign(&base, POOL_ALIGN, POOL_ALIGN + n))
		return NULL;
	p = (char *)base + POOL_ALIGN;
	if (zero)
		memset(p, 0, n);
	h = header_of(p);
	h->magic = POOL_MAGIC;
	h->tag = tag;
	h->size = n;
	count_pool(tag, 1, (int64_t)n);
	return p;
}

PVOID ExAllocatePoolWithTag(POOL_TYPE PoolType, SIZE_T NumberOfBytes, ULONG Tag)
{
	(void)PoolType;
	return pool_alloc(NumberOfBytes, Tag, false);
}

PVOID ExAllocatePoolZero(POOL_TYPE PoolType, SIZE_T NumberOfBytes, ULONG Tag)
{
	(void)PoolType;
	return pool_alloc(NumberOfBytes, Tag, true);
}

PVOID ExAllocatePool2(POOL_FLAGS Flags, SIZE_T NumberOfBytes, ULONG Tag)
{
	return pool_alloc(NumberOfBytes, Tag, (Flags & POOL_FLAG_UNINITIALIZED) == 0);
}

static void tag_text(uint32_t tag, char out[5])
{
	for (int i = 0; i < 4; i++) {
		char c = (char)(tag >> (8 * i));   /* 'abcd' in C stores 'd' lowest; Windows shows
						    * the tag in memory order, low byte first */
		out[i] = c >= 0x20 && c < 0x7f ? c : '.';
	}
	out[4] = '\0';
}

static void pool_free(PVOID p, bool check_tag, ULONG tag)
{
	struct pool_header *h;

	if (p == NULL)
		return;
	h = header_of(p);
	if (h->magic != POOL_MAGIC) {
		/* Windows would stop the machine; say what happened and leave the memory be. */
		fprintf(stderr, "dpwsk-host: ExFreePool of %p: %s\n", p,
			h->magic == POOL_FREED ? "already freed" : "not from ExAllocatePool*");
		return;
	}
	if (check_tag && h->tag != tag) {
		char a[5], b[5];

		tag_text(h->tag, a);
		tag_text(tag, b);
		fprintf(stderr, "dpwsk-host: ExFreePoolWithTag of a '%s' block with tag '%s'\n", a, b);
	}
	h->magic = POOL_FREED;
	count_pool(h->tag, -1, -(int64_t)h->size);
	free((char *)p - POOL_ALIGN);
}

VOID ExFreePoolWithTag(PVOID P, ULONG Tag)
{
	pool_free(P, true, Tag);
}

VOID ExFreePool(PVOID P)
{
	pool_free(P, false, 0);
}

/* ---- strings and debug output ---------------------------------------------------------------- */

VOID RtlInitUnicodeString(PUNICODE_STRING DestinationString, PCWSTR SourceString)
{
	size_t n = 0;

	if (SourceString != NULL)
		while (SourceString[n] != 0 && n < 32766)
			n++;
	DestinationString->Buffer = (PWCH)SourceString;
	DestinationString->Length = (USHORT)(n * sizeof(WCHAR));
	DestinationString->MaximumLength =
		(USHORT)(SourceString != NULL ? (n + 1) * sizeof(WCHAR) : 0);
}

SIZE_T dpw_km_compare_memory(const VOID *a, const VOID *b, SIZE_T n)
{
	const unsigned char *x = a, *y = b;
	SIZE_T i = 0;

	while (i < n && x[i] == y[i])
		i++;
	return i;
}

static char driver_name[64] = "driver";

void dpw_km_set_driver_name(const char *name)
{
	snprintf(driver_name, sizeof(driver_name), "%s", name);
}

ULONG vDbgPrintEx(ULONG ComponentId, ULONG Level, PCSTR Format, va_list ap)
{
	char line[1024];

	(void)ComponentId;
	(void)Level;
	dpw_km_format(line, sizeof(line), Format, ap);   /* Windows' conversions, not glibc's */
	/* One write per message, so lines from several threads do not interleave. */
	fprintf(stderr, "%s: %s", driver_name, line);
	return STATUS_SUCCESS;
}

ULONG DbgPrint(PCSTR Format, ...)
{
	va_list ap;
	ULONG r;

	va_start(ap, Format);
	r = vDbgPrintEx(DPFLTR_DEFAULT_ID, DPFLTR_ERROR_LEVEL, Format, ap);
	va_end(ap);
	return r;
}

ULONG DbgPrintEx(ULONG ComponentId, ULONG Level, PCSTR Format, ...)
{
	va_list ap;
	ULONG r;

	va_start(ap, Format);
	r = vDbgPrintEx(ComponentId, Level, Format, ap);
	va_end(ap);
	return r;
}

/* ---- what a driver left behind (km.h) -------------------------------------------------------- */

void dpw_km_leaks(struct dpw_km_leaks *out)
{
	memset(out, 0, sizeof(*out));
	out->threads_running = (unsigned)__atomic_load_n(&threads_running, __ATOMIC_SEQ_CST);
	pthread_mutex_lock(&objects_lock);
	for (struct _KTHREAD *t = objects; t != NULL; t = t->next) {
		out->handles_open += t->handle_open;
		out->references += (unsigned)(t->refs - t->handle_open - t->running);
	}
	out->keys_open = keys_open;
	pthread_mutex_unlock(&objects_lock);
	pthread_mutex_lock(&pool_lock);
	for (unsigned i = 0; i < ntags; i++) {
		out->pool_blocks += tags[i].blocks;
		out->pool_bytes += tags[i].bytes;
	}
	out->pool_blocks += untracked_blocks;
	pthread_mutex_unlock(&pool_lock);
}

unsigned dpw_km_report_leaks(FILE *f, const char *who)
{
	struct dpw_km_leaks l;
	unsigned kinds = 0;

	dpw_km_leaks(&l);
	if (l.threads_running > 0) {
		fprintf(f, "%s: %u system threads still running\n", who, l.threads_running);
		kinds++;
	}
	if (l.handles_open > 0) {
		fprintf(f, "%s: %u thread handles never closed (ZwClose)\n", who, l.handles_open);
		kinds++;
	}
	if (l.references > 0) {
		fprintf(f, "%s: %u object references never released (ObDereferenceObject)\n", who,
			l.references);
		kinds++;
	}
	if (l.keys_open > 0) {
		fprintf(f, "%s: %u registry keys never closed (ZwClose)\n", who, l.keys_open);
		kinds++;
	}
	if (l.pool_blocks > 0) {
		kinds++;
		fprintf(f, "%s: %llu pool blocks (%llu bytes) never freed:", who,
			(unsigned long long)l.pool_blocks, (unsigned long long)l.pool_bytes);
		pthread_mutex_lock(&pool_lock);
		for (unsigned i = 0; i < ntags; i++)
			if (tags[i].blocks > 0) {
				char t[5];

				tag_text(tags[i].tag, t);
				fprintf(f, " '%s' %llu (%llu bytes)", t,
					(unsigned long long)tags[i].blocks,
					(unsigned long long)tags[i].bytes);
			}
		pthread_mutex_unlock(&pool_lock);
		fprintf(f, "\n");
	}
	return kinds;
}
