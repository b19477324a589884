//! The names `7zz l -slt` gives a block's coders ("LZMA2:24 BCJ 7zAES:19"), as 7-Zip's
//! `7zHandler.cpp` makes them: each coder in the order stored, by name, with its main
//! properties (dictionary or memory size, LZMA's literal and position bits when not
//! the defaults, the Delta distance, the key-derivation rounds).

use super::aes_writer::METHOD_ID as AES;
use sevenz_rust2::{Block, Coder};

/// The Method line of an entry in the block. (sevenz-rust2 holds the coders in the
/// reverse of the order they are stored in.)
pub fn method_names(block: &Block) -> String {
    block.coders.iter().rev().map(coder_name).collect::<Vec<_>>().join(" ")
}

/// The archive's Method line: every method its blocks use once, in the order of their
/// ids, by name; LZMA and LZMA2 with the largest dictionary any of their coders has.
/// None when there is no block (7zz then prints no Method line).
pub fn archive_method_names(blocks: &[Block]) -> Option<String> {
    let mut methods: Vec<(u64, &Coder, Option<u32>)> = Vec::new();
    for coder in blocks.iter().flat_map(|block| &block.coders) {
        let id = coder.encoder_method_id().iter().fold(0u64, |id, &byte| id << 8 | byte as u64);
        let dictionary = dictionary_of(coder);
        match methods.iter_mut().find(|(known, _, _)| *known == id) {
            Some((_, _, largest)) => *largest = (*largest).max(dictionary),
            None => methods.push((id, coder, dictionary)),
        }
    }
    methods.sort_by_key(|&(id, _, _)| id);
    let names = methods.iter().map(|&(_, coder, dictionary)| {
        let name = coder_name(coder);
        let name = name.split(':').next().unwrap_or_default();
        match dictionary {
            Some(size) => format!("{name}:{}", size_text(size)),
            None => name.to_string(),
        }
    });
    (!blocks.is_empty()).then(|| names.collect::<Vec<_>>().join(" "))
}

/// The dictionary size of an LZMA or LZMA2 coder.
fn dictionary_of(coder: &Coder) -> Option<u32> {
    match (coder.encoder_method_id(), coder.properties()) {
        ([0x21], &[d]) if d & 0x7F <= 40 => Some(lzma2_dictionary(d)),
        ([0x03, 0x01, 0x01], &[_, a, b, c, e]) => Some(u32::from_le_bytes([a, b, c, e])),
        _ => None,
    }
}

/// The dictionary size an LZMA2 property byte (at most 40) stands for.
fn lzma2_dictionary(property: u8) -> u32 {
    if property >= 40 { u32::MAX } else { (2 | (property as u32 & 1)) << (property / 2 + 11) }
}

/// Whether the block's data is encrypted (7zAES is one of its coders).
pub fn is_encrypted(block: &Block) -> bool {
    block.coders.iter().any(|c| c.encoder_method_id() == AES)
}

fn coder_name(coder: &Coder) -> String {
    let props = coder.properties();
    let name = match coder.encoder_method_id() {
        [0x00] => "Copy",
        [0x03] => "Delta",
        [0x21] => "LZMA2",
        [0x03, 0x01, 0x01] => "LZMA",
        [0x03, 0x03, 0x01, 0x03] => "BCJ",
        [0x03, 0x03, 0x01, 0x1B] => "BCJ2",
        [0x03, 0x03, 0x02, 0x05] => "PPC",
        [0x03, 0x03, 0x04, 0x01] => "IA64",
        [0x03, 0x03, 0x05, 0x01] => "ARM",
        [0x03, 0x03, 0x07, 0x01] => "ARMT",
        [0x03, 0x03, 0x08, 0x05] => "SPARC",
        [0x0A] => "ARM64",
        [0x0B] => "RISCV",
        [0x03, 0x04, 0x01] => "PPMD",
        [0x04, 0x01, 0x08] => "Deflate",
        [0x04, 0x01, 0x09] => "Deflate64",
        [0x04, 0x02, 0x02] => "BZip2",
        AES => "7zAES",
        other => return other.iter().map(|b| format!("{b:02X}")).collect(),
    };
    let mut text = name.to_string();
    let mut add = |part: String| {
        text.push(':');
        text.push_str(&part);
    };
    match (name, props) {
        ("LZMA2", &[d]) if d & 0x7F <= 40 => add(size_text(lzma2_dictionary(d))),
        ("LZMA", &[d, a, b, c, e]) => {
            add(size_text(u32::from_le_bytes([a, b, c, e])));
            let (lc, lp, pb) = (d % 9, d / 9 % 5, d / 45);
            if lc != 3 {
                add(format!("lc{lc}"));
            }
            if lp != 0 {
                add(format!("lp{lp}"));
            }
            if pb != 2 {
                add(format!("pb{pb}"));
            }
        }
        ("PPMD", &[order, a, b, c, e]) => {
            add(format!("o{order}"));
            add(format!("mem{}", size_text(u32::from_le_bytes([a, b, c, e]))));
        }
        ("Delta", &[d]) => add((d as u32 + 1).to_string()),
        ("7zAES", [first, ..]) => add((first & 0x3F).to_string()),
        _ => {}
    }
    text
}

/// A size as 7-Zip prints it: the power of two's exponent, else in MiB (`m`), KiB (`k`)
/// or bytes (`b`).
fn size_text(size: u32) -> String {
    if size.is_power_of_two() {
        size.trailing_zeros().to_string()
    } else if size.is_multiple_of(1 << 20) {
        format!("{}m", size >> 20)
    } else if size.is_multiple_of(1 << 10) {
        format!("{}k", size >> 10)
    } else {
        format!("{size}b")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_print_as_7zip_prints_them() {
        assert_eq!(size_text(1 << 24), "24");
        assert_eq!(size_text(3 << 20), "3m");
        assert_eq!(size_text(1536 << 10), "1536k");
        assert_eq!(size_text(100_000), "100000b");
    }
}
