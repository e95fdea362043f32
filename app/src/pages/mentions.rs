//! The composer's popups. Typing `@` and the start of a name suggests the people who can read
//! the conversation (a room's members, or the workspace's team for a contact's conversation);
//! typing `/` at the start of the text or after a space suggests the workspace's canned replies
//! by short code (`/thx`). Up and Down choose, Enter or Tab picks, Escape closes.
//! A mention puts `@First ` in the text (the server's rule for a mention is `@` and the first
//! name, or the email's local part); a canned reply replaces `/code` with its text, the
//! variables filled in.

use leptos::prelude::*;
use switchboard::UserId;

/// Most suggestions shown at once.
const SHOWN: usize = 6;

/// The `@handle` (or `/code`, by `sigil`) being typed just before `caret` (a byte offset):
/// where its sigil is and what follows it so far. An `@` only at the start or after a space or
/// punctuation (not inside an address); a `/` only at the start or after a space (not in a
/// link or a date).
pub fn query_at(text: &str, caret: usize, sigil: char) -> Option<(usize, String)> {
    let before = text.get(..caret)?;
    let at = before.rfind(sigil)?;
    let typed = &before[at + 1..];
    if typed.chars().any(|c| !(c.is_alphanumeric() || matches!(c, '.' | '_' | '-'))) || typed.len() > 32 {
        return None;
    }
    let previous = before[..at].chars().next_back();
    let starts_word = match sigil {
        '/' => previous.is_none_or(char::is_whitespace),
        _ => previous.is_none_or(|c| !c.is_alphanumeric()),
    };
    starts_word.then(|| (at, typed.to_owned()))
}

/// The people whose first or other names start with `query` (any case), the closest first.
pub fn suggest(people: &[(UserId, String)], query: &str) -> Vec<(UserId, String)> {
    let query = query.to_lowercase();
    let mut found: Vec<(usize, &(UserId, String))> = people
        .iter()
        .filter_map(|p| {
            let words: Vec<String> = p.1.split_whitespace().map(str::to_lowercase).collect();
            let first = words.first().is_some_and(|w| w.starts_with(&query));
            let other = words.iter().skip(1).any(|w| w.starts_with(&query));
            match (first, other) {
                (true, _) => Some((0, p)),
                (false, true) => Some((1, p)),
                _ => None,
            }
        })
        .collect();
    found.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.1.to_lowercase().cmp(&b.1.1.to_lowercase())));
    found.into_iter().take(SHOWN).map(|(_, p)| p.clone()).collect()
}

/// The text with `at..caret` replaced by `inserted`, and where the caret goes (after it).
pub fn splice(text: &str, at: usize, caret: usize, inserted: &str) -> (String, usize) {
    let rest = text.get(caret..).unwrap_or_default();
    (format!("{}{inserted}{rest}", &text[..at]), at + inserted.len())
}

/// The text with the handle at `at..caret` replaced by `@First` (and a space unless one
/// follows), and where the caret goes.
pub fn complete(text: &str, at: usize, caret: usize, name: &str) -> (String, usize) {
    let first = name.split_whitespace().next().unwrap_or(name);
    let rest = text.get(caret..).unwrap_or_default();
    let space = if rest.starts_with(char::is_whitespace) { "" } else { " " };
    splice(text, at, caret, &format!("@{first}{space}"))
}

/// What a popup suggests.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Kind {
    /// People, after `@`.
    #[default]
    Mention,
    /// Canned replies, after `/`.
    Canned,
}

/// One suggestion: what the list shows (and a line more, for a canned reply's text), and what
/// picking it puts in (a name, a filled-in text).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Suggestion {
    pub label: String,
    pub detail: String,
    pub insert: String,
}

/// What the composer's popup shows: what is being typed, the matches and the one chosen.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Popup {
    pub kind: Kind,
    pub at: usize,
    pub caret: usize,
    pub query: String,
    pub matches: Vec<Suggestion>,
    pub chosen: usize,
}

/// The id of the popup's `i`-th option (the composer names the chosen one to screen readers).
pub fn option_id(i: usize) -> String {
    format!("suggestion-{i}")
}

/// The list above the composer while a mention or a canned reply's code is being typed.
#[component]
pub fn SuggestionList(popup: RwSignal<Option<Popup>>, pick: Callback<usize>) -> impl IntoView {
    view! {
        {move || popup.get().filter(|p| !p.matches.is_empty()).map(|p| {
            let (label, testid) = match p.kind {
                Kind::Mention => ("People to mention", "mentions"),
                Kind::Canned => ("Canned replies", "canned-replies"),
            };
            view! {
                <ul class="mentions" id="suggestions" role="listbox" aria-label=label data-testid=testid>
                    {p.matches.iter().enumerate().map(|(i, s)| {
                        let chosen = i == p.chosen;
                        view! {
                            <li
                                role="option"
                                id=option_id(i)
                                aria-selected=chosen.to_string()
                                class:active=chosen
                                on:mousedown=move |ev| { ev.prevent_default(); pick.run(i); }
                            >
                                {s.label.clone()}
                                {(!s.detail.is_empty()).then(|| view! { <span class="muted">" " {s.detail.clone()}</span> })}
                            </li>
                        }
                    }).collect_view()}
                </ul>
            }
        })}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_handle_is_typed_after_an_at_that_starts_a_word() {
        assert_eq!(query_at("hi @bo", 6, '@'), Some((3, "bo".into())));
        assert_eq!(query_at("@", 1, '@'), Some((0, String::new())));
        assert_eq!(query_at("mail bob@exa", 12, '@'), None, "inside an address");
        assert_eq!(query_at("hi @bob and", 11, '@'), None, "past a space");
        assert_eq!(query_at("(@al", 4, '@'), Some((1, "al".into())));
        assert_eq!(query_at("no at here", 5, '@'), None);
    }

    #[test]
    fn a_code_is_typed_after_a_slash_at_the_start_or_after_a_space() {
        assert_eq!(query_at("/thx", 4, '/'), Some((0, "thx".into())));
        assert_eq!(query_at("Hi! /re-op", 10, '/'), Some((4, "re-op".into())));
        assert_eq!(query_at("see https://x", 13, '/'), None, "in a link");
        assert_eq!(query_at("on 1/2", 6, '/'), None, "in a date");
        assert_eq!(query_at("/thx and", 8, '/'), None, "past a space");
        assert_eq!(splice("a /thx b", 2, 6, "Thanks!"), ("a Thanks! b".into(), 9));
    }

    #[test]
    fn first_names_come_first_then_other_names() {
        let people = vec![
            (UserId::new(), "Bob Chen".to_owned()),
            (UserId::new(), "Alice Martin".to_owned()),
            (UserId::new(), "Chen Li".to_owned()),
        ];
        let names = |q: &str| suggest(&people, q).into_iter().map(|p| p.1).collect::<Vec<_>>();
        assert_eq!(names("ch"), ["Chen Li", "Bob Chen"]);
        assert_eq!(names("AL"), ["Alice Martin"]);
        assert_eq!(names(""), ["Alice Martin", "Bob Chen", "Chen Li"]);
        assert!(names("zz").is_empty());
    }

    #[test]
    fn completing_puts_the_first_name_and_a_space() {
        assert_eq!(complete("hi @bo there", 3, 6, "Bob Chen"), ("hi @Bob there".into(), 7));
        assert_eq!(complete("@", 0, 1, "Alice Martin"), ("@Alice ".into(), 7));
    }
}
