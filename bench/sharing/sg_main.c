/* sharegrind: a valgrind tool that finds the 64-byte cache lines written by one thread and
 * read or written by another, the answer perf c2c gives from a CPU's HITM events, in software
 * (this VM has no hardware performance counters). bench/sharing/check.sh tests it on
 * sharing-probe.c; bench/sharing/README.md says how to build, run and read it.
 *
 * Every guest load and store is instrumented. An access counts only while its thread is inside
 * one of the --window functions (like callgrind's --toggle-collect), or always when no window
 * is given. A thread enters a window at the window function's first instruction (its SP
 * then noted) and leaves it at the first return that takes its SP above that. For every line
 * touched in a window the tool keeps, per thread: reads, writes, the bytes of the line each
 * read and wrote, the code that read and wrote it, and the transfers into it:
 *
 *   transfer  an access by thread T to a line that another thread U holds modified, i.e. U
 *             wrote it in a window and nobody else has touched it since. On real hardware
 *             that is the access a HITM event counts (the line is fetched from U's cache in
 *             state M). After it the line is clean and shared: T's next reads are hits.
 *             A line written last outside any window (say by a thread that never enters one)
 *             counts apart, as transfers_from_outside, with the threads it came from:
 *             with --outside=track (the default) every access of every thread moves lines
 *             between the caches, counted or not, so that a line passed from U to T through
 *             a third thread is not taken for one passed straight from U to T.
 *
 * Under valgrind the threads run one at a time, each for a long slice (up to ~100,000
 * superblocks, or until it blocks or yields), so two threads' accesses interleave far more
 * coarsely than on two cores: the transfers counted here are a LOWER BOUND of what the
 * hardware would see. That a line has writers and readers on two threads at all (the
 * "lines of interest") does not depend on the interleaving; it is the robust result. Caches
 * are also taken as infinite: a line evicted between two accesses would be a miss, not a HITM.
 *
 * Threads are valgrind's ThreadIds (1, 2, ...; main is 1). A ThreadId is reused after its
 * thread exits, so two short-lived threads may be counted as one; the programs this is for
 * keep their threads for the whole run. Counters are kept for ThreadIds below MAX_SLOTS; the
 * rest share the last slot. */
#include "pub_tool_basics.h"
#include "pub_tool_debuginfo.h"
#include "pub_tool_execontext.h"
#include "pub_tool_hashtable.h"
#include "pub_tool_libcassert.h"
#include "pub_tool_libcbase.h"
#include "pub_tool_libcprint.h"
#include "pub_tool_machine.h"
#include "pub_tool_mallocfree.h"
#include "pub_tool_options.h"
#include "pub_tool_threadstate.h"
#include "pub_tool_tooliface.h"
#include "pub_tool_vki.h"

#define LINE_SHIFT   6                  /* 64-byte lines */
#define LINE_SIZE    (1UL << LINE_SHIFT)
#define MAX_SLOTS    64                 /* per-thread counters; ThreadIds above share the last */
#define MAX_WINDOWS  16
#define SITES        4                  /* distinct read, write locations kept per line and thread */
#define NO_THREAD    0xffff

/* ---- options ----------------------------------------------------------------------------- */

static const HChar *clo_windows[MAX_WINDOWS];
static Int clo_n_windows;
static const HChar *clo_out;            /* --out=FILE, else the valgrind log (stderr) */
static Long clo_top = 50;
static Bool clo_stacks = True;          /* stack traces of each thread's first write, read */
static Bool clo_outside = True;         /* accesses outside the windows move lines too */

/* ---- per-thread state -------------------------------------------------------------------- */

/* Window state, indexed by ThreadId (VG_N_THREADS entries): whether the thread is inside a
 * window function and the stack pointer at the outermost entry. The function has returned
 * once the thread's SP is above that (a return pops the return address the call pushed). */
typedef struct {
   Bool in_window;
   Addr entry_sp;
} WinState;

static WinState *win;

/* Per-slot totals, for the thread table and the summary. */
typedef struct {
   ULong accesses;                      /* counted (in-window) accesses */
   ULong entries[MAX_WINDOWS];          /* outermost entries into each window function */
   ExeContext *created_at;              /* where the thread was created */
} SlotStats;

static SlotStats slots[MAX_SLOTS];

/* The running thread, and whether it is in a window (always 1 without --window). The
 * instrumentation reads sg_active before every access and calls the helper only when it is
 * set, so the accesses outside the windows cost a load and a branch, not a call. Valgrind
 * runs one thread at a time and tells us which (start_client_code), so one global suffices. */
