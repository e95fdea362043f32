//! Chatbot flows and bot sessions, on SQLite and PostgreSQL: publishing validates; a new
//! conversation runs the flow (greeting, choices, the contact's answer, the branch, the
//! hand-over to an agent) with each step's events on `session:{id}` in order; an agent's reply
//! stops the bot; a waiting session and its timeout survive a restart; a crash between a step's
//! send and its record sends nothing twice.

#[macro_use]
mod common;

use std::sync::Arc;
use std::time::Duration;

use common::receiver::{Receiver, Reply};
use common::*;
use serde_json::{Value, json};
use switchboard::flow::{BotSession, Completion, SessionStatus};
use switchboard::{Channel, ConversationId, Topic};
use switchboard_server::http::AppState;
use switchboard_server::services::bots::BotService;

app_test!(
    publishing_validates_and_freezes_a_version,
    a_new_conversation_runs_the_flow_and_hands_over,
    an_agent_reply_stops_the_bot,
    a_reply_queued_behind_the_message_that_starts_the_bot_stops_it,
    a_waiting_session_and_its_timeout_survive_a_restart,
    a_crash_between_send_and_record_sends_nothing_twice,
    the_session_topic_is_read_like_its_conversation_by_staff,
    choices_are_the_networks_buttons_where_they_fit_and_numbered_lines_otherwise,
    an_http_node_calls_with_the_variables_and_branches_on_the_status,
);

/// Alice (owner), Bob's id, a Mock channel.
async fn setup(app: &AppState) -> (String, String, Channel) {
    let alice = login(app, "alice@example.com", "demo-password").await;
    let bob = login(app, "bob@example.com", "demo-password").await;
    let bob_id = app.accounts.authenticate(&bob).await.unwrap().user.id.to_string();
    let created = create_channel(app, &alice, json!({"provider": "mock", "name": "Mock"})).await;
    let id: switchboard::ChannelId = created["id"].as_str().unwrap().parse().unwrap();
    let ws = app.store.workspace_by_name("Acme Support").await.unwrap().unwrap().id;
    (alice, bob_id, app.store.channel(ws, id).await.unwrap().unwrap())
}

/// Greeting → "Sales or support?" → Sales: hand over to `agent`; Support: ask the order number
/// (waits `timeout` seconds, then "Nobody answered") → thanks.
fn support_flow(channel: &Channel, agent: &str, timeout: u32) -> Value {
    json!({
        "name": "Support bot",
        "triggers": {"new_conversation_on": [channel.id]},
        "graph": {"start": "hello", "nodes": [
            {"id": "hello", "label": "Greeting", "action": {"type": "send", "text": "Hi {{contact.first_name}}!", "next": "menu"}},
            {"id": "menu", "label": "Menu", "action": {"type": "choice", "text": "Sales or support?", "variable": "topic",
                "choices": [{"label": "Sales", "next": "sales"}, {"label": "Support", "next": "order"}]}},
            {"id": "sales", "label": "To sales", "action": {"type": "hand_over", "assignee": agent}},
            {"id": "order", "label": "Order number", "action": {"type": "ask", "text": "Your order number?", "variable": "order",
                "next": "thanks", "timeout": {"seconds": timeout, "next": "late"}}},
            {"id": "thanks", "action": {"type": "send", "text": "Thanks, {{order}} noted.", "next": null}},
            {"id": "late", "action": {"type": "send", "text": "Nobody answered", "next": null}},
        ]},
    })
}

/// Creates and publishes a flow; its id.
async fn published(app: &AppState, alice: &str, flow: Value) -> String {
    let (status, created) = call(app, alice, "POST", "/api/v1/flows", Some(flow)).await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().unwrap().to_owned();
    let (status, version) = call(app, alice, "POST", &format!("/api/v1/flows/{id}/publish"), None).await;
    assert_eq!(status, 200, "{version}");
    id
}

/// A bot service listening to the app's messages, as `serve` runs it.
fn listening(app: &AppState, bots: Arc<BotService>) -> tokio::task::JoinHandle<()> {
    let messages = Arc::new(tokio::sync::Mutex::new(app.realtime.bus().watch_messages()));
    tokio::spawn(bots.listen(messages))
}

