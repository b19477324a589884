//! Go's `filepath.Match`, which gocryptfs's `-badname` patterns are written in: `*`
//! (any run of characters), `?` (one character), `[abc]`, `[a-z]`, `[^a-z]` and `\`
//! escapes. Written here because the glob crates speak shell syntax (`[!a]`, `**`),
//! and a pattern must select exactly the names it selects in gocryptfs. Names have
//! no `/`, so Go's separator rule never applies. A malformed pattern matches nothing.

pub fn matches(pattern: &str, name: &str) -> bool {
    let pattern: Vec<char> = pattern.chars().collect();
    let name: Vec<char> = name.chars().collect();
    match_from(&pattern, &name).unwrap_or(false)
}

fn match_from(pattern: &[char], name: &[char]) -> Option<bool> {
    match pattern.first() {
        None => Some(name.is_empty()),
        Some('*') => {
            let rest = &pattern[1..];
            for skip in 0..=name.len() {
                if match_from(rest, &name[skip..])? {
                    return Some(true);
                }
            }
            Some(false)
        }
        Some('?') => match name.first() {
            Some(_) => match_from(&pattern[1..], &name[1..]),
            None => Some(false),
        },
        Some('[') => {
            let (matched, used) = class(&pattern[1..], *name.first()?)?;
            if matched { match_from(&pattern[1 + used..], &name[1..]) } else { Some(false) }
        }
        Some('\\') => {
            let literal = *pattern.get(1)?;
            if name.first() == Some(&literal) { match_from(&pattern[2..], &name[1..]) } else { Some(false) }
        }
        Some(c) => {
            if name.first() == Some(c) {
                match_from(&pattern[1..], &name[1..])
            } else {
                Some(false)
            }
        }
    }
}

/// A character class after its `[`: whether `c` is in it and how many pattern
/// characters it took (through the `]`); None when it is malformed.
fn class(pattern: &[char], c: char) -> Option<(bool, usize)> {
    let mut i = 0;
    let negated = pattern.first() == Some(&'^');
    if negated {
        i += 1;
    }
    let start = i;
    let mut found = false;
    loop {
        let mut low = *pattern.get(i)?;
        if low == ']' {
            // Go has no literal `]` in a class: `[]` is malformed.
            return (i > start).then_some((found != negated, i + 1));
        }
        if low == '\\' {
            i += 1;
            low = *pattern.get(i)?;
        }
        i += 1;
        let mut high = low;
        if pattern.get(i) == Some(&'-') && pattern.get(i + 1).is_some_and(|&h| h != ']') {
            high = pattern[i + 1];
            if high == '\\' {
                high = *pattern.get(i + 2)?;
                i += 1;
            }
            i += 2;
        }
        if low <= c && c <= high {
            found = true;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::matches;

    #[test]
    fn go_filepath_match_semantics() {
        assert!(matches("*valid*", "abc_invalid_file"));
        assert!(!matches("*valid*", "abcwrongPattern"));
        assert!(matches("a?c", "abc") && !matches("a?c", "ac"));
        assert!(matches("[a-c]x", "bx") && !matches("[^a-c]x", "bx") && matches("[^a-c]x", "dx"));
        assert!(matches("\\*", "*") && !matches("\\*", "a"));
        assert!(!matches("[", "a"), "malformed patterns match nothing");
        assert!(matches("*", "") && matches("**", "x"));
    }
}
