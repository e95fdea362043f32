//! Opening a conversation at one of its messages (a search hit: `/inbox?c={id}&m={message}`).
//! Once the conversation's latest page is shown, the page around the message is loaded
//! (`around=`), then the history between it and the latest page, so the list stays one unbroken
//! run of messages (the API pages only towards older ones); then the list scrolls to it and
//! highlights it, as a clicked quote does.

use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::hooks::use_query_map;
use switchboard::{ConversationId, Message, MessageId};

use super::state::{Inbox, PAGE};
use crate::client::http::{self, ApiError};

/// The page around the message: it, half as many older and the rest newer.
const AROUND: u32 = 50;
/// Pages walked back from the latest one to meet the page around the message, at most (past
/// that, the run has a gap, which reopening the conversation closes).
const GAP_PAGES: usize = 10;

/// Follows the address's `m`: brings that message of the open conversation into view through
/// `jump` (the list scrolls there and highlights it). Called once by the message list.
pub fn follow(inbox: Inbox, jump: RwSignal<Option<MessageId>>) {
    let query = use_query_map();
    let done = StoredValue::new(None::<(ConversationId, MessageId)>);
    Effect::new(move |_| {
        let (c, m) =
            query.with(|q| (parse(q.get("c")).map(ConversationId), parse(q.get("m")).map(MessageId)));
        let (Some(c), Some(m)) = (c, m) else {
            done.set_value(None);
            return;
        };
        let ready = inbox.thread.with(|t| t.conversation == Some(c) && !t.loading && !t.messages.is_empty());
        if !ready || done.get_value() == Some((c, m)) {
            return;
        }
        done.set_value(Some((c, m)));
        spawn_local(async move {
            match load_around(inbox, c, m).await {
                // After the rows are laid out (older rows put in front move the scroll first).
                Ok(()) => request_animation_frame(move || {
                    jump.try_set(Some(m));
                }),
                Err(e) => {
                    inbox.error.try_set(Some(e.message));
                }
            }
        });
    });
}

fn parse(value: Option<String>) -> Option<uuid::Uuid> {
    value?.parse().ok()
}

/// Adds the page around `target` and the gap up to what is shown, unless it is shown already.
async fn load_around(inbox: Inbox, id: ConversationId, target: MessageId) -> Result<(), ApiError> {
    let shown = |m: MessageId| inbox.thread.with_untracked(|t| t.messages.iter().any(|x| x.id == m));
    if shown(target) {
        return Ok(());
    }
    let path = format!("/conversations/{id}/messages");
    let page: Vec<Message> = http::get(&format!("{path}?around={target}&limit={AROUND}")).await?;
    // Newest first: fewer than half a page older than the target means it is the start.
    let at_start = page.iter().filter(|m| m.id < target).count() < (AROUND / 2) as usize;
    let newest = page.first().map(|m| m.id);
    let mut gap: Vec<Message> = Vec::new();
    let mut oldest = inbox.thread.with_untracked(|t| t.messages.first().map(|m| m.id));
    for _ in 0..GAP_PAGES {
        let (Some(before), Some(newest)) = (oldest, newest) else { break };
        if newest >= before {
            break;
        }
        let older: Vec<Message> = http::get(&format!("{path}?before={before}&limit={PAGE}")).await?;
        oldest = older.last().map(|m| m.id);
        gap.extend(older);
    }
    inbox.thread.try_update(|t| {
        if t.conversation != Some(id) {
            return;
        }
        for m in page.into_iter().chain(gap) {
            if !t.messages.iter().any(|x| x.id == m.id) {
                t.upsert(m);
            }
        }
        t.has_more = !at_start;
    });
    Ok(())
}
