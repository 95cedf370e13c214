//! How text becomes search terms, the same for what is indexed and for the query, and the same as
//! the browser store's (`crates/web/ts/src/search/tokens.ts`): words of letters and digits, folded
//! (compatibility forms, accents stripped, case folded: `Café` and `CAFE` are `cafe`), and runs of
//! CJK characters cut into overlapping character bigrams (plus the run's last character alone, so
//! that with prefix matching every single character is found too).
//!
//! The terms are computed here, not by the database, so SQLite and PostgreSQL index exactly the same
//! terms (PostgreSQL's `unaccent` is an optional extension, and its parsers differ from FTS5's).

use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

/// A term and where it came from in the original text (UTF-16 offsets, as the browser's).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Token {
    pub term: String,
    pub start: usize,
    pub end: usize,
}

/// A word folded: compatibility forms, no accents, case folded.
pub(crate) fn fold_word(word: &str) -> String {
    let stripped: String = word.nfkd().filter(|c| !is_combining_mark(*c)).collect();
    // Upper then lower folds more than lower alone (ß → ss), as the browser does.
    stripped
        .nfc()
        .collect::<String>()
        .to_uppercase()
        .to_lowercase()
}

fn is_cjk(c: char) -> bool {
    matches!(c as u32,
        0x1100..=0x11FF | 0x3040..=0x30FF | 0x3130..=0x318F | 0x3400..=0x4DBF | 0x4E00..=0x9FFF
        | 0xA960..=0xA97F | 0xAC00..=0xD7AF | 0xF900..=0xFAFF | 0xFF66..=0xFF9F | 0x20000..=0x3FFFF)
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || is_combining_mark(c)
}

/// The terms of `text` with their places in it. A query (`query: true`) leaves out the last
/// character of a CJK run of two or more: its bigrams already say everything.
pub(crate) fn tokenize(text: &str, query: bool) -> Vec<Token> {
    let mut tokens = Vec::new();
    // (char, UTF-16 offset) of the current run of word characters.
    let mut run: Vec<(char, usize)> = Vec::new();
    let mut at = 0;
    for c in text.chars() {
        if is_word_char(c) {
            run.push((c, at));
        } else if !run.is_empty() {
            push_run(&mut tokens, &run, at, query);
            run.clear();
        }
        at += c.len_utf16();
    }
    if !run.is_empty() {
        push_run(&mut tokens, &run, at, query);
    }
    tokens
}

/// Only the terms.
pub(crate) fn terms(text: &str, query: bool) -> Vec<String> {
    tokenize(text, query).into_iter().map(|t| t.term).collect()
}

/// A run of word characters ending at UTF-16 offset `end`: its words and its CJK bigrams.
fn push_run(tokens: &mut Vec<Token>, run: &[(char, usize)], end: usize, query: bool) {
    let offset = |i: usize| run.get(i).map_or(end, |(_, at)| *at);
    let mut i = 0;
    while i < run.len() {
        let cjk = is_cjk(run[i].0);
        let mut j = i;
        while j < run.len() && is_cjk(run[j].0) == cjk {
            j += 1;
        }
        let part = &run[i..j];
        if cjk {
            for k in 0..part.len().saturating_sub(1) {
                let pair: String = [part[k].0, part[k + 1].0].iter().collect();
                tokens.push(Token {
                    term: pair.nfkc().collect(),
                    start: offset(i + k),
                    end: offset(i + k + 2),
                });
            }
            if !(query && part.len() > 1) {
                let last = part.len() - 1;
                tokens.push(Token {
                    term: part[last].0.to_string().nfkc().collect(),
                    start: offset(i + last),
                    end: offset(j),
                });
            }
        } else if part.iter().any(|(c, _)| c.is_alphanumeric()) {
            let word: String = part.iter().map(|(c, _)| c).collect();
            let term = fold_word(&word);
            if !term.is_empty() {
                tokens.push(Token {
                    term,
                    start: offset(i),
                    end: offset(j),
                });
            }
        }
        i = j;
    }
}

