//! The agent's desk in the inbox's store: the list's views (whose conversations, which status,
//! which label), the workspace's labels, staff and canned replies, and the calls that assign,
//! label, resolve or snooze a conversation. Each call's answer (the conversation after the
//! change) is applied to the list at once; `conversation.updated` tells everyone else
//! (`events.rs`), so a view follows a teammate's change without a reload.

use chrono::{DateTime, Utc};
use gloo_net::http::Method;
use leptos::prelude::*;
use leptos::task::spawn_local;
use serde::Deserialize;
use serde_json::json;
use switchboard::desk::{Assign, CannedReply, Label, SetLabels};
use switchboard::message::{AssigneeFilter, ConversationStatus, UpdateConversation};
use switchboard::{Conversation, ConversationId, LabelId, MemberRole, UserId, WorkspaceMember};

use super::state::Inbox;
use crate::client::http;

/// Canned replies read longer ago than this are read again when the composer's popup opens.
const CANNED_FRESH_MS: f64 = 30_000.0;

/// The desk's part of the inbox. `Copy`: every field is a signal handle.
#[derive(Clone, Copy)]
pub struct Desk {
    /// Whose conversations the list shows: the user's ("Mine"), nobody's, or (none) everyone's.
    pub assignee: RwSignal<Option<AssigneeFilter>>,
    /// Which status the list shows (none: any). Open by default: the queue to work through;
    /// resolving, snoozing or parking a conversation takes it out of the way.
    pub status: RwSignal<Option<ConversationStatus>>,
    /// Only conversations with this label.
    pub label: RwSignal<Option<LabelId>>,
    /// The workspace's labels, by name.
    pub labels: RwSignal<Vec<Label>>,
    /// Who may be assigned (agents, admins and owners), in the server's order (by email).
    pub staff: RwSignal<Vec<(UserId, String)>>,
    /// The workspace's canned replies, by short code.
    pub canned: RwSignal<Vec<CannedReply>>,
    /// When the canned replies were last asked for (ms; 0: never).
    canned_at: StoredValue<f64>,
}

impl Desk {
    /// Everyone's open conversations, nothing loaded yet.
    pub fn new() -> Self {
        Desk {
            assignee: RwSignal::new(None),
            status: RwSignal::new(Some(ConversationStatus::Open)),
            label: RwSignal::new(None),
            labels: RwSignal::new(Vec::new()),
            staff: RwSignal::new(Vec::new()),
            canned: RwSignal::new(Vec::new()),
            canned_at: StoredValue::new(0.0),
        }
    }

    /// Whether the views show a conversation, with the views read (and tracked) once.
    pub fn shows(&self) -> impl Fn(&Conversation) -> bool + use<> {
        let (assignee, status, label) = (self.assignee.get(), self.status.get(), self.label.get());
        move |conversation| shown(conversation, assignee, status, label)
    }

    /// Whether the views are other than the default (all assignees, open, any label).
    pub fn narrowed(&self) -> bool {
        self.assignee.get().is_some()
            || self.label.get().is_some()
            || self.status.get() != Some(ConversationStatus::Open)
    }

    /// A label by id, if the page knows it.
    pub fn label_named(&self, id: LabelId) -> Option<Label> {
        self.labels.with(|l| l.iter().find(|l| l.id == id).cloned())
    }
}

impl Default for Desk {
    fn default() -> Self {
        Self::new()
    }
}

/// The server's rules for `GET /conversations?assignee=…&status=…&label_id=…`, applied to the
/// live list.
pub fn shown(
    conversation: &Conversation,
    assignee: Option<AssigneeFilter>,
    status: Option<ConversationStatus>,
    label: Option<LabelId>,
) -> bool {
    assignee.is_none_or(|a| a.admits(conversation.assignee_id))
        && status.is_none_or(|s| conversation.status == s)
        && label.is_none_or(|l| conversation.label_ids.contains(&l))
}

