//! Heavy work (poster bundles, roster imports) runs a few at a time: at most one per
//! user and a small number in all. A caller past either limit gets 429 `too_busy` at
//! once, rather than a queue that would tie up the blocking pool and the memory of a
//! burst of requests.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use crate::error::{ApiError, ErrorCode};

/// Seconds a refused caller is told to wait.
const RETRY_AFTER_SECS: u64 = 5;

/// The running jobs of one kind of heavy work.
#[derive(Debug)]
pub struct Slots {
    what: &'static str,
    most: usize,
    running: Mutex<Vec<String>>,
}

/// A running job; its slot frees when this is dropped.
#[derive(Debug)]
pub struct Slot {
    slots: Arc<Slots>,
    user: String,
}

impl Slots {
    /// Slots for `most` jobs at a time, one per user; `what` names the work in the
    /// refusal (`海报包`).
    pub fn new(what: &'static str, most: usize) -> Arc<Self> {
        Arc::new(Self {
            what,
            most: most.max(1),
            running: Mutex::new(Vec::new()),
        })
    }

    fn running(&self) -> MutexGuard<'_, Vec<String>> {
        self.running.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Takes a slot for `user`, or 429 when they have one running or all are taken.
    pub fn take(self: &Arc<Self>, user: &str) -> Result<Slot, ApiError> {
        let mut running = self.running();
        let detail = if running.iter().any(|u| u == user) {
            format!("您有一个{}正在处理，请等它完成后再试", self.what)
        } else if running.len() >= self.most {
            format!("正在处理的{}较多，请稍后再试", self.what)
        } else {
            running.push(user.to_owned());
            return Ok(Slot {
                slots: Arc::clone(self),
                user: user.to_owned(),
            });
        };
        Err(ApiError::new(ErrorCode::TooBusy, detail).with_retry_after(RETRY_AFTER_SECS))
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut running = self.slots.running();
        if let Some(at) = running.iter().position(|u| *u == self.user) {
            running.swap_remove(at);
        }
    }
}

/// The heavy work of the service and its limits.
#[derive(Debug)]
pub struct HeavyWork {
    /// Poster bundles (`/api/v1/posters.zip`): each draws on several threads.
    pub posters: Arc<Slots>,
    /// Roster imports: each holds a whole file and its parsed rows.
    pub imports: Arc<Slots>,
    /// Sheets of activation codes: each draws up to 50 A4 pages.
    pub sheets: Arc<Slots>,
    /// Survey photos: each decodes a camera's picture of up to 50 megapixels.
    pub photos: Arc<Slots>,
}

impl HeavyWork {
    /// The limits: two bundles, two imports, two sheets and two photos at a time.
    pub fn new() -> Self {
        Self {
            posters: Slots::new("海报包", 2),
            imports: Slots::new("名录导入", 2),
            sheets: Slots::new("激活码单", 2),
            photos: Slots::new("照片处理", 2),
        }
    }
}

impl Default for HeavyWork {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_job_per_user_a_few_in_all_and_slots_free_when_done() {
        let slots = Slots::new("海报包", 2);
        let first = slots.take("a");
        assert!(first.is_ok());
        assert!(matches!(slots.take("a"), Err(error) if error.code() == ErrorCode::TooBusy));
        let second = slots.take("b");
        assert!(second.is_ok());
        assert!(slots.take("c").is_err(), "two in all");
        drop(first);
        assert!(slots.take("a").is_ok(), "freed");
    }
}
