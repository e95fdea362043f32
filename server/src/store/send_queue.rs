//! The queue behind group commit (the SQL is in `sends.rs`). Every statement costs a round trip
//! (on SQLite, two thread switches to sqlx's worker), and a send takes about a dozen, so under
//! load the store writes the sends that queued while the previous group was writing as one
//! transaction of multi-row statements. An idle store adds no wait: a lone send starts a group
//! of one at once.

use std::future::Future;
use std::sync::{Arc, Mutex};

use switchboard::store::{NewOutbound, Sent, StoreError};
use tokio::sync::oneshot;

/// Most sends written in one group (keeps every multi-row statement well under both
/// backends' bind-parameter limits).
pub(crate) const MAX_GROUP: usize = 64;

type Reply = oneshot::Sender<Result<Sent, StoreError>>;

/// The sends waiting for the writer, shared by a store's clones.
#[derive(Clone, Default)]
pub(crate) struct SendQueue(Arc<Mutex<Queue>>);

#[derive(Default)]
struct Queue {
    waiting: Vec<(NewOutbound, Reply)>,
    /// Whether a drain task is writing groups; it stops when the queue is empty.
    draining: bool,
}

impl std::fmt::Debug for SendQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SendQueue")
    }
}

impl SendQueue {
    /// Queues `out` and waits for its answer. The first send into an idle queue starts a task
    /// that calls `write` with up to [`MAX_GROUP`] sends at a time until none are left; a task,
    /// so a caller that gives up waiting cannot strand the sends queued behind its own.
    pub(crate) async fn send<W, F>(&self, out: NewOutbound, write: W) -> Result<Sent, StoreError>
    where
        W: Fn(Vec<NewOutbound>) -> F + Send + 'static,
        F: Future<Output = Vec<Result<Sent, StoreError>>> + Send + 'static,
    {
        let queued = std::time::Instant::now();
        let (reply, answer) = oneshot::channel();
        let start = {
            let mut queue = self.lock();
            queue.waiting.push((out, reply));
            !std::mem::replace(&mut queue.draining, true)
        };
        if start {
            let drain = Drain(self.clone());
            tokio::spawn(async move { drain.run(write).await });
        }
        let sent = answer
            .await
            .unwrap_or_else(|_| Err(StoreError::Internal("the send was dropped unwritten".into())));
        if sent.is_ok() {
            crate::metrics::metrics().send_commit.observe(queued.elapsed().as_secs_f64());
        }
        sent
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Queue> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The running drain. Unwound by a panic, it gives the queue up: sends still waiting are
/// answered with an error instead of hanging, and the next send starts a new drain.
struct Drain(SendQueue);

impl Drain {
    async fn run<W, F>(&self, write: W)
    where
        W: Fn(Vec<NewOutbound>) -> F,
        F: Future<Output = Vec<Result<Sent, StoreError>>>,
    {
        loop {
            let group: Vec<(NewOutbound, Reply)> = {
                let mut queue = self.0.lock();
                if queue.waiting.is_empty() {
                    queue.draining = false;
                    return;
                }
                let n = queue.waiting.len().min(MAX_GROUP);
                queue.waiting.drain(..n).collect()
            };
            let (outs, replies): (Vec<_>, Vec<_>) = group.into_iter().unzip();
            crate::metrics::metrics().write_group_size.observe(outs.len() as f64);
            let mut results = write(outs).await.into_iter();
            for reply in replies {
                let result = results.next().unwrap_or_else(|| {
                    Err(StoreError::Internal("the group returned too few results".into()))
                });
                // The caller may have stopped waiting; the send stands either way.
                let _ = reply.send(result);
            }
        }
    }
}

impl Drop for Drain {
    fn drop(&mut self) {
        // A finished drain has let go already (and a new one may own the queue by now).
        if std::thread::panicking() {
            let mut queue = self.0.lock();
            queue.draining = false;
            // Dropping the replies answers their callers.
            queue.waiting.clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use switchboard::{ConversationId, UserId, WorkspaceId};

    fn out(text: &str) -> NewOutbound {
        NewOutbound {
            workspace_id: WorkspaceId::new(),
            conversation_id: ConversationId::new(),
            sender: UserId::new(),
            role: switchboard::MemberRole::Agent,
            text: text.to_owned(),
            client_message_id: None,
            reply_to: None,
            attachments: Vec::new(),
            template: None,
            parent_id: None,
            show_in_conversation: false,
            note: false,
            from_bot: false,
            buttons: Vec::new(),
            trace_id: None,
        }
    }

    #[tokio::test]
    async fn sends_queued_behind_a_group_are_written_together_and_each_gets_its_own_answer() {
        let queue = SendQueue::default();
        let groups = Arc::new(Mutex::new(Vec::new()));
        // Records group sizes and fails every send, naming it (a `Sent` needs a real message;
        // the answers' routing is what is under test).
        let recording = {
            let groups = groups.clone();
            move |outs: Vec<NewOutbound>| {
                groups.lock().unwrap().push(outs.len());
                async move {
                    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                    outs.into_iter().map(|o| Err(StoreError::Internal(o.text))).collect()
                }
            }
        };
        let mut tasks = Vec::new();
        for i in 0..10 {
            let queue = queue.clone();
            let write = recording.clone();
            tasks.push(tokio::spawn(async move { queue.send(out(&format!("m{i}")), write).await }));
        }
        for (i, task) in tasks.into_iter().enumerate() {
            match task.await.unwrap() {
                Err(StoreError::Internal(text)) => assert_eq!(text, format!("m{i}")),
                other => panic!("unexpected answer {other:?}"),
            }
        }
        let groups = groups.lock().unwrap().clone();
        assert_eq!(groups.iter().sum::<usize>(), 10, "every send written once: {groups:?}");
        assert!(groups.len() < 10, "sends that queued were grouped: {groups:?}");
        assert!(!queue.lock().draining, "the drain stops when the queue is empty");
    }

    #[tokio::test]
    async fn a_lone_send_is_written_at_once_and_a_later_one_starts_a_new_drain() {
        let queue = SendQueue::default();
        let calls = Arc::new(AtomicUsize::new(0));
        for i in 0..2 {
            let calls = calls.clone();
            let answer = queue
                .send(out(&format!("m{i}")), move |outs: Vec<NewOutbound>| {
                    calls.fetch_add(1, Ordering::SeqCst);
                    async move { outs.into_iter().map(|o| Err(StoreError::Internal(o.text))).collect() }
                })
                .await;
            assert!(matches!(answer, Err(StoreError::Internal(t)) if t == format!("m{i}")));
        }
        assert_eq!(calls.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn a_writer_that_panics_answers_with_an_error_and_the_queue_recovers() {
        let queue = SendQueue::default();
        let answer = queue
            .send(out("boom"), |_outs: Vec<NewOutbound>| async move {
                panic!("writer failed");
                #[allow(unreachable_code)]
                Vec::new()
            })
            .await;
        assert!(matches!(answer, Err(StoreError::Internal(_))));
        assert!(!queue.lock().draining);
        let answer = queue
            .send(out("after"), |outs: Vec<NewOutbound>| async move {
                outs.into_iter().map(|o| Err(StoreError::Internal(o.text))).collect()
            })
            .await;
        assert!(matches!(answer, Err(StoreError::Internal(t)) if t == "after"));
    }
}
