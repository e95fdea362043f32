//! The command line: `switchboard [serve] | migrate | user create`. Every flag also reads an
//! environment variable (shown in `--help`). Parsed once in `main` and passed down.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use switchboard::MemberRole;

pub use crate::store::SqliteSync;

/// Switchboard: a self-hosted multi-channel inbox and chat engine.
#[derive(Debug, Parser)]
#[command(name = "switchboard", version, args_conflicts_with_subcommands = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Options of `serve`, which runs when no subcommand is given.
    #[command(flatten)]
    pub serve: ServeArgs,
}

// Parsed once at start: the size of the serve variant costs nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server (the default).
    Serve(ServeArgs),
    /// Apply pending database migrations and exit.
    Migrate(CommonArgs),
    /// Manage user accounts.
    #[command(subcommand)]
    User(UserCommand),
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a user (and the workspace, when it does not exist) and give them a role there.
    /// An existing user keeps their password and is given the role.
    Create(UserCreateArgs),
}

/// Options every subcommand shares: the database, the data dir and logging.
#[derive(Debug, Clone, Args)]
pub struct CommonArgs {
    /// Database URL: `sqlite://PATH` or `postgres://USER@HOST/DB`. Default: SQLite at
    /// DATA_DIR/switchboard.db.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,
    /// Directory for the SQLite database and the generated secret key.
    #[arg(long, env = "SWITCHBOARD_DATA_DIR", default_value = "./data")]
    pub data_dir: PathBuf,
    /// Largest number of pooled database connections (1–1000). Default: on PostgreSQL 10; on
    /// SQLite twice the machine's cores, from 2 to 10 (reading connections; writes have one
    /// of their own).
    #[arg(long, env = "SWITCHBOARD_DB_MAX_CONNECTIONS",
          value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub db_max_connections: Option<u32>,
    /// When a SQLite commit reaches the disk. `normal` (the default): an acknowledged write
    /// survives the process being killed; a power loss or an operating-system crash may take
    /// back the last commits before the write-ahead log was last synced (the database stays
    /// whole). `full`: every commit is synced before it is acknowledged, so it survives a power
    /// loss too, for one `fsync` per write group. PostgreSQL follows its own
    /// `synchronous_commit`.
    #[arg(long, env = "SWITCHBOARD_SQLITE_SYNC", value_enum, default_value_t = SqliteSync::Normal)]
    pub sqlite_sync: SqliteSync,
    /// Log format: human-readable text or one JSON object per line.
    #[arg(long, env = "SWITCHBOARD_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
}

impl CommonArgs {
    /// The configured URL, or the default SQLite file in the data dir.
    pub fn database_url(&self) -> String {
        match &self.database_url {
            Some(url) if !url.trim().is_empty() => url.trim().to_owned(),
            _ => format!("sqlite://{}", self.data_dir.join("switchboard.db").display()),
        }
    }

    /// The pool size asked for, or [`default_pool_size`] for the database.
    pub fn pool_size(&self, url: &str) -> u32 {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        self.db_max_connections.unwrap_or_else(|| default_pool_size(url, cores))
    }
}

