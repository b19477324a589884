//! LZMA/LZMA2 encoder: a fork of lzma-rust2 0.23's encoder (Apache-2.0, © the
//! lzma-rust2 authors, itself a port of XZ for Java by Lasse Collin and Igor Pavlov).
//!
//! Why a fork: the crate keeps its match finder private, and that is where an encoder
//! at 7-Zip's level spends 80% of its time, stalled on memory. Changes from upstream:
//! - `bt4.rs`/`hash234.rs`: the hash slot of a position a few bytes ahead, and the tree
//!   node and bytes of its likely first candidate, are prefetched, so those cache
//!   misses overlap with the current position's work (the output is unchanged).
//! - `match_thread.rs`, `tree_walk.rs`, `heads.rs`: BT4 split over threads (ours, not
//!   upstream).
//! - The large tables ask for huge pages (`crate::sys::huge_pages`).
//! - `RangeEncoder::encode_bit` has no branch on the bit, as in 7-Zip's encoder.
//! - `bt4::max_pos`: tests renumber positions often, so that path is tested too.
//! - std only; options (`Lzma2Options`, `MfType`, `EncodeMode`) are the crate's types.
//!
//! Everything else is upstream's code as it was, lints and repetitions included, so
//! that it can be compared with (and rebased on) the crate line by line; the test
//! below holds the fork to the crate's output byte for byte.
//! Decoding and LZMA1 stay with lzma-rust2 itself.
#![allow(dead_code, clippy::all)]

mod bt4;
mod encoder;
mod encoder_fast;
mod encoder_normal;
mod hash234;
mod hc4;
mod heads;
mod lz_encoder;
mod lzma2_writer;
mod match_thread;
mod range_enc;
mod state;
mod tree_walk;

pub use lzma2_writer::Lzma2Writer;

use lz_encoder::{LzEncoder, LzEncoderData, MatchFind, Matches};
use state::{STATES, State};
use std::io::{Result, Write};

/// The crate's `lz` module, as the forked files name it.
mod lz {
    pub(crate) use super::lz_encoder::{LzEncoder, WindowShape};
    pub(crate) use lzma_rust2::MfType;
}

const LOW_SYMBOLS: usize = 1 << 3;
const MID_SYMBOLS: usize = 1 << 3;
const HIGH_SYMBOLS: usize = 1 << 8;

const POS_STATES_MAX: usize = 1 << 4;
const MATCH_LEN_MIN: usize = 2;
const MATCH_LEN_MAX: usize = MATCH_LEN_MIN + LOW_SYMBOLS + MID_SYMBOLS + HIGH_SYMBOLS - 1;

const DIST_STATES: usize = 4;
const DIST_SLOTS: usize = 1 << 6;
const DIST_MODEL_START: usize = 4;
const DIST_MODEL_END: usize = 14;
const FULL_DISTANCES: usize = 1 << (DIST_MODEL_END / 2);

const ALIGN_BITS: usize = 4;
const ALIGN_SIZE: usize = 1 << ALIGN_BITS;
const ALIGN_MASK: usize = ALIGN_SIZE - 1;

const REPS: usize = 4;

const SHIFT_BITS: u32 = 8;
const TOP_MASK: u32 = 0xFF000000;
const BIT_MODEL_TOTAL_BITS: u32 = 11;
const BIT_MODEL_TOTAL: u32 = 1 << BIT_MODEL_TOTAL_BITS;
const PROB_INIT: u16 = (BIT_MODEL_TOTAL / 2) as u16;
const MOVE_BITS: u32 = 5;
const DIST_SPECIAL_INDEX: [usize; 10] = [0, 2, 4, 8, 12, 20, 28, 44, 60, 92];
const DIST_SPECIAL_END: [usize; 10] = [2, 4, 8, 12, 20, 28, 44, 60, 92, 124];
const TOP_VALUE: u32 = 0x0100_0000;
const RC_BIT_MODEL_OFFSET: u32 = (1u32 << MOVE_BITS).wrapping_sub(1).wrapping_sub(BIT_MODEL_TOTAL);

