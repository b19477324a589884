//! LZMA2 on several cores without losing the solid dictionary.
//!
//! Up to ONE_STREAM_BELOW, one stream whose match finder has a thread of its own
//! (`crate::lzma`'s `match_thread`, as 7-Zip does it). Past that, pieces. (The
//! crate's own multithreaded writer cuts the input into independent chunks that each start with an empty dictionary, which cost 2–8 % in
//! size on our corpora.) Here the input is cut into pieces compressed in parallel, but
//! each piece after the first is primed with the WINDOW bytes before it as a preset
//! dictionary and starts with a state reset *without* a dictionary reset (control byte
//! 0xC0). The decoder has those bytes in its dictionary already, so the pieces'
//! chunks concatenate into one valid LZMA2 stream that can refer back across the cut.
//! Priming costs 0.7–1.0× the time of compressing the same bytes, so the first piece
//! is made larger to finish with the others.
//!
//! Memory: every piece in flight holds its input and an encoder sized for
//! WINDOW + piece (about 10.5 bytes per byte for BT4), so at most
//! 12 × (WINDOW + MAX_PIECE) = 864 MiB per thread, whatever the input size; fewer
//! threads are used when that would pass half the machine's memory.

use crate::lzma::Lzma2Writer;
use crate::sys::progress::Counter;
use crate::sys::threads::{Task, spawn_or_run};
use lzma_rust2::{Lzma2Options, MfType};
use std::collections::VecDeque;
use std::io::{self, Write};

/// How far back a piece can refer into the one before it. 16 MiB cost 1.1–1.3% in
/// size on 41 and 51 MB of documents (the same text recurs further apart); 24 MiB keeps
/// them within 0.6% of one stream, for 4–6% more time (32 MiB: 0.2%, 15% more time).
pub const WINDOW: usize = 24 << 20;
/// Largest piece, which bounds memory on large inputs.
pub const MAX_PIECE: usize = 48 << 20;
/// Below this, one stream on one thread: splitting would not pay for the priming.
const SPLIT_ABOVE: u64 = 4 << 20;
/// Below this, two threads compress one stream, a match-finder thread beside the
/// parser (`crate::lzma`'s `match_thread`), rather than pieces: up to -mx=9's
/// dictionary. On documents at -mx=9 on 2 cores, interleaved, 3 runs each: at 51 MB
/// 9.5–11.4 s against pieces' 10.4–15.2 s, at 63.5 MB (6 runs) 10.4–14.0 s against
/// 10.6–16.9 s, with 3–20% less CPU time (medians), 20% less memory (724 against
/// 910 MB at 63.5 MB, one run each) and no cut (0.1–0.5% smaller). (Before the thread
/// got faster, pieces won from about 48 MiB.)
const ONE_STREAM_BELOW: u64 = 64 << 20;
/// Cost of priming one byte relative to compressing one (measured 0.68 on CSV and
/// documents, 1.0 on the benchmark corpus).
const PRIMING_COST: f64 = 0.85;

/// How `input` bytes are cut for `threads` threads.
#[derive(Debug, PartialEq, Eq)]
pub struct Plan {
    /// The first piece, which needs no priming and so is the larger.
    pub first: usize,
    /// Every later piece.
    pub rest: usize,
    /// How much of what came before each later piece is its preset dictionary.
    pub window: usize,
    /// Pieces compressed at once.
    pub threads: u32,
}

/// None for a single stream.
pub fn plan(input: u64, threads: u32) -> Option<Plan> {
    if threads <= 1 || input <= SPLIT_ABOVE {
        return None;
    }
    let (n, window) = (input as f64, WINDOW as f64);
    let priming = PRIMING_COST * window;
    // Equal work per piece (first = rest + priming), as many pieces as threads, but
    // every later piece at least a window long, or priming would be most of the work.
    for pieces in (2..=threads).rev() {
        // Rounded up, so that the planned pieces cover the input and no sliver is left.
        let rest = ((n - priming) / pieces as f64).ceil();
        if rest >= window {
            // A first piece capped at MAX_PIECE leaves more for the others (a last
            // sliver primed with a whole window would cost more than it saves).
            let (first, rest) = if rest + priming <= MAX_PIECE as f64 {
                ((rest + priming).ceil(), rest)
            } else {
                (MAX_PIECE as f64, ((n - MAX_PIECE as f64) / (pieces - 1) as f64).ceil().min(MAX_PIECE as f64))
            };
            return Some(Plan { first: first as usize, rest: rest as usize, window: WINDOW, threads });
        }
    }
    // Too small for that: two pieces, the second primed with as much of the first as
    // the window holds (all of it for inputs up to 1.15 windows).
    let first = if n / (2.0 - PRIMING_COST) <= window { n / (2.0 - PRIMING_COST) } else { (n + priming) / 2.0 };
    let first = (first as u64).min(input - 1);
    Some(Plan { first: first as usize, rest: (input - first) as usize, window: WINDOW, threads })
}

