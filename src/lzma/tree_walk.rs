//! The binary-tree half of BT4, as the match-finder thread runs it (see
//! `match_thread`): the hash-4 heads come precomputed, one per position, so this thread
//! does nothing but walk and update the tree, the work that dominates BT4.
//!
//! It walks the tree at every position and reports every match longer than 3 that the
//! walk finds, each longer than the one before. `Bt4::find_matches` would report the
//! same walk's matches longer than what its 2- and 3-byte hashes found, and
//! `Bt4::skip` would update the tree the same way; the parser's side filters
//! accordingly, so the matches it ends up with are BT4's exactly.
//!
//! Each position's result is an "op" appended to a `Vec<u32>`: the match count, then
//! the (length, distance − 1) pairs.
//!
//! Two walks can share one tree. BT4 keeps one tree per hash-4 bucket, and a walk only
//! reads and writes the nodes of its own bucket's positions, so a walker that takes
//! only some of the buckets (`bucket_mark`) never touches a node another walks, and
//! each finds exactly what one walker alone would. That holds while no node slot is
//! reused: until the window has taken `cyclic_size` positions, the split end.
//! - Two walker threads take half the buckets each (`Share::Half`). At the split end
//!   the walker of the odd half stops, and the even one, once told that the odd one
//!   is done, walks every position from then on.
//! - One walker thread may lend the parser the positions of one bucket in eight
//!   (`Share::Lend`; when, see `match_thread`). A bucket lent is the parser's until
//!   the parser has walked its last position lent; at the split end the walker waits
//!   for that, and lends no more.

use super::bt4::{max_pos, prefetch_candidate};
use super::extend_match;
use super::lz_encoder::LzEncoderData;
use std::sync::Arc;
use std::sync::atomic::{AtomicI32, Ordering::Relaxed};

/// How many positions ahead the tree node and bytes of a head are prefetched.
const HEAD_AHEAD: usize = 8;

/// How long a match may be, and how long is long enough to stop looking, at a position
/// with `avail` bytes after it (BT4's `match_len_limit` and `nice_len_limit`).
pub(crate) fn len_limits(window: &LzEncoderData, avail: i32) -> (i32, i32) {
    (avail.min(window.match_len_max as i32), avail.min(window.nice_len as i32))
}

/// Bit 31 of a head (never set in a position number) marks the buckets of the odd
/// half, or those that may be lent.
const ODD_HALF: u32 = 1 << 31;

/// Which buckets a head's mark picks out. Any function of the slot splits the trees.
#[derive(Clone, Copy, PartialEq, Debug)]
pub(crate) enum Split {
    /// The odd half, for two walker threads: the parity of all the slot's bits keeps
    /// the halves even where the low bits follow a few input bytes (text, tables).
    Halves,
    /// One bucket in `1 << LENDABLE_BITS`, which one walker thread may lend.
    Lendable,
}

/// One bucket in eight may be lent. Measured as a fixed share, before lending was
/// adaptive: on the 63 MB bench set one in eight took 0.96 of the time of no share,
/// one in sixteen 0.98 and one in four 1.04 (medians of 4 rounds).
const LENDABLE_BITS: u32 = 3;

/// The mark for the head of a position in the bucket `slot`: `ODD_HALF` where `split`
/// picks the bucket out, else 0.
#[inline(always)]
pub(crate) fn bucket_mark(split: Split, slot: usize) -> u32 {
    match split {
        Split::Halves => (slot.count_ones() & 1) << 31,
        // The top bits of a multiplicative hash of the whole slot.
        Split::Lendable => (((slot as u32).wrapping_mul(0x9E37_79B9) >> (32 - LENDABLE_BITS)) == 0) as u32 * ODD_HALF,
    }
}

/// The positions a walker walks.
#[derive(Clone, Copy, PartialEq, Debug)]
pub(crate) enum Share {
    All,
    /// Those whose hash-4 bucket is in the odd half (`true`) or the even one.
    Half {
        odd: bool,
    },
    /// Those of the unmarked buckets; each position of a marked one gets the op
    /// `[LENT, head]` instead, for the parser to walk (`walk_lent`).
    Lend,
}

/// The first number of a lent position's op (a match count is never this large).
pub(crate) const LENT: u32 = u32::MAX;

/// The tree's nodes, shared by the walkers. Atomics with relaxed ordering compile to
/// plain loads and stores here; they keep a sharing mistake a matter of worse matches,
/// never of undefined behaviour.
pub(crate) struct Tree(Box<[AtomicI32]>);