impl Inbox {
    /// Reads the workspace's people (their names, and who may be assigned), and in the
    /// background its labels and canned replies.
    pub(super) async fn load_desk(self) {
        spawn_local(self.reload_labels());
        spawn_local(self.reload_canned());
        if let Ok(members) = http::get::<Vec<WorkspaceMember>>("/members").await {
            self.people.try_set(members.iter().map(|m| (m.user_id, m.name.clone())).collect());
            let staff =
                members.iter().filter(|m| m.role >= MemberRole::Agent).map(|m| (m.user_id, m.name.clone()));
            self.desk.staff.try_set(staff.collect());
        }
    }

    /// Reads the workspace's labels again (the picker does when it opens: a label added by an
    /// admin has no event).
    pub async fn reload_labels(self) {
        // Set only when changed: the picker's checkboxes are drawn from it and keep the focus.
        if let Ok(labels) = http::get::<Vec<Label>>("/labels").await
            && self.desk.labels.try_with_untracked(|l| *l != labels) == Some(true)
        {
            self.desk.labels.try_set(labels);
        }
    }

    async fn reload_canned(self) {
        self.desk.canned_at.set_value(crate::client::now_ms());
        if let Ok(replies) = http::get::<Vec<CannedReply>>("/canned-replies").await {
            self.desk.canned.try_set(replies);
        }
    }

    /// The composer's `/` popup opened: reads the canned replies again if they may be stale.
    pub fn fresh_canned(self) {
        if crate::client::now_ms() - self.desk.canned_at.get_value() > CANNED_FRESH_MS {
            spawn_local(self.reload_canned());
        }
    }

    /// The signed-in user's name (what `{{agent.name}}` stands for).
    pub fn my_name(&self) -> String {
        self.people.with_untracked(|p| p.get(&self.me).cloned()).unwrap_or_default()
    }

    /// "Assign to me" on a conversation nobody has. When someone else took it first the server
    /// refuses (409), and its words ("Someone else took this conversation first.") show.
    pub fn claim(self, id: ConversationId) {
        self.desk_call(id, Method::POST, "/claim", json!({}), "Assigned to you".into(), None);
    }

    /// Assigns a conversation to `user` (none: unassigns it).
    pub fn assign(self, id: ConversationId, user: Option<UserId>) {
        match user {
            Some(user_id) => {
                let name = if user_id == self.me { "you".to_owned() } else { self.author(Some(user_id), "") };
                let body = body(&Assign { user_id: Some(user_id) });
                self.desk_call(id, Method::PUT, "/assignee", body, format!("Assigned to {name}"), None);
            }
            None => self.desk_call(id, Method::DELETE, "/assignee", json!({}), "Unassigned".into(), None),
        }
    }

    /// Resolves, reopens, parks or snoozes (until `until`) a conversation.
    pub fn set_status(self, id: ConversationId, status: ConversationStatus, until: Option<DateTime<Utc>>) {
        let said = match status {
            ConversationStatus::Open => "Conversation reopened",
            ConversationStatus::Pending => "Conversation marked pending",
            ConversationStatus::Resolved => "Conversation resolved",
            ConversationStatus::Snoozed => "Conversation snoozed",
        };
        let body = body(&UpdateConversation { status, snoozed_until: until });
        self.desk_call(id, Method::PATCH, "", body, said.into(), None);
    }

    /// Puts `label` on a conversation (`on`) or takes it off: the whole set goes to the server,
    /// shown at once, and back as it was if refused.
    pub fn toggle_label(self, id: ConversationId, label: LabelId, on: bool) {
        let Some(before) = self.conversations.with_untracked(|l| {
            l.iter().find(|c| c.conversation.id == id).map(|c| c.conversation.label_ids.clone())
        }) else {
            return;
        };
        let mut after: Vec<LabelId> = before.iter().copied().filter(|l| *l != label).collect();
        if on {
            after.push(label);
        }
        self.set_labels(id, after.clone());
        self.desk_call(
            id,
            Method::PUT,
            "/labels",
            body(&SetLabels { label_ids: after }),
            String::new(),
            Some(before),
        );
    }

    fn set_labels(self, id: ConversationId, ids: Vec<LabelId>) {
        self.conversations.try_update(|list| {
            if let Some(c) = list.iter_mut().find(|c| c.conversation.id == id) {
                c.conversation.label_ids = ids;
            }
        });
    }