static ThreadId sg_tid;
static UInt sg_active;

static UInt slot_of(ThreadId tid)
{
   return tid < MAX_SLOTS ? tid : MAX_SLOTS - 1;
}

/* ---- per-line state ---------------------------------------------------------------------- */

typedef struct {
   Addr ip;
   ULong count;
} Site;

/* One thread's use of one line. */
typedef struct {
   UShort slot;
   ULong reads, writes;
   ULong transfers_in;                  /* its accesses that found another thread's M line */
   ULong transfers_in_outside;          /* the same, the line written outside a window */
   ULong rmask, wmask;                  /* bytes of the line it read, wrote (bit i = byte i) */
   Site wsites[SITES], rsites[SITES];   /* its first SITES write, read locations, counted */
   ULong other_wsites, other_rsites;    /* writes, reads from further locations */
   ExeContext *first_write, *first_read; /* stacks of its first write, read (--stacks=yes) */
} ThreadUse;

/* A line, keyed by its address >> LINE_SHIFT. Its first two fields are VgHashNode's. */
typedef struct Line {
   struct Line *next;
   UWord key;
   UShort dirty;                        /* the slot holding it modified, or NO_THREAD */
   Bool dirty_in_window;                /* and whether that write was made in a window */
   UShort n_uses, cap_uses;
   ULong holders;                       /* slots with a valid copy (bit per slot) */
   ULong transfers;                     /* HITM-like accesses, see the top of the file */
   ULong transfers_outside;             /* the same, from a write made outside the windows */
   ULong outside_writers;               /* the slots those writes came from (bit per slot) */
   ULong invalidations;                 /* writes that took the line from other holders */
   ThreadUse *uses;
} Line;

static VgHashTable *lines;

/* The last line each slot touched: most accesses hit the line of the one before. */
static struct {
   UWord key;
   Line *line;
} last_line[MAX_SLOTS];

static ULong window_accesses;

static Line *line_get(UWord key, UInt slot)
{
   Line *l;

   if (last_line[slot].line != NULL && last_line[slot].key == key)
      return last_line[slot].line;
   l = VG_(HT_lookup)(lines, key);
   if (l == NULL) {
      l = VG_(calloc)("sg.line", 1, sizeof(*l));
      l->key = key;
      l->dirty = NO_THREAD;
      VG_(HT_add_node)(lines, l);
   }
   last_line[slot].key = key;
   last_line[slot].line = l;
   return l;
}

static ThreadUse *use_get(Line *l, UInt slot)
{
   /* Lines are used by one to a few threads: a scan is cheaper than any map. */
   for (UInt i = 0; i < l->n_uses; i++)
      if (l->uses[i].slot == slot)
         return &l->uses[i];
   if (l->n_uses == l->cap_uses) {
      l->cap_uses = l->cap_uses ? 2 * l->cap_uses : 2;
      l->uses = VG_(realloc)("sg.uses", l->uses, l->cap_uses * sizeof(ThreadUse));
   }
   ThreadUse *u = &l->uses[l->n_uses++];
   VG_(memset)(u, 0, sizeof(*u));
   u->slot = (UShort)slot;
   return u;
}

static void note_site(Site *sites, ULong *other, Addr ip)
{
   for (UInt i = 0; i < SITES; i++) {
      if (sites[i].ip == ip) {
         sites[i].count++;
         return;
      }
      if (sites[i].count == 0) {
         sites[i].ip = ip;
         sites[i].count = 1;
         return;
      }
   }
   (*other)++;
}

/* Bytes lo..hi (0..63) of a line as a mask. */
static ULong byte_mask(UInt lo, UInt hi)
{
   ULong upto_hi = hi == 63 ? ~0ULL : (1ULL << (hi + 1)) - 1;

   return upto_hi & ~((1ULL << lo) - 1);
}

/* One counted access to bytes lo..hi of the line 'key'. The coherence model is MSI's, per
 * line: 'dirty' is the thread whose cache has it modified, 'holders' those with a copy. */
