//! The worker pool of one server: how many calls may run on blocking threads
//! at once, and the counters `virt-admin srv-threadpool-info` reports.
//!
//! Blocking calls run on tokio's blocking threads; this pool only admits them
//! (at most `max` at a time, the rest wait in a queue) and keeps the books of
//! a libvirt-style thread pool: `min` workers exist from the start, one more
//! is added when a call finds none free (up to `max`), lowering `max` retires
//! the surplus as soon as it is idle, and raising `min` adds workers at once.
//! Calls answered on the session task itself (all admin calls) are counted as
//! busy workers while they run, so the numbers match what libvirtd shows.

use std::sync::{Arc, Mutex, MutexGuard};

use thiserror::Error;
use tokio::sync::Notify;

/// A threadpool change refused, worded as libvirt words it.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum WorkerPoolError {
    #[error("minWorkers cannot be larger than maxWorkers")]
    MinAboveMax,
    #[error("maxWorkers must not be switched from zero to non-zero and vice versa")]
    ZeroSwitch,
}

/// What `srv-threadpool-info` shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WorkerStats {
    pub min_workers: usize,
    pub max_workers: usize,
    /// Workers that exist (busy or idle).
    pub current_workers: usize,
    pub free_workers: usize,
    pub priority_workers: usize,
    /// Calls waiting for a worker.
    pub job_queue_depth: usize,
}

/// Requested changes; `None` keeps the current value.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WorkerChange {
    pub min_workers: Option<usize>,
    pub max_workers: Option<usize>,
    pub priority_workers: Option<usize>,
}

#[derive(Debug)]
struct PoolState {
    min: usize,
    max: usize,
    priority: usize,
    /// Workers that exist; always between `busy` and `max(max, busy)`.
    spawned: usize,
    busy: usize,
    queued: usize,
}

impl PoolState {
    /// Workers above `max` leave once idle; `min` workers always exist.
    fn settle(&mut self) {
        self.spawned = self.spawned.min(self.max.max(self.busy));
        self.spawned = self.spawned.max(self.min.min(self.max)).max(self.busy);
    }

    /// A call may start now. With `max == 0` libvirt runs calls one at a
    /// time without a pool; one at a time is what we do too.
    fn has_free_slot(&self) -> bool {
        self.busy < self.max.max(1)
    }

    fn start_call(&mut self) {
        self.busy += 1;
        if self.busy > self.spawned {
            self.spawned = self.busy;
        }
    }
}

pub struct WorkerPool {
    state: Mutex<PoolState>,
    released: Notify,
}

impl WorkerPool {
    /// A pool with `min` workers started (at most `max`, as libvirt clamps it).
    pub fn new(min: usize, max: usize, priority: usize) -> WorkerPool {
        let min = min.min(max);
        WorkerPool {
            state: Mutex::new(PoolState {
                min,
                max,
                priority,
                spawned: min,
                busy: 0,
                queued: 0,
            }),
            released: Notify::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, PoolState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn stats(&self) -> WorkerStats {
        let s = self.lock();
        WorkerStats {
            min_workers: s.min,
            max_workers: s.max,
            current_workers: s.spawned,
            free_workers: s.spawned.saturating_sub(s.busy),
            priority_workers: s.priority,
            job_queue_depth: s.queued,
        }
    }

    /// Waits for a free worker; the call holds it until the permit is dropped.
    pub async fn acquire_owned(self: Arc<Self>) -> WorkerPermit {
        let mut waiting = QueuedCall {
            pool: &self,
            counted: false,
        };
        loop {
            let released = self.released.notified();
            tokio::pin!(released);
            released.as_mut().enable();
            {
                let mut s = self.lock();
                if s.has_free_slot() {
                    if waiting.counted {
                        s.queued -= 1;
                        waiting.counted = false;
                    }
                    s.start_call();
                    break;
                }
                if !waiting.counted {
                    s.queued += 1;
                    waiting.counted = true;
                }
            }
            released.await;
        }
        WorkerPermit {
            pool: Arc::clone(&self),
        }
    }

    /// Counts a call answered on the caller's own task as a busy worker
    /// until the returned guard is dropped. It never waits: such calls are
    /// short and must not be held behind blocking ones.
    pub fn run_inline(&self) -> InlineCall<'_> {
        self.lock().start_call();
        InlineCall { pool: self }
    }

    /// `srv-threadpool-set`: validated as libvirt does, applied at once.
    pub fn change(&self, change: WorkerChange) -> Result<(), WorkerPoolError> {
        let mut s = self.lock();
        let min = change.min_workers.unwrap_or(s.min);
        let max = change.max_workers.unwrap_or(s.max);
        if min > max {
            return Err(WorkerPoolError::MinAboveMax);
        }
        if let Some(new_max) = change.max_workers {
            if (new_max == 0) != (s.max == 0) {
                return Err(WorkerPoolError::ZeroSwitch);
            }
        }
        s.min = min;
        s.max = max;
        if let Some(priority) = change.priority_workers {
            s.priority = priority;
        }
        s.settle();
        drop(s);
        self.released.notify_waiters();
        Ok(())
    }

    /// Configuration reload: takes the values as they are (a minimum above
    /// the maximum is clamped, as at start-up).
    pub fn reconfigure(&self, min: usize, max: usize, priority: usize) {
        let mut s = self.lock();
        s.max = max;
        s.min = min.min(max);
        s.priority = priority;
        s.settle();
        drop(s);
        self.released.notify_waiters();
    }

    fn finish_call(&self) {
        let mut s = self.lock();
        s.busy = s.busy.saturating_sub(1);
        s.settle();
        drop(s);
        self.released.notify_one();
    }
}

/// A worker held by a running call.
pub struct WorkerPermit {
    pool: Arc<WorkerPool>,
}

impl Drop for WorkerPermit {
    fn drop(&mut self) {
        self.pool.finish_call();
    }
}

/// A call being answered on the session task.
pub struct InlineCall<'a> {
    pool: &'a WorkerPool,
}

