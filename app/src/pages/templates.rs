//! Approved templates: what reaches a WhatsApp customer outside the network's reply window
//! (24 hours after they last wrote), and the only way to write to them first. The choice of a
//! template and its parameters (`TemplateChoice`, `TemplateFields`) is shared by the picker
//! that replaces the composer once the window has closed and by the contacts page's "New
//! conversation".

use leptos::prelude::*;
use leptos::task::spawn_local;
use serde_json::json;
use switchboard::message::{Template, TemplateSend};
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

/// A channel's approved templates, the one chosen and its parameters as typed so far.
#[derive(Clone, Copy)]
pub struct TemplateChoice {
    templates: RwSignal<Option<Result<Vec<Template>, String>>>,
    chosen: RwSignal<Option<usize>>,
    parameters: RwSignal<Vec<String>>,
    /// Counts loads, so that a slow answer for a channel no longer chosen is dropped.
    asked: StoredValue<u32>,
}

impl TemplateChoice {
    pub fn new() -> Self {
        TemplateChoice {
            templates: RwSignal::new(None),
            chosen: RwSignal::new(None),
            parameters: RwSignal::new(Vec::new()),
            asked: StoredValue::new(0),
        }
    }

    /// Reads `channel`'s approved templates, forgetting any choice made among another's.
    pub fn load(self, channel: ChannelId) {
        self.clear();
        self.templates.set(None);
        let n = self.asked.get_value() + 1;
        self.asked.set_value(n);
        spawn_local(async move {
            let answer = http::get::<Vec<Template>>(&format!("/channels/{channel}/templates")).await;
            if self.asked.try_get_value() == Some(n) {
                self.templates.set(Some(answer.map_err(|e| e.message)));
            }
        });
    }

    /// Back to "Choose a template".
    pub fn clear(self) {
        self.chosen.set(None);
        self.parameters.set(Vec::new());
    }

    fn template(self) -> Option<Template> {
        let i = self.chosen.get()?;
        self.templates.with(|t| t.as_ref()?.as_ref().ok()?.get(i).cloned())
    }

    /// What the contact will read, once every parameter is filled in.
    pub fn preview(self) -> Option<String> {
        self.template().and_then(|t| t.render(&self.parameters.get()).ok())
    }

    /// The template to send, once every parameter is filled in.
    pub fn ready(self) -> Option<TemplateSend> {
        self.preview()?;
        let t = self.template()?;
        Some(TemplateSend { name: t.name, language: t.language, parameters: self.parameters.get() })
    }

    fn choose(self, i: Option<usize>) {
        let n = i.and_then(|i| {
            self.templates.with_untracked(|t| t.as_ref()?.as_ref().ok()?.get(i).map(|t| t.parameters))
        });
        self.chosen.set(i);
        self.parameters.set(vec![String::new(); n.unwrap_or(0) as usize]);
    }
}

impl Default for TemplateChoice {
    fn default() -> Self {
        Self::new()
    }
}

/// The template list, a field per parameter of the one chosen, and what the contact will read.
#[component]
pub fn TemplateFields(choice: TemplateChoice) -> impl IntoView {
    // The fields are drawn again only when their number changes, not at every key typed.
    let count = Memo::new(move |_| choice.parameters.with(Vec::len));
    view! {
        {move || match choice.templates.get() {
            None => view! { <p class="muted">"Loading templates…"</p> }.into_any(),
            Some(Err(why)) => view! { <p class="form-error" role="alert">{why}</p> }.into_any(),
            Some(Ok(list)) if list.is_empty() => {
                view! { <p class="muted">"This channel has no approved templates."</p> }.into_any()
            }
            Some(Ok(list)) => view! {
                <select
                    aria-label="Template"
                    data-testid="template-select"
                    on:change=move |ev| choice.choose(event_target_value(&ev).parse::<usize>().ok())
                >
                    <option value="" selected=move || choice.chosen.get().is_none()>"Choose a template"</option>
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
            (0..count.get())
                .map(|i| view! {
                    <input
                        aria-label=format!("Parameter {}", i + 1)
                        placeholder=format!("{{{{{}}}}}", i + 1)
                        required
                        prop:value=move || choice.parameters.with(|p| p.get(i).cloned().unwrap_or_default())
                        on:input=move |ev| {
                            let value = event_target_value(&ev);
                            choice.parameters.update(|p| if let Some(slot) = p.get_mut(i) { *slot = value });
                        }
                    />
                })
                .collect_view()
        }}
        {move || choice.preview().map(|text| view! { <p class="template-preview" data-testid="template-preview">{text}</p> })}
    }
}

/// In place of the composer once the reply window has closed: pick a template, fill it in, send.
#[component]
pub fn TemplatePicker(channel_id: ChannelId, conversation_id: ConversationId) -> impl IntoView {
    let choice = TemplateChoice::new();
    let busy = RwSignal::new(false);
    let error = RwSignal::new(None::<String>);
    // In the browser only: the server renders the picker loading.
    Effect::new(move |_| choice.load(channel_id));
    let send = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let Some(template) = untrack(move || choice.ready()) else { return };
        busy.set(true);
        error.set(None);
        let body = json!({ "template": template });
        spawn_local(async move {
            match http::post::<Message, _>(&format!("/conversations/{conversation_id}/messages"), &body).await
            {
                Ok(_) => choice.clear(),
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
            <TemplateFields choice />
            {move || error.get().map(|why| view! { <p class="form-error" role="alert">{why}</p> })}
            <button type="submit" class="primary" disabled=move || busy.get() || choice.preview().is_none()>"Send template"</button>
        </form>
    }
}
