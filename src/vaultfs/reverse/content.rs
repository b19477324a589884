//! A plaintext file read as its encrypted form: the 18-byte header (version 2, the
//! derived file ID) followed by AES-SIV blocks with derived nonces, produced on the fly
//! for the requested byte range only.

use super::pathiv::{FileIvs, block_iv};
use crate::crypto::aead::BlockAead;
use crate::gocryptfs::content::{HEADER_LEN, PLAIN_BS};
use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;

pub fn header(ivs: &FileIvs) -> [u8; HEADER_LEN] {
    let mut h = [0u8; HEADER_LEN];
    h[1] = 2;
    h[2..].copy_from_slice(&ivs.id);
    h
}

/// Fills `out` with `size` bytes of the encrypted file at `offset` (fewer at the end).
/// An empty file stays empty: without data there is no header either.
pub fn read(
    aead: &BlockAead,
    file: &File,
    ivs: &FileIvs,
    offset: u64,
    size: usize,
    out: &mut Vec<u8>,
) -> io::Result<()> {
    out.clear();
    let mut offset = offset;
    let mut length = size as u64;
    if offset < HEADER_LEN as u64 {
        let head = header(ivs);
        let end = (offset + length).min(HEADER_LEN as u64);
        out.extend_from_slice(&head[offset as usize..end as usize]);
        length -= end - offset;
        offset = end;
    }
    if length == 0 {
        return Ok(());
    }
    let cipher_bs = (PLAIN_BS + aead.overhead()) as u64;
    let body_offset = offset - HEADER_LEN as u64;
    let first_block = body_offset / cipher_bs;
    let skip = (body_offset % cipher_bs) as usize;
    let last_block = (body_offset + length - 1) / cipher_bs;
    let mut plain = vec![0u8; ((last_block - first_block + 1) as usize) * PLAIN_BS];
    let got = read_full(file, &mut plain, first_block * PLAIN_BS as u64)?;
    plain.truncate(got);
    let mut sealed = Vec::with_capacity(got + got.div_ceil(PLAIN_BS) * aead.overhead());
    let mut aad = [0u8; 24];
    aad[8..].copy_from_slice(&ivs.id);
    for (i, block) in plain.chunks(PLAIN_BS).enumerate() {
        let block_no = first_block + i as u64;
        aad[..8].copy_from_slice(&block_no.to_be_bytes());
        let start = sealed.len();
        sealed.resize(start + block.len() + aead.overhead(), 0);
        aead.seal_into(&block_iv(&ivs.block0, block_no), &aad, block, &mut sealed[start..]);
    }
    if sealed.len() <= skip {
        // Nothing at this offset: the request is past the end (or the file is empty).
        out.clear();
        return Ok(());
    }
    let end = sealed.len().min(skip + length as usize);
    out.extend_from_slice(&sealed[skip..end]);
    Ok(())
}

/// pread until `buf` is full or the file ends.
fn read_full(file: &File, buf: &mut [u8], offset: u64) -> io::Result<usize> {
    let mut done = 0;
    while done < buf.len() {
        match file.read_at(&mut buf[done..], offset + done as u64) {
            Ok(0) => break,
            Ok(n) => done += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(done)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gocryptfs::content::ContentCrypto;
    use std::io::Write;

    fn file_with(bytes: &[u8]) -> File {
        let mut f = tempfile::tempfile().unwrap();
        f.write_all(bytes).unwrap();
        f
    }

    #[test]
    fn any_range_is_a_slice_of_the_whole_and_decrypts() {
        let aead = BlockAead::aes_siv(&[3; 64]);
        let ivs = FileIvs { id: [1; 16], block0: [2; 16] };
        let plain: Vec<u8> = (0..10_000u32).map(|i| (i % 251) as u8).collect();
        let f = file_with(&plain);
        let mut whole = Vec::new();
        read(&aead, &f, &ivs, 0, 1 << 20, &mut whole).unwrap();
        let content = ContentCrypto::new(BlockAead::aes_siv(&[3; 64]));
        assert_eq!(whole.len() as u64, content.plain_to_cipher_size(plain.len() as u64));
        assert_eq!(content.decrypt_blocks(0, &ivs.id, &whole[HEADER_LEN..]).unwrap(), plain);
        let mut part = Vec::new();
        for (off, len) in [(0, 5), (10, 100), (17, 4200), (4146, 1), (5000, 9000), (10_114, 10), (20_000, 3)] {
            read(&aead, &f, &ivs, off, len, &mut part).unwrap();
            let lo = (off as usize).min(whole.len());
            let hi = (off as usize + len).min(whole.len());
            assert_eq!(part, whole[lo..hi], "range {off}+{len}");
        }
    }

    #[test]
    fn empty_file_has_no_header() {
        let aead = BlockAead::aes_siv(&[3; 64]);
        let mut out = vec![1];
        read(&aead, &file_with(b""), &FileIvs { id: [1; 16], block0: [2; 16] }, 0, 4096, &mut out).unwrap();
        assert!(out.is_empty());
    }
}
