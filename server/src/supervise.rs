//! Supervision of long-running tasks: a task that panics is logged, counted and started again
//! with exponential backoff, so one bad input can never silently stop a worker for every
//! workspace (an unsupervised outbox worker that panics stops all sending until a restart, and
//! again after it if the same row is claimed). A task that returns is done and not restarted;
//! aborting the handle stops it.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{LazyLock, Mutex};
use std::time::Duration;

use tokio::task::JoinHandle;

/// First pause before a restart; doubles per consecutive crash up to [`MAX_BACKOFF`].
pub const INITIAL_BACKOFF: Duration = Duration::from_millis(100);
/// Longest pause between restarts.
pub const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// A run this long counts as healthy: the next crash starts the backoff over.
const HEALTHY_RUN: Duration = Duration::from_secs(60);

/// Restarts per task name since the process started (read by tests and logs; `/metrics`
/// exposes the same counts as `switchboard_task_restarts_total`).
static RESTARTS: LazyLock<Mutex<HashMap<&'static str, u64>>> = LazyLock::new(Default::default);

/// How often the task `name` has been restarted after a panic.
pub fn restarts(name: &str) -> u64 {
    RESTARTS.lock().unwrap_or_else(|e| e.into_inner()).get(name).copied().unwrap_or(0)
}

fn count_restart(name: &'static str) -> u64 {
    let mut map = RESTARTS.lock().unwrap_or_else(|e| e.into_inner());
    let n = map.entry(name).or_default();
    *n += 1;
    crate::metrics::metrics().task_restarts.get_or_create(&crate::metrics::TaskLabels { task: name }).inc();
    *n
}

/// Runs `make()`'s future as a task named `name`, and runs a fresh one after each panic.
pub fn spawn<F, Fut>(name: &'static str, make: F) -> JoinHandle<()>
where
    F: Fn() -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    tokio::spawn(async move {
        let mut backoff = INITIAL_BACKOFF;
        loop {
            let started = tokio::time::Instant::now();
            let run = tokio::spawn(make());
            // Aborting the supervisor must stop the run too (a dropped JoinHandle detaches).
            let _stop = AbortOnDrop(run.abort_handle());
            match run.await {
                Ok(()) => return,
                Err(e) if e.is_panic() => {
                    let total = count_restart(name);
                    let why = panic_message(e.into_panic());
                    tracing::error!(task = name, panic = %why, restarts = total, retry_in_ms = backoff.as_millis() as u64, "task panicked; restarting");
                }
                // Cancelled: the runtime is shutting down.
                Err(_) => return,
            }
            if started.elapsed() >= HEALTHY_RUN {
                backoff = INITIAL_BACKOFF;
            }
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(MAX_BACKOFF);
        }
    })
}

struct AbortOnDrop(tokio::task::AbortHandle);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// A panic payload in words (`panic!` carries a `&str` or a `String`).
pub fn panic_message(payload: Box<dyn std::any::Any + Send>) -> String {
    match payload.downcast::<String>() {
        Ok(s) => *s,
        Err(payload) => match payload.downcast::<&'static str>() {
            Ok(s) => (*s).to_owned(),
            Err(_) => "a panic without a message".to_owned(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU32, Ordering};

    #[tokio::test(start_paused = true)]
    async fn a_panicking_task_is_restarted_with_backoff_until_it_finishes() {
        let runs = Arc::new(AtomicU32::new(0));
        let counted = runs.clone();
        let task = spawn("test_flaky_task", move || {
            let runs = counted.clone();
            async move {
                if runs.fetch_add(1, Ordering::SeqCst) < 3 {
                    panic!("boom");
                }
            }
        });
        task.await.unwrap();
        assert_eq!(runs.load(Ordering::SeqCst), 4, "three crashes, then a clean run");
        assert_eq!(restarts("test_flaky_task"), 3);
    }

    #[tokio::test(start_paused = true)]
    async fn aborting_the_supervisor_stops_the_running_task() {
        struct Flag(Arc<AtomicU32>);
        impl Drop for Flag {
            fn drop(&mut self) {
                self.0.store(1, Ordering::SeqCst);
            }
        }
        let dropped = Arc::new(AtomicU32::new(0));
        let flag = dropped.clone();
        let task = spawn("test_forever_task", move || {
            let flag = Flag(flag.clone());
            async move {
                let _held = flag;
                std::future::pending::<()>().await
            }
        });
        tokio::time::sleep(Duration::from_millis(10)).await;
        task.abort();
        assert!(task.await.unwrap_err().is_cancelled());
        tokio::time::sleep(Duration::from_millis(10)).await;
        assert_eq!(dropped.load(Ordering::SeqCst), 1, "the inner run was cancelled");
    }

    #[test]
    fn panic_messages_are_read_from_either_payload() {
        assert_eq!(panic_message(Box::new("static")), "static");
        assert_eq!(panic_message(Box::new(String::from("owned"))), "owned");
        assert_eq!(panic_message(Box::new(42)), "a panic without a message");
    }
}
