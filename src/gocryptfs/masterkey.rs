//! The master key as gocryptfs prints it at `-init` and takes it back with `-masterkey`.

use crate::crypto::Key32;
use zeroize::Zeroizing;

/// `-masterkey` text that is not 64 hex digits once the dashes are gone.
#[derive(Debug, PartialEq, Eq)]
pub struct BadMasterKey;

/// Lowercase hex in eight groups of eight, dash-joined, with a line break after the
/// fourth group, each line indented by four spaces (exactly gocryptfs's layout).
pub fn display(key: &[u8; 32]) -> Zeroizing<String> {
    let groups: Vec<String> = key.chunks(4).map(|g| g.iter().map(|b| format!("{b:02x}")).collect()).collect();
    Zeroizing::new(format!("    {}-\n    {}", groups[..4].join("-"), groups[4..].join("-")))
}

/// The full reminder gocryptfs prints once after `-init`.
pub fn reminder(key: &[u8; 32]) -> Zeroizing<String> {
    Zeroizing::new(format!(
        "\nYour master key is:\n\n{}\n\n\
         If the gocryptfs.conf file becomes corrupted or you ever forget your password,\n\
         there is only one hope for recovery: The master key. Print it to a piece of\n\
         paper and store it in a drawer. This message is only printed once.\n\n",
        display(key).as_str()
    ))
}

/// Parses `-masterkey`: every `-` removed, then 64 hex digits in either case. Like
/// gocryptfs, whitespace is not skipped.
pub fn parse(text: &[u8]) -> Result<Key32, BadMasterKey> {
    let digits: Zeroizing<Vec<u8>> = Zeroizing::new(text.iter().copied().filter(|&c| c != b'-').collect());
    if digits.len() != 64 {
        return Err(BadMasterKey);
    }
    let mut key = Zeroizing::new([0u8; 32]);
    for (i, pair) in digits.chunks(2).enumerate() {
        key[i] = (hex_digit(pair[0])? << 4) | hex_digit(pair[1])?;
    }
    Ok(key)
}

fn hex_digit(c: u8) -> Result<u8, BadMasterKey> {
    match c {
        b'0'..=b'9' => Ok(c - b'0'),
        b'a'..=b'f' => Ok(c - b'a' + 10),
        b'A'..=b'F' => Ok(c - b'A' + 10),
        _ => Err(BadMasterKey),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_and_parse_round_trip_in_gocryptfs_layout() {
        let key = parse(b"b4d8b25c-324dd6ea-a328c990-6e8a2a3c-6038552a-042ced43-26cfff21-0c62957a").unwrap();
        assert_eq!(
            display(&key).as_str(),
            "    b4d8b25c-324dd6ea-a328c990-6e8a2a3c-\n    6038552a-042ced43-26cfff21-0c62957a"
        );
        assert_eq!(parse(b"B4D8B25C324DD6EAA328C9906E8A2A3C6038552A042CED4326CFFF210C62957A").unwrap(), key);
    }

    #[test]
    fn rejects_wrong_lengths_spaces_and_non_hex() {
        assert_eq!(parse(b"b4d8"), Err(BadMasterKey));
        assert_eq!(parse(b" b4d8b25c324dd6eaa328c9906e8a2a3c6038552a042ced4326cfff210c62957"), Err(BadMasterKey));
        assert_eq!(parse(&[b'g'; 64]), Err(BadMasterKey));
    }
}
