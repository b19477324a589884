//! `secarc a`: one solid block of every file, AES-256 with 2^19 key-derivation rounds
//! and a fresh IV per block and for the header, LZMA2 at 7-Zip's level settings, Unix
//! modes and 7-Zip's Linux timestamps, empty directories and files, symlinks followed
//! (or stored as links with -snl). Written to a temporary file and renamed at the end,
//! so a failure never leaves something that looks like a finished archive.

use super::ArchiveError;
use super::aes_writer::{self, ArchiveKey, CbcWriter};
use super::attributes;
use super::header_writer::{self, Coder, FileRecord, Folder, SubStream};
use super::lzma2_pieces::Lzma2Stage;
use super::selection::{self, Selection};
use crate::secret::SecretBuf;
use crate::sys::progress::{Counter, CountingReader, Progress};
use lzma_rust2::filter::bcj::BcjWriter;
use lzma_rust2::{Lzma2Options, LzmaOptions, LzmaWriter};
use std::fs::{self, File};
use std::io::{self, BufWriter, Read, Seek, SeekFrom, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Component, Path, PathBuf};

/// 7-Zip's key-derivation cost (`7zAES:19`); the crate's default is 8.
pub const KEY_DERIVATION_CYCLES_POWER: u8 = 19;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    Lzma2,
    Lzma,
    Copy,
}

#[derive(Clone, Copy, Debug)]
pub struct Times {
    pub modified: bool,
    pub created: bool,
    pub accessed: bool,
}

pub struct CreateOptions {
    pub password: Option<SecretBuf>,
    pub encrypt_header: bool,
    pub level: u32,
    pub method: Method,
    pub threads: u32,
    pub times: Times,
    /// -snl: store symlinks as links instead of following them.
    pub store_symlinks: bool,
    /// Wildcards (-r) and exclusions (-x!, -xr!).
    pub selection: Selection,
}

/// What was written.
pub struct Summary {
    pub files: usize,
    pub directories: usize,
    pub bytes: u64,
    pub archive_bytes: u64,
}

enum Content {
    Directory,
    File { path: PathBuf, size: u64 },
    Link { target: Vec<u8> },
}

struct Item {
    name: String,
    content: Content,
    meta: fs::Metadata,
}

/// 7-Zip's dictionary for a level (MethodProps.h): 256 MiB at -mx=8/9 since 24.09.
pub fn level_dictionary(level: u32) -> u64 {
    match level {
        0..=4 => 1 << (2 * level + 16),
        5..=8 => 1 << (level + 20),
        _ => 1 << 28,
    }
}

/// The dictionary for `input` bytes: the level's, cut down to the input like 7-Zip does,
/// and always 2^n or 3·2^n (the only sizes the LZMA2 property byte states exactly).
pub fn dictionary_for(level: u32, input: u64) -> u32 {
    let limit = level_dictionary(level);
    let wanted = input.clamp(4096, limit);
    let mut size = 4096u64;
    while size < wanted {
        let three_halves = size / 2 * 3;
        size = if three_halves >= wanted && three_halves > size { three_halves } else { size * 2 };
    }
    size.min(limit) as u32
}

/// The name 7zz gives an argument: the relative path as written, or only the last
/// component for absolute paths and paths with `..`.
fn archive_name(arg: &Path) -> Result<String, ArchiveError> {
    let plain_relative = !arg.is_absolute() && !arg.components().any(|c| c == Component::ParentDir);
    let name: PathBuf = if plain_relative {
        arg.components().filter(|c| matches!(c, Component::Normal(_))).collect()
    } else {
        PathBuf::from(arg.file_name().ok_or_else(|| ArchiveError::Io(format!("{}: no name to store", arg.display())))?)
    };
    name.to_str()
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .ok_or_else(|| ArchiveError::Io(format!("{}: not a UTF-8 name 7z can store", arg.display())))
}

fn io_error(path: &Path, e: io::Error) -> ArchiveError {
    ArchiveError::Io(format!("{}: {e}", path.display()))
}

/// Walks the arguments depth-first, directories before their content, expanding
/// wildcards and leaving out what the selection excludes.
fn collect(args: &[PathBuf], options: &CreateOptions) -> Result<Vec<Item>, ArchiveError> {
    let mut items = Vec::new();
    for arg in args {
        let pattern = arg.file_name().and_then(|n| n.to_str()).filter(|n| selection::has_wildcards(n));
        match pattern {
            Some(pattern) => {
                let dir = arg.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
                if selection::has_wildcards(&dir.to_string_lossy()) {
                    return Err(ArchiveError::Io(format!(
                        "{}: wildcards work in the last part of a path only",
                        arg.display()
                    )));
                }
                let before = items.len();
                collect_matches(dir, &name_prefix(dir), pattern, options, &mut items, 0)?;
                if items.len() == before {
                    return Err(ArchiveError::Io(format!("{}: no file matches", arg.display())));
                }
            }
            None => collect_one(arg, archive_name(arg)?, options, &mut items, 0)?,
        }
    }
    Ok(items)
}

