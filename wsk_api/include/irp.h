/* The request object of every asynchronous WSK call (WSK-R2): an IRP allocated by the caller,
 * with its result in IoStatus and an optional completion routine. Windows names, userspace body. */
#ifndef DPWSK_IRP_H
#define DPWSK_IRP_H

/* The fields other threads touch are atomic: C11's _Atomic in C, std::atomic in C++ (the
 * same size and alignment for these types on the platforms DPDK runs on; checked below), so
 * that client code written in C++ includes this header unchanged. */
#ifdef __cplusplus
#include <atomic>
#define DPW_ATOMIC(T) std::atomic<T>
#else
#include <stdatomic.h>
#define DPW_ATOMIC(T) _Atomic(T)
#endif

#include "mdl.h"
#include "ntstatus.h"
#include "wsk_base.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct _IO_STATUS_BLOCK {
	union {
		NTSTATUS Status;
		PVOID Pointer;
	};
	ULONG_PTR Information;  /* bytes moved, or the new PWSK_SOCKET (WSK-R2) */
} IO_STATUS_BLOCK, *PIO_STATUS_BLOCK;

typedef struct _IRP IRP, *PIRP;

/* DeviceObject is always NULL: a WSK client's IRP has no device below it. Return
 * STATUS_MORE_PROCESSING_REQUIRED when the routine keeps (frees or reuses) the IRP. */
typedef NTSTATUS IO_COMPLETION_ROUTINE(PDEVICE_OBJECT DeviceObject, PIRP Irp, PVOID Context);
typedef IO_COMPLETION_ROUTINE *PIO_COMPLETION_ROUTINE;

/* The provider's cancel hook (dpwsk's stand-in for Windows' CancelRoutine): IoCancelIrp calls
 * it at most once, on the cancelling thread; it should only ask the polling core to cancel. */
typedef VOID DPW_CANCEL_ROUTINE(PIRP Irp);
typedef DPW_CANCEL_ROUTINE *PDPW_CANCEL_ROUTINE;

/* CompletionControl bits, Windows' IO_STACK_LOCATION.Control values. */
#define SL_PENDING_RETURNED  0x01
#define SL_INVOKE_ON_CANCEL  0x20
#define SL_INVOKE_ON_SUCCESS 0x40
#define SL_INVOKE_ON_ERROR   0x80

#define IO_TYPE_IRP 6

/* Where an IRP is in its life; lets dpwsk complete it exactly once (WSK-R2) and notice an IRP
 * handed to a second call while the first still holds it. */
typedef enum _DPW_IRP_STATE {
	DpwIrpIdle = 0,     /* allocated or reused, not with the provider */
	DpwIrpActive,       /* taken by a provider call, result not known yet */
	DpwIrpCompleting,   /* result in IoStatus, completion routine not run yet (queued) */
	DpwIrpCompleted     /* completion routine run, or running; the caller owns the IRP */
} DPW_IRP_STATE;

struct _IRP {
	CSHORT Type;                    /* IO_TYPE_IRP */
	USHORT Size;                    /* sizeof(IRP) */
	PMDL MdlAddress;                /* MDLs IoAllocateMdl attached; the caller frees them */
	ULONG Flags;
	IO_STATUS_BLOCK IoStatus;
	KPROCESSOR_MODE RequestorMode;
	BOOLEAN PendingReturned;        /* the provider returned STATUS_PENDING for it */
	CCHAR StackCount;
	CCHAR CurrentLocation;
	DPW_ATOMIC(BOOLEAN) Cancel;     /* set by IoCancelIrp, from any thread */
	PVOID UserBuffer;

	/* Windows keeps these in the next IO_STACK_LOCATION; a WSK IRP has one level only. */
	PIO_COMPLETION_ROUTINE CompletionRoutine;
	PVOID CompletionContext;
	UCHAR CompletionControl;        /* SL_INVOKE_ON_* */

	/* dpwsk's bookkeeping: touched by the app thread, IoCancelIrp and the polling core. */
	DPW_ATOMIC(PDPW_CANCEL_ROUTINE) DpwCancel;
	DPW_ATOMIC(int) DpwState;       /* DPW_IRP_STATE */
	UCHAR DpwAllocated;             /* TRUE if IoAllocateIrp owns the memory */

	/* The provider's own area while it holds the IRP (its pending lists), as on Windows. */
	union {
		struct {
			PVOID DriverContext[4];
			LIST_ENTRY ListEntry;
		} Overlay;
	} Tail;
};

/* A new IRP, zeroed, or NULL when out of memory or StackSize is negative. StackSize is kept
 * for show (one completion level whatever it is); ChargeQuota is ignored. */
