//! One solid block (7z folder) written to the archive: the entries' data through the
//! branch filter (BCJ/ARM64 for executables), the compressor (LZMA2 in pieces, LZMA or
//! Copy) and 7zAES, with the sizes and CRCs the header needs; and the header itself,
//! compressed and encrypted as 7-Zip stores it.

use super::ArchiveError;
use super::aes_writer::{self, ArchiveKey, CbcWriter};
use super::create::{CreateOptions, Method, dictionary_for};
use super::header_writer::{self, Coder, Folder, SubStream};
use super::inputs::{Content, Item, data_size, io_error};
use super::lzma2_pieces::Lzma2Stage;
use crate::sys::progress::Counter;
use lzma_rust2::filter::bcj::BcjWriter;
use lzma_rust2::{Lzma2Options, LzmaOptions, LzmaWriter};
use std::fs::File;
use std::io::{self, Read, Write};
use std::path::Path;

/// The branch filter for an executable, from its ELF header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum BranchFilter {
    X86,
    Arm64,
}

impl BranchFilter {
    /// BCJ for x86, ARM64 for AArch64; None for anything else.
    pub(super) fn for_file(path: &Path) -> Option<BranchFilter> {
        let mut head = [0u8; 20];
        File::open(path).and_then(|mut f| f.read_exact(&mut head)).ok()?;
        if &head[..4] != b"\x7fELF" {
            return None;
        }
        match u16::from_le_bytes([head[18], head[19]]) {
            3 | 62 => Some(BranchFilter::X86),
            183 => Some(BranchFilter::Arm64),
            _ => None,
        }
    }

    fn method_id(self) -> &'static [u8] {
        match self {
            BranchFilter::X86 => &[0x03, 0x03, 0x01, 0x03],
            BranchFilter::Arm64 => &[0x0A],
        }
    }
}

const LZMA2_ID: &[u8] = &[0x21];
const LZMA_ID: &[u8] = &[0x03, 0x01, 0x01];
const COPY_ID: &[u8] = &[0x00];

/// lzma-rust2's presets 6–9 differ only in dictionary size, so levels above 6 start
/// from preset 6 (level 9's match finder and lengths) with the dictionary set here.
fn lzma_options(level: u32, dictionary: u32) -> LzmaOptions {
    let mut options = LzmaOptions::with_preset(level.min(6));
    options.dict_size = dictionary;
    options
}

/// The LZMA2 property byte: the smallest p with (2 | p&1) << (p/2 + 11) ≥ dictionary.
fn lzma2_dictionary_property(dictionary: u32) -> u8 {
    (0u8..40).find(|p| (2u64 | (*p as u64 & 1)) << (*p / 2 + 11) >= dictionary as u64).unwrap_or(40)
}

/// The packed side of a folder: the archive file, through AES when there is a key.
enum PackedSink<'a, W: Write> {
    Plain(Counted<&'a mut W>),
    Encrypted(Box<CbcWriter<Counted<&'a mut W>>>, Vec<u8>),
}

impl<W: Write> PackedSink<'_, W> {
    /// (bytes that went in, bytes written to the archive, the AES coder if any)
    fn finish(self) -> io::Result<(u64, u64, Option<Coder>)> {
        match self {
            PackedSink::Plain(out) => Ok((out.count, out.count, None)),
            PackedSink::Encrypted(writer, properties) => {
                let (out, plaintext) = writer.finish()?;
                Ok((plaintext, out.count, Some(Coder { id: aes_writer::METHOD_ID, properties })))
            }
        }
    }
}

impl<W: Write> Write for PackedSink<'_, W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            PackedSink::Plain(w) => w.write(buf),
            PackedSink::Encrypted(w, _) => w.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// The compression stage of a folder.
