//! The caller's own account: change the password, see the sessions signed in, revoke one, sign
//! out everywhere. Each of these closes the affected realtime connections on the server at once.
//! Below them, what the user is notified of (`notifications.rs`), and the workspace's canned
//! replies, which every agent may keep (`canned.rs`).

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::Redirect;
use leptos_router::hooks::use_navigate;
use switchboard::Me;
use switchboard::account::SessionInfo;

use super::inbox::TopBar;
use crate::api::{ChangePassword, RevokeSession, SignOutEverywhere, current_user, error_text, my_sessions};

#[component]
pub fn AccountPage() -> impl IntoView {
    let me = Resource::new(|| (), |_| current_user());
    view! {
        <Title text="Account" />
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match me.await {
                    Ok(me) => view! { <AccountShell me /> }.into_any(),
                    Err(_) => view! { <Redirect path="/login" /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn AccountShell(me: Me) -> impl IntoView {
    // The canned replies are the workspace's: the one the inbox acts in.
    crate::client::http::act_in(me.current_or_first().map(|m| m.workspace.id));
    view! {
        <TopBar me=me.clone() />
        <main class="account-page">
            <h1>"Your account"</h1>
            <p class="muted">{format!("{} · {}", me.user.name, me.user.email)}</p>
            <PasswordSection />
            <SessionsSection />
            <super::notifications::NotificationSettingsSection />
            <super::canned::CannedReplies />
        </main>
    }
}

/// Change the password; the other sessions are signed out.
#[component]
fn PasswordSection() -> impl IntoView {
    let change = ServerAction::<ChangePassword>::new();
    let outcome = move || change.value().get();
    view! {
        <section class="card account-section">
            <h2>"Password"</h2>
            <ActionForm action=change>
                <div class="stack">
                    <label class="field">
                        <span>"Current password"</span>
                        <input type="password" name="current_password" autocomplete="current-password" required />
                    </label>
                    <label class="field">
                        <span>"New password"</span>
                        <input type="password" name="new_password" autocomplete="new-password" required />
                    </label>
                    {move || match outcome() {
                        Some(Ok(())) => view! {
                            <p class="form-ok" role="status" data-testid="password-changed">
                                "Password changed. Your other sessions were signed out."
                            </p>
                        }.into_any(),
                        Some(Err(e)) => view! {
                            <p class="form-error" role="alert">{error_text(&e)}</p>
                        }.into_any(),
                        None => ().into_any(),
                    }}
                    <button type="submit" class="primary" disabled=move || change.pending().get()>
                        "Change password"
                    </button>
                </div>
            </ActionForm>
        </section>
    }
}

/// The sessions signed in, with revoke, and sign out everywhere.
#[component]
fn SessionsSection() -> impl IntoView {
    let revoke = ServerAction::<RevokeSession>::new();
    let everywhere = ServerAction::<SignOutEverywhere>::new();
    // Reloaded after each revoke.
    let sessions = Resource::new(move || revoke.version().get(), |_| my_sessions());
    let navigate = use_navigate();
    Effect::new(move |_| {
        if let Some(Ok(())) = everywhere.value().get() {
            navigate("/login", Default::default());
        }
    });
    let error = move || revoke.value().get().and_then(Result::err).map(|e| error_text(&e));
    view! {
        <section class="card account-section">
            <h2>"Sessions"</h2>
            <p class="muted">"Where you are signed in. Revoking one signs it out at once."</p>
            <Show when=move || error().is_some()>
                <p class="form-error" role="alert">{error}</p>
            </Show>
            <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match sessions.await {
                        Ok(list) => view! {
                            <ul class="session-list" data-testid="sessions">
                                {list.into_iter().map(|s| view! { <SessionRow session=s revoke /> }).collect_view()}
                            </ul>
                        }.into_any(),
                        Err(e) => view! { <p class="form-error">{error_text(&e)}</p> }.into_any(),
                    }
                })}
            </Suspense>
            <ActionForm action=everywhere>
                <button type="submit" class="danger">"Sign out everywhere"</button>
            </ActionForm>
        </section>
    }
}

#[component]
fn SessionRow(session: SessionInfo, revoke: ServerAction<RevokeSession>) -> impl IntoView {
    let id = session.id;
    let signed_in = session.created_at.format("%Y-%m-%d %H:%M UTC").to_string();
    let until = session.expires_at.format("%Y-%m-%d %H:%M UTC").to_string();
    view! {
        <li class="session-row">
            <span>{format!("Signed in {signed_in}, valid until {until}")}</span>
            {if session.current {
                view! { <span class="badge">"This session"</span> }.into_any()
            } else {
                view! {
                    <button
                        type="button"
                        class="link-button"
                        on:click=move |_| {
                            revoke.dispatch(RevokeSession { id });
                        }
                    >
                        "Revoke"
                    </button>
                }.into_any()
            }}
        </li>
    }
}
