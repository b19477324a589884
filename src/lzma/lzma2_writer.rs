use super::ByteWriter;
use super::{
    encoder::{LzmaEncoder, LzmaEncoderModes},
    range_enc::{RangeEncoder, RangeEncoderBuffer},
};
use std::io::Write;

use lzma_rust2::Lzma2Options;

const COMPRESSED_SIZE_MAX: u32 = 64 << 10;

/// How far the input may run ahead of the parser when a thread finds the matches.
pub(crate) const LEAD: i32 = 8 << 20;

/// Calculates the extra space needed before the dictionary for LZMA2 encoding.
pub fn get_extra_size_before(dict_size: u32) -> u32 {
    COMPRESSED_SIZE_MAX.saturating_sub(dict_size)
}

/// A single-threaded LZMA2 compressor.
pub struct Lzma2Writer<W: Write> {
    inner: W,
    rc: RangeEncoder<RangeEncoderBuffer>,
    lzma: LzmaEncoder,
    mode: LzmaEncoderModes,
    dict_reset_needed: bool,
    state_reset_needed: bool,
    props_needed: bool,
    pending_size: u32,
    chunk_size: Option<u64>,
    uncompressed_size: u64,
    force_independent_chunk: bool,
    options: Lzma2Options,
    /// Match-finder threads (see `with_match_thread`).
    walkers: u32,
    /// Input bytes taken into the window so far.
    taken: u64,
}

impl<W: Write> Lzma2Writer<W> {
    /// Creates a new LZMA2 writer that will write compressed data to the given writer.
    pub fn new(inner: W, options: Lzma2Options) -> Self {
        Self::with_match_thread(inner, options, 0)
    }

    /// With `walkers` 1 or 2, the BT4 match finder runs on that many threads of its own
    /// ahead of the parser (see `match_thread.rs`); the stream is the same either way.
    pub fn with_match_thread(inner: W, options: Lzma2Options, walkers: u32) -> Self {
        let lzma_options = &options.lzma_options;
        let dict_size = lzma_options.dict_size;

        let rc = RangeEncoder::new_buffer(COMPRESSED_SIZE_MAX as usize);
        let (mut lzma, mode) = LzmaEncoder::new(
            lzma_options.mode,
            lzma_options.lc,
            lzma_options.lp,
            lzma_options.pb,
            lzma_options.mf,
            lzma_options.depth_limit,
            lzma_options.dict_size,
            lzma_options.nice_len as usize,
            walkers,
        );

        let mut dict_reset_needed = true;
        if let Some(preset_dict) = &lzma_options.preset_dict {
            lzma.lz.set_preset_dict(dict_size, preset_dict);
            dict_reset_needed = false;
        }

        let chunk_size = options.chunk_size.map(|s| s.get().max(dict_size as u64));

        Self {
            inner,
            rc,
            lzma,
            mode,

            dict_reset_needed,
            state_reset_needed: true,
            props_needed: true,
            pending_size: 0,
            chunk_size,
            uncompressed_size: 0,
            force_independent_chunk: false,
            options,
            walkers,
            taken: 0,
        }
    }

    /// Input bytes already compressed into chunks: a progress count that needs no
    /// flush (flushing to learn it would cost size, and with a match-finder thread
    /// would make the thread wait for the parser at every flush).
    pub fn compressed_input(&self) -> u64 {
        self.taken - self.pending_size as u64
    }

    fn should_start_independent_chunk(&self) -> bool {
        if let Some(chunk_size) = self.chunk_size { self.uncompressed_size >= chunk_size } else { false }
    }

    fn start_independent_chunk(&mut self) -> std::io::Result<()> {
        self.lzma.lz.set_flushing();

        while self.pending_size > 0 {
            self.lzma.encode_for_lzma2(&mut self.rc, &mut self.mode)?;
            self.write_chunk()?;
        }

        self.force_independent_chunk = true;
        self.dict_reset_needed = true;
        self.state_reset_needed = true;
        self.props_needed = true;
        self.uncompressed_size = 0;

        let lzma_options = &self.options.lzma_options;

        let (new_lzma, new_mode) = LzmaEncoder::new(
            lzma_options.mode,
            lzma_options.lc,
            lzma_options.lp,
            lzma_options.pb,
            lzma_options.mf,
            lzma_options.depth_limit,
            lzma_options.dict_size,
            lzma_options.nice_len as usize,
            self.walkers,
        );

        self.lzma = new_lzma;
        self.mode = new_mode;
        self.rc = RangeEncoder::new_buffer(COMPRESSED_SIZE_MAX as usize);

        Ok(())
    }

