//! Plans, not clocks (issue 25): each hot statement of unread state is explained on both
//! backends over a realistic workspace (a 1,001-member room beside contact conversations),
//! and the test fails on a correlated subquery or on a scan of a table that grows with
//! members or messages. The statements are the store's own text (`store::hot`).
//!
//! Run with `--nocapture` to print the plans (docs/performance.md records them).

mod common;

use switchboard::message::ConversationFilter;
use switchboard::store::{NewOutbound, NewRoom, NewUser};
use switchboard::time::now;
use switchboard::validate::Email;
use switchboard::{Channel, ConversationId, MemberRole, MessageId, ProviderKind, Store, UserId, WorkspaceId};
use switchboard_server::store::hot;
use uuid::Uuid;

/// Tables whose size grows with members or messages: a plan must reach them by an index.
/// (`conversation` too: the list reads one workspace's, never every workspace's.)
const GROWING: [&str; 15] = [
    "message",
    "ban",
    "pinned_message",
    "moderation_flag",
    "moderation_action",
    "member",
    "conversation_member",
    "message_flag",
    "read_position",
    "user_account",
    "event",
    "conversation",
    "api_key",
    "app_user",
    "bot_session",
];

struct World {
    ws: WorkspaceId,
    room: ConversationId,
    contact: ConversationId,
    reader: UserId,
    last: MessageId,
}

/// A workspace with a 1,001-member room holding 300 messages from many senders, 20 contact
/// conversations with inbound messages, and mentions, beside another workspace's 60
/// conversations.
async fn world(store: &dyn Store) -> World {
    let ws = store
        .create_workspace(switchboard::Workspace {
            id: WorkspaceId::new(),
            name: "Big".into(),
            created_at: now(),
        })
        .await
        .unwrap();
    let mut users = Vec::new();
    for n in 0..1001 {
        let user = store
            .create_user(NewUser {
                id: UserId::new(),
                email: Email::parse(&format!("u{n}@example.com")).unwrap(),
                name: format!("User {n}"),
                password_hash: "x".into(),
                created_at: now(),
            })
            .await
            .unwrap();
        store.put_member(ws.id, user.id, MemberRole::Agent, now()).await.unwrap();
        users.push(user.id);
    }
    let mock = store.create_channel(channel(ws.id, ProviderKind::Mock, "Mock")).await.unwrap();
    let inapp = store.create_channel(channel(ws.id, ProviderKind::Inapp, "Team")).await.unwrap();
    let room = store
        .create_room(NewRoom {
            workspace_id: ws.id,
            channel_id: inapp.id,
            title: "Everyone".into(),
            members: users.clone(),
            room_type: Default::default(),
            custom: None,
        })
        .await
        .unwrap();
    let mut contact = None;
    for c in 0..20 {
        for n in 0..5 {
            let done = store.ingest_inbound(inbound(ws.id, mock.id, c, n)).await.unwrap().unwrap();
            contact = Some(done.conversation.id);
        }
    }
    // Another workspace's conversations: the list must not read them.
    let other = store
        .create_workspace(switchboard::Workspace {
            id: WorkspaceId::new(),
            name: "Other".into(),
            created_at: now(),
        })
        .await
        .unwrap();
    let elsewhere = store.create_channel(channel(other.id, ProviderKind::Mock, "Mock")).await.unwrap();
    for c in 0..60 {
        store.ingest_inbound(inbound(other.id, elsewhere.id, c, 0)).await.unwrap().unwrap();
    }
    let mut last = None;
    for n in 0..300 {
        let sender = users[(n * 7) % users.len()];
        let text = if n % 50 == 0 { format!("@u{} look", n % 10) } else { format!("m{n}") };
        let sent = store.send_message(outbound(ws.id, room.id, sender, &text)).await.unwrap();
        last = Some(sent.message.id);
    }
    World { ws: ws.id, room: room.id, contact: contact.unwrap(), reader: users[1], last: last.unwrap() }
}