/// Waits until the conversation's latest session satisfies `done`.
async fn session_until(
    app: &AppState,
    conversation: ConversationId,
    done: impl Fn(&BotSession) -> bool,
) -> BotSession {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let ws = app.store.workspace_by_name("Acme Support").await.unwrap().unwrap().id;
        let filter = switchboard::store::SessionFilter {
            conversation_id: Some(conversation),
            limit: 1,
            ..Default::default()
        };
        let latest = app.store.bot_sessions(ws, &filter).await.unwrap().into_iter().next();
        if let Some(s) = latest.filter(|s| done(s)) {
            return s;
        }
        assert!(tokio::time::Instant::now() < deadline, "the session never got there");
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
}

/// The texts of the conversation's messages, oldest first, bot messages marked `bot:`, quick-reply
/// buttons after the text in brackets.
async fn transcript(app: &AppState, token: &str, conversation: ConversationId) -> Vec<String> {
    let uri = format!("/api/v1/conversations/{conversation}/messages?limit=50");
    let (_, list) = call(app, token, "GET", &uri, None).await;
    let mut out: Vec<String> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            let bot = if m["from_bot"] == true { "bot:" } else { "" };
            let buttons: Vec<&str> =
                m["buttons"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
            match buttons.is_empty() {
                true => format!("{bot}{}", m["text"].as_str().unwrap()),
                false => format!("{bot}{} [{}]", m["text"].as_str().unwrap(), buttons.join("|")),
            }
        })
        .collect();
    out.reverse();
    out
}

async fn publishing_validates_and_freezes_a_version(app: AppState, _raw: Raw) {
    let (alice, bob_id, channel) = setup(&app).await;
    let bob = login(&app, "bob@example.com", "demo-password").await;
    let mut flow = support_flow(&channel, &bob_id, 60);
    let (status, refused) = call(&app, &bob, "POST", "/api/v1/flows", Some(flow.clone())).await;
    assert_eq!(
        (status.as_u16(), error_code(&refused).as_str()),
        (403, "forbidden"),
        "agents do not edit flows"
    );
    // A branch to nowhere: the draft is kept, publishing names the node.
    flow["graph"]["nodes"][4]["action"]["next"] = json!("nowhere");
    let (status, created) = call(&app, &alice, "POST", "/api/v1/flows", Some(flow.clone())).await;
    assert_eq!(status, 201, "{created}");
    assert_eq!((created["version"].as_i64(), created["enabled"].as_bool()), (Some(0), Some(false)));
    let id = created["id"].as_str().unwrap();
    let (status, refused) = call(&app, &alice, "POST", &format!("/api/v1/flows/{id}/publish"), None).await;
    assert_eq!(status, 422, "{refused}");
    assert!(
        refused.to_string().contains("nodes.thanks") && refused.to_string().contains("nowhere"),
        "{refused}"
    );
    // An unreachable node is refused too.
    flow["graph"]["nodes"][4]["action"]["next"] = Value::Null;
    flow["graph"]["nodes"].as_array_mut().unwrap().push(json!({"id": "lost", "action": {"type": "end"}}));
    assert_eq!(call(&app, &alice, "PUT", &format!("/api/v1/flows/{id}"), Some(flow.clone())).await.0, 200);
    let (status, refused) = call(&app, &alice, "POST", &format!("/api/v1/flows/{id}/publish"), None).await;
    assert_eq!(status, 422);
    assert!(refused.to_string().contains("nodes.lost"), "{refused}");
    // Fixed: version 1, then 2; version 1 stays as it was.
    flow["graph"]["nodes"].as_array_mut().unwrap().pop();
    assert_eq!(call(&app, &alice, "PUT", &format!("/api/v1/flows/{id}"), Some(flow.clone())).await.0, 200);
    let (status, v1) = call(&app, &alice, "POST", &format!("/api/v1/flows/{id}/publish"), None).await;
    assert_eq!((status.as_u16(), v1["version"].as_i64()), (200, Some(1)), "{v1}");
    flow["graph"]["nodes"][0]["action"]["text"] = json!("Hello again");
    assert_eq!(call(&app, &alice, "PUT", &format!("/api/v1/flows/{id}"), Some(flow)).await.0, 200);
    let (_, v2) = call(&app, &alice, "POST", &format!("/api/v1/flows/{id}/publish"), None).await;
    assert_eq!(v2["version"], 2);
    let fid: switchboard::FlowId = id.parse().unwrap();
    let first = app.store.flow_version(fid, 1).await.unwrap().unwrap();
    assert!(
        matches!(&first.graph.nodes[0].action, switchboard::flow::Action::Send { text, .. } if text == "Hi {{contact.first_name}}!")
    );
    let (_, listed) = call(&app, &bob, "GET", "/api/v1/flows", None).await;
    assert_eq!((listed[0]["version"].as_i64(), listed[0]["enabled"].as_bool()), (Some(2), Some(true)));
}

