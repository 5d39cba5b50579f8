//! `StringMatches`: a pattern where `*` matches any run of characters.
//!
//! Only `*` is special. `\*` is a literal asterisk and `\\` a literal backslash; a backslash
//! before any other character (or at the end) is a literal backslash. `?`, `[…]` and the rest
//! have no meaning (Python's fnmatch, which moto uses, differs here).

/// One unit of a pattern.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Token {
    /// `*`: any run of characters, possibly empty.
    Star,
    /// A character that must be there.
    Char(char),
}

/// The token at byte `at` of `pattern` and its length in bytes, or `None` at the end.
fn token(pattern: &str, at: usize) -> Option<(Token, usize)> {
    let rest = pattern.get(at..)?;
    let mut chars = rest.chars();
    match chars.next()? {
        '*' => Some((Token::Star, 1)),
        '\\' => match chars.next() {
            Some(escaped @ ('*' | '\\')) => Some((Token::Char(escaped), 2)),
            _ => Some((Token::Char('\\'), 1)),
        },
        c => Some((Token::Char(c), c.len_utf8())),
    }
}

/// Whether `text` matches `pattern` (the `StringMatches` operand, escapes included).
///
/// Greedy: on a mismatch, the last `*` seen takes one more character and matching resumes
/// after it. Earlier stars never need to take more, so this needs no allocation and at most
/// `O(pattern × text)` steps (linear for patterns with one star).
pub(super) fn string_matches(pattern: &str, text: &str) -> bool {
    let (mut p, mut t) = (0, 0);
    // After the last star seen: where the pattern resumes, and where the text resumed.
    let mut backtrack: Option<(usize, usize)> = None;
    while let Some(c) = text[t..].chars().next() {
        match token(pattern, p) {
            Some((Token::Star, len)) => {
                p += len;
                backtrack = Some((p, t));
            }
            Some((Token::Char(expected), len)) if expected == c => {
                p += len;
                t += c.len_utf8();
            }
            _ => match backtrack {
                Some((resume, from)) => {
                    let skipped = text[from..]
                        .chars()
                        .next()
                        .expect("the star resumed before the current position, inside the text");
                    let from = from + skipped.len_utf8();
                    backtrack = Some((resume, from));
                    (p, t) = (resume, from);
                }
                None => return false,
            },
        }
    }
    // The text is used up: what is left of the pattern must match the empty string.
    while let Some((Token::Star, len)) = token(pattern, p) {
        p += len;
    }
    p == pattern.len()
}

#[cfg(test)]
mod tests {
    use super::string_matches;

    #[test]
    fn literals_and_stars() {
        let cases = [
            ("", "", true),
            ("", "a", false),
            ("*", "", true),
            ("*", "anything", true),
            ("**", "", true),
            ("abc", "abc", true),
            ("abc", "abcd", false),
            ("abc", "ab", false),
            ("log-*.txt", "log-2024.txt", true),
            ("log-*.txt", "log-.txt", true),
            ("log-*.txt", "log-a.txt.gz", false),
            ("*.txt", "a.txt.txt", true),
            ("a*b*c", "aXbYc", true),
            ("a*b*c", "abc", true),
            ("a*b*c", "acb", false),
            ("*a*a*a*b", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", false),
            ("*aab", "aaaab", true),
            ("*ab*", "xaaby", true),
        ];
        for (pattern, text, expected) in cases {
            assert_eq!(
                string_matches(pattern, text),
                expected,
                "{pattern:?} ~ {text:?}"
            );
        }
    }

    #[test]
    fn only_the_star_is_special() {
        assert!(!string_matches("file?.txt", "file1.txt"));
        assert!(string_matches("file?.txt", "file?.txt"));
        assert!(!string_matches("[ab]", "a"));
        assert!(string_matches("[ab]", "[ab]"));
        assert!(string_matches("a.c", "a.c"));
        assert!(!string_matches("a.c", "abc"));
    }

    #[test]
    fn escapes() {
        // The patterns as they are once the JSON string is decoded.
        assert!(string_matches(r"log-\*.txt", "log-*.txt"));
        assert!(!string_matches(r"log-\*.txt", "log-1.txt"));
        assert!(string_matches(r"a\\b", r"a\b"));
        assert!(!string_matches(r"a\\b", r"a\\b"));
        // `\\*`: a literal backslash, then a star.
        assert!(string_matches(r"a\\*", r"a\anything"));
        assert!(!string_matches(r"a\\*", "anything"));
        // `\\\*`: a literal backslash, then a literal star.
        assert!(string_matches(r"a\\\*", r"a\*"));
        assert!(!string_matches(r"a\\\*", r"a\x"));
        // A backslash before another character, or at the end, is itself.
        assert!(string_matches(r"a\b", r"a\b"));
        assert!(string_matches(r"a\", r"a\"));
        assert!(!string_matches(r"a\", "a"));
        assert!(string_matches(r"*\*", "x*"));
        assert!(!string_matches(r"*\*", "x"));
    }

    #[test]
    fn unicode_characters_are_single_characters() {
        assert!(string_matches("h*é", "héhé"));
        assert!(string_matches("*🦀*", "ein 🦀 hier"));
        assert!(!string_matches("🦀", "🦞"));
        assert!(string_matches("ü*ß", "üß"));
    }
}
