/* The IRP's life (WSK-R2): allocation, completion routine and its Invoke flags, completion
 * exactly once even under races, reuse, cancellation through the provider's hook. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "irp_internal.h"
#include "wsk_test.h"

/* What a completion routine saw, and what it answers. */
struct seen {
	int calls;
	PDEVICE_OBJECT device;
	PIRP irp;
	NTSTATUS status;
	ULONG_PTR information;
	BOOLEAN cancel;
	BOOLEAN disown;         /* return STATUS_SUCCESS, not MORE_PROCESSING_REQUIRED */
};

static NTSTATUS record(PDEVICE_OBJECT DeviceObject, PIRP Irp, PVOID Context)
{
	struct seen *s = Context;

	s->calls++;
	s->device = DeviceObject;
	s->irp = Irp;
	s->status = Irp->IoStatus.Status;
	s->information = Irp->IoStatus.Information;
	s->cancel = Irp->Cancel;
	return s->disown ? STATUS_SUCCESS : STATUS_MORE_PROCESSING_REQUIRED;
}

static DPW_IRP_STATS stats(void)
{
	DPW_IRP_STATS st;

	DpwGetIrpStats(&st);
	return st;
}

/* WSK-R2: caller-allocated, zeroed, idle. */
static int test_allocate(void)
{
	DPW_IRP_STATS before = stats();
	PIRP irp = IoAllocateIrp(1, FALSE);

	CHECK(irp != NULL);
	CHECK(irp->Type == IO_TYPE_IRP);
	CHECK(irp->Size == sizeof(IRP));
	CHECK(irp->StackCount == 1);
	CHECK(irp->IoStatus.Status == STATUS_SUCCESS && irp->IoStatus.Information == 0);
	CHECK(irp->MdlAddress == NULL && irp->CompletionRoutine == NULL);
	CHECK(!irp->Cancel && !irp->PendingReturned);
	CHECK(DpwGetIrpState(irp) == DpwIrpIdle);
	CHECK(stats().Allocated == before.Allocated + 1);
	IoFreeIrp(irp);
	CHECK(stats().Freed == before.Freed + 1);
	CHECK(IoAllocateIrp(-1, FALSE) == NULL);
	IoFreeIrp(NULL);        /* ignored, as on Windows */
	return 0;
}

/* WSK-R2: the result is in IoStatus when the routine runs; DeviceObject is NULL; the routine
 * runs once. */
static int test_complete_once(void)
{
	struct seen s = { 0 };
	PIRP irp = IoAllocateIrp(1, FALSE);

	CHECK(irp != NULL);
	IoSetCompletionRoutine(irp, record, &s, TRUE, TRUE, TRUE);
	CHECK(irp->CompletionControl ==
	      (SL_INVOKE_ON_SUCCESS | SL_INVOKE_ON_ERROR | SL_INVOKE_ON_CANCEL));
	CHECK_STATUS(DpwStartIrp(irp), STATUS_SUCCESS);
	CHECK(DpwGetIrpState(irp) == DpwIrpActive);
	IoMarkIrpPending(irp);
	CHECK(irp->PendingReturned);
	CHECK(s.calls == 0);

	CHECK_STATUS(DpwCompleteIrp(irp, STATUS_SUCCESS, 42), STATUS_SUCCESS);
	CHECK(s.calls == 1);
	CHECK(s.device == NULL && s.irp == irp);
	CHECK_STATUS(s.status, STATUS_SUCCESS);
	CHECK(s.information == 42);
	CHECK(DpwGetIrpState(irp) == DpwIrpCompleted);
	IoFreeIrp(irp);
	return 0;
}

/* WSK-R2: a second completion is caught, counted, and changes nothing. */
static int test_double_completion(void)
{
	struct seen s = { 0 };
	DPW_IRP_STATS before = stats();
	PIRP irp = IoAllocateIrp(1, FALSE);

	CHECK(irp != NULL);
	IoSetCompletionRoutine(irp, record, &s, TRUE, TRUE, TRUE);
	CHECK_STATUS(DpwStartIrp(irp), STATUS_SUCCESS);
	CHECK_STATUS(DpwCompleteIrp(irp, STATUS_CONNECTION_RESET, 0), STATUS_SUCCESS);
	CHECK_STATUS(DpwCompleteIrp(irp, STATUS_SUCCESS, 99), STATUS_INVALID_DEVICE_STATE);
	CHECK_STATUS(DpwCompleteIrpDeferred(irp, STATUS_CANCELLED, 0),
		     STATUS_INVALID_DEVICE_STATE);
	CHECK(s.calls == 1);
	CHECK_STATUS(irp->IoStatus.Status, STATUS_CONNECTION_RESET);
	CHECK(irp->IoStatus.Information == 0);
	CHECK(stats().DoubleCompletions == before.DoubleCompletions + 2);
	IoFreeIrp(irp);
	return 0;
}

