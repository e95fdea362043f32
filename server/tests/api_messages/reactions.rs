//! Reactions over REST: put on and taken off by members (once per emoji), shown in history,
//! announced to subscribers (`reaction.added` / `reaction.removed` in `/sync`), refused for
//! those who may not post and for bad emoji.

use axum::http::StatusCode;
use serde_json::json;
use switchboard_server::http::AppState;

use crate::*;

fn path(message: &str, emoji: &str) -> String {
    let encoded: String = emoji.bytes().map(|b| format!("%{b:02X}")).collect();
    format!("/api/v1/messages/{message}/reactions/{encoded}")
}

pub async fn members_react_and_subscribers_hear_it(app: AppState, _raw: Raw) {
    let alice = login(&app, "alice@example.com", "demo-password").await;
    let bob = login(&app, "bob@example.com", "demo-password").await;
    let ch = channel(&app, &alice, json!({})).await;
    let conv = conversation(&app, &ch, "+15550000042").await;
    let history = body_json(
        send(&app, authed("GET", &format!("/api/v1/conversations/{conv}/messages"), &alice, None)).await,
    )
    .await;
    let message = history[0]["id"].as_str().unwrap().to_owned();
    let since = body_json(send(&app, authed("GET", "/api/v1/sync?since=0&limit=500", &alice, None)).await)
        .await["next"]
        .as_i64()
        .unwrap();

    let added = send(&app, authed("PUT", &path(&message, "👍"), &alice, None)).await;
    assert_eq!(added.status(), StatusCode::OK);
    assert_eq!(body_json(added).await["reactions"][0]["count"], 1);
    let again = body_json(send(&app, authed("PUT", &path(&message, "👍"), &alice, None)).await).await;
    assert_eq!(again["reactions"][0]["count"], 1, "one of each emoji per member");
    let both = body_json(send(&app, authed("PUT", &path(&message, "👍"), &bob, None)).await).await;
    assert_eq!(both["reactions"][0]["count"], 2);
    let history = body_json(
        send(&app, authed("GET", &format!("/api/v1/conversations/{conv}/messages"), &bob, None)).await,
    )
    .await;
    assert_eq!(history[0]["reactions"][0]["user_ids"].as_array().unwrap().len(), 2);
    let removed = body_json(send(&app, authed("DELETE", &path(&message, "👍"), &alice, None)).await).await;
    assert_eq!(removed["reactions"][0]["count"], 1);

    let sync = body_json(
        send(&app, authed("GET", &format!("/api/v1/sync?since={since}&limit=500"), &bob, None)).await,
    )
    .await;
    let kinds: Vec<&str> = sync["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["type"].as_str())
        .filter(|t| t.starts_with("reaction."))
        .collect();
    assert_eq!(kinds, ["reaction.added", "reaction.added", "reaction.removed"]);

    for bad in ["a b", "0123456789abcdefg"] {
        let refused = send(&app, authed("PUT", &path(&message, bad), &alice, None)).await;
        assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
    }
    let unknown = path(&switchboard::MessageId::new().to_string(), "👍");
    assert_eq!(send(&app, authed("PUT", &unknown, &alice, None)).await.status(), StatusCode::NOT_FOUND);
}
