//! The realtime client: our WebSocket protocol (Centrifugo's client protocol v2, JSON) from the
//! browser. It connects with a token from the API (refreshed before it expires), subscribes to
//! topics, answers the server's pings, and when the link drops it reconnects with exponential backoff and jitter and
//! resubscribes from the last offset it saw, so missed events are recovered, not reloaded.
//!
//! What arrives is handed to one handler as [`Incoming`]; the inbox store turns it into state.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use futures::channel::oneshot;
use leptos::prelude::*;
use serde::Deserialize;
use serde_json::{Value, json};
use switchboard::{EventBody, Topic};
use wasm_bindgen::JsCast;
use wasm_bindgen::closure::Closure;
use web_sys::{CloseEvent, MessageEvent, WebSocket};

/// Where the link stands; the banner shows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Link {
    /// The first connection is being made.
    Connecting,
    /// Connected and every topic (re)subscribed.
    Online,
    /// The link dropped; the next attempt is under way or scheduled.
    Reconnecting,
}

/// Something the server sent that the app cares about.
#[derive(Clone, Debug)]
pub enum Incoming {
    /// An event on a topic: persisted (with its offset in the topic's log) or ephemeral (none).
    Event { topic: Topic, offset: Option<u64>, body: Box<EventBody> },
    /// A topic was subscribed. `recovered` is false when missed events could not be replayed
    /// (first subscribe, or too far behind): the app reloads what the topic covers.
    Subscribed { topic: Topic, recovered: bool },
    /// The server refused the topic (103: no longer the user's to read, e.g. removed from a
    /// room, which closes the link with 4000): it is no longer followed.
    Refused { topic: Topic },
}

/// Why an RPC failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RpcError {
    pub code: u32,
    pub message: String,
}

/// Backoff before attempt `attempt` (0-based): 0.5 s doubling up to 15 s, with ±50 % jitter.
pub fn backoff_ms(attempt: u32, unit_random: f64) -> u32 {
    let base = (500u64 << attempt.min(5)).min(15_000) as f64;
    (base * (0.5 + unit_random.clamp(0.0, 1.0))) as u32
}