impl Drop for InlineCall<'_> {
    fn drop(&mut self) {
        self.pool.finish_call();
    }
}

/// Keeps the queue length right when a waiting call is abandoned.
struct QueuedCall<'a> {
    pool: &'a WorkerPool,
    counted: bool,
}

impl Drop for QueuedCall<'_> {
    fn drop(&mut self) {
        if self.counted {
            let mut s = self.pool.lock();
            s.queued = s.queued.saturating_sub(1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stats(pool: &WorkerPool) -> (usize, usize, usize, usize, usize, usize) {
        let s = pool.stats();
        (
            s.min_workers,
            s.max_workers,
            s.current_workers,
            s.free_workers,
            s.priority_workers,
            s.job_queue_depth,
        )
    }

    #[test]
    fn starts_with_min_workers_all_free() {
        let pool = WorkerPool::new(5, 20, 5);
        assert_eq!(stats(&pool), (5, 20, 5, 5, 5, 0));
    }

    #[test]
    fn min_above_max_is_clamped_at_start() {
        let pool = WorkerPool::new(8, 3, 0);
        assert_eq!(stats(&pool), (3, 3, 3, 3, 0, 0));
    }

    #[test]
    fn inline_call_is_a_busy_worker() {
        let pool = WorkerPool::new(5, 20, 0);
        let call = pool.run_inline();
        assert_eq!(stats(&pool), (5, 20, 5, 4, 0, 0));
        drop(call);
        assert_eq!(stats(&pool), (5, 20, 5, 5, 0, 0));
    }

    #[tokio::test]
    async fn workers_grow_on_demand_and_calls_queue_at_max() {
        let pool = Arc::new(WorkerPool::new(1, 2, 0));
        let first = Arc::clone(&pool).acquire_owned().await;
        let second = Arc::clone(&pool).acquire_owned().await;
        assert_eq!(stats(&pool), (1, 2, 2, 0, 0, 0));
        let waiting = tokio::spawn(Arc::clone(&pool).acquire_owned());
        let queued = async {
            while pool.stats().job_queue_depth == 0 {
                tokio::task::yield_now().await;
            }
        };
        tokio::time::timeout(std::time::Duration::from_secs(10), queued)
            .await
            .expect("third call queued");
        drop(first);
        let third = tokio::time::timeout(std::time::Duration::from_secs(10), waiting)
            .await
            .expect("third call admitted")
            .expect("task");
        assert_eq!(stats(&pool), (1, 2, 2, 0, 0, 0));
        drop((second, third));
        assert_eq!(stats(&pool), (1, 2, 2, 2, 0, 0));
    }

    #[test]
    fn raising_min_adds_workers_and_lowering_max_retires_idle_ones() {
        let pool = WorkerPool::new(5, 20, 5);
        let change = WorkerChange {
            min_workers: Some(10),
            ..WorkerChange::default()
        };
        pool.change(change).expect("min 10");
        assert_eq!(stats(&pool), (10, 20, 10, 10, 5, 0));
        let change = WorkerChange {
            min_workers: Some(2),
            max_workers: Some(3),
            priority_workers: Some(1),
        };
        pool.change(change).expect("max 3");
        assert_eq!(stats(&pool), (2, 3, 3, 3, 1, 0));
    }

    #[test]
    fn busy_workers_above_a_lowered_max_leave_when_done() {
        let pool = WorkerPool::new(1, 4, 0);
        let calls: Vec<_> = (0..3).map(|_| pool.run_inline()).collect();
        let change = WorkerChange {
            max_workers: Some(1),
            ..WorkerChange::default()
        };
        pool.change(change).expect("max 1");
        assert_eq!(stats(&pool), (1, 1, 3, 0, 0, 0));
        drop(calls);
        assert_eq!(stats(&pool), (1, 1, 1, 1, 0, 0));
    }

    #[test]
    fn invalid_changes_are_refused_and_change_nothing() {
        let pool = WorkerPool::new(5, 20, 5);
        let below_min = WorkerChange {
            max_workers: Some(2),
            ..WorkerChange::default()
        };
        assert_eq!(pool.change(below_min), Err(WorkerPoolError::MinAboveMax));
        let to_zero = WorkerChange {
            min_workers: Some(0),
            max_workers: Some(0),
            ..WorkerChange::default()
        };
        assert_eq!(pool.change(to_zero), Err(WorkerPoolError::ZeroSwitch));
        assert_eq!(stats(&pool), (5, 20, 5, 5, 5, 0));
        assert_eq!(
            WorkerPoolError::MinAboveMax.to_string(),
            "minWorkers cannot be larger than maxWorkers"
        );
    }
}
