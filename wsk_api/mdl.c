/* MDLs over process memory, and WSK_BUF checking, walking and copying (WSK-R4). */
#include <stdlib.h>
#include <string.h>

#include "irp.h"
#include "mdl_internal.h"

PMDL IoAllocateMdl(PVOID VirtualAddress, ULONG Length, BOOLEAN SecondaryBuffer,
		   BOOLEAN ChargeQuota, PIRP Irp)
{
	PMDL mdl, tail;

	(void)ChargeQuota;
	if (VirtualAddress == NULL && Length != 0)
		return NULL;
	mdl = malloc(sizeof(*mdl));
	if (mdl == NULL)
		return NULL;
	MmInitializeMdl(mdl, VirtualAddress, Length);
	if (Irp != NULL) {
		if (!SecondaryBuffer || Irp->MdlAddress == NULL) {
			Irp->MdlAddress = mdl;
		} else {
			for (tail = Irp->MdlAddress; tail->Next != NULL; tail = tail->Next)
				;
			tail->Next = mdl;
		}
	}
	return mdl;
}

VOID IoFreeMdl(PMDL Mdl)
{
	free(Mdl);
}

VOID IoBuildPartialMdl(PMDL SourceMdl, PMDL TargetMdl, PVOID VirtualAddress, ULONG Length)
{
	ULONG_PTR start, end, va = (ULONG_PTR)VirtualAddress;

	if (SourceMdl == NULL || TargetMdl == NULL)
		return;
	start = (ULONG_PTR)MmGetMdlVirtualAddress(SourceMdl);
	end = start + SourceMdl->ByteCount;
	if (va < start || va > end || (Length != 0 && Length > end - va)) {
		/* Out of range: describe nothing rather than memory the source does not own. */
		MmInitializeMdl(TargetMdl, NULL, 0);
		TargetMdl->MdlFlags = MDL_PARTIAL;
		return;
	}
	if (Length == 0)
		Length = (ULONG)(end - va);
	MmInitializeMdl(TargetMdl, VirtualAddress, Length);
	TargetMdl->MdlFlags = (CSHORT)(MDL_PARTIAL | MDL_MAPPED_TO_SYSTEM_VA);
}

VOID MmBuildMdlForNonPagedPool(PMDL Mdl)
{
	if (Mdl == NULL)
		return;
	Mdl->MappedSystemVa = MmGetMdlVirtualAddress(Mdl);
	Mdl->MdlFlags |= MDL_SOURCE_IS_NONPAGED_POOL;
}

VOID MmProbeAndLockPages(PMDL Mdl, KPROCESSOR_MODE AccessMode, LOCK_OPERATION Operation)
{
	(void)AccessMode;
	(void)Operation;
	if (Mdl != NULL)
		Mdl->MdlFlags |= MDL_PAGES_LOCKED;
}

VOID MmUnlockPages(PMDL Mdl)
{
	if (Mdl != NULL)
		Mdl->MdlFlags &= (CSHORT)~MDL_PAGES_LOCKED;
}

PMDL DpwAllocateMdlForBuffer(PVOID Buffer, ULONG Length)
{
	PMDL mdl = IoAllocateMdl(Buffer, Length, FALSE, FALSE, NULL);

	if (mdl != NULL)
		MmBuildMdlForNonPagedPool(mdl);
	return mdl;
}

PMDL DpwBuildMdlChain(PVOID const *Buffers, const ULONG *Lengths, ULONG Count)
{
	PMDL head = NULL, *link = &head;
	ULONG i;

	if (Buffers == NULL || Lengths == NULL)
		return NULL;
	for (i = 0; i < Count; i++) {
		*link = DpwAllocateMdlForBuffer(Buffers[i], Lengths[i]);
		if (*link == NULL) {
			DpwFreeMdlChain(head);
			return NULL;
		}
		link = &(*link)->Next;
	}
	return head;
}

VOID DpwFreeMdlChain(PMDL Mdl)
{
	PMDL next;

	for (; Mdl != NULL; Mdl = next) {
		next = Mdl->Next;
		IoFreeMdl(Mdl);
	}
}

SIZE_T DpwMdlChainByteCount(const MDL *Mdl)
{
	SIZE_T total = 0;
	ULONG hops = 0;

	for (; Mdl != NULL && hops < DPW_MDL_CHAIN_MAX; Mdl = Mdl->Next, hops++)
		total += Mdl->ByteCount;
	return total;
}

