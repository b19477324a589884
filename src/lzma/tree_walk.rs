//! The binary-tree half of BT4, as the match-finder thread runs it (see
//! `match_thread`): the hash-4 heads come precomputed, one per position, so this thread
//! does nothing but walk and update the tree, the work that dominates BT4.
//!
//! It walks the tree at every position and reports every match longer than 3 that the
//! walk finds, each longer than the one before. `Bt4::find_matches` would report the
//! same walk's matches longer than what its 2- and 3-byte hashes found, and
//! `Bt4::skip` would update the tree the same way; the parser's side filters
//! accordingly, so the matches it ends up with are BT4's exactly.

use super::bt4::{next_lz_pos, prefetch_candidate};
use super::extend_match;
use super::lz_encoder::{LzEncoderData, MatchFind, Matches};
use std::collections::VecDeque;

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
    cyclic_size: i32,
    cyclic_pos: i32,
    lz_pos: i32,
    /// The hash-4 head of every position not walked yet, in order.
    heads: VecDeque<i32>,
}

impl TreeWalker {
    /// The same tree as `Bt4::new` makes for these settings.
    pub(crate) fn new(dict_size: u32, nice_len: u32, depth_limit: i32) -> Self {
        let cyclic_size = dict_size as i32 + 1;
        let mut tree = vec![0; cyclic_size as usize * 2];
        crate::sys::huge_pages::advise(&mut tree);
        TreeWalker {
            tree,
            depth_limit: if depth_limit > 0 { depth_limit } else { 16 + nice_len as i32 / 2 },
            cyclic_size,
            cyclic_pos: -1,
            lz_pos: cyclic_size,
            heads: VecDeque::new(),
        }
    }

    pub(crate) fn add_heads(&mut self, heads: &[i32]) {
        self.heads.extend(heads);
    }

    /// As `Bt4::move_pos`: the same positions get numbers, renumbered at the same point.
    fn move_pos(&mut self, window: &mut LzEncoderData) -> i32 {
        let avail = window.move_pos(window.nice_len as i32, 4);
        if avail != 0 {
            next_lz_pos(&mut self.lz_pos, self.cyclic_size, &mut [&mut self.tree]);
            self.cyclic_pos += 1;
            if self.cyclic_pos == self.cyclic_size {
                self.cyclic_pos = 0;
            }
        }
        avail
    }

    fn next_head(&mut self) -> i32 {
        // The sender hashes every position as soon as its 4 bytes are known, and a
        // position is only walked once at least 4 bytes follow it.
        self.heads.pop_front().expect("a hash-4 head for every position walked")
    }

    /// The tree slot of the position `ahead` positions on, and its bytes, are about to be
    /// needed: fetch them now so that the misses overlap with the walks in between.
    #[inline(always)]
    fn prefetch_ahead(&self, window: &LzEncoderData) {
        // After this position's head, the head `HEAD_AHEAD` positions on.
        let Some(&head) = self.heads.get(HEAD_AHEAD - 1) else { return };
        let here = window.buf.as_ptr().wrapping_add(window.read_pos as usize);
        let position = (self.cyclic_pos, self.cyclic_size, self.lz_pos);
        prefetch_candidate(&self.tree, here, position, HEAD_AHEAD as i32, head);
    }

    /// BT4's tree walk from `current_match`, starting with a best length of 3.
    fn walk(
        &mut self,
        window: &LzEncoderData,
        mut current_match: i32,
        match_len_limit: i32,
        nice_len_limit: i32,
        matches: &mut Matches,
    ) {
        let mut len_best = 3;
        let mut depth = self.depth_limit;
        let mut ptr0 = (self.cyclic_pos << 1) as usize + 1;
        let mut ptr1 = (self.cyclic_pos << 1) as usize;
        let (mut len0, mut len1) = (0, 0);
        loop {
            let delta = self.lz_pos - current_match;
            if depth == 0 || delta >= self.cyclic_size {
                self.tree[ptr0] = 0;
                self.tree[ptr1] = 0;
                return;
            }
            depth -= 1;
            let wrap = if delta > self.cyclic_pos { self.cyclic_size } else { 0 };
            let pair = ((self.cyclic_pos - delta + wrap) << 1) as usize;
            let len = extend_match(&window.buf, window.read_pos, len0.min(len1), delta, match_len_limit);
            if len > len_best {
                len_best = len;
                let count = matches.count as usize;
                matches.len[count] = len as u32;
                matches.dist[count] = delta - 1;
                matches.count += 1;
                if len >= nice_len_limit {
                    self.tree[ptr1] = self.tree[pair];
                    self.tree[ptr0] = self.tree[pair + 1];
                    return;
                }
            }
            if window.get_byte(len, delta) < window.get_byte(len, 0) {
                self.tree[ptr1] = current_match;
                ptr1 = pair + 1;
                current_match = self.tree[ptr1];
                len1 = len;
            } else {
                self.tree[ptr0] = current_match;
                ptr0 = pair;
                current_match = self.tree[ptr0];
                len0 = len;
            }
        }
    }
}

impl MatchFind for TreeWalker {
    fn find_matches(&mut self, window: &mut LzEncoderData, matches: &mut Matches) {
        matches.count = 0;
        let avail = self.move_pos(window);
        if avail == 0 {
            return;
        }
        let (match_len_limit, nice_len_limit) = len_limits(window, avail);
        let head = self.next_head();
        self.prefetch_ahead(window);
        self.walk(window, head, match_len_limit, nice_len_limit, matches);
    }

    /// Only redoes positions a flush left pending: rare, so it shares `walk`.
    fn skip(&mut self, window: &mut LzEncoderData, len: usize) {
        let mut unused = Matches::new(window.nice_len as usize);
        for _ in 0..len {
            unused.count = 0;
            let avail = self.move_pos(window);
            if avail == 0 {
                continue;
            }
            let head = self.next_head();
            let (match_len_limit, nice_len_limit) = len_limits(window, avail);
            self.walk(window, head, match_len_limit, nice_len_limit, &mut unused);
        }
    }
}