/// Who waits for a reply, and the reply field (`rpc`, `presence`) that holds its result.
type Reply = (&'static str, oneshot::Sender<Result<Value, RpcError>>);

#[derive(Default)]
struct Subscription {
    /// The last offset seen and the log's epoch: what a resubscribe recovers from.
    position: Option<(u64, String)>,
}

struct Inner {
    socket: Option<WebSocket>,
    /// Bumped for every socket, so callbacks of an old one are ignored.
    generation: u32,
    connected: bool,
    next_id: u32,
    replies: HashMap<u32, Reply>,
    /// Subscribe commands in flight: id → topic.
    subscribing: HashMap<u32, Topic>,
    topics: HashMap<Topic, Subscription>,
    attempt: u32,
    /// When the server last said anything (ms); a silent link is dropped.
    last_heard: f64,
    ping_ms: f64,
    /// The id of the last connect command.
    connect_id: u32,
    /// Closures the socket and window call; kept alive here.
    callbacks: Vec<Box<dyn std::any::Any>>,
    /// Receives what arrives; the page that uses the client sets it (none between pages).
    handler: Option<Rc<dyn Fn(Incoming)>>,
    link: Option<RwSignal<Link>>,
}

/// A cheap handle to the one client of the page.
#[derive(Clone)]
pub struct Realtime {
    inner: Rc<RefCell<Inner>>,
}

thread_local! {
    /// The browser tab's one connection, shared by the pages it navigates between.
    static CLIENT: RefCell<Option<Realtime>> = const { RefCell::new(None) };
}

impl Realtime {
    /// The tab's client, if one was started.
    pub fn current() -> Option<Realtime> {
        CLIENT.with(|c| c.borrow().clone())
    }

    /// The tab's client for a page that just mounted: its link signal and handler replace the
    /// previous page's, and the previous page's topics are left. Connects on first use.
    pub fn attach(link: RwSignal<Link>, handler: impl Fn(Incoming) + 'static) -> Self {
        if let Some(client) = Self::current() {
            let topics: Vec<Topic> = {
                let mut inner = client.inner.borrow_mut();
                inner.handler = Some(Rc::new(handler));
                inner.link = Some(link);
                link.set(if inner.connected { Link::Online } else { Link::Reconnecting });
                inner.topics.keys().cloned().collect()
            };
            for topic in topics {
                client.unsubscribe(topic);
            }
            return client;
        }
        let client = Self::start(link, handler);
        CLIENT.with(|c| *c.borrow_mut() = Some(client.clone()));
        client
    }

    /// The page that attached with `link` is going away: nothing is handed to it any more (its
    /// signals are disposed). The socket stays open for the next page.
    pub fn detach(link: RwSignal<Link>) {
        let Some(client) = Self::current() else { return };
        let mut inner = client.inner.borrow_mut();
        if inner.link == Some(link) {
            inner.link = None;
            inner.handler = None;
        }
    }

    fn start(link: RwSignal<Link>, handler: impl Fn(Incoming) + 'static) -> Self {
        let client = Realtime {
            inner: Rc::new(RefCell::new(Inner {
                socket: None,
                generation: 0,
                connected: false,
                next_id: 1,
                replies: HashMap::new(),
                subscribing: HashMap::new(),
                topics: HashMap::new(),
                attempt: 0,
                last_heard: super::now_ms(),
                ping_ms: 25_000.0,
                connect_id: 0,
                callbacks: Vec::new(),
                handler: Some(Rc::new(handler)),
                link: Some(link),
            })),
        };
        client.watch_network();
        client.open();
        client
    }

    /// Follows a topic until [`Realtime::unsubscribe`]; survives reconnects.
    pub fn subscribe(&self, topic: Topic) {
        let connected = {
            let mut inner = self.inner.borrow_mut();
            if inner.topics.contains_key(&topic) {
                return;
            }
            inner.topics.insert(topic, Subscription::default());
            inner.connected
        };
        if connected {
            self.send_subscribe(topic);
        }
    }

    /// Stops following a topic.
    pub fn unsubscribe(&self, topic: Topic) {
        let connected = {
            let mut inner = self.inner.borrow_mut();
            inner.topics.remove(&topic);
            inner.subscribing.retain(|_, t| *t != topic);
            inner.connected
        };
        if connected {
            let id = self.next_id();
            self.write(&json!({ "id": id, "unsubscribe": { "channel": topic } }));
        }
    }

    /// Calls a server method over the socket. Fails at once when the link is down.
    pub async fn rpc(&self, method: &str, data: Value) -> Result<Value, RpcError> {
        let result = self.request("rpc", json!({ "method": method, "data": data })).await?;
        Ok(result.get("data").cloned().unwrap_or(Value::Null))
    }

    /// The user ids present on a topic (for an inbox: the members online).
    pub async fn present_users(&self, topic: Topic) -> Result<Vec<String>, RpcError> {
        let result = self.request("presence", json!({ "channel": topic })).await?;
        let clients = result.get("presence").and_then(Value::as_object).cloned().unwrap_or_default();
        Ok(clients
            .values()
            .filter_map(|c| c.get("user").and_then(Value::as_str).map(str::to_owned))
            .collect())
    }

    /// Sends one command and waits for the field `kind` of its reply.
    async fn request(&self, kind: &'static str, body: Value) -> Result<Value, RpcError> {
        let (tx, rx) = oneshot::channel();
        {
            let mut inner = self.inner.borrow_mut();
            if !inner.connected {
                return Err(RpcError { code: 0, message: "not connected".into() });
            }
            let id = inner.next_id;
            inner.next_id += 1;
            inner.replies.insert(id, (kind, tx));
            drop(inner);
            self.write(&json!({ "id": id, kind: body }));
        }
        rx.await.unwrap_or_else(|_| Err(RpcError { code: 0, message: "the connection closed".into() }))
    }

    /// Whether commands can go out now.
    pub fn is_connected(&self) -> bool {
        self.inner.borrow().connected
    }

    fn handle(&self, incoming: Incoming) {
        let handler = self.inner.borrow().handler.clone();
        if let Some(handler) = handler {
            handler(incoming);
        }
    }

    fn set_link(&self, state: Link) {
        let link = self.inner.borrow().link;
        if let Some(link) = link {
            link.set(state);
        }
    }

    fn next_id(&self) -> u32 {
        let mut inner = self.inner.borrow_mut();
        let id = inner.next_id;
        inner.next_id += 1;
        id
    }

    fn write(&self, command: &Value) {
        if let Some(socket) = self.inner.borrow().socket.as_ref() {
            let _ = socket.send_with_str(&command.to_string());
        }
    }

    fn send_subscribe(&self, topic: Topic) {
        let id = self.next_id();
        let position = {
            let mut inner = self.inner.borrow_mut();
            inner.subscribing.insert(id, topic);
            inner.topics.get(&topic).and_then(|t| t.position.clone())
        };
        let mut request = json!({ "channel": topic });
        if let Some((offset, epoch)) = position {
            request["recover"] = json!(true);
            request["offset"] = json!(offset);
            request["epoch"] = json!(epoch);
        }
        self.write(&json!({ "id": id, "subscribe": request }));
    }

    fn socket_url() -> Option<String> {
        let location = web_sys::window()?.location();
        let scheme = if location.protocol().ok()? == "https:" { "wss" } else { "ws" };
        Some(format!("{scheme}://{}/connection/websocket", location.host().ok()?))
    }

    /// Opens a new socket (the old one, if any, is abandoned).
    fn open(&self) {
        let Some(url) = Self::socket_url() else { return };
        let generation = {
            let mut inner = self.inner.borrow_mut();
            inner.generation += 1;
            inner.connected = false;
            if let Some(old) = inner.socket.take() {
                abandon(&old);
            }
            inner.generation
        };
        let Ok(socket) = WebSocket::new(&url) else {
            self.dropped(generation);
            return;
        };
        let on_open = {
            let this = self.clone();
            Closure::<dyn FnMut()>::new(move || {
                if this.inner.borrow().generation != generation {
                    return;
                }
                this.inner.borrow_mut().last_heard = super::now_ms();
                // Connect with a token from the API. Should that call fail, the empty token
                // lets the server fall back to the session cookie the upgrade carried.
                let this = this.clone();
                leptos::task::spawn_local(async move {
                    let token = fetch_token().await.unwrap_or_default();
                    if this.inner.borrow().generation != generation {
                        return;
                    }
                    let id = this.next_id();
                    this.inner.borrow_mut().connect_id = id;
                    this.write(
                        &json!({ "id": id, "connect": { "token": token, "name": "switchboard-web" } }),
                    );
                });
            })
        };
        let on_message = {
            let this = self.clone();
            Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
                if this.inner.borrow().generation != generation {
                    return;
                }
                if let Some(text) = event.data().as_string() {
                    this.received(&text);
                }
            })
        };
        let on_close = {
            let this = self.clone();
            Closure::<dyn FnMut(CloseEvent)>::new(move |event: CloseEvent| match after_close(event.code()) {
                AfterClose::Reconnect => this.dropped(generation),
                AfterClose::SignIn => {
                    if let Some(window) = web_sys::window() {
                        let _ = window.location().set_href("/login");
                    }
                }
                AfterClose::Reload => {
                    if let Some(window) = web_sys::window() {
                        let _ = window.location().reload();
                    }
                }
                AfterClose::StayDown => this.set_link(Link::Reconnecting),
            })
        };
        socket.set_onopen(Some(on_open.as_ref().unchecked_ref()));
        socket.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        socket.set_onclose(Some(on_close.as_ref().unchecked_ref()));
        let mut inner = self.inner.borrow_mut();
        inner.socket = Some(socket);
        inner.callbacks.truncate(2); // the window listeners stay; old socket closures go
        inner.callbacks.push(Box::new(on_open));
        inner.callbacks.push(Box::new(on_message));
        inner.callbacks.push(Box::new(on_close));
    }

    /// The socket of `generation` closed or failed: fail what waited on it and try again later.
    fn dropped(&self, generation: u32) {
        let (replies, delay) = {
            let mut inner = self.inner.borrow_mut();
            if inner.generation != generation {
                return;
            }
            inner.generation += 1;
            inner.connected = false;
            inner.subscribing.clear();
            if let Some(old) = inner.socket.take() {
                abandon(&old);
            }
            let delay = backoff_ms(inner.attempt, js_sys::Math::random());
            inner.attempt += 1;
            (std::mem::take(&mut inner.replies), delay)
        };
        for (_, (_, reply)) in replies {
            let _ = reply.send(Err(RpcError { code: 0, message: "the connection closed".into() }));
        }
        self.set_link(Link::Reconnecting);
        let generation = self.inner.borrow().generation;
        let this = self.clone();
        set_timeout(
            move || {
                // Still down and nobody reconnected in between (the `online` event does).
                if this.inner.borrow().generation == generation && !this.inner.borrow().connected {
                    this.open();
                }
            },
            std::time::Duration::from_millis(u64::from(delay)),
        );
    }

    /// Reconnects at once when the browser comes back online, drops the link when it goes
    /// offline, and drops a link the server has been silent on for two ping intervals.
    fn watch_network(&self) {
        let Some(window) = web_sys::window() else { return };
        let on_online = {
            let this = self.clone();
            Closure::<dyn FnMut()>::new(move || {
                this.inner.borrow_mut().attempt = 0;
                if !this.inner.borrow().connected {
                    this.open();
                }
            })
        };
        let on_offline = {
            let this = self.clone();
            Closure::<dyn FnMut()>::new(move || {
                let generation = this.inner.borrow().generation;
                this.dropped(generation);
            })
        };
        let _ = window.add_event_listener_with_callback("online", on_online.as_ref().unchecked_ref());
        let _ = window.add_event_listener_with_callback("offline", on_offline.as_ref().unchecked_ref());
        {
            let mut inner = self.inner.borrow_mut();
            inner.callbacks.push(Box::new(on_online));
            inner.callbacks.push(Box::new(on_offline));
        }
        let this = self.clone();
        let _ = set_interval_with_handle(
            move || {
                let (silent, generation) = {
                    let inner = this.inner.borrow();
                    (
                        inner.connected && super::now_ms() - inner.last_heard > 2.0 * inner.ping_ms + 5_000.0,
                        inner.generation,
                    )
                };
                if silent {
                    this.dropped(generation);
                }
            },
            std::time::Duration::from_secs(5),
        );
    }

    fn received(&self, frame: &str) {
        self.inner.borrow_mut().last_heard = super::now_ms();
        for line in frame.split('\n').filter(|l| !l.trim().is_empty()) {
            let Ok(reply) = serde_json::from_str::<Value>(line) else { continue };
            self.dispatch(reply);
        }
    }

    fn dispatch(&self, reply: Value) {
        let Some(object) = reply.as_object() else { return };
        if object.is_empty() {
            // The server's ping: answer with a pong.
            self.write(&json!({}));
            return;
        }
        if let Some(push) = object.get("push") {
            // Parsed once here: a push on a name that is not one of our topics is not ours.
            let topic = push.get("channel").and_then(Value::as_str).and_then(|name| name.parse().ok());
            if let (Some(topic), Some(publication)) = (topic, push.get("pub")) {
                self.publication(topic, publication);
            }
            return;
        }
        let id = object.get("id").and_then(Value::as_u64).unwrap_or(0) as u32;
        let error = object.get("error").map(|e| RpcError {
            code: e.get("code").and_then(Value::as_u64).unwrap_or(0) as u32,
            message: e.get("message").and_then(Value::as_str).unwrap_or_default().to_owned(),
        });
        if let Some(connect) = object.get("connect") {
            self.connected(connect);
            return;
        }
        let subscribing = self.inner.borrow_mut().subscribing.remove(&id);
        if let Some(topic) = subscribing {
            match (error, object.get("subscribe")) {
                (None, Some(result)) => self.subscribed(topic, result),
                (Some(e), _) if e.code == 103 => {
                    self.inner.borrow_mut().topics.remove(&topic);
                    self.handle(Incoming::Refused { topic });
                }
                (Some(e), _) => leptos::logging::warn!("subscribe {topic} refused: {}", e.message),
                _ => {}
            }
            return;
        }
        let waiting = self.inner.borrow_mut().replies.remove(&id);
        if let Some((kind, reply)) = waiting {
            let result = match error {
                Some(e) => Err(e),
                None => Ok(object.get(kind).cloned().unwrap_or(Value::Null)),
            };
            let _ = reply.send(result);
            return;
        }
        // The connect itself was refused: the session is gone.
        let connect_id = self.inner.borrow().connect_id;
        if error.is_some_and(|e| id == connect_id || e.code == 101)
            && let Some(window) = web_sys::window()
        {
            let _ = window.location().set_href("/login");
        }
    }

    /// A token connection expires: refresh it with a new token a minute before (or halfway).
    fn schedule_refresh(&self, result: &Value) {
        if !result.get("expires").and_then(Value::as_bool).unwrap_or(false) {
            return;
        }
        let ttl = result.get("ttl").and_then(Value::as_u64).unwrap_or(0);
        if ttl == 0 {
            return;
        }
        let generation = self.inner.borrow().generation;
        let this = self.clone();
        let wait = ttl.saturating_sub(60).max(ttl / 2);
        set_timeout(
            move || {
                leptos::task::spawn_local(async move {
                    if this.inner.borrow().generation != generation {
                        return;
                    }
                    let Some(token) = fetch_token().await else { return };
                    // A failed refresh lets the server close the link at expiry; the
                    // reconnect then starts over with a fresh token.
                    if let Ok(result) = this.request("refresh", json!({ "token": token })).await {
                        this.schedule_refresh(&result);
                    }
                });
            },
            std::time::Duration::from_secs(wait),
        );
    }

    fn connected(&self, result: &Value) {
        self.schedule_refresh(result);
        let topics: Vec<Topic> = {
            let mut inner = self.inner.borrow_mut();
            inner.connected = true;
            inner.attempt = 0;
            if let Some(ping) = result.get("ping").and_then(Value::as_f64).filter(|p| *p > 0.0) {
                inner.ping_ms = ping * 1000.0;
            }
            inner.topics.keys().cloned().collect()
        };
        for &topic in &topics {
            self.send_subscribe(topic);
        }
        if topics.is_empty() {
            self.set_link(Link::Online);
        }
    }

    fn subscribed(&self, topic: Topic, result: &Value) {
        let recovered = result.get("recovered").and_then(Value::as_bool).unwrap_or(false);
        let epoch = result.get("epoch").and_then(Value::as_str).unwrap_or_default().to_owned();
        let offset = result.get("offset").and_then(Value::as_u64).unwrap_or(0);
        {
            let mut inner = self.inner.borrow_mut();
            let Some(state) = inner.topics.get_mut(&topic) else { return };
            let keep = recovered && state.position.as_ref().is_some_and(|(_, e)| *e == epoch);
            if !keep {
                state.position = Some((offset, epoch));
            }
        }
        self.handle(Incoming::Subscribed { topic, recovered });
        if let Some(publications) = result.get("publications").and_then(Value::as_array) {
            for publication in publications {
                self.publication(topic, publication);
            }
        }
        let settled = self.inner.borrow().subscribing.is_empty();
        if settled {
            self.set_link(Link::Online);
        }
    }

    fn publication(&self, topic: Topic, publication: &Value) {
        let offset = publication.get("offset").and_then(Value::as_u64);
        if let Some(offset) = offset {
            let mut inner = self.inner.borrow_mut();
            let Some(state) = inner.topics.get_mut(&topic) else { return };
            match &mut state.position {
                // Already seen (a recovered publication that also arrived live).
                Some((seen, _)) if offset <= *seen => return,
                Some((seen, _)) => *seen = offset,
                None => {}
            }
        }
        let Some(data) = publication.get("data") else { return };
        match EventBody::deserialize(data) {
            Ok(body) => self.handle(Incoming::Event { topic, offset, body: Box::new(body) }),
            // A kind this build does not know (a newer server): skipped, the rest still applies.
            Err(e) => leptos::logging::debug_warn!("ignored a publication on {topic}: {e}"),
        }
    }
}

