//! The Mock network's own pages, served by our binary: the QR's pairing link ("the phone
//! scanning") and a page where a one-time or pairing code is typed "into the phone".

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Html;
use axum::routing::get;
use axum::{Form, Router};
use serde::Deserialize;

use super::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/mock/pair", get(get_pair_form).post(post_pair_code))
        .route("/mock/pair/{token}", get(get_pair_qr))
}

fn page(status: StatusCode, title: &str, body: &str) -> (StatusCode, Html<String>) {
    let html = format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width\">\
         <title>{title} · Mock network</title></head><body style=\"font-family:system-ui;max-width:28rem;margin:3rem auto;padding:0 1rem\">\
         <h1>{title}</h1>{body}</body></html>"
    );
    (status, Html(html))
}

/// Opening the QR's link completes the sign-in of the channel that showed it.
async fn get_pair_qr(State(state): State<AppState>, Path(token): Path<String>) -> (StatusCode, Html<String>) {
    match state.mock.scan(&token) {
        Some((workspace_id, channel_id)) => {
            match state.channels.network_confirmed(workspace_id, channel_id).await {
                Ok(done) => page(
                    StatusCode::OK,
                    "Phone paired",
                    &format!(
                        "<p>The channel “{}” is connected. You can close this page.</p>",
                        escape(&done.channel.name)
                    ),
                ),
                Err(e) => {
                    tracing::warn!(error = %e, "pairing confirmed but the channel could not be updated");
                    page(
                        StatusCode::CONFLICT,
                        "Pairing failed",
                        "<p>The channel could not be updated. Start the sign-in again.</p>",
                    )
                }
            }
        }
        None => page(
            StatusCode::NOT_FOUND,
            "QR code expired",
            "<p>This QR code is unknown or has expired. Scan the current one.</p>",
        ),
    }
}

const CODE_FORM: &str = "<form method=\"post\" action=\"/mock/pair\"><label>Code <input name=\"code\" autocomplete=\"one-time-code\" required></label> <button type=\"submit\">Pair</button></form>";

async fn get_pair_form() -> (StatusCode, Html<String>) {
    page(StatusCode::OK, "Link a device", &format!("<p>Type the code the inbox shows.</p>{CODE_FORM}"))
}

#[derive(Deserialize)]
struct CodeForm {
    code: String,
}

/// Typing the code into "the phone" completes the sign-in that shows it.
async fn post_pair_code(
    State(state): State<AppState>,
    Form(form): Form<CodeForm>,
) -> (StatusCode, Html<String>) {
    match state.mock.enter_code(&form.code) {
        Some((workspace_id, channel_id)) => {
            match state.channels.network_confirmed(workspace_id, channel_id).await {
                Ok(done) => page(
                    StatusCode::OK,
                    "Device linked",
                    &format!("<p>The channel “{}” is connected.</p>", escape(&done.channel.name)),
                ),
                Err(e) => {
                    tracing::warn!(error = %e, "code confirmed but the channel could not be updated");
                    page(
                        StatusCode::CONFLICT,
                        "Linking failed",
                        "<p>The channel could not be updated. Start again.</p>",
                    )
                }
            }
        }
        None => page(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Wrong code",
            &format!("<p>That code is unknown or has expired.</p>{CODE_FORM}"),
        ),
    }
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}