async fn a_new_conversation_runs_the_flow_and_hands_over(app: AppState, _raw: Raw) {
    let (alice, bob_id, channel) = setup(&app).await;
    published(&app, &alice, support_flow(&channel, &bob_id, 60)).await;
    let hook = json!({"url": "http://127.0.0.1:9/hook", "events": ["*"]});
    let (status, endpoint) = call(&app, &alice, "POST", "/api/v1/webhook-endpoints", Some(hook)).await;
    assert_eq!(status, 201, "{endpoint}");
    let runner = listening(&app, app.bots.clone());
    let conversation =
        contact_writes(&app, &channel, "+15550101", "Maria Lopez", "hello").await.conversation.id;
    let waiting = session_until(&app, conversation, |s| s.status == SessionStatus::WaitingInput).await;
    assert_eq!(waiting.current_node.as_deref(), Some("menu"));
    let (_, live) =
        call(&app, &alice, "GET", &format!("/api/v1/conversations/{conversation}/bot"), None).await;
    assert_eq!(live["id"], waiting.id.to_string());
    assert_eq!(
        transcript(&app, &alice, conversation).await,
        ["hello", "bot:Hi Maria!", "bot:Sales or support? [Sales|Support]"]
    );

    contact_writes(&app, &channel, "+15550101", "Maria Lopez", "sales").await;
    let done = session_until(&app, conversation, |s| s.status == SessionStatus::Completed).await;
    assert_eq!(done.completion, Some(Completion::HandedOver));
    assert_eq!((done.nodes_executed, done.messages_sent, done.messages_received), (3, 2, 1));
    assert_eq!(done.variables.get("topic").map(String::as_str), Some("Sales"));
    let ws = app.store.workspace_by_name("Acme Support").await.unwrap().unwrap().id;
    let assignee = app.store.conversation(ws, conversation).await.unwrap().unwrap().assignee_id;
    assert_eq!(assignee.map(|a| a.to_string()), Some(bob_id), "handed over to the agent");

    // Each step's events on `session:{id}`, in order; the inbox heard the start and the end.
    let events = app.store.events_after(Topic::Session(done.id), 0, 100).await.unwrap();
    let trail: Vec<String> = events
        .iter()
        .map(|e| match &e.body {
            switchboard::EventBody::SessionMessage(m) => {
                format!("message:{}", if m.from_bot { "bot" } else { "contact" })
            }
            switchboard::EventBody::SessionNodeExecuted(n) => format!("node:{}", n.node_id),
            switchboard::EventBody::SessionStatusChanged(s) => {
                format!("status:{}@{}", s.status.as_str(), s.current_node.as_deref().unwrap_or("-"))
            }
            switchboard::EventBody::SessionCompleted(c) => format!("completed:{}", c.reason.as_str()),
            other => format!("unexpected {other:?}"),
        })
        .collect();
    assert_eq!(
        trail,
        [
            "status:running@hello",
            "message:bot",
            "node:hello",
            "status:running@menu",
            "message:bot",
            "node:menu",
            "status:waiting_input@menu",
            "message:contact",
            "status:running@sales",
            "node:sales",
            "status:completed@-",
            "completed:handed_over",
        ]
    );
    assert!(events.windows(2).all(|w| w[1].offset == w[0].offset + 1), "gapless offsets");
    let (status, listed) =
        call(&app, &alice, "GET", &format!("/api/v1/bot-sessions/{}/events", done.id), None).await;
    assert_eq!((status.as_u16(), listed.as_array().map(Vec::len)), (200, Some(events.len())));
    assert_eq!(
        (listed[0]["type"].as_str(), listed[0]["offset"].as_i64()),
        (Some("session.status_changed"), Some(1))
    );
    let inbox = app.store.events_after(Topic::Inbox(ws), 0, 1000).await.unwrap();
    let kinds: Vec<&str> = inbox
        .iter()
        .filter(|e| e.kind().as_str().starts_with("session."))
        .map(|e| e.kind().as_str())
        .collect();
    assert_eq!(kinds, ["session.started", "session.completed"]);
    // Webhooks get the start and the end, once each; not the step-by-step stream.
    let uri = format!("/api/v1/webhook-endpoints/{}/deliveries?limit=100", endpoint["id"].as_str().unwrap());
    let (_, deliveries) = call(&app, &alice, "GET", &uri, None).await;
    let mut types: Vec<&str> = deliveries
        .as_array()
        .unwrap_or_else(|| panic!("{deliveries}"))
        .iter()
        .filter_map(|d| d["event_type"].as_str())
        .filter(|t| t.starts_with("session."))
        .collect();
    types.sort_unstable();
    assert_eq!(types, ["session.completed", "session.started"]);
    runner.abort();
}

