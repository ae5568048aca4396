//! Merge keys folded in Rust, so that both backends compare them byte for
//! byte: SQLite's `lower()` folds ASCII only and PostgreSQL's folds by its
//! locale, so `ÅSA-PC` and `åsa-pc` would merge on one and not the other.
//!
//! A key is the text trimmed, put in canonical decomposition, folded with
//! Unicode's full default case folding (`ß` and `SS` fold alike, as do
//! `Σ`, `σ` and `ς`) and recomposed (NFC): text that differs only in case
//! or in how its accents are encoded gives one key.

use caseless::Caseless;
use unicode_normalization::UnicodeNormalization;

/// The merge key of `text` (module docs).
pub fn fold(text: &str) -> String {
    let trimmed = text.trim();
    if trimmed.is_ascii() {
        return trimmed.to_ascii_lowercase();
    }
    trimmed.nfd().default_case_fold().nfc().collect()
}

/// [`fold`] of a text that may be absent; an empty key is none.
pub fn fold_opt(text: Option<&str>) -> Option<String> {
    text.map(fold).filter(|k| !k.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn case_and_encoding_fold_to_one_key() {
        assert_eq!(fold(" ÅSA-PC "), fold("åsa-pc"));
        // A + combining ring above, against the precomposed letter.
        assert_eq!(fold("A\u{30a}sa-pc"), fold("Åsa-PC"));
        assert_eq!(fold("JÜRGEN@contoso.com"), "jürgen@contoso.com");
        assert_eq!(fold("STRASSE"), fold("Straße"));
        // Final and medial sigma fold alike.
        assert_eq!(fold("ΟΔΥΣΣΕΥΣ"), fold("οδυσσευς"));
        assert_eq!(fold("Laptop-01"), "laptop-01");
        assert_eq!(fold_opt(Some("  ")), None);
        assert_eq!(fold_opt(None), None);
    }

    #[test]
    fn folded_keys_are_normalised_and_stable() {
        let key = fold("Åsa");
        assert_eq!(key, "åsa");
        assert_eq!(fold(&key), key);
    }
}