/* WSK-R3: NULL or busy IRPs are refused synchronously and left untouched. */
static int test_start_refusals(void)
{
	DPW_IRP_STATS before = stats();
	PIRP irp = IoAllocateIrp(1, FALSE);

	CHECK(irp != NULL);
	CHECK_STATUS(DpwStartIrp(NULL), STATUS_INVALID_PARAMETER);
	CHECK_STATUS(DpwCompleteIrp(NULL, STATUS_SUCCESS, 0), STATUS_INVALID_PARAMETER);
	CHECK_STATUS(DpwStartIrp(irp), STATUS_SUCCESS);
	/* The same IRP handed to a second call while the first holds it. */
	CHECK_STATUS(DpwStartIrp(irp), STATUS_INVALID_PARAMETER);
	CHECK(DpwGetIrpState(irp) == DpwIrpActive);
	CHECK(stats().BusyStarts == before.BusyStarts + 1);
	/* STATUS_PENDING is a return value, never a completion status. */
	CHECK_STATUS(DpwCompleteIrp(irp, STATUS_PENDING, 0), STATUS_INVALID_PARAMETER);
	CHECK(DpwGetIrpState(irp) == DpwIrpActive);
	CHECK(stats().BadCompletionStatus == before.BadCompletionStatus + 1);
	CHECK_STATUS(DpwCompleteIrp(irp, STATUS_SUCCESS, 0), STATUS_SUCCESS);
	/* Completed and resubmitted without IoReuseIrp: accepted. */
	CHECK_STATUS(DpwStartIrp(irp), STATUS_SUCCESS);
	CHECK_STATUS(DpwCompleteIrp(irp, STATUS_SUCCESS, 0), STATUS_SUCCESS);
	IoFreeIrp(irp);
	return 0;
}

/* WSK-R2: IoReuseIrp readies a completed IRP for the next call. */
static int test_reuse(void)
{
	struct seen s = { 0 };
	DPW_IRP_STATS before = stats();
	PIRP irp = IoAllocateIrp(2, FALSE);

	CHECK(irp != NULL);
	IoSetCompletionRoutine(irp, record, &s, TRUE, TRUE, TRUE);
	CHECK_STATUS(DpwStartIrp(irp), STATUS_SUCCESS);
	/* Busy: reuse and free are refused while the provider holds the IRP. */
	IoReuseIrp(irp, STATUS_UNSUCCESSFUL);
	CHECK(DpwGetIrpState(irp) == DpwIrpActive && irp->CompletionRoutine == record);
	IoFreeIrp(irp);
	CHECK(stats().BusyReuses == before.BusyReuses + 1);
	CHECK(stats().BusyFrees == before.BusyFrees + 1);
	CHECK(IoCancelIrp(irp) == FALSE && irp->Cancel);
	CHECK_STATUS(DpwCompleteIrp(irp, STATUS_CANCELLED, 0), STATUS_SUCCESS);
	CHECK(s.calls == 1 && s.cancel);

	IoReuseIrp(irp, STATUS_UNSUCCESSFUL);
	CHECK(DpwGetIrpState(irp) == DpwIrpIdle);
	CHECK_STATUS(irp->IoStatus.Status, STATUS_UNSUCCESSFUL);
	CHECK(irp->IoStatus.Information == 0);
	CHECK(irp->CompletionRoutine == NULL && irp->CompletionControl == 0);
	CHECK(!irp->Cancel && !irp->PendingReturned);
	CHECK(irp->StackCount == 2 && irp->Type == IO_TYPE_IRP);

	/* And it works again. */
	IoSetCompletionRoutine(irp, record, &s, TRUE, TRUE, TRUE);
	CHECK_STATUS(DpwStartIrp(irp), STATUS_SUCCESS);
	CHECK_STATUS(DpwCompleteIrp(irp, STATUS_SUCCESS, 7), STATUS_SUCCESS);
	CHECK(s.calls == 2 && s.information == 7 && !s.cancel);
	IoFreeIrp(irp);
	CHECK(stats().Freed == before.Freed + 1);
	return 0;
}