/// Pooled connections when none is asked for. PostgreSQL: 10. SQLite: twice the cores, from
/// 2 to 10. Each SQLite connection is a thread of sqlx's with its own page cache, and a read of
/// a cached file is CPU work: more readers than the cores can run only add thread switches (the
/// pool hands its idle connections out in turn, each on a thread that slept). 10,000 sockets
/// connecting cost 309 µs of CPU each with 4 on a 2-core machine, 329–339 µs with 10
/// (docs/performance.md).
pub fn default_pool_size(url: &str, cores: usize) -> u32 {
    if url.starts_with("sqlite:") { (2 * cores).clamp(2, 10) as u32 } else { 10 }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

/// Options of `switchboard serve`.
#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Address to listen on (port 0 picks a free port; the chosen URL is printed).
    #[arg(long, env = "SWITCHBOARD_ADDR", default_value = "127.0.0.1:3000")]
    pub addr: SocketAddr,
    /// The address people and phones reach this server at (pairing links, QR codes).
    /// Default: http://ADDR.
    #[arg(long, env = "SWITCHBOARD_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Other origins (comma separated, e.g. `https://app.example.com`) whose pages may open the
    /// realtime socket with the session cookie, besides the public URL's. Token connects are
    /// open to every origin.
    #[arg(long, env = "SWITCHBOARD_ALLOWED_ORIGINS", value_delimiter = ',')]
    pub allowed_origins: Vec<String>,
    #[command(flatten)]
    pub common: CommonArgs,
    /// Seed the demo workspace "Acme Support" with alice@example.com (owner) and
    /// bob@example.com (agent), password `demo-password` (idempotent).
    #[arg(long, env = "SWITCHBOARD_DEMO")]
    pub demo: bool,
    /// The server secret (64 hex characters). Default: DATA_DIR/secret.key, generated on first
    /// start with mode 0600.
    #[arg(long, env = "SWITCHBOARD_SECRET_KEY", hide_env_values = true)]
    pub secret_key: Option<String>,
    /// Mark the session cookie `Secure` (set when serving over HTTPS).
    #[arg(long, env = "SWITCHBOARD_SECURE_COOKIES")]
    pub secure_cookies: bool,
    /// Take the client address from `X-Forwarded-For` (only behind a proxy you run).
    #[arg(long, env = "SWITCHBOARD_TRUST_PROXY")]
    pub trust_proxy: bool,
    /// A bearer token for `GET /metrics`; without it the metrics answer loopback peers only.
    #[arg(long, env = "SWITCHBOARD_METRICS_TOKEN", hide_env_values = true)]
    pub metrics_token: Option<String>,
    /// Hours a sign-in stays valid (1–8760, a year).
    #[arg(long, env = "SWITCHBOARD_SESSION_HOURS", default_value_t = 168,
          value_parser = clap::value_parser!(u64).range(1..=8760))]
    pub session_hours: u64,
    /// Sign-in attempts allowed per client address per minute (1–100000).
    #[arg(long, env = "SWITCHBOARD_LOGIN_PER_CLIENT_PER_MINUTE", default_value_t = 20,
          value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub login_per_client_per_minute: u32,
    /// Failed sign-in attempts allowed per email per 15 minutes (1–100000).
    #[arg(long, env = "SWITCHBOARD_LOGIN_FAILURES_PER_EMAIL", default_value_t = 10,
          value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub login_failures_per_email: u32,
    /// Directory of the built site (WASM, JS, CSS, assets), as cargo-leptos writes it. Read by
    /// builds that embed no site (debug, plain `cargo build`); a release binary built by
    /// `scripts/release.sh` serves the site it carries and ignores this.
    #[arg(long, env = "LEPTOS_SITE_ROOT", default_value = "target/site")]
    pub site_root: PathBuf,
    /// Seconds to wait for open requests to finish after SIGTERM/SIGINT (0–3600).
    #[arg(long, env = "SWITCHBOARD_SHUTDOWN_GRACE_SECS", default_value_t = 10,
          value_parser = clap::value_parser!(u64).range(0..=3600))]
    pub shutdown_grace_secs: u64,
    /// NATS server for realtime fan-out between several nodes (e.g. nats://127.0.0.1:4222).
    /// Without it, events reach the clients of this node only.
    #[arg(long, env = "SWITCHBOARD_NATS_URL")]
    pub nats_url: Option<String>,
    /// Bus messages waiting to be published to NATS (1–10000000). Past it a committed event
    /// is not dropped: the relay reads it back from the log and publishes it.
    #[arg(long, env = "SWITCHBOARD_NATS_QUEUE", default_value_t = 65_536,
          value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=10_000_000))]
    pub nats_queue: usize,
    /// The NATS subject this cluster's nodes share: two clusters on one NATS server each take
    /// their own (letters, digits, `-`, `_` and `.`-separated tokens; no wildcards).
    #[arg(long, env = "SWITCHBOARD_NATS_SUBJECT", default_value = crate::realtime::NATS_SUBJECT,
          value_parser = parse_nats_subject)]
    pub nats_subject: String,
    /// Seconds between the realtime server's pings (a client silent until the next ping is
    /// disconnected; 1–3600).
    #[arg(long, env = "SWITCHBOARD_PING_SECS", default_value_t = 25,
          value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub ping_secs: u64,
    /// Frames a realtime connection may have queued before it is disconnected as slow
    /// (16–1000000).
    #[arg(long, env = "SWITCHBOARD_REALTIME_QUEUE", default_value_t = 1024,
          value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(16..=1_000_000))]
    pub realtime_queue: usize,
    /// Most missed publications a reconnecting subscriber may recover; further behind, it is
    /// told to refetch (0–1000000).
    #[arg(long, env = "SWITCHBOARD_RECOVERY_LIMIT", default_value_t = 2000,
          value_parser = clap::value_parser!(u32).range(0..=1_000_000))]
    pub recovery_limit: u32,
    /// Messages a user may send per second, sustained, over REST, realtime RPC and the web app
    /// together (1–10000); past it a send answers 429.
    #[arg(long, env = "SWITCHBOARD_SEND_RATE_PER_SEC", default_value_t = 10,
          value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub send_rate_per_sec: u32,
    /// Messages a user may send at once before the per-second rate applies (1–100000).
    #[arg(long, env = "SWITCHBOARD_SEND_BURST", default_value_t = 30,
          value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub send_burst: u32,
    /// Largest upload per file, in bytes (1 KiB – 2 GiB; default 25 MiB).
    #[arg(long, env = "SWITCHBOARD_MAX_UPLOAD_BYTES", default_value_t = 25 * 1024 * 1024,
          value_parser = clap::value_parser!(u64).range(1024..=2 * 1024 * 1024 * 1024))]
    pub max_upload_bytes: u64,
    /// API requests per second per API key (bursts of five seconds' worth); over it, 429.
    #[arg(long, env = "SWITCHBOARD_API_KEY_REQUESTS_PER_SEC", default_value_t = 50,
          value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub api_key_requests_per_sec: u32,
    /// API requests per second per app user (their user tokens; bursts of five seconds' worth).
    #[arg(long, env = "SWITCHBOARD_USER_REQUESTS_PER_SEC", default_value_t = 10,
          value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub user_requests_per_sec: u32,
    /// Let outgoing webhooks and API channels' callbacks reach loopback and private addresses
    /// (endpoints on the operator's own network, or tests). Off: such targets are refused (SSRF guard).
    #[arg(long, env = "SWITCHBOARD_WEBHOOKS_ALLOW_PRIVATE")]
    pub webhooks_allow_private: bool,
    /// Keep attachments in this S3 bucket instead of DATA_DIR/media (with the `--s3-*` settings).
    #[arg(long, env = "SWITCHBOARD_S3_BUCKET")]
    pub s3_bucket: Option<String>,
    /// The S3-compatible endpoint (`http://127.0.0.1:9000`); none: AWS, by region.
    #[arg(long, env = "SWITCHBOARD_S3_ENDPOINT")]
    pub s3_endpoint: Option<String>,
    #[arg(long, env = "SWITCHBOARD_S3_REGION", default_value = "us-east-1")]
    pub s3_region: String,
    #[arg(long, env = "SWITCHBOARD_S3_ACCESS_KEY_ID", default_value = "")]
    pub s3_access_key_id: String,
    /// Write-only: never printed (not even by --help).
    #[arg(
        long,
        env = "SWITCHBOARD_S3_SECRET_ACCESS_KEY",
        default_value = "",
        hide_env_values = true,
        hide_default_value = true
    )]
    pub s3_secret_access_key: Redacted,
    /// Address the bucket as a host name (`bucket.endpoint`) rather than a path.
    #[arg(long, env = "SWITCHBOARD_S3_VIRTUAL_HOSTED_STYLE")]
    pub s3_virtual_hosted_style: bool,
    /// A folder inside the bucket for this server's blobs.
    #[arg(long, env = "SWITCHBOARD_S3_PREFIX", default_value = "switchboard")]
    pub s3_prefix: String,
    /// How long a media link stays valid, in seconds (60 – 7 days).
    #[arg(long, env = "SWITCHBOARD_MEDIA_URL_TTL_SECS", default_value_t = 3600,
          value_parser = clap::value_parser!(u64).range(60..=7 * 24 * 3600))]
    pub media_url_ttl_secs: u64,
    /// Open realtime WebSocket connections this node accepts (1–1000000); past it the upgrade
    /// is refused with 503 and `Retry-After`.
    #[arg(long, env = "SWITCHBOARD_MAX_CONNECTIONS", default_value_t = 20_000,
          value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=1_000_000))]
    pub max_connections: usize,
}