/// Where names found under a wildcard's directory start: its path when plain and
/// relative, as 7zz does, else nothing.
fn name_prefix(dir: &Path) -> String {
    let plain_relative = !dir.is_absolute() && !dir.components().any(|c| c == Component::ParentDir);
    let kept: PathBuf = dir.components().filter(|c| matches!(c, Component::Normal(_))).collect();
    if plain_relative { kept.to_string_lossy().into_owned() } else { String::new() }
}

/// The entries of `dir` whose name matches `pattern`; with -r, also below it.
fn collect_matches(
    dir: &Path,
    prefix: &str,
    pattern: &str,
    options: &CreateOptions,
    items: &mut Vec<Item>,
    depth: usize,
) -> Result<(), ArchiveError> {
    if depth > 256 {
        return Err(ArchiveError::Io(format!("{}: directories nested too deep", dir.display())));
    }
    let mut children: Vec<_> =
        fs::read_dir(dir).map_err(|e| io_error(dir, e))?.collect::<Result<_, _>>().map_err(|e| io_error(dir, e))?;
    children.sort_by_key(|c| c.file_name());
    for child in children {
        let child_name = child.file_name();
        let child_name = child_name
            .to_str()
            .ok_or_else(|| ArchiveError::Io(format!("{}: not a UTF-8 name", child.path().display())))?;
        let name = if prefix.is_empty() { child_name.to_string() } else { format!("{prefix}/{child_name}") };
        if selection::matches(pattern, child_name) {
            collect_one(&child.path(), name, options, items, depth + 1)?;
        } else if options.selection.recurse
            && child.file_type().is_ok_and(|t| t.is_dir())
            && !options.selection.excludes(&name)
        {
            collect_matches(&child.path(), &name, pattern, options, items, depth + 1)?;
        }
    }
    Ok(())
}

fn collect_one(
    path: &Path,
    name: String,
    options: &CreateOptions,
    items: &mut Vec<Item>,
    depth: usize,
) -> Result<(), ArchiveError> {
    if options.selection.excludes(&name) {
        return Ok(());
    }
    let store_symlinks = options.store_symlinks;
    if depth > 256 {
        return Err(ArchiveError::Io(format!("{}: directories nested too deep (a symlink loop?)", path.display())));
    }
    let link_meta = fs::symlink_metadata(path).map_err(|e| io_error(path, e))?;
    if link_meta.file_type().is_symlink() && store_symlinks {
        let target = fs::read_link(path).map_err(|e| io_error(path, e))?;
        items.push(Item {
            name,
            content: Content::Link { target: target.as_os_str().as_bytes().to_vec() },
            meta: link_meta,
        });
        return Ok(());
    }
    // Without -snl a link is followed, as 7zz does: the target's content and mode.
    let meta = fs::metadata(path).map_err(|e| io_error(path, e))?;
    if meta.is_dir() {
        items.push(Item { name: name.clone(), content: Content::Directory, meta });
        let mut children: Vec<_> = fs::read_dir(path)
            .map_err(|e| io_error(path, e))?
            .collect::<Result<_, _>>()
            .map_err(|e| io_error(path, e))?;
        children.sort_by_key(|c| c.file_name());
        for child in children {
            let child_name = child.file_name();
            let child_name = child_name
                .to_str()
                .ok_or_else(|| ArchiveError::Io(format!("{}: not a UTF-8 name", child.path().display())))?;
            collect_one(&child.path(), format!("{name}/{child_name}"), options, items, depth + 1)?;
        }
    } else if meta.is_file() {
        items.push(Item { name, content: Content::File { path: path.to_path_buf(), size: meta.len() }, meta });
    } else {
        return Err(ArchiveError::Io(format!(
            "{}: not a file, directory or symlink (fifo, socket or device)",
            path.display()
        )));
    }
    Ok(())
}

