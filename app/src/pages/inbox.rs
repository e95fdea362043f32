//! The inbox: channel rail, conversation list and conversation pane. For now the panes show
//! their empty states; channels and conversations arrive with the providers and messaging work.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::Redirect;
use leptos_router::hooks::use_navigate;
use switchboard::Me;

use crate::api::{Logout, current_user};

/// Loads the signed-in user; anyone else is sent to the sign-in page.
#[component]
pub fn InboxPage() -> impl IntoView {
    let me = Resource::new(|| (), |_| current_user());
    view! {
        <Title text="Inbox" />
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match me.await {
                    Ok(me) => view! { <InboxShell me /> }.into_any(),
                    Err(_) => view! { <Redirect path="/login" /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

/// The three panes and the top bar with the user's name and sign-out.
#[component]
fn InboxShell(me: Me) -> impl IntoView {
    let logout = ServerAction::<Logout>::new();
    // The server answers with a redirect; follow it here too, like the sign-in page does.
    let navigate = use_navigate();
    Effect::new(move |_| {
        if let Some(Ok(())) = logout.value().get() {
            navigate("/login", Default::default());
        }
    });
    let workspace = me.workspaces.first().map(|m| m.workspace.name.clone()).unwrap_or_default();
    let role = me.workspaces.first().map(|m| m.role.as_str()).unwrap_or("");
    view! {
        <div class="app">
            <header class="topbar">
                <div class="brand">
                    <span class="brand-mark" aria-hidden="true">"◆"</span>
                    " Switchboard"
                </div>
                <div class="workspace-name" data-testid="workspace-name">{workspace}</div>
                <div class="user">
                    <span class="user-name" data-testid="user-name">{me.user.name.clone()}</span>
                    <span class="role-badge">{role}</span>
                    <ActionForm action=logout>
                        <button type="submit" class="link-button">"Sign out"</button>
                    </ActionForm>
                </div>
            </header>
            <div class="inbox">
                <nav class="pane channel-rail" aria-label="Channels">
                    <h2>"Channels"</h2>
                    <p class="empty">"No channels connected yet."</p>
                </nav>
                <section class="pane conversation-list" aria-label="Conversations">
                    <h2>"Conversations"</h2>
                    <p class="empty">"No conversations yet."</p>
                </section>
                <section class="pane conversation" aria-label="Conversation">
                    <p class="empty">"Select a conversation to start."</p>
                </section>
            </div>
        </div>
    }
}