    fn write_lzma(&mut self, uncompressed_size: u32, compressed_size: u32) -> std::io::Result<()> {
        let mut control = if self.props_needed || self.force_independent_chunk {
            if self.dict_reset_needed || self.force_independent_chunk { 0x80 + (3 << 5) } else { 0x80 + (2 << 5) }
        } else if self.state_reset_needed {
            0x80 + (1 << 5)
        } else {
            0x80
        };
        control |= (uncompressed_size - 1) >> 16;

        let mut chunk_header = [0u8; 6];
        chunk_header[0] = control as u8;
        chunk_header[1] = ((uncompressed_size - 1) >> 8) as u8;
        chunk_header[2] = (uncompressed_size - 1) as u8;
        chunk_header[3] = ((compressed_size - 1) >> 8) as u8;
        chunk_header[4] = (compressed_size - 1) as u8;
        if self.props_needed {
            chunk_header[5] = self.options.lzma_options.get_props();
            self.inner.write_all(&chunk_header)?;
        } else {
            self.inner.write_all(&chunk_header[..5])?;
        }

        self.rc.write_to(&mut self.inner)?;
        self.props_needed = false;
        self.state_reset_needed = false;
        self.dict_reset_needed = false;
        self.force_independent_chunk = false;
        Ok(())
    }

    fn write_uncompressed(&mut self, mut uncompressed_size: u32) -> std::io::Result<()> {
        while uncompressed_size > 0 {
            let chunk_size = uncompressed_size.min(COMPRESSED_SIZE_MAX);
            let mut chunk_header = [0u8; 3];
            chunk_header[0] = if self.dict_reset_needed { 0x01 } else { 0x02 };
            chunk_header[1] = ((chunk_size - 1) >> 8) as u8;
            chunk_header[2] = (chunk_size - 1) as u8;
            self.inner.write_all(&chunk_header)?;
            self.lzma.lz.copy_uncompressed(&mut self.inner, uncompressed_size as i32, chunk_size as usize)?;
            uncompressed_size -= chunk_size;
            self.dict_reset_needed = false;
        }
        self.state_reset_needed = true;
        Ok(())
    }

    fn write_chunk(&mut self) -> std::io::Result<()> {
        let compressed_size = self.rc.finish_buffer()?.unwrap_or_default() as u32;
        let mut uncompressed_size = self.lzma.data.uncompressed_size;
        debug_assert!(compressed_size > 0);
        debug_assert!(uncompressed_size > 0, "uncompressed_size is 0, read_pos={}", self.lzma.lz.read_pos,);
        if compressed_size + 2 < uncompressed_size {
            self.write_lzma(uncompressed_size, compressed_size)?;
        } else {
            self.lzma.reset(&mut self.mode);
            uncompressed_size = self.lzma.data.uncompressed_size;
            debug_assert!(uncompressed_size > 0);
            self.write_uncompressed(uncompressed_size)?;
        }
        self.pending_size -= uncompressed_size;
        self.uncompressed_size += uncompressed_size as u64;

        self.lzma.reset_uncompressed_size();
        self.rc.reset_buffer();
        Ok(())
    }

    /// Flush buffered input, returning false if `should_continue` requests a stop.
    pub(super) fn flush_with_check<F>(&mut self, mut should_continue: F) -> std::io::Result<bool>
    where
        F: FnMut() -> std::io::Result<bool>,
    {
        if !should_continue()? {
            return Ok(false);
        }
        self.lzma.lz.set_flushing();

        while should_continue()? {
            if self.pending_size == 0 {
                self.inner.flush()?;
                return should_continue();
            }
            self.lzma.encode_for_lzma2(&mut self.rc, &mut self.mode)?;
            if !should_continue()? {
                break;
            }
            self.write_chunk()?;
        }

        Ok(false)
    }

    /// Finishes the compression and returns the underlying writer.
    pub fn finish(mut self) -> std::io::Result<W> {
        self.lzma.lz.set_finishing();

        while self.pending_size > 0 {
            self.lzma.encode_for_lzma2(&mut self.rc, &mut self.mode)?;
            self.write_chunk()?;
        }

        self.inner.write_u8(0x00)?;

        Ok(self.inner)
    }
}

impl<W: Write> Write for Lzma2Writer<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let mut len = buf.len();

        let mut off = 0;
        while len > 0 {
            if self.should_start_independent_chunk() {
                self.start_independent_chunk()?;
            }

            let used = self.lzma.lz.fill_window(&buf[off..(off + len)]);
            off += used;
            len -= used;
            self.taken += used as u64;
            self.pending_size += used as u32;
            // With a match-finder thread, let the input run LEAD ahead of the parser
            // (while the window has room), so that the thread works on it while the
            // caller reads more; encoding after every small write would make the two
            // threads take turns. When the parser runs does not change the stream.
            if self.walkers > 0 && len == 0 && self.lzma.lz.write_pos - self.lzma.lz.read_pos < LEAD {
                break;
            }
            if self.lzma.encode_for_lzma2(&mut self.rc, &mut self.mode)? {
                self.write_chunk()?;
            }
        }
        Ok(off)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.flush_with_check(|| Ok(true)).map(|_| ())
    }
}
