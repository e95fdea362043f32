//! `switchboard serve`: open the store, seed the demo when asked, listen, and shut down
//! gracefully on SIGTERM/SIGINT.

use std::io::Write;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use leptos::config::LeptosOptions;
use tokio::net::TcpListener;

use crate::config::ServeArgs;
use crate::http::{self, AppState, HttpConfig};
use crate::providers::Providers;
use crate::runtime::RuntimeConfig;
use crate::secret::SecretKey;
use crate::services::provision::{self, DEMO_PASSWORD, DEMO_USERS, DEMO_WORKSPACE};
use crate::services::ratelimit::Quota;
use crate::services::{AccountService, AuthConfig, ChannelService, MessageService};

/// Builds the application state the router runs on (migrating the store on the way).
pub async fn build_state(args: &ServeArgs, public_url: &str) -> anyhow::Result<AppState> {
    // The bus first: the store publishes every event it commits to it, the gateway delivers
    // what it carries, and with NATS it carries them to the other nodes too.
    let bus = crate::realtime::Bus::new();
    let store = crate::open_store_with(&args.common, bus.clone()).await?;
    let secret = SecretKey::load(args.secret_key.as_deref(), &args.common.data_dir)?;
    let auth = AuthConfig {
        session_ttl: Duration::from_secs(args.session_hours.clamp(1, 8760) * 3600),
        secure_cookies: args.secure_cookies,
        per_client: Quota::new(args.login_per_client_per_minute, Duration::from_secs(60)),
        per_email: Quota::new(args.login_failures_per_email, Duration::from_secs(15 * 60)),
        public_url: public_url.to_owned(),
        per_api_key: Quota::per_second(
            args.api_key_requests_per_sec,
            args.api_key_requests_per_sec.saturating_mul(5),
        ),
        per_app_user: Quota::per_second(
            args.user_requests_per_sec,
            args.user_requests_per_sec.saturating_mul(5),
        ),
    };
    let (providers, mock) = Providers::new(public_url);
    let providers =
        providers.with(Arc::new(crate::providers::api::ApiChannel::new(args.webhooks_allow_private)));
    let channels = Arc::new(ChannelService::new(store.clone(), &secret, providers, RuntimeConfig::default()));
    let links = crate::media::MediaLinks::new(&secret, Duration::from_secs(args.media_url_ttl_secs));
    bus.hub().set_media_links(links.clone());
    let blobs: Arc<dyn crate::media::BlobStore> = match &args.s3_bucket {
        Some(bucket) => {
            let config = crate::media::S3Config {
                bucket: bucket.clone(),
                endpoint: args.s3_endpoint.clone(),
                region: args.s3_region.clone(),
                access_key_id: args.s3_access_key_id.clone(),
                secret_access_key: args.s3_secret_access_key.0.clone(),
                virtual_hosted_style: args.s3_virtual_hosted_style,
                prefix: args.s3_prefix.clone(),
            };
            tracing::info!(bucket = %config.bucket, endpoint = ?config.endpoint, "attachments in S3");
            Arc::new(crate::media::S3Blobs::new(&config, args.common.data_dir.join("media-staging"))?)
        }
        None => Arc::new(crate::media::LocalBlobs::open_dir(args.common.data_dir.join("media"))?),
    };
    let media = Arc::new(crate::media::MediaService::new(
        store.clone(),
        blobs,
        links.clone(),
        crate::media::MediaConfig { max_upload_bytes: args.max_upload_bytes },
    ));
    channels.runtimes().set_media(media.clone());
    let messages = Arc::new(
        MessageService::with_send_limit(
            store.clone(),
            Quota::per_second(args.send_rate_per_sec, args.send_burst),
        )
        .with_media_links(links)
        .with_channels(channels.clone()),
    );
    if let Some(url) = &args.nats_url {
        let options = crate::realtime::NatsOptions {
            subject: args.nats_subject.clone(),
            queue: args.nats_queue.max(1),
            ..Default::default()
        };
        crate::realtime::nats::connect(&bus, store.clone(), url, options).await?;
    }
    let realtime = crate::realtime::Realtime::new(
        store.clone(),
        bus,
        crate::realtime::RealtimeConfig {
            ping_interval: Duration::from_secs(args.ping_secs.max(1)),
            queue_capacity: args.realtime_queue.max(16),
            recovery_limit: args.recovery_limit,
            max_connections: args.max_connections,
            allowed_origins: allowed_origins(args, public_url)?,
            ..Default::default()
        },
    );
    let accounts = Arc::new(AccountService::new(store.clone(), realtime.clone(), &secret, auth));
    let webhooks = Arc::new(crate::services::webhooks::WebhookService::new(
        store.clone(),
        media.clone(),
        &secret,
        crate::services::webhooks::WebhookConfig {
            allow_private: args.webhooks_allow_private,
            ..Default::default()
        },
    ));
    let bots = Arc::new(crate::services::bots::BotService::new(
        store.clone(),
        messages.clone(),
        realtime.hub.clone(),
        args.webhooks_allow_private,
    ));
    Ok(AppState {
        bots,
        webhooks,
        realtime,
        messages,
        media,
        store,
        accounts,
        channels,
        mock,
        leptos: leptos_options(args),
        site: Arc::new(http::site::Site::for_build(&args.site_root, env!("LEPTOS_OUTPUT_NAME"))),
        http: Arc::new(HttpConfig {
            trust_proxy: args.trust_proxy,
            metrics_token: args.metrics_token.clone().filter(|t| !t.is_empty()),
        }),
    })
}

