//! The read-positions migration carries existing unread state over, on both backends: each
//! member's position from their flags (the message before their oldest unread one, or the
//! newest when nothing was unread), and only the mention and star rows stay.

mod common;

use std::path::PathBuf;

use sqlx::AssertSqlSafe;
use switchboard::time::now;
use uuid::Uuid;

/// The migration under test.
const READ_POSITIONS: &str = "20261203130000_read_positions.sql";

/// The backend's migration files in order: those before the one under test, then it.
fn migrations(backend: &str) -> (Vec<String>, String) {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../migrations").join(backend);
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".sql"))
        .collect();
    names.sort();
    let read = |n: &str| std::fs::read_to_string(dir.join(n)).unwrap();
    let before = names.iter().filter(|n| n.as_str() < READ_POSITIONS).map(|n| read(n)).collect();
    (before, read(READ_POSITIONS))
}

/// Ids of the fixture: a contact conversation `x` (messages x1..x4, all inbound) and a room
/// `r` (r1, r2 from a) of a and b; c joined the workspace after x's messages (no flags).
struct Ids {
    ws: Uuid,
    a: Uuid,
    b: Uuid,
    c: Uuid,
    x: Uuid,
    r: Uuid,
    xm: [Uuid; 4],
    rm: [Uuid; 2],
}

