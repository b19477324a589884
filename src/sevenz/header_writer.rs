//! The 7z header, written as 7-Zip lays it out (7zFormat.txt, 7zOut.cpp): the signature
//! header, the streams info (packed streams, folders and their coders, the entries'
//! sizes and CRCs) and the files info (names, empty streams, times, attributes).
//! Encoding only; reading stays with sevenz-rust2.

mod id {
    pub const END: u8 = 0x00;
    pub const HEADER: u8 = 0x01;
    pub const MAIN_STREAMS_INFO: u8 = 0x04;
    pub const FILES_INFO: u8 = 0x05;
    pub const PACK_INFO: u8 = 0x06;
    pub const UNPACK_INFO: u8 = 0x07;
    pub const SUB_STREAMS_INFO: u8 = 0x08;
    pub const SIZE: u8 = 0x09;
    pub const CRC: u8 = 0x0A;
    pub const FOLDER: u8 = 0x0B;
    pub const CODERS_UNPACK_SIZE: u8 = 0x0C;
    pub const NUM_UNPACK_STREAM: u8 = 0x0D;
    pub const EMPTY_STREAM: u8 = 0x0E;
    pub const EMPTY_FILE: u8 = 0x0F;
    pub const NAME: u8 = 0x11;
    pub const C_TIME: u8 = 0x12;
    pub const A_TIME: u8 = 0x13;
    pub const M_TIME: u8 = 0x14;
    pub const WIN_ATTRIBUTES: u8 = 0x15;
    pub const ENCODED_HEADER: u8 = 0x17;
}

pub const SIGNATURE_HEADER_SIZE: u64 = 32;
const SIGNATURE: [u8; 6] = [0x37, 0x7A, 0xBC, 0xAF, 0x27, 0x1C];

/// One coder of a folder: its method id and properties.
pub struct Coder {
    pub id: &'static [u8],
    pub properties: Vec<u8>,
}

/// One entry's data inside a folder.
pub struct SubStream {
    pub size: u64,
    pub crc: u32,
}

/// A solid block as stored: coders from the packed side to the data side (coder 0 reads
/// the packed stream, coder i+1 reads coder i's output), each coder's output size, the
/// packed size, and the entries it holds in order.
pub struct Folder {
    pub coders: Vec<Coder>,
    pub unpack_sizes: Vec<u64>,
    pub packed_size: u64,
    pub sub_streams: Vec<SubStream>,
}

/// One entry of the files info.
pub struct FileRecord {
    pub name: String,
    pub has_stream: bool,
    pub is_directory: bool,
    pub attributes: u32,
    pub created: Option<u64>,
    pub accessed: Option<u64>,
    pub modified: Option<u64>,
}

/// 7z's variable-length number: the leading 1-bits of the first byte count the extra
/// little-endian bytes.
pub fn write_number(out: &mut Vec<u8>, value: u64) {
    let mut first = 0u8;
    let mut mask = 0x80u8;
    let mut extra = 0;
    while extra < 8 {
        if value < (1u64 << (7 * (extra + 1))) {
            first |= (value >> (8 * extra)) as u8;
            break;
        }
        first |= mask;
        mask >>= 1;
        extra += 1;
    }
    out.push(first);
    out.extend_from_slice(&value.to_le_bytes()[..extra]);
}

fn write_bits(out: &mut Vec<u8>, bits: impl Iterator<Item = bool>) {
    let mut byte = 0u8;
    let mut used = 0;
    for bit in bits {
        byte = (byte << 1) | bit as u8;
        used += 1;
        if used == 8 {
            out.push(byte);
            (byte, used) = (0, 0);
        }
    }
    if used > 0 {
        out.push(byte << (8 - used));
    }
}

/// A property with its size in front.
fn write_property(out: &mut Vec<u8>, property: u8, body: &[u8]) {
    out.push(property);
    write_number(out, body.len() as u64);
    out.extend_from_slice(body);
}

fn write_folder(out: &mut Vec<u8>, folder: &Folder) {
    write_number(out, folder.coders.len() as u64);
    for coder in &folder.coders {
        let has_properties = !coder.properties.is_empty();
        out.push(coder.id.len() as u8 | if has_properties { 0x20 } else { 0 });
        out.extend_from_slice(coder.id);
        if has_properties {
            write_number(out, coder.properties.len() as u64);
            out.extend_from_slice(&coder.properties);
        }
    }
    // Coder i+1's input is coder i's output.
    for i in 1..folder.coders.len() as u64 {
        write_number(out, i);
        write_number(out, i - 1);
    }
}