static void touch(UWord key, UInt lo, UInt hi, Bool is_write, UInt slot, Addr ip)
{
   Line *l = line_get(key, slot);
   ThreadUse *u = use_get(l, slot);
   ULong me = 1ULL << slot;

   if (l->dirty != NO_THREAD && l->dirty != slot) {
      if (l->dirty_in_window) {
         l->transfers++;
         u->transfers_in++;
      } else {
         l->transfers_outside++;
         l->outside_writers |= 1ULL << l->dirty;
         u->transfers_in_outside++;
      }
   }
   if (is_write) {
      if (u->writes == 0 && clo_stacks)
         u->first_write = VG_(record_ExeContext)(sg_tid, 0);
      u->writes++;
      u->wmask |= byte_mask(lo, hi);
      note_site(u->wsites, &u->other_wsites, ip);
      if ((l->holders & ~me) != 0)
         l->invalidations++;
      l->holders = me;
      l->dirty = (UShort)slot;
      l->dirty_in_window = True;
   } else {
      if (u->reads == 0 && clo_stacks)
         u->first_read = VG_(record_ExeContext)(sg_tid, 0);
      u->reads++;
      u->rmask |= byte_mask(lo, hi);
      note_site(u->rsites, &u->other_rsites, ip);
      l->holders |= me;
      if (l->dirty != slot)
         l->dirty = NO_THREAD;   /* written back and shared, if it was another's */
   }
}

/* An access outside the windows (--outside=track): not counted, but it moves the line as the
 * hardware would, so that a line another thread wrote in a window and a third thread (not in
 * a window: the wire, the NIC's stand-in) rewrote since is not counted as passed straight
 * from the first to the next. Only lines already touched in a window have a state to keep. */
static void touch_outside(UWord key, Bool is_write, UInt slot)
{
   Line *l;
   ULong me = 1ULL << slot;

   if (last_line[slot].line != NULL && last_line[slot].key == key) {
      l = last_line[slot].line;
   } else {
      l = VG_(HT_lookup)(lines, key);
      if (l == NULL)
         return;
      last_line[slot].key = key;
      last_line[slot].line = l;
   }
   if (is_write) {
      l->holders = me;
      l->dirty = (UShort)slot;
      l->dirty_in_window = False;
   } else {
      l->holders |= me;
      if (l->dirty != slot)
         l->dirty = NO_THREAD;
   }
}

/* The helpers the instrumentation calls: for every access with --outside=track, else only
 * while sg_active is set. sp is the thread's stack pointer at the access, passed in rather
 * than read from the guest state so that it is exact. */
static void access(Addr a, UWord size, Addr ip, Addr sp, Bool is_write)
{
   ThreadId tid = sg_tid;
   UInt slot = slot_of(tid);
   Addr last = a + size - 1;

   if (size == 0)
      return;
   if (clo_n_windows > 0 && win[tid].in_window && sp > win[tid].entry_sp) {
      win[tid].in_window = False;   /* left without a return: longjmp, unwinding */
      sg_active = 0;
   }
   if (clo_n_windows > 0 && !win[tid].in_window) {
      sg_active = 0;
      if (clo_outside)
         for (UWord key = a >> LINE_SHIFT; key <= last >> LINE_SHIFT; key++)
            touch_outside(key, is_write, slot);
      return;
   }
   slots[slot].accesses++;
   window_accesses++;
   /* An access that straddles lines is charged to each line it touches. */
   for (UWord key = a >> LINE_SHIFT; key <= last >> LINE_SHIFT; key++) {
      Addr base = key << LINE_SHIFT;
      UInt lo = a > base ? (UInt)(a - base) : 0;
      UInt hi = last < base + LINE_SIZE - 1 ? (UInt)(last - base) : LINE_SIZE - 1;

      touch(key, lo, hi, is_write, slot, ip);
   }
}

static void sg_read(Addr a, UWord size, Addr ip, Addr sp)
{
   access(a, size, ip, sp, False);
}

static void sg_write(Addr a, UWord size, Addr ip, Addr sp)
{
   access(a, size, ip, sp, True);
}

/* Called after each return while the thread is active, with the SP the return left: above
 * the window's entry SP, the window function has returned. This is the exit that matters: the
 * caller's next call may push its return address at the very same SP, so that the accesses
 * after a return need not show an SP above the entry. */
static void sg_ret(Addr sp)
{
   ThreadId tid = sg_tid;

   if (clo_n_windows > 0 && win[tid].in_window && sp > win[tid].entry_sp) {
      win[tid].in_window = False;
      sg_active = 0;
   }
}

/* Called at the entry of window function 'w', with the SP at its first instruction. */
static void sg_enter(UWord w, Addr sp)
{
   ThreadId tid = sg_tid;

   tl_assert(tid == VG_(get_running_tid)());
   if (win[tid].in_window && sp <= win[tid].entry_sp)
      return;   /* nested or recursive: the outermost entry is the window */
   /* Either a new entry, or the thread left without our seeing it (no access between the
    * return and now): either way, this is now the outermost entry. */
   win[tid].in_window = True;
   win[tid].entry_sp = sp;
   slots[slot_of(tid)].entries[w]++;
   sg_active = 1;
}

