//! The bar above the composer while a bot answers the open conversation: which flow, at which
//! node, and a Stop button. It asks again when another conversation opens, when the
//! conversation's messages change (an agent's reply stops the bot), and at every event of the
//! running session: the inbox follows its `session:{id}` while the bar shows it, so the node
//! moves and the bar goes away (a timeout, a stop elsewhere) without a message.

use leptos::prelude::*;
use leptos::task::spawn_local;
use switchboard::flow::BotSession;
use switchboard::{BotSessionId, Topic};

use crate::client::http;
use crate::inbox::state::Inbox;

#[component]
pub fn BotBar() -> impl IntoView {
    let inbox = expect_context::<Inbox>();
    let seen = Memo::new(move |_| {
        inbox.thread.with(|t| (t.conversation, t.messages.len(), t.messages.last().map(|m| m.id)))
    });
    let bot = RwSignal::new(None::<BotSession>);
    let error = RwSignal::new(None::<String>);
    Effect::new(move |_| {
        inbox.bot_events.track();
        let Some(id) = seen.get().0 else {
            bot.set(None);
            return;
        };
        spawn_local(async move {
            let found = http::get::<Option<BotSession>>(&format!("/conversations/{id}/bot")).await;
            // Another conversation may have opened meanwhile.
            if inbox.thread.try_with_untracked(|t| t.conversation) == Some(Some(id)) {
                bot.set(found.ok().flatten());
            }
        });
    });
    // The shown session's own topic, followed while it is shown.
    let followed = Memo::new(move |_| bot.with(|b| b.as_ref().map(|s| s.id)));
    Effect::new(move |previous: Option<Option<BotSessionId>>| {
        let now = followed.get();
        if let Some(client) = crate::client::realtime::Realtime::current() {
            if let Some(Some(old)) = previous.filter(|old| *old != now) {
                client.unsubscribe(Topic::Session(old));
            }
            if let Some(id) = now {
                client.subscribe(Topic::Session(id));
            }
        }
        now
    });
    on_cleanup(move || {
        if let (Some(client), Some(Some(id))) =
            (crate::client::realtime::Realtime::current(), followed.try_get_untracked())
        {
            client.unsubscribe(Topic::Session(id));
        }
    });
    let stop = move |id: BotSessionId| {
        error.set(None);
        spawn_local(async move {
            match http::post::<BotSession, _>(&format!("/bot-sessions/{id}/stop"), &()).await {
                Ok(_) => bot.set(None),
                Err(e) => error.set(Some(e.message)),
            }
        })
    };
    move || {
        bot.get().map(|s| {
            let id = s.id;
            view! {
                <div class="bot-bar" role="status" data-testid="bot-bar">
                    <span class="bot-tag">"Bot"</span>
                    <a href=format!("/bot-sessions/{id}")>
                        {format!(" running: {}, at {}", s.flow_name, s.current_node.clone().unwrap_or_default())}
                    </a>
                    " "
                    <button type="button" class="link-button danger" on:click=move |_| stop(id)>"Stop"</button>
                    {move || error.get().map(|why| view! { <span class="form-error">{why}</span> })}
                </div>
            }
        })
    }
}
