//! The desk in the conversation's header: who handles it ("Assign to me", a picker of the team,
//! Unassign), its status (Resolve or Reopen; Mark pending and Snooze in a menu) and its labels
//! (chips, and a picker of the workspace's labels). Above the composer, a notice when a
//! teammate handles it, so that two agents do not answer the same customer twice.
//! The list's views and its rows' tags are in `desk_list.rs`.

use chrono::{DateTime, Datelike, Days, Duration, Local, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc};
use leptos::html::{Button, Div, Input};
use leptos::prelude::*;
use switchboard::message::ConversationStatus;
use switchboard::{Conversation, ConversationId, UserId};
use wasm_bindgen::JsCast;

use super::message_actions::move_focus;
use crate::inbox::state::Inbox;

/// The open conversation, as the list holds it (live).
type Open = Memo<Option<Conversation>>;

/// A label: its colour's dot and its name.
#[component]
pub fn LabelChip(color: String, name: String) -> impl IntoView {
    view! {
        <span class="chip" data-testid="label-chip">
            <span class="dot" style:background=color aria-hidden="true"></span>
            {name}
        </span>
    }
}

/// A dropdown: a menu (or, `group`, a set of checkboxes) under its button, built while `open`.
/// This sets up what all of them do (the caller draws the `div` with the node and handlers it
/// returns): its first item takes the focus; the arrow keys, Home and End move in a menu;
/// Escape (and Tab, in a menu) closes it with the focus back on its button; a click outside, or
/// the focus leaving it, closes it. One function, not a component taking children: the WASM
/// then holds one copy of it, not one per dropdown.
fn dropdown(
    open: RwSignal<bool>,
    button: NodeRef<Button>,
    group: bool,
) -> (
    NodeRef<Div>,
    impl Fn(leptos::ev::KeyboardEvent) + Copy + Send + Sync + 'static,
    impl Fn(leptos::ev::FocusEvent) + Copy + Send + Sync + 'static,
) {
    let menu = NodeRef::<Div>::new();
    request_animation_frame(move || {
        let first = menu
            .try_get_untracked()
            .flatten()
            .and_then(|m| m.query_selector("[role=menuitem], input").ok().flatten());
        if let Some(first) = first.and_then(|f| f.dyn_into::<web_sys::HtmlElement>().ok()) {
            let _ = first.focus();
        }
    });
    // Its anchor holds its button too, which toggles it.
    let anchor = move || menu.try_get_untracked().flatten().and_then(|m| m.parent_element());
    let outside = window_event_listener(leptos::ev::pointerdown, move |ev| {
        let to = ev.target().and_then(|t| t.dyn_into::<web_sys::Node>().ok());
        if !to.zip(anchor()).is_some_and(|(to, anchor)| anchor.contains(Some(&to))) {
            open.try_set(false);
        }
    });
    on_cleanup(move || outside.remove());
    let on_key = move |ev: leptos::ev::KeyboardEvent| {
        let key = ev.key();
        if key == "Escape" || (key == "Tab" && !group) {
            ev.prevent_default();
            ev.stop_propagation();
            shut(open, button);
        } else if let Some(el) = menu.try_get_untracked().flatten()
            && move_focus(&el, &key)
        {
            ev.prevent_default();
        }
    };
    // Tabbing out closes it; the focus falling to the page (an item drawn again) does not. (It
    // fires on an item removed with the dropdown too, once the dropdown is gone.)
    let on_focusout = move |ev: leptos::ev::FocusEvent| {
        let to = ev.related_target().and_then(|t| t.dyn_into::<web_sys::Node>().ok());
        if let (Some(anchor), Some(to)) = (anchor(), to)
            && !anchor.contains(Some(&to))
        {
            open.try_set(false);
        }
    };
    (menu, on_key, on_focusout)
}

/// Closes a dropdown, the focus back on its button.
fn shut(open: RwSignal<bool>, button: NodeRef<Button>) {
    open.set(false);
    if let Some(b) = button.get_untracked() {
        let _ = b.focus();
    }
}