static void sg_start_client(ThreadId tid, ULong blocks)
{
   (void)blocks;
   sg_tid = tid;
   sg_active = clo_n_windows == 0 || win[tid].in_window;
}

static void sg_thread_create(ThreadId parent, ThreadId child)
{
   win[child].in_window = False;
   if (child < MAX_SLOTS && parent != VG_INVALID_THREADID && parent < VG_N_THREADS &&
       slots[child].created_at == NULL)
      slots[child].created_at = VG_(record_ExeContext)(parent, 0);
}

static void sg_thread_exit(ThreadId tid)
{
   win[tid].in_window = False;
}

/* ---- instrumentation --------------------------------------------------------------------- */

/* Index of the window function starting at 'a', or -1. */
static Int window_at(Addr a)
{
   const HChar *name;

   if (clo_n_windows == 0 || !VG_(get_fnname_if_entry)(VG_(current_DiEpoch)(), a, &name))
      return -1;
   for (Int i = 0; i < clo_n_windows; i++)
      if (VG_(strcmp)(name, clo_windows[i]) == 0)
         return i;
   return -1;
}

static IRExpr *new_tmp(IRSB *sb, IRType ty, IRExpr *e)
{
   IRTemp t = newIRTemp(sb->tyenv, ty);

   addStmtToIRSB(sb, IRStmt_WrTmp(t, e));
   return IRExpr_RdTmp(t);
}

/* if (sg_active) sg_ret(sp), at the end of a superblock that ends in a return. */
static void add_ret_check(IRSB *sb, const VexGuestLayout *layout)
{
   IRExpr *on = new_tmp(sb, Ity_I32,
                        IRExpr_Load(Iend_LE, Ity_I32, mkIRExpr_HWord((HWord)&sg_active)));
   IRExpr *cond = new_tmp(sb, Ity_I1, IRExpr_Binop(Iop_CmpNE32, on, IRExpr_Const(IRConst_U32(0))));
   IRExpr *sp = new_tmp(sb, Ity_I64, IRExpr_Get(layout->offset_SP, Ity_I64));
   IRDirty *di = unsafeIRDirty_0_N(0, "sg_ret", VG_(fnptr_to_fnentry)(sg_ret),
                                   mkIRExprVec_1(sp));

   di->guard = cond;
   addStmtToIRSB(sb, IRStmt_Dirty(di));
}

/* Before an access: if (sg_active && guard) helper(addr, size, ip, sp), or with
 * --outside=track, if (guard) helper(...): then every access goes to the helper. */
static void add_access(IRSB *sb, const VexGuestLayout *layout, IRExpr *addr, Int size,
                       Bool is_write, IRExpr *guard, Addr ip)
{
   IRExpr *cond = guard;
   IRExpr *sp = new_tmp(sb, Ity_I64, IRExpr_Get(layout->offset_SP, Ity_I64));
   IRDirty *di;

   if (!clo_outside || clo_n_windows == 0) {
      IRExpr *on = new_tmp(sb, Ity_I32, IRExpr_Load(Iend_LE, Ity_I32,
                                                    mkIRExpr_HWord((HWord)&sg_active)));
      IRExpr *active = new_tmp(sb, Ity_I1, IRExpr_Binop(Iop_CmpNE32, on,
                                                        IRExpr_Const(IRConst_U32(0))));

      cond = guard == NULL ? active
                           : new_tmp(sb, Ity_I1, IRExpr_Binop(Iop_And1, active, guard));
   }
   di = unsafeIRDirty_0_N(0, is_write ? "sg_write" : "sg_read",
                          VG_(fnptr_to_fnentry)(is_write ? (void *)sg_write : (void *)sg_read),
                          mkIRExprVec_4(addr, mkIRExpr_HWord((HWord)size),
                                        mkIRExpr_HWord((HWord)ip), sp));
   if (cond != NULL)
      di->guard = cond;
   addStmtToIRSB(sb, IRStmt_Dirty(di));
}

