//! The template picker, in place of the composer when a network's reply window has closed
//! (WhatsApp: 24 hours after the customer last wrote): only an approved template reaches the
//! customer then. Pick one, fill its parameters, see what they will read, send.

use leptos::prelude::*;
use leptos::task::spawn_local;
use serde_json::json;
use switchboard::message::Template;
use switchboard::{ChannelId, ConversationId, Message};

use crate::client::http;

/// Whether free text can reach the contact of `conversation` now: false once its channel's
/// reply window has closed.
pub fn window_open(inbox: &crate::inbox::state::Inbox, conversation: ConversationId) -> bool {
    let Some(summary) =
        inbox.conversations.with(|l| l.iter().find(|c| c.conversation.id == conversation).cloned())
    else {
        return true;
    };
    let provider = inbox
        .channels
        .with(|l| l.iter().find(|c| c.id == summary.conversation.channel_id).map(|c| c.provider));
    let window = provider.and_then(|p| p.reply_window_secs());
    summary.conversation.reply_window_open(window, chrono::Utc::now())
}

#[component]
pub fn TemplatePicker(channel_id: ChannelId, conversation_id: ConversationId) -> impl IntoView {
    let templates = RwSignal::new(None::<Result<Vec<Template>, String>>);
    let chosen = RwSignal::new(None::<usize>);
    let parameters = RwSignal::new(Vec::<String>::new());
    let busy = RwSignal::new(false);
    let error = RwSignal::new(None::<String>);
    Effect::new(move |_| {
        spawn_local(async move {
            let answer = http::get::<Vec<Template>>(&format!("/channels/{channel_id}/templates")).await;
            templates.set(Some(answer.map_err(|e| e.message)));
        });
    });
    let template = move || {
        let i = chosen.get()?;
        templates.with(|t| t.as_ref().and_then(|t| t.as_ref().ok()).and_then(|t| t.get(i).cloned()))
    };
    let preview = move || template().and_then(|t| t.render(&parameters.get()).ok());
    let send = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let Some(t) = template() else { return };
        busy.set(true);
        error.set(None);
        let body = json!({ "template": { "name": t.name, "language": t.language, "parameters": parameters.get_untracked() } });
        spawn_local(async move {
            match http::post::<Message, _>(&format!("/conversations/{conversation_id}/messages"), &body).await
            {
                Ok(_) => {
                    chosen.set(None);
                    parameters.set(Vec::new());
                }
                Err(e) => error.set(Some(e.message)),
            }
            busy.set(false);
        });
    };
    view! {
        <form class="composer template-picker" data-testid="template-picker" on:submit=send>
            <p class="hint" role="status">
                "More than 24 hours have passed since the customer last wrote: only an approved template can reach them now."
            </p>
            {move || match templates.get() {
                None => view! { <p class="muted">"Loading templates…"</p> }.into_any(),
                Some(Err(why)) => view! { <p class="form-error" role="alert">{why}</p> }.into_any(),
                Some(Ok(list)) if list.is_empty() => {
                    view! { <p class="muted">"This channel has no approved templates."</p> }.into_any()
                }
                Some(Ok(list)) => view! {
                    <select aria-label="Template" data-testid="template-select" on:change=move |ev| {
                        let i = event_target_value(&ev).parse::<usize>().ok();
                        let n = i.and_then(|i| list_len_params(templates, i)).unwrap_or(0);
                        chosen.set(i);
                        parameters.set(vec![String::new(); n]);
                    }>
                        <option value="" selected=move || chosen.get().is_none()>"Choose a template"</option>
                        {list
                            .iter()
                            .enumerate()
                            .map(|(i, t)| view! { <option value=i.to_string()>{format!("{} ({})", t.name, t.language)}</option> })
                            .collect_view()}
                    </select>
                }
                .into_any(),
            }}
            {move || {
                let n = parameters.with(Vec::len);
                (0..n)
                    .map(|i| view! {
                        <input
                            aria-label=format!("Parameter {}", i + 1)
                            placeholder=format!("{{{{{}}}}}", i + 1)
                            required
                            on:input=move |ev| {
                                let value = event_target_value(&ev);
                                parameters.update(|p| if let Some(slot) = p.get_mut(i) { *slot = value });
                            }
                        />
                    })
                    .collect_view()
            }}
            {move || preview().map(|text| view! { <p class="template-preview" data-testid="template-preview">{text}</p> })}
            {move || error.get().map(|why| view! { <p class="form-error" role="alert">{why}</p> })}
            <button type="submit" class="primary" disabled=move || busy.get() || preview().is_none()>"Send template"</button>
        </form>
    }
}

/// How many parameters the `i`-th template takes.
fn list_len_params(templates: RwSignal<Option<Result<Vec<Template>, String>>>, i: usize) -> Option<usize> {
    templates.with_untracked(|t| t.as_ref()?.as_ref().ok()?.get(i).map(|t| t.parameters as usize))
}
