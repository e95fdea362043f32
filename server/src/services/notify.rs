//! Notifications: each person's settings and push subscriptions, and the dispatcher that turns
//! new customer messages and mentions into Web Push messages, batched per person ("3 new
//! messages from Maria", not three pushes), within what their settings allow.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use switchboard::notify::{NotificationSettings, PushPayload, PushPublicKey, PushSubscription, batch_title};
use switchboard::provider::Direction;
use switchboard::validate::ValidationError;
use switchboard::{ConversationId, Message, Store, UserId};

use super::{Actor, ServiceError};
use crate::services::messages::MessageService;
use crate::webpush::VapidKeys;

impl MessageService {
    /// Uses these keys for Web Push (once; later calls change nothing).
    pub fn set_push_keys(&self, keys: Arc<VapidKeys>) {
        let _ = self.push.set(keys);
    }

    /// The key browsers subscribe with; 503 when push is not set up.
    pub fn push_public_key(&self) -> Result<PushPublicKey, ServiceError> {
        let keys =
            self.push.get().ok_or(ServiceError::Unavailable("Push is not set up on this server.".into()))?;
        Ok(PushPublicKey { public_key: keys.public_key() })
    }

    pub async fn notification_settings(&self, actor: Actor) -> Result<NotificationSettings, ServiceError> {
        Ok(self.store.notification_settings(actor.user_id).await?)
    }

    pub async fn put_notification_settings(
        &self,
        actor: Actor,
        settings: NotificationSettings,
    ) -> Result<NotificationSettings, ServiceError> {
        settings.validate()?;
        self.store.put_notification_settings(actor.user_id, &settings).await?;
        Ok(settings)
    }

    /// Keeps a browser's subscription for the caller: an http(s) endpoint (no private address
    /// unless the server allows them), a P-256 key and a 16-byte secret.
    pub async fn subscribe_push(
        &self,
        actor: Actor,
        sub: PushSubscription,
        allow_private: bool,
    ) -> Result<(), ServiceError> {
        if sub.endpoint.len() > 2048 || super::webhooks::check_url(&sub.endpoint, allow_private).is_err() {
            return Err(ValidationError::new("endpoint", "is the push service's https address").into());
        }
        let key = B64.decode(sub.keys.p256dh.trim_end_matches('=')).ok();
        if key.as_deref().is_none_or(|k| p256::PublicKey::from_sec1_bytes(k).is_err()) {
            return Err(
                ValidationError::new("keys", "p256dh is the browser's P-256 public key, base64url").into()
            );
        }
        if B64.decode(sub.keys.auth.trim_end_matches('=')).map(|a| a.len()) != Ok(16) {
            return Err(ValidationError::new("keys", "auth is 16 bytes, base64url").into());
        }
        Ok(self.store.add_push_subscription(actor.user_id, &sub).await?)
    }

    /// Forgets one of the caller's subscriptions (the browser unsubscribed).
    pub async fn unsubscribe_push(&self, actor: Actor, endpoint: &str) -> Result<(), ServiceError> {
        match self.store.remove_push_subscription(Some(actor.user_id), endpoint).await? {
            true => Ok(()),
            false => Err(ServiceError::NotFound("subscription")),
        }
    }
}

/// Told of each person a message mentions (as their settings allow), at once and whether or not
/// they have a push subscription: `serve` relays it to their own `user:{id}` topic, so an inbox
/// that is not watching the conversation (a note is only on the conversation's topic) hears of it.
#[derive(Clone)]
pub struct MentionRelay(pub Arc<TellMention>);

/// What a [`MentionRelay`] calls: the person mentioned and the message.
pub type TellMention = dyn Fn(UserId, &Message) + Send + Sync;

impl std::fmt::Debug for MentionRelay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MentionRelay")
    }
}

/// How the dispatcher sends.
#[derive(Clone, Debug)]
pub struct PushConfig {
    /// Where mentions are told at once (none: pushes only).
    pub relay: Option<MentionRelay>,
    /// How long a person's notifications gather before one push goes out.
    pub window: Duration,
    /// Push services on private addresses (tests, an on-premises push service).
    pub allow_private: bool,
    /// The contact VAPID names (`mailto:` or `https:`).
    pub subject: String,
}

impl Default for PushConfig {
    fn default() -> Self {
        Self {
            relay: None,
            window: Duration::from_secs(5),
            allow_private: false,
            subject: "mailto:admin@localhost".into(),
        }
    }
}

/// What gathers for one person until their push goes out.
#[derive(Default)]
struct Batch {
    due: Option<tokio::time::Instant>,
    count: u32,
    /// Each conversation's title, in the order they came; the last message's preview.
    conversations: Vec<(ConversationId, String)>,
    last: String,
}