static IRSB *sg_instrument(VgCallbackClosure *closure, IRSB *in, const VexGuestLayout *layout,
                           const VexGuestExtents *vge, const VexArchInfo *arch,
                           IRType gWordTy, IRType hWordTy)
{
   IRSB *out;
   Addr ip = 0;
   Int i = 0;

   (void)closure; (void)vge; (void)arch;
   if (gWordTy != Ity_I64 || hWordTy != Ity_I64)
      VG_(tool_panic)("sharegrind: amd64 only");
   out = deepCopyIRSBExceptStmts(in);
   /* The statements before the first IMark (no guest code) go through as they are. */
   while (i < in->stmts_used && in->stmts[i]->tag != Ist_IMark)
      addStmtToIRSB(out, in->stmts[i++]);

   for (; i < in->stmts_used; i++) {
      IRStmt *st = in->stmts[i];

      if (st == NULL || st->tag == Ist_NoOp)
         continue;
      switch (st->tag) {
      case Ist_IMark: {
         Int w;

         ip = (Addr)st->Ist.IMark.addr;
         addStmtToIRSB(out, st);
         /* Every instruction is checked, not only the superblock's first: VEX may follow a
          * call into the callee within one superblock. */
         w = window_at(ip);
         if (w >= 0) {
            IRExpr *sp = new_tmp(out, Ity_I64, IRExpr_Get(layout->offset_SP, Ity_I64));
            IRDirty *di = unsafeIRDirty_0_N(0, "sg_enter", VG_(fnptr_to_fnentry)(sg_enter),
                                            mkIRExprVec_2(mkIRExpr_HWord((HWord)w), sp));
            addStmtToIRSB(out, IRStmt_Dirty(di));
         }
         continue;
      }
      case Ist_WrTmp: {
         IRExpr *e = st->Ist.WrTmp.data;

         if (e->tag == Iex_Load)
            add_access(out, layout, e->Iex.Load.addr, sizeofIRType(e->Iex.Load.ty), False,
                       NULL, ip);
         break;
      }
      case Ist_Store: {
         IRExpr *d = st->Ist.Store.data;

         add_access(out, layout, st->Ist.Store.addr, sizeofIRType(typeOfIRExpr(in->tyenv, d)),
                    True, NULL, ip);
         break;
      }
      case Ist_LoadG: {
         IRLoadG *lg = st->Ist.LoadG.details;
         IRType ty = Ity_INVALID, wide = Ity_INVALID;

         typeOfIRLoadGOp(lg->cvt, &wide, &ty);
         add_access(out, layout, lg->addr, sizeofIRType(ty), False, lg->guard, ip);
         break;
      }
      case Ist_StoreG: {
         IRStoreG *sg = st->Ist.StoreG.details;

         add_access(out, layout, sg->addr, sizeofIRType(typeOfIRExpr(in->tyenv, sg->data)),
                    True, sg->guard, ip);
         break;
      }
      case Ist_CAS: {
         /* A locked read-modify-write: charged as a write, even when the compare fails (the
          * core takes the line exclusive anyway). Its read is not charged again: the amd64
          * front end loads the old value with a plain load just before every CAS. */
         IRCAS *cas = st->Ist.CAS.details;
         Int size = sizeofIRType(typeOfIRExpr(in->tyenv, cas->dataLo));

         if (cas->dataHi != NULL)
            size *= 2;
         add_access(out, layout, cas->addr, size, True, NULL, ip);
         break;
      }
      case Ist_LLSC: {
         IRExpr *data = st->Ist.LLSC.storedata;

         if (data == NULL)
            add_access(out, layout, st->Ist.LLSC.addr,
                       sizeofIRType(typeOfIRTemp(in->tyenv, st->Ist.LLSC.result)), False,
                       NULL, ip);
         else
            add_access(out, layout, st->Ist.LLSC.addr,
                       sizeofIRType(typeOfIRExpr(in->tyenv, data)), True, NULL, ip);
         break;
      }
      case Ist_Dirty: {
         /* Helpers that touch memory themselves (fxsave, cpuid's tables, ...). */
         IRDirty *d = st->Ist.Dirty.details;

         if (d->mFx != Ifx_None) {
            if (d->mFx == Ifx_Read || d->mFx == Ifx_Modify)
               add_access(out, layout, d->mAddr, d->mSize, False, d->guard, ip);
            if (d->mFx == Ifx_Write || d->mFx == Ifx_Modify)
               add_access(out, layout, d->mAddr, d->mSize, True, d->guard, ip);
         }
         break;
      }
      default:
         break;
      }
      addStmtToIRSB(out, st);
   }
   /* A return: the SP it leaves (its PUT is above) tells whether a window was left. */
   if (clo_n_windows > 0 && in->jumpkind == Ijk_Ret)
      add_ret_check(out, layout);
   return out;
}

/* ---- report ------------------------------------------------------------------------------ */

static VgFile *out_fp;