/* WSK-R2: Windows' Invoke rule: success, error (cancelled included), or Cancel set. */
static int test_invoke_flags(void)
{
	static const struct {
		BOOLEAN on_success, on_error, on_cancel, cancel;
		NTSTATUS status;
		int called;
	} cases[] = {
		{ TRUE, FALSE, FALSE, FALSE, STATUS_SUCCESS, 1 },
		{ TRUE, FALSE, FALSE, FALSE, STATUS_CONNECTION_RESET, 0 },
		{ TRUE, FALSE, FALSE, TRUE, STATUS_CANCELLED, 0 },
		{ FALSE, TRUE, FALSE, FALSE, STATUS_SUCCESS, 0 },
		{ FALSE, TRUE, FALSE, FALSE, STATUS_CONNECTION_RESET, 1 },
		{ FALSE, TRUE, FALSE, FALSE, STATUS_CANCELLED, 1 },  /* cancelled is an error */
		{ FALSE, TRUE, FALSE, FALSE, STATUS_BUFFER_OVERFLOW, 1 }, /* so is a warning */
		{ FALSE, FALSE, TRUE, TRUE, STATUS_CANCELLED, 1 },
		{ FALSE, FALSE, TRUE, TRUE, STATUS_SUCCESS, 1 },  /* cancel raced, data won */
		{ FALSE, FALSE, TRUE, FALSE, STATUS_CANCELLED, 0 },
		{ FALSE, FALSE, FALSE, TRUE, STATUS_CANCELLED, 0 },
		{ FALSE, FALSE, FALSE, FALSE, STATUS_SUCCESS, 0 },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct seen s = { 0 };
		PIRP irp = IoAllocateIrp(1, FALSE);

		CHECK(irp != NULL);
		IoSetCompletionRoutine(irp, record, &s, cases[i].on_success, cases[i].on_error,
				       cases[i].on_cancel);
		CHECK_STATUS(DpwStartIrp(irp), STATUS_SUCCESS);
		if (cases[i].cancel)
			CHECK(IoCancelIrp(irp) == FALSE);  /* no hook armed */
		CHECK_STATUS(DpwCompleteIrp(irp, cases[i].status, 0), STATUS_SUCCESS);
		if (s.calls != cases[i].called)
			fprintf(stderr, "case %zu: routine ran %d times\n", i, s.calls);
		CHECK(s.calls == cases[i].called);
		/* Completed either way: the caller owns it again. */
		CHECK(DpwGetIrpState(irp) == DpwIrpCompleted);
		CHECK_STATUS(irp->IoStatus.Status, cases[i].status);
		IoFreeIrp(irp);
	}
	return 0;
}

/* A provider's cancel hook, here completing inline (the real one posts to the lcore). */
static int hook_calls;

static VOID cancel_hook(PIRP Irp)
{
	hook_calls++;
	DpwCompleteIrp(Irp, STATUS_CANCELLED, 0);
}

static VOID counting_hook(PIRP Irp)
{
	(void)Irp;
	hook_calls++;
}

