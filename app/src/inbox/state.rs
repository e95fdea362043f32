//! The inbox's reactive store. The server renders it empty; in the browser it loads the lists
//! over REST once, then every change arrives as a realtime event and is applied here. Pages
//! read signals and never poll.

use std::collections::{HashMap, HashSet};

use leptos::prelude::*;
use leptos::task::spawn_local;
use serde::Deserialize;
use serde_json::json;
use switchboard::message::{ConversationSummary, UnreadCount};
use switchboard::provider::Direction;
use switchboard::{
    Channel, ChannelId, ConversationId, Me, MemberRole, Message, MessageId, MessageStatus, Topic, UserId,
    WorkspaceId,
};

pub use super::thread::{Thread, in_conversation};
use crate::client::http::{self, ApiError};
use crate::client::realtime::{Incoming, Link, Realtime};

/// How many messages one history page holds.
pub const PAGE: u32 = 200;

/// How many times a list or history read overlapped by events it may lack is tried before its
/// snapshot is taken.
const LIST_READS: u32 = 3;

/// Whether an event changes a conversation's messages as the thread shows them.
fn changes_thread(body: &switchboard::EventBody) -> bool {
    use switchboard::EventBody as E;
    matches!(
        body,
        E::MessageCreated(_)
            | E::MessageUpdated(_)
            | E::MessageStatus(_)
            | E::MessageDeleted(_)
            | E::ReactionAdded(_)
            | E::ReactionRemoved(_)
    )
}

/// Whether an event changes the conversation list (its entries, counts or order).
fn changes_list(body: &switchboard::EventBody) -> bool {
    use switchboard::EventBody as E;
    matches!(
        body,
        E::ConversationCreated(_)
            | E::ConversationUpdated(_)
            | E::ReadUpdated(_)
            | E::Mentioned(_)
            | E::ContactPresence(_)
    )
}

/// Someone typing in the open conversation, until `until` (ms).
#[derive(Clone, Debug, PartialEq)]
pub struct Typing {
    pub user_id: UserId,
    pub name: String,
    pub until: f64,
}

/// The list filter of the left rail.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Filter {
    #[default]
    All,
    Unread,
    Channel(ChannelId),
}

/// Everything the inbox shows. `Copy`: every field is a signal handle.
#[derive(Clone, Copy)]
pub struct Inbox {
    pub me: UserId,
    pub workspace: WorkspaceId,
    pub role: MemberRole,
    pub link: RwSignal<Link>,
    pub channels: RwSignal<Vec<Channel>>,
    pub conversations: RwSignal<Vec<ConversationSummary>>,
    /// The lists have loaded once.
    pub loaded: RwSignal<bool>,
    pub filter: RwSignal<Filter>,
    pub search: RwSignal<String>,
    pub thread: RwSignal<Thread>,
    pub typing: RwSignal<Option<Typing>>,
    pub online: RwSignal<HashSet<UserId>>,
    /// The workspace's people by id (their names: who wrote a reply).
    pub people: RwSignal<HashMap<UserId, String>>,
    /// Read to screen readers (aria-live).
    pub announcement: RwSignal<String>,
    pub error: RwSignal<Option<String>>,
    /// Bumped when the open conversation's pins change (its pinned bar reads them again).
    pub pins_changed: RwSignal<u32>,
    /// Thread replies that arrived live in the open conversation (the thread panel takes its
    /// own from here).
    pub thread_replies: RwSignal<Vec<Message>>,
    /// Bumped by each event of a bot session the inbox follows (the bot bar's, on its
    /// `session:{id}`, and every start or end on the inbox topic): the bar asks again.
    pub bot_events: RwSignal<u32>,
    /// Assignment, status and labels: the list's views and what they need (`desk.rs`).
    pub desk: super::desk::Desk,
    /// Counts the events that change the conversation list: a list read that overlapped one
    /// is read again, or its older snapshot would undo what the event showed.
    list_events: StoredValue<u64>,
    /// Counts the message events (created, edited, status, deleted, reactions): a history
    /// read that overlapped one is read again, like the list.
    thread_events: StoredValue<u64>,
}