impl Tree {
    pub(crate) fn new(cyclic_size: i32) -> Arc<Tree> {
        const { assert!(align_of::<AtomicI32>() == align_of::<i32>()) };
        // Zeroed pages from the allocator, asked to be huge before they are touched.
        let mut nodes = vec![0i32; cyclic_size as usize * 2];
        crate::sys::huge_pages::advise(&mut nodes);
        let nodes = Box::into_raw(nodes.into_boxed_slice()) as *mut [AtomicI32];
        // SAFETY: AtomicI32 has the size, bit validity and (asserted) alignment of i32;
        // the allocation is handed over whole, from one box to the other.
        Arc::new(Tree(unsafe { Box::from_raw(nodes) }))
    }

    pub(crate) fn len(&self) -> usize {
        self.0.len()
    }

    /// Faults in the pages of the nodes `nodes` (see `huge_pages::fault_in`), which
    /// leaves their values as they are whoever else reads or writes them meanwhile.
    pub(crate) fn fault_in(&self, nodes: std::ops::Range<usize>) {
        let nodes = &self.0[nodes];
        if !crate::sys::huge_pages::fault_in(nodes) {
            fault_in_by_writing(nodes);
        }
    }
}

/// For kernels before 5.14: a write to every page, which changes no value. A locked
/// compare-and-exchange writes even when it fails (x86), and stores a 0 only where a
/// 0 is.
fn fault_in_by_writing(nodes: &[AtomicI32]) {
    for node in nodes.iter().step_by(4096 / size_of::<AtomicI32>()) {
        let _ = node.compare_exchange(0, 0, Relaxed, Relaxed);
    }
}

pub(crate) struct TreeWalker {
    tree: Arc<Tree>,
    share: Option<Share>,
    /// A head `h` is this walker's when `h & own_mask == own_bits` (see `set_share`).
    own_mask: u32,
    own_bits: u32,
    /// The position number from which node slots are reused: a shared walk ends there.
    split_end: i32,
    /// The first position lent since the parser last caught up with the lending (none:
    /// `i32::MAX`): until it does, a marked bucket's last position may be lent and not
    /// walked yet.
    lend_from: i32,
    /// The number of the last position lent, and of the last lent position the parser
    /// is known to have walked (it walks them in order).
    last_lent: i32,
    parser_walked: i32,
    depth_limit: i32,
    /// The most pairs one op can hold: each is longer than the last, from 4 up to
    /// the longest match, and each costs one step of the walk.
    max_pairs: usize,
    cyclic_size: i32,
    cyclic_pos: i32,
    lz_pos: i32,
    /// The hash-4 heads of the positions from `next_head` on are not walked yet.
    heads: Vec<i32>,
    next_head: usize,
}

impl TreeWalker {
    /// The same tree as `Bt4::new` makes for these settings, in `tree` (of
    /// `Tree::new(dict_size + 1)`), walked at the positions `share` gives this walker.
    pub(crate) fn new(
        tree: Arc<Tree>,
        share: Share,
        dict_size: u32,
        nice_len: u32,
        match_len_max: u32,
        depth_limit: i32,
    ) -> Self {
        let cyclic_size = dict_size as i32 + 1;
        debug_assert_eq!(tree.0.len(), cyclic_size as usize * 2);
        let depth_limit = if depth_limit > 0 { depth_limit } else { 16 + nice_len as i32 / 2 };
        let mut walker = TreeWalker {
            tree,
            share: Some(share),
            own_mask: 0,
            own_bits: 0,
            // The first position is numbered `cyclic_size + 1`; `cyclic_size` later its
            // slot is reused. Capped below renumbering, which a shared tree cannot do.
            split_end: cyclic_size.saturating_mul(2).saturating_add(1).min(max_pos(cyclic_size)),
            lend_from: i32::MAX,
            last_lent: i32::MIN,
            parser_walked: i32::MIN,
            depth_limit,
            max_pairs: (depth_limit as usize).min(match_len_max.saturating_sub(3) as usize),
            cyclic_size,
            cyclic_pos: -1,
            lz_pos: cyclic_size,
            heads: Vec::new(),
            next_head: 0,
        };
        walker.set_share(Some(share));
        walker
    }

    /// From now on, walks the positions `share` gives it; `None`: none at all.
    pub(crate) fn set_share(&mut self, share: Option<Share>) {
        (self.own_mask, self.own_bits) = match share {
            Some(Share::All) => (0, 0),
            Some(Share::Half { odd }) => (ODD_HALF, if odd { ODD_HALF } else { 0 }),
            Some(Share::Lend) => (ODD_HALF, 0),
            None => (0, 1),
        };
        self.share = share;
    }

