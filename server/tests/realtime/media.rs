//! Attachments over the socket: sent by RPC, pushed and recovered with fresh signed links that
//! the event log never stores.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use serde_json::json;
use switchboard::{EventBody, Topic};
use switchboard_server::http::AppState;
use switchboard_server::providers::mock::media::photo;

use crate::common::*;
use crate::{alice_and_bob, subscribe, topic};

pub async fn attachments_travel_with_fresh_links_never_stored_in_the_log(app: AppState, _raw: Raw) {
    let (alice, conv, mut a, mut b) = alice_and_bob(&app, "+15550001011").await;
    let seen = subscribe(&mut b, &topic(conv)).await["offset"].as_i64().unwrap();
    let upload = Request::builder()
        .method("POST")
        .uri("/api/v1/uploads?filename=shot.png")
        .header(header::AUTHORIZATION, format!("Bearer {alice}"))
        .body(Body::from(photo()))
        .unwrap();
    let upload = body_json(send(&app, upload).await).await;
    let data = json!({"conversation_id": conv, "text": "", "client_message_id": "rt-photo", "attachments": [upload["id"]]});
    let reply = a.call(json!({"rpc": {"method": "send_message", "data": data}})).await;
    let sent = &reply["rpc"]["data"]["message"];
    assert_eq!(sent["attachments"][0]["id"], upload["id"], "{reply}");
    assert!(sent["attachments"][0]["url"].as_str().is_some());

    // Live: the push carries a link that works.
    let live = b.publication(&topic(conv)).await;
    let url =
        live["data"]["payload"]["attachments"][0]["url"].as_str().expect("a link in the push").to_owned();
    let got = send(&app, Request::builder().uri(&url).body(Body::empty()).unwrap()).await;
    assert_eq!(got.status(), StatusCode::OK);

    // The log keeps the attachment's id and metadata, never a link.
    let logged = app.store.events_after(Topic::Conversation(conv), seen, 10).await.unwrap();
    let stored = logged
        .iter()
        .find_map(|e| match &e.body {
            EventBody::MessageCreated(m) if !m.attachments.is_empty() => Some(m.attachments[0].clone()),
            _ => None,
        })
        .expect("the message.created event");
    assert_eq!(stored.id.to_string(), upload["id"].as_str().unwrap());
    assert!(stored.url.is_none() && stored.thumbnail_url.is_none());

    // Recovered from the log: signed on the way out.
    let reply = b.call(json!({"history": {"channel": topic(conv), "limit": 100}})).await;
    let publications = reply["history"]["publications"].as_array().cloned().unwrap_or_default();
    let recovered = publications
        .iter()
        .find(|p| p["data"]["payload"]["attachments"][0]["id"] == upload["id"])
        .unwrap_or_else(|| panic!("the photo's event in the history: {reply}"));
    assert!(recovered["data"]["payload"]["attachments"][0]["url"].as_str().is_some());
}