/// PackInfo, UnpackInfo and SubStreamsInfo for `folders`, whose packed streams start
/// `pack_pos` bytes after the signature header.
fn write_streams_info(out: &mut Vec<u8>, pack_pos: u64, folders: &[Folder]) {
    out.push(id::PACK_INFO);
    write_number(out, pack_pos);
    write_number(out, folders.len() as u64);
    out.push(id::SIZE);
    for folder in folders {
        write_number(out, folder.packed_size);
    }
    out.push(id::END);

    out.push(id::UNPACK_INFO);
    out.push(id::FOLDER);
    write_number(out, folders.len() as u64);
    out.push(0); // not external
    for folder in folders {
        write_folder(out, folder);
    }
    out.push(id::CODERS_UNPACK_SIZE);
    for folder in folders {
        for size in &folder.unpack_sizes {
            write_number(out, *size);
        }
    }
    out.push(id::END);

    // Every entry's CRC goes here, as 7-Zip does, even for a folder of one.
    out.push(id::SUB_STREAMS_INFO);
    if folders.iter().any(|f| f.sub_streams.len() != 1) {
        out.push(id::NUM_UNPACK_STREAM);
        for folder in folders {
            write_number(out, folder.sub_streams.len() as u64);
        }
    }
    if folders.iter().any(|f| f.sub_streams.len() > 1) {
        out.push(id::SIZE);
        for folder in folders {
            // The last size is implied by the folder's.
            for sub in folder.sub_streams.iter().rev().skip(1).rev() {
                write_number(out, sub.size);
            }
        }
    }
    out.push(id::CRC);
    out.push(1); // all defined
    for sub in folders.iter().flat_map(|f| &f.sub_streams) {
        out.extend_from_slice(&sub.crc.to_le_bytes());
    }
    out.push(id::END);
    out.push(id::END);
}

/// A time or attribute vector: all-defined flag (or a bit per entry), not external,
/// then the defined values.
fn write_vector<const N: usize>(out: &mut Vec<u8>, property: u8, values: Vec<Option<[u8; N]>>) {
    if values.iter().all(Option::is_none) {
        return;
    }
    let mut body = Vec::new();
    if values.iter().all(Option::is_some) {
        body.push(1);
    } else {
        body.push(0);
        write_bits(&mut body, values.iter().map(Option::is_some));
    }
    body.push(0); // not external
    for value in values.iter().flatten() {
        body.extend_from_slice(value);
    }
    write_property(out, property, &body);
}

fn write_files_info(out: &mut Vec<u8>, files: &[FileRecord]) {
    out.push(id::FILES_INFO);
    write_number(out, files.len() as u64);
    if files.iter().any(|f| !f.has_stream) {
        let mut bits = Vec::new();
        write_bits(&mut bits, files.iter().map(|f| !f.has_stream));
        write_property(out, id::EMPTY_STREAM, &bits);
        // One bit per entry without a stream: set for an empty file, clear for a directory.
        if files.iter().any(|f| !f.has_stream && !f.is_directory) {
            let mut bits = Vec::new();
            write_bits(&mut bits, files.iter().filter(|f| !f.has_stream).map(|f| !f.is_directory));
            write_property(out, id::EMPTY_FILE, &bits);
        }
    }
    let mut names = vec![0u8]; // not external
    for file in files {
        for unit in file.name.encode_utf16() {
            names.extend_from_slice(&unit.to_le_bytes());
        }
        names.extend_from_slice(&[0, 0]);
    }
    write_property(out, id::NAME, &names);
    write_vector(out, id::C_TIME, files.iter().map(|f| f.created.map(u64::to_le_bytes)).collect());
    write_vector(out, id::A_TIME, files.iter().map(|f| f.accessed.map(u64::to_le_bytes)).collect());
    write_vector(out, id::M_TIME, files.iter().map(|f| f.modified.map(u64::to_le_bytes)).collect());
    write_vector(out, id::WIN_ATTRIBUTES, files.iter().map(|f| Some(f.attributes.to_le_bytes())).collect());
    out.push(id::END);
}

/// The plain header: every folder (packed streams from offset 0) and every entry.
pub fn header(folders: &[Folder], files: &[FileRecord]) -> Vec<u8> {
    let mut out = vec![id::HEADER];
    if !folders.is_empty() {
        out.push(id::MAIN_STREAMS_INFO);
        write_streams_info(&mut out, 0, folders);
    }
    if !files.is_empty() {
        write_files_info(&mut out, files);
    }
    out.push(id::END);
    out
}

/// The header that points at the compressed (and maybe encrypted) plain header stored
/// as a packed stream at `pack_pos`.
pub fn encoded_header(pack_pos: u64, folder: &Folder) -> Vec<u8> {
    let mut out = vec![id::ENCODED_HEADER];
    write_streams_info(&mut out, pack_pos, std::slice::from_ref(folder));
    out
}

/// The 32 bytes at the start: signature, version 0.4, and where the next header is.
pub fn signature_header(next_header_offset: u64, next_header: &[u8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    out[..6].copy_from_slice(&SIGNATURE);
    out[6..8].copy_from_slice(&[0, 4]);
    out[12..20].copy_from_slice(&next_header_offset.to_le_bytes());
    out[20..28].copy_from_slice(&(next_header.len() as u64).to_le_bytes());
    out[28..32].copy_from_slice(&crc32fast::hash(next_header).to_le_bytes());
    let start_crc = crc32fast::hash(&out[12..32]);
    out[8..12].copy_from_slice(&start_crc.to_le_bytes());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_use_the_leading_ones_for_their_length() {
        let encode = |v| {
            let mut out = Vec::new();
            write_number(&mut out, v);
            out
        };
        assert_eq!(encode(0x7F), [0x7F]);
        assert_eq!(encode(0x190), [0x81, 0x90], "the spec's example");
        assert_eq!(encode(0x4000), [0xC0, 0x00, 0x40]);
        assert_eq!(encode(u64::MAX), [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]);
    }

    #[test]
    fn bits_fill_from_the_high_end() {
        let mut out = Vec::new();
        write_bits(&mut out, [true, false, true, true, false, false, false, false, true].into_iter());
        assert_eq!(out, [0b1011_0000, 0b1000_0000]);
    }
}
