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

use super::bt4::{next_lz_pos, prefetch_candidate};
use super::extend_match;
use super::lz_encoder::LzEncoderData;

/// How many positions ahead the tree node and bytes of a head are prefetched.
const HEAD_AHEAD: usize = 8;

/// How long a match may be, and how long is long enough to stop looking, at a position
/// with `avail` bytes after it (BT4's `match_len_limit` and `nice_len_limit`).
pub(crate) fn len_limits(window: &LzEncoderData, avail: i32) -> (i32, i32) {
    (avail.min(window.match_len_max as i32), avail.min(window.nice_len as i32))
}

pub(crate) struct TreeWalker {
    tree: Vec<i32>,
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
    /// The same tree as `Bt4::new` makes for these settings.
    pub(crate) fn new(dict_size: u32, nice_len: u32, match_len_max: u32, depth_limit: i32) -> Self {
        let cyclic_size = dict_size as i32 + 1;
        let mut tree = vec![0; cyclic_size as usize * 2];
        crate::sys::huge_pages::advise(&mut tree);
        let depth_limit = if depth_limit > 0 { depth_limit } else { 16 + nice_len as i32 / 2 };
        TreeWalker {
            tree,
            depth_limit,
            max_pairs: (depth_limit as usize).min(match_len_max.saturating_sub(3) as usize),
            cyclic_size,
            cyclic_pos: -1,
            lz_pos: cyclic_size,
            heads: Vec::new(),
            next_head: 0,
        }
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

    /// Moves to the next position as `Bt4::find_matches` or `Bt4::skip` would, walks
    /// it, and appends its op to `out`.
    pub(crate) fn step(&mut self, window: &mut LzEncoderData, out: &mut Vec<u32>) {
        let avail = window.move_pos(window.nice_len as i32, 4);
        if avail == 0 {
            out.push(0);
            return;
        }
        next_lz_pos(&mut self.lz_pos, self.cyclic_size, &mut [&mut self.tree]);
        self.next_cyclic_pos();
        let (match_len_limit, nice_len_limit) = len_limits(window, avail);
        self.walk(window, match_len_limit, nice_len_limit, out);
    }

    /// Walks up to `most` of the positions that have a whole `match_len_max` after them,
    /// appending their ops to `out`; gives how many it walked. The same as `step` on
    /// each, with what `step` checks at every position checked once for the run.
    pub(crate) fn run(&mut self, window: &mut LzEncoderData, most: usize, out: &mut Vec<u32>) -> usize {
        let full = window.write_pos - window.read_pos - window.match_len_max as i32;
        let before_renumbering = super::bt4::max_pos(self.cyclic_size) - self.lz_pos - 1;
        let count = (full.min(before_renumbering).max(0) as usize).min(most).min(self.heads.len() - self.next_head);
        if count == 0 && full > 0 && most > 0 {
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

    #[inline(always)]
    fn next_cyclic_pos(&mut self) {
        self.cyclic_pos += 1;
        if self.cyclic_pos == self.cyclic_size {
            self.cyclic_pos = 0;
        }
    }

    /// The tree slot of the position `HEAD_AHEAD` positions on, and its bytes, are about
    /// to be needed: fetch them now so that the misses overlap with the walks between.
    #[inline(always)]
    fn prefetch_ahead(&self, window: &LzEncoderData) {
        let Some(&head) = self.heads.get(self.next_head + HEAD_AHEAD - 1) else { return };
        let here = window.buf.as_ptr().wrapping_add(window.read_pos as usize);
        let position = (self.cyclic_pos, self.cyclic_size, self.lz_pos);
        prefetch_candidate(&self.tree, here, position, HEAD_AHEAD as i32, head);
    }

    /// BT4's tree walk at the current position from its hash-4 head, starting with a
    /// best length of 3; appends the op to `out`.
    #[inline(always)]
    fn walk(&mut self, window: &LzEncoderData, match_len_limit: i32, nice_len_limit: i32, out: &mut Vec<u32>) {
        // The sender hashes every position as soon as its 4 bytes are known, and a
        // position is only walked once at least 4 bytes follow it.
        let mut current_match = self.heads[self.next_head];
        self.next_head += 1;
        self.prefetch_ahead(window);
        out.reserve(1 + 2 * self.max_pairs);

        let (cyclic_pos, cyclic_size, lz_pos) = (self.cyclic_pos, self.cyclic_size, self.lz_pos);
        let read_pos = window.read_pos;
        debug_assert!(0 <= cyclic_pos && cyclic_pos < cyclic_size && self.tree.len() == 2 * cyclic_size as usize);
        debug_assert!(read_pos >= 0 && read_pos + match_len_limit <= window.buf.len() as i32);
        let tree = self.tree.as_mut_ptr();
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
                    *tree.add(ptr0) = 0;
                    *tree.add(ptr1) = 0;
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
                        *tree.add(ptr1) = *tree.add(pair);
                        *tree.add(ptr0) = *tree.add(pair + 1);
                        break;
                    }
                }
                if *cur.add(len as usize).sub(delta as usize) < *cur.add(len as usize) {
                    *tree.add(ptr1) = current_match;
                    ptr1 = pair + 1;
                    current_match = *tree.add(ptr1);
                    len1 = len;
                } else {
                    *tree.add(ptr0) = current_match;
                    ptr0 = pair;
                    current_match = *tree.add(ptr0);
                    len0 = len;
                }
            }
            *out.as_mut_ptr().add(op) = count as u32;
            out.set_len(op + 1 + 2 * count);
        }
    }
}
