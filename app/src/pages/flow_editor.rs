//! The flow editor: a flow's name, its triggers, its start node and its nodes as a list of
//! forms. Every node is edited by one row whose fields follow its type; the draft is saved
//! as it is (half built is fine) and published after a save, when the server checks it. A
//! refusal names the node it is about (`nodes.<id>`), and that node's row is highlighted.
//!
//! A node's form keeps its fields as strings by name, so one row, one text box and one select
//! serve every type; [`NodeForm::to_json`] turns them back into the API's shape.

use std::collections::BTreeMap;

use gloo_net::http::Method;
use leptos::prelude::*;
use leptos::task::spawn_local;
use serde_json::{Value, json};
use switchboard::desk::Label;
use switchboard::flow::{Action, Flow, Node, Test};
use switchboard::{Channel, ChannelId, FlowId, WorkspaceMember};

use crate::client::http;

/// The node types, as the API names them and as the type select shows them.
const KINDS: [(&str, &str); 8] = [
    ("send", "Send a message"),
    ("ask", "Ask a question"),
    ("choice", "Offer choices"),
    ("condition", "Condition"),
    ("set_label", "Set a label"),
    ("hand_over", "Hand over to an agent"),
    ("http", "Call a URL"),
    ("end", "End"),
];

/// What a condition's rule may test.
const TESTS: [(&str, &str); 4] = [
    ("equals", "equals"),
    ("contains", "contains"),
    ("is_set", "is set"),
    ("business_hours", "within business hours"),
];

/// The fields that name the node a branch goes to.
const BRANCHES: [&str; 4] = ["next", "timeout_next", "otherwise", "failed"];

/// One node as the form edits it.
#[derive(Clone, Debug, Default)]
struct NodeForm {
    id: String,
    label: String,
    kind: String,
    /// The type's fields by name: `text`, `next`, `variable`, `secs`, `timeout_next`,
    /// `otherwise`, `label_id`, `assignee`, `method`, `url`, `body`, `failed`.
    fields: BTreeMap<&'static str, String>,
    /// A choice node's choices (`[label, next, …]`) or a condition's rules
    /// (`[test, variable, value, next]`).
    rows: Vec<[String; 4]>,
}

/// An empty string for none, the value otherwise.
fn text_of(value: &Option<impl ToString>) -> String {
    value.as_ref().map(ToString::to_string).unwrap_or_default()
}

/// A trimmed string as JSON, `null` when empty.
fn opt(s: &str) -> Value {
    if s.trim().is_empty() { Value::Null } else { json!(s.trim()) }
}

impl NodeForm {
    fn field(&self, key: &str) -> &str {
        self.fields.get(key).map(String::as_str).unwrap_or_default()
    }

    fn set(&mut self, key: &'static str, value: impl ToString) {
        self.fields.insert(key, value.to_string());
    }