impl Inbox {
    pub fn new(me: &Me) -> Self {
        let membership = me.current_or_first();
        crate::client::http::act_in(membership.map(|m| m.workspace.id));
        Inbox {
            me: me.user.id,
            workspace: membership.map(|m| m.workspace.id).unwrap_or_default(),
            role: membership.map(|m| m.role).unwrap_or(MemberRole::Agent),
            link: RwSignal::new(Link::Connecting),
            channels: RwSignal::new(Vec::new()),
            conversations: RwSignal::new(Vec::new()),
            loaded: RwSignal::new(false),
            filter: RwSignal::new(Filter::All),
            search: RwSignal::new(String::new()),
            thread: RwSignal::new(Thread::default()),
            typing: RwSignal::new(None),
            online: RwSignal::new(HashSet::new()),
            people: RwSignal::new(HashMap::new()),
            announcement: RwSignal::new(String::new()),
            error: RwSignal::new(None),
            pins_changed: RwSignal::new(0),
            thread_replies: RwSignal::new(Vec::new()),
            bot_events: RwSignal::new(0),
            desk: super::desk::Desk::new(),
            list_events: StoredValue::new(0),
            thread_events: StoredValue::new(0),
        }
    }

    /// The list as the server rendered it (the realtime subscribe reloads it once connected).
    pub fn seed(self, mut list: Vec<ConversationSummary>) {
        sort(&mut list);
        self.conversations.set(list);
        self.loaded.set(true);
    }

    fn inbox_topic(&self) -> Topic {
        Topic::Inbox(self.workspace)
    }

    /// Browser only: attaches this page to the tab's realtime client and follows the inbox and
    /// user topics. Their first subscribe (not recovered) loads the lists.
    /// The page calls [`Inbox::stop`] when it unmounts.
    pub fn start(self) {
        let client = Realtime::attach(self.link, move |incoming| self.receive(incoming));
        client.subscribe(self.inbox_topic());
        client.subscribe(Topic::User(self.me));
    }

    /// The page is going away: nothing arriving later touches its (disposed) signals.
    pub fn stop(self) {
        Realtime::detach(self.link);
    }

    pub(super) fn rt(&self) -> Option<Realtime> {
        Realtime::current()
    }

    fn fail(&self, e: ApiError) {
        self.error.set(Some(e.message));
    }

    /// Reloads the channels alone (the admin page follows a history import this way: its
    /// progress has no realtime event).
    pub fn reload_channels(self) {
        spawn_local(async move {
            match http::get::<Vec<Channel>>("/channels").await {
                Ok(channels) => self.channels.set(channels),
                Err(e) => self.fail(e),
            }
        });
    }

    /// Reloads the channels and the conversation list.
    pub fn reload_lists(self) {
        spawn_local(async move {
            match http::get::<Vec<Channel>>("/channels").await {
                Ok(channels) => self.channels.set(channels),
                Err(e) => self.fail(e),
            }
            self.load_desk().await;
            // An event that changed the list while it was read may be missing from the
            // snapshot (read before it was written) and would be undone by it: read again,
            // a few times at most (a busy workspace keeps changing).
            for attempt in 1..=LIST_READS {
                let before = self.list_events.try_get_value();
                match crate::api::list_conversations(self.workspace).await.map_err(server_fn_error) {
                    Ok(mut list) => {
                        if self.list_events.try_get_value() != before && attempt < LIST_READS {
                            continue;
                        }
                        sort(&mut list);
                        self.follow_rooms(&list);
                        self.conversations.try_set(list);
                        self.loaded.try_set(true);
                    }
                    Err(e) => self.fail(e),
                }
                break;
            }
        });
    }

    /// Follows the topics of the rooms in the list: a room's activity (its list entry's
    /// `conversation.updated`) is published on its own topic, never on the workspace's inbox,
    /// so that only those who may read the room hear of it.
    fn follow_rooms(self, list: &[ConversationSummary]) {
        let Some(rt) = self.rt() else { return };
        for c in list.iter().filter(|c| switchboard::access::is_room(&c.conversation)) {
            rt.subscribe(Topic::Conversation(c.conversation.id));
        }
    }

    /// Whether the list holds this conversation as a room (whose topic the page always follows).
    fn is_followed_room(&self, id: ConversationId) -> bool {
        self.conversations.with_untracked(|l| {
            l.iter().any(|c| c.conversation.id == id && switchboard::access::is_room(&c.conversation))
        })
    }

