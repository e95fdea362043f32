//! What an agent does to a message already in the open conversation: react, edit, delete, pin,
//! report, and read its thread. Each is a REST call; its answer (the message after the change)
//! is applied at once, so the page changes before the realtime event that tells the others
//! arrives.

use leptos::prelude::*;
use leptos::task::spawn_local;
use serde_json::json;
use switchboard::message::Pin;
use switchboard::{ConversationId, Message, MessageId};

use super::state::Inbox;
use crate::client::http::{self, ApiError};

impl Inbox {
    /// Puts this user's `emoji` on a message (`on`), or takes it off. A refusal shows in the
    /// page's error banner.
    pub fn react(self, id: MessageId, emoji: String, on: bool) {
        spawn_local(async move {
            let path = format!("/messages/{id}/reactions/{}", http::encode(&emoji));
            let answer = if on { http::put::<Message>(&path).await } else { http::delete(&path).await };
            match answer {
                Ok(message) => {
                    self.thread.try_update(|t| t.update(id, |m| m.reactions = message.reactions));
                }
                Err(e) => {
                    self.error.try_set(Some(e.message));
                }
            }
        });
    }

    /// Changes the text of one of this user's messages. The refusal is the caller's to show,
    /// beside the text being edited.
    pub async fn edit(self, id: MessageId, text: String) -> Result<(), ApiError> {
        let message: Message = http::patch(&format!("/messages/{id}"), &json!({ "text": text })).await?;
        self.thread.try_update(|t| {
            t.update(id, |m| {
                m.text = message.text;
                m.edited_at = message.edited_at;
            })
        });
        Ok(())
    }

    /// Deletes one of this user's messages for everyone: it keeps its place, without its text.
    pub fn delete(self, id: MessageId) {
        spawn_local(async move {
            match http::delete::<Message>(&format!("/messages/{id}")).await {
                Ok(message) => {
                    self.thread.try_update(|t| {
                        t.update(id, |m| {
                            m.text.clear();
                            m.deleted_at = message.deleted_at.or(Some(chrono::Utc::now()));
                        })
                    });
                }
                Err(e) => {
                    self.error.try_set(Some(e.message));
                }
            }
        });
    }

    /// Pins a message in its conversation (`on`), or unpins it. The pinned bar reads the pins
    /// again at once (the realtime event that tells the others may come later).
    pub async fn pin(self, id: MessageId, on: bool) -> Result<(), ApiError> {
        let path = format!("/messages/{id}/pin");
        if on {
            http::put::<()>(&path).await?
        } else {
            http::delete::<()>(&path).await?
        }
        self.pins_changed.try_update(|n| *n += 1);
        Ok(())
    }

    /// A conversation's pins, the newest first.
    pub async fn pins(self, conversation: ConversationId) -> Result<Vec<Pin>, ApiError> {
        http::get(&format!("/conversations/{conversation}/pins")).await
    }

    /// Every reply of a thread, oldest first (page after page; a thread longer than
    /// [`THREAD_PAGES`] pages shows its first ones).
    pub async fn thread_replies_of(self, parent: MessageId) -> Result<Vec<Message>, ApiError> {
        let mut replies: Vec<Message> = Vec::new();
        for _ in 0..THREAD_PAGES {
            let after = replies.last().map(|m| format!("&after={}", m.id)).unwrap_or_default();
            let page: Vec<Message> =
                http::get(&format!("/messages/{parent}/thread?limit={THREAD_PAGE}{after}")).await?;
            let full = page.len() == THREAD_PAGE as usize;
            replies.extend(page);
            if !full {
                break;
            }
        }
        Ok(replies)
    }

    /// Reports a message to the workspace's moderators, saying why.
    pub async fn flag(self, id: MessageId, reason: String) -> Result<(), ApiError> {
        http::post::<serde_json::Value, _>(&format!("/messages/{id}/flag"), &json!({ "reason": reason }))
            .await
            .map(drop)
    }
}

/// Replies of a thread per request (the server's largest page).
const THREAD_PAGE: u32 = 200;
/// Pages of a thread read at most.
const THREAD_PAGES: usize = 5;