    fn from_node(node: &Node) -> NodeForm {
        let mut f = NodeForm { id: node.id.clone(), label: node.label.clone(), ..NodeForm::default() };
        f.kind = node.action.kind().to_owned();
        let timeout = |f: &mut NodeForm, t: &Option<switchboard::flow::Timeout>| {
            if let Some(t) = t {
                f.set("secs", t.seconds);
                f.set("timeout_next", text_of(&t.next));
            }
        };
        match &node.action {
            Action::Send { text, next } => {
                f.set("text", text);
                f.set("next", text_of(next));
            }
            Action::Ask { text, variable, next, timeout: t } => {
                f.set("text", text);
                f.set("variable", variable);
                f.set("next", text_of(next));
                timeout(&mut f, t);
            }
            Action::Choice { text, choices, variable, otherwise, timeout: t } => {
                f.set("text", text);
                f.set("variable", text_of(variable));
                f.set("otherwise", text_of(otherwise));
                f.rows = choices
                    .iter()
                    .map(|c| [c.label.clone(), text_of(&c.next), String::new(), String::new()])
                    .collect();
                timeout(&mut f, t);
            }
            Action::Condition { rules, otherwise } => {
                f.set("otherwise", text_of(otherwise));
                f.rows = rules
                    .iter()
                    .map(|r| {
                        let (kind, variable, value) = match &r.test {
                            Test::Equals { variable, value } => ("equals", variable.clone(), value.clone()),
                            Test::Contains { variable, value } => {
                                ("contains", variable.clone(), value.clone())
                            }
                            Test::IsSet { variable } => ("is_set", variable.clone(), String::new()),
                            Test::BusinessHours => ("business_hours", String::new(), String::new()),
                        };
                        [kind.to_owned(), variable, value, text_of(&r.next)]
                    })
                    .collect();
            }
            Action::SetLabel { label_id, next } => {
                f.set("label_id", label_id);
                f.set("next", text_of(next));
            }
            Action::HandOver { assignee } => f.set("assignee", text_of(assignee)),
            Action::Http { method, url, body, variable, ok, failed } => {
                f.set("method", method.as_str());
                f.set("url", url);
                f.set("body", text_of(body));
                f.set("variable", text_of(variable));
                f.set("next", text_of(ok));
                f.set("failed", text_of(failed));
            }
            Action::End => {}
        }
        f
    }

    /// The node in the API's shape.
    fn to_json(&self) -> Value {
        let f = |key| self.field(key);
        let timeout = match f("secs").trim().parse::<u32>() {
            Ok(seconds) => json!({ "seconds": seconds, "next": opt(f("timeout_next")) }),
            Err(_) => Value::Null,
        };
        let action = match self.kind.as_str() {
            "send" => json!({ "type": "send", "text": f("text"), "next": opt(f("next")) }),
            "ask" => json!({
                "type": "ask", "text": f("text"), "variable": f("variable").trim(),
                "next": opt(f("next")), "timeout": timeout,
            }),
            "choice" => json!({
                "type": "choice", "text": f("text"),
                "choices": self.rows.iter().map(|r| json!({ "label": r[0].trim(), "next": opt(&r[1]) })).collect::<Vec<_>>(),
                "variable": opt(f("variable")), "otherwise": opt(f("otherwise")), "timeout": timeout,
            }),
            "condition" => json!({
                "type": "condition",
                "rules": self.rows.iter().map(|r| {
                    let test = match r[0].as_str() {
                        "equals" | "contains" => json!({ "type": r[0], "variable": r[1].trim(), "value": r[2] }),
                        "is_set" => json!({ "type": "is_set", "variable": r[1].trim() }),
                        _ => json!({ "type": "business_hours" }),
                    };
                    json!({ "test": test, "next": opt(&r[3]) })
                }).collect::<Vec<_>>(),
                "otherwise": opt(f("otherwise")),
            }),
            "set_label" => {
                json!({ "type": "set_label", "label_id": opt(f("label_id")), "next": opt(f("next")) })
            }
            "hand_over" => json!({ "type": "hand_over", "assignee": opt(f("assignee")) }),
            "http" => json!({
                "type": "http", "method": if f("method") == "POST" { "POST" } else { "GET" },
                "url": f("url").trim(), "body": opt(f("body")), "variable": opt(f("variable")),
                "ok": opt(f("next")), "failed": opt(f("failed")),
            }),
            _ => json!({ "type": "end" }),
        };
        json!({ "id": self.id.trim(), "label": self.label.trim(), "action": action })
    }
}

/// A value a field shows and the way to change it.
type Lens = (Signal<String>, Callback<String>);

fn field(node: RwSignal<NodeForm>, key: &'static str) -> Lens {
    (
        Signal::derive(move || node.with(|n| n.field(key).to_owned())),
        Callback::new(move |v: String| node.update(|n| n.set(key, v))),
    )
}

