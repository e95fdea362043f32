//! Chatbot flows: a workspace's automated first answers, as a graph of nodes an admin edits
//! and publishes, and the sessions that run a published version in one conversation each.
//!
//! A flow's graph is plain data ([`FlowGraph`]): nodes with ids, each an [`Action`] naming the
//! nodes it goes on to. [`FlowGraph::validate`] refuses what could never run well before it is
//! published (a branch to nowhere, a node nothing reaches, a loop that never waits for the
//! customer). [`run`] executes a graph one node at a time as a pure function of the session's
//! cursor and what happened (the customer's reply, a timeout, an HTTP answer); the server
//! applies the effects it returns and stores the cursor after each node, so a session resumes
//! where it stopped after a restart and a node's message is sent under a key derived from the
//! session and the step, never twice.

pub mod events;
pub mod run;
mod session;
#[cfg(test)]
mod tests;

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::{ChannelId, FlowId, LabelId, UserId, WorkspaceId};
use crate::validate::ValidationError;

/// Most nodes in one flow.
pub const MAX_NODES: usize = 200;
/// Longest text a node sends.
pub const MAX_NODE_TEXT: usize = 4096;
/// Most choices a choice node offers.
pub const MAX_CHOICES: usize = crate::message::MAX_BUTTONS;
/// Longest label of a node or a choice.
pub const MAX_LABEL: usize = 80;
// A choice is sent as a quick-reply button: its label must pass as one.
const _: () = assert!(MAX_LABEL <= crate::message::MAX_BUTTON_LABEL);
/// The shortest and longest wait for a customer's answer.
pub const MIN_TIMEOUT_SECS: u32 = 10;
pub const MAX_TIMEOUT_SECS: u32 = 7 * 24 * 3600;
/// Most keywords that start one flow.
pub const MAX_KEYWORDS: usize = 20;

/// A node's id: short, stable across edits, unique in its flow.
pub type NodeId = String;

/// What a flow does, node by node. The run begins at `start`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct FlowGraph {
    pub start: NodeId,
    pub nodes: Vec<Node>,
}

/// One step of a flow.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Node {
    pub id: NodeId,
    /// What the session trail and the editor call it (the id when empty).
    #[serde(default)]
    pub label: String,
    pub action: Action,
}

impl Node {
    /// The label, or the id when there is none.
    pub fn name(&self) -> &str {
        if self.label.trim().is_empty() { &self.id } else { &self.label }
    }
}

/// What a node does and where the run goes next. A `next` of none ends the run there.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Action {
    /// Sends a text (with `{{variables}}` filled in).
    Send { text: String, next: Option<NodeId> },
    /// Sends a question and waits for the answer, kept in `variable`.
    Ask {
        text: String,
        variable: String,
        next: Option<NodeId>,
        #[serde(default)]
        timeout: Option<Timeout>,
    },
    /// Offers choices (the network's buttons where it has them, numbered lines otherwise) and
    /// goes where the answer points; an answer that matches none asks again, or goes to
    /// `otherwise` when set.
    Choice {
        text: String,
        choices: Vec<Choice>,
        /// Where the chosen label is kept, when set.
        #[serde(default)]
        variable: Option<String>,
        #[serde(default)]
        otherwise: Option<NodeId>,
        #[serde(default)]
        timeout: Option<Timeout>,
    },
    /// Goes to the first rule that holds, else to `otherwise`.
    Condition { rules: Vec<Rule>, otherwise: Option<NodeId> },
    /// Puts a label on the conversation.
    SetLabel { label_id: LabelId, next: Option<NodeId> },
    /// Ends the bot and gives the conversation to the team: to `assignee` when set, else to
    /// the queue (unassigned, or round-robin where the channel has it).
    HandOver {
        #[serde(default)]
        assignee: Option<UserId>,
    },
    /// Calls a URL (variables filled into it and the body); a 2xx answer goes to `ok`, any other
    /// answer or none to `failed`. The answer's body (its first 1,000 characters) is kept in
    /// `variable` when set.
    Http {
        method: HttpMethod,
        url: String,
        #[serde(default)]
        body: Option<String>,
        #[serde(default)]
        variable: Option<String>,
        ok: Option<NodeId>,
        failed: Option<NodeId>,
    },
    /// Ends the run.
    End,
}

/// How long a question waits, and where the run goes when nobody answers (none: the session
/// expires).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Timeout {
    pub seconds: u32,
    #[serde(default)]
    pub next: Option<NodeId>,
}

/// One answer a choice node offers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Choice {
    pub label: String,
    pub next: Option<NodeId>,
}

/// A branch of a condition node.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Rule {
    pub test: Test,
    pub next: Option<NodeId>,
}

