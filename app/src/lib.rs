//! Switchboard's UI: Leptos pages rendered on the server and hydrated in the browser.
//!
//! Server functions (in [`api`]) are thin: they take the engine's ports from context (provided
//! by the server during SSR) and call them. Nothing here touches the database.

use leptos::prelude::*;
use leptos_meta::{MetaTags, Title, provide_meta_context};
use leptos_router::components::{Redirect, Route, Router, Routes};
use leptos_router::path;

pub mod api;
pub mod client;
pub mod inbox;
mod pages;

/// Where the page finds the built bundle: the URL paths of the wasm-bindgen JS, the WASM
/// module and the stylesheet. The server knows them (embedded in a release binary, or found in
/// the site on disk); their names carry a content hash so browsers may cache them for good.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Bundle {
    pub js: String,
    pub wasm: String,
    pub css: String,
}

/// The HTML document around the app, rendered on the server.
pub fn shell(options: LeptosOptions, bundle: Bundle) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <meta name="color-scheme" content="light dark" />
                <link rel="icon" href="/favicon.svg" type="image/svg+xml" />
                // `id="leptos"`: `cargo leptos watch` swaps the stylesheet with this id live.
                <link rel="stylesheet" id="leptos" href=bundle.css.clone() />
                <AutoReload options />
                <BundleScripts bundle />
                <MetaTags />
            </head>
            <body>
                <App />
            </body>
        </html>
    }
}

/// Loads the bundle and hydrates the page: what Leptos' `HydrationScripts` does, with the
/// file names given instead of read from a `hash.txt` beside the executable at run time (a
/// binary copied alone has none).
#[component]
fn BundleScripts(bundle: Bundle) -> impl IntoView {
    let nonce = leptos::nonce::use_nonce();
    let script = format!(
        "import({js:?}).then(m => m.default({{module_or_path: {wasm:?}}}).then(() => m.hydrate()));",
        js = bundle.js,
        wasm = bundle.wasm,
    );
    view! {
        <link rel="modulepreload" href=bundle.js />
        <link rel="preload" href=bundle.wasm r#as="fetch" r#type="application/wasm" crossorigin="" />
        <script type="module" nonce=nonce>
            {script}
        </script>
    }
}

/// The root component: routes to the sign-in page and the inbox.
#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    // Effects run only in the browser: mark the page interactive once hydrated (the end-to-end
    // tests wait for it before typing, and CSS could use it to reveal JS-only controls).
    Effect::new(|_| {
        if let Some(body) = document().body() {
            let _ = body.set_attribute("data-hydrated", "true");
        }
    });
    view! {
        <Title formatter=|page: String| {
            if page.is_empty() { "Switchboard".to_owned() } else { format!("{page} · Switchboard") }
        } />
        <Router>
            <Routes fallback=pages::NotFound>
                <Route path=path!("/") view=|| view! { <Redirect path="/inbox" /> } />
                <Route path=path!("/login") view=pages::login::LoginPage />
                <Route path=path!("/invite/:token") view=pages::invite::InvitePage />
                <Route path=path!("/inbox") view=pages::inbox::InboxPage />
                <Route path=path!("/admin") view=pages::admin::AdminPage />
                <Route path=path!("/moderation") view=pages::moderation::ModerationPage />
                <Route path=path!("/contacts") view=pages::contacts::ContactsPage />
                <Route path=path!("/account") view=pages::account::AccountPage />
                <Route path=path!("/flows") view=pages::flows::FlowsPage />
                <Route path=path!("/bot-sessions") view=pages::bot_sessions::BotSessionsPage />
                <Route path=path!("/bot-sessions/:id") view=pages::bot_sessions::BotSessionPage />
                <Route path=path!("/channels/:id/auth") view=pages::channel_auth::ChannelAuthPage />
            </Routes>
        </Router>
    }
}