    /// Who of the workspace is online now; `presence.*` events keep it current.
    fn reload_presence(self) {
        let Some(rt) = self.rt() else { return };
        let topic = self.inbox_topic();
        spawn_local(async move {
            if let Ok(users) = rt.present_users(topic).await {
                let online = users.iter().filter_map(|u| u.parse::<uuid::Uuid>().ok()).map(UserId).collect();
                self.online.set(online);
            }
        });
    }

    /// Opens a conversation in the right pane (or closes it with `None`).
    pub fn open(self, id: Option<ConversationId>) {
        let current = self.thread.with_untracked(|t| t.conversation);
        if current == id {
            return;
        }
        let rt = self.rt();
        if let (Some(old), Some(rt)) = (current, rt.as_ref())
            && !self.is_followed_room(old)
        {
            rt.unsubscribe(Topic::Conversation(old));
        }
        self.typing.set(None);
        self.thread_replies.set(Vec::new());
        self.thread.set(Thread { conversation: id, loading: id.is_some(), ..Thread::default() });
        if let Some(id) = id {
            self.show_queued(id);
            match rt {
                // A followed room is subscribed already: load its page now.
                Some(_) if self.is_followed_room(id) => self.load_latest(id),
                // The subscribe's answer loads the latest page (see `receive`).
                Some(rt) => rt.subscribe(Topic::Conversation(id)),
                None => self.load_latest(id),
            }
        }
    }

    /// The latest page of the open conversation, merged with what is already shown (sends not
    /// yet acknowledged stay).
    fn load_latest(self, id: ConversationId) {
        spawn_local(async move {
            // As for the list: a message event that arrived while the page was read may be
            // missing from it (a status that was applied to the older copy, or to nothing yet)
            // and would be undone by it, so such a page is read again, a few times at most.
            let mut page;
            let mut attempt = 1;
            loop {
                let before = self.thread_events.try_get_value();
                page =
                    crate::api::load_history(self.workspace, id, None, PAGE).await.map_err(server_fn_error);
                if page.is_err() || self.thread_events.try_get_value() == before || attempt == LIST_READS {
                    break;
                }
                attempt += 1;
            }
            match page {
                Ok(mut page) => {
                    page.reverse();
                    let full = page.len() as u32 == PAGE;
                    self.thread.update(|t| {
                        if t.conversation != Some(id) {
                            return;
                        }
                        let first = page.first().map(|m| m.id);
                        // Keep anything newer than the page's start that the page lacks.
                        let keep: Vec<Message> = std::mem::take(&mut t.messages)
                            .into_iter()
                            .filter(|m| first.is_none_or(|f| m.id > f) || t.unsent.contains(&m.id))
                            .collect();
                        t.has_more = full;
                        t.messages = page;
                        for m in keep {
                            if t.position(&m).is_none() {
                                t.insert_sorted(m);
                            }
                        }
                        t.loading = false;
                        t.appended += 1;
                    });
                    self.mark_read(false);
                }
                // Refused (not found, not a member): say so in the pane, not in a banner.
                Err(e) if e.status != 0 => self.thread.update(|t| {
                    if t.conversation == Some(id) {
                        t.loading = false;
                        t.missing = true;
                    }
                }),
                Err(e) => {
                    self.thread.update(|t| t.loading = false);
                    self.fail(e);
                }
            }
        });
    }

    /// Loads the page before the oldest message shown.
    pub fn load_older(self) {
        let Some((id, before)) = self.thread.with_untracked(|t| {
            if t.loading || !t.has_more {
                return None;
            }
            Some((t.conversation?, t.messages.first()?.id))
        }) else {
            return;
        };
        self.thread.update(|t| t.loading = true);
        spawn_local(async move {
            match crate::api::load_history(self.workspace, id, Some(before), PAGE)
                .await
                .map_err(server_fn_error)
            {
                Ok(mut page) => {
                    page.reverse();
                    self.thread.update(|t| {
                        if t.conversation != Some(id) {
                            return;
                        }
                        t.has_more = page.len() as u32 == PAGE;
                        t.loading = false;
                        let mut older = page;
                        older.retain(|m| t.messages.first().is_none_or(|f| m.id < f.id));
                        older.append(&mut t.messages);
                        t.messages = older;
                    });
                }
                Err(e) => {
                    self.thread.update(|t| t.loading = false);
                    self.fail(e);
                }
            }
        });
    }

