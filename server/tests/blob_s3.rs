//! The blob store on both backends: the local file system and S3 (a real S3-protocol server,
//! s3s-fs, started by `scripts/s3.sh`, which checks request signatures). Never skipped: without
//! the server these tests fail.

#[macro_use]
mod common;

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use common::*;
use futures_util::StreamExt;
use serde_json::json;
use switchboard_server::http::AppState;
use switchboard_server::media::{BlobStore, LocalBlobs, MediaConfig, MediaService, S3Blobs, S3Config};
use switchboard_server::providers::mock::media::{pdf, photo};

/// The S3 test server's settings (`scripts/s3.sh`), with a fresh prefix so runs never meet.
fn s3_config() -> S3Config {
    let var = |name: &str, default: &str| std::env::var(name).unwrap_or_else(|_| default.to_owned());
    S3Config {
        bucket: var("SWITCHBOARD_TEST_S3_BUCKET", "switchboard-test"),
        endpoint: Some(var("SWITCHBOARD_TEST_S3_ENDPOINT", "http://127.0.0.1:19014")),
        region: "us-east-1".into(),
        access_key_id: var("SWITCHBOARD_TEST_S3_ACCESS_KEY_ID", "switchboard-test"),
        secret_access_key: var("SWITCHBOARD_TEST_S3_SECRET_ACCESS_KEY", "switchboard-test-secret"),
        virtual_hosted_style: false,
        prefix: format!("test-{}", uuid::Uuid::now_v7().simple()),
    }
}

fn s3(staging: &std::path::Path) -> S3Blobs {
    S3Blobs::new(&s3_config(), staging).expect("the S3 test server's client")
}

async fn read_all(blobs: &dyn BlobStore, key: &str, start: u64, len: Option<u64>) -> (u64, Vec<u8>) {
    let read = blobs.open(key, start, len).await.unwrap();
    let chunks: Vec<_> = read.body.collect().await;
    (read.total, chunks.into_iter().map(Result::unwrap).collect::<Vec<_>>().concat())
}

fn key_of(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}

/// Puts (small in one request, large in parts), reads whole and by range, sizes, marks a blob
/// used when it is stored again, and deletes only what stayed idle.
async fn a_blob_store_keeps_bytes_whole(blobs: &dyn BlobStore) {
    let small = pdf();
    let large: Vec<u8> = (0..9 * 1024 * 1024 + 17).map(|i| (i * 7 % 251) as u8).collect();
    for bytes in [&small, &large] {
        let key = key_of(bytes);
        let staged = blobs.staging_dir().join(format!("s-{}", uuid::Uuid::now_v7().simple()));
        std::fs::write(&staged, bytes).unwrap();
        blobs.put_file(&key, &staged).await.unwrap();
        assert!(!staged.exists(), "the staging file is taken");
        assert_eq!(blobs.size(&key).await.unwrap(), bytes.len() as u64);
        let (total, whole) = read_all(blobs, &key, 0, None).await;
        assert_eq!(total, bytes.len() as u64);
        assert!(whole == *bytes, "the blob reads back as stored ({} bytes)", bytes.len());
        let (_, part) = read_all(blobs, &key, 5, Some(10)).await;
        assert_eq!(part.as_slice(), &bytes[5..15]);
        let (_, tail) = read_all(blobs, &key, bytes.len() as u64 - 3, None).await;
        assert_eq!(tail.as_slice(), &bytes[bytes.len() - 3..]);
    }
    // Stored again: marked used, so a sweep that began before spares it.
    // (S3 keeps whole seconds: the store allows for that, and so do these waits.)
    let key = key_of(&small);
    tokio::time::sleep(Duration::from_millis(3100)).await;
    let began = SystemTime::now();
    let again = blobs.staging_dir().join("again");
    std::fs::write(&again, &small).unwrap();
    blobs.put_file(&key, &again).await.unwrap();
    assert!(!blobs.delete_if_idle(&key, began).await.unwrap(), "stored since the sweep began");
    tokio::time::sleep(Duration::from_millis(3100)).await;
    assert!(blobs.delete_if_idle(&key, SystemTime::now()).await.unwrap());
    let gone = blobs.open(&key, 0, None).await.err().expect("deleted");
    assert_eq!(gone.kind(), std::io::ErrorKind::NotFound);
    assert!(!blobs.delete_if_idle(&key, SystemTime::now()).await.unwrap(), "deleting twice is no error");
    assert!(blobs.open("../../etc/passwd", 0, None).await.is_err());
    // Leave nothing behind in the test bucket.
    let later = SystemTime::now() + Duration::from_secs(10);
    assert!(blobs.delete_if_idle(&key_of(&large), later).await.unwrap());
}