/// Whether an input of this size is compressed as one stream with a match-finder thread
/// (the BT4 finder only: the HC4 of the fast levels has none).
fn one_stream_with_match_thread(input: u64, finder: MfType) -> bool {
    finder == MfType::Bt4 && input > SPLIT_ABOVE && input < ONE_STREAM_BELOW
}

/// Tree walkers beside the parser for one stream on `threads` threads: two share the
/// tree where each can have a core, one otherwise. On 2 cores, where the two walkers
/// and the parser take turns, two (`-mmt=3`) took 3.97–4.76 s against one's 3.38–3.97 s
/// on 27 MB at -mx=9, and 1.3–2.3 s more CPU time (4 interleaved rounds; part of it is
/// the cache lines of the tree they share going back and forth between the cores).
fn match_walkers(threads: u32) -> u32 {
    if threads >= 3 { 2 } else { 1 }
}

/// Bytes of memory per thread for a plan: the piece, its window, and the encoder.
fn memory_per_thread(plan: &Plan) -> u64 {
    let piece = plan.first.max(plan.rest) as u64;
    12 * (piece + (plan.window as u64).min(piece))
}

/// The plan for at most `threads` threads whose memory stays within `budget` bytes.
pub fn plan_within(input: u64, threads: u32, budget: u64) -> Option<Plan> {
    (1..=threads).rev().find_map(|t| plan(input, t).filter(|p| t as u64 * memory_per_thread(p) <= budget))
}

/// Half the machine's RAM, the most the pieces may take together.
fn memory_budget() -> u64 {
    let info = rustix::system::sysinfo();
    (info.totalram as u64).saturating_mul(info.mem_unit.max(1) as u64) / 2
}

/// The LZMA2 encoder stage: one streaming encoder, or pieces on worker threads.
pub enum Lzma2Stage<W: Write> {
    Single(Box<SingleStream<W>>),
    Pieces(Pieces<W>),
}

impl<W: Write> Lzma2Stage<W> {
    /// `options` carries the level's encoder settings and the stream's dictionary size;
    /// `input` is the expected number of bytes (a planning hint only); `progress`
    /// counts input bytes as they are compressed.
    pub fn new(out: W, options: Lzma2Options, input: u64, threads: u32, progress: Counter) -> Lzma2Stage<W> {
        let match_thread = threads >= 2 && one_stream_with_match_thread(input, options.lzma_options.mf);
        let walkers = if match_thread { match_walkers(threads) } else { 0 };
        let plan = if match_thread { None } else { plan_within(input, threads, memory_budget()) };
        match plan {
            None => Lzma2Stage::Single(Box::new(SingleStream {
                writer: Lzma2Writer::with_match_thread(out, options, walkers),
                progress,
                written: 0,
                reported: 0,
            })),
            Some(plan) => Lzma2Stage::Pieces(Pieces {
                out,
                options,
                threads: plan.threads as usize,
                next_size: plan.first,
                rest_size: plan.rest,
                window: plan.window,
                current: Vec::new(),
                history: Vec::new(),
                in_flight: VecDeque::new(),
                progress,
            }),
        }
    }

    /// Ends the stream and returns the writer.
    pub fn finish(self) -> io::Result<W> {
        match self {
            Lzma2Stage::Single(single) => {
                single.progress.add(single.written - single.reported);
                Ok(single.writer.finish()?)
            }
            Lzma2Stage::Pieces(pieces) => pieces.finish(),
        }
    }
}

impl<W: Write> Write for Lzma2Stage<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Lzma2Stage::Single(single) => single.write(buf),
            Lzma2Stage::Pieces(pieces) => pieces.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Progress is counted as the encoder finishes chunks, which trail the input by up to
/// its lead (`Lzma2Writer::compressed_input`); it is passed on every REPORT_EVERY bytes.
/// It used to be learnt by flushing the encoder every MiB, which cost size (0.06% on
/// 28 MB of documents) and, with the match-finder thread, drained the two threads'
/// pipeline every MiB: the thread then waited for the parser, 0.6 s in 4.6 at -mx=9.
const REPORT_EVERY: u64 = 1 << 20;

pub struct SingleStream<W: Write> {
    writer: Lzma2Writer<W>,
    progress: Counter,
    /// Input bytes written to the encoder, and how many of them progress has counted.
    written: u64,
    reported: u64,
}

