//! Which files `secarc a` takes, with 7-Zip's wildcards: `*` and `?` in the last
//! component of an argument (`data/*.csv`), matched in that directory or, with `-r`,
//! in every directory below it; `-x!PATTERN` drops an entry whose stored path matches,
//! `-xr!PATTERN` one whose name matches at any depth (a directory goes with its content).

/// An exclusion switch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Exclude {
    pub pattern: String,
    /// `-xr!`: match the name at any depth, not only the whole stored path.
    pub recursive: bool,
}

#[derive(Clone, Debug, Default)]
pub struct Selection {
    /// `-r`: wildcard arguments match in subdirectories too.
    pub recurse: bool,
    pub excludes: Vec<Exclude>,
}

impl Selection {
    /// Whether the entry stored as `name` (a `/`-separated path) is excluded.
    pub fn excludes(&self, name: &str) -> bool {
        self.excludes.iter().any(|x| {
            if x.recursive {
                // Any tail of the path: "f.log" and "sub/f.log" both match "d/sub/f.log".
                let mut tail = name;
                loop {
                    if matches(&x.pattern, tail) {
                        return true;
                    }
                    match tail.find('/') {
                        Some(i) => tail = &tail[i + 1..],
                        None => return false,
                    }
                }
            } else {
                matches(&x.pattern, name)
            }
        })
    }
}

pub fn has_wildcards(text: &str) -> bool {
    text.contains(['*', '?'])
}

/// 7-Zip's wildcard match: `*` any run of characters, `?` exactly one, neither across
/// a `/`; no classes.
pub fn matches(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    // Greedy match with backtracking to the last star: linear for these patterns.
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && ((p[pi] == '?' && t[ti] != '/') || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((star_p, star_t)) = star.filter(|&(_, st)| t[st] != '/') {
            pi = star_p + 1;
            ti = star_t + 1;
            star = Some((star_p, star_t + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_match_like_7zip() {
        assert!(matches("*.csv", "a.csv"));
        assert!(!matches("*.csv", "a.csv.bak"));
        assert!(matches("data-??.txt", "data-07.txt"));
        assert!(!matches("data-??.txt", "data-7.txt"));
        assert!(matches("*", ""));
        assert!(matches("a*b*c", "aXXbYYc"));
        assert!(!matches("a*b*c", "aXXbYY"));
        assert!(matches("données*", "données-é✓.csv"));
        assert!(!matches("*.csv", "d/c.csv"), "a star stays within one name");
        assert!(matches("d/*.csv", "d/c.csv"));
    }

    #[test]
    fn exclusions_follow_7zz() {
        let s = Selection {
            recurse: false,
            excludes: vec![
                Exclude { pattern: "*.log".into(), recursive: true },
                Exclude { pattern: "d/keep.txt".into(), recursive: false },
                Exclude { pattern: "*.tmp".into(), recursive: false },
            ],
        };
        assert!(s.excludes("d/sub/f.log"), "-xr! matches at any depth");
        assert!(s.excludes("d/keep.txt"), "-x! matches the stored path");
        assert!(!s.excludes("d/x.tmp"), "-x!*.tmp only matches at the top, as in 7zz");
        assert!(s.excludes("x.tmp"));
        assert!(!s.excludes("d/c.csv"));
    }
}