fn channel(workspace_id: WorkspaceId, provider: ProviderKind, name: &str) -> Channel {
    Channel {
        id: switchboard::ChannelId::new(),
        workspace_id,
        provider,
        name: name.into(),
        status: switchboard::ChannelStatus::Disconnected,
        config: serde_json::json!({}),
        last_error: None,
        created_at: now(),
        updated_at: now(),
        webhook: None,
        history_import: None,
    }
}

fn inbound(
    ws: WorkspaceId,
    channel: switchboard::ChannelId,
    c: usize,
    n: usize,
) -> switchboard::store::NewInbound {
    use switchboard::provider::{Contact, Direction, ProviderMessage};
    switchboard::store::NewInbound {
        workspace_id: ws,
        channel_id: channel,
        contact: Contact { external_id: format!("+1{c}"), name: format!("Contact {c}") },
        message: ProviderMessage {
            external_id: format!("e-{c}-{n}"),
            contact_id: format!("+1{c}"),
            direction: Direction::Inbound,
            text: format!("hello {n}"),
            sent_at: now(),
            media: Vec::new(),
            reply_to: None,
            sender_name: None,
        },
        attachments: Vec::new(),
        blob_keys: Vec::new(),
        trace_id: None,
    }
}

fn outbound(ws: WorkspaceId, conversation_id: ConversationId, sender: UserId, text: &str) -> NewOutbound {
    NewOutbound {
        workspace_id: ws,
        conversation_id,
        sender,
        role: switchboard::MemberRole::Agent,
        text: text.into(),
        reply_to: None,
        attachments: Vec::new(),
        template: None,
        client_message_id: None,
        parent_id: None,
        show_in_conversation: false,
        note: false,
        from_bot: false,
        buttons: Vec::new(),
        trace_id: None,
    }
}

