/* MDL chains over process memory, WSK_BUF checking (WSK-R4) and the copy and walk helpers
 * the provider moves data with. */
#include <stdint.h>
#include <string.h>

#include "irp.h"
#include "mdl_internal.h"
#include "wsk_test.h"

/* Windows' MDL arithmetic: page-aligned StartVa plus ByteOffset is the buffer. */
static int test_allocate_mdl(void)
{
	static UCHAR buf[10000];
	PUCHAR at = buf + 1234;
	PMDL mdl = IoAllocateMdl(at, 777, FALSE, FALSE, NULL);

	CHECK(mdl != NULL);
	CHECK(mdl->Next == NULL);
	CHECK(((ULONG_PTR)mdl->StartVa & (DPW_MDL_PAGE_SIZE - 1)) == 0);
	CHECK((PUCHAR)mdl->StartVa + mdl->ByteOffset == at);
	CHECK(mdl->ByteOffset < DPW_MDL_PAGE_SIZE);
	CHECK(MmGetMdlByteCount(mdl) == 777);
	CHECK(MmGetMdlByteOffset(mdl) == mdl->ByteOffset);
	CHECK(MmGetMdlVirtualAddress(mdl) == at);
	CHECK(MmGetSystemAddressForMdlSafe(mdl, NormalPagePriority | MdlMappingNoExecute) == at);

	MmBuildMdlForNonPagedPool(mdl);
	CHECK(mdl->MdlFlags & MDL_SOURCE_IS_NONPAGED_POOL);
	CHECK(mdl->MappedSystemVa == at);
	MmProbeAndLockPages(mdl, KernelMode, IoWriteAccess);
	CHECK(mdl->MdlFlags & MDL_PAGES_LOCKED);
	MmUnlockPages(mdl);
	CHECK(!(mdl->MdlFlags & MDL_PAGES_LOCKED));
	IoFreeMdl(mdl);

	/* (ours) no memory behind a non-empty MDL: refused at once, not at first use. */
	CHECK(IoAllocateMdl(NULL, 10, FALSE, FALSE, NULL) == NULL);
	mdl = IoAllocateMdl(NULL, 0, FALSE, FALSE, NULL);
	CHECK(mdl != NULL && MmGetMdlByteCount(mdl) == 0);
	IoFreeMdl(mdl);
	IoFreeMdl(NULL);
	return 0;
}

/* As on Windows: the first MDL becomes Irp->MdlAddress, secondary ones chain after it. */
static int test_mdl_on_irp(void)
{
	static UCHAR a[16], b[16], c[16];
	PIRP irp = IoAllocateIrp(1, FALSE);
	PMDL ma, mb, mc;

	CHECK(irp != NULL);
	ma = IoAllocateMdl(a, sizeof(a), FALSE, FALSE, irp);
	CHECK(ma != NULL && irp->MdlAddress == ma);
	mb = IoAllocateMdl(b, sizeof(b), TRUE, FALSE, irp);
	mc = IoAllocateMdl(c, sizeof(c), TRUE, FALSE, irp);
	CHECK(mb != NULL && mc != NULL);
	CHECK(irp->MdlAddress == ma && ma->Next == mb && mb->Next == mc && mc->Next == NULL);
	CHECK(DpwMdlChainByteCount(irp->MdlAddress) == 48);
	/* The IRP does not own them: the caller frees them, then the IRP. */
	DpwFreeMdlChain(irp->MdlAddress);
	irp->MdlAddress = NULL;
	IoFreeIrp(irp);
	return 0;
}

static int test_partial_mdl(void)
{
	static UCHAR buf[100];
	PMDL src = DpwAllocateMdlForBuffer(buf, sizeof(buf));
	MDL part;

	CHECK(src != NULL);
	IoBuildPartialMdl(src, &part, buf + 10, 20);
	CHECK(MmGetMdlVirtualAddress(&part) == buf + 10 && MmGetMdlByteCount(&part) == 20);
	CHECK(part.MdlFlags & MDL_PARTIAL);
	IoBuildPartialMdl(src, &part, buf + 60, 0);  /* 0: to the end of the source */
	CHECK(MmGetMdlByteCount(&part) == 40);
	IoBuildPartialMdl(src, &part, buf + 90, 20); /* past the end: describes nothing */
	CHECK(MmGetMdlByteCount(&part) == 0);
	IoFreeMdl(src);
	return 0;
}