/// Recover queue and error-store guards after a panic.

#[derive(Clone)]
pub(crate) struct LzmaCoder {
    pub(crate) pos_mask: u32,
    pub(crate) reps: [i32; REPS],
    pub(crate) state: State,
    pub(crate) is_match: [[u16; POS_STATES_MAX]; STATES],
    pub(crate) is_rep: [u16; STATES],
    pub(crate) is_rep0: [u16; STATES],
    pub(crate) is_rep1: [u16; STATES],
    pub(crate) is_rep2: [u16; STATES],
    pub(crate) is_rep0_long: [[u16; POS_STATES_MAX]; STATES],
    pub(crate) dist_slots: [[u16; DIST_SLOTS]; DIST_STATES],
    dist_special: [u16; 124],
    dist_align: [u16; ALIGN_SIZE],
}

pub(crate) fn coder_get_dict_size(len: usize) -> usize {
    if len < DIST_STATES + MATCH_LEN_MIN { len - MATCH_LEN_MIN } else { DIST_STATES - 1 }
}

pub(crate) fn get_dist_state(len: u32) -> u32 {
    (if (len as usize) < DIST_STATES + MATCH_LEN_MIN { len as usize - MATCH_LEN_MIN } else { DIST_STATES - 1 }) as u32
}

impl LzmaCoder {
    pub(crate) fn new(pb: usize) -> Self {
        let mut c = Self {
            pos_mask: (1 << pb) - 1,
            reps: Default::default(),
            state: Default::default(),
            is_match: Default::default(),
            is_rep: Default::default(),
            is_rep0: Default::default(),
            is_rep1: Default::default(),
            is_rep2: Default::default(),
            is_rep0_long: Default::default(),
            dist_slots: [[Default::default(); DIST_SLOTS]; DIST_STATES],
            dist_special: [Default::default(); 124],
            dist_align: Default::default(),
        };
        c.reset();
        c
    }

    pub(crate) fn reset(&mut self) {
        self.reps = [0; REPS];
        self.state.reset();
        for ele in self.is_match.iter_mut() {
            init_probs(ele);
        }
        init_probs(&mut self.is_rep);
        init_probs(&mut self.is_rep0);
        init_probs(&mut self.is_rep1);
        init_probs(&mut self.is_rep2);

        for ele in self.is_rep0_long.iter_mut() {
            init_probs(ele);
        }
        for ele in self.dist_slots.iter_mut() {
            init_probs(ele);
        }
        init_probs(&mut self.dist_special);
        init_probs(&mut self.dist_align);
    }

    #[inline(always)]
    pub(crate) fn get_dist_special(&mut self, i: usize) -> &mut [u16] {
        &mut self.dist_special[DIST_SPECIAL_INDEX[i]..DIST_SPECIAL_END[i]]
    }
}

#[inline(always)]
pub(crate) fn init_probs(probs: &mut [u16]) {
    probs.fill(PROB_INIT);
}

#[derive(Clone)]
pub(crate) struct LiteralCoder {
    lc: u32,
    literal_pos_mask: u32,
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct LiteralSubCoder {
    probs: [u16; 0x300],
}

impl LiteralSubCoder {
    pub fn new() -> Self {
        let probs = [PROB_INIT; 0x300];
        Self { probs }
    }

    pub fn reset(&mut self) {
        self.probs = [PROB_INIT; 0x300];
    }
}

impl LiteralCoder {
    pub fn new(lc: u32, lp: u32) -> Self {
        Self { lc, literal_pos_mask: (1 << lp) - 1 }
    }

    pub(crate) fn get_sub_coder_index(&self, prev_byte: u32, pos: u32) -> u32 {
        let low = prev_byte >> (8 - self.lc);
        let high = (pos & self.literal_pos_mask) << self.lc;
        low + high
    }
}

#[derive(Clone)]
pub(crate) struct LengthCoder {
    choice: [u16; 2],
    low: [[u16; LOW_SYMBOLS]; POS_STATES_MAX],
    mid: [[u16; MID_SYMBOLS]; POS_STATES_MAX],
    high: [u16; HIGH_SYMBOLS],
}

impl LengthCoder {
    pub fn new() -> Self {
        Self { choice: Default::default(), low: Default::default(), mid: Default::default(), high: [0; HIGH_SYMBOLS] }
    }