/// The values a statement is explained with.
#[derive(Clone, Copy)]
enum Value {
    Id(Uuid),
    NullId,
    NullText,
    Bool(bool),
    Text(&'static str),
    Time,
}

/// The hot statements with realistic values: (name, SQL, values).
fn statements(backend: switchboard::store::Backend, w: &World) -> Vec<(&'static str, String, Vec<Value>)> {
    use Value::*;
    let (ws, room, contact, reader, last) =
        (w.ws.as_uuid(), w.room.as_uuid(), w.contact.as_uuid(), w.reader.as_uuid(), w.last.as_uuid());
    let nil = Id(Uuid::nil());
    let now_value = Time;
    let mut grouped_message = Vec::new();
    for _ in 0..2 {
        grouped_message.extend([
            Id(Uuid::now_v7()),
            Id(ws),
            Id(room),
            Id(Uuid::now_v7()),
            Text("outbound"),
            Text("sent"),
            Text("hi"),
            NullText,
            Id(reader),
            now_value,
            now_value,
            NullId,
            NullText,
            NullText,
            NullId,
            Text("all"),
            Bool(false),
            Bool(false),
            NullText,
        ]);
    }
    vec![
        ("send: grouped message insert (2 rows)", hot::insert_messages(backend, 2), grouped_message),
        (
            "send: grouped senders' read positions (2 rows)",
            hot::advance_read_positions(backend, 2),
            vec![
                Id(reader),
                Id(room),
                Id(ws),
                Id(last),
                now_value,
                Id(reader),
                Id(contact),
                Id(ws),
                Id(last),
                now_value,
            ],
        ),
        (
            "list: conversations with unread counts",
            hot::CONVERSATION_LIST.to_owned(),
            vec![
                Id(ws),
                NullId,
                Id(reader),
                NullText,
                Bool(false),
                NullText,
                Bool(false),
                nil,
                Bool(false),
                Bool(false),
                NullId,
                NullId,
            ],
        ),
        (
            "list: mine, with a label",
            hot::CONVERSATION_LIST.to_owned(),
            vec![
                Id(ws),
                NullId,
                Id(reader),
                NullText,
                Bool(false),
                NullText,
                Bool(false),
                nil,
                Bool(false),
                Bool(false),
                Id(reader),
                Id(room),
            ],
        ),
        (
            "list: unassigned",
            hot::CONVERSATION_LIST.to_owned(),
            vec![
                Id(ws),
                NullId,
                Id(reader),
                NullText,
                Bool(false),
                NullText,
                Bool(false),
                nil,
                Bool(false),
                Bool(true),
                NullId,
                NullId,
            ],
        ),
        (
            "list: an app user's rooms",
            hot::CONVERSATION_LIST.to_owned(),
            vec![
                Id(ws),
                NullId,
                Id(reader),
                NullText,
                Bool(false),
                NullText,
                Bool(false),
                nil,
                Bool(true),
                Bool(false),
                NullId,
                NullId,
            ],
        ),
        (
            "list: unread only",
            hot::CONVERSATION_LIST.to_owned(),
            vec![
                Id(ws),
                NullId,
                Id(reader),
                NullText,
                Bool(true),
                NullText,
                Bool(true),
                nil,
                Bool(false),
                Bool(false),
                NullId,
                NullId,
            ],
        ),
        ("mark_read: target message", hot::READ_TARGET.to_owned(), vec![Id(room), Id(last)]),
        (
            "connect: a user token's key and app user",
            hot::USER_TOKEN_GRANT.to_owned(),
            vec![Id(ws), Text("uma")],
        ),
        (
            "subscribe: a conversation and the caller's roles",
            hot::CONVERSATION_STANDING_OF_USER.to_owned(),
            vec![Id(room), Id(reader)],
        ),
        (
            "subscribe: the caller's roles and the topic's position",
            hot::CONVERSATION_STANDING_AT.to_owned(),
            vec![Id(room), Id(reader), Text(Box::leak(format!("conversation:{room}").into_boxed_str()))],
        ),
        (
            "send: the group's senders' bans (2 senders)",
            hot::senders_bans(backend, 2),
            vec![now_value, Id(reader), Id(ws)],
        ),
        (
            "mark_read: move the position",
            hot::ADVANCE_READ_POSITION.to_owned(),
            vec![Id(reader), Id(room), Id(ws), Id(last), now_value],
        ),
        (
            "stored messages: the live bot sessions of a batch's conversations (2)",
            hot::conversations_with_live_sessions(backend, 2),
            vec![Id(room), Id(contact)],
        ),
        ("unread count in a room", hot::UNREAD_COUNT.to_owned(), vec![Id(room), Id(reader), Bool(true), nil]),
        (
            "unread count in a contact conversation",
            hot::UNREAD_COUNT.to_owned(),
            vec![Id(contact), Id(reader), Bool(false), nil],
        ),
    ]
}

/// What is wrong with a plan line, if anything.
fn fault(backend: switchboard::store::Backend, line: &str) -> Option<&'static str> {
    match backend {
        switchboard::store::Backend::Sqlite => {
            if line.contains("CORRELATED") || line.contains("LIST SUBQUERY") {
                return Some("a correlated or list subquery");
            }
            // `SCAN t` reads every row of `t` (with `USING … INDEX`, every index entry);
            // `SEARCH` reads a range. Tables are named by their aliases: `m` is message.
            let scanned = line.trim().strip_prefix("SCAN ")?.split_whitespace().next()?;
            let table = match scanned {
                "m" => "message",
                "f" => "message_flag",
                "rp" | "fp" => "read_position",
                "cm" => "conversation_member",
                "w" => "member",
                "u" => "user_account",
                "c" => "conversation",
                "k" => "api_key",
                "a" => "app_user",
                other => other,
            };
            GROWING.contains(&table).then_some("a scan of a table that grows with members or messages")
        }
        switchboard::store::Backend::Postgres => {
            if line.contains("SubPlan") {
                return Some("a correlated subquery (SubPlan)");
            }
            let scanned = line.split("Seq Scan on ").nth(1)?.split_whitespace().next()?;
            GROWING
                .contains(&scanned)
                .then_some("a sequential scan of a table that grows with members or messages")
        }
    }
}