enum Compressor<'a, W: Write> {
    Lzma2(Box<Lzma2Stage<PackedSink<'a, W>>>, u8),
    Lzma(Box<LzmaWriter<PackedSink<'a, W>>>, Vec<u8>, Counter),
    Copy(PackedSink<'a, W>, Counter),
}

impl<'a, W: Write> Compressor<'a, W> {
    /// `progress` counts the input bytes as they are compressed (on the workers, for
    /// LZMA2 in pieces, which take their input long before they finish it).
    fn new(sink: PackedSink<'a, W>, options: &CreateOptions, input: u64, progress: &Counter) -> io::Result<Self> {
        let dictionary = dictionary_for(options.level, input);
        Ok(match effective_method(options) {
            Method::Lzma2 => {
                let lzma2 = Lzma2Options { lzma_options: lzma_options(options.level, dictionary), chunk_size: None };
                let stage = Box::new(Lzma2Stage::new(sink, lzma2, input, options.threads, progress.clone()));
                Compressor::Lzma2(stage, lzma2_dictionary_property(dictionary))
            }
            Method::Lzma => {
                let lzma = lzma_options(options.level, dictionary);
                let mut properties = vec![lzma.get_props()];
                properties.extend_from_slice(&dictionary.to_le_bytes());
                let writer = Box::new(LzmaWriter::new_no_header(sink, &lzma, false)?);
                Compressor::Lzma(writer, properties, progress.clone())
            }
            Method::Copy => Compressor::Copy(sink, progress.clone()),
        })
    }

    fn finish(self) -> io::Result<(PackedSink<'a, W>, Coder)> {
        Ok(match self {
            Compressor::Lzma2(stage, property) => (stage.finish()?, Coder { id: LZMA2_ID, properties: vec![property] }),
            Compressor::Lzma(writer, properties, _) => (writer.finish()?, Coder { id: LZMA_ID, properties }),
            Compressor::Copy(sink, _) => (sink, Coder { id: COPY_ID, properties: Vec::new() }),
        })
    }
}

impl<W: Write> Write for Compressor<'_, W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Compressor::Lzma2(w, _) => w.write(buf),
            Compressor::Lzma(w, _, progress) => w.write(buf).inspect(|n| progress.add(*n as u64)),
            Compressor::Copy(w, progress) => w.write(buf).inspect(|n| progress.add(*n as u64)),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// -mx=0 stores, as 7-Zip does.
fn effective_method(options: &CreateOptions) -> Method {
    if options.level == 0 { Method::Copy } else { options.method }
}

/// A writer that counts what passes through.
pub(super) struct Counted<W> {
    inner: W,
    count: u64,
}

impl<W: Write> Write for Counted<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.count += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Copies one entry's data into the folder, returning its size and CRC.
fn copy_entry(item: &Item, out: &mut dyn Write, buf: &mut [u8]) -> Result<SubStream, ArchiveError> {
    let mut reader: Box<dyn Read> = match &item.content {
        Content::File { path, .. } => Box::new(File::open(path).map_err(|e| io_error(path, e))?),
        Content::Link { target } => Box::new(io::Cursor::new(target.clone())),
        Content::Directory => return Err(ArchiveError::Io(format!("{}: a directory has no data", item.name))),
    };
    let mut crc = crc32fast::Hasher::new();
    let mut size = 0u64;
    loop {
        let n = match reader.read(buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(ArchiveError::Io(format!("{}: {e}", item.name))),
        };
        crc.update(&buf[..n]);
        size += n as u64;
        out.write_all(&buf[..n]).map_err(|e| ArchiveError::Io(format!("compressing {}: {e}", item.name)))?;
    }
    Ok(SubStream { size, crc: crc.finalize() })
}

/// Writes one solid block of `members` (all with data) and describes it.
pub(super) fn write_folder<W: Write>(
    out: &mut W,
    filter: Option<BranchFilter>,
    members: &[&Item],
    options: &CreateOptions,
    key: Option<&ArchiveKey>,
    counter: &Counter,
) -> Result<Folder, ArchiveError> {
    let failed = |e: io::Error| ArchiveError::Io(format!("writing the archive: {e}"));
    let input: u64 = members.iter().map(|m| data_size(m)).sum();
    let counted = Counted { inner: out, count: 0 };
    let sink = match key {
        Some(key) => {
            let (writer, properties) = key.encrypt(counted).map_err(failed)?;
            PackedSink::Encrypted(Box::new(writer), properties)
        }
        None => PackedSink::Plain(counted),
    };
    let mut compressor = Compressor::new(sink, options, input, counter).map_err(failed)?;
    let filter = filter.filter(|_| effective_method(options) != Method::Copy);
    let mut buf = vec![0u8; 256 << 10];
    let mut sub_streams = Vec::with_capacity(members.len());
    let compressor = match filter {
        None => {
            for member in members {
                sub_streams.push(copy_entry(member, &mut compressor, &mut buf)?);
            }
            compressor
        }
        Some(filter) => {
            let mut filtered = match filter {
                BranchFilter::X86 => BcjWriter::new_x86(compressor, 0),
                BranchFilter::Arm64 => BcjWriter::new_arm64(compressor, 0),
            };
            for member in members {
                sub_streams.push(copy_entry(member, &mut filtered, &mut buf)?);
            }
            filtered.finish().map_err(failed)?
        }
    };
    let (sink, compression) = compressor.finish().map_err(failed)?;
    let (compressed, packed_size, encryption) = sink.finish().map_err(failed)?;
    let total: u64 = sub_streams.iter().map(|s| s.size).sum();
    // Coders from the packed side: AES, the compressor, the branch filter.
    let mut coders = Vec::new();
    let mut unpack_sizes = Vec::new();
    if let Some(aes) = encryption {
        coders.push(aes);
        unpack_sizes.push(compressed);
    }
    coders.push(compression);
    unpack_sizes.push(total);
    if let Some(filter) = filter {
        coders.push(Coder { id: filter.method_id(), properties: Vec::new() });
        unpack_sizes.push(total);
    }
    Ok(Folder { coders, unpack_sizes, packed_size, sub_streams })
}

/// Stores the header: LZMA-compressed (and encrypted with `key`) as a packed stream at
/// `pack_pos`, returning the small header that points at it and the stream's size; or
/// the plain header itself when compressing would not make it smaller and no
/// encryption is asked for.
pub(super) fn write_header<W: Write>(
    out: &mut W,
    pack_pos: u64,
    header: Vec<u8>,
    key: Option<&ArchiveKey>,
) -> io::Result<(Vec<u8>, u64)> {
    // 7-Zip's header method: LZMA with a 1 MiB dictionary.
    let lzma = lzma_options(5, 1 << 20);
    let mut properties = vec![lzma.get_props()];
    properties.extend_from_slice(&lzma.dict_size.to_le_bytes());
    let mut writer = LzmaWriter::new_no_header(Vec::with_capacity(header.len() / 2), &lzma, false)?;
    writer.write_all(&header)?;
    let compressed = writer.finish()?;
    if key.is_none() && compressed.len() + 20 >= header.len() {
        return Ok((header, 0));
    }
    let mut counted = Counted { inner: out, count: 0 };
    let mut coders = Vec::new();
    let mut unpack_sizes = Vec::new();
    match key {
        Some(key) => {
            let (mut writer, properties) = key.encrypt(&mut counted)?;
            writer.write_all(&compressed)?;
            writer.finish()?;
            coders.push(Coder { id: aes_writer::METHOD_ID, properties });
            unpack_sizes.push(compressed.len() as u64);
        }
        None => counted.write_all(&compressed)?,
    }
    coders.push(Coder { id: LZMA_ID, properties });
    unpack_sizes.push(header.len() as u64);
    let folder = Folder {
        coders,
        unpack_sizes,
        packed_size: counted.count,
        sub_streams: vec![SubStream { size: header.len() as u64, crc: crc32fast::hash(&header) }],
    };
    Ok((header_writer::encoded_header(pack_pos, &folder), counted.count))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dictionary_property_is_the_smallest_that_holds_it() {
        // The examples of the 7z format notes (Lzma2Enc.c).
        for (dictionary, property) in
            [(1536 << 10, 17), (16 << 20, 24), (32 << 20, 26), (64 << 20, 28), (256 << 20, 32)]
        {
            assert_eq!(lzma2_dictionary_property(dictionary), property, "{dictionary}");
        }
        assert_eq!(lzma2_dictionary_property(4096), 0, "dictSize(0) = 2 << 11 = 4096");
        assert_eq!(lzma2_dictionary_property(4097), 1, "dictSize(1) = 3 << 11");
    }
}