NTSTATUS DpwValidateWskBuf(const WSK_BUF *Buffer)
{
	const MDL *mdl;
	SIZE_T need;
	ULONG avail, hops;

	if (Buffer == NULL)
		return STATUS_INVALID_PARAMETER;
	mdl = Buffer->Mdl;
	if (mdl == NULL)
		return Buffer->Length == 0 && Buffer->Offset == 0 ? STATUS_SUCCESS
								  : STATUS_INVALID_PARAMETER;
	/* WSK puts Offset inside the first MDL; its very end is a place only for nothing. */
	if (Buffer->Offset > mdl->ByteCount ||
	    (Buffer->Offset == mdl->ByteCount && Buffer->Length != 0))
		return STATUS_INVALID_PARAMETER;
	need = Buffer->Length;
	avail = mdl->ByteCount - Buffer->Offset;
	/* Walk only as far as Length reaches: MDLs after it are the caller's business. */
	for (hops = 0; need != 0; hops++) {
		if (hops >= DPW_MDL_CHAIN_MAX)
			return STATUS_INVALID_PARAMETER;
		if (avail != 0 && MmGetMdlVirtualAddress(mdl) == NULL)
			return STATUS_INVALID_PARAMETER;
		if (need <= avail)
			break;
		need -= avail;
		mdl = mdl->Next;
		if (mdl == NULL)
			return STATUS_INVALID_PARAMETER;
		avail = mdl->ByteCount;
	}
	return STATUS_SUCCESS;
}

BOOLEAN DpwWskBufCursorInit(PDPW_WSK_BUF_CURSOR Cursor, const WSK_BUF *Buffer, SIZE_T Offset)
{
	PMDL mdl;
	SIZE_T skip;
	ULONG hops = 0;

	Cursor->Mdl = NULL;
	Cursor->MdlOffset = 0;
	Cursor->Remaining = 0;
	Cursor->Hops = 0;
	if (Buffer == NULL || Offset > Buffer->Length)
		return FALSE;
	mdl = Buffer->Mdl;
	if (mdl == NULL)
		return Offset == Buffer->Length;  /* no bytes: only the end is a position */
	if (Buffer->Offset > mdl->ByteCount)
		return FALSE;
	/* Count from the start of the first MDL so Buffer->Offset and Offset skip as one. */
	skip = (SIZE_T)Buffer->Offset + Offset;
	while (skip >= mdl->ByteCount && skip != 0) {
		skip -= mdl->ByteCount;
		mdl = mdl->Next;
		if (mdl == NULL || ++hops >= DPW_MDL_CHAIN_MAX)
			return Offset == Buffer->Length && skip == 0;
	}
	Cursor->Mdl = mdl;
	Cursor->MdlOffset = (ULONG)skip;
	Cursor->Remaining = Buffer->Length - Offset;
	Cursor->Hops = hops;
	return TRUE;
}

SIZE_T DpwWskBufCursorNext(PDPW_WSK_BUF_CURSOR Cursor, PUCHAR *Data, SIZE_T MaxLength)
{
	PVOID base;
	SIZE_T n;

	while (Cursor->Remaining != 0 && Cursor->Mdl != NULL) {
		n = Cursor->Mdl->ByteCount - Cursor->MdlOffset;
		if (n == 0) {
			/* Exhausted (or empty) MDL: step to the next, within the chain bound. */
			Cursor->Mdl = Cursor->Mdl->Next;
			Cursor->MdlOffset = 0;
			if (++Cursor->Hops >= DPW_MDL_CHAIN_MAX)
				Cursor->Mdl = NULL;
			continue;
		}
		if (n > Cursor->Remaining)
			n = Cursor->Remaining;
		if (MaxLength != 0 && n > MaxLength)
			n = MaxLength;
		base = MmGetMdlVirtualAddress(Cursor->Mdl);
		if (base == NULL)
			break;  /* unvalidated buffer with no memory behind it: stop, do not fault */
		*Data = (PUCHAR)base + Cursor->MdlOffset;
		Cursor->MdlOffset += (ULONG)n;
		Cursor->Remaining -= n;
		return n;
	}
	*Data = NULL;
	return 0;
}

SIZE_T DpwCopyFromWskBuf(const WSK_BUF *Source, SIZE_T Offset, PVOID Destination,
			 SIZE_T Length)
{
	DPW_WSK_BUF_CURSOR cur;
	PUCHAR piece, out = Destination;
	SIZE_T n, done = 0;

	if (Destination == NULL || !DpwWskBufCursorInit(&cur, Source, Offset))
		return 0;
	while (done < Length && (n = DpwWskBufCursorNext(&cur, &piece, Length - done)) != 0) {
		memcpy(out + done, piece, n);
		done += n;
	}
	return done;
}

SIZE_T DpwCopyToWskBuf(const WSK_BUF *Destination, SIZE_T Offset, const VOID *Source,
		       SIZE_T Length)
{
	DPW_WSK_BUF_CURSOR cur;
	PUCHAR piece;
	const UCHAR *in = Source;
	SIZE_T n, done = 0;

	if (Source == NULL || !DpwWskBufCursorInit(&cur, Destination, Offset))
		return 0;
	while (done < Length && (n = DpwWskBufCursorNext(&cur, &piece, Length - done)) != 0) {
		memcpy(piece, in + done, n);
		done += n;
	}
	return done;
}