/// What a rule checks. Comparisons ignore case and the spaces around the value.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Test {
    Equals {
        variable: String,
        value: String,
    },
    Contains {
        variable: String,
        value: String,
    },
    /// The variable has a non-empty value.
    IsSet {
        variable: String,
    },
    /// Now is within the workspace's business hours.
    BusinessHours,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "UPPERCASE")]
pub enum HttpMethod {
    Get,
    Post,
}

impl HttpMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            HttpMethod::Get => "GET",
            HttpMethod::Post => "POST",
        }
    }
}

impl Action {
    /// Every node this one may go on to, in order.
    pub fn targets(&self) -> Vec<&NodeId> {
        fn timeout(t: &Option<Timeout>) -> Option<&NodeId> {
            t.as_ref().and_then(|t| t.next.as_ref())
        }
        let mut out: Vec<Option<&NodeId>> = Vec::new();
        match self {
            Action::Send { next, .. } | Action::SetLabel { next, .. } => out.push(next.as_ref()),
            Action::Ask { next, timeout: t, .. } => {
                out.push(next.as_ref());
                out.push(timeout(t));
            }
            Action::Choice { choices, otherwise, timeout: t, .. } => {
                out.extend(choices.iter().map(|c| c.next.as_ref()));
                out.push(otherwise.as_ref());
                out.push(timeout(t));
            }
            Action::Condition { rules, otherwise } => {
                out.extend(rules.iter().map(|r| r.next.as_ref()));
                out.push(otherwise.as_ref());
            }
            Action::Http { ok, failed, .. } => {
                out.push(ok.as_ref());
                out.push(failed.as_ref());
            }
            Action::HandOver { .. } | Action::End => {}
        }
        out.into_iter().flatten().collect()
    }

    /// Whether the run stops here for the customer's answer (a loop through such a node is a
    /// conversation; a loop through none would spin).
    pub fn waits(&self) -> bool {
        matches!(self, Action::Ask { .. } | Action::Choice { .. })
    }

    /// The name the editor shows for the kind of node.
    pub fn kind(&self) -> &'static str {
        match self {
            Action::Send { .. } => "send",
            Action::Ask { .. } => "ask",
            Action::Choice { .. } => "choice",
            Action::Condition { .. } => "condition",
            Action::SetLabel { .. } => "set_label",
            Action::HandOver { .. } => "hand_over",
            Action::Http { .. } => "http",
            Action::End => "end",
        }
    }
}

fn check_variable(field: &str, name: &str) -> Result<(), ValidationError> {
    let ok = !name.is_empty()
        && name.len() <= 32
        && name.starts_with(|c: char| c.is_ascii_lowercase() || c == '_')
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if ok {
        Ok(())
    } else {
        Err(ValidationError::new(
            field,
            format!(
                "“{name}” is not a variable name (a–z, digits and _, up to 32, not starting with a digit)"
            ),
        ))
    }
}

fn check_text(field: &str, text: &str) -> Result<(), ValidationError> {
    if text.trim().is_empty() {
        return Err(ValidationError::new(field, "is empty"));
    }
    if text.chars().count() > MAX_NODE_TEXT {
        return Err(ValidationError::new(field, format!("is longer than {MAX_NODE_TEXT} characters")));
    }
    Ok(())
}

fn check_timeout(field: &str, timeout: &Option<Timeout>) -> Result<(), ValidationError> {
    match timeout {
        Some(t) if !(MIN_TIMEOUT_SECS..=MAX_TIMEOUT_SECS).contains(&t.seconds) => Err(ValidationError::new(
            field,
            format!("is {MIN_TIMEOUT_SECS} seconds to {} days", MAX_TIMEOUT_SECS / 86_400),
        )),
        _ => Ok(()),
    }
}

impl FlowGraph {
    /// The node with this id.
    pub fn node(&self, id: &str) -> Option<&Node> {
        self.nodes.iter().find(|n| n.id == id)
    }