PIRP IoAllocateIrp(CCHAR StackSize, BOOLEAN ChargeQuota);

/* Frees an IRP from IoAllocateIrp. (ours) An IRP the provider still holds is not freed but
 * leaked and counted, so that the provider's later completion touches valid memory. */
VOID IoFreeIrp(PIRP Irp);

/* Bytes for an IRP in the caller's own memory (IoInitializeIrp). */
#define IoSizeOfIrp(StackSize) ((USHORT)sizeof(IRP))

/* Prepares caller-provided memory as an IRP (e.g. embedded in a larger object). Such an IRP
 * is never passed to IoFreeIrp. PacketSize below sizeof(IRP) leaves the memory untouched. */
VOID IoInitializeIrp(PIRP Irp, USHORT PacketSize, CCHAR StackSize);

/* Makes a completed IRP ready for another call: IoStatus.Status = Iostatus, Information 0,
 * no completion routine, Cancel cleared, MdlAddress NULL (the caller frees its MDLs, as on
 * Windows). Typically called from the completion routine. (ours) An IRP the provider still
 * holds is left alone and counted. */
VOID IoReuseIrp(PIRP Irp, NTSTATUS Iostatus);

/* Sets the routine run when the IRP completes, and for which outcomes: success
 * (NT_SUCCESS(Status)), error (!NT_SUCCESS(Status), STATUS_CANCELLED included), or cancel
 * (IoCancelIrp was called on it). With all three FALSE the routine never runs. */
VOID IoSetCompletionRoutine(PIRP Irp, PIO_COMPLETION_ROUTINE CompletionRoutine, PVOID Context,
			    BOOLEAN InvokeOnSuccess, BOOLEAN InvokeOnError,
			    BOOLEAN InvokeOnCancel);

/* Marks the IRP cancelled and runs the provider's cancel hook if one is set (at most once).
 * Returns TRUE if the hook ran. The IRP then completes, usually with STATUS_CANCELLED, when
 * the polling core has processed the cancel: the caller still waits for the completion. */
BOOLEAN IoCancelIrp(PIRP Irp);

/* Provider side, called before returning STATUS_PENDING for the IRP. */
static inline VOID IoMarkIrpPending(PIRP Irp)
{
	Irp->PendingReturned = TRUE;
}

/* Process-wide IRP counters (relaxed atomics; only rare events are counted, never the hot
 * path): misuse caught, and Allocated - Freed for what a client never freed. */
typedef struct _DPW_IRP_STATS {
	ULONGLONG Allocated;            /* IoAllocateIrp successes */
	ULONGLONG Freed;                /* IoFreeIrp that freed */
	ULONGLONG DoubleCompletions;    /* completion of an IRP already completing/completed */
	ULONGLONG BadCompletionStatus;  /* completion with STATUS_PENDING */
	ULONGLONG BadRuns;              /* DpwRunIrpCompletion on an IRP not Completing */
	ULONGLONG BusyStarts;           /* DpwStartIrp on an IRP still Active/Completing */
	ULONGLONG BusyReuses;           /* IoReuseIrp on an IRP still Active/Completing */
	ULONGLONG BusyFrees;            /* IoFreeIrp on an IRP still Active/Completing (leaked) */
	ULONGLONG BadFrees;             /* IoFreeIrp on an IRP from IoInitializeIrp */
	ULONGLONG NotIrps;              /* a non-NULL pointer whose Type is not IO_TYPE_IRP */
	ULONGLONG NotOwnedByRoutine;    /* routine returned other than MORE_PROCESSING_REQUIRED */
	ULONGLONG CancelHooksRun;       /* IoCancelIrp calls that ran a hook */
} DPW_IRP_STATS, *PDPW_IRP_STATS;

VOID DpwGetIrpStats(PDPW_IRP_STATS Stats);

static inline DPW_IRP_STATE DpwGetIrpState(PIRP Irp)
{
#ifdef __cplusplus
	return (DPW_IRP_STATE)Irp->DpwState.load(std::memory_order_acquire);
#else
	return (DPW_IRP_STATE)atomic_load_explicit(&Irp->DpwState, memory_order_acquire);
#endif
}

#ifdef __cplusplus
static_assert(sizeof(std::atomic<BOOLEAN>) == sizeof(BOOLEAN) &&
		      sizeof(std::atomic<int>) == sizeof(int) &&
		      sizeof(std::atomic<PDPW_CANCEL_ROUTINE>) == sizeof(PDPW_CANCEL_ROUTINE),
	      "IRP's atomic fields must be laid out as the library (C) sees them");
#endif

#ifdef __cplusplus
}
#endif

#endif /* DPWSK_IRP_H */