    /// Marks the open conversation read up to its last message, when there is something unread
    /// (`arrived`: someone else's message just came in, so there is, whatever the list says).
    pub fn mark_read(self, arrived: bool) {
        let Some((id, last)) = self.thread.with_untracked(|t| {
            let last = t.messages.iter().rev().find(|m| !t.unsent.contains(&m.id) && in_conversation(m));
            Some((t.conversation?, last?.id))
        }) else {
            return;
        };
        let unread = self.conversations.with_untracked(|list| {
            list.iter().find(|c| c.conversation.id == id).is_some_and(|c| c.unread_count != 0)
        });
        if !(unread || arrived) || !page_visible() {
            return;
        }
        self.set_unread(id, UnreadCount::ZERO);
        spawn_local(async move {
            #[derive(Deserialize)]
            struct Unread {
                unread_count: UnreadCount,
            }
            match http::post::<Unread, _>(&format!("/conversations/{id}/read"), &json!({ "up_to": last }))
                .await
            {
                Ok(u) => self.set_unread(id, u.unread_count),
                Err(e) => self.fail(e),
            }
        });
    }

    pub(super) fn set_unread(&self, id: ConversationId, count: UnreadCount) {
        self.conversations.update(|list| {
            if let Some(c) = list.iter_mut().find(|c| c.conversation.id == id) {
                c.unread_count = count;
                if count == 0 {
                    c.unread_mentions = 0;
                }
            }
        });
    }

    /// Sends a message in the open conversation (answering `reply_to`, quoted above it), or a
    /// private `note` for the team: shown at once as pending, then acknowledged.
    pub fn send(
        self,
        text: String,
        attachments: Vec<switchboard::media::Attachment>,
        reply_to: Option<MessageId>,
        note: bool,
    ) {
        self.send_queued(text, attachments, reply_to, None, false, note);
    }

    /// Replies in the thread of `parent` (a message of the open room), and in the conversation
    /// too when `also_in_conversation`. Queued like any send, so it waits for the connection
    /// and is retried the same way; the thread panel shows it at once as pending.
    pub fn send_in_thread(self, text: String, parent: MessageId, also_in_conversation: bool) {
        self.send_queued(text, Vec::new(), None, Some(parent), also_in_conversation, false);
    }

    fn send_queued(
        self,
        text: String,
        attachments: Vec<switchboard::media::Attachment>,
        reply_to: Option<MessageId>,
        parent_id: Option<MessageId>,
        show_in_conversation: bool,
        note: bool,
    ) {
        let Some(conversation) = self.thread.with_untracked(|t| t.conversation) else { return };
        let Some(channel_id) = self.conversations.with_untracked(|list| {
            list.iter().find(|c| c.conversation.id == conversation).map(|c| c.conversation.channel_id)
        }) else {
            return;
        };
        let id = MessageId::new();
        let client_id = id.to_string();
        let optimistic = Message {
            id,
            workspace_id: self.workspace,
            conversation_id: conversation,
            channel_id,
            direction: Direction::Outbound,
            status: MessageStatus::Pending,
            text: text.clone(),
            external_id: None,
            client_message_id: Some(client_id),
            sender_user_id: Some(self.me),
            error: None,
            created_at: chrono::Utc::now(),
            edited_at: None,
            deleted_at: None,
            reply_to,
            attachments,
            template: None,
            reactions: Vec::new(),
            parent_id,
            show_in_conversation,
            thread: None,
            sender_name: None,
            note,
            from_bot: false,
            buttons: Vec::new(),
        };
        self.thread.update(|t| t.upsert(optimistic.clone()));
        self.enqueue(optimistic);
    }

    /// Tries a failed message again.
    pub fn retry(self, id: MessageId) {
        let Some((message, unsent)) = self.thread.with_untracked(|t| {
            Some((t.messages.iter().find(|m| m.id == id)?.clone(), t.unsent.contains(&id)))
        }) else {
            return;
        };
        self.thread.update(|t| {
            t.update(id, |m| {
                m.status = MessageStatus::Pending;
                m.error = None;
            })
        });
        if unsent {
            self.enqueue(message);
            return;
        }
        spawn_local(async move {
            match http::post::<Message, _>(&format!("/messages/{id}/retry"), &json!({})).await {
                Ok(stored) => self.thread.update(|t| t.upsert(stored)),
                Err(e) => self.thread.update(|t| {
                    t.update(id, |m| {
                        m.status = MessageStatus::Failed;
                        m.error = Some(e.message);
                    })
                }),
            }
        });
    }

