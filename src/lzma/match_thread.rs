//! BT4 split over two threads, as 7-Zip's multithreaded match finder splits it (not in
//! lzma-rust2, nor in XZ for Java), giving the same stream as BT4 on one thread.
//!
//! - Every position's 4 bytes are hashed ahead of the walk, by the parser while it
//!   waits or else by a walker (`heads`: a tight loop whose table misses overlap).
//! - The match-finder thread walks and updates the binary tree from those heads at
//!   every position, ahead of the parser, and sends the matches back (`tree_walk`).
//! - The parser's thread looks up the 2- and 3-byte hashes itself, small tables that
//!   stay in its cache, and merges them with the tree's matches as BT4 does.
//!
//! Why it gives the same stream: the matches at a position depend only on the data
//! before and after it and on how much data follows (`avail`). Outside a flush the
//! parser only visits positions with at least `match_len_max` bytes after them, where
//! `avail` no longer matters; flushes and the end happen at the same data offsets on
//! both sides, because every event that changes the window (preset, data, flush,
//! finish) is sent to the thread in the order the parser applies it to its own copy.
//! Both sides then visit the same positions in the same order (one "op" per position
//! a find or skip moves over, pending positions twice), so the parser takes the
//! thread's ops one by one. A find and a skip update the tree alike, so the thread
//! always finds. Every position is walked exactly once, in order, once 4 bytes follow
//! it, so the heads can be computed as soon as those bytes arrive.
//!
//! Where there are cores for three threads (`two_walkers`), two walkers share the tree,
//! each walking the positions of one half of the hash-4 buckets (see `tree_walk`), and
//! the parser takes each position's op from the walker of its bucket. (On two cores
//! the three threads only took turns, at a higher cost in CPU time than one walker.)
//!
//! With one walker thread, which side is slower changes along the input: the walker
//! where walks are long (tables, source code), the parser elsewhere. While the parser
//! waits, the walker lends it the positions of one bucket in eight, which the parser
//! walks itself, as BT4 would, in its own window (see `Lending`).

use super::bt4::next_lz_pos;
use super::hash234::{HASH23_SIZES, hash4_slot, hash23_slots};
use super::heads::{Chunk, SharedHeads};
use super::lz_encoder::{LzEncoderData, MatchFind, Matches};
use super::tree_walk::{LENT, Share, Split, Tree, TreeWalker, bucket_mark, len_limits};
use super::{extend_match, prefetch};
use std::sync::Arc;
use std::sync::atomic::{AtomicI32, AtomicUsize, Ordering::Acquire, Ordering::Relaxed, Ordering::Release};
use std::sync::mpsc::{Receiver, Sender, SyncSender, TryRecvError, channel, sync_channel};
use std::thread::JoinHandle;

/// What changes the window, in the order the parser does it.
#[derive(Clone)]
pub(crate) enum Event {
    Preset(Arc<Chunk>),
    Data(Arc<Chunk>),
    Flush,
    Finish,
}

/// Positions per batch handed over, and batches a walker may run ahead: 64 × 32 Ki
/// positions, an op of a few matches for each (half of them each with two walkers), a
/// few tens of megabytes at most. Which side is slower changes along the input (the
/// tree walk on tabular data, the parser elsewhere); a queue this deep lets a walker
/// bank its lead where it is faster instead of waiting (with 32, two walkers gained
/// less and less evenly: 5.7–8.5 s against 5.4–6.7 s on 27 MB).
const BATCH_OPS: usize = 1 << 15;
const BATCHES_AHEAD: usize = 64;

/// A walker lends while it is fewer than this many batches ahead of the parser, and
/// stops once it is this many ahead (see `Recorder::adjust_lending`). Lending only once
/// the parser had taken every batch, and stopping at 48, was slower in the one
/// comparison made, with an earlier take-back that waited for the parser: 0.93 of the
/// time of no lending on the 25 MB bench set against 0.90, and 1.02 on 27 MB of
/// documents against 0.98. Lending below 4 and stopping at 8 was slower on those
/// documents: 1.075 of 7zz's time against 1.017 (10 rounds).
const LEND_BELOW: usize = 8;

/// How many ops ahead the parser fetches the start of a lent position's walk.
const LENT_AHEAD: usize = 8;
const STOP_LENDING_AT: usize = 32;

/// Data gathered before it goes to the walkers as one chunk. Files come one write each,
/// and a chunk of each small file made hundreds of chunks in flight (the input runs 8
/// MiB ahead of the parser), each with buffers of its own.
const CHUNK_BYTES: usize = 256 << 10;

