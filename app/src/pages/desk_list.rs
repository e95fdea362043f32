//! The desk in the conversation list: its views in the rail (Mine, Unassigned or All; a status;
//! a label), what the rail's button says of them on narrow screens, and each row's tags (its
//! labels, its status when not open, and who handles it when someone else does). The views
//! filter the live list (`inbox::desk`), so a row comes and goes as teammates change it.

use leptos::prelude::*;
use switchboard::message::{AssigneeFilter, ConversationStatus};
use switchboard::{LabelId, UserId};

use super::desk::LabelChip;
use crate::inbox::state::{Filter, Inbox};

/// The status view's choices, in the order offered (none: any status).
const STATUSES: [(Option<ConversationStatus>, &str); 5] = [
    (Some(ConversationStatus::Open), "Open"),
    (Some(ConversationStatus::Pending), "Pending"),
    (Some(ConversationStatus::Snoozed), "Snoozed"),
    (Some(ConversationStatus::Resolved), "Resolved"),
    (None, "Any status"),
];

/// Whose conversations, which status, which label.
#[component]
pub fn DeskFilters() -> impl IntoView {
    let inbox = expect_context::<Inbox>();
    let desk = inbox.desk;
    let view_choice = move |label: &'static str, value: Option<AssigneeFilter>| {
        view! {
            <label class="filter" class:active=move || desk.assignee.get() == value>
                <input
                    type="radio"
                    name="assignee-view"
                    prop:checked=move || desk.assignee.get() == value
                    on:change=move |_| desk.assignee.set(value)
                />
                {label}
            </label>
        }
    };
    view! {
        <fieldset class="filters">
            <legend class="visually-hidden">"Assigned to"</legend>
            {view_choice("Mine", Some(AssigneeFilter::User(inbox.me)))}
            {view_choice("Unassigned", Some(AssigneeFilter::Nobody))}
            {view_choice("All", None)}
        </fieldset>
        <label class="field">
            "Status"
            <select
                class="search"
                data-testid="status-filter"
                on:change=move |ev| desk.status.set(event_target_value(&ev).parse().ok())
            >
                {STATUSES
                    .iter()
                    .map(|&(status, label)| {
                        let value = status.map_or("any", |s| s.as_str());
                        view! { <option value=value selected=move || desk.status.get() == status>{label}</option> }
                    })
                    .collect_view()}
            </select>
        </label>
        <label class="field">
            "Label"
            <select
                class="search"
                data-testid="label-filter"
                on:change=move |ev| desk.label.set(event_target_value(&ev).parse::<uuid::Uuid>().ok().map(LabelId))
            >
                <option value="" selected=move || desk.label.get().is_none()>"Any label"</option>
                {move || {
                    desk.labels.with(|labels| {
                        labels
                            .iter()
                            .map(|l| {
                                let id = l.id;
                                view! { <option value=id.to_string() selected=move || desk.label.get() == Some(id)>{l.name.clone()}</option> }
                            })
                            .collect_view()
                    })
                }}
            </select>
        </label>
    }
}

/// The narrow screens' rail button: "Filters & channels", or what is chosen ("Filters: unread,
/// mine, snoozed").
pub fn filter_label(inbox: Inbox) -> String {
    let desk = inbox.desk;
    let mut chosen: Vec<String> = Vec::new();
    match inbox.filter.get() {
        Filter::All => {}
        Filter::Unread => chosen.push("unread".into()),
        Filter::Channel(_) => chosen.push("one channel".into()),
    }
    match desk.assignee.get() {
        Some(AssigneeFilter::Nobody) => chosen.push("unassigned".into()),
        Some(AssigneeFilter::User(_)) => chosen.push("mine".into()),
        None => {}
    }
    match desk.status.get() {
        Some(ConversationStatus::Open) => {}
        Some(status) => chosen.push(status.as_str().into()),
        None => chosen.push("any status".into()),
    }
    if let Some(label) = desk.label.get().and_then(|l| desk.label_named(l)) {
        chosen.push(label.name);
    }
    if chosen.is_empty() { "Filters & channels".into() } else { format!("Filters: {}", chosen.join(", ")) }
}

/// "BC" for Bob Chen.
fn initials(name: &str) -> String {
    name.split_whitespace().take(2).filter_map(|w| w.chars().next()).flat_map(char::to_uppercase).collect()
}

/// A row's labels, its status when not open, and who handles it when someone else does.
#[component]
pub fn RowTags(labels: Vec<LabelId>, status: ConversationStatus, assignee: Option<UserId>) -> impl IntoView {
    let inbox = expect_context::<Inbox>();
    let other = assignee.filter(|a| *a != inbox.me);
    let said = match status {
        ConversationStatus::Open => None,
        ConversationStatus::Pending => Some("Pending"),
        ConversationStatus::Resolved => Some("Resolved"),
        ConversationStatus::Snoozed => Some("Snoozed"),
    };
    // One closure draws the chips: the labels' names and the people's load after the list.
    (other.is_some() || said.is_some() || !labels.is_empty()).then(|| {
        view! {
            <span class="chips" data-testid="row-tags">
                {said.map(|s| view! { <span class="chip">{s}</span> })}
                {move || {
                    let chips = labels
                        .iter()
                        .filter_map(|l| inbox.desk.label_named(*l))
                        .map(|l| view! { <LabelChip color=l.color name=l.name /> })
                        .collect_view();
                    let who = other.map(|user| {
                        let name = inbox.author(Some(user), "");
                        let said = format!("Assigned to {name}");
                        view! {
                            <span class="chip who" title=said.clone() data-testid="row-assignee">
                                <span aria-hidden="true">{initials(&name)}</span>
                                <span class="visually-hidden">{said.clone()}</span>
                            </span>
                        }
                    });
                    (chips, who)
                }}
            </span>
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn initials_are_of_the_first_two_names() {
        assert_eq!(initials("Bob Chen"), "BC");
        assert_eq!(initials("alice"), "A");
        assert_eq!(initials("Jean Paul Sartre"), "JP");
        assert_eq!(initials(""), "");
    }
}
