//! Key derivation: HKDF-SHA256 for subkeys, scrypt for passwords.

use super::Key32;
use hkdf::Hkdf;
use sha2::Sha256;
use zeroize::Zeroizing;

/// HKDF-SHA256 (RFC 5869) with no salt, as gocryptfs derives its subkeys.
pub fn hkdf_sha256(ikm: &[u8], info: &str, out: &mut [u8]) {
    Hkdf::<Sha256>::new(None, ikm).expand(info.as_bytes(), out).expect("HKDF output length is within 255 blocks");
}

/// A 32-byte HKDF-SHA256 subkey.
pub fn hkdf_sha256_key(ikm: &[u8], info: &str) -> Key32 {
    let mut key = Zeroizing::new([0u8; 32]);
    hkdf_sha256(ikm, info, key.as_mut_slice());
    key
}

/// scrypt parameters that scrypt itself rejects (N not a power of two, too large).
#[derive(Debug)]
pub struct BadScryptParams;

/// scrypt(password, salt, N = 2^log_n, r, p) into a 32-byte key.
pub fn scrypt_key(password: &[u8], salt: &[u8], log_n: u8, r: u32, p: u32) -> Result<Key32, BadScryptParams> {
    let params = scrypt::Params::new(log_n, r, p).map_err(|_| BadScryptParams)?;
    let mut key = Zeroizing::new([0u8; 32]);
    scrypt::scrypt(password, salt, &params, key.as_mut_slice()).map_err(|_| BadScryptParams)?;
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    #[test]
    fn scrypt_matches_rfc7914_vector() {
        // RFC 7914 §12, second vector (first 32 bytes): "password", "NaCl", N=1024, r=8, p=16.
        let key = scrypt_key(b"password", b"NaCl", 10, 8, 16).unwrap();
        assert_eq!(hex(key.as_slice()), "fdbabe1c9d3472007856e7190d01e9fe7c6ad7cbc8237830e77376634b373162");
    }

    #[test]
    fn hkdf_matches_rfc5869_case_3() {
        // RFC 5869 A.3: no salt, no info, IKM = 22 x 0x0b, L = 42.
        let mut out = [0u8; 42];
        Hkdf::<Sha256>::new(None, &[0x0b; 22]).expand(b"", &mut out).unwrap();
        assert_eq!(hex(&out), "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8");
    }
}