/// A range of a snippet that matched: `[start, end)` in UTF-16 offsets.
pub(crate) type Highlight = [usize; 2];

const BEFORE: usize = 60; // UTF-16 units of context before the first match
const LENGTH: usize = 200; // the snippet's length at most, ellipses aside

/// Where in `text` the query's terms match (a term matches a word it is a prefix of), merged.
pub(crate) fn matches(text: &str, query_terms: &[String]) -> Vec<Highlight> {
    let mut ranges: Vec<Highlight> = Vec::new();
    for token in tokenize(text, false) {
        if !query_terms
            .iter()
            .any(|q| token.term.starts_with(q.as_str()))
        {
            continue;
        }
        match ranges.last_mut() {
            Some(last) if token.start <= last[1] => last[1] = last[1].max(token.end),
            _ => ranges.push([token.start, token.end]),
        }
    }
    ranges
}

/// The excerpt of `text` around its first match, whitespace as single spaces, and its highlights:
/// the browser's `snippet()`, so both show the same excerpt.
pub(crate) fn snippet(text: &str, query_terms: &[String]) -> (String, Vec<Highlight>) {
    let units: Vec<u16> = text.encode_utf16().collect();
    let ranges = matches(text, query_terms);
    let first = ranges.first().map_or(0, |r| r[0]);
    let space = u16::from(b' ');
    let last_space = |before: usize| {
        units[..before.min(units.len())]
            .iter()
            .rposition(|u| *u == space)
    };
    let mut start = first.saturating_sub(BEFORE);
    if start > 0
        && let Some(at) = last_space(start + 1)
        && first - at <= BEFORE + 20
    {
        start = at + 1;
    }
    let mut end = units.len().min(start + LENGTH);
    if end < units.len()
        && let Some(at) = last_space(end + 1)
        && at > first
    {
        end = at;
    }
    let low = |i: usize| units.get(i).is_some_and(|u| (0xDC00..=0xDFFF).contains(u));
    if low(start) {
        start -= 1;
    }
    if low(end) {
        end += 1;
    }
    let prefix = if start > 0 { "…" } else { "" };
    let suffix = if end < units.len() { "…" } else { "" };
    let body: String = String::from_utf16_lossy(&units[start..end])
        .chars()
        .map(|c| if c.is_whitespace() { ' ' } else { c })
        .collect();
    let shift = prefix.encode_utf16().count();
    let highlights = ranges
        .into_iter()
        .filter(|[s, e]| *e > start && *s < end)
        .map(|[s, e]| [s.max(start) - start + shift, e.min(end) - start + shift])
        .collect();
    (format!("{prefix}{body}{suffix}"), highlights)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accents_and_case_fold() {
        assert_eq!(
            terms("Café à PARIS, straße", false),
            ["cafe", "a", "paris", "strasse"]
        );
    }

    #[test]
    fn cjk_runs_become_bigrams() {
        assert_eq!(
            terms("東京タワー", false),
            ["東京", "京タ", "タワ", "ワー", "ー"]
        );
        assert_eq!(terms("東京", true), ["東京"]);
    }

    #[test]
    fn a_snippet_marks_prefix_matches_in_utf16_offsets() {
        let (text, highlights) = snippet("😀 Café à Paris", &["cafe".into(), "par".into()]);
        assert_eq!(text, "😀 Café à Paris");
        assert_eq!(highlights, [[3, 7], [10, 15]]);
    }

    #[test]
    fn a_long_text_is_cut_around_its_first_match() {
        let text = format!("{} needle {}", "word ".repeat(100), "tail ".repeat(100));
        let (snippet, highlights) = snippet(&text, &["needle".into()]);
        assert!(snippet.starts_with('…') && snippet.ends_with('…'));
        let units: Vec<u16> = snippet.encode_utf16().collect();
        let [s, e] = highlights[0];
        assert_eq!(String::from_utf16_lossy(&units[s..e]), "needle");
        assert!(units.len() <= LENGTH + 2);
    }
}
