//! The Graph API calls the adapter makes, and the one mapping from Meta's error bodies to
//! [`ProviderError`] (throughput limits pause, a dead token fails the channel, a closed window
//! or an unreachable number is permanent, the rest is retried).

use serde::Deserialize;
use serde_json::{Value, json};
use switchboard::message::Template;
use switchboard::provider::{ProviderError, RateLimitScope};

use super::CloudConfig;
use crate::providers::http;

/// The largest media file WhatsApp carries (documents: 100 MB).
pub const MAX_MEDIA_BYTES: usize = 100 * 1024 * 1024;

/// What a channel refused for its credentials says (the outbox shows it on the channel).
pub const TOKEN_REFUSED: &str = "the access token is invalid or expired: sign in again";

/// One channel's view of the Graph API: its base, version, number and token.
pub struct Api<'a> {
    pub config: &'a CloudConfig,
    pub token: &'a str,
}

/// `GET /{phone_number_id}`: who the number is.
#[derive(Debug, Deserialize)]
pub struct PhoneNumber {
    #[serde(default)]
    pub display_phone_number: Option<String>,
    #[serde(default)]
    pub verified_name: Option<String>,
}

/// Meta's error envelope.
#[derive(Debug, Default, Deserialize)]
struct ErrorBody {
    #[serde(default)]
    error: GraphError,
}

#[derive(Debug, Default, Deserialize)]
struct GraphError {
    #[serde(default)]
    message: String,
    #[serde(default)]
    code: i64,
    #[serde(default)]
    error_data: Option<ErrorData>,
}

#[derive(Debug, Default, Deserialize)]
struct ErrorData {
    #[serde(default)]
    details: Option<String>,
}

