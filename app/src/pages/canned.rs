//! The workspace's canned replies, for every agent (on the account page, and on the admin
//! page): add one with its short code and text; change one in the same form (its Edit button
//! fills it); delete one after a question asked in its row. In the composer, `/` and the short
//! code put its text in, the variables filled in.

use gloo_net::http::Method;
use leptos::html::Input;
use leptos::prelude::*;
use leptos::task::spawn_local;
use switchboard::CannedReplyId;
use switchboard::desk::{CANNED_VARIABLES, CannedReply, CannedReplyInput};

use super::labels::focus_id;
use crate::client::http;
use crate::inbox::desk::body;

/// The canned replies' section (account and admin pages).
#[component]
pub fn CannedReplies() -> impl IntoView {
    let list = RwSignal::new(Vec::<CannedReply>::new());
    let error = RwSignal::new(None::<String>);
    let (code, text) = (RwSignal::new(String::new()), RwSignal::new(String::new()));
    // The reply the form changes (none: it adds one), and the one asking before a delete.
    let editing = RwSignal::new(None::<CannedReplyId>);
    let deleting = RwSignal::new(None::<CannedReplyId>);
    let field = NodeRef::<Input>::new();
    let reload = move || {
        spawn_local(async move {
            match http::get::<Vec<CannedReply>>("/canned-replies").await {
                Ok(found) => list.set(found),
                Err(e) => error.set(Some(e.message)),
            }
        })
    };
    Effect::new(move |_| reload());
    let clear = move || {
        editing.set(None);
        code.set(String::new());
        text.set(String::new());
    };
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        error.set(None);
        let body = body(&CannedReplyInput { short_code: code.get_untracked(), text: text.get_untracked() });
        let (method, path) = match editing.get_untracked() {
            Some(id) => (Method::PATCH, format!("/canned-replies/{id}")),
            None => (Method::POST, "/canned-replies".to_owned()),
        };
        spawn_local(async move {
            match http::send::<serde_json::Value>(method, &path, &body).await {
                Ok(_) => {
                    clear();
                    reload();
                }
                Err(e) => error.set(Some(e.message)),
            }
        });
    };
    let delete = move |id: CannedReplyId| {
        error.set(None);
        spawn_local(async move {
            if let Err(e) = http::delete::<()>(&format!("/canned-replies/{id}")).await {
                error.set(Some(e.message));
            }
            deleting.set(None);
            if let Some(f) = field.get_untracked() {
                let _ = f.focus();
            }
            reload();
        });
    };
    let row = move |r: &CannedReply| {
        let id = r.id;
        let shown = format!("/{}", r.short_code);
        let asking = move || deleting.get() == Some(id);
        let edit = {
            let r = r.clone();
            move |_| {
                deleting.set(None);
                editing.set(Some(r.id));
                code.set(r.short_code.clone());
                text.set(r.text.clone());
                if let Some(f) = field.get_untracked() {
                    let _ = f.focus();
                }
            }
        };
        view! {
            <tr data-testid="canned-row">
                <td><code>{shown.clone()}</code></td>
                <td>{r.text.clone()}</td>
                <td class="actions">
                    <span hidden=asking>
                        <button type="button" class="link-button" on:click=edit>
                            "Edit"<span class="visually-hidden">" " {shown.clone()}</span>
                        </button>
                        " "
                        <button
                            type="button"
                            class="link-button danger"
                            on:click=move |_| {
                                deleting.set(Some(id));
                                focus_id(format!("keep-{id}"));
                            }
                        >
                            "Delete"<span class="visually-hidden">" " {shown.clone()}</span>
                        </button>
                    </span>
                    <span role="group" aria-label="Delete the canned reply" hidden=move || !asking()>
                        {format!("Delete {shown}? ")}
                        <button type="button" class="primary" on:click=move |_| delete(id)>"Delete"</button>
                        " "
                        <button type="button" class="link-button" id=format!("keep-{id}") on:click=move |_| deleting.set(None)>
                            "Cancel"
                        </button>
                    </span>
                </td>
            </tr>
        }
    };
    view! {
        <section class="card wide" aria-labelledby="canned-heading">
            <h1 id="canned-heading">"Canned replies"</h1>
            <p class="muted">
                "Shared by the whole team. In a conversation, type / and a short code to put one in. "
                "Variables: " {CANNED_VARIABLES.join(", ")} "."
            </p>
            <p class="muted" hidden=move || !list.with(Vec::is_empty)>"No canned replies yet."</p>
            <table class="table" data-testid="canned-replies-list" hidden=move || list.with(Vec::is_empty)>
                <tbody>{move || list.with(|list| list.iter().map(row).collect_view())}</tbody>
            </table>
            <form
                class="inline-form"
                on:submit=submit
                aria-label=move || if editing.get().is_some() { "Change the canned reply" } else { "Add a canned reply" }
            >
                <input placeholder="Short code" aria-label="Short code" required maxlength="32" node_ref=field
                    prop:value=move || code.get() on:input=move |ev| code.set(event_target_value(&ev)) />
                <textarea class="search" placeholder="Text" aria-label="Text" required rows="2"
                    prop:value=move || text.get() on:input=move |ev| text.set(event_target_value(&ev))></textarea>
                <button type="submit" class="primary">
                    {move || if editing.get().is_some() { "Save canned reply" } else { "Add canned reply" }}
                </button>
                <button type="button" class="link-button" hidden=move || editing.get().is_none() on:click=move |_| clear()>
                    "Cancel"
                </button>
            </form>
            {move || error.get().map(|why| view! { <p class="form-error" role="alert">{why}</p> })}
        </section>
    }
}