/// The origins whose pages may connect to the realtime endpoint with the session cookie: the
/// public URL's, `--allowed-origins`, and, when the public URL is the default loopback one,
/// the same port on `localhost` (people type either).
fn allowed_origins(args: &ServeArgs, public_url: &str) -> anyhow::Result<Vec<String>> {
    use crate::realtime::origin_of;
    let mut origins = Vec::new();
    let public =
        origin_of(public_url).with_context(|| format!("the public URL {public_url:?} has no origin"))?;
    if args.public_url.is_none() && public.starts_with("http://127.0.0.1:") {
        origins.push(public.replacen("127.0.0.1", "localhost", 1));
    }
    origins.push(public);
    for raw in args.allowed_origins.iter().map(|o| o.trim()).filter(|o| !o.is_empty()) {
        origins.push(origin_of(raw).with_context(|| format!("--allowed-origins: {raw:?} is not an origin"))?);
    }
    Ok(origins)
}

/// What the bundle is called (set by cargo-leptos at build time) and where a site on disk lives
/// (read only by builds that embed none, see [`http::site`]).
fn leptos_options(args: &ServeArgs) -> LeptosOptions {
    LeptosOptions::builder()
        .output_name(env!("LEPTOS_OUTPUT_NAME"))
        .site_root(args.site_root.display().to_string())
        .site_pkg_dir("pkg")
        .site_addr(args.addr)
        .build()
}

/// Tells a person's own topic of a message that mentions them (ephemeral: an open inbox shows a
/// notification and the list's "@" marker; a closed one has the push).
fn mention_relay(realtime: Arc<crate::realtime::Realtime>) -> crate::services::notify::MentionRelay {
    crate::services::notify::MentionRelay(Arc::new(move |user, message| {
        realtime.publish(crate::realtime::BusMessage::Ephemeral {
            topic: switchboard::Topic::User(user).to_string(),
            body: switchboard::EventBody::Mentioned(message.clone()),
            except: None,
        })
    }))
}