impl Api<'_> {
    fn url(&self, path: &str) -> String {
        format!("{}/{}/{}", self.config.api_base_url.trim_end_matches('/'), self.config.api_version, path)
    }

    /// Sends a request with the token and turns a refusal into a [`ProviderError`].
    async fn call(&self, request: reqwest::RequestBuilder) -> Result<reqwest::Response, ProviderError> {
        let response = request.bearer_auth(self.token).send().await.map_err(transport_error)?;
        if response.status().is_success() {
            return Ok(response);
        }
        let status = response.status().as_u16();
        let retry_after = http::retry_after(response.headers());
        let body = response.bytes().await.unwrap_or_default();
        Err(map_error(status, retry_after, &body, self.config.rate_limit_retry_secs))
    }

    async fn json<T: serde::de::DeserializeOwned>(
        &self,
        request: reqwest::RequestBuilder,
    ) -> Result<T, ProviderError> {
        let response = self.call(request).await?;
        response.json().await.map_err(|e| ProviderError::Retryable {
            message: format!("WhatsApp answered something unreadable: {e}"),
            after_secs: None,
        })
    }

    /// The number's own endpoint: proves the token and names the account.
    pub async fn phone_number(&self) -> Result<PhoneNumber, ProviderError> {
        let url = self.url(&self.config.phone_number_id);
        self.json(http::client().get(url).query(&[("fields", "display_phone_number,verified_name")])).await
    }

    /// `POST /{phone_number_id}/messages`; returns the message id WhatsApp gave it.
    pub async fn send_message(&self, body: &Value) -> Result<String, ProviderError> {
        #[derive(Deserialize)]
        struct Sent {
            #[serde(default)]
            messages: Vec<SentId>,
        }
        #[derive(Deserialize)]
        struct SentId {
            id: String,
        }
        let url = self.url(&format!("{}/messages", self.config.phone_number_id));
        let sent: Sent = self.json(http::client().post(url).json(body)).await?;
        // Accepted, but not named: sending again would deliver it twice.
        sent.messages.into_iter().next().map(|m| m.id).ok_or_else(|| ProviderError::Permanent {
            message: "WhatsApp accepted the message without naming it".into(),
        })
    }

    /// Marks the contact's message read (blue ticks on their phone).
    pub async fn mark_read(&self, message_id: &str) -> Result<(), ProviderError> {
        let url = self.url(&format!("{}/messages", self.config.phone_number_id));
        let body = json!({ "messaging_product": "whatsapp", "status": "read", "message_id": message_id });
        self.call(http::client().post(url).json(&body)).await.map(drop)
    }

    /// `POST /{phone_number_id}/media`: uploads a file; returns its media id.
    pub async fn upload(&self, bytes: Vec<u8>, mime: &str, file_name: &str) -> Result<String, ProviderError> {
        #[derive(Deserialize)]
        struct Uploaded {
            id: String,
        }
        let part = reqwest::multipart::Part::bytes(bytes)
            .file_name(file_name.to_owned())
            .mime_str(mime)
            .map_err(|e| ProviderError::Permanent { message: format!("unsendable file type: {e}") })?;
        let form = reqwest::multipart::Form::new()
            .text("messaging_product", "whatsapp")
            .text("type", mime.to_owned())
            .part("file", part);
        let url = self.url(&format!("{}/media", self.config.phone_number_id));
        let uploaded: Uploaded = self.json(http::client().post(url).multipart(form)).await?;
        Ok(uploaded.id)
    }

    /// A received media file's bytes: its URL from `GET /{media_id}`, then the file itself
    /// (with the token too), at most [`MAX_MEDIA_BYTES`].
    pub async fn download(&self, media_id: &str) -> Result<Vec<u8>, ProviderError> {
        #[derive(Deserialize)]
        struct Media {
            url: String,
        }
        if media_id.is_empty() || !media_id.chars().all(|c| c.is_ascii_alphanumeric() || "_-.".contains(c)) {
            return Err(ProviderError::Permanent { message: "not a WhatsApp media id".into() });
        }
        let media: Media = self.json(http::client().get(self.url(media_id))).await?;
        let mut response = self.call(http::client().get(media.url)).await?;
        if response.content_length().is_some_and(|n| n > MAX_MEDIA_BYTES as u64) {
            return Err(ProviderError::Permanent {
                message: "the file is larger than WhatsApp allows".into(),
            });
        }
        let mut bytes = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(transport_error)? {
            if bytes.len() + chunk.len() > MAX_MEDIA_BYTES {
                return Err(ProviderError::Permanent {
                    message: "the file is larger than WhatsApp allows".into(),
                });
            }
            bytes.extend_from_slice(&chunk);
        }
        Ok(bytes)
    }

    /// The account's approved templates (`GET /{waba_id}/message_templates`, every page).
    pub async fn templates(&self, waba_id: &str) -> Result<Vec<Template>, ProviderError> {
        #[derive(Deserialize)]
        struct Page {
            #[serde(default)]
            data: Vec<Value>,
            #[serde(default)]
            paging: Option<Value>,
        }
        let mut out = Vec::new();
        let mut after: Option<String> = None;
        // Ten pages of a hundred: more approved templates than any account keeps.
        for _ in 0..10 {
            let mut query = vec![
                ("fields", "name,language,status,category,components".to_owned()),
                ("limit", "100".to_owned()),
            ];
            if let Some(after) = &after {
                query.push(("after", after.clone()));
            }
            let url = self.url(&format!("{waba_id}/message_templates"));
            let page: Page = self.json(http::client().get(url).query(&query)).await?;
            out.extend(page.data.iter().filter_map(template_of));
            after = page
                .paging
                .as_ref()
                .filter(|p| p.get("next").is_some())
                .and_then(|p| p.pointer("/cursors/after"))
                .and_then(Value::as_str)
                .map(str::to_owned);
            if after.is_none() {
                break;
            }
        }
        Ok(out)
    }
}