    pub(crate) fn split_end(&self) -> i32 {
        self.split_end
    }

    pub(crate) fn share(&self) -> Option<Share> {
        self.share
    }

    /// Whether this walker shares the tree and the next position is where sharing ends
    /// (see the module's comment): positions from there on need the tree to itself.
    pub(crate) fn at_split_end(&self) -> bool {
        self.shares_tree() && self.lz_pos + 1 >= self.split_end
    }

    fn shares_tree(&self) -> bool {
        matches!(self.share, Some(Share::Half { .. } | Share::Lend)) || self.lend_from != i32::MAX
    }

    /// Lends the parser the positions of the marked buckets from the next one on.
    pub(crate) fn start_lending(&mut self) {
        if self.lend_from == i32::MAX {
            self.lend_from = self.lz_pos + 1;
        }
        self.set_share(Some(Share::Lend));
    }

    /// Walks the marked buckets again from the next position on, each once the parser
    /// has walked the positions lent in it: until then, a position whose bucket's last
    /// one is lent and not known to be walked is lent too.
    pub(crate) fn stop_lending(&mut self) {
        self.set_share(Some(Share::All));
    }

    /// The parser has walked every lent position up to `walked`.
    pub(crate) fn parser_walked(&mut self, walked: i32) {
        self.parser_walked = walked;
        if walked >= self.last_lent && self.share != Some(Share::Lend) {
            self.lend_from = i32::MAX;
        }
    }

    /// Whether positions from the next one on may still be lent: before the split end
    /// (after renumbering, which comes later, there is none).
    pub(crate) fn may_lend(&self) -> bool {
        self.lz_pos + 1 < self.split_end
    }

    /// The number of the last position lent, if any.
    pub(crate) fn last_lent(&self) -> i32 {
        self.last_lent
    }

    #[inline(always)]
    fn owns(&self, head: i32) -> bool {
        (head as u32 & self.own_mask) == self.own_bits
    }

    pub(crate) fn add_heads(&mut self, heads: &[i32]) {
        // Drop the walked heads once they are the larger part, so that the copy stays
        // cheaper than the walks that made it necessary.
        if self.next_head * 2 >= self.heads.len() {
            self.heads.drain(..self.next_head);
            self.next_head = 0;
        }
        self.heads.extend_from_slice(heads);
    }

    /// Moves to the next position as `Bt4::find_matches` or `Bt4::skip` would, and
    /// walks it if it is this walker's, appending its op to `out`. A position with
    /// nothing after it (`avail` 0) has no op.
    pub(crate) fn step(&mut self, window: &mut LzEncoderData, out: &mut Vec<u32>) {
        let avail = window.move_pos(window.nice_len as i32, 4);
        if avail == 0 {
            return;
        }
        self.next_lz_pos();
        self.next_cyclic_pos();
        let (match_len_limit, nice_len_limit) = len_limits(window, avail);
        self.walk(window, match_len_limit, nice_len_limit, out);
    }

    /// Walks the position lent with `head` (its op `[LENT, head]`), numbered `lz_pos`,
    /// which is the window's, with `avail` bytes after it; appends its op to `out`.
    /// Only before the split end, where no renumbering has happened: the position's
    /// tree slot follows from its number.
    pub(crate) fn walk_lent(&mut self, window: &LzEncoderData, avail: i32, head: u32, lz_pos: i32, out: &mut Vec<u32>) {
        debug_assert!(lz_pos < self.split_end && self.owns(head as i32));
        self.lz_pos = lz_pos;
        self.cyclic_pos = self.cyclic_pos_of(lz_pos);
        let (match_len_limit, nice_len_limit) = len_limits(window, avail);
        self.walk_from(head as i32, window, match_len_limit, nice_len_limit, out);
    }

    /// The tree slot of the position numbered `lz_pos`, before the split end (no
    /// renumbering yet: the first position, `cyclic_size + 1`, has slot 0).
    #[inline(always)]
    fn cyclic_pos_of(&self, lz_pos: i32) -> i32 {
        (lz_pos - self.cyclic_size - 1).rem_euclid(self.cyclic_size)
    }

    /// Fetches what the walk of a lent position starts with, its head's tree node and
    /// bytes (as `prefetch_ahead` does for this walker's own positions), `ahead`
    /// positions after the window's, which is numbered `lz_pos`. Only a hint.
    #[inline(always)]
    pub(crate) fn prefetch_lent(&self, window: &LzEncoderData, lz_pos: i32, ahead: i32, head: u32) {
        let cyclic_pos = self.cyclic_pos_of(lz_pos);
        let here = window.buf.as_ptr().wrapping_add(window.read_pos as usize);
        let nodes = self.tree.0.as_ptr().cast::<i32>();
        let position = (cyclic_pos, self.cyclic_size, lz_pos);
        prefetch_candidate(nodes, here, position, ahead, (head & !ODD_HALF) as i32);
    }

