//! File content: an 18-byte header (version 2, random 16-byte file ID), then blocks of
//! 4096 plaintext bytes, each sealed with AAD = BE64(block number) ‖ file ID.
//!
//! Blocks are independent, so a large request is sealed and opened in parallel (rayon)
//! with all its nonces drawn in one getrandom call.

use crate::crypto::aead::BlockAead;
use crate::crypto::random;
use crate::sys::threads::parallel_pool;
use rayon::prelude::*;
use std::io;

pub const PLAIN_BS: usize = 4096;
pub const HEADER_LEN: usize = 18;
const VERSION: [u8; 2] = [0, 2];
/// Below this many blocks, threads cost more than they save.
const PARALLEL_MIN_BLOCKS: usize = 64;

pub type FileId = [u8; 16];

#[derive(Debug, PartialEq, Eq)]
pub enum HeaderError {
    TooShort,
    BadVersion,
    ZeroId,
}

pub fn parse_header(bytes: &[u8]) -> Result<FileId, HeaderError> {
    if bytes.len() < HEADER_LEN {
        return Err(HeaderError::TooShort);
    }
    if bytes[..2] != VERSION {
        return Err(HeaderError::BadVersion);
    }
    let id: FileId = bytes[2..HEADER_LEN].try_into().unwrap();
    if id == [0; 16] {
        return Err(HeaderError::ZeroId);
    }
    Ok(id)
}

pub fn new_header() -> io::Result<(FileId, [u8; HEADER_LEN])> {
    let id: FileId = random::array()?;
    let mut header = [0u8; HEADER_LEN];
    header[..2].copy_from_slice(&VERSION);
    header[2..].copy_from_slice(&id);
    Ok((id, header))
}

/// A block that failed authentication (or is truncated): its number counts from 0.
#[derive(Debug, PartialEq, Eq)]
pub struct CorruptBlock {
    pub block_no: u64,
}

/// The content cipher of one filesystem.
pub struct ContentCrypto {
    aead: BlockAead,
}

impl ContentCrypto {
    pub fn new(aead: BlockAead) -> Self {
        ContentCrypto { aead }
    }

    pub fn aead(&self) -> &BlockAead {
        &self.aead
    }

    pub fn cipher_bs(&self) -> usize {
        PLAIN_BS + self.aead.overhead()
    }

    /// Size of the backing file for a plaintext size.
    pub fn plain_to_cipher_size(&self, plain: u64) -> u64 {
        if plain == 0 {
            return 0;
        }
        let blocks = plain.div_ceil(PLAIN_BS as u64);
        HEADER_LEN as u64 + plain + blocks * self.aead.overhead() as u64
    }

    /// Plaintext size of a backing file, as `stat` shows it (gocryptfs's rules,
    /// including a damaged short tail counting as one byte).
    pub fn cipher_to_plain_size(&self, cipher: u64) -> u64 {
        if cipher <= HEADER_LEN as u64 {
            return 0;
        }
        let body = cipher - HEADER_LEN as u64;
        let cbs = self.cipher_bs() as u64;
        let overhead = self.aead.overhead() as u64;
        let full = body / cbs;
        let tail = body % cbs;
        let tail_plain = match tail {
            0 => 0,
            t if t <= overhead => 1,
            t => t - overhead,
        };
        full * PLAIN_BS as u64 + tail_plain
    }

    fn aad(block_no: u64, file_id: &FileId) -> [u8; 24] {
        let mut aad = [0u8; 24];
        aad[..8].copy_from_slice(&block_no.to_be_bytes());
        aad[8..].copy_from_slice(file_id);
        aad
    }

    /// Seals consecutive plaintext blocks starting at `first_block` (only the last may
    /// be short).
    pub fn encrypt_blocks(&self, first_block: u64, file_id: &FileId, plain: &[u8]) -> io::Result<Vec<u8>> {
        let mut out = Vec::new();
        self.encrypt_blocks_into(first_block, file_id, plain, &mut out)?;
        Ok(out)
    }

    /// As `encrypt_blocks`, into a buffer the caller reuses (large requests would
    /// otherwise cost a fresh mmap and page faults each time).
    pub fn encrypt_blocks_into(
        &self,
        first_block: u64,
        file_id: &FileId,
        plain: &[u8],
        out: &mut Vec<u8>,
    ) -> io::Result<()> {
        let nonce_len = self.aead.nonce_len();
        let blocks = plain.len().div_ceil(PLAIN_BS);
        let mut nonces = [0u8; 24 * 256];
        let nonces = if blocks * nonce_len <= nonces.len() {
            &mut nonces[..blocks * nonce_len]
        } else {
            &mut vec![0u8; blocks * nonce_len][..]
        };
        random::fill(nonces)?;
        let nonces = &*nonces;
        let cbs = self.cipher_bs();
        out.clear();
        out.resize(plain.len() + blocks * self.aead.overhead(), 0);
        let seal = |(i, (plain_block, out_block)): (usize, (&[u8], &mut [u8]))| {
            let aad = Self::aad(first_block + i as u64, file_id);
            self.aead.seal_into(&nonces[i * nonce_len..][..nonce_len], &aad, plain_block, out_block);
        };
        match parallel_pool().filter(|_| blocks >= PARALLEL_MIN_BLOCKS) {
            Some(pool) => {
                pool.install(|| plain.par_chunks(PLAIN_BS).zip(out.par_chunks_mut(cbs)).enumerate().for_each(seal))
            }
            None => plain.chunks(PLAIN_BS).zip(out.chunks_mut(cbs)).enumerate().for_each(seal),
        }
        Ok(())
    }