/// Turns this node's new customer messages and notes into pushes. Who hears of a message: the
/// workspace's staff other than its author, as their settings say: the assignee (`assigned`),
/// everyone when nobody has it (`unassigned`), whoever it mentions (`mentions`; a note only
/// that way); nobody in their quiet hours.
pub async fn dispatch(
    store: Arc<dyn Store>,
    keys: Arc<VapidKeys>,
    config: PushConfig,
    messages: Arc<tokio::sync::Mutex<tokio::sync::mpsc::UnboundedReceiver<Message>>>,
) {
    let mut messages = messages.lock().await;
    let mut batches: HashMap<UserId, Batch> = HashMap::new();
    loop {
        let next = batches.values().filter_map(|b| b.due).min();
        let message = match next {
            Some(due) => tokio::select! {
                m = messages.recv() => m,
                () = tokio::time::sleep_until(due) => None,
            },
            None => match messages.recv().await {
                Some(m) => Some(m),
                None => return,
            },
        };
        if let Some(message) = message {
            match recipients(store.as_ref(), &message).await {
                Ok(people) => {
                    for (user, title, mentioned) in people {
                        if let (true, Some(relay)) = (mentioned, &config.relay) {
                            (relay.0)(user, &message);
                        }
                        let batch = batches.entry(user).or_default();
                        batch.due.get_or_insert(tokio::time::Instant::now() + config.window);
                        batch.count += 1;
                        if !batch.conversations.iter().any(|(c, _)| *c == message.conversation_id) {
                            batch.conversations.push((message.conversation_id, title));
                        }
                        batch.last = message.preview();
                    }
                }
                Err(e) => tracing::warn!(error = %e, "working out who to notify failed"),
            }
        }
        let now = tokio::time::Instant::now();
        let due: Vec<UserId> =
            batches.iter().filter(|(_, b)| b.due.is_some_and(|d| d <= now)).map(|(u, _)| *u).collect();
        for user in due {
            if let Some(batch) = batches.remove(&user) {
                send_batch(store.as_ref(), &keys, &config, user, batch).await;
            }
        }
    }
}

/// Who is told of `message`, each with the conversation's title.
async fn recipients(
    store: &dyn Store,
    message: &Message,
) -> Result<Vec<(UserId, String, bool)>, switchboard::StoreError> {
    // Customers' messages and the team's notes; the team's replies to customers are not news
    // (told by the message itself, so the replies, every room message among them, cost no read).
    if message.direction == Direction::Outbound && !message.note {
        return Ok(Vec::new());
    }
    let Some(conversation) = store.conversation(message.workspace_id, message.conversation_id).await? else {
        return Ok(Vec::new());
    };
    if conversation.contact_id.is_none() {
        return Ok(Vec::new());
    }
    let now = switchboard::time::now();
    let mut out = Vec::new();
    for (member, user) in store.members(message.workspace_id).await? {
        if !member.role.is_staff() || Some(member.user_id) == message.sender_user_id {
            continue;
        }
        let settings = store.notification_settings(member.user_id).await?;
        if settings.quiet_at(now) {
            continue;
        }
        let mentioned = settings.mentions
            && switchboard::message::mentions(&message.text, user.email.as_str(), &user.name);
        let customer = message.direction == Direction::Inbound && !message.note;
        let wanted = mentioned
            || (customer && conversation.assignee_id == Some(member.user_id) && settings.assigned)
            || (customer && conversation.assignee_id.is_none() && settings.unassigned);
        if wanted {
            out.push((member.user_id, conversation.title.clone(), mentioned));
        }
    }
    Ok(out)
}

async fn send_batch(store: &dyn Store, keys: &VapidKeys, config: &PushConfig, user: UserId, batch: Batch) {
    let subscriptions = match store.push_subscriptions(user).await {
        Ok(subs) => subs,
        Err(e) => return tracing::warn!(error = %e, "reading push subscriptions failed"),
    };
    if subscriptions.is_empty() {
        return;
    }
    let titles: Vec<String> = batch.conversations.iter().map(|(_, t)| t.clone()).collect();
    let url = match batch.conversations.last() {
        Some((id, _)) if batch.conversations.len() == 1 => format!("/inbox?c={id}"),
        _ => "/inbox".to_owned(),
    };
    let body = if titles.len() == 1 { batch.last.clone() } else { titles.join(", ") };
    let payload = PushPayload { title: batch_title(batch.count, &titles), body, url, count: batch.count };
    let Ok(json) = serde_json::to_vec(&payload) else { return };
    for sub in subscriptions {
        if let Err(why) = push_one(store, keys, config, &sub, &json).await {
            tracing::info!(%why, "a push was not delivered");
        }
    }
}

async fn push_one(
    store: &dyn Store,
    keys: &VapidKeys,
    config: &PushConfig,
    sub: &PushSubscription,
    json: &[u8],
) -> Result<(), String> {
    let p256dh = B64.decode(sub.keys.p256dh.trim_end_matches('=')).map_err(|e| e.to_string())?;
    let auth = B64.decode(sub.keys.auth.trim_end_matches('=')).map_err(|e| e.to_string())?;
    let body = crate::webpush::encrypt(json, &p256dh, &auth).map_err(|e| e.to_string())?;
    let endpoint = reqwest::Url::parse(&sub.endpoint).map_err(|e| e.to_string())?;
    let client = super::webhooks::client_for(&sub.endpoint, config.allow_private, Duration::from_secs(10))
        .await
        .map_err(|e| format!("{e:?}"))?;
    let authorization = keys.authorization(&endpoint, &config.subject, switchboard::time::now().timestamp());
    let response = client
        .post(endpoint)
        .header("TTL", "86400")
        .header("Urgency", "high")
        .header("Content-Encoding", "aes128gcm")
        .header("Content-Type", "application/octet-stream")
        .header("Authorization", authorization)
        .body(body)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    match response.status().as_u16() {
        200..=299 => Ok(()),
        404 | 410 => {
            // The browser unsubscribed or the subscription expired: forget it.
            let _ = store.remove_push_subscription(None, &sub.endpoint).await;
            Err(format!("the push service says the subscription is gone ({})", response.status()))
        }
        status => Err(format!("the push service answered {status}")),
    }
}