/// The header record of an item.
fn record_for(item: &Item, times: Times) -> FileRecord {
    let m = &item.meta;
    let (is_directory, has_stream) = match &item.content {
        Content::Directory => (true, false),
        Content::File { size, .. } => (false, *size > 0),
        Content::Link { .. } => (false, true),
    };
    FileRecord {
        name: item.name.clone(),
        has_stream,
        is_directory,
        attributes: attributes::from_mode(m.mode(), is_directory),
        // 7-Zip on Linux stores the inode change time as "created".
        created: times.created.then(|| attributes::nt_time(m.ctime(), m.ctime_nsec()).into()),
        accessed: times.accessed.then(|| attributes::nt_time(m.atime(), m.atime_nsec()).into()),
        modified: times.modified.then(|| attributes::nt_time(m.mtime(), m.mtime_nsec()).into()),
    }
}

/// The branch filter for an executable, from its ELF header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum BranchFilter {
    X86,
    Arm64,
}

impl BranchFilter {
    /// BCJ for x86, ARM64 for AArch64; None for anything else.
    fn for_file(path: &Path) -> Option<BranchFilter> {
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
    Lzma(Box<LzmaWriter<PackedSink<'a, W>>>, Vec<u8>),
    Copy(PackedSink<'a, W>),
}

impl<'a, W: Write> Compressor<'a, W> {
    fn new(sink: PackedSink<'a, W>, options: &CreateOptions, input: u64) -> io::Result<Self> {
        let dictionary = dictionary_for(options.level, input);
        Ok(match effective_method(options) {
            Method::Lzma2 => {
                let lzma2 = Lzma2Options { lzma_options: lzma_options(options.level, dictionary), chunk_size: None };
                let stage = Box::new(Lzma2Stage::new(sink, lzma2, input, options.threads));
                Compressor::Lzma2(stage, lzma2_dictionary_property(dictionary))
            }
            Method::Lzma => {
                let lzma = lzma_options(options.level, dictionary);
                let mut properties = vec![lzma.get_props()];
                properties.extend_from_slice(&dictionary.to_le_bytes());
                Compressor::Lzma(Box::new(LzmaWriter::new_no_header(sink, &lzma, false)?), properties)
            }
            Method::Copy => Compressor::Copy(sink),
        })
    }

    fn finish(self) -> io::Result<(PackedSink<'a, W>, Coder)> {
        Ok(match self {
            Compressor::Lzma2(stage, property) => (stage.finish()?, Coder { id: LZMA2_ID, properties: vec![property] }),
            Compressor::Lzma(writer, properties) => (writer.finish()?, Coder { id: LZMA_ID, properties }),
            Compressor::Copy(sink) => (sink, Coder { id: COPY_ID, properties: Vec::new() }),
        })
    }
}

impl<W: Write> Write for Compressor<'_, W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Compressor::Lzma2(w, _) => w.write(buf),
            Compressor::Lzma(w, _) => w.write(buf),
            Compressor::Copy(w) => w.write(buf),
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
struct Counted<W> {
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
fn copy_entry(item: &Item, out: &mut dyn Write, buf: &mut [u8], counter: &Counter) -> Result<SubStream, ArchiveError> {
    let mut reader: Box<dyn Read> = match &item.content {
        Content::File { path, .. } => {
            Box::new(CountingReader::new(File::open(path).map_err(|e| io_error(path, e))?, counter.clone()))
        }
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
fn write_folder<W: Write>(
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
    let mut compressor = Compressor::new(sink, options, input).map_err(failed)?;
    let filter = filter.filter(|_| effective_method(options) != Method::Copy);
    let mut buf = vec![0u8; 256 << 10];
    let mut sub_streams = Vec::with_capacity(members.len());
    let compressor = match filter {
        None => {
            for member in members {
                sub_streams.push(copy_entry(member, &mut compressor, &mut buf, counter)?);
            }
            compressor
        }
        Some(filter) => {
            let mut filtered = match filter {
                BranchFilter::X86 => BcjWriter::new_x86(compressor, 0),
                BranchFilter::Arm64 => BcjWriter::new_arm64(compressor, 0),
            };
            for member in members {
                sub_streams.push(copy_entry(member, &mut filtered, &mut buf, counter)?);
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

fn data_size(item: &Item) -> u64 {
    match &item.content {
        Content::File { size, .. } => *size,
        Content::Link { target } => target.len() as u64,
        Content::Directory => 0,
    }
}

/// Stores the header: LZMA-compressed (and encrypted with `key`) as a packed stream at
/// `pack_pos`, returning the small header that points at it and the stream's size; or
/// the plain header itself when compressing would not make it smaller and no
/// encryption is asked for.
fn write_header<W: Write>(
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

pub fn create(archive: &Path, args: &[PathBuf], options: &CreateOptions) -> Result<Summary, ArchiveError> {
    let items = collect(args, options)?;
    let bytes: u64 = items.iter().map(data_size).sum();
    let key = match &options.password {
        Some(password) => Some(
            ArchiveKey::derive(password, KEY_DERIVATION_CYCLES_POWER)
                .map_err(|e| ArchiveError::Io(format!("deriving the key: {e}")))?,
        ),
        None => None,
    };

    let dir = archive.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let temp = tempfile::Builder::new()
        .prefix(".secarc-")
        .suffix(".partial")
        .tempfile_in(dir)
        .map_err(|e| io_error(dir, e))?;
    let failed = |e: io::Error| ArchiveError::Io(format!("{}: {e}", archive.display()));
    let mut out = BufWriter::with_capacity(1 << 20, temp.reopen().map_err(|e| io_error(temp.path(), e))?);
    // Room for the signature header, written last when the header's place is known.
    out.write_all(&[0u8; header_writer::SIGNATURE_HEADER_SIZE as usize]).map_err(failed)?;

    let counter = Counter::default();
    let _progress = Progress::start("compressing", bytes, counter.clone());
    // Entries without data first, in walk order; then each block's entries, as the
    // header must list the entries with data in the order of the blocks. Executables go
    // into their own block through a branch filter, as 7-Zip groups files by filter.
    let mut records = Vec::with_capacity(items.len());
    let mut groups: Vec<(Option<BranchFilter>, Vec<&Item>)> = Vec::new();
    let (mut files, mut directories) = (0, 0);
    for item in &items {
        match &item.content {
            Content::Directory => directories += 1,
            _ => files += 1,
        }
        if data_size(item) == 0 && !matches!(item.content, Content::Link { .. }) {
            records.push(record_for(item, options.times));
            continue;
        }
        let filter = match &item.content {
            Content::File { path, .. } => BranchFilter::for_file(path),
            _ => None,
        };
        match groups.iter_mut().find(|g| g.0 == filter) {
            Some(group) => group.1.push(item),
            None => groups.push((filter, vec![item])),
        }
    }
    let mut folders = Vec::with_capacity(groups.len());
    let mut pack_pos = 0u64;
    for (filter, members) in &groups {
        let folder = write_folder(&mut out, *filter, members, options, key.as_ref(), &counter)?;
        pack_pos += folder.packed_size;
        folders.push(folder);
        records.extend(members.iter().map(|m| record_for(m, options.times)));
    }
    let header = header_writer::header(&folders, &records);
    let header_key = key.as_ref().filter(|_| options.encrypt_header);
    let (next_header, header_stream) = write_header(&mut out, pack_pos, header, header_key).map_err(failed)?;
    out.write_all(&next_header).map_err(failed)?;
    let mut file = out.into_inner().map_err(|e| failed(e.into_error()))?;
    let signature = header_writer::signature_header(pack_pos + header_stream, &next_header);
    file.seek(SeekFrom::Start(0)).and_then(|_| file.write_all(&signature)).map_err(failed)?;
    file.sync_all().map_err(|e| io_error(archive, e))?;
    let archive_bytes = file.metadata().map(|m| m.len()).unwrap_or(0);
    temp.persist_noclobber(archive).map_err(|e| {
        ArchiveError::Refused(format!("{}: {} (secarc does not update existing archives)", archive.display(), e.error))
    })?;
    Ok(Summary { files, directories, bytes, archive_bytes })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dictionary_is_the_levels_cut_to_the_input_in_exact_sizes() {
        assert_eq!(level_dictionary(9), 256 << 20);
        assert_eq!(level_dictionary(5), 32 << 20);
        assert_eq!(dictionary_for(9, 10), 4096);
        assert_eq!(dictionary_for(9, 1_400_000), 1536 << 10, "7zz lists LZMA2:1536k here");
        assert_eq!(dictionary_for(9, 5 << 30), 256 << 20);
        for input in [5000u64, 1 << 20, 3 << 20, 7_000_000, 100 << 20] {
            let d = dictionary_for(9, input) as u64;
            assert!(d >= input.min(256 << 20));
            assert!(d.is_power_of_two() || (d / 3).is_power_of_two(), "{d}");
        }
    }

    #[test]
    fn names_follow_7zz() {
        assert_eq!(archive_name(Path::new("dir/")).unwrap(), "dir");
        assert_eq!(archive_name(Path::new("./dir/sub")).unwrap(), "dir/sub");
        assert_eq!(archive_name(Path::new("/tmp/x/sub")).unwrap(), "sub");
        assert_eq!(archive_name(Path::new("../x/a.txt")).unwrap(), "a.txt");
    }
}