    /// Walks up to `most` of the positions that have a whole `match_len_max` after them,
    /// appending their ops to `out`; gives how many it moved over. The same as `step` on
    /// each, with what `step` checks at every position checked once for the run.
    pub(crate) fn run(&mut self, window: &mut LzEncoderData, most: usize, out: &mut Vec<u32>) -> usize {
        let full = window.write_pos - window.read_pos - window.match_len_max as i32;
        let before_renumbering = max_pos(self.cyclic_size) - self.lz_pos - 1;
        let before_split_end = if self.shares_tree() { self.split_end - self.lz_pos - 1 } else { i32::MAX };
        let count = (full.min(before_renumbering).min(before_split_end).max(0) as usize)
            .min(most)
            .min(self.heads.len() - self.next_head);
        if count == 0 && full > 0 && most > 0 && before_split_end > 0 {
            // The next position renumbers: `step` does that.
            self.step(window, out);
            return 1;
        }
        let (match_len_limit, nice_len_limit) = (window.match_len_max as i32, window.nice_len as i32);
        for _ in 0..count {
            window.read_pos += 1;
            self.lz_pos += 1;
            self.next_cyclic_pos();
            self.walk(window, match_len_limit, nice_len_limit, out);
        }
        count
    }

    /// Numbers the next position; at `max_pos`, renumbers as `Bt4::move_pos` does.
    /// Only a walker with the tree to itself gets there (`split_end` comes first), and
    /// one that walks nothing leaves the tree alone.
    fn next_lz_pos(&mut self) {
        self.lz_pos += 1;
        if self.lz_pos == max_pos(self.cyclic_size) {
            let offset = max_pos(self.cyclic_size) - self.cyclic_size;
            if self.share == Some(Share::All) {
                for node in self.tree.0.iter() {
                    node.store(node.load(Relaxed).max(offset) - offset, Relaxed);
                }
            }
            self.lz_pos -= offset;
            // Past the split end for good: renumbering takes `lz_pos` back below it.
            self.split_end = i32::MIN;
        }
    }

    #[inline(always)]
    fn next_cyclic_pos(&mut self) {
        self.cyclic_pos += 1;
        if self.cyclic_pos == self.cyclic_size {
            self.cyclic_pos = 0;
        }
    }

    /// The tree slot of the position `HEAD_AHEAD` positions on, and its bytes, are about
    /// to be needed if it is this walker's: fetch them now so that the misses overlap
    /// with the walks between.
    #[inline(always)]
    fn prefetch_ahead(&self, window: &LzEncoderData) {
        let Some(&head) = self.heads.get(self.next_head + HEAD_AHEAD - 1) else { return };
        if !self.owns(head) {
            return;
        }
        let here = window.buf.as_ptr().wrapping_add(window.read_pos as usize);
        let position = (self.cyclic_pos, self.cyclic_size, self.lz_pos);
        let nodes = self.tree.0.as_ptr().cast::<i32>();
        prefetch_candidate(nodes, here, position, HEAD_AHEAD as i32, (head as u32 & !ODD_HALF) as i32);
    }

    /// BT4's tree walk at the current position from its hash-4 head, starting with a
    /// best length of 3, if the position is this walker's; appends the op to `out`.
    #[inline(always)]
    fn walk(&mut self, window: &LzEncoderData, match_len_limit: i32, nice_len_limit: i32, out: &mut Vec<u32>) {
        // The sender hashes every position as soon as its 4 bytes are known, and a
        // position is only walked once at least 4 bytes follow it.
        let head = self.heads[self.next_head];
        self.next_head += 1;
        self.prefetch_ahead(window);
        self.walk_from(head, window, match_len_limit, nice_len_limit, out)
    }

    fn lend(&mut self, head: i32, out: &mut Vec<u32>) {
        out.extend_from_slice(&[LENT, head as u32]);
        self.last_lent = self.lz_pos;
    }