impl<W: Write> SingleStream<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.writer.write(buf)?;
        self.written += n as u64;
        let compressed = self.writer.compressed_input();
        if compressed >= self.reported + REPORT_EVERY {
            self.progress.add(compressed - self.reported);
            self.reported = compressed;
        }
        Ok(n)
    }
}

pub struct Pieces<W: Write> {
    out: W,
    options: Lzma2Options,
    threads: usize,
    next_size: usize,
    rest_size: usize,
    window: usize,
    current: Vec<u8>,
    /// The last `window` bytes before `current`: the next piece's preset dictionary.
    history: Vec<u8>,
    in_flight: VecDeque<Task<io::Result<Vec<u8>>>>,
    progress: Counter,
}

impl<W: Write> Pieces<W> {
    fn write(&mut self, mut buf: &[u8]) -> io::Result<usize> {
        let len = buf.len();
        while !buf.is_empty() {
            let take = (self.next_size - self.current.len()).min(buf.len());
            self.current.extend_from_slice(&buf[..take]);
            buf = &buf[take..];
            if self.current.len() == self.next_size {
                self.dispatch()?;
            }
        }
        Ok(len)
    }

    /// Hands the current piece to a worker, first collecting the oldest result when
    /// every thread is busy (which keeps memory bounded and the output in order).
    fn dispatch(&mut self) -> io::Result<()> {
        if self.current.is_empty() {
            return Ok(());
        }
        while self.in_flight.len() >= self.threads {
            self.collect_oldest()?;
        }
        let piece = std::mem::take(&mut self.current);
        let history = std::mem::take(&mut self.history);
        self.history = next_history(&history, &piece, self.window);
        // A last piece shorter than planned (the input was not the size the plan
        // expected) gets a short preset: priming 24 MiB to compress a few bytes would
        // cost more than the references are worth. Planned pieces get the whole window.
        let keep = if piece.len() < self.next_size { piece.len().saturating_mul(4) } else { history.len() };
        let preset = history[history.len().saturating_sub(keep)..].to_vec();
        let mut options = self.options.clone();
        let dictionary = options.lzma_options.dict_size;
        // The encoder never needs more than what this piece can see; the stream's
        // dictionary (the coder property) stays the bound for every distance.
        options.lzma_options.dict_size = ((preset.len() + piece.len()) as u32).clamp(4096, dictionary);
        options.lzma_options.preset_dict = (!preset.is_empty()).then_some(preset);
        let progress = self.progress.clone();
        self.in_flight.push_back(spawn_or_run(move || compress_piece(&piece, options, &progress)));
        self.next_size = self.rest_size;
        Ok(())
    }

    fn collect_oldest(&mut self) -> io::Result<()> {
        if let Some(worker) = self.in_flight.pop_front() {
            let chunks = worker.join().map_err(|_| io::Error::other("an LZMA2 worker thread failed"))??;
            self.out.write_all(&chunks)?;
        }
        Ok(())
    }

    fn finish(mut self) -> io::Result<W> {
        self.dispatch()?;
        while !self.in_flight.is_empty() {
            self.collect_oldest()?;
        }
        self.out.write_all(&[0x00])?; // end of the LZMA2 stream
        Ok(self.out)
    }
}

/// The last `window` bytes of `before` followed by `piece`.
fn next_history(before: &[u8], piece: &[u8], window: usize) -> Vec<u8> {
    if piece.len() >= window {
        return piece[piece.len() - window..].to_vec();
    }
    let keep = (window - piece.len()).min(before.len());
    let mut history = Vec::with_capacity(keep + piece.len());
    history.extend_from_slice(&before[before.len() - keep..]);
    history.extend_from_slice(piece);
    history
}

/// One piece's LZMA2 chunks, without the end-of-stream byte.
fn compress_piece(piece: &[u8], options: Lzma2Options, progress: &Counter) -> io::Result<Vec<u8>> {
    let mut writer = Lzma2Writer::new(Vec::with_capacity(piece.len() / 2), options);
    for part in piece.chunks(REPORT_EVERY as usize) {
        writer.write_all(part)?;
        writer.flush()?;
        progress.add(part.len() as u64);
    }
    let mut chunks = writer.finish()?;
    debug_assert_eq!(chunks.last(), Some(&0x00));
    chunks.pop();
    Ok(chunks)
}

#[cfg(test)]
mod tests {
    use super::*;
    use lzma_rust2::Lzma2Reader;
    use std::io::Read;