/// Options of `switchboard user create`.
#[derive(Debug, Clone, Args)]
pub struct UserCreateArgs {
    /// The user's email (their sign-in name).
    #[arg(long, env = "SWITCHBOARD_USER_EMAIL")]
    pub email: String,
    /// The user's password (at least 8 characters). Prefer the env var: arguments are visible
    /// to other local users.
    #[arg(long, env = "SWITCHBOARD_USER_PASSWORD", hide_env_values = true)]
    pub password: String,
    /// The workspace's name; created when it does not exist.
    #[arg(long, env = "SWITCHBOARD_USER_WORKSPACE")]
    pub workspace: String,
    /// The user's role in the workspace.
    #[arg(long, env = "SWITCHBOARD_USER_ROLE", default_value = "agent", value_parser = parse_role)]
    pub role: MemberRole,
    /// Display name (default: the part of the email before `@`).
    #[arg(long, env = "SWITCHBOARD_USER_NAME")]
    pub name: Option<String>,
    #[command(flatten)]
    pub common: CommonArgs,
}

fn parse_nats_subject(raw: &str) -> Result<String, String> {
    let token_ok =
        |t: &str| !t.is_empty() && t.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if raw.len() > 200 || !raw.split('.').all(token_ok) {
        return Err("a NATS subject is 1–200 characters of `.`-separated tokens of letters, digits, `-` and `_` (no wildcards)".into());
    }
    Ok(raw.to_owned())
}

