//! The Whapi.Cloud gateway calls the adapter makes, and the one mapping from the gateway's
//! answers to [`ProviderError`] (a limit pauses, an unlinked session or refused token fails the
//! channel, a refused recipient is permanent, the rest is retried).

use serde::Deserialize;
use serde_json::Value;
use switchboard::channel::ChannelIdentity;
use switchboard::provider::{ProviderError, RateLimitScope};

use super::WhapiConfig;
use crate::providers::http;
use crate::providers::linked::LinkState;

/// What the channel shows when the gateway refuses its token.
pub const TOKEN_REFUSED: &str = "The gateway refused the channel's API token: sign in again.";
/// What it shows when the gateway's WhatsApp session is not linked.
pub const NOT_LINKED: &str = "WhatsApp is not linked on the gateway: link the phone again.";

/// One channel's view of the gateway: its base and token.
pub struct Api<'a> {
    pub config: &'a WhapiConfig,
    pub token: &'a str,
}

/// `GET /health`.
#[derive(Debug, Default, Deserialize)]
pub struct Health {
    #[serde(default)]
    pub status: HealthStatus,
    #[serde(default)]
    pub user: Option<User>,
}

#[derive(Debug, Default, Deserialize)]
pub struct HealthStatus {
    #[serde(default)]
    pub code: i64,
    #[serde(default)]
    pub text: String,
}

#[derive(Debug, Default, Deserialize)]
pub struct User {
    #[serde(default)]
    pub id: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub pushname: Option<String>,
}

impl Health {
    /// The documented session states (`INIT`, `LAUNCH`, `QR`, `AUTH`, `STOP`, `SYNC_ERROR`, …)
    /// as a [`LinkState`]. An unknown state counts as not linked yet.
    pub fn link_state(&self) -> LinkState {
        match self.status.text.to_ascii_uppercase().as_str() {
            "AUTH" => LinkState::Authorized(self.identity()),
            "QR" => LinkState::WaitingForLink,
            "STOP" | "STOPPED" => LinkState::Stopped(
                "The gateway stopped this channel (its subscription may have ended): restart it on Whapi.Cloud, then sign in again."
                    .into(),
            ),
            "SYNC_ERROR" => LinkState::SyncError,
            "ERROR" => LinkState::Stopped("The gateway reports an error on this channel.".into()),
            _ => LinkState::Starting,
        }
    }

    /// The linked account: its number (from the user id) and name.
    pub fn identity(&self) -> ChannelIdentity {
        let user = self.user.as_ref();
        let number = user
            .map(|u| u.id.split('@').next().unwrap_or_default().to_owned())
            .filter(|n| !n.is_empty())
            .map(|n| format!("+{n}"));
        let name = user.and_then(|u| u.name.clone().or(u.pushname.clone())).filter(|n| !n.trim().is_empty());
        ChannelIdentity { number, name }
    }
}

/// `GET /users/login`: a QR to scan.
#[derive(Debug, Deserialize)]
pub struct Qr {
    #[serde(default)]
    pub status: String,
    /// The raw string the QR encodes (drawn here, so no image is needed).
    #[serde(default)]
    pub rowdata: Option<String>,
    /// Seconds until it expires.
    #[serde(default)]
    pub expire: Option<u64>,
}

/// The gateway's error envelopes: `{"error":{"code","message","details"}}` as documented, and
/// the flat `{"code","error"}` some answers use.
#[derive(Debug, Default, Deserialize)]
struct ErrorBody {
    #[serde(default)]
    error: Option<Value>,
    #[serde(default)]
    message: Option<String>,
}

/// A refusal's words, from whichever envelope it came in.
fn words(body: &[u8]) -> String {
    let Ok(parsed) = serde_json::from_slice::<ErrorBody>(body) else {
        return String::from_utf8_lossy(body).chars().take(200).collect::<String>().trim().to_owned();
    };
    let nested = |key: &str| parsed.error.as_ref().and_then(|e| e.get(key)).and_then(Value::as_str);
    let flat = parsed.error.as_ref().and_then(Value::as_str);
    let text = match (nested("message"), nested("details")) {
        (Some(m), Some(d)) if !d.trim().is_empty() && d != m => format!("{m}: {d}"),
        (Some(m), _) => m.to_owned(),
        _ => flat.map(str::to_owned).or(parsed.message).unwrap_or_default(),
    };
    text.chars().take(300).collect()
}

