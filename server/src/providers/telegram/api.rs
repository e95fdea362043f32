//! The Bot API calls the adapter makes (`{base}/bot{token}/{method}`), and the one mapping from
//! Telegram's error bodies to [`ProviderError`]. The token sits in the path: no URL of these
//! calls is ever logged or put in an error (errors are stripped of their URL).

use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use switchboard::provider::{ProviderError, RateLimitScope};

use crate::providers::http;

/// What a channel whose token was revoked says (the outbox shows it on the channel).
pub const TOKEN_REVOKED: &str = "the bot token was revoked: sign in again";
/// The largest file a bot may download (Bot API: 20 MB).
pub const MAX_DOWNLOAD_BYTES: usize = 20 * 1024 * 1024;

/// Telegram's envelope: `{ok, result}` or `{ok: false, error_code, description, parameters}`.
#[derive(Debug, Deserialize)]
struct Envelope<T> {
    ok: bool,
    result: Option<T>,
    #[serde(default)]
    error_code: Option<u16>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    parameters: Option<Value>,
}

/// One bot's view of the Bot API.
pub struct Api<'a> {
    pub base: &'a str,
    pub token: &'a str,
}

impl Api<'_> {
    fn url(&self, method: &str) -> String {
        format!("{}/bot{}/{method}", self.base.trim_end_matches('/'), self.token)
    }

    async fn answer<T: DeserializeOwned>(response: reqwest::Response) -> Result<T, ProviderError> {
        let status = response.status().as_u16();
        let retry_after = http::retry_after(response.headers());
        let body = response.bytes().await.map_err(transport_error)?;
        match serde_json::from_slice::<Envelope<T>>(&body) {
            Ok(Envelope { ok: true, result: Some(result), .. }) => Ok(result),
            _ => Err(map_error(status, retry_after, &body)),
        }
    }

    /// Calls `method` with a JSON body.
    pub async fn call<T: DeserializeOwned>(&self, method: &str, body: &Value) -> Result<T, ProviderError> {
        let response =
            http::client().post(self.url(method)).json(body).send().await.map_err(transport_error)?;
        Self::answer(response).await
    }

    /// Calls `method` with a long-poll allowance on top of the usual request time.
    pub async fn call_waiting<T: DeserializeOwned>(
        &self,
        method: &str,
        body: &Value,
        wait: std::time::Duration,
    ) -> Result<T, ProviderError> {
        let request = http::client().post(self.url(method)).json(body).timeout(http::REQUEST_TIMEOUT + wait);
        let response = request.send().await.map_err(transport_error)?;
        Self::answer(response).await
    }

    /// Calls `method` with a multipart form (a file upload).
    pub async fn call_form<T: DeserializeOwned>(
        &self,
        method: &str,
        form: reqwest::multipart::Form,
    ) -> Result<T, ProviderError> {
        let response =
            http::client().post(self.url(method)).multipart(form).send().await.map_err(transport_error)?;
        Self::answer(response).await
    }

    /// A received file's bytes: its path from `getFile`, then the file (at most 20 MB).
    pub async fn download(&self, file_id: &str) -> Result<Vec<u8>, ProviderError> {
        #[derive(Deserialize)]
        struct File {
            file_path: Option<String>,
        }
        let file: File = self.call("getFile", &serde_json::json!({ "file_id": file_id })).await?;
        let path = file
            .file_path
            .ok_or_else(|| ProviderError::Permanent { message: "Telegram no longer has this file".into() })?;
        if path.contains("..") {
            return Err(ProviderError::Permanent { message: "Telegram gave an unusable file path".into() });
        }
        let url = format!("{}/file/bot{}/{path}", self.base.trim_end_matches('/'), self.token);
        let mut response = http::client().get(url).send().await.map_err(transport_error)?;
        if !response.status().is_success() {
            let status = response.status().as_u16();
            return Err(match status {
                500..=599 => ProviderError::Retryable {
                    message: format!("Telegram answered {status} for a file"),
                    after_secs: None,
                },
                _ => ProviderError::Permanent {
                    message: format!("Telegram no longer serves this file ({status})"),
                },
            });
        }
        let mut bytes = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(transport_error)? {
            if bytes.len() + chunk.len() > MAX_DOWNLOAD_BYTES {
                return Err(ProviderError::Permanent {
                    message: "the file is larger than bots may download".into(),
                });
            }
            bytes.extend_from_slice(&chunk);
        }
        Ok(bytes)
    }
}

/// A call that never got an answer: retried. The URL (which holds the token) is dropped.
fn transport_error(e: reqwest::Error) -> ProviderError {
    let what = if e.is_timeout() { "timed out" } else { "failed" };
    ProviderError::Retryable {
        message: format!("the call to Telegram {what}: {}", e.without_url()),
        after_secs: None,
    }
}

/// Telegram's error (HTTP status, `Retry-After`, body) as what the outbox and the auth page do
/// with it.
pub fn map_error(status: u16, retry_after: Option<u64>, body: &[u8]) -> ProviderError {
    let envelope: Option<Envelope<Value>> = serde_json::from_slice(body).ok();
    let code = envelope.as_ref().and_then(|e| e.error_code).unwrap_or(status);
    let words = envelope.as_ref().and_then(|e| e.description.clone()).unwrap_or_default();
    let parameter =
        |key: &str| envelope.as_ref().and_then(|e| e.parameters.as_ref()).and_then(|p| p.get(key)).cloned();
    match code {
        429 => {
            let after = parameter("retry_after").and_then(|v| v.as_u64()).or(retry_after).unwrap_or(30);
            ProviderError::RateLimited { scope: RateLimitScope::Channel, retry_after_secs: after }
        }
        401 | 404 if words.contains("Unauthorized") || words.contains("Not Found") || words.is_empty() => {
            ProviderError::Unauthorized { message: TOKEN_REVOKED.into() }
        }
        403 => ProviderError::Permanent { message: format!("Telegram refused: {}", strip_kind(&words)) },
        400 if parameter("migrate_to_chat_id").is_some() => ProviderError::Permanent {
            message: "the group became a supergroup: its new chat takes the messages".into(),
        },
        400..=499 => ProviderError::Permanent {
            message: format!("Telegram refused the message: {}", strip_kind(&words)),
        },
        _ => ProviderError::Retryable {
            message: format!(
                "Telegram answered {code}: {}",
                if words.is_empty() { "no details" } else { &words }
            ),
            after_secs: retry_after,
        },
    }
}

/// `Forbidden: bot was blocked by the user` → `bot was blocked by the user`.
fn strip_kind(words: &str) -> &str {
    words.split_once(": ").map(|(_, rest)| rest).unwrap_or(words)
}
