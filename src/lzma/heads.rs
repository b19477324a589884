//! BT4's hash-4 heads for the tree walkers (see `match_thread`), computed ahead of the
//! walk. The heads of each piece of data are computed once, in the order the pieces
//! came, by whichever thread gets there first: a walker that needs them, or the parser
//! while it waits for the walkers' ops. On two cores the one walker is the slower side
//! (the parser waited 0.6–1.0 s for it on 27 MB), so hashing in that time takes work
//! off the walker.

use super::bt4::next_lz_pos;
use super::hash234::{Hash234, hash4_slot};
use super::prefetch;
use super::tree_walk::{Split, bucket_mark};
use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

/// A piece of data sent to the walkers, and its heads once computed.
pub(crate) struct Chunk {
    pub(crate) data: Vec<u8>,
    heads: OnceLock<Vec<i32>>,
}

/// Buffers of chunks the walkers are done with, kept for the next chunks: a chunk's
/// data and its heads (four times as large) are blocks the allocator maps and unmaps,
/// and fresh ones were a third of the run's page faults (50,000 on 27 MB). It never
/// holds more than was in flight at once: every buffer in it was.
#[derive(Default)]
struct Spare {
    data: Vec<Vec<u8>>,
    heads: Vec<Vec<i32>>,
    /// No chunk follows: buffers handed back are freed (the tree still grows while
    /// the last chunks are walked, and the peak memory comes then).
    closed: bool,
}

/// An empty spare buffer for `len` items: one that holds them if there is one, else
/// the largest, which grows the least (chunk sizes vary a little).
fn fitting<T>(spare: &mut Vec<Vec<T>>, len: usize) -> Vec<T> {
    let best = spare.iter().position(|buffer| buffer.capacity() >= len).or_else(|| {
        let largest = spare.iter().enumerate().max_by_key(|(_, buffer)| buffer.capacity());
        largest.map(|(at, _)| at)
    });
    let mut buffer = best.map(|at| spare.swap_remove(at)).unwrap_or_default();
    buffer.clear();
    buffer
}

/// The hash-4 table, shared by the parser and the walkers.
pub(crate) struct SharedHeads {
    /// The chunks queued and not hashed yet, oldest first.
    pending: Mutex<VecDeque<Arc<Chunk>>>,
    /// Whoever holds it hashes the oldest pending chunk.
    hasher: Mutex<HeadHasher>,
    spare: Mutex<Spare>,
    /// Chunks hashed, and chunks the walkers are done with (see `help`).
    hashed: AtomicUsize,
    walked: AtomicUsize,
    /// The table's slot mask, for the bucket of a position.
    pub(crate) mask: u32,
}

/// How many chunks the parser hashes ahead of the walkers while it waits. Hashing all
/// it had sent, up to the 8 MiB the input runs ahead, held 32 MB of heads where the
/// walker was the slower side and at the finish, when the memory peaks; the walker
/// needs only the next chunk's.
const HASHED_AHEAD: usize = 8;