/* WSK-R2, C2: IoCancelIrp runs the provider's hook once; the IRP completes once, cancelled. */
static int test_cancel(void)
{
	struct seen s = { 0 };
	PIRP irp = IoAllocateIrp(1, FALSE);

	CHECK(irp != NULL);
	/* Nothing armed: only the flag. */
	CHECK(IoCancelIrp(irp) == FALSE);
	CHECK(irp->Cancel);
	CHECK(IoCancelIrp(NULL) == FALSE);
	IoReuseIrp(irp, STATUS_SUCCESS);

	hook_calls = 0;
	IoSetCompletionRoutine(irp, record, &s, TRUE, TRUE, TRUE);
	CHECK_STATUS(DpwStartIrp(irp), STATUS_SUCCESS);
	IoMarkIrpPending(irp);
	CHECK(DpwSetCancelRoutine(irp, cancel_hook) == NULL);
	CHECK(IoCancelIrp(irp) == TRUE);
	CHECK(hook_calls == 1);
	CHECK(s.calls == 1);
	CHECK_STATUS(s.status, STATUS_CANCELLED);
	CHECK(s.information == 0 && s.cancel);
	/* The hook was consumed: a second cancel finds none. */
	CHECK(IoCancelIrp(irp) == FALSE);
	CHECK(hook_calls == 1 && s.calls == 1);

	/* Completion disarms the hook: a cancel after it runs nothing. */
	IoReuseIrp(irp, STATUS_SUCCESS);
	IoSetCompletionRoutine(irp, record, &s, TRUE, TRUE, TRUE);
	CHECK_STATUS(DpwStartIrp(irp), STATUS_SUCCESS);
	DpwSetCancelRoutine(irp, counting_hook);
	CHECK_STATUS(DpwCompleteIrp(irp, STATUS_SUCCESS, 5), STATUS_SUCCESS);
	CHECK(IoCancelIrp(irp) == FALSE);
	CHECK(hook_calls == 1 && s.calls == 2);

	/* The provider pattern: cancel arrived before the hook was armed. */
	IoReuseIrp(irp, STATUS_SUCCESS);
	CHECK_STATUS(DpwStartIrp(irp), STATUS_SUCCESS);
	IoCancelIrp(irp);
	DpwSetCancelRoutine(irp, counting_hook);
	CHECK(irp->Cancel && DpwSetCancelRoutine(irp, NULL) == counting_hook);
	CHECK_STATUS(DpwCompleteIrp(irp, STATUS_CANCELLED, 0), STATUS_SUCCESS);
	CHECK(hook_calls == 1);
	IoFreeIrp(irp);
	return 0;
}

/* WSK-C10: completions travel through the client's ring: result claimed on one side, routine
 * run on the other, still exactly once. */
static int test_deferred(void)
{
	struct seen s = { 0 };
	DPW_IRP_STATS before = stats();
	PIRP irp = IoAllocateIrp(1, FALSE);

	CHECK(irp != NULL);
	IoSetCompletionRoutine(irp, record, &s, TRUE, TRUE, TRUE);
	CHECK_STATUS(DpwStartIrp(irp), STATUS_SUCCESS);
	CHECK_STATUS(DpwCompleteIrpDeferred(irp, STATUS_SUCCESS, 11), STATUS_SUCCESS);
	CHECK(DpwGetIrpState(irp) == DpwIrpCompleting);
	CHECK(s.calls == 0);
	/* Queued, not yet delivered: still the provider's, and already completed. */
	CHECK_STATUS(DpwCompleteIrp(irp, STATUS_CANCELLED, 0), STATUS_INVALID_DEVICE_STATE);
	IoReuseIrp(irp, STATUS_SUCCESS);
	CHECK(DpwGetIrpState(irp) == DpwIrpCompleting);
	CHECK_STATUS(DpwRunIrpCompletion(irp), STATUS_SUCCESS);
	CHECK(s.calls == 1 && s.information == 11);
	CHECK_STATUS(DpwRunIrpCompletion(irp), STATUS_INVALID_DEVICE_STATE);
	CHECK(s.calls == 1);
	CHECK(stats().BadRuns == before.BadRuns + 1);
	CHECK(stats().DoubleCompletions == before.DoubleCompletions + 1);
	IoFreeIrp(irp);
	return 0;
}

/* Routines that free, or reuse and resubmit, the IRP: completion must not touch it after
 * (ASan catches it if it does). */
static NTSTATUS free_it(PDEVICE_OBJECT DeviceObject, PIRP Irp, PVOID Context)
{
	(void)DeviceObject;
	(*(int *)Context)++;
	IoFreeIrp(Irp);
	return STATUS_MORE_PROCESSING_REQUIRED;
}

static NTSTATUS resubmit(PDEVICE_OBJECT DeviceObject, PIRP Irp, PVOID Context)
{
	(void)DeviceObject;
	(*(int *)Context)++;
	IoReuseIrp(Irp, STATUS_SUCCESS);
	IoSetCompletionRoutine(Irp, resubmit, Context, TRUE, TRUE, TRUE);
	DpwStartIrp(Irp);
	return STATUS_MORE_PROCESSING_REQUIRED;
}

/* WSK-R2: a routine that owns the IRP returns STATUS_MORE_PROCESSING_REQUIRED; one that does
 * not is counted (on Windows it would hand the IRP back to the I/O manager). */
