//! The API-channels migration rebuilds SQLite's channel table (its provider check cannot be
//! altered in place): existing channels keep every column, the rows that refer to them stay
//! and keep cascading, foreign keys are on again afterwards, and `api` channels can be made.

use std::path::PathBuf;

use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};
use sqlx::{AssertSqlSafe, Row};
use uuid::Uuid;

const UNDER_TEST: &str = "20261206020000_api_channels.sql";

#[tokio::test]
async fn the_channel_table_is_rebuilt_with_its_rows_and_references_intact() {
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

    let (ws, channel, conversation) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
    let at = "2026-12-01T00:00:00Z";
    sqlx::query(
        "insert into workspace (workspace_id, name, created_at, updated_at) values ($1, 'W', $2, $2)",
    )
    .bind(ws)
    .bind(at)
    .execute(&pool)
    .await
    .unwrap();
    sqlx::query(
        "insert into channel (channel_id, workspace_id, provider, name, status, config, created_at, updated_at,
                              outbox_paused_until, poll_cursor, history_import)
         values ($1, $2, 'telegram', 'Bot', 'connected', '{}', $3, $3, $3, 'cursor-9', '{\"state\":\"done\"}')",
    )
    .bind(channel)
    .bind(ws)
    .bind(at)
    .execute(&pool)
    .await
    .unwrap();
    sqlx::query(
        "insert into conversation (conversation_id, workspace_id, channel_id, external_chat_id, title, created_at, updated_at)
         values ($1, $2, $3, 'chat-1', 'Chat', $4, $4)",
    )
    .bind(conversation)
    .bind(ws)
    .bind(channel)
    .bind(at)
    .execute(&pool)
    .await
    .unwrap();

    sqlx::raw_sql(AssertSqlSafe(read(UNDER_TEST))).execute(&pool).await.unwrap();

    let row = sqlx::query("select provider, name, status, poll_cursor, history_import, outbox_paused_until from channel where channel_id = $1")
        .bind(channel)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(row.get::<String, _>("provider"), "telegram");
    assert_eq!(row.get::<String, _>("poll_cursor"), "cursor-9");
    assert_eq!(row.get::<String, _>("history_import"), "{\"state\":\"done\"}");
    assert_eq!(row.get::<String, _>("outbox_paused_until"), at);
    let on: i64 = sqlx::query_scalar("pragma foreign_keys").fetch_one(&pool).await.unwrap();
    assert_eq!(on, 1, "foreign keys are on again");
    let problems = sqlx::query("pragma foreign_key_check").fetch_all(&pool).await.unwrap();
    assert!(problems.is_empty(), "every reference resolves");
    let leftovers: i64 =
        sqlx::query_scalar("select count(*) from sqlite_master where sql like '%channel_new%'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(leftovers, 0, "no reference names the temporary table");

    sqlx::query(
        "insert into channel (channel_id, workspace_id, provider, name, status, config, created_at, updated_at)
         values ($1, $2, 'api', 'Partner', 'disconnected', '{}', $3, $3)",
    )
    .bind(Uuid::now_v7())
    .bind(ws)
    .bind(at)
    .execute(&pool)
    .await
    .expect("an api channel");
    let bogus = sqlx::query(
        "insert into channel (channel_id, workspace_id, provider, name, status, config, created_at, updated_at)
         values ($1, $2, 'carrier-pigeon', 'X', 'disconnected', '{}', $3, $3)",
    )
    .bind(Uuid::now_v7())
    .bind(ws)
    .bind(at)
    .execute(&pool)
    .await;
    assert!(bogus.is_err(), "the provider check still holds");
    // The conversation still belongs to the channel: deleting it cascades.
    sqlx::query("delete from channel where channel_id = $1").bind(channel).execute(&pool).await.unwrap();
    let left: i64 = sqlx::query_scalar("select count(*) from conversation where conversation_id = $1")
        .bind(conversation)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(left, 0);
}