/// An approved template as the picker shows it; `None` for others (pending, rejected, paused).
pub fn template_of(raw: &Value) -> Option<Template> {
    if raw.get("status").and_then(Value::as_str) != Some("APPROVED") {
        return None;
    }
    let text = |key: &str| raw.get(key).and_then(Value::as_str).map(str::to_owned);
    let body = raw
        .get("components")
        .and_then(Value::as_array)
        .and_then(|c| c.iter().find(|c| c.get("type").and_then(Value::as_str) == Some("BODY")))
        .and_then(|c| c.get("text"))
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    Some(Template {
        name: text("name")?,
        language: text("language")?,
        category: text("category").unwrap_or_default(),
        parameters: Template::count_parameters(&body),
        body,
    })
}

/// A call that never got an answer: the network may be down, so it is retried.
fn transport_error(e: reqwest::Error) -> ProviderError {
    let what = if e.is_timeout() { "timed out" } else { "failed" };
    ProviderError::Retryable {
        message: format!("the call to WhatsApp {what}: {}", e.without_url()),
        after_secs: None,
    }
}

/// Meta's error (HTTP status, `Retry-After`, body) as what the outbox and the auth page do
/// with it. `default_retry_secs` is the pause when a rate limit names no time.
pub fn map_error(
    status: u16,
    retry_after: Option<u64>,
    body: &[u8],
    default_retry_secs: u64,
) -> ProviderError {
    let error = serde_json::from_slice::<ErrorBody>(body).unwrap_or_default().error;
    let words = error
        .error_data
        .and_then(|d| d.details)
        .filter(|d| !d.trim().is_empty())
        .unwrap_or_else(|| strip_code(&error.message).to_owned());
    let pause = retry_after.unwrap_or(default_retry_secs);
    match (status, error.code) {
        // The pair rate limit: too many messages to this one person; others may go on.
        (_, 131056) => ProviderError::RateLimited { scope: RateLimitScope::Conversation, retry_after_secs: pause },
        (429, _) | (_, 130429 | 131048 | 80007 | 4 | 613) => {
            ProviderError::RateLimited { scope: RateLimitScope::Channel, retry_after_secs: pause }
        }
        (401, _) | (_, 190 | 102) => ProviderError::Unauthorized { message: TOKEN_REFUSED.into() },
        // The token lacks a permission, or the account is locked: every message would fail the
        // same way until an admin fixes it, so the channel waits for a new sign-in.
        (_, 10 | 200..=299 | 131031) => ProviderError::Unauthorized {
            message: format!("WhatsApp refused the account's access ({words}): fix it in Meta's console, then sign in again"),
        },
        (_, 131047) => ProviderError::Permanent {
            message: "More than 24 hours have passed since the customer last wrote: send an approved template instead."
                .into(),
        },
        (_, 131026) => ProviderError::Permanent {
            message: "WhatsApp could not deliver the message: the number may not be on WhatsApp, or the customer \
                      has not accepted the latest terms."
                .into(),
        },
        (_, 131030) => ProviderError::Permanent {
            message: "The recipient's number is not on this test account's allowed list.".into(),
        },
        (_, 131021) => ProviderError::Permanent { message: "A number cannot write to itself.".into() },
        (_, 131000 | 131016 | 133004 | 1 | 2) => {
            ProviderError::Retryable { message: format!("WhatsApp is temporarily unavailable: {words}"), after_secs: retry_after }
        }
        (500..=599, _) => {
            ProviderError::Retryable { message: format!("WhatsApp answered {status}: {words}"), after_secs: retry_after }
        }
        _ if words.is_empty() => ProviderError::Permanent { message: format!("WhatsApp refused the call ({status})") },
        _ => ProviderError::Permanent { message: format!("WhatsApp refused the message: {words}") },
    }
}

/// Meta's messages start with their code (`(#131047) Re-engagement message`): the words only.
fn strip_code(message: &str) -> &str {
    match message.strip_prefix("(#").and_then(|rest| rest.split_once(") ")) {
        Some((_, words)) => words,
        None => message,
    }
}
