//! The Switchboard server: configuration, stores, services, HTTP and the Leptos SSR host.
//!
//! `main.rs` is a thin shim over [`run`]; tests build the app with [`http::router`] and drive
//! it without a socket.

pub mod access;
pub mod config;
pub mod crypto;
pub mod fakes;
pub mod http;
pub mod media;
pub mod metrics;
pub mod providers;
pub mod qr;
pub mod realtime;
pub mod runtime;
pub mod secret;
pub mod services;
pub mod store;
pub mod supervise;
pub mod telemetry;
pub mod webpush;

mod serve;

use std::sync::Arc;

use anyhow::Context;
use config::{Cli, Command, CommonArgs, UserCommand};
pub use serve::{build_state, serve};
use services::provision::{self, UserSpec};
use store::StoreOptions;

/// Runs the command the CLI names (serve when none).
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        None => serve(cli.serve).await,
        Some(Command::Serve(args)) => serve(args).await,
        Some(Command::Migrate(common)) => {
            telemetry::init(common.log_format);
            open_store(&common).await?;
            println!("Migrations applied to {}", store::redact_url(&common.database_url()));
            Ok(())
        }
        Some(Command::User(UserCommand::Create(args))) => {
            telemetry::init(args.common.log_format);
            let store = open_store(&args.common).await?;
            let spec = UserSpec {
                email: args.email,
                password: args.password,
                name: args.name,
                workspace: args.workspace,
                role: args.role,
            };
            let done = provision::ensure_user(store.as_ref(), &spec).await?;
            let verb = if done.created_user { "Created user" } else { "User exists:" };
            let ws = if done.created_workspace { " (new workspace)" } else { "" };
            println!("{verb} {} — {} of \"{}\"{ws}", done.user.email, done.role, done.workspace.name);
            Ok(())
        }
    }
}

/// Opens the configured database (creating the data dir for SQLite) and migrates it, for a
/// command that publishes no events.
pub async fn open_store(common: &CommonArgs) -> anyhow::Result<Arc<dyn switchboard::Store>> {
    open_store_with(common, Arc::new(switchboard::store::NoBroker)).await
}

/// [`open_store`], publishing the events each write commits to `broker`.
pub async fn open_store_with(
    common: &CommonArgs,
    broker: Arc<dyn switchboard::store::Broker>,
) -> anyhow::Result<Arc<dyn switchboard::Store>> {
    let url = common.database_url();
    if url.starts_with("sqlite:") {
        std::fs::create_dir_all(&common.data_dir)
            .with_context(|| format!("cannot create the data dir {}", common.data_dir.display()))?;
    }
    let mut options = StoreOptions::new(url.clone()).with_broker(broker);
    options.max_connections = common.pool_size(&url);
    options.sqlite_sync = common.sqlite_sync;
    store::open(&options)
        .await
        .with_context(|| format!("cannot open the database {}", store::redact_url(&url)))
}