    /// Runs a desk call on conversation `id` (`/conversations/{id}{rest}`); its answer changes
    /// the list at once and is read out (`said`), a refusal shows in the page's error banner.
    /// A change of labels (`undo`: the labels shown before) was shown already: its answer is
    /// not applied (an answer to an earlier click arriving late would undo a later one; the
    /// realtime event brings the server's last word), and a refusal puts the labels back.
    fn desk_call(
        self,
        id: ConversationId,
        method: Method,
        rest: &str,
        body: serde_json::Value,
        said: String,
        undo: Option<Vec<LabelId>>,
    ) {
        self.error.set(None);
        let path = format!("/conversations/{id}{rest}");
        spawn_local(async move {
            match http::send::<Answer>(method, &path, &body).await {
                Ok(_) if undo.is_some() => {}
                Ok(answer) => {
                    self.conversations.try_update(|list| {
                        if let Some(c) = list.iter_mut().find(|c| c.conversation.id == answer.id) {
                            let conv = &mut c.conversation;
                            conv.assignee_id = answer.assignee_id;
                            conv.label_ids = answer.label_ids;
                            conv.status = answer.status;
                            conv.snoozed_until = answer.snoozed_until;
                        }
                    });
                    if !said.is_empty() {
                        self.announcement.try_set(said);
                    }
                }
                Err(e) => {
                    if let Some(before) = undo {
                        self.set_labels(id, before);
                    }
                    self.error.try_set(Some(e.message));
                }
            }
        });
    }
}

/// A request's body, from its type in `switchboard` (the server reads the same one).
pub fn body(value: &impl serde::Serialize) -> serde_json::Value {
    serde_json::to_value(value).unwrap_or_default()
}

/// The desk's fields of the conversation a call answers (the rest of it is left unread: a
/// smaller decoder in the WASM).
#[derive(Deserialize)]
struct Answer {
    id: ConversationId,
    status: ConversationStatus,
    #[serde(default)]
    snoozed_until: Option<DateTime<Utc>>,
    #[serde(default)]
    assignee_id: Option<UserId>,
    #[serde(default)]
    label_ids: Vec<LabelId>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use switchboard::{ChannelId, ContactId, WorkspaceId};

    fn conversation(
        assignee: Option<UserId>,
        status: ConversationStatus,
        labels: Vec<LabelId>,
    ) -> Conversation {
        Conversation {
            id: ConversationId::new(),
            workspace_id: WorkspaceId::new(),
            channel_id: ChannelId::new(),
            contact_id: Some(ContactId::new()),
            external_chat_id: "c".into(),
            title: "Maria".into(),
            last_message_at: None,
            last_message_preview: None,
            last_message_sender_user_id: None,
            status,
            snoozed_until: None,
            assignee_id: assignee,
            label_ids: labels,
            created_at: chrono::Utc::now(),
            last_inbound_at: None,
            room_type: None,
            custom: None,
            frozen: false,
            slow_mode_secs: None,
        }
    }

    #[test]
    fn the_views_follow_assignee_status_and_label() {
        let (me, bob, vip) = (UserId::new(), UserId::new(), LabelId::new());
        let mine = conversation(Some(me), ConversationStatus::Open, vec![vip]);
        let bobs = conversation(Some(bob), ConversationStatus::Open, vec![]);
        let nobodys = conversation(None, ConversationStatus::Snoozed, vec![]);
        let open = Some(ConversationStatus::Open);
        assert!(shown(&mine, Some(AssigneeFilter::User(me)), open, Some(vip)));
        assert!(!shown(&bobs, Some(AssigneeFilter::User(me)), open, None));
        assert!(!shown(&bobs, Some(AssigneeFilter::Nobody), None, None), "Bob's left the unassigned view");
        assert!(shown(&bobs, None, open, None));
        assert!(!shown(&bobs, None, open, Some(vip)));
        assert!(
            !shown(&nobodys, Some(AssigneeFilter::Nobody), open, None),
            "snoozed is out of the open view"
        );
        assert!(shown(&nobodys, Some(AssigneeFilter::Nobody), Some(ConversationStatus::Snoozed), None));
        assert!(shown(&nobodys, None, None, None));
    }
}