static void say(const HChar *fmt, ...) PRINTF_CHECK(1, 2);
static void say(const HChar *fmt, ...)
{
   va_list vargs;

   va_start(vargs, fmt);
   if (out_fp != NULL) {
      VG_(vfprintf)(out_fp, fmt, vargs);
   } else {
      HChar buf[1024];

      VG_(vsnprintf)(buf, sizeof(buf), fmt, vargs);
      VG_(umsg)("%s", buf);
   }
   va_end(vargs);
}

/* "fn (file:line)" for a code address, with the functions inlined there innermost first
 * ("inner (h.h:3) < outer (c.c:9)"; needs --read-inline-info=yes). */
static void describe_code(Addr ip, HChar *buf, Int size)
{
   DiEpoch ep = VG_(current_DiEpoch)();
   InlIPCursor *iipc = VG_(new_IIPC)(ep, ip);
   Int n = 0;

   buf[0] = '\0';
   do {
      const HChar *d = VG_(describe_IP)(ep, ip, iipc);
      const HChar *colon = VG_(strstr)(d, ": ");

      /* describe_IP says "0xADDR: fn (file:line)": the address is left out when there is
       * a name, as the name says where it is. */
      if (colon != NULL && colon[2] != '?')
         d = colon + 2;
      n += VG_(snprintf)(buf + n, size - n, "%s%s", n > 0 ? " < " : "", d);
   } while (n < size - 1 && VG_(next_IIPC)(iipc));
   VG_(delete_IIPC)(iipc);
}

/* The global at a data address, "name+off", or "heap/other". */
static void describe_data(Addr a, HChar *buf, Int size)
{
   const HChar *name;
   PtrdiffT off;

   if (VG_(get_datasym_and_offset)(VG_(current_DiEpoch)(), a, &name, &off))
      VG_(snprintf)(buf, size, "%s+%ld", name, (long)off);
   else
      VG_(snprintf)(buf, size, "heap/other");
}

static Int lowest_bit(ULong m)
{
   return m == 0 ? -1 : __builtin_ctzll(m);
}


/* The line's 64 bytes as a thread used them, byte 0 first: '.' not touched, 'r' read,
 * 'w' written, 'x' both. Two threads' maps side by side show false sharing at a glance. */
static void byte_map(const ThreadUse *u, HChar map[LINE_SIZE + 1])
{
   for (UInt b = 0; b < LINE_SIZE; b++) {
      Bool r = (u->rmask >> b) & 1, w = (u->wmask >> b) & 1;

      map[b] = r && w ? 'x' : w ? 'w' : r ? 'r' : '.';
   }
   map[LINE_SIZE] = '\0';
}

typedef struct {
   HChar *buf;
   Int size, n;
} FrameSink;

static void add_frame(UInt n, DiEpoch ep, Addr ip, void *opaque)
{
   FrameSink *s = opaque;
   HChar d[512];

   (void)ep;
   if (n >= 6 || s->n >= s->size - 1)
      return;
   describe_code(ip, d, sizeof(d));
   s->n += VG_(snprintf)(s->buf + s->n, s->size - s->n, "%s%s", n > 0 ? " | " : "", d);
}

static void stack_string(ExeContext *ec, HChar *buf, Int size)
{
   FrameSink s = { buf, size, 0 };

   buf[0] = '\0';
   if (ec != NULL)
      VG_(apply_ExeContext)(add_frame, &s, ec);
}

static Int n_writers(const Line *l)
{
   Int n = 0;

   for (UInt i = 0; i < l->n_uses; i++)
      n += l->uses[i].writes > 0;
   return n;
}

/* A line of interest: written by at least one thread and used by at least one other. */
static Bool interesting(const Line *l)
{
   return n_writers(l) >= 1 && l->n_uses >= 2;
}

static Int by_transfers(const void *pa, const void *pb)
{
   const Line *a = *(const Line *const *)pa, *b = *(const Line *const *)pb;

   if (a->transfers != b->transfers)
      return a->transfers > b->transfers ? -1 : 1;
   if (a->invalidations != b->invalidations)
      return a->invalidations > b->invalidations ? -1 : 1;
   return a->key < b->key ? -1 : a->key > b->key ? 1 : 0;
}

/* True sharing: some byte one thread wrote is read or written by another. */
static Bool bytes_shared(const Line *l)
{
   for (UInt i = 0; i < l->n_uses; i++)
      for (UInt j = 0; j < l->n_uses; j++)
         if (i != j && (l->uses[i].wmask & (l->uses[j].wmask | l->uses[j].rmask)) != 0)
            return True;
   return False;
}

