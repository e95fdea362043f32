//! The notification settings on the account page: what the signed-in person is told of, the
//! sound, and the do-not-disturb hours, kept in the browser's time zone. The same settings steer
//! the open tab's notifications (`inbox/notify.rs`) and the server's Web Push.

use gloo_net::http::Method;
use leptos::prelude::*;
use switchboard::notify::{NotificationSettings, QuietHours};

use crate::client::http;

const PATH: &str = "/me/notification-settings";

/// "07:30" for 450 minutes after midnight.
fn clock(minute: u16) -> String {
    format!("{:02}:{:02}", minute / 60, minute % 60)
}

/// The minutes after midnight of an `<input type="time">` value ("07:30", or "07:30:00").
fn minutes(value: &str) -> Option<u16> {
    let (h, m) = value.split_once(':')?;
    let (h, m): (u16, u16) = (h.parse().ok()?, m.get(..2)?.parse().ok()?);
    (h < 24 && m < 60).then_some(h * 60 + m)
}

/// The browser's offset from UTC now, in minutes (east positive, as the server counts).
fn utc_offset() -> i16 {
    -(js_sys::Date::new_0().get_timezone_offset() as i16)
}

type Settings = RwSignal<Option<NotificationSettings>>;

/// One checkbox bound to one of the settings' switches.
fn switch(
    settings: Settings,
    label: &'static str,
    field: fn(&mut NotificationSettings) -> &mut bool,
) -> impl IntoView {
    view! {
        <label class="check">
            <input
                type="checkbox"
                prop:checked=move || settings.with(|s| s.clone().is_some_and(|mut s| *field(&mut s)))
                on:change=move |ev| settings.update(|s| {
                    if let Some(s) = s {
                        *field(s) = event_target_checked(&ev);
                    }
                })
            />
            {label}
        </label>
    }
}

/// The start (`start`) or the end of the quiet hours.
fn quiet_time(settings: Settings, label: &'static str, start: bool) -> impl IntoView {
    let pick: fn(&mut QuietHours) -> &mut u16 =
        if start { |q| &mut q.start_minute } else { |q| &mut q.end_minute };
    view! {
        <label class="field">
            <span>{label}</span>
            <input
                type="time"
                required
                prop:value=move || settings.with(|s| s.as_ref().and_then(|s| s.quiet_hours).map(|mut q| clock(*pick(&mut q))))
                on:change=move |ev| settings.update(|s| {
                    if let (Some(q), Some(m)) = (s.as_mut().and_then(|s| s.quiet_hours.as_mut()), minutes(&event_target_value(&ev))) {
                        *pick(q) = m;
                    }
                })
            />
        </label>
    }
}

/// What the person is notified of, saved with the Save button.
#[component]
pub fn NotificationSettingsSection() -> impl IntoView {
    let settings: Settings = RwSignal::new(None);
    // `Ok`: saved; `Err`: what went wrong.
    let outcome = RwSignal::new(None::<Result<(), String>>);
    Effect::new(move |_| {
        leptos::task::spawn_local(async move {
            match http::get::<NotificationSettings>(PATH).await {
                Ok(loaded) => settings.set(Some(loaded)),
                Err(e) => outcome.set(Some(Err(e.message))),
            }
        })
    });
    let save = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let Some(mut wanted) = settings.get_untracked() else { return };
        if let Some(q) = wanted.quiet_hours.as_mut() {
            q.utc_offset_minutes = utc_offset();
        }
        outcome.set(None);
        leptos::task::spawn_local(async move {
            let body = serde_json::to_value(&wanted).unwrap_or_default();
            match http::send::<NotificationSettings>(Method::PUT, PATH, &body).await {
                Ok(saved) => {
                    settings.set(Some(saved));
                    outcome.set(Some(Ok(())));
                }
                Err(e) => outcome.set(Some(Err(e.message))),
            }
        });
    };
    let quiet = move || settings.with(|s| s.as_ref().is_some_and(|s| s.quiet_hours.is_some()));
    view! {
        <section class="card account-section" id="notifications">
            <h2>"Notifications"</h2>
            <p class="muted">
                "What you are told of, in this browser (turn notifications on in the inbox) and by push when it is closed."
            </p>
            <form class="stack" data-testid="notification-settings" on:submit=save>
                {switch(settings, "New messages in conversations assigned to me", |s| &mut s.assigned)}
                {switch(settings, "New messages in unassigned conversations", |s| &mut s.unassigned)}
                {switch(settings, "Messages and notes that mention me", |s| &mut s.mentions)}
                {switch(settings, "Play a sound", |s| &mut s.sound)}
                <label class="check">
                    <input
                        type="checkbox"
                        prop:checked=quiet
                        on:change=move |ev| settings.update(|s| {
                            if let Some(s) = s {
                                s.quiet_hours = event_target_checked(&ev).then(|| QuietHours {
                                    start_minute: 22 * 60,
                                    end_minute: 7 * 60,
                                    utc_offset_minutes: utc_offset(),
                                });
                            }
                        })
                    />
                    "Do not disturb"
                </label>
                <Show when=quiet>
                    {quiet_time(settings, "From", true)}
                    {quiet_time(settings, "Until", false)}
                    <p class="muted">"In this browser's time zone; the hours may span midnight."</p>
                </Show>
                {move || match outcome.get() {
                    Some(Ok(())) => view! { <p class="form-ok" role="status">"Saved."</p> }.into_any(),
                    Some(Err(e)) => view! { <p class="form-error" role="alert">{e}</p> }.into_any(),
                    None => ().into_any(),
                }}
                <button type="submit" class="primary" disabled=move || settings.with(Option::is_none)>
                    "Save notification settings"
                </button>
            </form>
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_read_and_write_as_minutes_after_midnight() {
        assert_eq!(minutes("07:30"), Some(450));
        assert_eq!(minutes("22:00:00"), Some(1320));
        assert_eq!(minutes("24:00"), None);
        assert_eq!(minutes("7"), None);
        assert_eq!(clock(450), "07:30");
        assert_eq!(clock(0), "00:00");
    }
}