async fn an_agent_reply_stops_the_bot(app: AppState, _raw: Raw) {
    let (alice, bob_id, channel) = setup(&app).await;
    published(&app, &alice, support_flow(&channel, &bob_id, 60)).await;
    let runner = listening(&app, app.bots.clone());
    let conversation = contact_writes(&app, &channel, "+15550102", "Tom", "hi").await.conversation.id;
    session_until(&app, conversation, |s| s.status == SessionStatus::WaitingInput).await;
    // A note does not stop it; a reply to the customer does.
    let uri = format!("/api/v1/conversations/{conversation}/messages");
    let note = json!({"text": "watching this one", "note": true});
    assert_eq!(call(&app, &alice, "POST", &uri, Some(note)).await.0, 201);
    tokio::time::sleep(Duration::from_millis(200)).await;
    session_until(&app, conversation, |s| s.status == SessionStatus::WaitingInput).await;
    assert_eq!(
        call(&app, &alice, "POST", &uri, Some(json!({"text": "I'll take it from here"}))).await.0,
        201
    );
    let stopped = session_until(&app, conversation, |s| s.status == SessionStatus::Stopped).await;
    assert_eq!(stopped.completion, Some(Completion::AgentReplied));
    // Started again by hand, then "stop bot".
    let flows = call(&app, &alice, "GET", "/api/v1/flows", None).await.1;
    let start = json!({"flow_id": flows[0]["id"]});
    let (status, session) =
        call(&app, &alice, "POST", &format!("/api/v1/conversations/{conversation}/bot"), Some(start.clone()))
            .await;
    assert_eq!((status.as_u16(), session["status"].as_str()), (201, Some("waiting_input")), "{session}");
    let (status, _) =
        call(&app, &alice, "POST", &format!("/api/v1/conversations/{conversation}/bot"), Some(start)).await;
    assert_eq!(status, 409, "one flow at a time per conversation");
    let stop = format!("/api/v1/bot-sessions/{}/stop", session["id"].as_str().unwrap());
    let (status, stopped) = call(&app, &alice, "POST", &stop, None).await;
    assert_eq!((status.as_u16(), stopped["completion"].as_str()), (200, Some("stopped_by_agent")));
    assert_eq!(call(&app, &alice, "POST", &stop, None).await.0, 409);
    runner.abort();
}

