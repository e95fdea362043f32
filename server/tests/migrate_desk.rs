//! The desk migration rebuilds SQLite's conversation table (its status check cannot be altered
//! in place): existing conversations keep every column, the rows that refer to them (messages)
//! stay and keep cascading, foreign keys are on again afterwards, every index is back, and the
//! new statuses are accepted while others are still refused.

use std::path::PathBuf;

use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};
use sqlx::{AssertSqlSafe, Row};
use uuid::Uuid;

const UNDER_TEST: &str = "20261208000000_desk.sql";

#[tokio::test]
async fn the_conversation_table_is_rebuilt_with_its_rows_and_references_intact() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../migrations/sqlite");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".sql"))
        .collect();
    names.sort();
    let read = |n: &str| std::fs::read_to_string(dir.join(n)).unwrap();
    let file = tempfile::NamedTempFile::new().unwrap();
    let options = SqliteConnectOptions::new().filename(file.path()).foreign_keys(true);
    let pool = SqlitePoolOptions::new().max_connections(1).connect_with(options).await.unwrap();
    for name in names.iter().filter(|n| n.as_str() < UNDER_TEST) {
        sqlx::raw_sql(AssertSqlSafe(read(name))).execute(&pool).await.unwrap();
    }
    let indexes = |pool: sqlx::SqlitePool| async move {
        let mut names: Vec<String> = sqlx::query_scalar(
            "select name from sqlite_master where type = 'index' and tbl_name = 'conversation' and sql is not null",
        )
        .fetch_all(&pool)
        .await
        .unwrap();
        names.sort();
        names
    };
    let before = indexes(pool.clone()).await;

    let (ws, channel, conversation, message) =
        (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
    let at = "2026-12-01T00:00:00Z";
    for sql in [
        "insert into workspace (workspace_id, name, created_at, updated_at) values ($1, 'W', $5, $5)",
        "insert into channel (channel_id, workspace_id, provider, name, status, config, created_at, updated_at)
         values ($2, $1, 'mock', 'Mock', 'connected', '{}', $5, $5)",
        "insert into conversation (conversation_id, workspace_id, channel_id, external_chat_id, title, created_at,
                                   updated_at, status, last_message_at, last_message_preview, outbox_paused_until,
                                   last_inbound_at, room_type, custom, frozen_at, slow_mode_secs)
         values ($3, $1, $2, 'chat-1', 'Chat', $5, $5, 'resolved', $5, 'last words', $5, $5, 'team',
                 '{\"k\":\"v\"}', $5, 30)",
        "insert into message (message_id, workspace_id, conversation_id, channel_id, direction, status, text,
                              created_at, updated_at)
         values ($4, $1, $3, $2, 'inbound', 'sent', 'hello', $5, $5)",
    ] {
        sqlx::query(AssertSqlSafe(sql))
            .bind(ws)
            .bind(channel)
            .bind(conversation)
            .bind(message)
            .bind(at)
            .execute(&pool)
            .await
            .unwrap();
    }

    sqlx::raw_sql(AssertSqlSafe(read(UNDER_TEST))).execute(&pool).await.unwrap();

    let row = sqlx::query(
        "select status, title, last_message_preview, outbox_paused_until, room_type, custom, frozen_at,
                slow_mode_secs, label_ids, assignee_id, snoozed_until from conversation where conversation_id = $1",
    )
    .bind(conversation)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(row.get::<String, _>("status"), "resolved");
    assert_eq!(row.get::<String, _>("title"), "Chat");
    assert_eq!(row.get::<String, _>("last_message_preview"), "last words");
    assert_eq!(row.get::<String, _>("outbox_paused_until"), at);
    assert_eq!(row.get::<String, _>("room_type"), "team");
    assert_eq!(row.get::<String, _>("custom"), "{\"k\":\"v\"}");
    assert_eq!(row.get::<String, _>("frozen_at"), at);
    assert_eq!(row.get::<i64, _>("slow_mode_secs"), 30);
    assert_eq!(row.get::<String, _>("label_ids"), "[]");
    assert!(row.get::<Option<Uuid>, _>("assignee_id").is_none());
    assert!(row.get::<Option<String>, _>("snoozed_until").is_none());
    let on: i64 = sqlx::query_scalar("pragma foreign_keys").fetch_one(&pool).await.unwrap();
    assert_eq!(on, 1, "foreign keys are on again");
    let problems = sqlx::query("pragma foreign_key_check").fetch_all(&pool).await.unwrap();
    assert!(problems.is_empty(), "every reference resolves");
    let after = indexes(pool.clone()).await;
    for index in &before {
        assert!(after.contains(index), "{index} is back");
    }
    assert!(after.contains(&"conversation_snoozed_until_idx".to_owned()));

    let set = |status: &'static str| {
        let pool = pool.clone();
        async move {
            sqlx::query("update conversation set status = $1 where conversation_id = $2")
                .bind(status)
                .bind(conversation)
                .execute(&pool)
                .await
        }
    };
    assert!(set("snoozed").await.is_ok() && set("pending").await.is_ok());
    assert!(set("later").await.is_err(), "the status check still holds");
    // The message still belongs to the conversation: deleting it cascades.
    sqlx::query("delete from conversation where conversation_id = $1")
        .bind(conversation)
        .execute(&pool)
        .await
        .unwrap();
    let left: i64 = sqlx::query_scalar("select count(*) from message where message_id = $1")
        .bind(message)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(left, 0);
}