    /// Opens consecutive cipher blocks starting at `first_block`. An all-zero full block
    /// is a hole and reads as zeros; any other failure names the block.
    pub fn decrypt_blocks(&self, first_block: u64, file_id: &FileId, cipher: &[u8]) -> Result<Vec<u8>, CorruptBlock> {
        let mut out = Vec::new();
        self.decrypt_blocks_into(first_block, file_id, cipher, &mut out)?;
        Ok(out)
    }

    /// As `decrypt_blocks`, into a buffer the caller reuses.
    pub fn decrypt_blocks_into(
        &self,
        first_block: u64,
        file_id: &FileId,
        cipher: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<(), CorruptBlock> {
        let cbs = self.cipher_bs();
        let overhead = self.aead.overhead();
        let blocks = cipher.len().div_ceil(cbs);
        let tail = cipher.len() % cbs;
        if tail != 0 && tail <= overhead {
            return Err(CorruptBlock { block_no: first_block + blocks as u64 - 1 });
        }
        out.clear();
        out.resize(cipher.len() - blocks * overhead, 0);
        let open = |(i, (cipher_block, out_block)): (usize, (&[u8], &mut [u8]))| {
            let block_no = first_block + i as u64;
            if cipher_block.len() == cbs && cipher_block.iter().all(|&b| b == 0) {
                return Ok(()); // a hole: `out_block` is already zero
            }
            self.aead
                .open_into(&Self::aad(block_no, file_id), cipher_block, out_block)
                .map_err(|_| CorruptBlock { block_no })
        };
        match parallel_pool().filter(|_| blocks >= PARALLEL_MIN_BLOCKS) {
            Some(pool) => pool
                .install(|| cipher.par_chunks(cbs).zip(out.par_chunks_mut(PLAIN_BS)).enumerate().try_for_each(open))?,
            None => cipher.chunks(cbs).zip(out.chunks_mut(PLAIN_BS)).enumerate().try_for_each(open)?,
        }
        Ok(())
    }

    /// Seals a short value that lives outside a file body (symlink target, xattr
    /// value): block 0, no file ID, so AAD is 8 zero bytes.
    pub fn encrypt_standalone(&self, plain: &[u8]) -> io::Result<Vec<u8>> {
        let mut nonce = vec![0u8; self.aead.nonce_len()];
        random::fill(&mut nonce)?;
        Ok(self.aead.seal(&nonce, &[0u8; 8], plain))
    }

    pub fn decrypt_standalone(&self, sealed: &[u8]) -> Result<Vec<u8>, CorruptBlock> {
        self.aead.open(&[0u8; 8], sealed).map(|p| p.to_vec()).map_err(|_| CorruptBlock { block_no: 0 })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gcm() -> ContentCrypto {
        ContentCrypto::new(BlockAead::aes_gcm(&[5; 32]))
    }

    #[test]
    fn size_mapping_matches_gocryptfs_examples() {
        let c = gcm();
        assert_eq!(c.plain_to_cipher_size(0), 0);
        assert_eq!(c.plain_to_cipher_size(1), 51);
        assert_eq!(c.plain_to_cipher_size(5000), 5082);
        let x = ContentCrypto::new(BlockAead::xchacha20_poly1305(&[5; 32]));
        assert_eq!(x.plain_to_cipher_size(1), 59);
        assert_eq!(x.plain_to_cipher_size(5000), 5098);
        for p in [0u64, 1, 4095, 4096, 4097, 8192, 1 << 20, 123_457] {
            assert_eq!(c.cipher_to_plain_size(c.plain_to_cipher_size(p)), p);
        }
        assert_eq!(c.cipher_to_plain_size(18), 0);
        assert_eq!(c.cipher_to_plain_size(18 + 20), 1, "a damaged tail counts as one byte");
    }

    #[test]
    fn blocks_round_trip_in_parallel_and_holes_read_as_zeros() {
        let c = gcm();
        let id = [7u8; 16];
        let plain: Vec<u8> = (0..PLAIN_BS * 20 + 123).map(|i| (i * 31) as u8).collect();
        let sealed = c.encrypt_blocks(3, &id, &plain).unwrap();
        assert_eq!(sealed.len(), plain.len() + 21 * 32);
        assert_eq!(c.decrypt_blocks(3, &id, &sealed).unwrap(), plain);
        // Wrong position or file: every block is refused.
        assert_eq!(c.decrypt_blocks(4, &id, &sealed), Err(CorruptBlock { block_no: 4 }));
        let mut with_hole = sealed.clone();
        with_hole[c.cipher_bs()..2 * c.cipher_bs()].fill(0);
        let read = c.decrypt_blocks(3, &id, &with_hole).unwrap();
        assert!(read[PLAIN_BS..2 * PLAIN_BS].iter().all(|&b| b == 0));
        assert_eq!(read[..PLAIN_BS], plain[..PLAIN_BS]);
        let mut tampered = sealed;
        tampered[5 * c.cipher_bs() + 40] ^= 1;
        assert_eq!(c.decrypt_blocks(3, &id, &tampered), Err(CorruptBlock { block_no: 8 }));
    }

    #[test]
    fn header_parsing_is_strict() {
        let (id, header) = new_header().unwrap();
        assert_eq!(parse_header(&header), Ok(id));
        assert_eq!(parse_header(&header[..17]), Err(HeaderError::TooShort));
        let mut v1 = header;
        v1[1] = 1;
        assert_eq!(parse_header(&v1), Err(HeaderError::BadVersion));
        assert_eq!(parse_header(&[0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]), Err(HeaderError::ZeroId));
    }
}