/// A lock whether or not a thread panicked while holding it: the parser reports a
/// walker that stopped, and nothing here is left half-changed by a panic that matters
/// after it (a chunk's heads are set whole or not at all).
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl SharedHeads {
    pub(crate) fn new(dict_size: u32, split: Split) -> Arc<SharedHeads> {
        let hasher = HeadHasher::new(dict_size, split);
        let mask = hasher.mask;
        let (pending, hasher, spare) = (Mutex::default(), Mutex::new(hasher), Mutex::default());
        let (hashed, walked) = (AtomicUsize::new(0), AtomicUsize::new(0));
        Arc::new(SharedHeads { pending, hasher, spare, hashed, walked, mask })
    }

    /// An empty buffer for the data of a chunk of `len` bytes.
    pub(crate) fn data_buffer(&self, len: usize) -> Vec<u8> {
        let mut buffer = fitting(&mut lock(&self.spare).data, len);
        buffer.reserve_exact(len);
        buffer
    }

    /// `data` as a chunk for the walkers, queued to be hashed after those before it.
    pub(crate) fn queue(&self, data: Vec<u8>) -> Arc<Chunk> {
        let chunk = Arc::new(Chunk { data, heads: OnceLock::new() });
        lock(&self.pending).push_back(chunk.clone());
        chunk
    }

    /// Keeps the buffers of `chunk` for the next chunks, if nothing else holds it.
    pub(crate) fn recycle(&self, chunk: Arc<Chunk>) {
        let Some(Chunk { data, heads }) = Arc::into_inner(chunk) else { return };
        self.walked.fetch_add(1, Relaxed);
        let mut spare = lock(&self.spare);
        if !spare.closed {
            spare.data.push(data);
            spare.heads.extend(heads.into_inner());
        }
    }

    /// Frees the spare buffers and those handed back from now on: no chunk follows.
    pub(crate) fn close(&self) {
        *lock(&self.spare) = Spare { closed: true, ..Spare::default() };
    }

    /// The heads of `chunk` (queued), hashing it and the chunks before it if no other
    /// thread has.
    pub(crate) fn heads_of<'a>(&self, chunk: &'a Chunk) -> &'a [i32] {
        loop {
            if let Some(heads) = chunk.heads.get() {
                return heads;
            }
            let mut hasher = lock(&self.hasher);
            if chunk.heads.get().is_none() {
                // A queued chunk not hashed yet is pending, so there is one to hash.
                assert!(self.hash_next(&mut hasher), "a chunk was sent to the walkers without being queued");
            }
        }
    }

    /// Hashes the oldest pending chunk if no other thread is hashing and the walkers
    /// are not `HASHED_AHEAD` chunks behind; false when there was none, another thread
    /// was at it, or the walkers are that far behind.
    pub(crate) fn help(&self) -> bool {
        let ahead = self.hashed.load(Relaxed).saturating_sub(self.walked.load(Relaxed));
        if ahead >= HASHED_AHEAD {
            return false;
        }
        match self.hasher.try_lock() {
            Ok(mut hasher) => self.hash_next(&mut hasher),
            Err(_) => false,
        }
    }

    fn hash_next(&self, hasher: &mut HeadHasher) -> bool {
        let Some(chunk) = lock(&self.pending).front().cloned() else { return false };
        let mut heads = fitting(&mut lock(&self.spare).heads, chunk.data.len());
        hasher.hash(&chunk.data, &mut heads);
        let _ = chunk.heads.set(heads);
        lock(&self.pending).pop_front();
        self.hashed.fetch_add(1, Relaxed);
        true
    }
}

/// BT4's hash-4 table, run ahead over the data as it arrives: for each position, the
/// number of the last earlier position with the same hash (its "head").
pub(crate) struct HeadHasher {
    table: Vec<i32>,
    pub(crate) mask: u32,
    cyclic_size: i32,
    lz_pos: i32,
    /// The bytes of the positions not hashed yet (fewer than 4 bytes follow them).
    tail: Vec<u8>,
    /// How the heads are marked (see `bucket_mark`).
    split: Split,
}

/// How many positions ahead the hasher prefetches its table slot.
const SLOT_AHEAD: usize = 16;

impl HeadHasher {
    pub(crate) fn new(dict_size: u32, split: Split) -> HeadHasher {
        let size = Hash234::get_hash4_size(dict_size);
        let mut table = vec![0; size as usize];
        crate::sys::huge_pages::advise(&mut table);
        let cyclic_size = dict_size as i32 + 1;
        HeadHasher { table, mask: size - 1, cyclic_size, lz_pos: cyclic_size, tail: Vec::new(), split }
    }

    /// The heads of the positions `data` gives 4 bytes to, in order, into `heads`.
    pub(crate) fn hash(&mut self, data: &[u8], heads: &mut Vec<i32>) {
        heads.clear();
        heads.reserve_exact(data.len() + self.tail.len());
        // Positions straddling the previous data and this.
        let mut edge = std::mem::take(&mut self.tail);
        let straddling = edge.len();
        edge.extend_from_slice(&data[..data.len().min(3)]);
        let hashed_in_edge = straddling.min(edge.len().saturating_sub(3));
        for at in 0..hashed_in_edge {
            heads.push(self.insert(&edge[at..]));
        }
        // Positions inside this data.
        let inside = data.len().saturating_sub(3);
        for at in 0..inside {
            if let Some(ahead) = data.get(at + SLOT_AHEAD..at + SLOT_AHEAD + 4) {
                prefetch(self.table.as_ptr().wrapping_add(hash4_slot(ahead, self.mask)));
            }
            heads.push(self.insert(&data[at..]));
        }
        self.tail = if straddling > hashed_in_edge {
            let mut tail = edge[hashed_in_edge..straddling].to_vec();
            tail.extend_from_slice(data);
            tail
        } else {
            data[inside..].to_vec()
        };
    }