/// The button that opens a dropdown.
fn toggle(open: RwSignal<bool>) -> impl Fn(leptos::ev::MouseEvent) + Copy {
    move |_| open.update(|o| *o = !*o)
}

/// The desk's controls in the conversation's header: labels, assignee (not in a room: a room
/// has no one customer to answer), status.
#[component]
pub fn DeskControls(conversation: Open) -> impl IntoView {
    let id = Memo::new(move |_| conversation.with(|c| c.as_ref().map(|c| c.id)));
    let room = Memo::new(move |_| conversation.with(|c| c.as_ref().is_none_or(switchboard::access::is_room)));
    view! {
        <div class="desk" role="group" aria-label="Handling">
            <LabelPicker conversation id />
            {move || (!room.get()).then(|| view! { <AssigneePicker conversation id /> })}
            <StatusControl conversation id />
        </div>
    }
}

#[component]
fn LabelPicker(conversation: Open, id: Memo<Option<ConversationId>>) -> impl IntoView {
    let inbox = expect_context::<Inbox>();
    let ids = Memo::new(move |_| {
        conversation.with(|c| c.as_ref().map(|c| c.label_ids.clone()).unwrap_or_default())
    });
    let open = RwSignal::new(false);
    let button = NodeRef::<Button>::new();
    // A label added since the page loaded has no event: read them again when the picker opens.
    Effect::new(move |_| {
        if open.get() {
            leptos::task::spawn_local(inbox.reload_labels());
        }
    });
    let chips = move || {
        ids.with(|ids| {
            ids.iter()
                .filter_map(|l| inbox.desk.label_named(*l))
                .map(|l| view! { <li><LabelChip color=l.color name=l.name /></li> })
                .collect_view()
        })
    };
    let admin = inbox.role.is_admin();
    view! {
        <ul class="chips" aria-label="Labels" hidden=move || ids.with(Vec::is_empty)>{chips}</ul>
        <div class="menu-anchor">
            <button
                type="button"
                class="filter"
                node_ref=button
                aria-expanded=move || open.get().to_string()
                on:click=toggle(open)
            >
                "+ Label"
            </button>
            {move || open.get().then(|| {
                let (menu, on_key, on_focusout) = dropdown(open, button, true);
                view! {
                    <div class="dropdown" role="group" aria-label="Labels" node_ref=menu on:keydown=on_key on:focusout=on_focusout>
                        <p class="muted" hidden=move || inbox.desk.labels.with(|l| !l.is_empty())>
                            "No labels yet. "
                            {admin.then(|| view! { <a href="/admin">"Add some"</a> })}
                        </p>
                        {move || {
                            inbox.desk.labels.with(|labels| {
                                labels
                                    .iter()
                                    .map(|l| {
                                        let label = l.id;
                                        view! {
                                            <label class="check">
                                                <input
                                                    type="checkbox"
                                                    prop:checked=move || ids.with(|i| i.contains(&label))
                                                    on:change=move |ev| {
                                                        if let Some(id) = id.get_untracked() {
                                                            inbox.toggle_label(id, label, event_target_checked(&ev));
                                                        }
                                                    }
                                                />
                                                <LabelChip color=l.color.clone() name=l.name.clone() />
                                            </label>
                                        }
                                    })
                                    .collect_view()
                            })
                        }}
                    </div>
                }
            })}
        </div>
    }
}