/* A 3-MDL chain over buffers of 5, 7 and 11 bytes filled with their position in the chain:
 * byte k of the chain holds k + 1. */
struct chain {
	UCHAR b0[5], b1[7], b2[11];
	PMDL mdl;
};

static int make_chain(struct chain *c)
{
	PVOID bufs[3] = { c->b0, c->b1, c->b2 };
	ULONG lens[3] = { sizeof(c->b0), sizeof(c->b1), sizeof(c->b2) };
	UCHAR k = 1;
	int i, j;

	for (i = 0; i < 3; i++)
		for (j = 0; j < (int)lens[i]; j++)
			((PUCHAR)bufs[i])[j] = k++;
	c->mdl = DpwBuildMdlChain(bufs, lens, 3);
	return c->mdl != NULL;
}

static int test_build_chain(void)
{
	struct chain c;

	CHECK(make_chain(&c));
	CHECK(c.mdl->Next != NULL && c.mdl->Next->Next != NULL && c.mdl->Next->Next->Next == NULL);
	CHECK(MmGetMdlVirtualAddress(c.mdl->Next) == c.b1);
	CHECK(DpwMdlChainByteCount(c.mdl) == 23);
	CHECK(DpwBuildMdlChain(NULL, NULL, 3) == NULL);
	CHECK(DpwBuildMdlChain((PVOID[]){ c.b0 }, (ULONG[]){ 5 }, 0) == NULL);
	/* A failing element leaves nothing allocated (ASan would report a leak). */
	CHECK(DpwBuildMdlChain((PVOID[]){ c.b0, NULL }, (ULONG[]){ 5, 5 }, 2) == NULL);
	DpwFreeMdlChain(c.mdl);
	return 0;
}

/* WSK-R4: well-formed buffers pass. */
static int test_validate_good(void)
{
	struct chain c;
	WSK_BUF wb;

	CHECK(make_chain(&c));
	wb = (WSK_BUF){ c.mdl, 0, 23 };         /* the whole chain */
	CHECK_STATUS(DpwValidateWskBuf(&wb), STATUS_SUCCESS);
	wb = (WSK_BUF){ c.mdl, 3, 20 };         /* offset in the first MDL, up to the end */
	CHECK_STATUS(DpwValidateWskBuf(&wb), STATUS_SUCCESS);
	wb = (WSK_BUF){ c.mdl, 4, 1 };          /* last byte of the first MDL only */
	CHECK_STATUS(DpwValidateWskBuf(&wb), STATUS_SUCCESS);
	wb = (WSK_BUF){ c.mdl, 2, 10 };         /* ends inside the chain */
	CHECK_STATUS(DpwValidateWskBuf(&wb), STATUS_SUCCESS);
	wb = (WSK_BUF){ c.mdl, 0, 0 };          /* zero-length receive (WSK-F4) */
	CHECK_STATUS(DpwValidateWskBuf(&wb), STATUS_SUCCESS);
	wb = (WSK_BUF){ c.mdl, 5, 0 };          /* nothing, at the end of the first MDL */
	CHECK_STATUS(DpwValidateWskBuf(&wb), STATUS_SUCCESS);
	wb = (WSK_BUF){ NULL, 0, 0 };           /* no MDL and nothing to describe */
	CHECK_STATUS(DpwValidateWskBuf(&wb), STATUS_SUCCESS);
	DpwFreeMdlChain(c.mdl);
	return 0;
}