/// The runner takes the messages that queued up together, and reads the sessions of the team's
/// messages once for all of them: a reply queued right behind the customer's message that
/// starts the bot must still find (and stop) the session that message started.
async fn a_reply_queued_behind_the_message_that_starts_the_bot_stops_it(app: AppState, _raw: Raw) {
    let (alice, bob_id, channel) = setup(&app).await;
    published(&app, &alice, support_flow(&channel, &bob_id, 60)).await;
    let queued = Arc::new(tokio::sync::Mutex::new(app.realtime.bus().watch_messages()));
    let conversation = contact_writes(&app, &channel, "+15550109", "Ann", "hi").await.conversation.id;
    let uri = format!("/api/v1/conversations/{conversation}/messages");
    assert_eq!(call(&app, &alice, "POST", &uri, Some(json!({"text": "On it"}))).await.0, 201);
    // Both wait in the queue; the runner starts now and takes them as one batch.
    let runner = tokio::spawn(app.bots.clone().listen(queued));
    let stopped = session_until(&app, conversation, |s| s.status == SessionStatus::Stopped).await;
    assert_eq!(stopped.completion, Some(Completion::AgentReplied));
    runner.abort();
}

async fn a_waiting_session_and_its_timeout_survive_a_restart(app: AppState, _raw: Raw) {
    let (alice, bob_id, channel) = setup(&app).await;
    published(&app, &alice, support_flow(&channel, &bob_id, 30)).await;
    let runner = listening(&app, app.bots.clone());
    let answered = contact_writes(&app, &channel, "+15550103", "Ann", "hi").await.conversation.id;
    let silent = contact_writes(&app, &channel, "+15550104", "Ben", "hi").await.conversation.id;
    for c in [answered, silent] {
        session_until(&app, c, |s| s.current_node.as_deref() == Some("menu")).await;
        contact_writes(&app, &channel, if c == answered { "+15550103" } else { "+15550104" }, "x", "2").await;
        session_until(&app, c, |s| {
            s.current_node.as_deref() == Some("order") && s.status == SessionStatus::WaitingInput
        })
        .await;
    }
    // The server stops; a new one (a new service over the same database) takes over.
    runner.abort();
    let restarted =
        Arc::new(BotService::new(app.store.clone(), app.messages.clone(), app.realtime.hub.clone(), true));
    let runner = listening(&app, restarted.clone());
    contact_writes(&app, &channel, "+15550103", "Ann", "A-17").await;
    let done = session_until(&app, answered, |s| !s.status.is_live()).await;
    assert_eq!(done.completion, Some(Completion::Finished));
    assert_eq!(transcript(&app, &alice, answered).await.last().unwrap(), "bot:Thanks, A-17 noted.");
    // Not yet due: nothing moves; 30 s later the timeout's branch runs.
    assert_eq!(restarted.wake_due(switchboard::time::now()).await.unwrap(), 0);
    let later = switchboard::time::now() + chrono::Duration::seconds(31);
    assert_eq!(restarted.wake_due(later).await.unwrap(), 1);
    let late = session_until(&app, silent, |s| !s.status.is_live()).await;
    assert_eq!((late.status, late.completion), (SessionStatus::Completed, Some(Completion::Finished)));
    assert_eq!(transcript(&app, &alice, silent).await.last().unwrap(), "bot:Nobody answered");
    runner.abort();
}

async fn a_crash_between_send_and_record_sends_nothing_twice(app: AppState, _raw: Raw) {
    let (alice, bob_id, channel) = setup(&app).await;
    published(&app, &alice, support_flow(&channel, &bob_id, 60)).await;
    let runner = listening(&app, app.bots.clone());
    app.bots.crash_after_send.store(true, std::sync::atomic::Ordering::SeqCst);
    let conversation = contact_writes(&app, &channel, "+15550105", "Cy", "hi").await.conversation.id;
    let stuck = session_until(&app, conversation, |s| s.status == SessionStatus::Running).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let ws = app.store.workspace_by_name("Acme Support").await.unwrap().unwrap().id;
    let filter = switchboard::store::SessionFilter {
        conversation_id: Some(conversation),
        limit: 1,
        ..Default::default()
    };
    let still = app.store.bot_sessions(ws, &filter).await.unwrap().remove(0);
    assert_eq!(
        (still.steps, still.current_node.as_deref()),
        (0, Some("hello")),
        "the step was never recorded"
    );
    assert_eq!(transcript(&app, &alice, conversation).await, ["hi", "bot:Hi Cy!"], "its message was sent");
    // The run is taken up again once stale: the greeting is not sent twice.
    let later = switchboard::time::now() + chrono::Duration::seconds(60);
    assert_eq!(app.bots.wake_due(later).await.unwrap(), 1);
    let waiting = session_until(&app, conversation, |s| s.status == SessionStatus::WaitingInput).await;
    assert_eq!(waiting.id, stuck.id);
    assert_eq!(
        transcript(&app, &alice, conversation).await,
        ["hi", "bot:Hi Cy!", "bot:Sales or support? [Sales|Support]"]
    );
    assert_eq!(waiting.messages_sent, 2);
    runner.abort();
}

