//! The `@` popup of the composer: typing `@` and the start of a name suggests the people who
//! can read the conversation (a room's members, or the workspace's team for a contact's
//! conversation); Up and Down choose, Enter or Tab puts `@Name ` in the text, Escape closes.
//! The server's rule for a mention is `@` and the first name (or the email's local part), so the
//! first name is what goes in.

use leptos::prelude::*;
use switchboard::UserId;

/// Most suggestions shown at once.
const SHOWN: usize = 6;

/// The `@handle` being typed just before `caret` (a byte offset): where its `@` is and what
/// follows it so far. Only at the start or after a space or punctuation (not inside an address).
pub fn query_at(text: &str, caret: usize) -> Option<(usize, String)> {
    let before = text.get(..caret)?;
    let at = before.rfind('@')?;
    let typed = &before[at + 1..];
    if typed.chars().any(|c| !(c.is_alphanumeric() || matches!(c, '.' | '_' | '-'))) || typed.len() > 32 {
        return None;
    }
    let starts_word = before[..at].chars().next_back().is_none_or(|c| !c.is_alphanumeric());
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

/// The text with the handle at `at..caret` replaced by `@First` (and a space unless one
/// follows), and where the caret goes.
pub fn complete(text: &str, at: usize, caret: usize, name: &str) -> (String, usize) {
    let first = name.split_whitespace().next().unwrap_or(name);
    let rest = text.get(caret..).unwrap_or_default();
    let space = if rest.starts_with(char::is_whitespace) { "" } else { " " };
    let inserted = format!("@{first}{space}");
    let out = format!("{}{inserted}{rest}", &text[..at]);
    (out, at + inserted.len())
}

/// What the composer's popup shows: the matches and the one chosen.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Popup {
    pub at: usize,
    pub caret: usize,
    pub matches: Vec<(UserId, String)>,
    pub chosen: usize,
}

/// The list under the composer while a mention is being typed.
#[component]
pub fn MentionList(popup: RwSignal<Option<Popup>>, pick: Callback<usize>) -> impl IntoView {
    view! {
        {move || popup.get().filter(|p| !p.matches.is_empty()).map(|p| view! {
            <ul class="mentions" role="listbox" aria-label="People to mention" data-testid="mentions">
                {p.matches.iter().enumerate().map(|(i, (_, name))| {
                    let chosen = i == p.chosen;
                    view! {
                        <li
                            role="option"
                            aria-selected=chosen.to_string()
                            class:active=chosen
                            on:mousedown=move |ev| { ev.prevent_default(); pick.run(i); }
                        >{format!("@{name}")}</li>
                    }
                }).collect_view()}
            </ul>
        })}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_handle_is_typed_after_an_at_that_starts_a_word() {
        assert_eq!(query_at("hi @bo", 6), Some((3, "bo".into())));
        assert_eq!(query_at("@", 1), Some((0, String::new())));
        assert_eq!(query_at("mail bob@exa", 12), None, "inside an address");
        assert_eq!(query_at("hi @bob and", 11), None, "past a space");
        assert_eq!(query_at("(@al", 4), Some((1, "al".into())));
        assert_eq!(query_at("no at here", 5), None);
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