/* WSK-R4 (ours): each malformed buffer is STATUS_INVALID_PARAMETER, never a crash. */
static int test_validate_bad(void)
{
	struct chain c;
	WSK_BUF wb;
	MDL hole, loop_a, loop_b;
	static UCHAR buf[8];

	CHECK(make_chain(&c));
	/* Length longer than the chain. */
	wb = (WSK_BUF){ c.mdl, 0, 24 };
	CHECK_STATUS(DpwValidateWskBuf(&wb), STATUS_INVALID_PARAMETER);
	wb = (WSK_BUF){ c.mdl, 3, 21 };         /* one past, counting from the offset */
	CHECK_STATUS(DpwValidateWskBuf(&wb), STATUS_INVALID_PARAMETER);
	wb = (WSK_BUF){ c.mdl, 0, SIZE_MAX };
	CHECK_STATUS(DpwValidateWskBuf(&wb), STATUS_INVALID_PARAMETER);
	/* Offset outside the first MDL. */
	wb = (WSK_BUF){ c.mdl, 5, 1 };          /* at its end, with data wanted */
	CHECK_STATUS(DpwValidateWskBuf(&wb), STATUS_INVALID_PARAMETER);
	wb = (WSK_BUF){ c.mdl, 6, 0 };          /* beyond it, even for nothing */
	CHECK_STATUS(DpwValidateWskBuf(&wb), STATUS_INVALID_PARAMETER);
	wb = (WSK_BUF){ c.mdl, 0xFFFFFFFFu, 1 };
	CHECK_STATUS(DpwValidateWskBuf(&wb), STATUS_INVALID_PARAMETER);
	/* NULL MDL with a length (or an offset). */
	wb = (WSK_BUF){ NULL, 0, 1 };
	CHECK_STATUS(DpwValidateWskBuf(&wb), STATUS_INVALID_PARAMETER);
	wb = (WSK_BUF){ NULL, 4, 0 };
	CHECK_STATUS(DpwValidateWskBuf(&wb), STATUS_INVALID_PARAMETER);
	CHECK_STATUS(DpwValidateWskBuf(NULL), STATUS_INVALID_PARAMETER);
	/* An MDL in the range claiming bytes at address NULL. */
	MmInitializeMdl(&hole, NULL, 4);
	c.mdl->Next->Next->Next = &hole;
	wb = (WSK_BUF){ c.mdl, 0, 25 };
	CHECK_STATUS(DpwValidateWskBuf(&wb), STATUS_INVALID_PARAMETER);
	wb = (WSK_BUF){ c.mdl, 0, 23 };         /* stops before it: fine */
	CHECK_STATUS(DpwValidateWskBuf(&wb), STATUS_SUCCESS);
	c.mdl->Next->Next->Next = NULL;
	/* A chain that loops back on itself: bounded, then refused. */
	MmInitializeMdl(&loop_a, buf, 0);
	MmInitializeMdl(&loop_b, buf, 0);
	loop_a.Next = &loop_b;
	loop_b.Next = &loop_a;
	wb = (WSK_BUF){ &loop_a, 0, 1 };
	CHECK_STATUS(DpwValidateWskBuf(&wb), STATUS_INVALID_PARAMETER);
	CHECK(DpwMdlChainByteCount(&loop_a) == 0);   /* terminates too */
	DpwFreeMdlChain(c.mdl);
	return 0;
}

/* WSK-R4: copies across a 3-MDL chain whose WSK_BUF starts at an offset; every (offset,
 * length) pair against a flat reference. */
static int test_copy_from(void)
{
	struct chain c;
	WSK_BUF wb;
	UCHAR out[32];
	SIZE_T off, len, got, i;

	CHECK(make_chain(&c));
	wb = (WSK_BUF){ c.mdl, 3, 18 };         /* chain bytes 3..20, values 4..21 */
	CHECK_STATUS(DpwValidateWskBuf(&wb), STATUS_SUCCESS);
	for (off = 0; off <= 18; off++) {
		for (len = 0; len <= 20; len++) {
			memset(out, 0xEE, sizeof(out));
			got = DpwCopyFromWskBuf(&wb, off, out, len);
			/* Clamped to the buffer's end, never to the chain's. */
			CHECK(got == (len < 18 - off ? len : 18 - off));
			for (i = 0; i < got; i++)
				CHECK(out[i] == (UCHAR)(3 + off + i + 1));
			CHECK(out[got] == 0xEE);
		}
	}
	/* An offset past the end copies nothing. */
	CHECK(DpwCopyFromWskBuf(&wb, 19, out, 1) == 0);
	CHECK(DpwCopyFromWskBuf(&wb, 0, NULL, 4) == 0);
	DpwFreeMdlChain(c.mdl);
	return 0;
}

