//! Creating workspaces, users and memberships: shared by `switchboard user create` and the
//! demo seed. Idempotent, so running either twice changes nothing.

use switchboard::store::{NewUser, StoreError};
use switchboard::validate::{self, Email, ValidationError};
use switchboard::{MemberRole, Store, User, UserId, Workspace, WorkspaceId};

use super::accounts::hash_password;

/// What to provision.
#[derive(Clone, Debug)]
pub struct UserSpec {
    pub email: String,
    pub password: String,
    /// Display name; defaults to the part of the email before `@`.
    pub name: Option<String>,
    pub workspace: String,
    pub role: MemberRole,
}

/// What provisioning did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Provisioned {
    pub user: User,
    pub workspace: Workspace,
    pub role: MemberRole,
    pub created_user: bool,
    pub created_workspace: bool,
}

/// Why provisioning failed.
#[derive(Debug, thiserror::Error)]
pub enum ProvisionError {
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("password hashing failed: {0}")]
    Hash(String),
    #[error(transparent)]
    Service(#[from] super::ServiceError),
}

/// Gets or creates the workspace by name.
pub async fn ensure_workspace(store: &dyn Store, name: &str) -> Result<(Workspace, bool), ProvisionError> {
    let name = validate::name("workspace", name)?;
    if let Some(found) = store.workspace_by_name(&name).await? {
        return Ok((found, false));
    }
    let workspace =
        Workspace { id: WorkspaceId::new(), name: name.clone(), created_at: switchboard::time::now() };
    match store.create_workspace(workspace).await {
        Ok(created) => Ok((created, true)),
        // Lost a race with another provisioner: take theirs.
        Err(StoreError::Conflict { .. }) => {
            Ok((store.workspace_by_name(&name).await?.ok_or(StoreError::NotFound)?, false))
        }
        Err(e) => Err(e.into()),
    }
}

/// Creates the workspace and the user when missing and sets the user's role in it. An
/// existing user keeps their password and name.
pub async fn ensure_user(store: &dyn Store, spec: &UserSpec) -> Result<Provisioned, ProvisionError> {
    let email = Email::parse(&spec.email)?;
    let (workspace, created_workspace) = ensure_workspace(store, &spec.workspace).await?;
    let (user, created_user) = match store.user_by_email(&email).await? {
        Some(user) => (user, false),
        None => {
            let default_name = email.as_str().split('@').next().unwrap_or_default().to_owned();
            let name = validate::name("name", spec.name.as_deref().unwrap_or(&default_name))?;
            create_account(store, &email, name, &spec.password).await?
        }
    };
    store.put_member(workspace.id, user.id, spec.role, switchboard::time::now()).await?;
    Ok(Provisioned { user, workspace, role: spec.role, created_user, created_workspace })
}

/// Creates an account (the password checked and hashed). Answers `true` with the new user, or
/// `false` with the account someone else created for this email meanwhile.
pub async fn create_account(
    store: &dyn Store,
    email: &Email,
    name: String,
    password: &str,
) -> Result<(User, bool), ProvisionError> {
    validate::new_password(password)?;
    let password_hash = hash_password(password).await.map_err(|e| ProvisionError::Hash(e.to_string()))?;
    let new = NewUser {
        id: UserId::new(),
        email: email.clone(),
        name,
        password_hash,
        created_at: switchboard::time::now(),
    };
    match store.create_user(new).await {
        Ok(user) => Ok((user, true)),
        Err(StoreError::Conflict { .. }) => {
            Ok((store.user_by_email(email).await?.ok_or(StoreError::NotFound)?, false))
        }
        Err(e) => Err(e.into()),
    }
}

/// The demo workspace's name.
pub const DEMO_WORKSPACE: &str = "Acme Support";
/// The demo users' password.
pub const DEMO_PASSWORD: &str = "demo-password";
/// The demo users: email, name, role.
pub const DEMO_USERS: [(&str, &str, MemberRole); 2] = [
    ("alice@example.com", "Alice Martin", MemberRole::Owner),
    ("bob@example.com", "Bob Chen", MemberRole::Agent),
];

/// Seeds the demo workspace and its users (idempotent).
pub async fn seed_demo(store: &dyn Store) -> Result<Vec<Provisioned>, ProvisionError> {
    let mut out = Vec::new();
    for (email, name, role) in DEMO_USERS {
        let spec = UserSpec {
            email: email.to_owned(),
            password: DEMO_PASSWORD.to_owned(),
            name: Some(name.to_owned()),
            workspace: DEMO_WORKSPACE.to_owned(),
            role,
        };
        out.push(ensure_user(store, &spec).await?);
    }
    Ok(out)
}

/// The demo's Mock channel.
pub const DEMO_CHANNEL: &str = "Mock WhatsApp";

/// Seeds one connected Mock channel in the demo workspace (idempotent): signed in with a
/// demo token, five contacts, their history served by the Mock network.
pub async fn seed_demo_channel(
    store: &dyn Store,
    channels: &super::ChannelService,
) -> Result<switchboard::Channel, ProvisionError> {
    let (workspace, _) = ensure_workspace(store, DEMO_WORKSPACE).await?;
    if let Some(found) = store.channels(workspace.id).await?.into_iter().find(|c| c.name == DEMO_CHANNEL) {
        seed_demo_conversations(store, channels, &found).await?;
        return Ok(found);
    }
    let now = switchboard::time::now();
    let channel = switchboard::Channel {
        id: switchboard::ChannelId::new(),
        workspace_id: workspace.id,
        provider: switchboard::ProviderKind::Mock,
        name: DEMO_CHANNEL.to_owned(),
        status: switchboard::ChannelStatus::Connected,
        config: serde_json::json!({ "contacts": 5 }),
        last_error: None,
        created_at: now,
        updated_at: now,
        webhook: None,
        history_import: None,
    };
    let channel = store.create_channel(channel).await?;
    channels
        .set_credentials(
            workspace.id,
            channel.id,
            &serde_json::json!({ "token": "mock_demo0000000000000000000000" }),
        )
        .await?;
    seed_demo_conversations(store, channels, &channel).await?;
    Ok(channel)
}

/// What the demo's contacts open their conversations with.
const DEMO_OPENERS: [&str; 5] = [
    "Hi! My order #1042 hasn't arrived yet, can you check?",
    "Do you ship to Canada?",
    "The app logs me out every time I close it.",
    "Can I change the delivery address on my order?",
    "Thanks for the quick help yesterday!",
];

/// One opening message from each of the demo channel's contacts, so the demo inbox has
/// conversations from the start. Idempotent: each has a fixed network id.
async fn seed_demo_conversations(
    store: &dyn Store,
    channels: &super::ChannelService,
    channel: &switchboard::Channel,
) -> Result<(), ProvisionError> {
    let Some(provider) = channels.providers().get(channel.provider) else { return Ok(()) };
    let contacts = provider.list_contacts(channel).await.unwrap_or_default();
    for (n, contact) in contacts.into_iter().enumerate() {
        let message = switchboard::provider::ProviderMessage {
            external_id: format!("demo-opener-{}", contact.external_id),
            contact_id: contact.external_id.clone(),
            direction: switchboard::provider::Direction::Inbound,
            text: DEMO_OPENERS[n % DEMO_OPENERS.len()].to_owned(),
            sent_at: switchboard::time::now(),
            media: Vec::new(),
            reply_to: None,
            sender_name: None,
        };
        super::inbound::ingest(store, channel, contact, message)
            .await
            .map_err(|e| ProvisionError::Store(StoreError::Internal(e.to_string())))?;
    }
    Ok(())
}