fn parse_role(raw: &str) -> Result<MemberRole, String> {
    raw.parse()
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    #[test]
    fn cli_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn sqlite_pools_follow_the_cores_and_postgres_keeps_ten() {
        let sqlite = "sqlite://./data/switchboard.db";
        let sizes: Vec<u32> =
            [1, 2, 4, 5, 64].into_iter().map(|cores| default_pool_size(sqlite, cores)).collect();
        assert_eq!(sizes, [2, 4, 8, 10, 10]);
        assert_eq!(default_pool_size("postgres://db/switchboard", 2), 10);
        let cli = Cli::try_parse_from(["switchboard", "serve", "--db-max-connections", "3"]).unwrap();
        let Some(Command::Serve(args)) = cli.command else { panic!("serve") };
        assert_eq!(args.common.pool_size(sqlite), 3, "an asked size wins");
    }

    #[test]
    fn the_s3_secret_is_never_printed() {
        let cli = Cli::try_parse_from([
            "switchboard",
            "serve",
            "--s3-bucket",
            "b",
            "--s3-secret-access-key",
            "very-secret-value",
        ])
        .unwrap();
        let Some(Command::Serve(args)) = cli.command else { panic!("serve") };
        assert_eq!(args.s3_secret_access_key.0, "very-secret-value");
        assert!(!format!("{args:?}").contains("very-secret-value"));
        let help = Cli::command().find_subcommand_mut("serve").unwrap().render_long_help().to_string();
        assert!(help.contains("--s3-secret-access-key") && !help.contains("very-secret-value"));
    }

    #[test]
    fn a_nats_subject_is_plain_tokens_without_wildcards() {
        let subject = |raw: &str| {
            Cli::try_parse_from(["switchboard", "serve", "--nats-subject", raw]).map(|cli| {
                match cli.command {
                    Some(Command::Serve(args)) => args.nats_subject,
                    _ => unreachable!("serve"),
                }
            })
        };
        assert_eq!(subject("acme.prod-1.bus").unwrap(), "acme.prod-1.bus");
        for bad in ["", "a..b", "a.*", "a.>", "with space", ".lead", "trail.", &"x".repeat(201)] {
            assert!(subject(bad).is_err(), "{bad:?} was accepted");
        }
        let Some(Command::Serve(args)) = Cli::try_parse_from(["switchboard", "serve"]).unwrap().command
        else {
            panic!("serve")
        };
        assert_eq!(args.nats_subject, crate::realtime::NATS_SUBJECT);
    }

    #[test]
    fn no_subcommand_means_serve_with_defaults() {
        let cli = Cli::try_parse_from(["switchboard"]).unwrap();
        assert!(cli.command.is_none());
        assert_eq!(cli.serve.addr.to_string(), "127.0.0.1:3000");
        assert_eq!(cli.serve.common.database_url(), "sqlite://./data/switchboard.db");
    }

    #[test]
    fn numeric_knobs_out_of_their_bounds_are_refused_at_start() {
        for (flag, bad) in [
            ("--session-hours", "0"),
            ("--session-hours", "100000000000000000"),
            ("--ping-secs", "0"),
            ("--realtime-queue", "1"),
            ("--recovery-limit", "99999999"),
            ("--shutdown-grace-secs", "99999999"),
            ("--login-per-client-per-minute", "0"),
        ] {
            let err = Cli::try_parse_from(["switchboard", "serve", flag, bad]).unwrap_err();
            assert_eq!(err.kind(), clap::error::ErrorKind::ValueValidation, "{flag} {bad}");
        }
        let ok = Cli::try_parse_from(["switchboard", "serve", "--session-hours", "8760"]).unwrap();
        assert!(ok.command.is_some());
    }

    #[test]
    fn help_documents_every_flag_with_its_env_var() {
        let mut serve = Cli::command();
        let help = serve.find_subcommand_mut("serve").unwrap().render_long_help().to_string();
        for env in [
            "SWITCHBOARD_ADDR",
            "DATABASE_URL",
            "SWITCHBOARD_DATA_DIR",
            "SWITCHBOARD_DEMO",
            "SWITCHBOARD_LOG_FORMAT",
            "SWITCHBOARD_SECRET_KEY",
        ] {
            assert!(help.contains(env), "serve --help does not mention {env}:\n{help}");
        }
        let mut cli = Cli::command();
        let user = cli.find_subcommand_mut("user").unwrap().find_subcommand_mut("create").unwrap();
        let help = user.render_long_help().to_string();
        for flag in ["--email", "--password", "--workspace", "--role", "--database-url", "DATABASE_URL"] {
            assert!(help.contains(flag), "user create --help does not mention {flag}");
        }
    }

    #[test]
    fn roles_are_checked_at_parse_time() {
        let err = Cli::try_parse_from([
            "switchboard",
            "user",
            "create",
            "--email",
            "a@b.c",
            "--password",
            "p",
            "--workspace",
            "W",
            "--role",
            "root",
        ])
        .unwrap_err();
        assert!(err.to_string().contains("unknown role"), "{err}");
    }
}

/// A setting that is a secret: kept as given, shown as `***` by `Debug`.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Redacted(pub String);

impl std::str::FromStr for Redacted {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Self(s.to_owned()))
    }
}

impl std::fmt::Debug for Redacted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("***")
    }
}