async fn explain_all(store: &dyn Store, pool: Pool, backend: switchboard::store::Backend) {
    let w = world(store).await;
    pool.analyze().await;
    // The reader's list really has unread rooms and contacts (the plans are of real work).
    let list = store.conversations(w.ws, w.reader, &ConversationFilter::default()).await.unwrap();
    assert!(list.iter().any(|c| c.conversation.id == w.room && c.unread_count.is_capped()));
    assert!(list.iter().any(|c| c.conversation.id == w.contact && c.unread_count == 5));

    let mut faults = Vec::new();
    for (name, sql, values) in statements(backend, &w) {
        let lines = pool.explain(&sql, &values).await;
        println!("{name}:");
        for line in &lines {
            println!("    {line}");
            if let Some(why) = fault(backend, line) {
                faults.push(format!("{name}: {why}: {line}"));
            }
        }
    }
    assert!(faults.is_empty(), "hot statements with plans that grow with members:\n{}", faults.join("\n"));
}

/// A pool of either backend, explaining with the values bound.
enum Pool {
    Sqlite(sqlx::SqlitePool),
    Postgres(sqlx::PgPool),
}

impl Pool {
    /// The planner's statistics, as a running server has them.
    async fn analyze(&self) {
        match self {
            Pool::Sqlite(pool) => sqlx::query("analyze").execute(pool).await.map(drop),
            Pool::Postgres(pool) => sqlx::query("analyze").execute(pool).await.map(drop),
        }
        .unwrap();
    }

    async fn explain(&self, sql: &str, values: &[Value]) -> Vec<String> {
        match self {
            Pool::Sqlite(pool) => {
                let text = format!("explain query plan {sql}");
                let mut query = sqlx::query_as::<_, (i64, i64, i64, String)>(sqlx::AssertSqlSafe(text));
                for v in values {
                    query = match *v {
                        Value::Id(id) => query.bind(id),
                        Value::NullId => query.bind(None::<Uuid>),
                        Value::NullText => query.bind(None::<String>),
                        Value::Bool(b) => query.bind(b),
                        Value::Text(t) => query.bind(t),
                        Value::Time => query.bind(now()),
                    };
                }
                query.fetch_all(pool).await.unwrap().into_iter().map(|(_, _, _, detail)| detail).collect()
            }
            Pool::Postgres(pool) => {
                let mut conn = pool.acquire().await.unwrap();
                // Plans that need an index must find one: with sequential scans priced out,
                // a `Seq Scan` left in the plan means no index path exists.
                sqlx::query("set enable_seqscan = off").execute(&mut *conn).await.unwrap();
                let text = format!("explain {sql}");
                let mut query = sqlx::query_as::<_, (String,)>(sqlx::AssertSqlSafe(text));
                for v in values {
                    query = match *v {
                        Value::Id(id) => query.bind(id),
                        Value::NullId => query.bind(None::<Uuid>),
                        Value::NullText => query.bind(None::<String>),
                        Value::Bool(b) => query.bind(b),
                        Value::Text(t) => query.bind(t),
                        Value::Time => query.bind(now()),
                    };
                }
                let lines = query.fetch_all(&mut *conn).await.unwrap().into_iter().map(|(l,)| l).collect();
                sqlx::query("reset enable_seqscan").execute(&mut *conn).await.unwrap();
                lines
            }
        }
    }
}

#[tokio::test]
async fn hot_statements_have_no_correlated_subquery_nor_member_scan_on_sqlite() {
    let (store, _dir) = common::sqlite().await;
    let pool = store.pool().clone();
    explain_all(&store, Pool::Sqlite(pool), switchboard::store::Backend::Sqlite).await;
}

#[tokio::test]
async fn hot_statements_have_no_subplan_nor_member_seq_scan_on_postgres() {
    let store = common::postgres().await;
    let pool = store.pool().clone();
    explain_all(&store, Pool::Postgres(pool), switchboard::store::Backend::Postgres).await;
}