#[component]
fn AssigneePicker(conversation: Open, id: Memo<Option<ConversationId>>) -> impl IntoView {
    let inbox = expect_context::<Inbox>();
    let assignee = Memo::new(move |_| conversation.with(|c| c.as_ref().and_then(|c| c.assignee_id)));
    let open = RwSignal::new(false);
    let button = NodeRef::<Button>::new();
    let name =
        move |user: UserId| if user == inbox.me { "you".to_owned() } else { inbox.author(Some(user), "") };
    let shown = move || match assignee.get() {
        Some(user) => format!("Assigned to {}", name(user)),
        None => "Unassigned".to_owned(),
    };
    let assign = move |user: Option<UserId>| {
        shut(open, button);
        if let Some(id) = id.get_untracked() {
            inbox.assign(id, user);
        }
    };
    let claim = move |_| {
        // The button goes once it is taken: the keyboard stays on the picker beside it.
        if let Some(b) = button.get_untracked() {
            let _ = b.focus();
        }
        if let Some(id) = id.get_untracked() {
            inbox.claim(id);
        }
    };
    let item = move |user: UserId, label: String| {
        let current = assignee.get_untracked() == Some(user);
        view! {
            <button
                type="button"
                role="menuitem"
                aria-current=current.then_some("true")
                on:click=move |_| assign(Some(user))
            >
                {current.then_some("✓ ")}
                {label}
            </button>
        }
    };
    view! {
        <button type="button" class="filter active" hidden=move || assignee.get().is_some() on:click=claim>
            "Assign to me"
        </button>
        <div class="menu-anchor">
            <button
                type="button"
                class="filter"
                node_ref=button
                title="Change who handles it"
                aria-haspopup="menu"
                aria-expanded=move || open.get().to_string()
                on:click=toggle(open)
            >
                <span data-testid="assignee">{shown}</span>
                <span aria-hidden="true">" ▾"</span>
            </button>
            {move || open.get().then(|| {
                let (menu, on_key, on_focusout) = dropdown(open, button, false);
                view! {
                    <div class="dropdown" role="menu" aria-label="Assign to" node_ref=menu on:keydown=on_key on:focusout=on_focusout>
                        {item(inbox.me, "Assign to me".to_owned())}
                        {inbox.desk.staff.with_untracked(|staff| {
                            staff.iter().filter(|(user, _)| *user != inbox.me).map(|(user, name)| item(*user, name.clone())).collect_view()
                        })}
                        {assignee.get_untracked().is_some().then(|| view! {
                            <button type="button" role="menuitem" class="danger" on:click=move |_| assign(None)>"Unassign"</button>
                        })}
                    </div>
                }
            })}
        </div>
    }
}

/// A snooze's preset ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Snooze {
    Hour,
    Tomorrow,
    NextWeek,
}

/// When a preset snooze ends, from the local time `now`: in an hour, tomorrow at 9:00, or next
/// Monday at 9:00 (a week ahead on a Monday).
fn snooze_end(snooze: Snooze, now: NaiveDateTime) -> NaiveDateTime {
    let nine = NaiveTime::from_hms_opt(9, 0, 0).unwrap_or_default();
    match snooze {
        Snooze::Hour => now + Duration::hours(1),
        Snooze::Tomorrow => (now.date() + Days::new(1)).and_time(nine),
        Snooze::NextWeek => {
            let days = 7 - u64::from(now.weekday().num_days_from_monday());
            (now.date() + Days::new(days)).and_time(nine)
        }
    }
}

/// A `datetime-local` field's value ("2026-12-09T10:30") as a wall-clock time (read by hand:
/// chrono's parser would cost the WASM more than the whole form).
fn local_input(value: &str) -> Option<NaiveDateTime> {
    let (date, time) = value.split_once('T')?;
    let mut parts = date.splitn(3, '-').map(|p| p.parse::<u32>().ok());
    let (year, month, day) = (parts.next()??, parts.next()??, parts.next()??);
    let (hour, minute) = time.get(..5)?.split_once(':')?;
    NaiveDate::from_ymd_opt(i32::try_from(year).ok()?, month, day)?.and_hms_opt(
        hour.parse().ok()?,
        minute.parse().ok()?,
        0,
    )
}

/// A local wall-clock time as an instant (the first, when the clocks go back; none in the hour
/// skipped when they go forward).
fn instant(local: NaiveDateTime) -> Option<DateTime<Utc>> {
    Local.from_local_datetime(&local).earliest().map(|t| t.with_timezone(&Utc))
}

/// "14:05" today, "tomorrow 09:00", "Mon 09:00" within the week, else "3 Mar 09:00".
fn when_text(at: DateTime<Utc>) -> String {
    let local = at.with_timezone(&Local);
    let days = (local.date_naive() - Local::now().date_naive()).num_days();
    let format = match days {
        0 => "%H:%M",
        1 => "tomorrow %H:%M",
        2..=6 => "%a %H:%M",
        _ => "%-d %b %H:%M",
    };
    local.format(format).to_string()
}