/// Consecutive ops: for each its match count, then its (length, distance) pairs. Only
/// whole ops: a walker hands a batch over between two.
type Batch = Vec<u32>;

/// The parser's side: merges its near matches with the walkers'.
pub(crate) struct MatchThread {
    /// One walker thread, which may lend the parser positions, or two (the even half's,
    /// then the odd half's).
    walkers: Vec<Walker>,
    /// While a position's number is below this, its op comes from its bucket's walker
    /// (two walker threads).
    split_end: i32,
    /// With one walker thread: walks the positions it lends the parser.
    own: Option<TreeWalker>,
    /// The op of the position the parser last walked itself, and how far it is read.
    own_op: Vec<u32>,
    own_cursor: usize,
    idle: Idle,
    near: NearHashes,
}

/// Where the op of a position comes from.
#[derive(Clone, Copy)]
enum OpFrom {
    Walker(usize),
    Parser,
}

/// What a walker thread and the parser share so that the thread can lend the parser
/// positions to walk (`Share::Lend`): it lends while the parser would wait for it,
/// and stops where the parser is the slower side (see `Recorder::adjust_lending`).
struct Lending {
    /// Batches sent and not taken yet.
    queued: AtomicUsize,
    /// The number of the last lent position the parser has walked. Its store releases
    /// that walk's tree writes to the thread, which reads it before walking a lent
    /// bucket again (see `TreeWalker::stop_lending`).
    walked: AtomicI32,
}

impl Lending {
    fn new() -> Arc<Lending> {
        Arc::new(Lending { queued: AtomicUsize::new(0), walked: AtomicI32::new(i32::MIN) })
    }
}

/// What the parser does while it waits for the walkers' ops: sends them the data it
/// holds back, and does work that they would otherwise do on their own time, the
/// slower side on two cores.
struct Idle {
    out: Outbox,
    tree: Arc<Tree>,
    /// The tree's nodes from here on may not be faulted in yet.
    unfaulted: usize,
}

/// The events for the walkers, the data among them gathered into chunks.
struct Outbox {
    /// Each walker thread's events.
    to: Vec<Sender<Event>>,
    heads: Arc<SharedHeads>,
    /// Data not sent yet: full chunks go at once, the rest before any other event or
    /// once the parser waits for ops. Never later: the parser only asks for the op of
    /// a position once its window holds `match_len_max` bytes after it, or after a
    /// flush or the finish, and the walkers need no more to make that op.
    staged: Vec<u8>,
    /// Positions sent to the walkers so far.
    sent: usize,
}

impl Outbox {
    /// Stages `data`, and sends each chunk it fills.
    fn stage(&mut self, mut data: &[u8]) {
        while !data.is_empty() {
            if self.staged.capacity() == 0 {
                self.staged = self.heads.data_buffer(CHUNK_BYTES);
            }
            let (now, later) = data.split_at(data.len().min(CHUNK_BYTES - self.staged.len()));
            self.staged.extend_from_slice(now);
            if self.staged.len() == CHUNK_BYTES {
                self.send_staged();
            }
            data = later;
        }
    }

    /// Sends what is staged; false if there was nothing.
    fn send_staged(&mut self) -> bool {
        if self.staged.is_empty() {
            return false;
        }
        let data = std::mem::take(&mut self.staged);
        self.sent += data.len();
        let chunk = self.heads.queue(data);
        self.send(Event::Data(chunk));
        true
    }

    /// Sends `event` to every walker thread, after the data staged if it is not data.
    fn send(&mut self, event: Event) {
        if !matches!(event, Event::Data(_)) {
            self.send_staged();
        }
        for to in &self.to {
            // A closed channel means the thread is gone; `next` reports that.
            let _ = to.send(event.clone());
        }
    }
}

/// Tree nodes faulted in at a time (128 KiB), a few hundred microseconds' work.
const FAULT_STEP: usize = 32 << 10;

impl Idle {
    /// Does a little of that work; false when there is none.
    fn help(&mut self) -> bool {
        self.out.send_staged() || self.out.heads.help() || self.fault_in_tree()
    }