/* A thread's read or write locations on a line, most frequent first. */
static void report_sites(const HChar *what, const Site *sites, ULong other)
{
   Site s[SITES];

   VG_(memcpy)(s, sites, sizeof(s));
   for (UInt a = 0; a < SITES; a++)
      for (UInt b = a + 1; b < SITES; b++)
         if (s[b].count > s[a].count) {
            Site t = s[a];

            s[a] = s[b];
            s[b] = t;
         }
   for (UInt k = 0; k < SITES && s[k].count > 0; k++) {
      HChar code[1024];

      describe_code(s[k].ip, code, sizeof(code));
      say("        %s x%llu at %s\n", what, s[k].count, code);
   }
   if (other > 0)
      say("        %s x%llu at further locations\n", what, other);
}

static void report_line(UInt rank, const Line *l)
{
   Addr base = l->key << LINE_SHIFT;
   ULong all = 0;
   HChar sym[256];
   Int writers = n_writers(l);

   for (UInt i = 0; i < l->n_uses; i++)
      all |= l->uses[i].rmask | l->uses[i].wmask;
   describe_data(base + (Addr)lowest_bit(all), sym, sizeof(sym));
   HChar from[200] = "";
   Int n = 0;

   /* Which threads wrote, outside a window, what a window then took from them. */
   for (UInt b = 0; b < MAX_SLOTS && n < (Int)sizeof(from) - 8; b++)
      if ((l->outside_writers >> b) & 1)
         n += VG_(snprintf)(from + n, sizeof(from) - n, "%s%u", n > 0 ? "," : " (threads ", b);
   if (n > 0)
      VG_(strcat)(from, ")");
   say("sharegrind: #%u line=0x%lx sym=%s kind=%s sharing=%s writers=%d threads=%u "
       "transfers=%llu invalidations=%llu transfers_from_outside=%llu%s\n", rank, base, sym,
       writers >= 2 ? "shared-write" : "written-read", bytes_shared(l) ? "true" : "false",
       writers, (UInt)l->n_uses, l->transfers, l->invalidations, l->transfers_outside, from);
   for (UInt i = 0; i < l->n_uses; i++) {
      const ThreadUse *u = &l->uses[i];
      ULong m = u->wmask ? u->wmask : u->rmask;
      HChar where[256], map[LINE_SIZE + 1];

      describe_data(base + (Addr)lowest_bit(m), where, sizeof(where));
      byte_map(u, map);
      say("    thread %u%s: writes=%llu reads=%llu transfers_in=%llu (from outside %llu) at=%s\n"
          "        bytes %s\n", (UInt)u->slot, u->slot == MAX_SLOTS - 1 ? "+" : "",
          u->writes, u->reads, u->transfers_in, u->transfers_in_outside, where, map);
      report_sites("write", u->wsites, u->other_wsites);
      report_sites("read", u->rsites, u->other_rsites);
      if (u->first_write != NULL) {
         HChar stack[2048];

         stack_string(u->first_write, stack, sizeof(stack));
         say("        first write: %s\n", stack);
      }
      /* The read stack only of a thread that does not write: its reason to be here. */
      if (u->first_read != NULL && u->writes == 0) {
         HChar stack[2048];

         stack_string(u->first_read, stack, sizeof(stack));
         say("        first read: %s\n", stack);
      }
   }
}

