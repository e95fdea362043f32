//! Attachments over HTTP on SQLite and PostgreSQL: uploads (raw and multipart) sniffed and
//! limited, sends that carry them, signed links (expiry, tampering, deleted messages), safe
//! headers, byte ranges, inbound media from the Mock network (fetched, or marked unavailable),
//! outbound media reaching the network, and the garbage collector.

#[macro_use]
mod common;

use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use common::*;
use serde_json::{Value, json};
use switchboard::{AttachmentId, Channel, ChannelId};
use switchboard_server::http::AppState;
use switchboard_server::media::Variant;
use switchboard_server::providers::mock::media::{pdf, photo, voice_note};

app_test!(
    uploads_are_told_from_their_bytes_and_limited,
    sends_carry_uploads_once_and_links_serve_them_safely,
    links_expire_resist_tampering_and_end_with_the_message,
    inbound_media_is_fetched_or_marked_unavailable,
    outbound_media_reaches_the_network,
);

fn upload_raw(token: &str, query: &str, bytes: Vec<u8>) -> Request<Body> {
    Request::builder()
        .method("POST")
        .uri(format!("/api/v1/uploads{query}"))
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .header(header::CONTENT_TYPE, "application/octet-stream")
        .body(Body::from(bytes))
        .unwrap()
}

fn upload_multipart(token: &str, file_name: &str, bytes: &[u8]) -> Request<Body> {
    let boundary = "sbBOUNDARY42";
    let mut body = Vec::new();
    body.extend_from_slice(
        format!("--{boundary}\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\nignored\r\n")
            .as_bytes(),
    );
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{file_name}\"\r\nContent-Type: image/png\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    Request::builder()
        .method("POST")
        .uri("/api/v1/uploads")
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .header(header::CONTENT_TYPE, format!("multipart/form-data; boundary={boundary}"))
        .body(Body::from(body))
        .unwrap()
}

async fn uploaded(app: &AppState, request: Request<Body>) -> Value {
    let response = send(app, request).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    body_json(response).await
}

async fn mock_channel(app: &AppState, token: &str, config: Value) -> Channel {
    let created =
        create_channel(app, token, json!({"provider": "mock", "name": "Mock", "config": config})).await;
    let id: ChannelId = created["id"].as_str().unwrap().parse().unwrap();
    let ws = app.store.workspace_by_name("Acme Support").await.unwrap().unwrap().id;
    app.store.channel(ws, id).await.unwrap().unwrap()
}

async fn get_bytes(
    app: &AppState,
    uri: &str,
    range: Option<&str>,
) -> (StatusCode, axum::http::HeaderMap, Vec<u8>) {
    let mut request = Request::builder().uri(uri);
    if let Some(range) = range {
        request = request.header(header::RANGE, range);
    }
    let response = send(app, request.body(Body::empty()).unwrap()).await;
    let (status, headers) = (response.status(), response.headers().clone());
    let bytes = http_body_util::BodyExt::collect(response.into_body()).await.unwrap().to_bytes().to_vec();
    (status, headers, bytes)
}

fn post_message(token: &str, conversation: &str, body: Value) -> Request<Body> {
    authed("POST", &format!("/api/v1/conversations/{conversation}/messages"), token, Some(body))
}