    /// Faults in the tree's next pages that positions sent will write, before the
    /// walker gets there: the kernel's zeroing of new pages (huge ones where it gives
    /// them) was a tenth of the walker's time.
    fn fault_in_tree(&mut self) -> bool {
        // The first cyclic_size positions fill the nodes in order, two each.
        let needed = self.out.sent.saturating_mul(2).min(self.tree.len());
        if self.unfaulted >= needed {
            return false;
        }
        let end = (self.unfaulted + FAULT_STEP).min(needed);
        self.tree.fault_in(self.unfaulted..end);
        self.unfaulted = end;
        true
    }
}

/// A walker thread, and its ops as the parser takes them.
struct Walker {
    events: Option<Sender<Event>>,
    batches: Option<Receiver<Batch>>,
    /// Batches taken, emptied, back to the thread to fill again: a fresh half-megabyte
    /// batch each time would be fresh pages each time (the allocator maps and unmaps
    /// blocks this large), a page fault every 4 KiB.
    spent: Sender<Batch>,
    batch: Batch,
    cursor: usize,
    /// With lending: the lent ops ahead in `batch` (see `fetch_lent_ahead`).
    look: LookAhead,
    lending: Arc<Lending>,
    thread: Option<JoinHandle<()>>,
}

impl MatchThread {
    /// Starts the walkers, each with its own window from `window` (the same shape as
    /// the parser's): two if `two_walkers` and the system gives the threads, else one,
    /// which may lend the parser positions; an error when it refuses even one.
    pub(crate) fn start(
        window: impl Fn() -> LzEncoderData,
        dict_size: u32,
        depth_limit: i32,
        two_walkers: bool,
    ) -> std::io::Result<MatchThread> {
        let tree = Tree::new(dict_size as i32 + 1);
        let thread = |walkers: Vec<Walker>, split_end, own, heads: Arc<SharedHeads>| MatchThread {
            idle: Idle {
                out: Outbox {
                    to: walkers.iter().filter_map(|walker| walker.events.clone()).collect(),
                    heads,
                    staged: Vec::new(),
                    sent: 0,
                },
                tree: tree.clone(),
                unfaulted: 0,
            },
            walkers,
            split_end,
            own,
            own_op: Vec::new(),
            own_cursor: 0,
            near: NearHashes::new(dict_size),
        };
        if two_walkers {
            let heads = SharedHeads::new(dict_size, Split::Halves);
            let (done, done_in) = sync_channel(1);
            let halves = [
                (Share::Half { odd: false }, Handover::Wait(done_in)),
                (Share::Half { odd: true }, Handover::Tell(done)),
            ];
            let (mut walkers, mut split_end) = (Vec::new(), i32::MIN);
            for (share, handover) in halves {
                match Walker::start(window(), tree.clone(), heads.clone(), share, handover, dict_size, depth_limit) {
                    Ok((walker, end)) => {
                        walkers.push(walker);
                        split_end = end;
                    }
                    Err(_) => break,
                }
            }
            if walkers.len() == 2 {
                return Ok(thread(walkers, split_end, None, heads));
            }
            // The half started, if any, has walked nothing: dropping it stops it.
        }
        let heads = SharedHeads::new(dict_size, Split::Lendable);
        let window = window();
        let own = TreeWalker::new(
            tree.clone(),
            Share::Half { odd: true },
            dict_size,
            window.nice_len,
            window.match_len_max,
            depth_limit,
        );
        let (walker, _) =
            Walker::start(window, tree.clone(), heads.clone(), Share::All, Handover::None, dict_size, depth_limit)?;
        Ok(thread(vec![walker], i32::MIN, Some(own), heads))
    }

    /// The part of a preset dictionary the window keeps, as `set_preset_dict` cuts it.
    pub(crate) fn send_preset(&mut self, dict_size: u32, preset: &[u8]) {
        let kept = &preset[preset.len() - preset.len().min(dict_size as usize)..];
        let out = &mut self.idle.out;
        // Now, not in `send`: chunks are hashed in the order they are queued, so the
        // data staged must be queued before the preset is.
        out.send_staged();
        let mut data = out.heads.data_buffer(kept.len());
        data.extend_from_slice(kept);
        out.sent += data.len();
        let chunk = out.heads.queue(data);
        out.send(Event::Preset(chunk));
    }

    pub(crate) fn send_data(&mut self, data: &[u8]) {
        self.idle.out.stage(data);
    }

    /// Sends a flush or the finish.
    pub(crate) fn send(&mut self, event: Event) {
        let finish = matches!(event, Event::Finish);
        self.idle.out.send(event);
        if finish {
            self.idle.out.heads.close();
        }
    }