async fn the_session_topic_is_read_like_its_conversation_by_staff(app: AppState, _raw: Raw) {
    use switchboard_server::access::{TopicRefusal, topic};
    use switchboard_server::services::provision::{UserSpec, ensure_user};
    let (alice, bob_id, channel) = setup(&app).await;
    published(&app, &alice, support_flow(&channel, &bob_id, 60)).await;
    let runner = listening(&app, app.bots.clone());
    let conversation = contact_writes(&app, &channel, "+15550106", "Di", "hi").await.conversation.id;
    let session = session_until(&app, conversation, |s| s.status == SessionStatus::WaitingInput).await;
    let name = Topic::Session(session.id).to_string();
    let bob: switchboard::UserId = bob_id.parse().unwrap();
    assert_eq!(topic(app.store.as_ref(), bob, &name).await.ok(), Some(Topic::Session(session.id)));
    let spec = |email: &str, workspace: &str, role| UserSpec {
        email: email.into(),
        password: "a-long-password".into(),
        name: None,
        workspace: workspace.into(),
        role,
    };
    // Someone of another workspace is refused; so is a session that does not exist.
    let stranger = ensure_user(
        app.store.as_ref(),
        &spec("eve@example.com", "Elsewhere", switchboard::MemberRole::Owner),
    )
    .await
    .unwrap()
    .user
    .id;
    assert!(matches!(topic(app.store.as_ref(), stranger, &name).await, Err(TopicRefusal::Denied)));
    let nowhere = Topic::Session(switchboard::BotSessionId::new()).to_string();
    assert!(matches!(topic(app.store.as_ref(), bob, &nowhere).await, Err(TopicRefusal::Denied)));
    runner.abort();
}