    /// Tells the others in the open conversation that this user is typing.
    pub fn typing(self) {
        let Some(conversation) = self.thread.with_untracked(|t| t.conversation) else { return };
        if let Some(rt) = self.rt().filter(Realtime::is_connected) {
            spawn_local(async move {
                let _ = rt.rpc("typing", json!({ "conversation_id": conversation })).await;
            });
        }
    }

    fn receive(self, incoming: Incoming) {
        match incoming {
            Incoming::Subscribed { topic, recovered } => {
                if recovered {
                    return;
                }
                match topic {
                    Topic::Inbox(_) if topic == self.inbox_topic() => {
                        self.reload_lists();
                        self.reload_presence();
                    }
                    Topic::Conversation(id) if self.thread.with_untracked(|t| t.conversation) == Some(id) => {
                        self.load_latest(id);
                    }
                    _ => {}
                }
            }
            Incoming::Refused { topic: Topic::Conversation(id) } => {
                // Removed from a room (or it was never ours): it leaves the list and the pane.
                self.conversations.update(|list| list.retain(|c| c.conversation.id != id));
                if self.thread.with_untracked(|t| t.conversation) == Some(id) {
                    self.thread.set(Thread { conversation: Some(id), missing: true, ..Thread::default() });
                }
            }
            Incoming::Refused { .. } => {}
            Incoming::Event { body, .. } => {
                if changes_list(&body) {
                    self.list_events.update_value(|n| *n += 1);
                }
                if changes_thread(&body) {
                    self.thread_events.update_value(|n| *n += 1);
                }
                self.apply(*body)
            }
        }
    }

    /// Who wrote a message, as the page names them: "You", a teammate's name, or (`None`: the
    /// contact) the conversation's title.
    pub fn author(&self, sender: Option<UserId>, title: &str) -> String {
        match sender {
            Some(id) if id == self.me => "You".into(),
            Some(id) => self.people.with(|p| p.get(&id).cloned()).unwrap_or_else(|| "A teammate".into()),
            None => title.to_owned(),
        }
    }

    /// The list as the filters and search show it. The open conversation stays in the unread
    /// list once read, until another is opened (else opening one would make it vanish).
    pub fn visible(&self, open: Option<ConversationId>) -> Vec<ConversationSummary> {
        let filter = self.filter.get();
        let search = self.search.get().trim().to_lowercase();
        let shows = self.desk.shows();
        self.conversations.with(|list| {
            list.iter()
                .filter(|c| match filter {
                    Filter::All => true,
                    Filter::Unread => c.unread_count != 0 || open == Some(c.conversation.id),
                    Filter::Channel(id) => c.conversation.channel_id == id,
                })
                .filter(|c| search.is_empty() || c.conversation.title.to_lowercase().contains(&search))
                .filter(|c| shows(&c.conversation))
                .cloned()
                .collect()
        })
    }
}

/// A server function's failure in the REST client's terms (status 0: not reached).
pub(super) fn server_fn_error(e: leptos::prelude::ServerFnError) -> ApiError {
    let status = if matches!(e, leptos::prelude::ServerFnError::ServerError(_)) { 400 } else { 0 };
    ApiError { status, message: crate::api::error_text(&e) }
}

/// Most recent activity first.
pub(super) fn sort(list: &mut [ConversationSummary]) {
    list.sort_by(|a, b| {
        let key =
            |c: &ConversationSummary| c.conversation.last_message_at.unwrap_or(c.conversation.created_at);
        key(b).cmp(&key(a))
    });
}

/// The tab is in front (reading marks messages read; a hidden tab does not).
pub(super) fn page_visible() -> bool {
    web_sys::window()
        .and_then(|w| w.document())
        .is_none_or(|d| d.visibility_state() == web_sys::VisibilityState::Visible)
}

/// Drafts of the composer, per conversation, kept across reloads.
pub mod drafts {
    use switchboard::ConversationId;

    fn key(id: ConversationId) -> String {
        format!("switchboard.draft.{id}")
    }

    pub fn load(id: ConversationId) -> String {
        crate::client::local_storage().and_then(|s| s.get_item(&key(id)).ok().flatten()).unwrap_or_default()
    }

    pub fn save(id: ConversationId, text: &str) {
        if let Some(storage) = crate::client::local_storage() {
            let _ = if text.is_empty() {
                storage.remove_item(&key(id))
            } else {
                storage.set_item(&key(id), text)
            };
        }
    }
}