macro_rules! scenario {
    ($pool:expr, $backend:literal) => {{
        let pool = $pool;
        let (before, under_test) = migrations($backend);
        for sql in before {
            sqlx::raw_sql(AssertSqlSafe(sql)).execute(&pool).await.unwrap();
        }
        let id = || Uuid::now_v7();
        let ids = Ids {
            ws: id(),
            a: id(),
            b: id(),
            c: id(),
            x: id(),
            r: id(),
            xm: [id(), id(), id(), id()],
            rm: [id(), id()],
        };
        let (ch, room_ch, contact) = (id(), id(), id());
        let t = now();
        let exec = |sql: &'static str, binds: Vec<Uuid>| {
            let pool = pool.clone();
            async move {
                let mut q = sqlx::query(sql);
                for b in binds {
                    q = q.bind(b);
                }
                q.bind(t).execute(&pool).await.unwrap();
            }
        };
        exec("insert into workspace (workspace_id, name, created_at, updated_at) values ($1, 'W', $2, $2)", vec![ids.ws]).await;
        for (u, email) in [(ids.a, "a@x.test"), (ids.b, "b@x.test"), (ids.c, "c@x.test")] {
            sqlx::query("insert into user_account (user_id, email, name, password_hash, created_at, updated_at) values ($1, $2, $2, 'x', $3, $3)")
                .bind(u).bind(email).bind(t).execute(&pool).await.unwrap();
            exec("insert into member (workspace_id, user_id, role, created_at, updated_at) values ($1, $2, 'agent', $3, $3)", vec![ids.ws, u]).await;
        }
        for (c, provider) in [(ch, "mock"), (room_ch, "inapp")] {
            sqlx::query("insert into channel (channel_id, workspace_id, provider, name, status, config, created_at, updated_at) values ($1, $2, $3, 'C', 'connected', '{}', $4, $4)")
                .bind(c).bind(ids.ws).bind(provider).bind(t).execute(&pool).await.unwrap();
        }
        exec("insert into contact (contact_id, workspace_id, channel_id, external_id, name, created_at, updated_at) values ($1, $2, $3, '+1', 'Maria', $4, $4)", vec![contact, ids.ws, ch]).await;
        exec("insert into conversation (conversation_id, workspace_id, channel_id, contact_id, external_chat_id, title, created_at, updated_at) values ($1, $2, $3, $4, '+1', 'Maria', $5, $5)", vec![ids.x, ids.ws, ch, contact]).await;
        exec("insert into conversation (conversation_id, workspace_id, channel_id, contact_id, external_chat_id, title, created_at, updated_at) values ($1, $2, $3, null, 'room:1', 'Room', $4, $4)", vec![ids.r, ids.ws, room_ch]).await;
        for u in [ids.a, ids.b] {
            exec("insert into conversation_member (conversation_id, user_id, added_at) values ($1, $2, $3)", vec![ids.r, u]).await;
        }
        for (n, m) in ids.xm.iter().enumerate() {
            sqlx::query("insert into message (message_id, workspace_id, conversation_id, channel_id, direction, status, text, external_id, created_at, updated_at) values ($1, $2, $3, $4, 'inbound', 'delivered', 'hi', $5, $6, $6)")
                .bind(m).bind(ids.ws).bind(ids.x).bind(ch).bind(format!("e{n}")).bind(t).execute(&pool).await.unwrap();
        }
        for m in ids.rm {
            exec("insert into message (message_id, workspace_id, conversation_id, channel_id, direction, status, text, sender_user_id, created_at, updated_at) values ($1, $2, $3, $4, 'outbound', 'sent', 'yo', $5, $6, $6)", vec![m, ids.ws, ids.r, room_ch, ids.a]).await;
        }
        // The flags as the old write path left them.
        let flag = |user: Uuid, message: Uuid, conversation: Uuid, read: bool, mentioned: bool, starred: bool| {
            let pool = pool.clone();
            let ws = ids.ws;
            async move {
                sqlx::query("insert into message_flag (user_id, message_id, workspace_id, conversation_id, is_read, is_mentioned, is_starred) values ($1, $2, $3, $4, $5, $6, $7)")
                    .bind(user).bind(message).bind(ws).bind(conversation).bind(read).bind(mentioned).bind(starred)
                    .execute(&pool).await.unwrap();
            }
        };
        // a read x1, x2 (starred x1); x3, x4 unread. b read all of x, mentioned in x3.
        for (n, m) in ids.xm.iter().enumerate() {
            flag(ids.a, *m, ids.x, n < 2, false, n == 0).await;
            flag(ids.b, *m, ids.x, true, n == 2, false).await;
        }
        // In the room: a sent both (read); b has read neither.
        for m in ids.rm {
            flag(ids.a, m, ids.r, true, false, false).await;
            flag(ids.b, m, ids.r, false, false, false).await;
        }

        sqlx::raw_sql(AssertSqlSafe(under_test)).execute(&pool).await.unwrap();

        let position = |user: Uuid, conversation: Uuid| {
            let pool = pool.clone();
            async move {
                sqlx::query_as::<_, (Uuid,)>("select last_read_message_id from read_position where user_id = $1 and conversation_id = $2")
                    .bind(user).bind(conversation).fetch_optional(&pool).await.unwrap().map(|(m,)| m)
            }
        };
        assert_eq!(position(ids.a, ids.x).await, Some(ids.xm[1]), "before a's oldest unread");
        assert_eq!(position(ids.b, ids.x).await, Some(ids.xm[3]), "nothing unread: the newest");
        assert_eq!(position(ids.c, ids.x).await, Some(ids.xm[3]), "no flags: nothing was unread");
        assert_eq!(position(ids.a, ids.r).await, Some(ids.rm[1]));
        assert_eq!(position(ids.b, ids.r).await, None, "unread from the first message: no position");
        assert_eq!(position(ids.c, ids.r).await, None, "not a member of the room");
        let flags: Vec<(Uuid, Uuid, bool, bool)> = sqlx::query_as(
            "select user_id, message_id, is_mentioned, is_starred from message_flag order by user_id",
        )
        .fetch_all(&pool)
        .await
        .unwrap();
        assert_eq!(flags, [(ids.a, ids.xm[0], false, true), (ids.b, ids.xm[2], true, false)], "only mentions and stars stay");
    }};
}

#[tokio::test]
async fn read_positions_are_carried_over_from_flags_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("m.db").display());
    let pool = sqlx::sqlite::SqlitePoolOptions::new().max_connections(1).connect(&url).await.unwrap();
    scenario!(pool, "sqlite");
}

#[tokio::test]
async fn read_positions_are_carried_over_from_flags_on_postgres() {
    let pool = sqlx::PgPool::connect(&common::postgres_url().await).await.unwrap();
    scenario!(pool, "postgres");
}