/// On a connected Mock channel (buttons like WhatsApp's: three of twenty characters), a choice of
/// two goes out as the network's buttons and the contact's press picks its branch; a choice of
/// four goes out as numbered lines and the contact's "3" picks the third.
async fn choices_are_the_networks_buttons_where_they_fit_and_numbered_lines_otherwise(
    app: AppState,
    _raw: Raw,
) {
    let alice = login(&app, "alice@example.com", "demo-password").await;
    // The contact presses the second button, and answers anything else with "3".
    let config = json!({"press_button": 2, "reply_text": "3", "reply_after_ms": 50, "delivered_after_ms": 10, "read_after_ms": 20});
    let created =
        create_channel(&app, &alice, json!({"provider": "mock", "name": "Mock", "config": config})).await;
    let id: switchboard::ChannelId = created["id"].as_str().unwrap().parse().unwrap();
    let ws = app.store.workspace_by_name("Acme Support").await.unwrap().unwrap().id;
    let channel = app.store.channel(ws, id).await.unwrap().unwrap();
    sign_in_by_token(&app, &alice, &id.to_string()).await;
    let connected = tokio::time::Instant::now() + Duration::from_secs(10);
    while !app.mock.is_connected(id) {
        assert!(tokio::time::Instant::now() < connected, "the Mock channel never connected");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let flow = json!({
        "name": "Menu bot",
        "triggers": {"new_conversation_on": [id]},
        "graph": {"start": "menu", "nodes": [
            {"id": "menu", "action": {"type": "choice", "text": "Sales or support?", "variable": "topic",
                "choices": [{"label": "Sales", "next": "bye"}, {"label": "Support", "next": "more"}]}},
            {"id": "more", "action": {"type": "choice", "text": "Which product?", "variable": "product",
                "choices": [{"label": "Alpha", "next": "bye"}, {"label": "Beta", "next": "bye"},
                            {"label": "Gamma", "next": "bye"}, {"label": "Delta", "next": "bye"}]}},
            {"id": "bye", "action": {"type": "send", "text": "Noted: {{topic}} {{product}}", "next": null}},
        ]},
    });
    published(&app, &alice, flow).await;
    let runner = listening(&app, app.bots.clone());
    let sender = spawn_outbox(&app);
    let conversation =
        contact_writes(&app, &channel, "+15550000001", "Maria Lopez", "hello").await.conversation.id;
    let done = session_until(&app, conversation, |s| s.status == SessionStatus::Completed).await;
    assert_eq!(done.variables.get("topic").map(String::as_str), Some("Support"), "the pressed button");
    assert_eq!(done.variables.get("product").map(String::as_str), Some("Gamma"), "the third line");
    let transcript = transcript(&app, &alice, conversation).await;
    assert_eq!(
        transcript[..5],
        [
            "hello",
            "bot:Sales or support? [Sales|Support]",
            "Support",
            "bot:Which product?\n\n1. Alpha\n2. Beta\n3. Gamma\n4. Delta",
            "3",
        ],
        "{transcript:?}"
    );
    // The network showed buttons for the first choice only.
    let shown = app.mock.received_buttons(id);
    assert_eq!(shown.len(), 1, "{shown:?}");
    assert_eq!(shown[0].1, ["Sales", "Support"]);
    sender.abort();
    runner.abort();
}

/// An `http` node posts its body with the variables filled in (and a key that stays the same if
/// the step runs again), keeps the answer in its variable and takes `ok` on a 2xx; a 5xx takes
/// `failed`.
async fn an_http_node_calls_with_the_variables_and_branches_on_the_status(app: AppState, _raw: Raw) {
    let (alice, _, channel) = setup(&app).await;
    let (receiver, url) = Receiver::default().start().await;
    receiver.script.lock().unwrap().extend([
        Reply { status: 200, body: "{\"eta\":\"Tuesday\"}".into(), retry_after: None },
        Reply::status(503),
    ]);
    let flow = json!({
        "name": "Order lookup",
        "triggers": {"new_conversation_on": [channel.id]},
        "graph": {"start": "order", "nodes": [
            {"id": "order", "action": {"type": "ask", "text": "Your order number?", "variable": "order", "next": "lookup"}},
            {"id": "lookup", "action": {"type": "http", "method": "POST", "url": url,
                "body": "{\"order\": \"{{order}}\", \"name\": \"{{contact.first_name}}\"}",
                "variable": "answer", "ok": "found", "failed": "sorry"}},
            {"id": "found", "action": {"type": "send", "text": "Found: {{answer}}", "next": null}},
            {"id": "sorry", "action": {"type": "send", "text": "The lookup is down", "next": null}},
        ]},
    });
    published(&app, &alice, flow).await;
    let runner = listening(&app, app.bots.clone());
    let mut seen = Vec::new();
    for (n, phone) in ["+15550301", "+15550302"].into_iter().enumerate() {
        let conversation = contact_writes(&app, &channel, phone, "Ana Silva", "hi").await.conversation.id;
        session_until(&app, conversation, |s| s.status == SessionStatus::WaitingInput).await;
        contact_writes(&app, &channel, phone, "Ana Silva", &format!("A-{n}")).await;
        let done = session_until(&app, conversation, |s| s.status == SessionStatus::Completed).await;
        seen.push((done, transcript(&app, &alice, conversation).await));
    }
    let bodies = receiver.bodies();
    assert_eq!(bodies[0], json!({"order": "A-0", "name": "Ana"}));
    assert_eq!(bodies[1]["order"], "A-1");
    let keys: Vec<String> = receiver
        .seen
        .lock()
        .unwrap()
        .iter()
        .map(|(h, _)| h["idempotency-key"].to_str().unwrap().to_owned())
        .collect();
    assert_eq!(keys[0], format!("bot:{}:2", seen[0].0.id), "the session and its step");
    assert_eq!(seen[0].0.variables.get("answer").map(String::as_str), Some("{\"eta\":\"Tuesday\"}"));
    assert_eq!(seen[0].1.last().map(String::as_str), Some("bot:Found: {\"eta\":\"Tuesday\"}"));
    assert_eq!(seen[1].1.last().map(String::as_str), Some("bot:The lookup is down"), "a 503 fails");
    runner.abort();
}