#[tokio::test]
async fn the_local_blob_store_keeps_bytes_whole() {
    let dir = tempfile::tempdir().unwrap();
    a_blob_store_keeps_bytes_whole(&LocalBlobs::open_dir(dir.path()).unwrap()).await;
}

#[tokio::test]
async fn the_s3_blob_store_keeps_bytes_whole() {
    let dir = tempfile::tempdir().unwrap();
    a_blob_store_keeps_bytes_whole(&s3(dir.path())).await;
}

#[tokio::test]
async fn a_wrong_s3_secret_is_refused_by_the_server() {
    let dir = tempfile::tempdir().unwrap();
    let blobs =
        S3Blobs::new(&S3Config { secret_access_key: "not-the-secret".into(), ..s3_config() }, dir.path())
            .unwrap();
    let staged = dir.path().join("x");
    std::fs::write(&staged, b"hello").unwrap();
    let refused = blobs.put_file(&key_of(b"hello"), &staged).await;
    assert!(refused.is_err(), "the server checks signatures");
}

/// An app whose attachments live in S3.
fn on_s3(app: &AppState, staging: &std::path::Path) -> AppState {
    let media = MediaService::new(
        app.store.clone(),
        Arc::new(s3(staging)),
        app.media.links().clone(),
        MediaConfig { max_upload_bytes: TEST_MAX_UPLOAD_BYTES },
    );
    AppState { media: Arc::new(media), ..app.clone() }
}

async fn attachments_live_in_s3_from_upload_to_collection(app: AppState, _raw: Raw) {
    let dir = tempfile::tempdir().unwrap();
    let app = on_s3(&app, dir.path());
    let alice = login(&app, "alice@example.com", "demo-password").await;
    let ch = {
        let created = create_channel(&app, &alice, json!({"provider": "mock", "name": "Mock"})).await;
        let ws = app.store.workspace_by_name("Acme Support").await.unwrap().unwrap().id;
        app.store.channel(ws, created["id"].as_str().unwrap().parse().unwrap()).await.unwrap().unwrap()
    };
    let conv = contact_writes(&app, &ch, "+15550000001", "Maria", "hi").await.conversation.id;
    let upload = Request::builder()
        .method("POST")
        .uri("/api/v1/uploads?filename=sunset.png")
        .header(header::AUTHORIZATION, format!("Bearer {alice}"))
        .body(Body::from(photo()))
        .unwrap();
    let upload = send(&app, upload).await;
    assert_eq!(upload.status(), StatusCode::CREATED);
    let upload = body_json(upload).await;
    assert_eq!(upload["has_thumbnail"], true);
    let sent = send(
        &app,
        authed(
            "POST",
            &format!("/api/v1/conversations/{conv}/messages"),
            &alice,
            Some(json!({"attachments": [upload["id"]]})),
        ),
    )
    .await;
    assert_eq!(sent.status(), StatusCode::CREATED);
    let sent = body_json(sent).await;
    let url = sent["attachments"][0]["url"].as_str().unwrap();
    let got = send(&app, Request::builder().uri(url).body(Body::empty()).unwrap()).await;
    assert_eq!(got.status(), StatusCode::OK);
    let bytes = http_body_util::BodyExt::collect(got.into_body()).await.unwrap().to_bytes();
    assert!(bytes == photo(), "the photo comes back from S3 as uploaded");
    let ranged = send(
        &app,
        Request::builder().uri(url).header(header::RANGE, "bytes=0-7").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(ranged.status(), StatusCode::PARTIAL_CONTENT);
    let head = http_body_util::BodyExt::collect(ranged.into_body()).await.unwrap().to_bytes();
    assert_eq!(&head[..], &photo()[..8]);
    let thumb = sent["attachments"][0]["thumbnail_url"].as_str().unwrap();
    assert_eq!(
        send(&app, Request::builder().uri(thumb).body(Body::empty()).unwrap()).await.status(),
        StatusCode::OK
    );

    // Deleted with its message, then collected: the objects leave the bucket.
    let message = sent["id"].as_str().unwrap();
    let deleted = send(&app, authed("DELETE", &format!("/api/v1/messages/{message}"), &alice, None)).await;
    assert_eq!(deleted.status(), StatusCode::OK);
    tokio::time::sleep(Duration::from_millis(3100)).await;
    assert_eq!(app.media.collect_garbage().await.unwrap(), 2, "the photo and its thumbnail");
    let left = app.media.size(&key_of(&photo())).await;
    assert!(
        matches!(left, Err(switchboard_server::media::MediaError::NotFound)),
        "the object left the bucket"
    );
}

app_test!(attachments_live_in_s3_from_upload_to_collection);