fn cell(node: RwSignal<NodeForm>, row: usize, col: usize) -> Lens {
    (
        Signal::derive(move || node.with(|n| n.rows.get(row).map(|r| r[col].clone()).unwrap_or_default())),
        Callback::new(move |v: String| {
            node.update(|n| {
                if let Some(r) = n.rows.get_mut(row) {
                    r[col] = v;
                }
            })
        }),
    )
}

/// A labelled text box (a text area when `long`).
#[component]
fn Text(label: &'static str, lens: Lens, #[prop(optional)] long: bool) -> impl IntoView {
    let (get, set) = lens;
    let input = move |ev| set.run(event_target_value(&ev));
    view! {
        <label class="field">
            <span>{label}</span>
            {if long {
                view! { <textarea rows="2" aria-label=label prop:value=get on:input=input></textarea> }.into_any()
            } else {
                view! { <input aria-label=label prop:value=get on:input=input /> }.into_any()
            }}
        </label>
    }
}

/// A labelled select of `(value, text)` options.
#[component]
fn Pick(label: &'static str, lens: Lens, options: Signal<Vec<(String, String)>>) -> impl IntoView {
    let (get, set) = lens;
    view! {
        <label class="field">
            <span>{label}</span>
            <select aria-label=label on:change=move |ev| set.run(event_target_value(&ev))>
                {move || {
                    options
                        .get()
                        .into_iter()
                        .map(|(value, text)| {
                            let chosen = value.clone();
                            view! { <option value=value prop:selected=move || get.get() == chosen>{text}</option> }
                        })
                        .collect_view()
                }}
            </select>
        </label>
    }
}

/// What the rows of the editor share.
#[derive(Clone, Copy)]
struct Ctx {
    nodes: RwSignal<Vec<(u32, RwSignal<NodeForm>)>>,
    /// The node ids, for the `next` selects.
    ids: Memo<Vec<String>>,
    labels: RwSignal<Vec<Label>>,
    members: RwSignal<Vec<WorkspaceMember>>,
    /// The node the server refused the flow for.
    bad: RwSignal<Option<String>>,
    start: RwSignal<String>,
}

impl Ctx {
    /// Gives `node` a new id, and the branches and start that pointed to the old one too (not
    /// from or to an empty id: while an id is retyped from scratch, branches keep the old one).
    fn rename(self, node: RwSignal<NodeForm>, id: String) {
        let old = node.with_untracked(|n| n.id.clone());
        node.update(|n| n.id = id.clone());
        if old.is_empty() || id.is_empty() {
            return;
        }
        if self.start.get_untracked() == old {
            self.start.set(id.clone());
        }
        for (_, other) in self.nodes.get_untracked() {
            other.update(|n| {
                let col = if n.kind == "choice" { 1 } else { 3 };
                let rows = n.rows.iter_mut().map(|r| &mut r[col]);
                for v in n.fields.iter_mut().filter(|(k, _)| BRANCHES.contains(k)).map(|(_, v)| v).chain(rows)
                {
                    if *v == old {
                        v.clone_from(&id);
                    }
                }
            })
        }
    }

    /// The nodes a branch of `own` may go to, and "end".
    fn targets(self, own: Memo<String>) -> Signal<Vec<(String, String)>> {
        Signal::derive(move || {
            let own = own.get();
            std::iter::once((String::new(), "(end)".to_owned()))
                .chain(
                    self.ids.get().into_iter().filter(|i| *i != own && !i.is_empty()).map(|i| (i.clone(), i)),
                )
                .collect()
        })
    }
}

fn fixed(list: &'static [(&'static str, &'static str)]) -> Signal<Vec<(String, String)>> {
    Signal::derive(move || list.iter().map(|(v, t)| ((*v).to_owned(), (*t).to_owned())).collect())
}

