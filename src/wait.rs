//! Waiting for the cluster: polls that back off and end at a deadline,
//! naming what they waited for, for every command that waits on a
//! controller (rotate-ca's phases, `restarts --wait`).

use std::future::Future;
use std::time::Duration;

use crate::error::{Error, Result};

/// What a poll step found: done, or still waiting (and on what).
pub enum Poll<T> {
    Done(T),
    Waiting(String),
}

/// Polls `step` until it is done or `timeout` passes; on timeout the error
/// names `what` and the last thing still pending. `on_wait` sees each
/// pending message (progress display).
pub async fn poll<T, F, Fut>(what: &str, timeout: Duration, every: Duration, on_wait: impl FnMut(&str), step: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Poll<T>>>,
{
    poll_timed(what, timeout, every, on_wait, step).await.map(|(v, _)| v)
}

/// [`poll`], also returning how long it waited: the time until the check
/// that found it done began (the controllers' time, not the caller's).
/// Checks start 250 ms apart and back off to `every`, so a fast
/// controller is not waited for a whole `every`.
pub async fn poll_timed<T, F, Fut>(
    what: &str,
    timeout: Duration,
    every: Duration,
    mut on_wait: impl FnMut(&str),
    mut step: F,
) -> Result<(T, Duration)>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Poll<T>>>,
{
    // tokio's clock: tests run it paused.
    let started = tokio::time::Instant::now();
    let deadline = started + timeout;
    let mut pause = FIRST_PAUSE.min(every);
    let mut last: Option<String> = None;
    loop {
        let checking = started.elapsed();
        // The deadline bounds a check in flight too: a server that stops
        // answering cannot hold the wait past it.
        // The deadline bounds a check in flight too (plus a short grace for
        // a slow answer): a server that stops answering cannot hold the
        // wait past it.
        let pending = match tokio::time::timeout_at(deadline.max(tokio::time::Instant::now()) + GRACE, step()).await {
            Ok(found) => match found? {
                Poll::Done(v) => return Ok((v, checking)),
                Poll::Waiting(msg) => msg,
            },
            Err(_) => {
                let last = last.take().unwrap_or_else(|| "no answer yet".into());
                let pending = format!("{last} (a request to the API server got no answer by the deadline)");
                return Err(timeout_error(what, timeout, &pending));
            }
        };
        on_wait(&pending);
        let now = tokio::time::Instant::now();
        if now >= deadline {
            return Err(timeout_error(what, timeout, &pending));
        }
        last = Some(pending);
        tokio::time::sleep(pause.min(deadline.saturating_duration_since(now)).max(Duration::from_millis(50))).await;
        pause = (pause * 2).min(every);
    }
}

fn timeout_error(what: &str, timeout: Duration, pending: &str) -> Error {
    Error::Timeout {
        after: crate::duration::human_duration(jiff::SignedDuration::try_from(timeout).unwrap_or_default()),
        waiting_for: format!("{what}: {pending}"),
    }
}

/// How long past the deadline a check already in flight may still answer.
const GRACE: Duration = Duration::from_secs(2);

/// The first pause between checks of [`poll_timed`].
const FIRST_PAUSE: Duration = Duration::from_millis(250);

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn poll_times_out_naming_what_it_waited_for() {
        let mut seen = Vec::new();
        let err = poll::<(), _, _>(
            "the new CA",
            Duration::from_millis(120),
            Duration::from_millis(40),
            |m| seen.push(m.to_string()),
            || async { Ok(Poll::Waiting("t-ca unchanged".into())) },
        )
        .await
        .unwrap_err();
        assert!(err.to_string().contains("the new CA: t-ca unchanged"), "{err}");
        assert!(seen.len() >= 2);
        let mut n = 0;
        let v = poll(
            "x",
            Duration::from_secs(5),
            Duration::from_millis(1),
            |_| {},
            || {
                n += 1;
                let done = n >= 3;
                async move { Ok(if done { Poll::Done(7) } else { Poll::Waiting("not yet".into()) }) }
            },
        )
        .await
        .unwrap();
        assert_eq!(v, 7);
    }

    #[tokio::test(start_paused = true)]
    async fn poll_timed_counts_the_wait_until_the_last_check_began() {
        let mut n = 0;
        let (v, waited) = poll_timed(
            "x",
            Duration::from_secs(5),
            Duration::from_millis(400),
            |_| {},
            || {
                n += 1;
                let done = n >= 3;
                async move {
                    // The final check is slow: that is the caller's time, not a wait.
                    if done {
                        tokio::time::sleep(Duration::from_millis(300)).await;
                    }
                    Ok(if done { Poll::Done(n) } else { Poll::Waiting("not yet".into()) })
                }
            },
        )
        .await
        .unwrap();
        assert_eq!(v, 3);
        // Paused clock: pauses of 250 ms then 400 ms (backed off to `every`), not the final 300 ms check.
        assert_eq!(waited, Duration::from_millis(650));
        let (_, waited) =
            poll_timed("x", Duration::from_secs(5), Duration::from_secs(1), |_| {}, || async { Ok(Poll::Done(())) }).await.unwrap();
        assert_eq!(waited, Duration::ZERO, "done at once is no wait");
    }

    #[tokio::test(start_paused = true)]
    async fn a_check_that_never_answers_ends_at_the_deadline() {
        let started = tokio::time::Instant::now();
        let mut n = 0;
        let err = poll::<(), _, _>(
            "the new CA",
            Duration::from_secs(10),
            Duration::from_secs(1),
            |_| {},
            || {
                n += 1;
                let first = n == 1;
                async move {
                    if first {
                        return Ok(Poll::Waiting("t-ca unchanged".into()));
                    }
                    // A stalled API server: the request never returns.
                    std::future::pending::<()>().await;
                    unreachable!()
                }
            },
        )
        .await
        .unwrap_err();
        assert!(matches!(err, Error::Timeout { .. }), "{err}");
        let msg = err.to_string();
        assert!(msg.contains("the new CA: t-ca unchanged (a request to the API server got no answer by the deadline)"), "{msg}");
        assert_eq!(started.elapsed(), Duration::from_secs(10) + GRACE, "ended at the deadline and its grace, not later");
    }
}
