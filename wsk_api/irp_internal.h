/* Provider side of the IRP: taking it, arming the cancel hook, completing it exactly once
 * (WSK-R2), and counters of the misuses that are caught instead of crashing. */
#ifndef DPWSK_IRP_INTERNAL_H
#define DPWSK_IRP_INTERNAL_H

#include "irp.h"

/*
 * How a provider call uses these:
 *
 *   st = DpwStartIrp(irp);                     NULL or busy IRP: return st, IRP untouched (R3)
 *   ... finish at once:  DpwCompleteIrp(irp, status, info); return status;
 *   ... or queue it:     IoMarkIrpPending(irp); DpwSetCancelRoutine(irp, hook);
 *                        if (irp->Cancel && DpwSetCancelRoutine(irp, NULL) != NULL)
 *                                -> cancelled before the hook was armed: complete CANCELLED
 *                        return STATUS_PENDING;
 *
 * Later, on the polling core, the provider removes the IRP from its list and completes it;
 * DpwCompleteIrp (or the deferred pair below) disarms the hook itself. A hook that IoCancelIrp
 * already took may still be on its way to the core when the IRP completes there; the core's
 * cancel handling must find the IRP gone from its list and do nothing.
 */

/* Takes the IRP for a provider call: Idle or Completed -> Active. Returns STATUS_SUCCESS, or
 * STATUS_INVALID_PARAMETER (counted when not NULL) for NULL, a non-IRP, or an IRP that is
 * still Active/Completing from an earlier call. On failure the IRP is not touched. Cancel is
 * kept as it is: like Windows, only IoReuseIrp clears it, so a provider that finds it set
 * completes the call with STATUS_CANCELLED. */
NTSTATUS DpwStartIrp(PIRP Irp);

/* Sets (or with NULL clears) the cancel hook; returns the previous one. A NULL return when
 * clearing means IoCancelIrp has taken the hook and is running it. */
PDPW_CANCEL_ROUTINE DpwSetCancelRoutine(PIRP Irp, PDPW_CANCEL_ROUTINE Routine);

/*
 * Completes the IRP now, on this thread: records Status and Information in IoStatus, then runs
 * the completion routine if its Invoke flags match (success, error, or Cancel set). After the
 * routine the IRP belongs to the caller, whatever the routine returned, and is not touched
 * again; a routine returning anything but STATUS_MORE_PROCESSING_REQUIRED is counted, since on
 * Windows that would hand a caller-allocated IRP back to the I/O manager.
 * Returns STATUS_SUCCESS; STATUS_INVALID_DEVICE_STATE (counted, nothing changed) if the IRP was
 * already completing or completed; STATUS_INVALID_PARAMETER for NULL, a non-IRP, or
 * Status == STATUS_PENDING (counted).
 */
NTSTATUS DpwCompleteIrp(PIRP Irp, NTSTATUS Status, ULONG_PTR Information);

/* The same in two steps, for completions that travel through the client's completion ring:
 * the first records the result and claims the single completion (same returns as above), the
 * second, on the thread that drains the ring, runs the routine. DpwRunIrpCompletion returns
 * STATUS_INVALID_DEVICE_STATE (counted) unless the IRP is Completing. */
NTSTATUS DpwCompleteIrpDeferred(PIRP Irp, NTSTATUS Status, ULONG_PTR Information);
NTSTATUS DpwRunIrpCompletion(PIRP Irp);

/* DPW_IRP_STATS and DpwGetIrpStats are public (irp.h). */

#endif /* DPWSK_IRP_INTERNAL_H */
