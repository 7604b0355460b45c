/* IRP allocation, completion and cancellation in userspace (WSK-R2). */
#include <stdlib.h>
#include <string.h>

#include "irp_internal.h"

/* Rare events only, so one shared cache line costs nothing. */
static struct {
	_Atomic ULONGLONG Allocated, Freed, DoubleCompletions, BadCompletionStatus, BadRuns,
		BusyStarts, BusyReuses, BusyFrees, BadFrees, NotIrps, NotOwnedByRoutine,
		CancelHooksRun;
} irp_stats;

#define COUNT(field) atomic_fetch_add_explicit(&irp_stats.field, 1, memory_order_relaxed)

static BOOLEAN is_irp(PIRP Irp)
{
	return Irp != NULL && Irp->Type == IO_TYPE_IRP;
}

/* Active and Completing IRPs are the provider's; nobody else may reset or free them. */
static BOOLEAN held_by_provider(PIRP Irp)
{
	int st = atomic_load_explicit(&Irp->DpwState, memory_order_acquire);

	return st == DpwIrpActive || st == DpwIrpCompleting;
}

static VOID init_irp(PIRP Irp, CCHAR StackSize, UCHAR Allocated)
{
	memset(Irp, 0, sizeof(*Irp));
	Irp->Type = IO_TYPE_IRP;
	Irp->Size = (USHORT)sizeof(IRP);
	Irp->StackCount = StackSize;
	/* Windows starts one past the last stack location; kept for code that looks. */
	Irp->CurrentLocation = (CCHAR)(StackSize + 1);
	Irp->RequestorMode = KernelMode;
	Irp->DpwAllocated = Allocated;
	atomic_init(&Irp->Cancel, FALSE);
	atomic_init(&Irp->DpwCancel, NULL);
	atomic_init(&Irp->DpwState, DpwIrpIdle);
}

PIRP IoAllocateIrp(CCHAR StackSize, BOOLEAN ChargeQuota)
{
	PIRP irp;

	(void)ChargeQuota;
	if (StackSize < 0)
		return NULL;
	irp = malloc(sizeof(*irp));
	if (irp == NULL)
		return NULL;
	init_irp(irp, StackSize, TRUE);
	COUNT(Allocated);
	return irp;
}

VOID IoInitializeIrp(PIRP Irp, USHORT PacketSize, CCHAR StackSize)
{
	if (Irp == NULL || PacketSize < sizeof(IRP))
		return;
	init_irp(Irp, StackSize, FALSE);
}

VOID IoFreeIrp(PIRP Irp)
{
	if (Irp == NULL)
		return;
	if (!is_irp(Irp)) {
		COUNT(NotIrps);
		return;
	}
	if (!Irp->DpwAllocated) {
		COUNT(BadFrees);
		return;
	}
	if (held_by_provider(Irp)) {
		COUNT(BusyFrees);
		return;
	}
	/* Poison the type so that a stale use of a recycled block fails is_irp(). */
	Irp->Type = 0;
	free(Irp);
	COUNT(Freed);
}

VOID IoReuseIrp(PIRP Irp, NTSTATUS Iostatus)
{
	if (!is_irp(Irp))
		return;
	if (held_by_provider(Irp)) {
		COUNT(BusyReuses);
		return;
	}
	init_irp(Irp, Irp->StackCount, Irp->DpwAllocated);
	Irp->IoStatus.Status = Iostatus;
}

VOID IoSetCompletionRoutine(PIRP Irp, PIO_COMPLETION_ROUTINE CompletionRoutine, PVOID Context,
			    BOOLEAN InvokeOnSuccess, BOOLEAN InvokeOnError,
			    BOOLEAN InvokeOnCancel)
{
	UCHAR control = 0;

	if (Irp == NULL)
		return;
	if (InvokeOnSuccess)
		control |= SL_INVOKE_ON_SUCCESS;
	if (InvokeOnError)
		control |= SL_INVOKE_ON_ERROR;
	if (InvokeOnCancel)
		control |= SL_INVOKE_ON_CANCEL;
	Irp->CompletionRoutine = CompletionRoutine;
	Irp->CompletionContext = Context;
	Irp->CompletionControl = control;
}

BOOLEAN IoCancelIrp(PIRP Irp)
{
	PDPW_CANCEL_ROUTINE hook;

	if (!is_irp(Irp))
		return FALSE;
	/* Cancel first: a provider arming its hook right now re-checks it after arming. */
	atomic_store_explicit(&Irp->Cancel, TRUE, memory_order_seq_cst);
	/* The exchange makes the hook run at most once, and never after completion took it. */
	hook = atomic_exchange_explicit(&Irp->DpwCancel, NULL, memory_order_acq_rel);
	if (hook == NULL)
		return FALSE;
	COUNT(CancelHooksRun);
	hook(Irp);
	return TRUE;
}