/// A fresh realtime token from the API (`GET /api/v1/realtime/token`).
async fn fetch_token() -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Token {
        token: String,
    }
    super::http::get::<Token>("/realtime/token").await.ok().map(|t| t.token)
}

/// Closes a socket the client no longer uses, so its callbacks (about to be dropped) never run.
/// What the app does when the server closes the link with `code` (docs/realtime.md lists them).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum AfterClose {
    /// 3000–3499, 4000–4499 and anything not the server's: reconnect and recover.
    Reconnect,
    /// The session is gone (invalid token, signed out, revoked, password changed, key revoked,
    /// user deactivated): sign in again rather than retry with dead credentials.
    SignIn,
    /// Removed from a workspace: load the page again with the rights left.
    Reload,
    /// Any other "do not reconnect" code: stay down (retrying cannot help).
    StayDown,
}

fn after_close(code: u16) -> AfterClose {
    match code {
        3500 | 3501 | 4500..=4502 | 4504 | 4505 => AfterClose::SignIn,
        4503 => AfterClose::Reload,
        3502..=3999 | 4506..=4999 => AfterClose::StayDown,
        _ => AfterClose::Reconnect,
    }
}

fn abandon(socket: &WebSocket) {
    socket.set_onopen(None);
    socket.set_onmessage(None);
    socket.set_onclose(None);
    let _ = socket.close();
}

#[cfg(test)]
mod tests {
    use super::{AfterClose, after_close, backoff_ms};

    #[test]
    fn dead_credentials_are_never_retried() {
        for code in [3500, 4500, 4501, 4502, 4504, 4505] {
            assert_eq!(after_close(code), AfterClose::SignIn, "{code}");
        }
        assert_eq!(after_close(4503), AfterClose::Reload);
        assert_eq!(after_close(4506), AfterClose::StayDown);
        assert_eq!(after_close(1009), AfterClose::Reconnect);
        for code in [1006, 3004, 3008, 3012, 4000] {
            assert_eq!(after_close(code), AfterClose::Reconnect, "{code}");
        }
    }

    #[test]
    fn backoff_doubles_up_to_a_cap_with_jitter() {
        assert_eq!(backoff_ms(0, 0.5), 500);
        assert_eq!(backoff_ms(1, 0.5), 1000);
        assert_eq!(backoff_ms(3, 0.5), 4000);
        assert_eq!(backoff_ms(10, 0.5), 15_000);
        assert_eq!(backoff_ms(0, 0.0), 250);
        assert_eq!(backoff_ms(0, 1.0), 750);
        assert!(backoff_ms(40, 1.0) <= 22_500);
    }
}
