//! Running a flow: one node (or one answer) at a time, as a pure function. The server stores
//! the session's cursor after every step and applies the effects the step returns; a step
//! taken again after a crash returns the same effects, which the server sends under the same
//! key, so nothing reaches the customer twice.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{Action, Completion, FlowGraph, NodeId, SessionStatus, Test};
use crate::ids::{LabelId, UserId};

/// Most steps one wake-up of a session takes before it must wait (validation already refuses
/// loops that never wait; this bounds a run whatever the graph).
pub const MAX_STEPS_PER_WAKE: usize = 100;
/// Most characters of an HTTP answer kept in a variable.
pub const MAX_HTTP_VARIABLE: usize = 1000;

/// What moves a session on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Input {
    /// Run the node the session is at (after a start, or after the previous node).
    Continue,
    /// The customer answered.
    Reply(String),
    /// The question's time ran out.
    Timeout,
    /// The answer of the HTTP node the session is at (none: no answer, e.g. refused or timed
    /// out).
    Http(Option<HttpAnswer>),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpAnswer {
    pub status: u16,
    pub body: String,
}

/// What the world looks like to a condition.
#[derive(Clone, Copy, Debug, Default)]
pub struct Env {
    pub business_hours_open: bool,
}

/// What a step asks the server to do.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Effect {
    /// Send this text to the customer; `choices` are offered as buttons (the send path shows
    /// them as numbered lines of the text on a network without buttons).
    Send {
        text: String,
        choices: Vec<String>,
    },
    SetLabel(LabelId),
    HandOver {
        assignee: Option<UserId>,
    },
}

/// Where the session goes after a step.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Next {
    /// On to this node, at once.
    Run(NodeId),
    /// Wait at this node for the customer, up to `timeout_secs` when set.
    Wait { node: NodeId, timeout_secs: Option<u32> },
    /// The session ends.
    End(Completion),
}

/// One step's outcome.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Step {
    /// The node run in this step (none when the step handled an answer or a timeout).
    pub executed: Option<NodeId>,
    pub effects: Vec<Effect>,
    pub next: Next,
}

/// A step that cannot be taken: the stored cursor does not fit the graph or the input.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RunError {
    #[error("the flow has no node “{0}”")]
    NoSuchNode(NodeId),
    #[error("node “{0}” is an HTTP call and needs its answer")]
    NeedsHttp(NodeId),
    #[error("the session is not waiting for an answer at “{0}”")]
    NotWaiting(NodeId),
}

/// The HTTP request the node `node` makes, with variables filled in (method, URL, body).
pub fn http_request(
    graph: &FlowGraph,
    node: &str,
    vars: &BTreeMap<String, String>,
) -> Option<(super::HttpMethod, String, Option<String>)> {
    match &graph.node(node)?.action {
        Action::Http { method, url, body, .. } => {
            Some((*method, render_url(url, vars), body.as_ref().map(|b| render(b, vars))))
        }
        _ => None,
    }
}