    fn sample(len: usize) -> Vec<u8> {
        // Text-like data with repeats far apart, so a cut that forgot the dictionary
        // would show in the size and a wrong dictionary would show in the content.
        let mut out = Vec::with_capacity(len);
        let mut x = 12345u32;
        while out.len() < len {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
            let line = format!("record {} value {} flag {}\n", x % 5000, (x >> 8) % 977, x % 3);
            out.extend_from_slice(line.as_bytes());
        }
        out.truncate(len);
        out
    }

    fn compress(data: &[u8], threads: u32) -> Vec<u8> {
        let mut options = Lzma2Options::with_preset(6);
        options.lzma_options.dict_size = 16 << 20;
        let progress = Counter::default();
        let mut stage = Lzma2Stage::new(Vec::new(), options, data.len() as u64, threads, progress.clone());
        for part in data.chunks(100_000) {
            stage.write_all(part).unwrap();
        }
        let out = stage.finish().unwrap();
        assert_eq!(progress.get(), data.len() as u64, "every byte counted once");
        out
    }

    #[test]
    fn one_stream_counts_progress_as_it_goes_without_changing_the_stream() {
        // Two LZMA2 chunks and more: progress counted at 1 MiB steps, from finished chunks.
        let data = sample(5 << 20);
        let mut options = Lzma2Options::with_preset(6);
        options.lzma_options.dict_size = 16 << 20;
        let progress = Counter::default();
        let mut stage = Lzma2Stage::new(Vec::new(), options.clone(), data.len() as u64, 1, progress.clone());
        for part in data.chunks(100_000) {
            stage.write_all(part).unwrap();
        }
        let counted_before_the_end = progress.get();
        let counted = stage.finish().unwrap();
        assert!(
            (1..data.len() as u64).contains(&counted_before_the_end),
            "progress moves before the end: {counted_before_the_end}"
        );
        assert_eq!(progress.get(), data.len() as u64, "every byte counted once");
        let mut plain = Lzma2Writer::new(Vec::new(), options);
        plain.write_all(&data).unwrap();
        assert!(counted == plain.finish().unwrap(), "counting progress must not flush the stream");
    }

    #[test]
    fn pieces_decode_as_one_stream_and_keep_the_ratio() {
        let data = sample(9 << 20);
        let single = compress(&data, 1);
        let parallel = compress(&data, 2);
        let mut decoded = Vec::new();
        Lzma2Reader::new(&parallel[..], 16 << 20, None).read_to_end(&mut decoded).unwrap();
        assert!(decoded == data, "the pieces decode to the input");
        let growth = parallel.len() as f64 / single.len() as f64;
        assert!(growth < 1.01, "{} vs {} bytes: the second piece lost the dictionary", parallel.len(), single.len());
    }

    #[test]
    fn plans_balance_the_priming_and_bound_the_piece() {
        assert_eq!(plan(100 << 20, 1), None);
        assert_eq!(plan(1 << 20, 2), None);
        for input in [64 << 20, 80 << 20, 90 << 20] {
            let Plan { first, rest, window, .. } = plan(input, 2).unwrap();
            assert!(
                (input..=input + 2).contains(&((first + rest) as u64)),
                "{input}: the pieces cover the input, no sliver left"
            );
            assert_eq!(window, WINDOW);
            assert!(first > rest, "the unprimed piece is the larger one");
        }
        let small = plan(16 << 20, 2).unwrap();
        assert!(small.first <= small.window, "{small:?}: a small input's second piece sees all of the first");
        assert!(small.rest > 1 << 20, "{small:?}: and still takes a share");
        let huge = plan(10 << 30, 2).unwrap();
        assert_eq!(huge.rest, MAX_PIECE, "pieces stay bounded");
        assert!(one_stream_with_match_thread(28 << 20, MfType::Bt4), "a medium input is one stream on two threads");
        assert!(!one_stream_with_match_thread(28 << 20, MfType::Hc4), "HC4 has no match-finder thread");
        assert!(!one_stream_with_match_thread(1 << 20, MfType::Bt4), "a small input needs no second thread");
        assert!(!one_stream_with_match_thread(65 << 20, MfType::Bt4), "a large input is cut into pieces");
        let many_cores = plan(128 << 20, 64).unwrap();
        assert!(many_cores.rest >= WINDOW, "{many_cores:?}: no piece mostly priming");
        let within = plan_within(10 << 30, 64, 4 << 30).unwrap();
        assert!(within.threads < 64 && memory_per_thread(&within) * within.threads as u64 <= 4 << 30, "{within:?}");
        assert_eq!(plan_within(10 << 30, 64, 100 << 20), None, "too little memory: one stream");
    }
}
