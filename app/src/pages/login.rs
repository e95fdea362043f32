//! The sign-in page. Works before hydration too: the form posts to the server function and the
//! server answers with a redirect.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_navigate;

use crate::api::{Login, error_text};

/// Email and password form; shows the server's refusal in words.
#[component]
pub fn LoginPage() -> impl IntoView {
    let login = ServerAction::<Login>::new();
    let error = move || login.value().get().and_then(|result| result.err()).map(|e| error_text(&e));
    // The server answers a successful sign-in with a redirect; follow it here as well in case
    // the redirect hook is not installed (a full navigation also re-renders with the cookie).
    let navigate = use_navigate();
    let password = NodeRef::<leptos::html::Input>::new();
    Effect::new(move |_| {
        match login.value().get() {
            Some(Ok(())) => navigate("/inbox", Default::default()),
            // Refused: back to the password, to try again (the alert is read out).
            Some(Err(_)) => {
                if let Some(input) = password.get_untracked() {
                    let _ = input.focus();
                    input.select();
                }
            }
            None => {}
        }
    });

    view! {
        <Title text="Sign in" />
        <main class="center-page">
            <div class="card login-card">
                <div class="brand">
                    <span class="brand-mark" aria-hidden="true">"◆"</span>
                    " Switchboard"
                </div>
                <h1>"Sign in"</h1>
                <ActionForm action=login>
                    <div class="stack">
                        <label class="field">
                            <span>"Email"</span>
                            <input type="email" name="email" autocomplete="username" required autofocus />
                        </label>
                        <label class="field">
                            <span>"Password"</span>
                            <input type="password" name="password" autocomplete="current-password" required node_ref=password />
                        </label>
                        <Show when=move || error().is_some()>
                            <p class="form-error" role="alert" data-testid="login-error">{error}</p>
                        </Show>
                        <button type="submit" class="primary" disabled=move || login.pending().get()>
                            {move || if login.pending().get() { "Signing in…" } else { "Sign in" }}
                        </button>
                    </div>
                </ActionForm>
            </div>
        </main>
    }
}
