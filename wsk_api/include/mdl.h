/* Memory descriptor lists over ordinary process memory: the buffers of WSK_BUF. Same fields
 * and arithmetic as Windows (StartVa page-aligned, ByteOffset within the page), no paging. */
#ifndef DPWSK_MDL_H
#define DPWSK_MDL_H

#include "wsk_base.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The page size Windows' MDL arithmetic uses; only StartVa/ByteOffset depend on it. */
#define DPW_MDL_PAGE_SIZE 4096u

typedef struct _MDL {
	struct _MDL *Next;      /* next buffer of the chain, or NULL */
	CSHORT Size;            /* bytes of this structure */
	CSHORT MdlFlags;        /* MDL_* below */
	PEPROCESS Process;      /* always NULL: one address space */
	PVOID MappedSystemVa;   /* the buffer's address, kept equal to StartVa + ByteOffset */
	PVOID StartVa;          /* the buffer's address rounded down to DPW_MDL_PAGE_SIZE */
	ULONG ByteCount;        /* bytes described */
	ULONG ByteOffset;       /* buffer address - StartVa */
} MDL, *PMDL;

/* MdlFlags values, Windows' (wdm.h). dpwsk sets the first four; the rest are for show. */
#define MDL_MAPPED_TO_SYSTEM_VA     0x0001
#define MDL_PAGES_LOCKED            0x0002
#define MDL_SOURCE_IS_NONPAGED_POOL 0x0004
#define MDL_ALLOCATED_FIXED_SIZE    0x0008
#define MDL_PARTIAL                 0x0010
#define MDL_PARTIAL_HAS_BEEN_MAPPED 0x0020
#define MDL_IO_PAGE_READ            0x0040
#define MDL_WRITE_OPERATION         0x0080

/* MmGetSystemAddressForMdlSafe priorities; accepted and ignored (nothing can fail to map). */
typedef enum _MM_PAGE_PRIORITY {
	LowPagePriority = 0,
	NormalPagePriority = 16,
	HighPagePriority = 32
} MM_PAGE_PRIORITY;
#define MdlMappingNoWrite   0x80000000u
#define MdlMappingNoExecute 0x40000000u

/* MmProbeAndLockPages operations; accepted and ignored (process memory is always present). */
typedef enum _LOCK_OPERATION { IoReadAccess, IoWriteAccess, IoModifyAccess } LOCK_OPERATION;

struct _IRP;

/*
 * Allocates an MDL describing Length bytes at VirtualAddress. With Irp non-NULL, the MDL is
 * attached as on Windows: SecondaryBuffer FALSE makes it Irp->MdlAddress, TRUE appends it to
 * the end of the chain already there. ChargeQuota is ignored. Returns NULL when out of memory
 * or (ours) when VirtualAddress is NULL with a non-zero Length, which Windows would let
 * through and later fault on.
 */
PMDL IoAllocateMdl(PVOID VirtualAddress, ULONG Length, BOOLEAN SecondaryBuffer,
		   BOOLEAN ChargeQuota, struct _IRP *Irp);

/* Frees this one MDL, not the ones chained after it (as on Windows). NULL is ignored. */
VOID IoFreeMdl(PMDL Mdl);

/* Makes TargetMdl describe Length bytes of SourceMdl's buffer from VirtualAddress (Length 0:
 * to the end of the source). The range must lie inside the source; otherwise (ours) the
 * target is left describing nothing (ByteCount 0) instead of crashing. */
VOID IoBuildPartialMdl(PMDL SourceMdl, PMDL TargetMdl, PVOID VirtualAddress, ULONG Length);

/* Kept for ported code: user memory needs no locking or mapping here. They set the flags
 * Windows would set so that code inspecting MdlFlags behaves. */
VOID MmBuildMdlForNonPagedPool(PMDL Mdl);
VOID MmProbeAndLockPages(PMDL Mdl, KPROCESSOR_MODE AccessMode, LOCK_OPERATION Operation);
VOID MmUnlockPages(PMDL Mdl);

static inline ULONG MmGetMdlByteCount(const MDL *Mdl)
{
	return Mdl->ByteCount;
}

static inline ULONG MmGetMdlByteOffset(const MDL *Mdl)
{
	return Mdl->ByteOffset;
}

static inline PVOID MmGetMdlVirtualAddress(const MDL *Mdl)
{
	/* In integers: StartVa may be NULL, and NULL + 0 upsets the sanitizers. */
	return (PVOID)((ULONG_PTR)Mdl->StartVa + Mdl->ByteOffset);
}

/* The buffer is already in our address space, so the "system" address is the virtual one;
 * computed from StartVa/ByteOffset so that MDLs set up by MmInitializeMdl alone work too. */
static inline PVOID MmGetSystemAddressForMdlSafe(PMDL Mdl, ULONG Priority)
{
	(void)Priority;
	return MmGetMdlVirtualAddress(Mdl);
}

/* Bytes for an MDL in the caller's own memory: no page array follows it here. */
#define MmSizeOfMdl(Base, Length) ((SIZE_T)sizeof(MDL))

/* Describes Length bytes at BaseVa in caller-provided MDL memory (Windows' macro). */
static inline VOID MmInitializeMdl(PMDL Mdl, PVOID BaseVa, SIZE_T Length)
{
	ULONG_PTR va = (ULONG_PTR)BaseVa;

	Mdl->Next = NULL;
	Mdl->Size = (CSHORT)sizeof(MDL);
	Mdl->MdlFlags = 0;
	Mdl->Process = NULL;
	Mdl->StartVa = (PVOID)(va & ~(ULONG_PTR)(DPW_MDL_PAGE_SIZE - 1));
	Mdl->ByteOffset = (ULONG)(va & (DPW_MDL_PAGE_SIZE - 1));
	Mdl->ByteCount = (ULONG)Length;
	Mdl->MappedSystemVa = BaseVa;
}

/*
 * dpwsk helpers, not in Windows.
 */

/* One MDL for one buffer, ready to use (MmBuildMdlForNonPagedPool done). */
PMDL DpwAllocateMdlForBuffer(PVOID Buffer, ULONG Length);

/* A chain of Count MDLs, one per (Buffers[i], Lengths[i]), in order. Returns its head, or
 * NULL (nothing left allocated) if Count is 0 or any allocation fails. */
PMDL DpwBuildMdlChain(PVOID const *Buffers, const ULONG *Lengths, ULONG Count);

/* Frees a whole chain (IoFreeMdl on each). */
VOID DpwFreeMdlChain(PMDL Mdl);

/* Longest chain dpwsk walks. (ours) A WSK_BUF whose chain is longer, or loops back on itself,
 * is refused with STATUS_INVALID_PARAMETER rather than walked forever. */
#define DPW_MDL_CHAIN_MAX 65536u

/* Sum of ByteCount over the chain, stopping after DPW_MDL_CHAIN_MAX MDLs. */
SIZE_T DpwMdlChainByteCount(const MDL *Mdl);

#ifdef __cplusplus
}
#endif

#endif /* DPWSK_MDL_H */