static int test_copy_to(void)
{
	struct chain c;
	WSK_BUF wb;
	UCHAR in[32], flat[23];
	SIZE_T off, len, got, i;

	for (i = 0; i < sizeof(in); i++)
		in[i] = (UCHAR)(0xA0 + i);
	for (off = 0; off <= 18; off++) {
		for (len = 0; len <= 20; len++) {
			CHECK(make_chain(&c));
			wb = (WSK_BUF){ c.mdl, 3, 18 };
			got = DpwCopyToWskBuf(&wb, off, in, len);
			CHECK(got == (len < 18 - off ? len : 18 - off));
			memcpy(flat, c.b0, 5);
			memcpy(flat + 5, c.b1, 7);
			memcpy(flat + 12, c.b2, 11);
			/* Written exactly [3 + off, 3 + off + got); everything else as it was,
			 * including the bytes before Offset and after Length. */
			for (i = 0; i < 23; i++) {
				if (i >= 3 + off && i < 3 + off + got)
					CHECK(flat[i] == in[i - 3 - off]);
				else
					CHECK(flat[i] == (UCHAR)(i + 1));
			}
			DpwFreeMdlChain(c.mdl);
		}
	}
	return 0;
}

/* The zero-copy walk: pieces follow MDL boundaries, honour MaxLength, skip empty MDLs. */
static int test_cursor(void)
{
	static UCHAR a[4], b[6];
	MDL ma, empty, mb;
	DPW_WSK_BUF_CURSOR cur;
	WSK_BUF wb;
	PUCHAR piece;

	MmInitializeMdl(&ma, a, sizeof(a));
	MmInitializeMdl(&empty, b, 0);
	MmInitializeMdl(&mb, b, sizeof(b));
	ma.Next = &empty;
	empty.Next = &mb;
	wb = (WSK_BUF){ &ma, 1, 8 };

	CHECK(DpwWskBufCursorInit(&cur, &wb, 0));
	CHECK(cur.Remaining == 8);
	CHECK(DpwWskBufCursorNext(&cur, &piece, 0) == 3 && piece == a + 1);
	CHECK(DpwWskBufCursorNext(&cur, &piece, 2) == 2 && piece == b);
	CHECK(DpwWskBufCursorNext(&cur, &piece, 0) == 3 && piece == b + 2);
	CHECK(DpwWskBufCursorNext(&cur, &piece, 0) == 0 && piece == NULL);

	/* Starting on an MDL boundary, and at the very end. */
	CHECK(DpwWskBufCursorInit(&cur, &wb, 3));
	CHECK(DpwWskBufCursorNext(&cur, &piece, 0) == 5 && piece == b);
	CHECK(DpwWskBufCursorInit(&cur, &wb, 8));
	CHECK(cur.Remaining == 0 && DpwWskBufCursorNext(&cur, &piece, 0) == 0);
	CHECK(!DpwWskBufCursorInit(&cur, &wb, 9));
	/* A WSK_BUF longer than its chain: the walk stops where the chain does. */
	wb.Length = 100;
	CHECK(DpwWskBufCursorInit(&cur, &wb, 0));
	CHECK(DpwWskBufCursorNext(&cur, &piece, 0) == 3);
	CHECK(DpwWskBufCursorNext(&cur, &piece, 0) == 6);
	CHECK(DpwWskBufCursorNext(&cur, &piece, 0) == 0);
	CHECK(!DpwWskBufCursorInit(&cur, &wb, 50));
	return 0;
}

int main(void)
{
	int failures = 0;

	RUN(test_allocate_mdl);
	RUN(test_mdl_on_irp);
	RUN(test_partial_mdl);
	RUN(test_build_chain);
	RUN(test_validate_good);
	RUN(test_validate_bad);
	RUN(test_copy_from);
	RUN(test_copy_to);
	RUN(test_cursor);
	return failures != 0;
}