    /// Checks that the graph can run: ids unique and well formed, every branch leads to a node
    /// of the flow, every node is reached from the start, every loop waits for the customer,
    /// texts, choices, variables and timeouts within bounds. The first problem found is told,
    /// with the node it is on (`field` is `nodes.<id>`).
    pub fn validate(&self) -> Result<(), ValidationError> {
        if self.nodes.is_empty() {
            return Err(ValidationError::new("nodes", "A flow needs at least one node"));
        }
        if self.nodes.len() > MAX_NODES {
            return Err(ValidationError::new("nodes", format!("A flow has at most {MAX_NODES} nodes")));
        }
        let mut ids = HashSet::new();
        for node in &self.nodes {
            let well_formed = !node.id.is_empty()
                && node.id.len() <= 40
                && node.id.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
            if !well_formed {
                return Err(ValidationError::new(
                    "nodes",
                    format!("“{}” is not a node id (letters, digits, _ and -, up to 40)", node.id),
                ));
            }
            if !ids.insert(node.id.as_str()) {
                return Err(ValidationError::new("nodes", format!("Two nodes have the id “{}”", node.id)));
            }
        }
        if !ids.contains(self.start.as_str()) {
            return Err(ValidationError::new("start", format!("“{}” is not a node of the flow", self.start)));
        }
        for node in &self.nodes {
            let field = format!("nodes.{}", node.id);
            if node.label.chars().count() > MAX_LABEL {
                return Err(ValidationError::new(
                    &field,
                    format!("The label is longer than {MAX_LABEL} characters"),
                ));
            }
            self.check_node(&field, &node.action)?;
            if let Some(missing) = node.action.targets().into_iter().find(|t| !ids.contains(t.as_str())) {
                return Err(ValidationError::new(
                    &field,
                    format!("“{}” goes to “{missing}”, which is not a node of the flow", node.name()),
                ));
            }
        }
        let reached = self.reachable();
        if let Some(lost) = self.nodes.iter().find(|n| !reached.contains(n.id.as_str())) {
            return Err(ValidationError::new(
                &format!("nodes.{}", lost.id),
                format!("Nothing leads to “{}”: link it from another node or remove it", lost.name()),
            ));
        }
        if let Some(node) = self.spinning_loop() {
            return Err(ValidationError::new(
                &format!("nodes.{node}"),
                format!(
                    "“{node}” is on a loop that never waits for the customer; put a question or a choice on it"
                ),
            ));
        }
        Ok(())
    }

    fn check_node(&self, field: &str, action: &Action) -> Result<(), ValidationError> {
        match action {
            Action::Send { text, .. } => check_text(field, text),
            Action::Ask { text, variable, timeout, .. } => {
                check_text(field, text)?;
                check_variable(field, variable)?;
                check_timeout(field, timeout)
            }
            Action::Choice { text, choices, variable, timeout, .. } => {
                check_text(field, text)?;
                if choices.is_empty() || choices.len() > MAX_CHOICES {
                    return Err(ValidationError::new(
                        field,
                        format!("A choice offers 1 to {MAX_CHOICES} answers"),
                    ));
                }
                let mut seen = HashSet::new();
                for choice in choices {
                    let label = choice.label.trim();
                    if label.is_empty()
                        || label.chars().count() > MAX_LABEL
                        || label.chars().any(char::is_control)
                    {
                        return Err(ValidationError::new(
                            field,
                            format!("A choice's label is 1 to {MAX_LABEL} printable characters"),
                        ));
                    }
                    if !seen.insert(label.to_lowercase()) {
                        return Err(ValidationError::new(field, format!("Two choices read “{label}”")));
                    }
                }
                if let Some(v) = variable {
                    check_variable(field, v)?;
                }
                check_timeout(field, timeout)
            }
            Action::Condition { rules, .. } => {
                if rules.is_empty() {
                    return Err(ValidationError::new(field, "A condition needs at least one rule"));
                }
                for rule in rules {
                    match &rule.test {
                        Test::Equals { variable, .. }
                        | Test::Contains { variable, .. }
                        | Test::IsSet { variable } => {
                            check_variable(field, variable.trim_start_matches("contact."))?
                        }
                        Test::BusinessHours => {}
                    }
                }
                Ok(())
            }
            Action::Http { url, body, variable, .. } => {
                let scheme_ok = url.starts_with("https://") || url.starts_with("http://");
                if !scheme_ok || url.len() > 2048 {
                    return Err(ValidationError::new(
                        field,
                        "The URL is an http(s) address of up to 2048 characters",
                    ));
                }
                if body.as_ref().is_some_and(|b| b.len() > 16 * 1024) {
                    return Err(ValidationError::new(field, "The body is at most 16 KiB"));
                }
                if let Some(v) = variable {
                    check_variable(field, v)?;
                }
                Ok(())
            }
            Action::SetLabel { .. } | Action::HandOver { .. } | Action::End => Ok(()),
        }
    }

    /// The ids of the nodes reached from the start.
    fn reachable(&self) -> HashSet<&str> {
        let by_id: HashMap<&str, &Node> = self.nodes.iter().map(|n| (n.id.as_str(), n)).collect();
        let mut seen = HashSet::new();
        let mut stack = vec![self.start.as_str()];
        while let Some(id) = stack.pop() {
            if !seen.insert(id) {
                continue;
            }
            if let Some(node) = by_id.get(id) {
                stack.extend(node.action.targets().into_iter().map(String::as_str));
            }
        }
        seen
    }