/// One node: its id, label and type, and the fields of that type.
#[component]
fn NodeRow(key: u32, node: RwSignal<NodeForm>, ctx: Ctx) -> impl IntoView {
    let own = Memo::new(move |_| node.with(|n| n.id.clone()));
    let kind = Memo::new(move |_| node.with(|n| n.kind.clone()));
    let rows = Memo::new(move |_| node.with(|n| n.rows.len()));
    let targets = ctx.targets(own);
    let id_lens: Lens = (own.into(), Callback::new(move |v: String| ctx.rename(node, v)));
    let label_lens: Lens = (
        Signal::derive(move || node.with(|n| n.label.clone())),
        Callback::new(move |v: String| node.update(|n| n.label = v)),
    );
    let kind_lens: Lens = (kind.into(), Callback::new(move |v: String| node.update(|n| n.kind = v)));
    let timeout = move || {
        view! {
            <Text label="Wait (seconds)" lens=field(node, "secs") />
            <Pick label="If no answer, go to" lens=field(node, "timeout_next") options=targets />
        }
    };
    let add_row = move |_| node.update(|n| n.rows.push(Default::default()));
    let remove_row = move |i: usize| node.update(|n| drop(n.rows.remove(i)));
    let fields = move || {
        match kind.get().as_str() {
        "send" => view! {
            <Text label="Text" lens=field(node, "text") long=true />
            <Pick label="Next" lens=field(node, "next") options=targets />
        }
        .into_any(),
        "ask" => view! {
            <Text label="Question" lens=field(node, "text") long=true />
            <Text label="Keep the answer in" lens=field(node, "variable") />
            <Pick label="Next" lens=field(node, "next") options=targets />
            {timeout()}
        }
        .into_any(),
        "choice" => view! {
            <Text label="Question" lens=field(node, "text") long=true />
            {move || (0..rows.get()).map(|i| view! {
                <div class="flow-row" data-testid="flow-choice">
                    <Text label="Choice" lens=cell(node, i, 0) />
                    <Pick label="Goes to" lens=cell(node, i, 1) options=targets />
                    <button type="button" class="link-button" on:click=move |_| remove_row(i)>"Remove choice"</button>
                </div>
            }).collect_view()}
            <button type="button" class="link-button" on:click=add_row>"Add a choice"</button>
            <Text label="Keep the choice in" lens=field(node, "variable") />
            <Pick label="Otherwise" lens=field(node, "otherwise") options=targets />
            {timeout()}
        }
        .into_any(),
        "condition" => view! {
            {move || (0..rows.get()).map(|i| view! {
                <div class="flow-row" data-testid="flow-rule">
                    <Pick label="Test" lens=cell(node, i, 0) options=fixed(&TESTS) />
                    <Text label="Variable" lens=cell(node, i, 1) />
                    <Text label="Value" lens=cell(node, i, 2) />
                    <Pick label="Goes to" lens=cell(node, i, 3) options=targets />
                    <button type="button" class="link-button" on:click=move |_| remove_row(i)>"Remove rule"</button>
                </div>
            }).collect_view()}
            <button type="button" class="link-button" on:click=add_row>"Add a rule"</button>
            <Pick label="Otherwise" lens=field(node, "otherwise") options=targets />
        }
        .into_any(),
        "set_label" => {
            let labels = Signal::derive(move || {
                let list = ctx.labels.with(|l| l.iter().map(|l| (l.id.to_string(), l.name.clone())).collect::<Vec<_>>());
                std::iter::once((String::new(), "Choose a label".to_owned())).chain(list).collect()
            });
            view! {
                <Pick label="Label" lens=field(node, "label_id") options=labels />
                <Pick label="Next" lens=field(node, "next") options=targets />
            }
            .into_any()
        }
        "hand_over" => {
            let members = Signal::derive(move || {
                let list = ctx.members.with(|l| l.iter().map(|m| (m.user_id.to_string(), m.name.clone())).collect::<Vec<_>>());
                std::iter::once((String::new(), "The queue".to_owned())).chain(list).collect()
            });
            view! { <Pick label="Give it to" lens=field(node, "assignee") options=members /> }.into_any()
        }
        "http" => view! {
            <Pick label="Method" lens=field(node, "method") options=fixed(&[("GET", "GET"), ("POST", "POST")]) />
            <Text label="URL" lens=field(node, "url") />
            <Text label="Body" lens=field(node, "body") long=true />
            <Text label="Keep the answer in" lens=field(node, "variable") />
            <Pick label="On success" lens=field(node, "next") options=targets />
            <Pick label="On failure" lens=field(node, "failed") options=targets />
        }
        .into_any(),
        _ => ().into_any(),
    }
    };
    let remove = move |_| ctx.nodes.update(|list| list.retain(|(k, _)| *k != key));
    view! {
        <fieldset
            class="flow-node"
            class:bad=move || ctx.bad.get().is_some_and(|b| b == own.get())
            data-testid="flow-node"
            data-node=move || own.get()
        >
            <legend>{move || format!("Node {}", own.get())}</legend>
            <div class="flow-row">
                <Text label="Id" lens=id_lens />
                <Text label="Name in the trail" lens=label_lens />
                <Pick label="Type" lens=kind_lens options=fixed(&KINDS) />
                <button type="button" class="link-button danger" on:click=remove>"Remove node"</button>
            </div>
            {fields}
        </fieldset>
    }
}

