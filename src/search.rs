//! Searching message text across a workspace: the query's terms, the backends' query syntax
//! built from them (never the caller's text as syntax), and a hit's snippet with its matches.

use serde::{Deserialize, Serialize};

use crate::message::Message;
use crate::validate::ValidationError;

/// Most terms a search uses (the rest are ignored).
pub const MAX_TERMS: usize = 8;
/// Longest search text.
pub const MAX_QUERY_CHARS: usize = 200;
/// Most hits one page holds.
pub const MAX_HITS: u32 = 50;

/// Where the backends' snippets mark a match: these never occur in text people type.
pub const MATCH_START: char = '\u{1}';
pub const MATCH_END: char = '\u{2}';

/// A message that matched, where it is, and the words around the match.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SearchHit {
    pub message: Message,
    /// The conversation's title (the contact's name, or the room's).
    pub conversation_title: String,
    /// The text around the match, in pieces: `hit` pieces are the matched words.
    pub snippet: Vec<SnippetPart>,
}

/// A piece of a snippet.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SnippetPart {
    pub text: String,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub hit: bool,
}

/// The words searched for: runs of letters and digits, lower case, at most [`MAX_TERMS`]; `422`
/// on `q` when there is none or the text is too long.
pub fn terms(query: &str) -> Result<Vec<String>, ValidationError> {
    if query.chars().count() > MAX_QUERY_CHARS {
        return Err(ValidationError::new("q", format!("is longer than {MAX_QUERY_CHARS} characters")));
    }
    let terms: Vec<String> = query
        .split(|c: char| !c.is_alphanumeric())
        .filter(|t| !t.is_empty())
        .take(MAX_TERMS)
        .map(str::to_lowercase)
        .collect();
    if terms.is_empty() {
        return Err(ValidationError::new("q", "needs a word to search for"));
    }
    Ok(terms)
}

/// SQLite FTS5: every term, the last one as a prefix (the search runs as one types). Terms are
/// letters and digits only, each quoted: nothing the caller typed becomes syntax.
pub fn fts5_query(terms: &[String]) -> String {
    let last = terms.len().saturating_sub(1);
    terms
        .iter()
        .enumerate()
        .map(|(i, t)| if i == last { format!("\"{t}\"*") } else { format!("\"{t}\"") })
        .collect::<Vec<_>>()
        .join(" ")
}

/// PostgreSQL `to_tsquery('simple', …)`: the same, `&`-joined, the last term `:*`.
pub fn tsquery(terms: &[String]) -> String {
    let last = terms.len().saturating_sub(1);
    terms
        .iter()
        .enumerate()
        .map(|(i, t)| if i == last { format!("'{t}':*") } else { format!("'{t}'") })
        .collect::<Vec<_>>()
        .join(" & ")
}

/// A backend's snippet, its matches between [`MATCH_START`] and [`MATCH_END`], in pieces.
pub fn snippet_parts(raw: &str) -> Vec<SnippetPart> {
    let mut parts: Vec<SnippetPart> = Vec::new();
    let mut current = String::new();
    let mut hit = false;
    let flush = |text: &mut String, hit: bool, parts: &mut Vec<SnippetPart>| {
        if !text.is_empty() {
            parts.push(SnippetPart { text: std::mem::take(text), hit });
        }
    };
    for c in raw.chars() {
        match c {
            MATCH_START => {
                flush(&mut current, hit, &mut parts);
                hit = true;
            }
            MATCH_END => {
                flush(&mut current, hit, &mut parts);
                hit = false;
            }
            c => current.push(c),
        }
    }
    flush(&mut current, hit, &mut parts);
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terms_are_words_and_never_syntax() {
        assert_eq!(terms("Refund, order #123!").unwrap(), ["refund", "order", "123"]);
        assert_eq!(terms("\"a\" OR b* NEAR(c)").unwrap(), ["a", "or", "b", "near", "c"]);
        assert_eq!(terms("ÉTÉ café").unwrap(), ["été", "café"]);
        assert!(terms("  !!  ").is_err());
        assert!(terms(&"a".repeat(201)).is_err());
        assert_eq!(terms("a b c d e f g h i j").unwrap().len(), MAX_TERMS);
        let t = terms("refund ord").unwrap();
        assert_eq!(fts5_query(&t), "\"refund\" \"ord\"*");
        assert_eq!(tsquery(&t), "'refund' & 'ord':*");
    }

    #[test]
    fn snippets_split_at_the_marks() {
        let raw = format!("…the {MATCH_START}refund{MATCH_END} for {MATCH_START}order{MATCH_END}");
        let parts = snippet_parts(&raw);
        let shown: Vec<(&str, bool)> = parts.iter().map(|p| (p.text.as_str(), p.hit)).collect();
        assert_eq!(shown, [("…the ", false), ("refund", true), (" for ", false), ("order", true)]);
        assert_eq!(snippet_parts("plain"), [SnippetPart { text: "plain".into(), hit: false }]);
    }
}
