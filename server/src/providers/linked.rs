//! What every linked-device gateway shares (Whapi.Cloud today; WAHA or Evolution API would be
//! one more [`Gateway`]): a WhatsApp account linked like WhatsApp Web on a gateway that Switchboard
//! reaches over HTTP. The gateway's own words for its session become a [`LinkState`]; this module
//! maps them to the channel's status, follows them while the channel runs, and imports the
//! linked phone's recent chats.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use switchboard::ChannelStatus;
use switchboard::channel::ChannelIdentity;
use switchboard::provider::{ChannelEvent, Contact, EventSink, ProviderError, ProviderMessage};

/// Where a gateway's WhatsApp session stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LinkState {
    /// Linked and working: the account it is.
    Authorized(ChannelIdentity),
    /// Waiting for a QR scan or a pairing code.
    WaitingForLink,
    /// The gateway is starting the session.
    Starting,
    /// The gateway stopped the channel (a subscription ended, an operator stopped it).
    Stopped(String),
    /// Linked, but the phone's history does not sync: sending works, reading back does not.
    SyncError,
}

/// What the channel's runtime says at each state: its status and the words under it.
pub const UNLINKED: &str = switchboard::channel::PHONE_UNLINKED;
pub const STARTING: &str = "The gateway is starting the WhatsApp session.";
pub const SYNC_ERROR: &str = "Sending works, history does not: the gateway cannot sync the phone's chats.";

impl LinkState {
    /// The channel status this state means. `was_linked`: the channel was connected before
    /// (dropping back to "waiting for a link" then asks admins to relink).
    pub fn channel_status(&self, was_linked: bool) -> (ChannelStatus, Option<String>) {
        match self {
            LinkState::Authorized(_) => (ChannelStatus::Connected, None),
            LinkState::WaitingForLink if was_linked => (ChannelStatus::PendingAuth, Some(UNLINKED.into())),
            LinkState::WaitingForLink => (ChannelStatus::PendingAuth, None),
            LinkState::Starting => (ChannelStatus::PendingAuth, Some(STARTING.into())),
            LinkState::Stopped(why) => (ChannelStatus::Failed, Some(why.clone())),
            LinkState::SyncError => (ChannelStatus::Degraded, Some(SYNC_ERROR.into())),
        }
    }

    pub fn is_linked(&self) -> bool {
        matches!(self, LinkState::Authorized(_) | LinkState::SyncError)
    }
}

/// A chat the phone has, for the history import.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Chat {
    pub id: String,
    pub name: String,
}

/// A gateway's session and history calls (its sending and webhooks stay in its adapter).
#[async_trait]
pub trait Gateway: Send + Sync {
    /// Where the session stands now.
    async fn link_state(&self) -> Result<LinkState, ProviderError>;
    /// Up to `limit` of the phone's chats, most recent first.
    async fn chats(&self, limit: usize) -> Result<Vec<Chat>, ProviderError>;
    /// Up to `limit` of a chat's latest messages.
    async fn chat_messages(&self, chat_id: &str, limit: usize)
    -> Result<Vec<ProviderMessage>, ProviderError>;
}

/// How far back a history import reaches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HistoryLimits {
    pub chats: usize,
    pub messages: usize,
}

/// The cursor a channel keeps once its history was imported (so a restart does not repeat it;
/// new credentials clear it).
pub const HISTORY_IMPORTED: &str = "history-imported";

/// Imports the phone's recent chats through `sink`: each chat's contact name and messages,
/// progress after each chat, and the [`HISTORY_IMPORTED`] cursor once done. Idempotent (the
/// store adds each message once), so it may run again after a relink to fill the gap.
pub async fn import_history(gateway: &dyn Gateway, limits: HistoryLimits, sink: &dyn EventSink) {
    let finish = |chats_done: u32, chats_total: u32, error: Option<String>| ChannelEvent::HistoryProgress {
        chats_done,
        chats_total,
        finished: true,
        error,
    };
    if limits.chats == 0 || limits.messages == 0 {
        sink.emit(finish(0, 0, None));
        return;
    }
    let chats = match gateway.chats(limits.chats).await {
        Ok(chats) => chats,
        Err(e) => {
            tracing::warn!(error = %e, "history import: cannot list the chats");
            sink.emit(finish(0, 0, Some(format!("cannot list the phone's chats: {e}"))));
            return;
        }
    };
    let total = chats.len() as u32;
    sink.emit(ChannelEvent::HistoryProgress {
        chats_done: 0,
        chats_total: total,
        finished: false,
        error: None,
    });
    let mut failed = None;
    for (n, chat) in chats.into_iter().enumerate() {
        if sink.is_closed() {
            return;
        }
        match gateway.chat_messages(&chat.id, limits.messages).await {
            Ok(messages) => {
                sink.emit(ChannelEvent::ContactsUpdated {
                    contacts: vec![Contact { external_id: chat.id.clone(), name: chat.name.clone() }],
                });
                sink.emit(ChannelEvent::History { contact_id: chat.id, messages });
            }
            Err(e) => {
                tracing::warn!(error = %e, "history import: cannot read a chat");
                failed = Some(format!("cannot read every chat: {e}"));
            }
        }
        let done = n as u32 + 1;
        if done < total {
            sink.emit(ChannelEvent::HistoryProgress {
                chats_done: done,
                chats_total: total,
                finished: false,
                error: None,
            });
        }
    }
    sink.emit(finish(total, total, failed.clone()));
    if failed.is_none() && sink.settled().await {
        sink.emit(ChannelEvent::Cursor { value: HISTORY_IMPORTED.into() });
    }
}

/// Follows the gateway's session every `interval` until the runtime stops: each change of state
/// becomes the channel's status, and a phone linked again after it was unlinked has its history
/// imported again (filling what came in meanwhile). `imported`: the history was imported before.
pub async fn watch(
    gateway: Arc<dyn Gateway>,
    sink: Arc<dyn EventSink>,
    interval: Duration,
    limits: HistoryLimits,
    imported: bool,
) {
    let mut last: Option<(ChannelStatus, Option<String>)> = None;
    // Every tenth look says the state even unchanged: the outbox may have failed the channel
    // meanwhile (a send refused while the session blinked), and the gateway's word wins.
    let mut ticks = 0u32;
    let mut was_linked = true;
    let mut import_due = !imported;
    while !sink.is_closed() {
        let now = match gateway.link_state().await {
            Ok(state) => {
                let status = state.channel_status(was_linked);
                if state.is_linked() {
                    if !was_linked {
                        import_due = true;
                    }
                    was_linked = true;
                } else if state == LinkState::WaitingForLink {
                    was_linked = false;
                }
                Some((status, matches!(state, LinkState::Authorized(_))))
            }
            Err(ProviderError::Unauthorized { message }) => {
                Some(((ChannelStatus::Failed, Some(message)), false))
            }
            Err(e) => {
                tracing::warn!(error = %e, "the gateway's session state is unavailable");
                Some(((ChannelStatus::Degraded, Some(format!("The gateway does not answer: {e}"))), false))
            }
        };
        if let Some((status, linked)) = now {
            ticks = ticks.wrapping_add(1);
            if last.as_ref() != Some(&status) || ticks.is_multiple_of(10) {
                sink.emit(ChannelEvent::StatusChanged { status: status.0, last_error: status.1.clone() });
                last = Some(status);
            }
            if linked && import_due {
                import_due = false;
                import_history(gateway.as_ref(), limits, sink.as_ref()).await;
            }
        }
        tokio::time::sleep(interval).await;
    }
}