    pub fn reset(&mut self) {
        init_probs(&mut self.choice);
        for ele in self.low.iter_mut() {
            init_probs(ele);
        }
        for ele in self.mid.iter_mut() {
            init_probs(ele);
        }
        init_probs(&mut self.high);
    }
}

/// Asks the CPU to bring the cache line at `p` in; never faults, whatever `p` is.
#[inline(always)]
fn prefetch<T>(p: *const T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch is a hint; it reads nothing and cannot fault on any address.
    unsafe {
        core::arch::x86_64::_mm_prefetch::<{ core::arch::x86_64::_MM_HINT_T0 }>(p.cast());
    }
}

trait ByteWriter {
    fn write_u8(&mut self, value: u8) -> Result<()>;
}

impl<T: Write> ByteWriter for T {
    #[inline(always)]
    fn write_u8(&mut self, value: u8) -> Result<()> {
        self.write_all(&[value])
    }
}

/// Extends a match to its maximum possible length within a specified limit.
#[inline(always)]
fn extend_match(buf: &[u8], read_pos: i32, current_len: i32, distance: i32, limit: i32) -> i32 {
    let start1 = (read_pos + current_len) as usize;
    let start2 = start1 - distance as usize;

    #[cfg(any())]
    let (s1, s2) = {
        let extension_limit = (limit - current_len) as usize;
        (&buf[start1..start1 + extension_limit], &buf[start2..start2 + extension_limit])
    };

    let (s1, s2) = unsafe {
        let logical_extension = (limit - current_len) as usize;
        let physical_extension = buf.len().saturating_sub(start1);
        let extension_limit = logical_extension.min(physical_extension);

        // SAFETY: The `extension_limit` calculation above provides the guarantee
        // that these slices are in-bounds.
        (buf.get_unchecked(start1..start1 + extension_limit), buf.get_unchecked(start2..start2 + extension_limit))
    };

    let extension = extend_match_safe(s1, s2) as i32;

    current_len + extension
}

/// Extends a match to its maximum possible length within a specified limit.
///
/// This function is optimized using native word-at-a-time comparisons.
#[cfg(any())]
#[inline(always)]
fn extend_match_safe(s1: &[u8], s2: &[u8]) -> usize {
    const WORD_SIZE: usize = size_of::<usize>();

    let len = s1.len().min(s2.len());

    let mut matched = 0;

    while matched + WORD_SIZE <= len {
        let s1_slice = &s1[matched..matched + WORD_SIZE];
        let s2_slice = &s2[matched..matched + WORD_SIZE];

        let s1_array: [u8; WORD_SIZE] = s1_slice.try_into().unwrap();
        let s2_array: [u8; WORD_SIZE] = s2_slice.try_into().unwrap();

        let word1 = usize::from_ne_bytes(s1_array);
        let word2 = usize::from_ne_bytes(s2_array);

        if word1 == word2 {
            matched += WORD_SIZE;
        } else {
            let diff_bits = word1 ^ word2;

            #[cfg(target_endian = "little")]
            let matching_bytes = (diff_bits.trailing_zeros() / 8) as usize;

            #[cfg(target_endian = "big")]
            let matching_bytes = (diff_bits.leading_zeros() / 8) as usize;

            return matched + matching_bytes;
        }
    }

    while matched < len && s1[matched] == s2[matched] {
        matched += 1;
    }

    matched
}

/// Extends a match between two slices to its maximum possible length.
///
/// This function is optimized using native word-at-a-time comparisons.
#[inline(always)]
fn extend_match_safe(s1: &[u8], s2: &[u8]) -> usize {
    const WORD_SIZE: usize = size_of::<usize>();

    let len = s1.len().min(s2.len());

    // SAFETY: This is safe because all pointer accesses are bounded by
    // `len`, which is calculated from the lengths of the input slices,
    // ensuring no out-of-bounds reads.
    unsafe {
        let mut ptr1 = s1.as_ptr();
        let mut ptr2 = s2.as_ptr();

        let mut extended_len = 0;

        while extended_len + WORD_SIZE <= len {
            let word1 = (ptr1 as *const usize).read_unaligned();
            let word2 = (ptr2 as *const usize).read_unaligned();

            if word1 == word2 {
                extended_len += WORD_SIZE;
                ptr1 = ptr1.add(WORD_SIZE);
                ptr2 = ptr2.add(WORD_SIZE);
            } else {
                let diff_bits = word1 ^ word2;

                #[cfg(all(target_endian = "little", not(all(target_arch = "x86_64", target_feature = "bmi1"))))]
                let matching_bytes = (diff_bits.trailing_zeros() / 8) as usize;

                #[cfg(all(target_endian = "little", all(target_arch = "x86_64", target_feature = "bmi1")))]
                let matching_bytes = (core::arch::x86_64::_tzcnt_u64(diff_bits as u64) / 8) as usize;

                #[cfg(target_endian = "big")]
                let matching_bytes = (diff_bits.leading_zeros() / 8) as usize;

                return extended_len + matching_bytes;
            }
        }

        while extended_len < len && *ptr1 == *ptr2 {
            extended_len += 1;
            ptr1 = ptr1.add(1);
            ptr2 = ptr2.add(1);
        }

        extended_len
    }
}

#[cfg(test)]
mod tests {
    use super::Lzma2Writer;
    use lzma_rust2::{Lzma2Options, MfType};
    use std::io::Write;