    /// Which walker thread has the op of the position `bytes` start at, which `near` has
    /// just numbered.
    #[inline(always)]
    fn walker_of(&mut self, bytes: &[u8]) -> usize {
        if self.near.lz_pos >= self.split_end {
            // For good: renumbering takes `lz_pos` back below it.
            self.split_end = i32::MIN;
            return 0;
        }
        (bucket_mark(Split::Halves, hash4_slot(bytes, self.idle.out.heads.mask)) != 0) as usize
    }

    /// Where the op of the window's position comes from, which has `avail` bytes after
    /// it and which `near` has just numbered, and its match count. Walks the position
    /// if it is lent.
    #[inline(always)]
    fn op(&mut self, window: &LzEncoderData, avail: i32) -> (OpFrom, u32) {
        let walker = self.walker_of(window.read_buffer());
        let count = self.walkers[walker].next(&mut self.idle);
        if let Some(own) = &self.own {
            // A lent position's walk starts with two misses, its head's tree node and
            // bytes, which the thread hides by fetching them ahead for its own walks.
            // Without doing the same, the parser's walk of a lent position took over
            // twice as long as the thread's walk of a position (by their profile shares).
            let (lz_pos, walker) = (self.near.lz_pos, &mut self.walkers[walker]);
            walker.look.next_op(&walker.batch, |ahead, head| own.prefetch_lent(window, lz_pos, ahead as i32, head));
        }
        if count != LENT {
            return (OpFrom::Walker(walker), count);
        }
        let head = self.walkers[walker].next(&mut self.idle);
        let own = self.own.as_mut().expect("a position lent to a parser that does not walk");
        self.own_op.clear();
        own.walk_lent(window, avail, head, self.near.lz_pos, &mut self.own_op);
        #[cfg(test)]
        tests::LENT_WALKS.fetch_add(1, Relaxed);
        self.walkers[walker].lending.walked.store(self.near.lz_pos, Release);
        self.own_cursor = 1;
        (OpFrom::Parser, self.own_op[0])
    }

    /// The next number of the op of a position.
    #[inline(always)]
    fn take(&mut self, from: OpFrom) -> u32 {
        match from {
            OpFrom::Walker(walker) => self.walkers[walker].next(&mut self.idle),
            OpFrom::Parser => {
                self.own_cursor += 1;
                self.own_op[self.own_cursor - 1]
            }
        }
    }

    /// Passes over the matches of an op that are not needed, which are in the batch
    /// its count came in (a walker hands over only whole ops).
    fn drop_pairs(&mut self, from: OpFrom, count: u32) {
        if let OpFrom::Walker(walker) = from {
            let walker = &mut self.walkers[walker];
            walker.cursor += 2 * count as usize;
            debug_assert!(walker.cursor <= walker.batch.len());
        }
    }
}

impl Walker {
    /// Starts a walker thread; with it, the position number where its share ends.
    fn start(
        window: LzEncoderData,
        tree: Arc<Tree>,
        heads: Arc<SharedHeads>,
        share: Share,
        handover: Handover,
        dict_size: u32,
        depth_limit: i32,
    ) -> std::io::Result<(Walker, i32)> {
        let walker = TreeWalker::new(tree, share, dict_size, window.nice_len, window.match_len_max, depth_limit);
        let split_end = walker.split_end();
        let (events, events_in) = channel();
        let (batches_out, batches) = sync_channel(BATCHES_AHEAD);
        let (spent, spent_in) = channel();
        let lending = Lending::new();
        let recorder = Recorder {
            walker,
            handover,
            batch: Vec::new(),
            ops: 0,
            out: batches_out,
            spent: spent_in,
            lending: lending.clone(),
            may_lend: share == Share::All,
        };
        let thread = std::thread::Builder::new()
            .name("lzma-match-finder".into())
            .spawn(move || run(window, recorder, events_in, &heads, dict_size))?;
        let walker = Walker {
            events: Some(events),
            batches: Some(batches),
            spent,
            batch: Vec::new(),
            cursor: 0,
            look: LookAhead::default(),
            lending,
            thread: Some(thread),
        };
        Ok((walker, split_end))
    }

