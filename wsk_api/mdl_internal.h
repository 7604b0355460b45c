/* Provider side of WSK_BUF: checking one against its MDL chain (WSK-R4), walking it piece by
 * piece without copying, and copying between it and flat memory. */
#ifndef DPWSK_MDL_INTERNAL_H
#define DPWSK_MDL_INTERNAL_H

#include "wsk_types.h"

/*
 * STATUS_SUCCESS if Buffer describes Length readable bytes, else STATUS_INVALID_PARAMETER
 * (ours: Windows would crash later) for: a NULL Buffer; a NULL Mdl with a non-zero Length or
 * Offset; an Offset outside the first MDL (Offset == its ByteCount only with Length 0); a
 * Length longer than the chain from Offset on; an MDL in the range with bytes but no address;
 * a chain longer than DPW_MDL_CHAIN_MAX or looping. Call it before taking the IRP's data.
 */
NTSTATUS DpwValidateWskBuf(const WSK_BUF *Buffer);

/* A position inside a WSK_BUF, for handing its pieces to the transport without a copy. */
typedef struct _DPW_WSK_BUF_CURSOR {
	PMDL Mdl;           /* MDL of the next byte; NULL once the chain is exhausted */
	ULONG MdlOffset;    /* offset of the next byte within Mdl */
	SIZE_T Remaining;   /* bytes of the WSK_BUF still ahead */
	ULONG Hops;         /* MDLs stepped over, bounded by DPW_MDL_CHAIN_MAX */
} DPW_WSK_BUF_CURSOR, *PDPW_WSK_BUF_CURSOR;

/* Positions Cursor Offset bytes into the buffer (0 = its first byte, Length = its end).
 * Returns FALSE, with Remaining 0, when Offset > Length or the chain is shorter. */
BOOLEAN DpwWskBufCursorInit(PDPW_WSK_BUF_CURSOR Cursor, const WSK_BUF *Buffer, SIZE_T Offset);

/* The next contiguous piece, at most MaxLength bytes (0: no limit): stores its address in
 * *Data, advances past it and returns its length; returns 0 at the end. */
SIZE_T DpwWskBufCursorNext(PDPW_WSK_BUF_CURSOR Cursor, PUCHAR *Data, SIZE_T MaxLength);

/* Copy Length bytes between flat memory and the buffer, starting Offset bytes into the
 * buffer. Both stop at the buffer's end (or a short chain) and return the bytes copied. */
SIZE_T DpwCopyFromWskBuf(const WSK_BUF *Source, SIZE_T Offset, PVOID Destination,
			 SIZE_T Length);
SIZE_T DpwCopyToWskBuf(const WSK_BUF *Destination, SIZE_T Offset, const VOID *Source,
		       SIZE_T Length);

#endif /* DPWSK_MDL_INTERNAL_H */