    /// Text-like data with repeats at every distance, and some noise.
    pub(crate) fn sample(len: usize) -> Vec<u8> {
        let words: Vec<&[u8]> =
            [&b"secure "[..], b"node ", b"vault ", b"archive ", b"data\n", b"7-Zip ", b"slurm "].to_vec();
        let (mut out, mut x) = (Vec::with_capacity(len), 0x2545_f491_u64);
        while out.len() < len {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            match x % 16 {
                0 => out.extend((0..(x >> 8) % 64).map(|i| (x >> (i % 56)) as u8)),
                1 if out.len() > 4096 => {
                    let from = out.len() - 1 - ((x >> 8) as usize % out.len().min(3 << 20));
                    let n = ((x >> 40) % 300) as usize;
                    for i in 0..n.min(out.len() - from) {
                        out.push(out[from + i]);
                    }
                }
                _ => out.extend_from_slice(words[(x >> 20) as usize % words.len()]),
            }
        }
        out.truncate(len);
        out
    }

    /// Writes `data` as secarc does: in pieces of any size (here 1 byte to 70 kB, as
    /// files come), flushing every so often (here about every 300 kB), then finishes.
    fn feed<W: Write>(writer: W, data: &[u8]) -> W {
        feed_flushing_after(writer, data, 300_000)
    }

    /// `feed`, flushing once more than `flush_after` bytes are unflushed.
    fn feed_flushing_after<W: Write>(mut writer: W, data: &[u8], flush_after: usize) -> W {
        let (mut at, mut unflushed) = (0, 0);
        for size in [1, 100, 3000, 70_000, 17, 40_000].iter().cycle() {
            let part = &data[at..(at + size).min(data.len())];
            writer.write_all(part).unwrap();
            (at, unflushed) = (at + part.len(), unflushed + part.len());
            if unflushed > flush_after {
                writer.flush().unwrap();
                unflushed = 0;
            }
            if at == data.len() {
                return writer;
            }
        }
        unreachable!()
    }

    fn ours(data: &[u8], options: &Lzma2Options, walkers: u32) -> Vec<u8> {
        feed(Lzma2Writer::with_match_thread(Vec::new(), options.clone(), walkers), data).finish().unwrap()
    }