    /// The next number of the thread's ops; while they are not there, does `idle` work.
    #[inline(always)]
    fn next(&mut self, idle: &mut Idle) -> u32 {
        if self.cursor == self.batch.len() {
            const STOPPED: &str = "the LZMA match-finder thread stopped";
            let batches = self.batches.as_ref().expect(STOPPED);
            let batch = loop {
                match batches.try_recv() {
                    Ok(batch) => break batch,
                    Err(TryRecvError::Empty) if idle.help() => {}
                    Err(_) => break batches.recv().expect(STOPPED),
                }
            };
            self.lending.queued.fetch_sub(1, Relaxed);
            let mut spent = std::mem::replace(&mut self.batch, batch);
            spent.clear();
            // A closed channel: the thread is gone, and `recv` above says so next time.
            let _ = self.spent.send(spent);
            self.cursor = 0;
            self.look = LookAhead::default();
        }
        self.cursor += 1;
        self.batch[self.cursor - 1]
    }
}

impl MatchFind for MatchThread {
    /// `Bt4::find_matches`, with the tree's part taken from the thread.
    fn find_matches(&mut self, window: &mut LzEncoderData, matches: &mut Matches) {
        matches.count = 0;
        let avail = window.move_pos(window.nice_len as i32, 4);
        if avail == 0 {
            return;
        }
        let (match_len_limit, nice_len_limit) = len_limits(window, avail);
        self.near.prefetch_ahead(window);
        let (mut delta2, delta3) = self.near.insert(window.read_buffer());
        let (from, tree_count) = self.op(window, avail);
        let cyclic_size = self.near.cyclic_size;

        // As BT4: a 2-byte hash hit whose first byte matches matches in both bytes, a
        // 3-byte hit in all three.
        let mut len_best = 0;
        if delta2 < cyclic_size && window.get_byte_backward(delta2) == window.get_current_byte() {
            len_best = 2;
            matches.len[0] = 2;
            matches.dist[0] = delta2 - 1;
            matches.count = 1;
        }
        if delta2 != delta3 && delta3 < cyclic_size && window.get_byte_backward(delta3) == window.get_current_byte() {
            len_best = 3;
            matches.dist[matches.count as usize] = delta3 - 1;
            matches.count += 1;
            delta2 = delta3;
        }
        if matches.count > 0 {
            len_best = extend_match(&window.buf, window.read_pos, len_best, delta2, match_len_limit);
            matches.len[matches.count as usize - 1] = len_best as u32;
            if len_best >= nice_len_limit {
                self.drop_pairs(from, tree_count);
                return;
            }
        }
        // The tree's matches, longer than the best so far (see `tree_walk`).
        let mut len_best = len_best.max(3) as u32;
        for _ in 0..tree_count {
            let (len, dist) = (self.take(from), self.take(from));
            if len > len_best {
                len_best = len;
                matches.len[matches.count as usize] = len;
                matches.dist[matches.count as usize] = dist as i32;
                matches.count += 1;
            }
        }
    }

    fn skip(&mut self, window: &mut LzEncoderData, len: usize) {
        for _ in 0..len {
            let avail = window.move_pos(window.nice_len as i32, 4);
            if avail != 0 {
                self.near.prefetch_ahead(window);
                self.near.insert(window.read_buffer());
                let (from, tree_count) = self.op(window, avail);
                self.drop_pairs(from, tree_count);
            }
        }
    }
}

impl Drop for MatchThread {
    fn drop(&mut self) {
        // Every walker's channels first: the even half's walker may be waiting for the
        // odd one, which only stops once its own channels close. A lending walker may be
        // waiting for the parser's walks. A channel closes once all its senders are
        // gone: the outbox holds the other ones.
        self.idle.out.to.clear();
        for walker in &mut self.walkers {
            walker.lending.walked.store(i32::MAX, Release);
            walker.events.take();
            walker.batches.take();
        }
    }
}

