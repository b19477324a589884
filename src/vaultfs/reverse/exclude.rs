//! `-exclude`, `-exclude-wildcard`/`-ew` and `-exclude-from`: plaintext paths hidden
//! from the reverse view.
//!
//! gocryptfs hands the patterns to sabhiram/go-gitignore, which is not git's matcher:
//! it rewrites each line into a regular expression (with quirks: `?` is a literal,
//! regex syntax passes through, a trailing `/` means "something below", not "a
//! directory") and tests the relative path against every expression in order, a later
//! `!` line re-including. What is excluded must be exactly what gocryptfs excludes, or
//! the two views differ, so the same rewriting is done here, from its documented rules.

use regex_lite::Regex;
use std::path::Path;

/// Stands for a `*` that must survive the `*` → `([^/]*)` rewrite (a character sequence
/// that no other step produces).
const KEEP_STAR: &str = "#$~";

struct Rule {
    matcher: Regex,
    negated: bool,
}

/// The compiled patterns; an empty set excludes nothing.
pub struct Excluder {
    rules: Vec<Rule>,
}

/// `-exclude-from FILE` could not be read: gocryptfs exits 29.
#[derive(Debug)]
pub struct ExcludeError(pub String);

impl Excluder {
    /// The patterns in gocryptfs's order: each `-exclude` anchored at the root (they
    /// named full paths before wildcards existed), then `-ew`, then every line of each
    /// `-exclude-from` file.
    pub fn new(exclude: &[String], wildcard: &[String], from_files: &[&Path]) -> Result<Self, ExcludeError> {
        let mut lines: Vec<String> = exclude.iter().map(|p| format!("/{p}")).collect();
        lines.extend(wildcard.iter().cloned());
        for file in from_files {
            let bytes = std::fs::read(file)
                .map_err(|e| ExcludeError(format!("Error reading exclusion patterns: {}: {e}", file.display())))?;
            lines.extend(String::from_utf8_lossy(&bytes).split('\n').map(String::from));
        }
        Ok(Excluder { rules: lines.iter().filter_map(|l| compile_line(l)).collect() })
    }

    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// Whether the plaintext path (relative, `/`-separated, "" for the root) is hidden.
    /// The root never is.
    pub fn excludes(&self, plain_path: &[u8]) -> bool {
        if plain_path.is_empty() || self.rules.is_empty() {
            return false;
        }
        // Go matches invalid UTF-8 bytes as U+FFFD; the lossy conversion does the same.
        let text = String::from_utf8_lossy(plain_path);
        let mut hidden = false;
        for rule in &self.rules {
            if rule.matcher.is_match(&text) {
                if !rule.negated {
                    hidden = true;
                } else if hidden {
                    hidden = false;
                }
            }
        }
        hidden
    }
}

/// One gitignore line as go-gitignore rewrites it; `None` for blanks, comments and
/// lines whose rewrite is not a valid expression (it drops those too).
fn compile_line(line: &str) -> Option<Rule> {
    let line = line.trim_end_matches('\r');
    if line.starts_with('#') {
        return None;
    }
    let mut line = line.trim_matches(' ').to_string();
    if line.is_empty() {
        return None;
    }
    let negated = line.starts_with('!');
    if negated {
        line.remove(0);
    }
    // A backslash-escaped leading `#` or `!` is meant; go-gitignore strips any one
    // leading `#` or `!` left at this point.
    if line.starts_with('#') || line.starts_with('!') {
        line.remove(0);
    }
    // "dir/*.ext" forms are anchored at the root.
    let dir_with_extension = Regex::new(r"([^/+])/.*\*\.").expect("a valid expression");
    if dir_with_extension.is_match(&line) && !line.starts_with('/') {
        line.insert(0, '/');
    }
    let mut line = line.replace('.', r"\.");
    if line.starts_with("/**/") {
        line.remove(0);
    }
    line = line.replace("/**/", "(/|/.+/)");
    line = line.replace("**/", &format!("(|.{KEEP_STAR}/)"));
    line = line.replace("/**", &format!("(|/.{KEEP_STAR})"));
    line = line.replace(r"\*", &format!(r"\{KEEP_STAR}"));
    line = line.replace('*', "([^/]*)");
    line = line.replace('?', r"\?");
    line = line.replace(KEEP_STAR, "*");
    let tail = if line.ends_with('/') { "(|.*)$" } else { "(|/.*)$" };
    let expr = match line.strip_prefix('/') {
        Some(rest) => format!("^(|/){rest}{tail}"),
        None => format!("^(|.*/){line}{tail}"),
    };
    Regex::new(&expr).ok().map(|matcher| Rule { matcher, negated })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ew(patterns: &[&str]) -> Excluder {
        Excluder::new(&[], &patterns.iter().map(|p| p.to_string()).collect::<Vec<_>>(), &[]).unwrap()
    }

    /// gocryptfs's own exclusion cases (tests/reverse/exclude_test.go), shortened names.
    #[test]
    fn gitignore_lines_hide_what_gocryptfs_hides() {
        let x = "x".repeat(240);
        let e = ew(&[
            "file1",
            &format!("!longdir1{x}/file1"),
            "file2/",
            "dir1/file2",
            "#file2",
            "dir2",
            &format!("longfile2{x}"),
            &format!("/longfile3{x}"),
            "*~",
            "dir1/**/exclude",
            "file3/",
        ]);
        for visible in [
            "file2".to_string(),
            format!("dir1/longfile1{x}"),
            format!("dir1/longfile3{x}"),
            format!("longdir1{x}"),
            format!("longdir1{x}/file1"),
            format!("longdir2{x}/file"),
            "file3".into(),
        ] {
            assert!(!e.excludes(visible.as_bytes()), "{visible} must stay visible");
        }
        for hidden in [
            "bkp1~".to_string(),
            "dir1/file1".into(),
            "dir1/file2".into(),
            "dir1/exclude".into(),
            format!("dir1/longbkp1{x}~"),
            "dir1/subdir1/subdir2/exclude".into(),
            "dir2/subdir/file".into(),
            "file1".into(),
            format!("longfile3{x}"),
        ] {
            assert!(e.excludes(hidden.as_bytes()), "{hidden} must be hidden");
        }
        assert!(!e.excludes(b""), "the root is never hidden");
    }

    #[test]
    fn exclude_is_anchored_and_negation_only_reincludes() {
        let e = Excluder::new(&["dir/a".into()], &["!dir/a/keep".into()], &[]).unwrap();
        assert!(e.excludes(b"dir/a"));
        assert!(e.excludes(b"dir/a/b"));
        assert!(!e.excludes(b"other/dir/a"));
        assert!(!e.excludes(b"dir/a/keep"));
        let all_but = ew(&["*", "!/dir1"]);
        assert!(all_but.excludes(b"dir2"));
        assert!(!all_but.excludes(b"dir1"));
        assert!(!all_but.excludes(b"dir1/file1"), "re-included as a path below /dir1");
    }

    #[test]
    fn quirks_are_kept_question_mark_is_literal() {
        let e = ew(&["a?c", "   ", "# comment", "\\#hash"]);
        assert!(!e.excludes(b"abc"));
        assert!(e.excludes(b"a?c"));
        assert!(e.excludes(b"#hash"), "an escaped # is a literal #");
    }

    #[test]
    fn unreadable_pattern_file_is_an_error() {
        assert!(Excluder::new(&[], &[], &[Path::new("/nonexistent/patterns")]).is_err());
    }
}
