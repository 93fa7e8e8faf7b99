//! One restart of the Kamaji controller serves every rotation whose secrets
//! changed before it began. Rotating ten tenants at once (`--parallel`)
//! then restarts the controller once, not ten times over, each run deleting
//! the pods another run is waiting for: a restart waits until no run of the
//! batch is still changing its secrets, and later runs join it.
//! No API calls of its own (the restart is the caller's), no clap types, no printing.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::sync::{Mutex, Notify};
use tokio::time::Instant;

use crate::error::Result;

/// Shared by the runs of one `rotate-ca` invocation. `T` is what a
/// restart tells (the Kamaji phase's outcome), handed to the runs that join it.
pub struct KamajiRestarts<T = String> {
    last: Mutex<Option<Done<T>>>,
    changing: Arc<Changing>,
}

impl<T> Default for KamajiRestarts<T> {
    fn default() -> Self {
        KamajiRestarts { last: Mutex::new(None), changing: Arc::default() }
    }
}

/// How many runs are before the end of their rotate phase.
#[derive(Default)]
struct Changing {
    count: AtomicUsize,
    ended: Notify,
}

/// Held by a run until its rotate phase ends (dropped on failure too).
pub struct Rotating(Arc<Changing>);

impl Drop for Rotating {
    fn drop(&mut self) {
        self.0.count.fetch_sub(1, Ordering::SeqCst);
        self.0.ended.notify_waiters();
    }
}

struct Done<T> {
    began: Instant,
    by: String,
    detail: T,
}

/// What a run's Kamaji phase did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Restart<T = String> {
    /// This run restarted the controller: the restart's detail.
    Performed(T),
    /// A restart that began after this run's change, done for `by`.
    Joined { by: String, detail: T },
}

impl<T: Clone> KamajiRestarts<T> {
    /// A run begins changing secrets: restarts wait for it ([`Rotating`]).
    pub fn enter(&self) -> Rotating {
        self.changing.count.fetch_add(1, Ordering::SeqCst);
        Rotating(self.changing.clone())
    }

    /// Runs still changing their secrets.
    pub fn changing(&self) -> usize {
        self.changing.count.load(Ordering::SeqCst)
    }

    /// Ensures a restart that began at or after `changed_at`: joins the
    /// last one if it did, else runs `restart` (one at a time; a failed
    /// restart is not joined, the next run tries again).
    pub async fn after<F, Fut>(&self, changed_at: Instant, tenant: &str, restart: F) -> Result<Restart<T>>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T>>,
    {
        // Every run still rotating will need a restart too: one after all of them.
        loop {
            let ended = self.changing.ended.notified();
            if self.changing() == 0 {
                break;
            }
            ended.await;
        }
        let mut last = self.last.lock().await;
        if let Some(done) = last.as_ref().filter(|d| d.began >= changed_at) {
            return Ok(Restart::Joined { by: done.by.clone(), detail: done.detail.clone() });
        }
        let began = Instant::now();
        let detail = restart().await?;
        *last = Some(Done { began, by: tenant.to_string(), detail: detail.clone() });
        Ok(Restart::Performed(detail))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use super::*;
    use crate::error::Error;

    #[tokio::test(start_paused = true)]
    async fn changes_before_a_restart_began_share_it_later_ones_get_their_own() {
        let restarts = Arc::new(KamajiRestarts::default());
        let count = Arc::new(AtomicUsize::new(0));
        let restart = |count: Arc<AtomicUsize>| async move {
            let n = count.fetch_add(1, Ordering::SeqCst) + 1;
            tokio::time::sleep(Duration::from_secs(5)).await;
            Ok(format!("restart {n}"))
        };
        // Three tenants changed their secrets, then all reach the Kamaji phase together.
        let changed = Instant::now();
        tokio::time::sleep(Duration::from_millis(10)).await;
        let runs = ["a", "b", "c"].map(|t| {
            let (restarts, count) = (restarts.clone(), count.clone());
            tokio::spawn(async move { restarts.after(changed, t, || restart(count)).await })
        });
        let mut results = Vec::new();
        for r in runs {
            results.push(r.await.unwrap().unwrap());
        }
        assert_eq!(count.load(Ordering::SeqCst), 1, "{results:?}");
        assert_eq!(results.iter().filter(|r| matches!(r, Restart::Performed(_))).count(), 1);
        assert!(results.iter().all(|r| match r {
            Restart::Performed(d) => d == "restart 1",
            Restart::Joined { by, detail } => ["a", "b", "c"].contains(&by.as_str()) && detail == "restart 1",
        }));
        // A change after that restart began is not served by it.
        let late = restarts.after(Instant::now(), "d", || restart(count.clone())).await.unwrap();
        assert_eq!(late, Restart::Performed("restart 2".into()));
    }

    #[tokio::test(start_paused = true)]
    async fn a_restart_waits_for_every_run_still_rotating_then_serves_them_all() {
        let restarts = Arc::new(KamajiRestarts::default());
        let count = Arc::new(AtomicUsize::new(0));
        let guards: Vec<Rotating> = (0..3).map(|_| restarts.enter()).collect();
        let mut runs = Vec::new();
        for (i, guard) in guards.into_iter().enumerate() {
            let (restarts, count) = (restarts.clone(), count.clone());
            runs.push(tokio::spawn(async move {
                // Runs end their rotate phase 1 s apart.
                tokio::time::sleep(Duration::from_secs(1 + i as u64)).await;
                let changed = Instant::now();
                drop(guard);
                restarts
                    .after(changed, &format!("t{i}"), || async move {
                        count.fetch_add(1, Ordering::SeqCst);
                        Ok("restarted".to_string())
                    })
                    .await
                    .unwrap()
            }));
        }
        let mut performed = 0;
        for r in runs {
            performed += usize::from(matches!(r.await.unwrap(), Restart::Performed(_)));
        }
        assert_eq!((performed, count.load(Ordering::SeqCst)), (1, 1));
        assert_eq!(restarts.changing(), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn a_failed_restart_is_not_joined() {
        let restarts = KamajiRestarts::default();
        let changed = Instant::now();
        let err = restarts.after(changed, "a", || async { Err(Error::Invalid("pods not Ready".into())) }).await;
        assert!(err.is_err());
        let next = restarts.after(changed, "b", || async { Ok("ok".to_string()) }).await.unwrap();
        assert_eq!(next, Restart::Performed("ok".into()));
    }
}
