//! `GET /metrics`: what it counts, read over a real socket between two scrapes (the metrics are
//! the process's, shared with the tests running beside this one, so counters are compared as
//! "grew by at least", gauges read from this app's own hub and store exactly), and who may
//! read it.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::Request;
use common::ws::Client;
use switchboard_server::http::{AppState, HttpConfig};

use crate::*;

/// Scrapes `/metrics` over the socket with these headers: the status and the body.
async fn scrape(addr: SocketAddr, headers: &[(&str, &str)]) -> (u16, String) {
    let mut request = switchboard_server::providers::http::client().get(format!("http://{addr}/metrics"));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.text().await.unwrap())
}

/// The value of the sample `series` (a metric name with its labels, as exposed), 0 when absent.
fn sample(body: &str, series: &str) -> f64 {
    body.lines()
        .find_map(|line| line.strip_prefix(series).and_then(|rest| rest.strip_prefix(' ')))
        .map_or(0.0, |value| value.trim().parse().unwrap())
}

async fn scraped(addr: SocketAddr) -> String {
    let (status, body) = scrape(addr, &[]).await;
    assert_eq!(status, 200, "{body}");
    body
}

pub async fn metrics_count_what_the_node_does(app: AppState, _raw: Raw) {
    let alice = login(&app, "alice@example.com", "demo-password").await;
    let (channel, conv) = conversation(&app, &alice, "+15550001090").await;
    let addr = serve(&app).await;
    let before = scraped(addr).await;
    assert!(before.contains("# TYPE switchboard_send_commit_seconds histogram"), "{before}");
    assert_eq!(sample(&before, "switchboard_connections"), 0.0, "{before}");

    let (mut client, _) = Client::connect(addr, &realtime_token(&app, &alice).await).await;
    subscribe(&mut client, &topic(conv)).await;
    for i in 0..3 {
        post_text(&app, &alice, conv, &format!("counted {i}")).await;
        client.publication(&topic(conv)).await;
    }
    let after = scraped(addr).await;

    // Gauges: this node's one connection and its one subscription; the channel's three queued
    // sends (the Mock channel is not signed in, so nothing takes them).
    assert_eq!(sample(&after, "switchboard_connections"), 1.0, "{after}");
    assert_eq!(sample(&after, "switchboard_subscriptions"), 1.0, "{after}");
    let labels = format!("{{workspace_id=\"{}\",channel_id=\"{}\"}}", channel.workspace_id, channel.id);
    assert_eq!(sample(&after, &format!("switchboard_outbox_depth{labels}")), 3.0, "{after}");
    let age = sample(&after, &format!("switchboard_outbox_oldest_age_seconds{labels}"));
    assert!((0.0..60.0).contains(&age), "the oldest queued send is seconds old: {age}");

    // Counters and histograms grew by at least what this test did.
    let grew = |series: &str, by: f64| {
        let (was, is) = (sample(&before, series), sample(&after, series));
        assert!(is - was >= by, "{series}: {was} → {is}, expected +{by}\n{after}");
    };
    grew("switchboard_deliveries_total", 3.0);
    grew("switchboard_send_commit_seconds_count", 3.0);
    grew("switchboard_send_delivery_seconds_count", 3.0);
    grew("switchboard_write_group_size_count", 1.0);
    grew("switchboard_write_group_size_sum", 3.0);
    // Routes by pattern, never by raw path (ids and tokens stay out of the labels).
    grew(
        "switchboard_http_requests_total{method=\"POST\",route=\"/api/v1/conversations/{id}/messages\",status=\"201\"}",
        3.0,
    );
    grew("switchboard_http_requests_total{method=\"GET\",route=\"/metrics\",status=\"200\"}", 1.0);
    assert!(!after.contains(&conv.to_string()), "no conversation id in a label");

    // Who may read: a request that came through a proxy is refused, loopback or not.
    let (status, body) = scrape(addr, &[("x-forwarded-for", "203.0.113.9")]).await;
    assert_eq!(status, 403);
    assert!(body.contains("metrics_forbidden"), "{body}");
    let (status, _) = scrape(addr, &[("forwarded", "for=203.0.113.9")]).await;
    assert_eq!(status, 403);
    // A peer elsewhere is refused (the socket's own address, as axum hands it in).
    let response = send(&app, from_peer("10.1.2.3:4000", None)).await;
    assert_eq!(response.status(), 403);
    assert_eq!(error_code(&body_json(response).await), "metrics_forbidden");
    let response = send(&app, from_peer("127.0.0.1:4000", None)).await;
    assert_eq!(response.status(), 200);

    // With a token: whoever sends it, and no one else, loopback included.
    let guarded = AppState {
        http: Arc::new(HttpConfig { trust_proxy: true, metrics_token: Some("scrape-me".into()) }),
        ..app.clone()
    };
    let addr = serve(&guarded).await;
    assert_eq!(scrape(addr, &[]).await.0, 403, "loopback alone no longer does");
    assert_eq!(scrape(addr, &[("authorization", "Bearer wrong")]).await.0, 403);
    assert_eq!(scrape(addr, &[("authorization", "scrape-me")]).await.0, 403, "bearer scheme required");
    let (status, body) = scrape(addr, &[("authorization", "Bearer scrape-me")]).await;
    assert_eq!(status, 200);
    assert!(body.contains("switchboard_deliveries_total"), "{body}");
    let response = send(&guarded, from_peer("10.1.2.3:4000", Some("Bearer scrape-me"))).await;
    assert_eq!(response.status(), 200, "a scraper elsewhere with the token");
}

/// `GET /metrics` as if from `peer`.
fn from_peer(peer: &str, authorization: Option<&str>) -> Request<Body> {
    let mut request = Request::get("/metrics");
    if let Some(value) = authorization {
        request = request.header("authorization", value);
    }
    let mut request = request.body(Body::empty()).unwrap();
    request.extensions_mut().insert(ConnectInfo(peer.parse::<SocketAddr>().unwrap()));
    request
}
