//! EME (ECB-Mix-ECB, Halevi & Rogaway 2003) wide-block encryption with AES-256, as
//! gocryptfs uses for file names: a whole name is one block of 16..2048 bytes, so equal
//! prefixes do not show. Written here because no maintained crate implements this
//! exact variant (the original EME, not EME2/EME*), on top of the `aes` crate.

use aes::Aes256;
use aes::cipher::{Array, BlockCipherDecrypt, BlockCipherEncrypt, KeyInit};

const BLOCK: usize = 16;
/// EME is defined for 1..=128 blocks.
pub const MAX_LEN: usize = 128 * BLOCK;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Direction {
    Encrypt,
    Decrypt,
}

/// Input that EME cannot take: empty, not a multiple of 16 bytes, or over 2048 bytes.
#[derive(Debug, PartialEq, Eq)]
pub struct BadLength(pub usize);

pub struct Eme {
    aes: Aes256,
}

impl Eme {
    pub fn new(key: &[u8; 32]) -> Self {
        Eme { aes: Aes256::new(&Array::from(*key)) }
    }

    pub fn encrypt(&self, tweak: &[u8; 16], data: &[u8]) -> Result<Vec<u8>, BadLength> {
        self.transform(tweak, data, Direction::Encrypt)
    }

    pub fn decrypt(&self, tweak: &[u8; 16], data: &[u8]) -> Result<Vec<u8>, BadLength> {
        self.transform(tweak, data, Direction::Decrypt)
    }

    fn aes_block(&self, direction: Direction, block: &mut [u8]) {
        let block: &mut Array<u8, _> = block.try_into().expect("16-byte block");
        match direction {
            Direction::Encrypt => self.aes.encrypt_block(block),
            Direction::Decrypt => self.aes.decrypt_block(block),
        }
    }

    fn transform(&self, tweak: &[u8; 16], input: &[u8], direction: Direction) -> Result<Vec<u8>, BadLength> {
        if input.is_empty() || !input.len().is_multiple_of(BLOCK) || input.len() > MAX_LEN {
            return Err(BadLength(input.len()));
        }
        let m = input.len() / BLOCK;
        let l_table = self.l_table(m);
        let mut out = input.to_vec();

        // PPPj = E(2^(j-1)·L xor Pj), kept in `out`.
        for (j, chunk) in out.chunks_exact_mut(BLOCK).enumerate() {
            xor_into(chunk, &l_table[j]);
            self.aes_block(direction, chunk);
        }
        // MP = xor of all PPPj, xor T; MC = E(MP); M = MP xor MC.
        let mut mp = *tweak;
        for chunk in out.chunks_exact(BLOCK) {
            xor_into(&mut mp, chunk);
        }
        let mut mc = mp;
        self.aes_block(direction, &mut mc);
        let mut m_mask = mp;
        xor_into(&mut m_mask, &mc);
        // CCCj = 2^(j-1)·M xor PPPj for j >= 1.
        for chunk in out.chunks_exact_mut(BLOCK).skip(1) {
            m_mask = mult_by_two(&m_mask);
            xor_into(chunk, &m_mask);
        }
        // CCC1 = xor of CCCj (j >= 1), xor T, xor MC.
        let mut ccc1 = mc;
        xor_into(&mut ccc1, tweak);
        for chunk in out.chunks_exact(BLOCK).skip(1) {
            xor_into(&mut ccc1, chunk);
        }
        out[..BLOCK].copy_from_slice(&ccc1);
        // Cj = E(CCCj) xor 2^(j-1)·L.
        for (j, chunk) in out.chunks_exact_mut(BLOCK).enumerate() {
            self.aes_block(direction, chunk);
            xor_into(chunk, &l_table[j]);
        }
        Ok(out)
    }

    /// L_j = 2^j · 2·E_K(0); always with AES encryption, in both directions.
    fn l_table(&self, m: usize) -> Vec<[u8; 16]> {
        let mut l = [0u8; 16];
        self.aes_block(Direction::Encrypt, &mut l);
        (0..m)
            .map(|_| {
                l = mult_by_two(&l);
                l
            })
            .collect()
    }
}

fn xor_into(acc: &mut [u8], other: &[u8]) {
    for (a, b) in acc.iter_mut().zip(other) {
        *a ^= b;
    }
}

/// Doubling in GF(2^128) with EME's little-endian byte order.
fn mult_by_two(input: &[u8; 16]) -> [u8; 16] {
    let mut out = [0u8; 16];
    out[0] = input[0].wrapping_mul(2);
    if input[15] >= 128 {
        out[0] ^= 135;
    }
    for j in 1..16 {
        out[j] = input[j].wrapping_mul(2);
        if input[j - 1] >= 128 {
            out[j] = out[j].wrapping_add(1);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_every_length_and_rejects_bad_ones() {
        let eme = Eme::new(&[7u8; 32]);
        let tweak = [3u8; 16];
        for blocks in [1, 2, 3, 16, 128] {
            let plain: Vec<u8> = (0..blocks * 16).map(|i| i as u8).collect();
            let cipher = eme.encrypt(&tweak, &plain).unwrap();
            assert_ne!(cipher, plain);
            assert_eq!(eme.decrypt(&tweak, &cipher).unwrap(), plain);
        }
        assert_eq!(eme.encrypt(&tweak, &[]), Err(BadLength(0)));
        assert_eq!(eme.encrypt(&tweak, &[0; 15]), Err(BadLength(15)));
        assert_eq!(eme.encrypt(&tweak, &[0; 2064]), Err(BadLength(2064)));
    }

    #[test]
    fn a_change_anywhere_changes_every_block() {
        let eme = Eme::new(&[1u8; 32]);
        let a = eme.encrypt(&[0; 16], &[0u8; 48]).unwrap();
        let mut changed = [0u8; 48];
        changed[47] = 1;
        let b = eme.encrypt(&[0; 16], &changed).unwrap();
        for block in 0..3 {
            assert_ne!(a[block * 16..][..16], b[block * 16..][..16]);
        }
    }
}