    /// With one match-finder thread, the parser walks the positions the thread lends it
    /// (`match_thread::Lending`), which changes with which side is slower. Starting and
    /// stopping to lend at every other batch, in the middle of the stream and across
    /// the split end, must leave the stream byte for byte the crate's.
    #[test]
    fn lending_the_parser_walks_keeps_the_stream() {
        use super::match_thread::tests::{LENDING_AT_EVERY_OTHER_BATCH, LENT_WALKS};
        use std::sync::atomic::Ordering::Relaxed;
        let data = sample(3 << 20);
        let mut options = Lzma2Options::with_preset(9);
        // No split end; a split end and, in tests, renumbering (see `bt4::max_pos`).
        for dict_size in [4 << 20, 1 << 20] {
            options.lzma_options.dict_size = dict_size;
            let expected = upstream(&data, &options);
            LENDING_AT_EVERY_OTHER_BATCH.store(true, Relaxed);
            let lent_before = LENT_WALKS.load(Relaxed);
            let got = ours(&data, &options, 1);
            LENDING_AT_EVERY_OTHER_BATCH.store(false, Relaxed);
            assert!(LENT_WALKS.load(Relaxed) > lent_before, "nothing was lent");
            assert!(got == expected, "lending with a {dict_size}-byte dictionary changed the stream");
        }
    }

    /// The parser runs only once the input is `LEAD` ahead of it (or at a flush), and
    /// from then on the data staged for the match-finder thread goes to it only in full
    /// chunks or when the parser waits for its ops: a stream much longer than the lead,
    /// never flushed, must come out whole and be the crate's.
    #[test]
    fn a_stream_longer_than_the_lead_needs_no_flush() {
        let data = sample(20 << 20);
        assert!(data.len() > 2 * super::lzma2_writer::LEAD as usize);
        let mut options = Lzma2Options::with_preset(6);
        options.lzma_options.dict_size = 1 << 20;
        assert_eq!(options.lzma_options.mf, MfType::Bt4, "the match-finder thread is BT4's");
        let expected =
            feed_flushing_after(lzma_rust2::Lzma2Writer::new(Vec::new(), options.clone()), &data, usize::MAX);
        // On a thread: a parser waiting for ops that the data held back would give hangs,
        // and should fail the test instead.
        let (done, finished) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let writer = Lzma2Writer::with_match_thread(Vec::new(), options, 1);
            let _ = done.send(feed_flushing_after(writer, &data, usize::MAX).finish().unwrap());
        });
        let got = finished.recv_timeout(std::time::Duration::from_secs(300)).expect("the encoder hung");
        assert!(got == expected.finish().unwrap(), "the stream differs from lzma-rust2's");
    }

    fn upstream(data: &[u8], options: &Lzma2Options) -> Vec<u8> {
        feed(lzma_rust2::Lzma2Writer::new(Vec::new(), options.clone()), data).finish().unwrap()
    }

    /// The fork only changes how fast matches are found, never which: its stream must
    /// be byte for byte the crate's, for both match finders, a dictionary smaller than
    /// the input (the tree wraps), and a preset dictionary.
    #[test]
    fn the_stream_is_byte_identical_to_lzma_rust2() {
        let data = sample(3 << 19);
        let mut cases = Vec::new();
        for preset in [1, 5, 9] {
            let mut options = Lzma2Options::with_preset(preset);
            options.lzma_options.dict_size = 1 << 19;
            cases.push(options);
        }
        let mut primed = Lzma2Options::with_preset(9);
        primed.lzma_options.dict_size = 2 << 20;
        primed.lzma_options.preset_dict = Some(sample(1 << 20));
        cases.push(primed);
        for options in &cases {
            let expected = upstream(&data, options);
            assert!(expected.len() < data.len() / 2, "{:?}: {} bytes", options.lzma_options.mf, expected.len());
            assert!(ours(&data, options, 0) == expected, "{:?} differs from lzma-rust2", options.lzma_options.mf);
            for walkers in [1, 2] {
                assert!(
                    ours(&data, options, walkers) == expected,
                    "{:?} with {walkers} match-finder threads differs from lzma-rust2",
                    options.lzma_options.mf
                );
            }
        }
        assert!(
            cases.iter().any(|o| o.lzma_options.mf == MfType::Hc4)
                && cases.iter().any(|o| o.lzma_options.mf == MfType::Bt4)
        );
    }
}