impl Drop for Walker {
    fn drop(&mut self) {
        // Closing both channels ends the thread whether it waits for data or for room.
        self.events.take();
        self.batches.take();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// How many positions ahead the parser fetches a 3-byte hash slot, and then the first
/// byte of the candidate found there (see `NearHashes::prefetch_ahead`).
const NEAR_SLOT_AHEAD: usize = 16;
const NEAR_BYTES_AHEAD: usize = 8;

/// The ops of a batch looked at ahead of the one the parser takes, for the lent ones.
#[derive(Default)]
struct LookAhead {
    /// Where the first op not looked at yet starts.
    ahead: usize,
    /// How many ops have been looked at from the one being taken on.
    looked: usize,
}

impl LookAhead {
    /// As the parser takes the next op of `batch` (the first one for a new `LookAhead`):
    /// gives `lent` the ops that come to be `LENT_AHEAD` ahead of it (every op up to
    /// that far, at the start of a batch) that are lent, as (how many ops ahead, head).
    #[inline(always)]
    fn next_op(&mut self, batch: &[u32], mut lent: impl FnMut(usize, u32)) {
        // The op being taken was looked at before, unless it starts the batch.
        self.looked = self.looked.saturating_sub(1);
        while self.looked <= LENT_AHEAD && self.ahead < batch.len() {
            let count = batch[self.ahead];
            if count == LENT {
                if self.looked > 0
                    && let Some(&head) = batch.get(self.ahead + 1)
                {
                    lent(self.looked, head);
                }
                self.ahead += 2;
            } else {
                self.ahead += 1 + 2 * count as usize;
            }
            self.looked += 1;
        }
    }
}

/// BT4's 2- and 3-byte hash tables, at the parser's position.
struct NearHashes {
    hash2: Vec<i32>,
    hash3: Vec<i32>,
    cyclic_size: i32,
    lz_pos: i32,
}

impl NearHashes {
    fn new(dict_size: u32) -> NearHashes {
        let cyclic_size = dict_size as i32 + 1;
        NearHashes { hash2: vec![0; HASH23_SIZES.0], hash3: vec![0; HASH23_SIZES.1], cyclic_size, lz_pos: cyclic_size }
    }

    /// Before `insert` at the window's position: fetches the 3-byte hash slot of the
    /// position NEAR_SLOT_AHEAD on, and then (once that has arrived, NEAR_BYTES_AHEAD
    /// positions later) the first byte of the candidate it holds, which `find_matches`
    /// compares: the two misses that were most of the parser's part of BT4. A position
    /// in between with the same slot only costs a prefetch, as do bytes past the data.
    #[inline(always)]
    fn prefetch_ahead(&self, window: &LzEncoderData) {
        let bytes = window.read_buffer();
        if let Some(ahead) = bytes.get(NEAR_SLOT_AHEAD..NEAR_SLOT_AHEAD + 3) {
            prefetch(self.hash3.as_ptr().wrapping_add(hash23_slots(ahead).1));
        }
        if let Some(ahead) = bytes.get(NEAR_BYTES_AHEAD..NEAR_BYTES_AHEAD + 3) {
            // `lz_pos` still numbers the position before the window's.
            let delta = self.lz_pos + 1 + NEAR_BYTES_AHEAD as i32 - self.hash3[hash23_slots(ahead).1];
            if 0 < delta && delta < self.cyclic_size {
                let here = window.buf.as_ptr().wrapping_add(window.read_pos as usize + NEAR_BYTES_AHEAD);
                prefetch(here.wrapping_sub(delta as usize));
            }
        }
    }

    /// Numbers the position `bytes` starts at, enters it, and gives the distances to
    /// the last positions with the same 2-byte and 3-byte hashes.
    fn insert(&mut self, bytes: &[u8]) -> (i32, i32) {
        next_lz_pos(&mut self.lz_pos, self.cyclic_size, &mut [&mut self.hash2, &mut self.hash3]);
        let (slot2, slot3) = hash23_slots(bytes);
        let delta2 = self.lz_pos - std::mem::replace(&mut self.hash2[slot2], self.lz_pos);
        let delta3 = self.lz_pos - std::mem::replace(&mut self.hash3[slot3], self.lz_pos);
        (delta2, delta3)
    }
}

/// How a walker that shares the tree leaves it at the split end (see `tree_walk`).
enum Handover {
    /// The only walker.
    None,
    /// The even half's walker: waits for the odd one to finish, then walks everything.
    Wait(Receiver<()>),
    /// The odd half's walker: says it is done, then walks nothing.
    Tell(SyncSender<()>),
}

/// The thread's side: the tree walker, its ops collected into batches.
struct Recorder {
    walker: TreeWalker,
    handover: Handover,
    batch: Batch,
    ops: usize,
    out: SyncSender<Batch>,
    spent: Receiver<Batch>,
    lending: Arc<Lending>,
    /// Whether this thread may lend positions to the parser: the only walker thread,
    /// before the split end.
    may_lend: bool,
}

impl Recorder {
    /// Sends the batch once it is full; false once the parser is gone.
    fn counted(&mut self, ops: usize) -> bool {
        self.ops += ops;
        self.ops < BATCH_OPS || self.hand_over()
    }

    /// Sends what is recorded; false once the parser is gone.
    fn hand_over(&mut self) -> bool {
        // A walker that walks nothing moves over positions all the same: count anew.
        self.ops = 0;
        if self.batch.is_empty() {
            return true;
        }
        let empty = self.spent.try_recv().unwrap_or_else(|_| Vec::with_capacity(BATCH_OPS * 4));
        let batch = std::mem::replace(&mut self.batch, empty);
        // Counted before it can be taken, so the count never goes below 0.
        let queued = self.lending.queued.fetch_add(1, Relaxed) + 1;
        if self.out.send(batch).is_err() {
            return false;
        }
        if self.may_lend {
            self.adjust_lending(queued);
        }
        true
    }

    /// Lends the parser the positions of the marked buckets from the next one on once
    /// the parser is close behind this thread, and stops once this thread is far
    /// ahead (the parser is the slower side there). Between the two, the lead of up to
    /// `BATCHES_AHEAD` batches absorbs the changes of which side is slower.
    fn adjust_lending(&mut self, queued: usize) {
        let lending = self.walker.share() == Some(Share::Lend);
        #[cfg(test)]
        if tests::LENDING_AT_EVERY_OTHER_BATCH.load(Relaxed) {
            if lending {
                self.walker.stop_lending();
            } else if self.walker.may_lend() {
                self.walker.start_lending();
            }
            return;
        }
        if !lending && queued <= LEND_BELOW && self.walker.may_lend() {
            self.walker.start_lending();
        } else if lending && queued >= STOP_LENDING_AT {
            self.walker.stop_lending();
        }
    }

    /// Tells the walker how far the parser has walked the positions lent to it.
    fn note_parser_walked(&mut self) {
        if self.may_lend {
            self.walker.parser_walked(self.lending.walked.load(Acquire));
        }
    }

    /// At the split end, where sharing the tree ends: waits until the parser has
    /// walked every position lent (this thread is ahead, with every op it made sent,
    /// and the parser catches up), and lends no more.
    fn take_back(&mut self) {
        self.walker.stop_lending();
        let last = self.walker.last_lent();
        while self.lending.walked.load(Acquire) < last {
            std::thread::sleep(std::time::Duration::from_micros(50));
        }
        self.note_parser_walked();
        self.may_lend = false;
    }

    /// At the split end, hands the tree over (see `Handover`). Every op before it is
    /// sent first: the parser needs them to get as far as the other walker waits.
    fn leave_split_if_at_end(&mut self) -> bool {
        if !self.walker.at_split_end() {
            return true;
        }
        let alive = self.hand_over();
        match std::mem::replace(&mut self.handover, Handover::None) {
            Handover::Wait(odd_done) => {
                // An error: the odd walker is gone, and so is the parser.
                let _ = odd_done.recv();
                self.walker.set_share(Some(Share::All));
            }
            Handover::Tell(done) => {
                let _ = done.send(());
                self.walker.set_share(None);
            }
            // A lending walker: from the split end on, it walks every position.
            Handover::None => self.take_back(),
        }
        alive
    }

    /// The positions with a whole `match_len_max` after them, up to a full batch.
    fn run(&mut self, window: &mut LzEncoderData) -> bool {
        let alive = self.leave_split_if_at_end();
        self.note_parser_walked();
        let walked = self.walker.run(window, BATCH_OPS - self.ops, &mut self.batch);
        alive && self.counted(walked)
    }

    fn step(&mut self, window: &mut LzEncoderData) -> bool {
        let alive = self.leave_split_if_at_end();
        self.note_parser_walked();
        self.walker.step(window, &mut self.batch);
        alive && self.counted(1)
    }
}

/// What the window calls while it takes data or a preset: it only ever skips
/// (positions a flush left pending, the preset's positions), and every position it
/// moves over is an op for the parser, which skips it too.
impl MatchFind for Recorder {
    fn find_matches(&mut self, window: &mut LzEncoderData, matches: &mut Matches) {
        matches.count = 0;
        self.step(window);
    }

    fn skip(&mut self, window: &mut LzEncoderData, len: usize) {
        for _ in 0..len {
            self.step(window);
        }
    }
}

fn run(
    mut window: LzEncoderData,
    mut recorder: Recorder,
    events: Receiver<Event>,
    heads: &SharedHeads,
    dict_size: u32,
) {
    // Nothing to walk until the parser has read the first data: meanwhile, fault in the
    // part of the window that a dictionary's worth of data fills, which the copies into
    // it would otherwise fault in on the way (where the kernel can; see `fault_in`).
    crate::sys::huge_pages::fault_in(&window.buf[..window.buf.len().min(dict_size as usize)]);
    for event in events {
        let alive = match event {
            Event::Preset(dict) => {
                recorder.walker.add_heads(heads.heads_of(&dict));
                window.set_preset_dict(dict_size, &dict.data, &mut recorder);
                heads.recycle(dict);
                true
            }
            Event::Data(chunk) => {
                recorder.walker.add_heads(heads.heads_of(&chunk));
                let data = &chunk.data;
                let mut taken = 0;
                let mut alive = true;
                while alive && taken < data.len() {
                    taken += window.fill_window(&data[taken..], &mut recorder);
                    // Every position with a full match length after it; the parser
                    // never goes further before the next event. Positions left pending
                    // by a flush come first: the window redoes them (from where they
                    // are) once enough data follows, as the parser's does.
                    while alive
                        && window.pending_size == 0
                        && window.write_pos - (window.read_pos + 1) >= window.match_len_max as i32
                    {
                        alive = recorder.run(&mut window);
                    }
                }
                heads.recycle(chunk);
                alive
            }
            Event::Flush | Event::Finish => {
                if matches!(event, Event::Finish) {
                    window.set_finishing(&mut recorder);
                } else {
                    window.set_flushing(&mut recorder);
                }
                let mut alive = true;
                while alive && window.read_pos < window.read_limit {
                    alive = recorder.step(&mut window);
                }
                alive
            }
        };
        if !alive || !recorder.hand_over() {
            return;
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::lzma::lz_encoder::{LzEncoder, WindowShape};
    use std::sync::atomic::AtomicBool;

    /// Makes every lending walker start and stop lending at alternate batches, so that
    /// a test goes through every change of who walks the lent buckets many times
    /// (whatever else runs meanwhile: the stream must not change either way).
    pub(crate) static LENDING_AT_EVERY_OTHER_BATCH: AtomicBool = AtomicBool::new(false);
    /// Positions walked by a parser, lent by its walker thread.
    pub(crate) static LENT_WALKS: AtomicUsize = AtomicUsize::new(0);

    /// Every lent op of a batch is announced once, `LENT_AHEAD` ops before the parser
    /// takes it (or as far ahead as there are ops, at the start of the batch), with
    /// its head: ops of other lengths in between must not throw the count off.
    #[test]
    fn each_lent_op_is_looked_at_once_ahead() {
        let mut batch = Vec::new();
        let mut lent = Vec::new();
        for op in 0..200u32 {
            if op % 7 == 3 || op % 11 == 0 {
                lent.push((op as usize, 1000 + op));
                batch.extend([LENT, 1000 + op]);
            } else {
                let count = op % 4;
                batch.push(count);
                batch.extend((0..2 * count).map(|i| 5 + i));
            }
        }
        let mut look = LookAhead::default();
        let mut announced = Vec::new();
        for taken in 0..200 {
            look.next_op(&batch, |ahead, head| {
                assert!(taken == 0 || ahead == LENT_AHEAD, "op {taken}: announced {ahead} ahead");
                announced.push((taken + ahead, head));
            });
        }
        // The batch's first op is being taken when it is first looked at: not ahead.
        let expected: Vec<_> = lent.into_iter().filter(|&(op, _)| op > 0).collect();
        assert_eq!(announced, expected);
    }

    /// Two walkers must really be in use where threads are given (the stream is the
    /// same with one, so the byte-identity test alone would not notice them gone), and
    /// the halves must be near even on text, or the second walker gains little.
    #[test]
    fn two_walkers_share_the_positions_about_evenly() {
        let dict_size = 1 << 20;
        let shape = WindowShape {
            dict_size,
            extra_size_before: 4096,
            extra_size_after: 4096,
            nice_len: 64,
            match_len_max: 273,
        };
        let thread = MatchThread::start(|| LzEncoder::window(&shape), dict_size, 0, true).unwrap();
        assert_eq!(thread.walkers.len(), 2);
        assert!(thread.split_end > 0);

        let mut hasher = crate::lzma::heads::HeadHasher::new(dict_size, Split::Halves);
        let mut heads = Vec::new();
        hasher.hash(&crate::lzma::tests::sample(1 << 20), &mut heads);
        let odd = heads.iter().filter(|&&head| head < 0).count();
        let share = odd as f64 / heads.len() as f64;
        assert!((0.4..0.6).contains(&share), "the odd half has {:.1}% of the positions", share * 100.0);
    }
}