/// Takes one step from `node` in `status`: runs the node (`Running`), or handles the answer or
/// the timeout it waits for (`WaitingInput`). Variables an answer sets are written to `vars`.
pub fn step(
    graph: &FlowGraph,
    status: SessionStatus,
    node: &str,
    vars: &mut BTreeMap<String, String>,
    input: Input,
    env: Env,
) -> Result<Step, RunError> {
    let current = graph.node(node).ok_or_else(|| RunError::NoSuchNode(node.to_owned()))?;
    let goto = |next: &Option<NodeId>| match next {
        Some(id) => Next::Run(id.clone()),
        None => Next::End(Completion::Finished),
    };
    if status == SessionStatus::WaitingInput {
        let answered = |next: Next| Ok(Step { executed: None, effects: Vec::new(), next });
        return match (&current.action, input) {
            (Action::Ask { timeout, .. } | Action::Choice { timeout, .. }, Input::Timeout) => {
                match timeout.as_ref().and_then(|t| t.next.as_ref()) {
                    Some(next) => answered(Next::Run(next.clone())),
                    None => answered(Next::End(Completion::TimedOut)),
                }
            }
            (Action::Ask { variable, next, .. }, Input::Reply(text)) => {
                vars.insert(variable.clone(), text.trim().to_owned());
                answered(goto(next))
            }
            (Action::Choice { choices, variable, otherwise, timeout, text, .. }, Input::Reply(answer)) => {
                let labels: Vec<&str> = choices.iter().map(|c| c.label.as_str()).collect();
                match pick(&labels, &answer) {
                    Some(i) => {
                        if let Some(v) = variable {
                            vars.insert(v.clone(), choices[i].label.trim().to_owned());
                        }
                        answered(goto(&choices[i].next))
                    }
                    None if otherwise.is_some() => answered(goto(otherwise)),
                    // Asked again, with the choices, and waits again.
                    None => Ok(Step {
                        executed: None,
                        effects: vec![Effect::Send {
                            text: format!("Please pick one of these. {}", render(text, vars)),
                            choices: labels.iter().map(|l| l.to_string()).collect(),
                        }],
                        next: Next::Wait {
                            node: node.to_owned(),
                            timeout_secs: timeout.as_ref().map(|t| t.seconds),
                        },
                    }),
                }
            }
            _ => Err(RunError::NotWaiting(node.to_owned())),
        };
    }
    let ran = |effects: Vec<Effect>, next: Next| Ok(Step { executed: Some(node.to_owned()), effects, next });
    match &current.action {
        Action::Send { text, next } => {
            ran(vec![Effect::Send { text: render(text, vars), choices: Vec::new() }], goto(next))
        }
        Action::Ask { text, timeout, .. } => ran(
            vec![Effect::Send { text: render(text, vars), choices: Vec::new() }],
            Next::Wait { node: node.to_owned(), timeout_secs: timeout.as_ref().map(|t| t.seconds) },
        ),
        Action::Choice { text, choices, timeout, .. } => {
            let labels: Vec<&str> = choices.iter().map(|c| c.label.as_str()).collect();
            ran(
                vec![Effect::Send {
                    text: render(text, vars),
                    choices: labels.iter().map(|l| l.to_string()).collect(),
                }],
                Next::Wait { node: node.to_owned(), timeout_secs: timeout.as_ref().map(|t| t.seconds) },
            )
        }
        Action::Condition { rules, otherwise } => {
            let next = rules.iter().find(|r| holds(&r.test, vars, env)).map_or(otherwise, |r| &r.next);
            ran(Vec::new(), goto(next))
        }
        Action::SetLabel { label_id, next } => ran(vec![Effect::SetLabel(*label_id)], goto(next)),
        Action::HandOver { assignee } => {
            ran(vec![Effect::HandOver { assignee: *assignee }], Next::End(Completion::HandedOver))
        }
        Action::Http { variable, ok, failed, .. } => {
            let Input::Http(answer) = input else {
                return Err(RunError::NeedsHttp(node.to_owned()));
            };
            if let (Some(v), Some(a)) = (variable, &answer) {
                vars.insert(v.clone(), a.body.chars().take(MAX_HTTP_VARIABLE).collect());
            }
            let success = answer.is_some_and(|a| (200..300).contains(&a.status));
            ran(Vec::new(), goto(if success { ok } else { failed }))
        }
        Action::End => ran(Vec::new(), Next::End(Completion::Finished)),
    }
}

/// Which choice an answer picks: its number ("2", "2."), or its label whatever the case and
/// the spaces around it.
pub fn pick(labels: &[&str], answer: &str) -> Option<usize> {
    let answer = answer.trim().trim_end_matches('.').trim();
    if let Ok(n) = answer.parse::<usize>() {
        return (1..=labels.len()).contains(&n).then(|| n - 1);
    }
    let answer = answer.to_lowercase();
    labels.iter().position(|l| l.trim().to_lowercase() == answer)
}

fn holds(test: &Test, vars: &BTreeMap<String, String>, env: Env) -> bool {
    let value = |name: &str| vars.get(name).map(|v| v.trim().to_lowercase()).unwrap_or_default();
    match test {
        Test::Equals { variable, value: want } => value(variable) == want.trim().to_lowercase(),
        Test::Contains { variable, value: want } => {
            let want = want.trim().to_lowercase();
            !want.is_empty() && value(variable).contains(&want)
        }
        Test::IsSet { variable } => !value(variable).is_empty(),
        Test::BusinessHours => env.business_hours_open,
    }
}

/// Fills `{{name}}` with the variable's value; an unknown variable becomes nothing (the
/// customer never sees braces).
pub fn render(text: &str, vars: &BTreeMap<String, String>) -> String {
    fill(text, |name| vars.get(name).cloned().unwrap_or_default())
}

/// As [`render`], with each value percent-encoded for a URL.
fn render_url(url: &str, vars: &BTreeMap<String, String>) -> String {
    fill(url, |name| {
        let value = vars.get(name).map(String::as_str).unwrap_or_default();
        value
            .bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                    (b as char).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect()
    })
}

fn fill(text: &str, value: impl Fn(&str) -> String) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(open) = rest.find("{{") {
        let Some(close) = rest[open + 2..].find("}}") else { break };
        out.push_str(&rest[..open]);
        out.push_str(&value(rest[open + 2..open + 2 + close].trim()));
        rest = &rest[open + 2 + close + 2..];
    }
    out.push_str(rest);
    out
}

/// The variables a session starts with: the contact's name and first name.
pub fn contact_variables(name: &str) -> BTreeMap<String, String> {
    let name = name.trim();
    let first = name.split_whitespace().next().unwrap_or_default();
    BTreeMap::from([
        ("contact.name".to_owned(), name.to_owned()),
        ("contact.first_name".to_owned(), first.to_owned()),
    ])
}