/// The editor of one flow (`None`: a new one). `changed` runs after a save or a publish.
#[component]
pub fn Editor(flow: Option<Flow>, changed: Callback<()>, close: Callback<()>) -> impl IntoView {
    let id = RwSignal::new(flow.as_ref().map(|f| f.id));
    let name = RwSignal::new(flow.as_ref().map(|f| f.name.clone()).unwrap_or_default());
    let on = RwSignal::new(flow.as_ref().map(|f| f.triggers.new_conversation_on.clone()).unwrap_or_default());
    let keywords = RwSignal::new(flow.as_ref().map(|f| f.triggers.keywords.join(", ")).unwrap_or_default());
    let start = RwSignal::new(flow.as_ref().map(|f| f.draft.start.clone()).unwrap_or_default());
    let next_key = StoredValue::new(0u32);
    let key = move || {
        next_key.update_value(|k| *k += 1);
        next_key.get_value()
    };
    let nodes: RwSignal<Vec<(u32, RwSignal<NodeForm>)>> = RwSignal::new(
        flow.as_ref()
            .map(|f| f.draft.nodes.iter().map(|n| (key(), RwSignal::new(NodeForm::from_node(n)))).collect())
            .unwrap_or_default(),
    );
    let ids = Memo::new(move |_| {
        nodes.with(|l| l.iter().map(|(_, n)| n.with(|n| n.id.clone())).collect::<Vec<_>>())
    });
    let ctx = Ctx {
        nodes,
        ids,
        labels: RwSignal::new(Vec::new()),
        members: RwSignal::new(Vec::new()),
        bad: RwSignal::new(None),
        start,
    };
    let channels = RwSignal::new(Vec::<Channel>::new());
    let error = RwSignal::new(None::<String>);
    let notice = RwSignal::new(None::<String>);
    Effect::new(move |_| {
        spawn_local(async move {
            if let Ok(list) = http::get::<Vec<Channel>>("/channels").await {
                channels.set(list);
            }
            if let Ok(list) = http::get::<Vec<Label>>("/labels").await {
                ctx.labels.set(list);
            }
            if let Ok(list) = http::get::<Vec<WorkspaceMember>>("/members").await {
                ctx.members.set(list);
            }
        })
    });
    let add = move |_| {
        let taken = ids.get_untracked();
        let n = (1..).find(|n| !taken.contains(&format!("node{n}"))).unwrap_or(1);
        let form = NodeForm { id: format!("node{n}"), kind: "send".into(), ..NodeForm::default() };
        if start.get_untracked().is_empty() {
            start.set(form.id.clone());
        }
        nodes.update(|l| l.push((key(), RwSignal::new(form))));
    };
    // Saves the draft; answers the flow's id once saved.
    let save = move || async move {
        let body = json!({
            "name": name.get_untracked().trim(),
            "triggers": {
                "new_conversation_on": on.get_untracked(),
                "keywords": keywords.get_untracked().split(',').map(str::trim).filter(|k| !k.is_empty()).collect::<Vec<_>>(),
            },
            "graph": {
                "start": start.get_untracked(),
                "nodes": nodes.with_untracked(|l| l.iter().map(|(_, n)| n.with_untracked(NodeForm::to_json)).collect::<Vec<_>>()),
            },
        });
        let answer = match id.get_untracked() {
            Some(flow) => http::send::<Flow>(Method::PUT, &format!("/flows/{flow}"), &body).await,
            None => http::send::<Flow>(Method::POST, "/flows", &body).await,
        };
        match answer {
            Ok(flow) => {
                id.set(Some(flow.id));
                changed.run(());
                Some(flow.id)
            }
            Err(e) => {
                error.set(Some(e.message));
                None
            }
        }
    };
    let begin = move || {
        error.set(None);
        notice.set(None);
        ctx.bad.set(None);
    };
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        begin();
        spawn_local(async move {
            if save().await.is_some() {
                notice.set(Some("Draft saved.".into()));
            }
        });
    };
    let publish = move |_| {
        begin();
        spawn_local(async move {
            let Some(flow): Option<FlowId> = save().await else { return };
            match http::post_naming_field(&format!("/flows/{flow}/publish")).await {
                Ok(()) => {
                    notice.set(Some("Published.".into()));
                    changed.run(());
                }
                Err((e, field)) => {
                    ctx.bad.set(field.and_then(|f| f.strip_prefix("nodes.").map(str::to_owned)));
                    error.set(Some(e.message));
                }
            }
        });
    };
    let start_options =
        Signal::derive(move || ids.get().into_iter().map(|i| (i.clone(), i)).collect::<Vec<_>>());
    let channel_box = move |c: &Channel| {
        let cid: ChannelId = c.id;
        view! {
            <label class="check">
                <input
                    type="checkbox"
                    prop:checked=move || on.with(|l| l.contains(&cid))
                    on:change=move |ev| {
                        let checked = event_target_checked(&ev);
                        on.update(|l| {
                            l.retain(|c| *c != cid);
                            if checked {
                                l.push(cid);
                            }
                        })
                    }
                />
                {format!(" {} ({})", c.name, c.provider.as_str())}
            </label>
        }
    };
    view! {
        <form class="card wide flow-editor" on:submit=submit aria-label="Flow">
            <h2>{move || if id.get().is_some() { "Edit the flow" } else { "New flow" }}</h2>
            <Text
                label="Name"
                lens=(name.into(), Callback::new(move |v| name.set(v)))
            />
            <fieldset>
                <legend>"Starts on a new conversation on"</legend>
                {move || channels.with(|l| l.iter().map(channel_box).collect_view())}
            </fieldset>
            <Text
                label="Or on these keywords (comma-separated)"
                lens=(keywords.into(), Callback::new(move |v| keywords.set(v)))
            />
            <Pick label="Start node" lens=(start.into(), Callback::new(move |v| start.set(v))) options=start_options />
            <For each=move || nodes.get() key=|(k, _)| *k let((k, node))>
                <NodeRow key=k node ctx />
            </For>
            <p>
                <button type="button" class="link-button" on:click=add>"Add a node"</button>
            </p>
            {move || error.get().map(|why| view! { <p class="form-error" role="alert">{why}</p> })}
            {move || notice.get().map(|what| view! { <p class="hint" role="status">{what}</p> })}
            <div class="flow-row">
                <button type="submit">"Save draft"</button>
                <button type="button" class="primary" on:click=publish>"Publish"</button>
                <button type="button" class="link-button" on:click=move |_| close.run(())>"Close"</button>
            </div>
        </form>
    }
}
