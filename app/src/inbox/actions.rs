//! What an agent does to a message already in the open conversation: react, edit, delete.
//! Each is a REST call; its answer (the message after the change) is applied at once, so the
//! page changes before the realtime event that tells the others arrives.

use leptos::prelude::*;
use leptos::task::spawn_local;
use serde_json::json;
use switchboard::{Message, MessageId};

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
}
