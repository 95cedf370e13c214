//! Titles and previews derived from message text.

/// The title of a thread with no user message and no title set by a person.
pub const DEFAULT_TITLE: &str = "New conversation";

/// The longest derived title, in characters, ellipsis included.
pub const MAX_DERIVED_TITLE_CHARS: usize = 60;

/// The longest preview in a thread summary, in characters, ellipsis included.
pub const MAX_PREVIEW_CHARS: usize = 120;

/// A title from a user message: whitespace collapsed, at most [`MAX_DERIVED_TITLE_CHARS`] characters
/// with an ellipsis when cut. `None` for a blank message.
pub fn derive_title(text: &str) -> Option<String> {
    let title = collapse(text, MAX_DERIVED_TITLE_CHARS);
    (!title.is_empty()).then_some(title)
}

/// A short one-line preview of a message.
pub fn preview(text: &str) -> String {
    collapse(text, MAX_PREVIEW_CHARS)
}

/// Collapses runs of whitespace to one space, trims, and cuts to `max` characters ending in "…".
fn collapse(text: &str, max: usize) -> String {
    let mut out = String::new();
    let mut count = 0;
    for word in text.split_whitespace() {
        let space = usize::from(count > 0);
        let len = word.chars().count();
        if count + space + len > max {
            // Room for as much of the word as fits before the ellipsis.
            if count + space < max - 1 {
                if space == 1 {
                    out.push(' ');
                    count += 1;
                }
                out.extend(word.chars().take(max - 1 - count));
            }
            let trimmed = out.trim_end().len();
            out.truncate(trimmed);
            out.push('…');
            return out;
        }
        if space == 1 {
            out.push(' ');
        }
        out.push_str(word);
        count += space + len;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn short_text_is_kept_with_whitespace_collapsed() {
        assert_eq!(
            derive_title("  Plan my\n\ttrip   to Rome ").unwrap(),
            "Plan my trip to Rome"
        );
    }

    #[test]
    fn blank_text_gives_no_title() {
        assert_eq!(derive_title(" \n\t "), None);
    }

    #[test]
    fn long_text_is_cut_to_sixty_characters_with_an_ellipsis() {
        let long = "word ".repeat(40);
        let title = derive_title(&long).unwrap();
        assert_eq!(title.chars().count(), 60, "{title:?}");
        assert!(title.ends_with("word…"), "{title:?}");
        let unbroken = "x".repeat(100);
        let title = derive_title(&unbroken).unwrap();
        assert_eq!(title.chars().count(), 60);
        assert!(title.ends_with('…'));
    }

    #[test]
    fn exactly_sixty_characters_are_not_cut() {
        let text = "y".repeat(60);
        assert_eq!(derive_title(&text).unwrap(), text);
    }

    #[test]
    fn multibyte_characters_count_as_one() {
        let text = "é".repeat(70);
        let title = derive_title(&text).unwrap();
        assert_eq!(title.chars().count(), 60);
    }
}
