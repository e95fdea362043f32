//! The browser side of the app: the REST API over `fetch` and the realtime WebSocket client.
//! Everything here runs only after hydration (from effects and event handlers); it compiles on
//! the server too, where it is never called.

pub mod http;
pub mod realtime;
pub mod upload;

/// Milliseconds since the epoch, from the browser's clock.
pub fn now_ms() -> f64 {
    js_sys::Date::now()
}

/// The page's `localStorage`, when the browser allows it.
pub fn local_storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok().flatten()
}