static void sg_fini(Int exitcode)
{
   UInt n_lines = 0, n_interesting = 0, threads = 0;
   ULong shared_written = 0, written_read = 0, transfers = 0, invalidations = 0;
   ULong transfers_outside = 0;
   Line **all;

   (void)exitcode;
   if (clo_out != NULL) {
      out_fp = VG_(fopen)(clo_out, VKI_O_CREAT | VKI_O_TRUNC | VKI_O_WRONLY,
                          VKI_S_IRUSR | VKI_S_IWUSR | VKI_S_IRGRP | VKI_S_IROTH);
      if (out_fp == NULL)
         VG_(umsg)("sharegrind: cannot open %s, reporting here\n", clo_out);
   }

   all = (Line **)VG_(HT_to_array)(lines, &n_lines);
   for (UInt i = 0; i < n_lines; i++) {
      Line *l = all[i];

      transfers += l->transfers;
      invalidations += l->invalidations;
      transfers_outside += l->transfers_outside;
      if (interesting(l)) {
         all[n_interesting++] = l;
         if (n_writers(l) >= 2)
            shared_written++;
         else
            written_read++;
      }
   }
   VG_(ssort)(all, n_interesting, sizeof(Line *), by_transfers);

   say("sharegrind: lines written by one thread and read or written by another, in %s,\n",
       clo_n_windows > 0 ? "the windows" : "the whole run (no --window)");
   say("sharegrind: most transfers first (a transfer: an access to a line another thread holds "
       "modified, as a HITM;\n");
   say("sharegrind: a lower bound, as valgrind runs one thread at a time). kind=shared-write: "
       "written by 2+ threads;\n");
   say("sharegrind: kind=written-read: written by one, read by others. sharing=false: the "
       "threads' bytes do not overlap.\n");
   for (UInt i = 0; i < n_interesting && i < (ULong)clo_top; i++)
      report_line(i + 1, all[i]);
   if (n_interesting > (ULong)clo_top)
      say("sharegrind: (%u more lines of interest not shown; --top=N)\n",
          n_interesting - (UInt)clo_top);

   /* The threads: what each counted, and which windows it entered. */
   for (UInt s = 1; s < MAX_SLOTS; s++) {
      HChar created[2048];

      if (slots[s].accesses == 0 && slots[s].created_at == NULL && s != 1)
         continue;
      threads += slots[s].accesses > 0;
      stack_string(slots[s].created_at, created, sizeof(created));
      say("sharegrind: thread %u%s: window_accesses=%llu", s, s == MAX_SLOTS - 1 ? "+" : "",
          slots[s].accesses);
      for (Int w = 0; w < clo_n_windows; w++)
         say(" %s=%llu", clo_windows[w], slots[s].entries[w]);
      say("%s%s\n", created[0] ? " created at " : "", created);
   }
   say("sharegrind: threads=%u lines=%u shared_written=%llu written_read_by_other=%llu "
       "transfers=%llu invalidations=%llu transfers_from_outside=%llu window_accesses=%llu\n",
       threads, n_lines, shared_written, written_read, transfers, invalidations,
       transfers_outside, window_accesses);
   VG_(free)(all);
   if (out_fp != NULL)
      VG_(fclose)(out_fp);
}

/* ---- set-up ------------------------------------------------------------------------------ */

static Bool sg_option(const HChar *arg)
{
   const HChar *fn;

   if (VG_STR_CLO(arg, "--window", fn)) {
      if (clo_n_windows == MAX_WINDOWS)
         VG_(fmsg_bad_option)(arg, "at most %d --window options\n", MAX_WINDOWS);
      clo_windows[clo_n_windows++] = fn;
   } else if (VG_STR_CLO(arg, "--out", clo_out)) {
   } else if (VG_BINT_CLO(arg, "--top", clo_top, 0, 1000000)) {
   } else if (VG_BOOL_CLO(arg, "--stacks", clo_stacks)) {
   } else if (VG_XACT_CLO(arg, "--outside=track", clo_outside, True)) {
   } else if (VG_XACT_CLO(arg, "--outside=ignore", clo_outside, False)) {
   } else
      return False;
   return True;
}

static void sg_usage(void)
{
   VG_(printf)(
      "    --window=FN       count only accesses made inside function FN (and what it calls);\n"
      "                      may be given up to %d times; default: count everything\n"
      "    --out=FILE        write the report to FILE [the valgrind log]\n"
      "    --top=N           report the N lines with most transfers [50]\n"
      "    --stacks=yes|no   record the stacks of each thread's first write to a line and\n"
      "                      first read of it [yes]\n"
      "    --outside=track|ignore  whether accesses outside the windows move lines between\n"
      "                      caches (not counted either way) [track; ignore is faster]\n",
      MAX_WINDOWS);
}

static void sg_debug_usage(void)
{
}

static void sg_post_clo_init(void)
{
   win = VG_(calloc)("sg.win", VG_N_THREADS, sizeof(WinState));
   lines = VG_(HT_construct)("sharegrind.lines");
   sg_active = clo_n_windows == 0;
}

static void sg_pre_clo_init(void)
{
   VG_(details_name)("sharegrind");
   VG_(details_version)(NULL);
   VG_(details_description)("cache lines shared between threads (a software perf c2c)");
   VG_(details_copyright_author)("dpwsk project; uses the valgrind core, GNU GPL'd");
   VG_(details_bug_reports_to)("the dpwsk project");
   VG_(details_avg_translation_sizeB)(400);

   VG_(basic_tool_funcs)(sg_post_clo_init, sg_instrument, sg_fini);
   VG_(needs_command_line_options)(sg_option, sg_usage, sg_debug_usage);
   VG_(track_start_client_code)(sg_start_client);
   VG_(track_pre_thread_ll_create)(sg_thread_create);
   VG_(track_pre_thread_ll_exit)(sg_thread_exit);
}

VG_DETERMINE_INTERFACE_VERSION(sg_pre_clo_init)