    /// A node on a cycle made only of nodes that do not wait (a depth-first search over the
    /// graph without its waiting nodes).
    fn spinning_loop(&self) -> Option<&str> {
        let by_id: HashMap<&str, &Node> =
            self.nodes.iter().filter(|n| !n.action.waits()).map(|n| (n.id.as_str(), n)).collect();
        // 0: not visited, 1: on the current path, 2: done.
        let mut state: HashMap<&str, u8> = HashMap::new();
        fn visit<'a>(
            id: &'a str,
            by_id: &HashMap<&'a str, &'a Node>,
            state: &mut HashMap<&'a str, u8>,
        ) -> Option<&'a str> {
            match state.get(id) {
                Some(1) => return Some(id),
                Some(_) => return None,
                None => {}
            }
            state.insert(id, 1);
            if let Some(node) = by_id.get(id) {
                for next in node.action.targets() {
                    if by_id.contains_key(next.as_str())
                        && let Some(found) = visit(next, by_id, state)
                    {
                        return Some(found);
                    }
                }
            }
            state.insert(id, 2);
            None
        }
        let mut ids: Vec<&str> = by_id.keys().copied().collect();
        ids.sort_unstable();
        ids.into_iter().find_map(|id| visit(id, &by_id, &mut state))
    }
}

/// What starts a flow in a conversation.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default, deny_unknown_fields)]
pub struct Triggers {
    /// A new conversation with a contact on one of these channels.
    pub new_conversation_on: Vec<ChannelId>,
    /// A customer's message that is one of these words (ignoring case and the spaces around it).
    pub keywords: Vec<String>,
}

impl Triggers {
    pub fn validate(&self) -> Result<(), ValidationError> {
        if self.keywords.len() > MAX_KEYWORDS {
            return Err(ValidationError::new("keywords", format!("at most {MAX_KEYWORDS}")));
        }
        if self.keywords.iter().any(|k| k.trim().is_empty() || k.chars().count() > 64) {
            return Err(ValidationError::new("keywords", "each is 1 to 64 characters"));
        }
        Ok(())
    }

    /// Whether a customer's `text` is one of the keywords.
    pub fn matches_keyword(&self, text: &str) -> bool {
        let text = text.trim().to_lowercase();
        !text.is_empty() && self.keywords.iter().any(|k| k.trim().to_lowercase() == text)
    }
}

/// `POST /api/v1/flows` and `PUT /api/v1/flows/{id}`: the draft an admin edits. Publishing
/// validates it and freezes it as the next version.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct FlowDraft {
    pub name: String,
    #[serde(default)]
    pub triggers: Triggers,
    pub graph: FlowGraph,
}

impl FlowDraft {
    /// The name and triggers; the graph is checked at publish (a draft may be half built).
    pub fn validate(&self) -> Result<(), ValidationError> {
        let name = self.name.trim();
        if name.is_empty() || name.chars().count() > crate::validate::MAX_NAME_LEN {
            return Err(ValidationError::new("name", "is 1 to 120 characters"));
        }
        if self.graph.nodes.len() > MAX_NODES {
            return Err(ValidationError::new("graph", format!("A flow has at most {MAX_NODES} nodes")));
        }
        self.triggers.validate()
    }
}

/// A flow as the API shows it: its draft and its published version, if any.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Flow {
    pub id: FlowId,
    pub workspace_id: WorkspaceId,
    pub name: String,
    pub triggers: Triggers,
    /// The graph being edited.
    pub draft: FlowGraph,
    /// The latest published version (0: never published).
    pub version: i32,
    /// Whether triggers start it (a flow with no published version never runs).
    pub enabled: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub published_at: Option<DateTime<Utc>>,
}

/// The flow a customer's `message` starts in its `conversation`, if any: among the enabled,
/// published flows, one whose keyword the message is, else one for new conversations on the
/// channel when this message opened the conversation (its write made the conversation: an
/// imported history's conversation is older than any message that arrives live). The bot
/// runner starts it; the automatic assignment leaves the conversation to it.
pub fn triggered<'a>(
    flows: &'a [Flow],
    message: &crate::message::Message,
    conversation: &crate::message::Conversation,
) -> Option<&'a Flow> {
    if message.direction != crate::provider::Direction::Inbound || conversation.contact_id.is_none() {
        return None;
    }
    let live = || flows.iter().filter(|f| f.enabled && f.version > 0);
    let new = (message.created_at - conversation.created_at).num_seconds().abs() < 2;
    live()
        .find(|f| f.triggers.matches_keyword(&message.text))
        .or_else(|| live().find(|f| new && f.triggers.new_conversation_on.contains(&conversation.channel_id)))
}

/// A published version, as a session runs it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FlowVersion {
    pub flow_id: FlowId,
    pub version: i32,
    pub graph: FlowGraph,
    pub published_by: Option<UserId>,
    pub published_at: DateTime<Utc>,
}

pub use session::{BotSession, BusinessHours, Completion, OpenHours, SessionStatus};