    /// `walk` from the head `head`.
    #[inline(always)]
    fn walk_from(
        &mut self,
        head: i32,
        window: &LzEncoderData,
        match_len_limit: i32,
        nice_len_limit: i32,
        out: &mut Vec<u32>,
    ) {
        if !self.owns(head) {
            if self.share == Some(Share::Lend) {
                self.lend(head, out);
            }
            return;
        }
        if self.lend_from != i32::MAX && head as u32 & ODD_HALF != 0 {
            // Lending has stopped, and the parser may still have to walk this bucket's
            // last position: walking this one now would miss that walk's nodes.
            let last = (head as u32 & !ODD_HALF) as i32;
            if last >= self.lend_from && last > self.parser_walked {
                self.lend(head, out);
                return;
            }
        }
        let mut current_match = (head as u32 & !ODD_HALF) as i32;
        out.reserve(1 + 2 * self.max_pairs);

        let (cyclic_pos, cyclic_size, lz_pos) = (self.cyclic_pos, self.cyclic_size, self.lz_pos);
        let read_pos = window.read_pos;
        debug_assert!(0 <= cyclic_pos && cyclic_pos < cyclic_size && self.tree.0.len() == 2 * cyclic_size as usize);
        debug_assert!(read_pos >= 0 && read_pos + match_len_limit <= window.buf.len() as i32);
        let tree = self.tree.0.as_ptr();
        // SAFETY (both): `at` is below the tree's length (see below).
        let get = |at: usize| unsafe { (*tree.add(at)).load(Relaxed) };
        let set = |at: usize, value: i32| unsafe { (*tree.add(at)).store(value, Relaxed) };
        let cur = window.buf.as_ptr().wrapping_add(read_pos as usize);
        let op = out.len();
        let mut count = 0;
        let mut len_best = 3;
        let mut depth = self.depth_limit;
        let mut ptr0 = (cyclic_pos << 1) as usize + 1;
        let mut ptr1 = (cyclic_pos << 1) as usize;
        let (mut len0, mut len1) = (0, 0);
        // SAFETY: `ptr0` and `ptr1` are this position's slots or the slots of an earlier
        // `pair`, all below `2 * cyclic_size`, the tree's length. A `pair` is only
        // formed for `0 < delta < cyclic_size`, where `cyclic_pos - delta (+ cyclic_size)`
        // lies in `0..cyclic_size`; and only for `delta <= read_pos`, so the candidate's
        // bytes at `cur - delta + len` lie in the buffer as the current ones do: `len`
        // stays below `match_len_limit` (a match reaching it reaches `nice_len_limit`
        // too and ends the walk). `out` has room for the count and `max_pairs` pairs;
        // every pair costs a step of the walk and is longer than the one before.
        unsafe {
            loop {
                let delta = lz_pos - current_match;
                if depth == 0 || (delta - 1) as u32 >= (cyclic_size - 1) as u32 || delta > read_pos {
                    set(ptr0, 0);
                    set(ptr1, 0);
                    break;
                }
                depth -= 1;
                let wrap = if delta > cyclic_pos { cyclic_size } else { 0 };
                let pair = ((cyclic_pos - delta + wrap) << 1) as usize;
                // Fetch the node now, before the bytes decide which child the walk goes
                // on to: its miss then overlaps the candidate bytes' miss instead of
                // following it. (Plain loads here get sunk below the comparison by the
                // compiler; a prefetch stays where it is.)
                super::prefetch(tree.add(pair));
                let len = extend_match(&window.buf, read_pos, len0.min(len1), delta, match_len_limit);
                if len > len_best {
                    len_best = len;
                    let at = out.as_mut_ptr().add(op + 1 + 2 * count);
                    *at = len as u32;
                    *at.add(1) = (delta - 1) as u32;
                    count += 1;
                    if len >= nice_len_limit {
                        set(ptr1, get(pair));
                        set(ptr0, get(pair + 1));
                        break;
                    }
                }
                if *cur.add(len as usize).sub(delta as usize) < *cur.add(len as usize) {
                    set(ptr1, current_match);
                    ptr1 = pair + 1;
                    current_match = get(ptr1);
                    len1 = len;
                } else {
                    set(ptr0, current_match);
                    ptr0 = pair;
                    current_match = get(ptr0);
                    len0 = len;
                }
            }
            *out.as_mut_ptr().add(op) = count as u32;
            out.set_len(op + 1 + 2 * count);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The fallback for older kernels (this one has MADV_POPULATE_WRITE) must leave
    /// every value as it was, zero or not, the walker's writes included.
    #[test]
    fn faulting_in_by_writing_changes_no_node() {
        let tree = Tree::new(1 << 16);
        for (at, node) in tree.0.iter().enumerate() {
            node.store(if at % 3 == 0 { 0 } else { at as i32 }, Relaxed);
        }
        fault_in_by_writing(&tree.0);
        for (at, node) in tree.0.iter().enumerate() {
            assert_eq!(node.load(Relaxed), if at % 3 == 0 { 0 } else { at as i32 }, "node {at}");
        }
    }
}