/// What the header says of a status other than open.
fn status_text(status: ConversationStatus, until: Option<DateTime<Utc>>) -> Option<String> {
    match status {
        ConversationStatus::Open => None,
        ConversationStatus::Pending => Some("Pending".into()),
        ConversationStatus::Resolved => Some("Resolved".into()),
        ConversationStatus::Snoozed => {
            Some(until.map_or_else(|| "Snoozed".into(), |at| format!("Snoozed until {}", when_text(at))))
        }
    }
}

#[component]
fn StatusControl(conversation: Open, id: Memo<Option<ConversationId>>) -> impl IntoView {
    let inbox = expect_context::<Inbox>();
    let status = Memo::new(move |_| {
        conversation.with(|c| c.as_ref().map(|c| (c.status, c.snoozed_until))).unwrap_or_default()
    });
    let open = RwSignal::new(false);
    let picking = RwSignal::new(false);
    let button = NodeRef::<Button>::new();
    let set = move |to: ConversationStatus, until: Option<DateTime<Utc>>| {
        if let Some(id) = id.get_untracked() {
            inbox.set_status(id, to, until);
        }
    };
    let choose = move |to: ConversationStatus, snooze: Option<Snooze>| {
        shut(open, button);
        let until = snooze.and_then(|s| instant(snooze_end(s, Local::now().naive_local())));
        set(to, until);
    };
    let is_open = move || status.get().0 == ConversationStatus::Open;
    let item = move |label: &'static str, to: ConversationStatus, snooze: Option<Snooze>| {
        view! { <button type="button" role="menuitem" on:click=move |_| choose(to, snooze)>{label}</button> }
    };
    view! {
        {move || {
            let (s, until) = status.get();
            status_text(s, until).map(|text| view! { <span class="chip" data-testid="conversation-status">{text}</span> })
        }}
        <button
            type="button"
            class="filter"
            on:click=move |_| set(if is_open() { ConversationStatus::Resolved } else { ConversationStatus::Open }, None)
        >
            {move || if is_open() { "Resolve" } else { "Reopen" }}
        </button>
        <div class="menu-anchor">
            <button
                type="button"
                class="filter"
                node_ref=button
                aria-label="More status actions"
                aria-haspopup="menu"
                aria-expanded=move || open.get().to_string()
                on:click=toggle(open)
            >
                "▾"
            </button>
            {move || open.get().then(|| {
                let (menu, on_key, on_focusout) = dropdown(open, button, false);
                let current = status.get_untracked().0;
                view! {
                    <div class="dropdown" role="menu" aria-label="Status" node_ref=menu on:keydown=on_key on:focusout=on_focusout>
                        {(!matches!(current, ConversationStatus::Open | ConversationStatus::Resolved))
                            .then(|| item("Resolve", ConversationStatus::Resolved, None))}
                        {(current != ConversationStatus::Pending).then(|| item("Mark pending", ConversationStatus::Pending, None))}
                        {item("Snooze 1 hour", ConversationStatus::Snoozed, Some(Snooze::Hour))}
                        {item("Snooze until tomorrow 9:00", ConversationStatus::Snoozed, Some(Snooze::Tomorrow))}
                        {item("Snooze until next Monday 9:00", ConversationStatus::Snoozed, Some(Snooze::NextWeek))}
                        <button type="button" role="menuitem" on:click=move |_| { open.set(false); picking.set(true); }>
                            "Snooze until…"
                        </button>
                    </div>
                }
            })}
        </div>
        {move || picking.get().then(|| view! {
            <SnoozeForm picking button on_snooze=Callback::new(move |until| set(ConversationStatus::Snoozed, Some(until))) />
        })}
    }
}

