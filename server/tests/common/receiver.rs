//! A receiver of outgoing HTTP calls (webhooks, API channel callbacks) on a real socket: it
//! records each request and answers from a script.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use axum::http::HeaderMap;
use axum::response::IntoResponse;
use serde_json::Value;

/// One scripted answer.
#[derive(Clone, Debug)]
pub struct Reply {
    pub status: u16,
    pub body: String,
    pub retry_after: Option<u64>,
}

impl Reply {
    pub fn status(status: u16) -> Self {
        Reply { status, body: String::new(), retry_after: None }
    }
}

/// One request the receiver saw: its headers and body.
pub type Seen = (HeaderMap, Vec<u8>);

/// What the receiver saw, and what it answers.
#[derive(Clone, Default)]
pub struct Receiver {
    pub seen: Arc<Mutex<Vec<Seen>>>,
    /// Answers, in order; then `always`, else 200 with an empty body.
    pub script: Arc<Mutex<VecDeque<Reply>>>,
    pub always: Arc<Mutex<Option<Reply>>>,
}

impl Receiver {
    /// Serves on a free loopback port; answers the receiver and the URL of its one route.
    pub async fn start(self) -> (Self, String) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hooks", listener.local_addr().unwrap());
        let me = self.clone();
        let app = axum::Router::new().route(
            "/hooks",
            axum::routing::post(move |headers: HeaderMap, body: axum::body::Bytes| {
                let me = me.clone();
                async move {
                    me.seen.lock().unwrap().push((headers, body.to_vec()));
                    let scripted = me.script.lock().unwrap().pop_front();
                    let reply = scripted
                        .or_else(|| me.always.lock().unwrap().clone())
                        .unwrap_or_else(|| Reply::status(200));
                    let mut response =
                        (axum::http::StatusCode::from_u16(reply.status).unwrap(), reply.body).into_response();
                    if let Some(after) = reply.retry_after {
                        response.headers_mut().insert("retry-after", after.to_string().parse().unwrap());
                    }
                    response
                }
            }),
        );
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        (self, url)
    }

    pub fn count(&self) -> usize {
        self.seen.lock().unwrap().len()
    }

    pub fn bodies(&self) -> Vec<Value> {
        self.seen.lock().unwrap().iter().map(|(_, b)| serde_json::from_slice(b).unwrap()).collect()
    }
}

/// Checks a request as a receiver would: `Switchboard-Signature` is `v1=` and the HMAC-SHA256
/// of `"{Switchboard-Timestamp}.{body}"` under `secret`, with a fresh timestamp.
#[track_caller]
pub fn verify_signature(headers: &HeaderMap, body: &[u8], secret: &str) {
    use hmac::Mac;
    let timestamp = headers["switchboard-timestamp"].to_str().unwrap();
    let age = chrono::Utc::now().timestamp() - timestamp.parse::<i64>().unwrap();
    assert!((0..60).contains(&age), "a fresh timestamp: {timestamp}");
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{timestamp}.").as_bytes());
    mac.update(body);
    let expected = format!("v1={}", hex::encode(mac.finalize().into_bytes()));
    assert_eq!(headers["switchboard-signature"].to_str().unwrap(), expected, "the signature verifies");
}
