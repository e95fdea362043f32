//! The admin page's labels (owners and admins): add one with its colour; change one in the same
//! form (its Edit button fills it); delete one (it comes off every conversation) after a question
//! asked in its row. Agents put them on conversations from the conversation's header.

use gloo_net::http::Method;
use leptos::html::Input;
use leptos::prelude::*;
use leptos::task::spawn_local;
use switchboard::LabelId;
use switchboard::desk::{Label, LabelInput};

use super::desk::LabelChip;
use crate::client::http;
use crate::inbox::desk::body;

/// The colours a new label is offered, one after the other.
const OFFERED: [&str; 6] = ["#2563eb", "#16a34a", "#d97706", "#dc2626", "#7c3aed", "#0891b2"];

/// Puts the focus on the element with this id, once it is shown.
pub fn focus_id(id: String) {
    request_animation_frame(move || {
        if let Some(el) = document().get_element_by_id(&id) {
            let _ = wasm_bindgen::JsCast::unchecked_into::<web_sys::HtmlElement>(el).focus();
        }
    });
}

/// The labels' section of the admin page.
#[component]
pub fn Labels() -> impl IntoView {
    let list = RwSignal::new(Vec::<Label>::new());
    let error = RwSignal::new(None::<String>);
    let name = RwSignal::new(String::new());
    let color = RwSignal::new(OFFERED[0].to_owned());
    // The label the form changes (none: it adds one), and the one asking before a delete.
    let editing = RwSignal::new(None::<LabelId>);
    let deleting = RwSignal::new(None::<LabelId>);
    let field = NodeRef::<Input>::new();
    let reload = move || {
        spawn_local(async move {
            match http::get::<Vec<Label>>("/labels").await {
                Ok(found) => {
                    if editing.get_untracked().is_none() {
                        color.set(OFFERED[found.len() % OFFERED.len()].to_owned());
                    }
                    list.set(found);
                }
                Err(e) => error.set(Some(e.message)),
            }
        })
    };
    Effect::new(move |_| reload());
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        error.set(None);
        let body = body(&LabelInput { name: name.get_untracked(), color: Some(color.get_untracked()) });
        let (method, path) = match editing.get_untracked() {
            Some(id) => (Method::PATCH, format!("/labels/{id}")),
            None => (Method::POST, "/labels".to_owned()),
        };
        spawn_local(async move {
            match http::send::<serde_json::Value>(method, &path, &body).await {
                Ok(_) => {
                    editing.set(None);
                    name.set(String::new());
                    reload();
                }
                Err(e) => error.set(Some(e.message)),
            }
        });
    };
    let delete = move |id: LabelId| {
        error.set(None);
        spawn_local(async move {
            if let Err(e) = http::delete::<()>(&format!("/labels/{id}")).await {
                error.set(Some(e.message));
            }
            deleting.set(None);
            if let Some(f) = field.get_untracked() {
                let _ = f.focus();
            }
            reload();
        });
    };
    let row = move |l: &Label| {
        let id = l.id;
        let asking = move || deleting.get() == Some(id);
        let edit = {
            let l = l.clone();
            move |_| {
                deleting.set(None);
                editing.set(Some(l.id));
                name.set(l.name.clone());
                color.set(l.color.clone());
                if let Some(f) = field.get_untracked() {
                    let _ = f.focus();
                }
            }
        };
        view! {
            <tr data-testid="label-row">
                <td><LabelChip color=l.color.clone() name=l.name.clone() /></td>
                <td class="actions">
                    <span hidden=asking>
                        <button type="button" class="link-button" on:click=edit>
                            "Edit"<span class="visually-hidden">" " {l.name.clone()}</span>
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
                            "Delete"<span class="visually-hidden">" " {l.name.clone()}</span>
                        </button>
                    </span>
                    <span role="group" aria-label="Delete the label" hidden=move || !asking()>
                        {format!("Delete “{}”? It comes off every conversation. ", l.name)}
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
        <section class="card wide" aria-labelledby="labels-heading">
            <h1 id="labels-heading">"Labels"</h1>
            <p class="muted">"Agents put labels on conversations to sort the work, and filter the inbox by them."</p>
            <p class="muted" hidden=move || !list.with(Vec::is_empty)>"No labels yet."</p>
            <table class="table" data-testid="labels" hidden=move || list.with(Vec::is_empty)>
                <tbody>{move || list.with(|list| list.iter().map(row).collect_view())}</tbody>
            </table>
            <form
                class="inline-form"
                on:submit=submit
                aria-label=move || if editing.get().is_some() { "Change the label" } else { "Add a label" }
            >
                <input placeholder="Label name" aria-label="Label name" required maxlength="40" node_ref=field
                    prop:value=move || name.get() on:input=move |ev| name.set(event_target_value(&ev)) />
                <input type="color" aria-label="Label colour"
                    prop:value=move || color.get() on:input=move |ev| color.set(event_target_value(&ev)) />
                <button type="submit" class="primary">
                    {move || if editing.get().is_some() { "Save label" } else { "Add label" }}
                </button>
                <button
                    type="button"
                    class="link-button"
                    hidden=move || editing.get().is_none()
                    on:click=move |_| {
                        editing.set(None);
                        name.set(String::new());
                    }
                >
                    "Cancel"
                </button>
            </form>
            {move || error.get().map(|why| view! { <p class="form-error" role="alert">{why}</p> })}
        </section>
    }
}