static int test_routine_ownership(void)
{
	struct seen s = { .disown = TRUE };
	DPW_IRP_STATS before = stats();
	int calls = 0;
	PIRP irp = IoAllocateIrp(1, FALSE);

	CHECK(irp != NULL);
	IoSetCompletionRoutine(irp, record, &s, TRUE, TRUE, TRUE);
	CHECK_STATUS(DpwCompleteIrp(irp, STATUS_SUCCESS, 0), STATUS_SUCCESS);
	CHECK(s.calls == 1);
	CHECK(stats().NotOwnedByRoutine == before.NotOwnedByRoutine + 1);

	IoReuseIrp(irp, STATUS_SUCCESS);
	IoSetCompletionRoutine(irp, free_it, &calls, TRUE, TRUE, TRUE);
	CHECK_STATUS(DpwStartIrp(irp), STATUS_SUCCESS);
	CHECK_STATUS(DpwCompleteIrp(irp, STATUS_SUCCESS, 0), STATUS_SUCCESS);
	CHECK(calls == 1);

	irp = IoAllocateIrp(1, FALSE);
	CHECK(irp != NULL);
	IoSetCompletionRoutine(irp, resubmit, &calls, TRUE, TRUE, TRUE);
	CHECK_STATUS(DpwStartIrp(irp), STATUS_SUCCESS);
	CHECK_STATUS(DpwCompleteIrp(irp, STATUS_SUCCESS, 0), STATUS_SUCCESS);
	CHECK(calls == 2);
	CHECK(DpwGetIrpState(irp) == DpwIrpActive);     /* resubmitted from its routine */
	CHECK_STATUS(DpwCompleteIrp(irp, STATUS_CANCELLED, 0), STATUS_SUCCESS);
	CHECK(calls == 3);
	IoSetCompletionRoutine(irp, NULL, NULL, FALSE, FALSE, FALSE);
	DpwCompleteIrp(irp, STATUS_CANCELLED, 0);
	IoFreeIrp(irp);
	CHECK(stats().NotOwnedByRoutine == before.NotOwnedByRoutine + 1);
	return 0;
}

/* An IRP inside the caller's own object: never freed by IoFreeIrp. */
static int test_embedded_irp(void)
{
	struct {
		int before;
		IRP irp;
		int after;
	} obj;
	struct seen s = { 0 };
	DPW_IRP_STATS before = stats();

	memset(&obj, 0x5A, sizeof(obj));
	IoInitializeIrp(&obj.irp, IoSizeOfIrp(1), 1);
	CHECK(obj.irp.Type == IO_TYPE_IRP && DpwGetIrpState(&obj.irp) == DpwIrpIdle);
	CHECK(obj.irp.CompletionRoutine == NULL && !obj.irp.Cancel);
	IoSetCompletionRoutine(&obj.irp, record, &s, TRUE, TRUE, TRUE);
	CHECK_STATUS(DpwStartIrp(&obj.irp), STATUS_SUCCESS);
	CHECK_STATUS(DpwCompleteIrp(&obj.irp, STATUS_SUCCESS, 3), STATUS_SUCCESS);
	CHECK(s.calls == 1);
	IoFreeIrp(&obj.irp);    /* not ours to free: counted, ignored */
	CHECK(stats().BadFrees == before.BadFrees + 1);
	/* Too small a packet: the memory is left alone. */
	IoInitializeIrp(&obj.irp, 8, 1);
	CHECK(DpwGetIrpState(&obj.irp) == DpwIrpCompleted);
	return 0;
}

/*
 * WSK-R2, C2: completion from two threads at once (the lcore finishing the request while a
 * closing thread cancels it) runs the routine once, every time.
 */
#define RACE_ROUNDS 20000

struct racer {
	PIRP *irps;
	NTSTATUS status;
	int won;
	pthread_barrier_t *start;
};

static void *race(void *arg)
{
	struct racer *r = arg;
	int i;

	pthread_barrier_wait(r->start);
	for (i = 0; i < RACE_ROUNDS; i++)
		if (DpwCompleteIrp(r->irps[i], r->status, 0) == STATUS_SUCCESS)
			r->won++;
	return NULL;
}