/// The gateway's answer `status` with `body` as a [`ProviderError`].
pub fn map_error(
    status: u16,
    retry_after: Option<u64>,
    body: &[u8],
    default_retry_secs: u64,
) -> ProviderError {
    let words = words(body);
    let lower = words.to_ascii_lowercase();
    match status {
        429 => ProviderError::RateLimited {
            scope: RateLimitScope::Channel,
            retry_after_secs: retry_after.unwrap_or(default_retry_secs),
        },
        // The documented 401 means the WhatsApp session needs linking; a refused token may
        // answer 401 or 403 with words about the token.
        401 if lower.contains("token") => ProviderError::Unauthorized { message: TOKEN_REFUSED.into() },
        401 => ProviderError::Unauthorized { message: NOT_LINKED.into() },
        403 if lower.contains("token") => ProviderError::Unauthorized { message: TOKEN_REFUSED.into() },
        404 if lower.contains("channel") => ProviderError::Unauthorized {
            message: "The gateway does not know this channel any more: sign in again with its new token."
                .into(),
        },
        500..=599 => ProviderError::Retryable {
            message: if words.is_empty() {
                format!("the gateway answered {status}")
            } else {
                format!("the gateway answered {status}: {words}")
            },
            after_secs: retry_after,
        },
        _ if words.is_empty() => {
            ProviderError::Permanent { message: format!("the gateway refused the call ({status})") }
        }
        _ => ProviderError::Permanent { message: format!("the gateway refused the message: {words}") },
    }
}

pub fn transport_error(e: reqwest::Error) -> ProviderError {
    // The error names the URL, and no secret is ever in it: the token travels in a header.
    ProviderError::Retryable { message: format!("the gateway is unreachable: {e}"), after_secs: None }
}