    #[inline(always)]
    fn insert(&mut self, bytes: &[u8]) -> i32 {
        next_lz_pos(&mut self.lz_pos, self.cyclic_size, &mut [&mut self.table]);
        let slot = hash4_slot(bytes, self.mask);
        (std::mem::replace(&mut self.table[slot], self.lz_pos) as u32 | bucket_mark(self.split, slot)) as i32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Whoever hashes, and in whatever interleaving, every chunk gets the heads that
    /// one hasher going through the chunks in order gives: the parser helping (as it
    /// does while it waits) and a walker asking race here. The second time through,
    /// the chunks are built in the buffers of the first, recycled with what they held.
    /// The parser's help stops `HASHED_AHEAD` chunks ahead of the walkers.
    #[test]
    fn chunks_hashed_by_either_side_get_the_heads_of_one_hasher_in_order() {
        let dict_size = 1 << 20;
        let sample = crate::lzma::tests::sample(1 << 20);
        // Uneven pieces, some shorter than a hash's 4 bytes.
        let pieces: Vec<&[u8]> = sample.chunks(40_000).flat_map(|c| [&c[..2], &c[2..]]).collect();
        let mut alone = HeadHasher::new(dict_size, Split::Halves);
        let shared = SharedHeads::new(dict_size, Split::Halves);
        for round in ["first", "recycled"] {
            let expected: Vec<Vec<i32>> = pieces
                .iter()
                .map(|p| {
                    let mut heads = Vec::new();
                    alone.hash(p, &mut heads);
                    heads
                })
                .collect();
            let chunks: Vec<Arc<Chunk>> = pieces
                .iter()
                .map(|p| {
                    let mut data = shared.data_buffer(p.len());
                    data.extend_from_slice(p);
                    shared.queue(data)
                })
                .collect();
            assert!(shared.help(), "a pending chunk, and no one else hashing");
            let walker = {
                let (shared, chunks) = (shared.clone(), chunks.clone());
                std::thread::spawn(move || chunks.iter().map(|c| shared.heads_of(c).to_vec()).collect::<Vec<_>>())
            };
            while shared.help() {}
            let got = walker.join().unwrap();
            assert!(!shared.help(), "nothing left to hash");
            for (at, (got, expected)) in got.iter().zip(&expected).enumerate() {
                assert!(got == expected, "{round} time: chunk {at} has other heads than one hasher gives");
            }
            chunks.into_iter().for_each(|chunk| shared.recycle(chunk));
            assert_eq!(lock(&shared.spare).heads.len(), pieces.len(), "{round} time: every chunk recycled");
        }
        // Helping stops `HASHED_AHEAD` chunks ahead of the walkers, and goes on as they
        // finish chunks.
        let chunks: Vec<Arc<Chunk>> = (0..HASHED_AHEAD + 2).map(|_| shared.queue(vec![7; 100])).collect();
        for _ in 0..HASHED_AHEAD {
            assert!(shared.help(), "fewer than HASHED_AHEAD chunks ahead");
        }
        assert!(!shared.help(), "hashed more than HASHED_AHEAD chunks ahead of the walkers");
        let mut chunks = chunks.into_iter();
        shared.recycle(chunks.next().unwrap());
        assert!(shared.help(), "a chunk walked makes room for the next");
        assert!(!shared.help());
        chunks.for_each(|chunk| {
            shared.heads_of(&chunk);
            shared.recycle(chunk);
        });
        // After the finish nothing is kept.
        let last = shared.queue(shared.data_buffer(10));
        shared.close();
        assert!(lock(&shared.spare).data.is_empty() && lock(&shared.spare).heads.is_empty());
        shared.recycle(last);
        assert!(lock(&shared.spare).data.is_empty(), "a buffer kept after the finish");
    }
}