static NTSTATUS count_atomic(PDEVICE_OBJECT DeviceObject, PIRP Irp, PVOID Context)
{
	(void)DeviceObject;
	(void)Irp;
	atomic_fetch_add((_Atomic int *)Context, 1);
	return STATUS_MORE_PROCESSING_REQUIRED;
}

static int test_completion_race(void)
{
	static PIRP irps[RACE_ROUNDS];
	_Atomic int routine_calls = 0;
	pthread_barrier_t start;
	struct racer a = { irps, STATUS_SUCCESS, 0, &start };
	struct racer b = { irps, STATUS_CANCELLED, 0, &start };
	DPW_IRP_STATS before = stats();
	pthread_t ta, tb;
	int i;

	for (i = 0; i < RACE_ROUNDS; i++) {
		irps[i] = IoAllocateIrp(1, FALSE);
		CHECK(irps[i] != NULL);
		IoSetCompletionRoutine(irps[i], count_atomic, &routine_calls, TRUE, TRUE, TRUE);
		CHECK_STATUS(DpwStartIrp(irps[i]), STATUS_SUCCESS);
	}
	CHECK(pthread_barrier_init(&start, NULL, 2) == 0);
	CHECK(pthread_create(&ta, NULL, race, &a) == 0);
	CHECK(pthread_create(&tb, NULL, race, &b) == 0);
	pthread_join(ta, NULL);
	pthread_join(tb, NULL);
	pthread_barrier_destroy(&start);

	CHECK(a.won + b.won == RACE_ROUNDS);
	CHECK(atomic_load(&routine_calls) == RACE_ROUNDS);
	CHECK(stats().DoubleCompletions == before.DoubleCompletions + RACE_ROUNDS);
	for (i = 0; i < RACE_ROUNDS; i++) {
		CHECK(DpwGetIrpState(irps[i]) == DpwIrpCompleted);
		IoFreeIrp(irps[i]);
	}
	return 0;
}

/* WSK-R2, C2: IoCancelIrp on one thread against completion on another: the hook runs at most
 * once, never after completion took it, and the routine runs exactly once. */
static _Atomic int race_hooks;

static VOID race_hook(PIRP Irp)
{
	(void)Irp;
	atomic_fetch_add(&race_hooks, 1);
}

static void *cancel_all(void *arg)
{
	PIRP *irps = arg;
	int i;

	for (i = 0; i < RACE_ROUNDS; i++)
		IoCancelIrp(irps[i]);
	return NULL;
}

static int test_cancel_race(void)
{
	static PIRP irps[RACE_ROUNDS];
	_Atomic int routine_calls = 0;
	pthread_t t;
	int i, cancelled = 0;

	atomic_store(&race_hooks, 0);
	for (i = 0; i < RACE_ROUNDS; i++) {
		irps[i] = IoAllocateIrp(1, FALSE);
		CHECK(irps[i] != NULL);
		IoSetCompletionRoutine(irps[i], count_atomic, &routine_calls, TRUE, TRUE, TRUE);
		CHECK_STATUS(DpwStartIrp(irps[i]), STATUS_SUCCESS);
		DpwSetCancelRoutine(irps[i], race_hook);
	}
	CHECK(pthread_create(&t, NULL, cancel_all, irps) == 0);
	for (i = 0; i < RACE_ROUNDS; i++)
		CHECK_STATUS(DpwCompleteIrp(irps[i], STATUS_SUCCESS, 0), STATUS_SUCCESS);
	pthread_join(t, NULL);
	for (i = 0; i < RACE_ROUNDS; i++) {
		cancelled += irps[i]->Cancel ? 1 : 0;
		IoFreeIrp(irps[i]);
	}
	CHECK(atomic_load(&routine_calls) == RACE_ROUNDS);
	CHECK(atomic_load(&race_hooks) <= RACE_ROUNDS);
	CHECK(cancelled == RACE_ROUNDS);
	return 0;
}

int main(void)
{
	int failures = 0;

	RUN(test_allocate);
	RUN(test_complete_once);
	RUN(test_double_completion);
	RUN(test_start_refusals);
	RUN(test_reuse);
	RUN(test_invoke_flags);
	RUN(test_cancel);
	RUN(test_deferred);
	RUN(test_routine_ownership);
	RUN(test_embedded_irp);
	RUN(test_completion_race);
	RUN(test_cancel_race);
	return failures != 0;
}