NTSTATUS DpwStartIrp(PIRP Irp)
{
	int st;

	if (Irp == NULL)
		return STATUS_INVALID_PARAMETER;
	if (!is_irp(Irp)) {
		COUNT(NotIrps);
		return STATUS_INVALID_PARAMETER;
	}
	st = atomic_load_explicit(&Irp->DpwState, memory_order_acquire);
	do {
		/* A Completed IRP not passed through IoReuseIrp is accepted: many clients resubmit
		 * straight from the completion routine. */
		if (st != DpwIrpIdle && st != DpwIrpCompleted) {
			COUNT(BusyStarts);
			return STATUS_INVALID_PARAMETER;
		}
	} while (!atomic_compare_exchange_weak_explicit(&Irp->DpwState, &st, DpwIrpActive,
							memory_order_acq_rel,
							memory_order_acquire));
	Irp->PendingReturned = FALSE;
	return STATUS_SUCCESS;
}

PDPW_CANCEL_ROUTINE DpwSetCancelRoutine(PIRP Irp, PDPW_CANCEL_ROUTINE Routine)
{
	if (Irp == NULL)
		return NULL;
	return atomic_exchange_explicit(&Irp->DpwCancel, Routine, memory_order_acq_rel);
}

NTSTATUS DpwCompleteIrpDeferred(PIRP Irp, NTSTATUS Status, ULONG_PTR Information)
{
	int st;

	if (!is_irp(Irp)) {
		if (Irp != NULL)
			COUNT(NotIrps);
		return STATUS_INVALID_PARAMETER;
	}
	if (Status == STATUS_PENDING) {
		COUNT(BadCompletionStatus);
		return STATUS_INVALID_PARAMETER;
	}
	/* The compare-exchange is the single point that makes completion happen once, even
	 * when the polling core and a cancelling or closing thread race to complete. */
	st = atomic_load_explicit(&Irp->DpwState, memory_order_acquire);
	do {
		if (st == DpwIrpCompleting || st == DpwIrpCompleted) {
			COUNT(DoubleCompletions);
			return STATUS_INVALID_DEVICE_STATE;
		}
	} while (!atomic_compare_exchange_weak_explicit(&Irp->DpwState, &st, DpwIrpCompleting,
							memory_order_acq_rel,
							memory_order_acquire));
	/* A completed IRP must not be cancellable: IoCancelIrp from now on finds no hook. */
	atomic_store_explicit(&Irp->DpwCancel, NULL, memory_order_release);
	Irp->IoStatus.Status = Status;
	Irp->IoStatus.Information = Information;
	return STATUS_SUCCESS;
}

static BOOLEAN routine_wanted(PIRP Irp)
{
	UCHAR control = Irp->CompletionControl;
	NTSTATUS status = Irp->IoStatus.Status;

	if (Irp->CompletionRoutine == NULL)
		return FALSE;
	/* Windows' rule (IofCompleteRequest): any matching condition invokes the routine. */
	return (NT_SUCCESS(status) && (control & SL_INVOKE_ON_SUCCESS)) ||
	       (!NT_SUCCESS(status) && (control & SL_INVOKE_ON_ERROR)) ||
	       (atomic_load_explicit(&Irp->Cancel, memory_order_acquire) &&
		(control & SL_INVOKE_ON_CANCEL));
}

NTSTATUS DpwRunIrpCompletion(PIRP Irp)
{
	int expected = DpwIrpCompleting;
	PIO_COMPLETION_ROUTINE routine;
	PVOID context;

	if (!is_irp(Irp)) {
		if (Irp != NULL)
			COUNT(NotIrps);
		return STATUS_INVALID_PARAMETER;
	}
	if (!routine_wanted(Irp)) {
		if (!atomic_compare_exchange_strong_explicit(&Irp->DpwState, &expected,
							     DpwIrpCompleted,
							     memory_order_acq_rel,
							     memory_order_acquire))
			goto bad_run;
		return STATUS_SUCCESS;
	}
	/* Read the routine before publishing Completed: from then on the IRP is the caller's
	 * and a poller may already reuse or free it. */
	routine = Irp->CompletionRoutine;
	context = Irp->CompletionContext;
	if (!atomic_compare_exchange_strong_explicit(&Irp->DpwState, &expected, DpwIrpCompleted,
						     memory_order_acq_rel, memory_order_acquire))
		goto bad_run;
	/* The routine may free, reuse or resubmit the IRP: do not touch it afterwards. */
	if (routine(NULL, Irp, context) != STATUS_MORE_PROCESSING_REQUIRED)
		COUNT(NotOwnedByRoutine);
	return STATUS_SUCCESS;

bad_run:
	COUNT(BadRuns);
	return STATUS_INVALID_DEVICE_STATE;
}

NTSTATUS DpwCompleteIrp(PIRP Irp, NTSTATUS Status, ULONG_PTR Information)
{
	NTSTATUS st = DpwCompleteIrpDeferred(Irp, Status, Information);

	if (!NT_SUCCESS(st))
		return st;
	return DpwRunIrpCompletion(Irp);
}

VOID DpwGetIrpStats(PDPW_IRP_STATS Stats)
{
	if (Stats == NULL)
		return;
#define LOAD(field) Stats->field = atomic_load_explicit(&irp_stats.field, memory_order_relaxed)
	LOAD(Allocated);
	LOAD(Freed);
	LOAD(DoubleCompletions);
	LOAD(BadCompletionStatus);
	LOAD(BadRuns);
	LOAD(BusyStarts);
	LOAD(BusyReuses);
	LOAD(BusyFrees);
	LOAD(BadFrees);
	LOAD(NotIrps);
	LOAD(NotOwnedByRoutine);
	LOAD(CancelHooksRun);
#undef LOAD
}