async fn uploads_are_told_from_their_bytes_and_limited(app: AppState, _raw: Raw) {
    let alice = login(&app, "alice@example.com", "demo-password").await;

    // A raw body: the type comes from the bytes, the size from the header, a thumbnail is made.
    let png = uploaded(&app, upload_raw(&alice, "?filename=sunset.pdf", photo())).await;
    assert_eq!((png["kind"].as_str(), png["mime_type"].as_str()), (Some("image"), Some("image/png")));
    assert_eq!((png["width"].as_u64(), png["height"].as_u64()), (Some(480), Some(320)));
    assert_eq!(png["size"].as_u64(), Some(photo().len() as u64));
    assert_eq!(png["file_name"], "sunset.pdf", "the name is the uploader's; the type is not");
    assert_eq!(png["has_thumbnail"], true);
    assert!(
        png["url"].as_str().unwrap().starts_with(&format!("/media/{}?exp=", png["id"].as_str().unwrap()))
    );
    assert!(png["thumbnail_url"].as_str().unwrap().contains("/thumbnail?exp="));
    assert!(png["message_id"].is_null());

    // Multipart: the part named `file`, its file name; other parts are ignored.
    let doc = uploaded(&app, upload_multipart(&alice, "Invoice 2291.pdf", &pdf())).await;
    assert_eq!(
        (doc["kind"].as_str(), doc["mime_type"].as_str()),
        (Some("document"), Some("application/pdf"))
    );
    assert_eq!(doc["file_name"], "Invoice 2291.pdf");
    assert!(doc.get("thumbnail_url").is_none());

    // A voice note: audio asked to be shown as voice, its length read from the WAV header.
    let voice = uploaded(&app, upload_raw(&alice, "?filename=note.wav&kind=voice", voice_note(2))).await;
    assert_eq!((voice["kind"].as_str(), voice["duration_ms"].as_u64()), (Some("voice"), Some(2000)));

    // A browser's recorded voice note comes in a WebM container: audio when asked as voice.
    let recorded = uploaded(
        &app,
        upload_raw(
            &alice,
            "?filename=note.webm&kind=voice&duration_ms=4200",
            b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01webm".to_vec(),
        ),
    )
    .await;
    assert_eq!(
        (recorded["kind"].as_str(), recorded["mime_type"].as_str()),
        (Some("voice"), Some("audio/webm"))
    );
    assert_eq!(recorded["duration_ms"], 4200);

    // Markup is kept as plain text, to be downloaded.
    let page =
        uploaded(&app, upload_raw(&alice, "?filename=page.html", b"<html><script>x()</script>".to_vec()))
            .await;
    assert_eq!((page["kind"].as_str(), page["mime_type"].as_str()), (Some("document"), Some("text/plain")));

    // Refusals, each in the error shape.
    let exe =
        send(&app, upload_raw(&alice, "?filename=setup.exe", b"MZ\x90\0\x03\0\0\0\x04\0".to_vec())).await;
    assert_eq!(exe.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(error_code(&body_json(exe).await), "unsupported_type");
    let big = vec![b'a'; TEST_MAX_UPLOAD_BYTES as usize + 1];
    let too_large = send(&app, upload_raw(&alice, "?filename=big.txt", big)).await;
    assert_eq!(too_large.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let body = body_json(too_large).await;
    assert_eq!(error_code(&body), "too_large");
    assert!(body["error"]["message"].as_str().unwrap().contains("2.0 MB"), "{body}");
    let at_limit =
        send(&app, upload_raw(&alice, "?filename=ok.txt", vec![b'a'; TEST_MAX_UPLOAD_BYTES as usize])).await;
    assert_eq!(at_limit.status(), StatusCode::CREATED, "the limit itself is allowed");
    let empty = send(&app, upload_raw(&alice, "", Vec::new())).await;
    assert_eq!(empty.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let wrong_kind = send(&app, upload_raw(&alice, "?kind=voice", pdf())).await;
    assert_eq!(wrong_kind.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body_json(wrong_kind).await["error"]["field"], "kind");
    let unknown_kind = send(&app, upload_raw(&alice, "?kind=hologram", pdf())).await;
    assert_eq!(unknown_kind.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let no_file = send(&app, upload_multipart(&alice, "x", b"")).await;
    assert_eq!(no_file.status(), StatusCode::UNPROCESSABLE_ENTITY, "an empty part is an empty file");
    let anonymous = send(&app, upload_raw("nope", "", photo())).await;
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);

    // A workspace's own limit, set by its owners and admins.
    let bob = login(&app, "bob@example.com", "demo-password").await;
    let put = |token: &str, limit: Value| {
        authed("PUT", "/api/v1/workspace/media", token, Some(json!({"max_upload_bytes": limit})))
    };
    assert_eq!(send(&app, put(&bob, json!(4096))).await.status(), StatusCode::FORBIDDEN, "agents may not");
    let set = send(&app, put(&alice, json!(4096))).await;
    assert_eq!(set.status(), StatusCode::OK);
    assert_eq!(
        body_json(set).await,
        json!({"max_upload_bytes": 4096, "custom": true, "server_max_upload_bytes": TEST_MAX_UPLOAD_BYTES})
    );
    let over = send(&app, upload_raw(&bob, "?filename=a.txt", vec![b'a'; 4097])).await;
    assert_eq!(over.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert!(body_json(over).await["error"]["message"].as_str().unwrap().contains("4 KB"));
    assert_eq!(send(&app, put(&alice, json!(10))).await.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let reset = body_json(send(&app, put(&alice, Value::Null)).await).await;
    assert_eq!(
        (reset["max_upload_bytes"].as_u64(), reset["custom"].as_bool()),
        (Some(TEST_MAX_UPLOAD_BYTES), Some(false))
    );
    let read = body_json(send(&app, authed("GET", "/api/v1/workspace/media", &bob, None)).await).await;
    assert_eq!(read["max_upload_bytes"].as_u64(), Some(TEST_MAX_UPLOAD_BYTES));
}

async fn sends_carry_uploads_once_and_links_serve_them_safely(app: AppState, _raw: Raw) {
    let alice = login(&app, "alice@example.com", "demo-password").await;
    let bob = login(&app, "bob@example.com", "demo-password").await;
    let ch = mock_channel(&app, &alice, json!({})).await;
    let conv = contact_writes(&app, &ch, "+15550000001", "Maria", "hi").await.conversation.id.to_string();
    let png = uploaded(&app, upload_raw(&alice, "?filename=sunset.png", photo())).await;
    let doc = uploaded(&app, upload_multipart(&alice, "invoice.pdf", &pdf())).await;
    let page =
        uploaded(&app, upload_raw(&alice, "?filename=page.html", b"<html><script>x()</script>".to_vec()))
            .await;
    let (png_id, doc_id, page_id) = (png["id"].clone(), doc["id"].clone(), page["id"].clone());

    // Someone else's upload, or an id that is not an upload, is refused and nothing is written.
    let stolen = send(&app, post_message(&bob, &conv, json!({"attachments": [png_id]}))).await;
    assert_eq!(stolen.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body_json(stolen).await["error"]["field"], "attachments");
    let made_up =
        send(&app, post_message(&alice, &conv, json!({"attachments": [AttachmentId::new()]}))).await;
    assert_eq!(made_up.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let twice = send(&app, post_message(&alice, &conv, json!({"attachments": [png_id, png_id]}))).await;
    assert_eq!(twice.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let nothing = send(&app, post_message(&alice, &conv, json!({"text": "  ", "attachments": []}))).await;
    assert_eq!(nothing.status(), StatusCode::UNPROCESSABLE_ENTITY, "no text and no attachment");

    // No caption: the attachments are the message.
    let sent =
        send(&app, post_message(&alice, &conv, json!({"attachments": [png_id, doc_id, page_id]}))).await;
    assert_eq!(sent.status(), StatusCode::CREATED);
    let sent = body_json(sent).await;
    assert_eq!(sent["text"], "");
    let kinds: Vec<&str> =
        sent["attachments"].as_array().unwrap().iter().map(|a| a["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["image", "document", "document"], "in the order sent");
    assert!(sent["attachments"].as_array().unwrap().iter().all(|a| a["url"].as_str().is_some()));
    let again =
        send(&app, post_message(&alice, &conv, json!({"text": "again", "attachments": [png_id]}))).await;
    assert_eq!(again.status(), StatusCode::UNPROCESSABLE_ENTITY, "an upload goes into one message only");

    let list = body_json(send(&app, authed("GET", "/api/v1/conversations", &bob, None)).await).await;
    assert_eq!(list[0]["last_message_preview"], "📷 Photo");
    // Sync replays the log: the event carries links minted now.
    let sync = body_json(send(&app, authed("GET", "/api/v1/sync?since=0&limit=500", &bob, None)).await).await;
    let created = sync["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| {
            e["type"] == "message.created"
                && e["payload"]["attachments"].as_array().is_some_and(|a| a.len() == 3)
        })
        .unwrap_or_else(|| panic!("the send in the sync: {sync}"));
    assert!(created["payload"]["attachments"][0]["url"].as_str().is_some_and(|u| u.starts_with("/media/")));
    let history = body_json(
        send(&app, authed("GET", &format!("/api/v1/conversations/{conv}/messages?limit=1"), &bob, None))
            .await,
    )
    .await;
    let shown = &history[0]["attachments"];
    assert_eq!(shown.as_array().unwrap().len(), 3, "history carries them, with links, to every reader");

    // The photo, inline, as stored; its thumbnail a small JPEG.
    let (status, headers, bytes) = get_bytes(&app, shown[0]["url"].as_str().unwrap(), None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(bytes == photo(), "the photo comes back as uploaded");
    assert_eq!(headers[header::CONTENT_TYPE], "image/png");
    assert!(headers[header::CONTENT_DISPOSITION].to_str().unwrap().starts_with("inline;"));
    assert_eq!(headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
    assert_eq!(headers[header::ACCEPT_RANGES], "bytes");
    let (status, headers, thumb) = get_bytes(&app, shown[0]["thumbnail_url"].as_str().unwrap(), None).await;
    assert_eq!((status, headers[header::CONTENT_TYPE].to_str().unwrap()), (StatusCode::OK, "image/jpeg"));
    let (w, h) = switchboard::media::image_dimensions("image/jpeg", &thumb).unwrap();
    assert!(w == 320 && (213..=214).contains(&h), "a 480 x 320 photo's thumbnail is {w} x {h}");

    // The PDF and the markup are downloads, never pages of ours.
    let (_, headers, bytes) = get_bytes(&app, shown[1]["url"].as_str().unwrap(), None).await;
    assert!(bytes == pdf(), "the PDF comes back as uploaded");
    assert_eq!(
        headers[header::CONTENT_DISPOSITION],
        "attachment; filename=\"invoice.pdf\"; filename*=UTF-8''invoice.pdf"
    );
    let (_, headers, _) = get_bytes(&app, shown[2]["url"].as_str().unwrap(), None).await;
    assert_eq!(headers[header::CONTENT_TYPE], "text/plain; charset=utf-8");
    assert!(headers[header::CONTENT_DISPOSITION].to_str().unwrap().starts_with("attachment;"));
    assert!(headers[header::CONTENT_SECURITY_POLICY].to_str().unwrap().contains("sandbox"));

    // Byte ranges, for players.
    let url = shown[1]["url"].as_str().unwrap();
    let total = pdf().len();
    let (status, headers, bytes) = get_bytes(&app, url, Some("bytes=0-9")).await;
    assert_eq!((status, bytes.as_slice()), (StatusCode::PARTIAL_CONTENT, &pdf()[..10]));
    assert_eq!(headers[header::CONTENT_RANGE], format!("bytes 0-9/{total}"));
    let (status, _, bytes) = get_bytes(&app, url, Some("bytes=-5")).await;
    assert_eq!((status, bytes.as_slice()), (StatusCode::PARTIAL_CONTENT, &pdf()[total - 5..]));
    let (status, _, bytes) = get_bytes(&app, url, Some(&format!("bytes={}-", total - 3))).await;
    assert_eq!((status, bytes.len()), (StatusCode::PARTIAL_CONTENT, 3));
    let (status, _, bytes) = get_bytes(&app, url, Some("bytes=9-3")).await;
    assert_eq!((status, bytes.len()), (StatusCode::OK, total), "a backwards range is ignored");
    let (status, headers, _) = get_bytes(&app, url, Some(&format!("bytes={total}-"))).await;
    assert_eq!(status, StatusCode::RANGE_NOT_SATISFIABLE);
    assert_eq!(headers[header::CONTENT_RANGE], format!("bytes */{total}"));
}

async fn links_expire_resist_tampering_and_end_with_the_message(app: AppState, _raw: Raw) {
    let alice = login(&app, "alice@example.com", "demo-password").await;
    let ch = mock_channel(&app, &alice, json!({})).await;
    let conv = contact_writes(&app, &ch, "+15550000001", "Maria", "hi").await.conversation.id.to_string();
    let png = uploaded(&app, upload_raw(&alice, "?filename=a.png", photo())).await;
    let other = uploaded(&app, upload_raw(&alice, "?filename=b.pdf", pdf())).await;
    let id: AttachmentId = png["id"].as_str().unwrap().parse().unwrap();
    let url = png["url"].as_str().unwrap().to_owned();
    assert_eq!(
        get_bytes(&app, &url, None).await.0,
        StatusCode::OK,
        "an upload's own link works before a send"
    );

    let code_of = |bytes: Vec<u8>| error_code(&serde_json::from_slice(&bytes).unwrap());
    // Tampered: another signature, another expiry, another attachment's id, no signature.
    let sig = url.rsplit("sig=").next().unwrap();
    let flipped: String = sig.chars().rev().collect();
    let (status, _, body) = get_bytes(&app, &url.replace(sig, &flipped), None).await;
    assert_eq!((status, code_of(body).as_str()), (StatusCode::FORBIDDEN, "bad_signature"));
    let exp = url.split("exp=").nth(1).unwrap().split('&').next().unwrap();
    let later = (exp.parse::<i64>().unwrap() + 86_400).to_string();
    assert_eq!(get_bytes(&app, &url.replace(exp, &later), None).await.0, StatusCode::FORBIDDEN);
    let swapped = url.replace(png["id"].as_str().unwrap(), other["id"].as_str().unwrap());
    assert_eq!(get_bytes(&app, &swapped, None).await.0, StatusCode::FORBIDDEN, "a link names one attachment");
    let bare = url.split('?').next().unwrap();
    assert_eq!(get_bytes(&app, bare, None).await.0, StatusCode::FORBIDDEN);
    assert_eq!(
        get_bytes(&app, &format!("/media/{}/thumbnail?{}", id, url.split('?').nth(1).unwrap()), None).await.0,
        StatusCode::FORBIDDEN,
        "a file's link is not its thumbnail's"
    );
    // Expired: a link minted two hours ago.
    let old = app.media.links().link(id, Variant::File, chrono::Utc::now().timestamp() - 7200);
    let (status, _, body) = get_bytes(&app, &old, None).await;
    assert_eq!((status, code_of(body).as_str()), (StatusCode::FORBIDDEN, "link_expired"));

    // Sent, then deleted: the link stops working, and the collector takes the bytes.
    let sent = body_json(
        send(&app, post_message(&alice, &conv, json!({"text": "look", "attachments": [id]}))).await,
    )
    .await;
    let fresh = sent["attachments"][0]["url"].as_str().unwrap().to_owned();
    assert_eq!(get_bytes(&app, &fresh, None).await.0, StatusCode::OK);
    let message = sent["id"].as_str().unwrap();
    let deleted = send(&app, authed("DELETE", &format!("/api/v1/messages/{message}"), &alice, None)).await;
    assert_eq!(deleted.status(), StatusCode::OK);
    let gone = body_json(deleted).await;
    assert_eq!(gone["attachments"], json!([]), "a deleted message carries nothing");
    assert_eq!(get_bytes(&app, &fresh, None).await.0, StatusCode::NOT_FOUND);
    // Sweeps take what no one refers to: the deleted message's photo (the unsent PDF waits
    // its day).
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert_eq!(app.media.collect_garbage().await.unwrap(), 2, "the photo and its thumbnail");
    assert_eq!(app.media.collect_garbage().await.unwrap(), 0);
    assert_eq!(get_bytes(&app, other["url"].as_str().unwrap(), None).await.0, StatusCode::OK);
}

async fn inbound_media_is_fetched_or_marked_unavailable(app: AppState, _raw: Raw) {
    let alice = login(&app, "alice@example.com", "demo-password").await;
    let secret = "a-webhook-secret-of-enough-length";
    let ch = mock_channel(&app, &alice, json!({"webhook_secret": secret})).await;
    let body = json!({"events": [{"type": "message", "id": "w-1", "from": "+15550000007", "name": "Ola", "text": "see these",
        "media": [
            {"kind": "image", "source": "mock-media:photo", "file_name": "garden.png"},
            {"kind": "voice", "source": "mock-media:voice"},
            {"kind": "document", "source": "mock-media:broken", "file_name": "lost.pdf"},
            {"kind": "location", "location": {"latitude": 52.52, "longitude": 13.40, "name": "Berlin"}}
        ]}]})
    .to_string();
    let response = send(&app, signed_mock_webhook(&ch.id.to_string(), &body, secret)).await;
    assert_eq!(response.status(), StatusCode::OK);
    let list = body_json(send(&app, authed("GET", "/api/v1/conversations", &alice, None)).await).await;
    let conv = list[0]["id"].as_str().unwrap();
    let history = body_json(
        send(&app, authed("GET", &format!("/api/v1/conversations/{conv}/messages"), &alice, None)).await,
    )
    .await;
    let message = &history[0];
    assert_eq!(message["text"], "see these");
    let a = message["attachments"].as_array().unwrap();
    assert_eq!(a.len(), 4, "the message arrives with all its media, fetched or not");
    assert_eq!((a[0]["state"].as_str(), a[0]["mime_type"].as_str()), (Some("ready"), Some("image/png")));
    let (status, _, bytes) = get_bytes(&app, a[0]["url"].as_str().unwrap(), None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(bytes == photo(), "the stored photo is the network's");
    assert_eq!((a[1]["kind"].as_str(), a[1]["duration_ms"].as_u64()), (Some("voice"), Some(3000)));
    assert_eq!(a[2]["state"], "unavailable", "the network's download kept failing");
    // Photo, voice note, three tries of the broken one: five downloads. A redelivery of the
    // same message fetches nothing again and changes nothing.
    assert_eq!(app.mock.media_fetches(), 5);
    let again = send(&app, signed_mock_webhook(&ch.id.to_string(), &body, secret)).await;
    assert_eq!(body_json(again).await["applied"], 0);
    assert_eq!(app.mock.media_fetches(), 5);
    assert!(a[2].get("url").is_none());
    assert_eq!(a[2]["file_name"], "lost.pdf");
    assert_eq!(a[3]["location"]["name"], "Berlin");
    assert_eq!(
        a[3]["url"],
        "https://www.openstreetmap.org/?mlat=52.520000&mlon=13.400000#map=16/52.520000/13.400000",
        "a place links to the map"
    );
}

async fn outbound_media_reaches_the_network(app: AppState, _raw: Raw) {
    let alice = login(&app, "alice@example.com", "demo-password").await;
    let ch = mock_channel(
        &app,
        &alice,
        json!({"reply_after_ms": 50, "delivered_after_ms": 10, "read_after_ms": 20}),
    )
    .await;
    sign_in_by_token(&app, &alice, &ch.id.to_string()).await;
    let connected = tokio::time::Instant::now() + Duration::from_secs(10);
    while !app.mock.is_connected(ch.id) {
        assert!(tokio::time::Instant::now() < connected, "the Mock channel never connected");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let conv = contact_writes(&app, &ch, "+15550000001", "Maria", "hi").await.conversation.id.to_string();
    let doc = uploaded(&app, upload_multipart(&alice, "invoice.pdf", &pdf())).await;
    let sent = body_json(
        send(
            &app,
            post_message(&alice, &conv, json!({"text": "your invoice #photo", "attachments": [doc["id"]]})),
        )
        .await,
    )
    .await;
    let worker = switchboard_server::services::outbox::OutboxWorker::new(
        app.store.clone(),
        app.channels.providers().clone(),
        Default::default(),
    )
    .with_media(app.media.clone());
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        worker.tick().await.unwrap();
        if !app.mock.received_media(ch.id).is_empty() || tokio::time::Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let received = app.mock.received_media(ch.id);
    assert_eq!(received.len(), 1, "the network got the file");
    assert_eq!(received[0].key, sent["id"].as_str().unwrap());
    assert_eq!((received[0].file_name.as_str(), received[0].bytes), ("invoice.pdf", pdf().len()));
    // The contact answers the tag with a photo, fetched into the blob store.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let history = body_json(
            send(
                &app,
                authed("GET", &format!("/api/v1/conversations/{conv}/messages?limit=1"), &alice, None),
            )
            .await,
        )
        .await;
        if history[0]["direction"] == "inbound"
            && history[0]["attachments"].as_array().is_some_and(|a| !a.is_empty())
        {
            assert_eq!(history[0]["attachments"][0]["kind"], "image");
            assert_eq!(history[0]["attachments"][0]["state"], "ready");
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "the contact's photo never arrived: {history}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