impl Api<'_> {
    pub fn url(&self, path: &str) -> String {
        format!("{}/{}", self.config.api_base_url.trim_end_matches('/'), path.trim_start_matches('/'))
    }

    /// Sends a request with the token and turns a refusal into a [`ProviderError`].
    pub async fn call(&self, request: reqwest::RequestBuilder) -> Result<reqwest::Response, ProviderError> {
        self.call_or(request, None)
            .await?
            .ok_or_else(|| ProviderError::Permanent { message: "no answer".into() })
    }

    /// [`call`](Self::call), with `Ok(None)` for the answer `conflict` (the gateway's 409:
    /// already linked, already logged out).
    async fn call_or(
        &self,
        request: reqwest::RequestBuilder,
        conflict: Option<u16>,
    ) -> Result<Option<reqwest::Response>, ProviderError> {
        let response = request.bearer_auth(self.token).send().await.map_err(transport_error)?;
        if response.status().is_success() {
            return Ok(Some(response));
        }
        let status = response.status().as_u16();
        if Some(status) == conflict {
            return Ok(None);
        }
        let retry_after = http::retry_after(response.headers());
        let body = response.bytes().await.unwrap_or_default();
        Err(map_error(status, retry_after, &body, self.config.rate_limit_retry_secs))
    }

    pub async fn json<T: serde::de::DeserializeOwned>(
        &self,
        request: reqwest::RequestBuilder,
    ) -> Result<T, ProviderError> {
        let response = self.call(request).await?;
        response.json().await.map_err(|e| ProviderError::Retryable {
            message: format!("the gateway answered something unreadable: {e}"),
            after_secs: None,
        })
    }

    /// `GET /health`: proves the token and says where the session stands.
    pub async fn health(&self) -> Result<Health, ProviderError> {
        self.json(http::client().get(self.url("health")).query(&[("wakeup", "true")])).await
    }

    /// `GET /users/login`: a QR to link the phone (`None`: the gateway says it is linked).
    pub async fn login_qr(&self) -> Result<Option<Qr>, ProviderError> {
        let request = http::client().get(self.url("users/login")).query(&[("wakeup", "true")]);
        let Some(response) = self.call_or(request, Some(409)).await? else {
            return Ok(None);
        };
        response.json().await.map(Some).map_err(|e| ProviderError::Retryable {
            message: format!("the gateway answered something unreadable: {e}"),
            after_secs: None,
        })
    }

    /// `GET /users/login/{phone}`: a pairing code to type into the phone.
    pub async fn login_code(&self, phone_digits: &str) -> Result<String, ProviderError> {
        #[derive(Deserialize)]
        struct Code {
            code: String,
        }
        let code: Code =
            self.json(http::client().get(self.url(&format!("users/login/{phone_digits}")))).await?;
        Ok(code.code)
    }

    /// `POST /users/logout` (an already logged-out session is fine).
    pub async fn logout(&self) -> Result<(), ProviderError> {
        self.call_or(http::client().post(self.url("users/logout")), Some(409)).await.map(drop)
    }

    /// `PATCH /settings`: where and how the gateway delivers its webhooks.
    pub async fn set_webhook(&self, settings: &Value) -> Result<(), ProviderError> {
        self.call(http::client().patch(self.url("settings")).json(settings)).await.map(drop)
    }

    /// `POST /messages/{kind}`; returns the message id the gateway gave it.
    pub async fn send(&self, kind: &str, body: &Value) -> Result<String, ProviderError> {
        #[derive(Deserialize)]
        struct Sent {
            #[serde(default)]
            message: Option<SentMessage>,
        }
        #[derive(Deserialize)]
        struct SentMessage {
            id: String,
        }
        let sent: Sent =
            self.json(http::client().post(self.url(&format!("messages/{kind}"))).json(body)).await?;
        // Accepted, but not named: sending again would deliver it twice.
        sent.message.map(|m| m.id).ok_or_else(|| ProviderError::Permanent {
            message: "the gateway accepted the message without naming it".into(),
        })
    }

    /// `GET /chats`.
    pub async fn chats(&self, count: usize) -> Result<Vec<Value>, ProviderError> {
        #[derive(Deserialize)]
        struct Chats {
            #[serde(default)]
            chats: Vec<Value>,
        }
        let count = count.to_string();
        let chats: Chats =
            self.json(http::client().get(self.url("chats")).query(&[("count", count.as_str())])).await?;
        Ok(chats.chats)
    }

    /// `GET /messages/list/{chat}`, newest first; only those sent up to `time_to` (Unix
    /// seconds) when given.
    pub async fn chat_messages(
        &self,
        chat_id: &str,
        count: usize,
        time_to: Option<i64>,
    ) -> Result<Vec<Value>, ProviderError> {
        #[derive(Deserialize)]
        struct Messages {
            #[serde(default)]
            messages: Vec<Value>,
        }
        let count = count.to_string();
        let url = self.url(&format!("messages/list/{}", path_segment(chat_id)));
        let mut query = vec![("count", count)];
        if let Some(until) = time_to {
            query.push(("time_to", until.to_string()));
        }
        let messages: Messages = self.json(http::client().get(url).query(&query)).await?;
        Ok(messages.messages)
    }

    /// `PUT`/`DELETE` on a message (`/messages/{id}{suffix}`).
    pub async fn on_message(
        &self,
        method: reqwest::Method,
        id: &str,
        suffix: &str,
        body: Option<&Value>,
    ) -> Result<(), ProviderError> {
        let url = self.url(&format!("messages/{}{suffix}", path_segment(id)));
        let mut request = http::client().request(method, url);
        if let Some(body) = body {
            request = request.json(body);
        }
        self.call(request).await.map(drop)
    }

    /// `GET /media/{id}`: the file's bytes.
    pub async fn download(&self, media_id: &str) -> Result<Vec<u8>, ProviderError> {
        let response =
            self.call(http::client().get(self.url(&format!("media/{}", path_segment(media_id))))).await?;
        let bytes = response.bytes().await.map_err(transport_error)?;
        Ok(bytes.to_vec())
    }
}

/// An id as one path segment (message and chat ids hold `.`, `-`, `@`; anything else escaped).
pub fn path_segment(id: &str) -> String {
    let mut out = String::with_capacity(id.len());
    for b in id.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_' | b'@' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