/// Runs the server until SIGTERM or SIGINT.
pub async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    crate::telemetry::init(args.common.log_format);
    let signals = stop_signals();
    let listener =
        TcpListener::bind(args.addr).await.with_context(|| format!("cannot listen on {}", args.addr))?;
    let addr = listener.local_addr()?;
    let public_url = args.public_url.clone().unwrap_or_else(|| format!("http://{addr}"));
    let state = build_state(&args, &public_url).await?;
    if args.demo {
        provision::seed_demo(state.store.as_ref()).await.context("cannot seed the demo workspace")?;
        provision::seed_demo_channel(state.store.as_ref(), &state.channels)
            .await
            .context("cannot seed the demo channel")?;
    }
    announce(addr, args.demo);
    tracing::info!(%addr, database = %crate::store::redact_url(&args.common.database_url()), "listening");
    state.site.log_origin();

    let started = state.channels.start_runtimes().await.context("cannot start the channels")?;
    tracing::info!(channels = started, "channel runtimes started");
    let store = state.store.clone();
    let sweeper = crate::supervise::spawn("session_sweeper", move || sweep_sessions(store.clone()));
    let (store, hub) = (state.store.clone(), state.realtime.hub.clone());
    let inbound = Arc::new(tokio::sync::Mutex::new(state.realtime.bus().watch_messages()));
    let assigner = crate::supervise::spawn("auto_assign", move || {
        crate::services::desk::auto_assign(store.clone(), hub.clone(), inbound.clone())
    });
    let keys = Arc::new(
        crate::webpush::VapidKeys::load_or_create(&args.common.data_dir.join("vapid.key"))
            .context("cannot read or make the Web Push key pair")?,
    );
    state.messages.set_push_keys(keys.clone());
    let (store, push_config) = (
        state.store.clone(),
        crate::services::notify::PushConfig {
            allow_private: args.webhooks_allow_private,
            relay: Some(mention_relay(state.realtime.clone())),
            ..Default::default()
        },
    );
    let pushed = Arc::new(tokio::sync::Mutex::new(state.realtime.bus().watch_messages()));
    let pusher = crate::supervise::spawn("push", move || {
        crate::services::notify::dispatch(store.clone(), keys.clone(), push_config.clone(), pushed.clone())
    });
    let (bots, messages) =
        (state.bots.clone(), Arc::new(tokio::sync::Mutex::new(state.realtime.bus().watch_messages())));
    let bot_listener = crate::supervise::spawn("bots", move || bots.clone().listen(messages.clone()));
    let bots = state.bots.clone();
    let bot_waker = crate::supervise::spawn("bot_waker", move || bots.clone().wake());
    let store = state.store.clone();
    let snoozes =
        crate::supervise::spawn("snooze_waker", move || crate::services::desk::wake_snoozed(store.clone()));
    let (store, providers, media, channels) = (
        state.store.clone(),
        state.channels.providers().clone(),
        state.media.clone(),
        state.channels.clone(),
    );
    let outbox = crate::supervise::spawn("outbox", move || {
        crate::services::outbox::OutboxWorker::new(store.clone(), providers.clone(), Default::default())
            .with_media(media.clone())
            .with_channels(channels.clone())
            .run()
    });
    let webhooks = state.webhooks.clone();
    let deliveries = crate::supervise::spawn("webhook_deliveries", move || webhooks.clone().run());
    let media = state.media.clone();
    let collector = crate::supervise::spawn("media_collector", move || {
        crate::media::collect_forever(media.clone(), Duration::from_secs(3600))
    });
    let runtimes = state.channels.runtimes().clone();
    let realtime = state.realtime.clone();
    let app = http::router(state).into_make_service_with_connect_info::<SocketAddr>();
    let grace = Duration::from_secs(args.shutdown_grace_secs);
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    // No Nagle: realtime frames are small and must not wait for the peer's delayed ACK.
    let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
        let _ = tcp.set_nodelay(true);
    });
    let closing = realtime.clone();
    let server = axum::serve(listener, app).with_graceful_shutdown(async move {
        shutdown_signal(signals).await;
        // Realtime clients first: told at once (3001, reconnect), they move to another node
        // instead of hanging on a socket that dies with the process.
        let told = closing.shutdown();
        tracing::info!(realtime_clients = told, "shutting down: finishing open requests");
        let _ = stop_tx.send(true);
    });
    // Upgraded WebSockets are not requests axum waits for: wait until each has had its close
    // frame sent and ended, within the same grace period.
    let server = async move {
        server.await?;
        realtime.closed().await;
        std::io::Result::Ok(())
    };
    let deadline = async move {
        let mut stop_rx = stop_rx;
        let _ = stop_rx.wait_for(|stop| *stop).await;
        tokio::time::sleep(grace).await;
    };
    tokio::select! {
        result = server => result.context("server error")?,
        () = deadline => tracing::warn!("requests still open after the grace period; exiting anyway"),
    }
    sweeper.abort();
    snoozes.abort();
    bot_listener.abort();
    bot_waker.abort();
    assigner.abort();
    pusher.abort();
    outbox.abort();
    deliveries.abort();
    collector.abort();
    runtimes.stop_all();
    tracing::info!("stopped");
    Ok(())
}

/// Prints where to go and, in demo mode, how to sign in. On stdout, so scripts can read it.
fn announce(addr: SocketAddr, demo: bool) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "Switchboard is listening on http://{addr}");
    if demo {
        let _ = writeln!(out, "Demo workspace \"{DEMO_WORKSPACE}\" — sign in with:");
        for (email, _, role) in DEMO_USERS {
            let _ = writeln!(out, "  {email} / {DEMO_PASSWORD} ({role})");
        }
    }
    let _ = out.flush();
}

/// Deletes expired sessions once an hour.
async fn sweep_sessions(store: Arc<dyn switchboard::Store>) {
    let mut tick = tokio::time::interval(Duration::from_secs(3600));
    loop {
        tick.tick().await;
        match store.delete_expired_sessions(switchboard::time::now()).await {
            Ok(n) if n > 0 => tracing::info!(deleted = n, "expired sessions deleted"),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "cannot delete expired sessions"),
        }
    }
}

/// The process's stop signals, listened to from the moment the server starts: a SIGTERM that
/// arrives while it is still starting (its readiness already answered) stops it gracefully
/// too, instead of killing it with the default action.
struct StopSignals {
    #[cfg(unix)]
    terminate: Option<tokio::signal::unix::Signal>,
    #[cfg(unix)]
    interrupt: Option<tokio::signal::unix::Signal>,
}

fn stop_signals() -> StopSignals {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        StopSignals {
            terminate: signal(SignalKind::terminate()).ok(),
            interrupt: signal(SignalKind::interrupt()).ok(),
        }
    }
    #[cfg(not(unix))]
    StopSignals {}
}

async fn shutdown_signal(signals: StopSignals) {
    #[cfg(unix)]
    {
        let StopSignals { terminate, interrupt } = signals;
        let wait = |s: Option<tokio::signal::unix::Signal>| async move {
            match s {
                Some(mut s) => {
                    s.recv().await;
                }
                None => std::future::pending::<()>().await,
            }
        };
        tokio::select! {
            () = wait(terminate) => {},
            () = wait(interrupt) => {},
        }
    }
    #[cfg(not(unix))]
    {
        let _ = signals;
        let _ = tokio::signal::ctrl_c().await;
    }
}