/// "Snooze until" a date and time of one's choosing (the browser's picker, local time).
#[component]
fn SnoozeForm(
    picking: RwSignal<bool>,
    button: NodeRef<Button>,
    on_snooze: Callback<DateTime<Utc>>,
) -> impl IntoView {
    let field = NodeRef::<Input>::new();
    Effect::new(move |_| {
        request_animation_frame(move || {
            if let Some(f) = field.try_get_untracked().flatten() {
                let _ = f.focus();
            }
        });
    });
    let now = Local::now().naive_local();
    let min = now.format("%Y-%m-%dT%H:%M").to_string();
    let max =
        (now + Duration::days(switchboard::message::MAX_SNOOZE_DAYS)).format("%Y-%m-%dT%H:%M").to_string();
    let close = move || {
        picking.set(false);
        if let Some(b) = button.get_untracked() {
            let _ = b.focus();
        }
    };
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let value = field.get_untracked().map(|f| f.value()).unwrap_or_default();
        // The field's `min`, `max` and `required` keep it to a time the server takes (which
        // checks again, and says why in the banner if not).
        if let Some(at) = local_input(&value).and_then(instant) {
            on_snooze.run(at);
            close();
        }
    };
    view! {
        <form
            class="inline-form"
            aria-label="Snooze until a time"
            on:submit=submit
            on:keydown=move |ev| if ev.key() == "Escape" { ev.prevent_default(); close(); }
        >
            <input type="datetime-local" aria-label="Snooze until" required min=min max=max node_ref=field />
            <button type="submit" class="filter active">"Snooze"</button>
            <button type="button" class="filter" on:click=move |_| close()>"Cancel"</button>
        </form>
    }
}

/// Above the composer when a teammate handles the conversation: say so, so that nobody answers
/// the customer twice (the picker in the header still takes it over).
#[component]
pub fn HandledBy(conversation: Open) -> impl IntoView {
    let inbox = expect_context::<Inbox>();
    let other = Memo::new(move |_| {
        conversation.with(|c| c.as_ref().and_then(|c| c.assignee_id)).filter(|user| *user != inbox.me)
    });
    move || {
        other.get().map(|user| {
            view! {
                <div class="banner" role="status" data-testid="handled-by">
                    {format!("{} is handling this conversation.", inbox.author(Some(user), ""))}
                </div>
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(y: i32, m: u32, d: u32, h: u32, min: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(y, m, d).unwrap().and_hms_opt(h, min, 0).unwrap()
    }

    #[test]
    fn snoozes_end_in_an_hour_tomorrow_morning_or_next_monday_morning() {
        // 2026-12-09 is a Wednesday.
        let wednesday = at(2026, 12, 9, 23, 30);
        assert_eq!(snooze_end(Snooze::Hour, wednesday), at(2026, 12, 10, 0, 30));
        assert_eq!(snooze_end(Snooze::Tomorrow, wednesday), at(2026, 12, 10, 9, 0));
        assert_eq!(snooze_end(Snooze::NextWeek, wednesday), at(2026, 12, 14, 9, 0));
        assert_eq!(
            snooze_end(Snooze::NextWeek, at(2026, 12, 14, 8, 0)),
            at(2026, 12, 21, 9, 0),
            "a Monday: the next"
        );
        assert_eq!(
            snooze_end(Snooze::NextWeek, at(2026, 12, 13, 20, 0)),
            at(2026, 12, 14, 9, 0),
            "a Sunday: tomorrow"
        );
    }

    #[test]
    fn a_date_and_time_field_is_read() {
        assert_eq!(local_input("2026-12-09T10:30"), Some(at(2026, 12, 9, 10, 30)));
        assert_eq!(local_input("2026-12-09T10:30:15"), Some(at(2026, 12, 9, 10, 30)));
        assert_eq!(local_input("2026-02-30T10:30"), None);
        assert_eq!(local_input(""), None);
        assert_eq!(local_input("2026-12-09"), None);
    }

    #[test]
    fn only_a_status_other_than_open_is_said() {
        assert_eq!(status_text(ConversationStatus::Open, None), None);
        assert_eq!(status_text(ConversationStatus::Pending, None).as_deref(), Some("Pending"));
        assert_eq!(status_text(ConversationStatus::Snoozed, None).as_deref(), Some("Snoozed"));
        let soon = Utc::now() + Duration::minutes(5);
        assert!(status_text(ConversationStatus::Snoozed, Some(soon)).unwrap().starts_with("Snoozed until "));
    }
}
