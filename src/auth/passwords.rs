//! Password hashing with argon2id at the crate defaults (m=19456 KiB, t=2, p=1), and
//! the cap on how many hashes run at once.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, LazyLock};

use actix_web::web;
use argon2::password_hash::SaltString;
use argon2::password_hash::rand_core::OsRng;
use argon2::{Argon2, PasswordHash, PasswordHasher, PasswordVerifier};
use rand::Rng;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::domain::account::NewPassword;
use crate::error::{ApiError, ErrorCode};

/// Caps the argon2 hashes and verifications running at once, process-wide. Each takes
/// 19 MiB and a core for tens of milliseconds; unbounded, a burst of sign-ins queues
/// on the blocking pool until every request is slow, and memory grows with the burst.
/// A short queue, as deep as the cap, keeps the cores busy from one hash to the next
/// (a waiting request holds no memory to speak of); past it a request is answered 503
/// at once. Start-up and the command line hash without it.
#[derive(Clone)]
pub struct HashingLimit {
    permits: Arc<Semaphore>,
    waiting: Arc<AtomicUsize>,
    queue: usize,
}

impl HashingLimit {
    /// At most `concurrent` at once, and as many waiting; 0 means one per CPU core.
    pub fn new(concurrent: usize) -> Self {
        let concurrent = match concurrent {
            0 => std::thread::available_parallelism().map_or(2, usize::from),
            n => n,
        };
        Self {
            permits: Arc::new(Semaphore::new(concurrent)),
            waiting: Arc::new(AtomicUsize::new(0)),
            queue: concurrent,
        }
    }

    /// A permit for one request's hashing, after a wait in the queue if need be; 503
    /// `hashing_busy` with `Retry-After: 1` when the queue is full too.
    pub async fn permit(&self) -> Result<HashPermit, ApiError> {
        let busy = || {
            ApiError::new(ErrorCode::HashingBusy, "登录和改密请求较多，请稍后重试")
                .with_retry_after(1)
        };
        if let Ok(permit) = Arc::clone(&self.permits).try_acquire_owned() {
            return Ok(HashPermit { _permit: permit });
        }
        let _in_queue = Queued::join(&self.waiting, self.queue).ok_or_else(busy)?;
        Arc::clone(&self.permits)
            .acquire_owned()
            .await
            .map(|permit| HashPermit { _permit: permit })
            .map_err(|_| busy())
    }
}

/// A place in the queue, given up when dropped (also when the request is).
struct Queued<'a>(&'a AtomicUsize);

impl<'a> Queued<'a> {
    fn join(waiting: &'a AtomicUsize, queue: usize) -> Option<Self> {
        let place = Self(waiting);
        (waiting.fetch_add(1, Ordering::AcqRel) < queue).then_some(place)
    }
}

impl Drop for Queued<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Leave to run password hashing; released when dropped, after its work.
pub struct HashPermit {
    _permit: OwnedSemaphorePermit,
}

impl HashPermit {
    /// Runs `work` (calls of [`hash`] and [`verify`]) on the blocking pool, holding the
    /// permit until it returns.
    pub async fn run<T, F>(self, work: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        web::block(move || {
            let _held = self;
            work()
        })
        .await
        .map_err(ApiError::internal)
    }
}

/// Hashes a password that passed the policy. CPU-heavy: on a request, call it inside
/// [`HashPermit::run`].
pub fn hash(password: &NewPassword) -> Result<String, ApiError> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.expose().as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|e| ApiError::internal(anyhow::anyhow!("argon2: {e}")))
}

/// What an account without a usable password stores instead of a hash (an account
/// waiting for its owner to set one with an activation code): no password matches it.
pub const NO_PASSWORD: &str = "!no-password";

/// Checks `password` against a stored hash; an unknown user, and an account without a
/// usable password ([`NO_PASSWORD`]), are checked against a dummy hash so that every
/// case takes the same time. CPU-heavy: on a request, call it inside
/// [`HashPermit::run`].
pub fn verify(stored: Option<&str>, password: &str) -> bool {
    let usable = stored.and_then(|hash| PasswordHash::new(hash).ok());
    let Some(parsed) = usable
        .clone()
        .or_else(|| PasswordHash::new(DUMMY_HASH.as_str()).ok())
    else {
        return false;
    };
    let matches = Argon2::default()
        .verify_password(password.as_bytes(), &parsed)
        .is_ok();
    matches && usable.is_some()
}

static DUMMY_HASH: LazyLock<String> = LazyLock::new(|| {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(random_password().as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .unwrap_or_default()
});

/// A random password for generated accounts: 20 characters from an alphabet without
/// look-alikes, in groups of five for reading aloud.
pub fn random_password() -> String {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyzABCDEFGHJKMNPQRSTUVWXYZ23456789";
    let mut rng = rand::rng();
    let chars: Vec<char> = (0..20)
        .map(|_| char::from(ALPHABET[rng.random_range(0..ALPHABET.len())]))
        .collect();
    chars
        .chunks(5)
        .map(|chunk| chunk.iter().collect::<String>())
        .collect::<Vec<_>>()
        .join("-")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_argon2id_with_at_least_default_cost_and_verify() -> Result<(), ApiError> {
        let password = NewPassword::parse("p", &random_password(), &[])
            .map_err(|e| ApiError::field(e.field, e.code, e.message))?;
        let hashed = hash(&password)?;
        assert!(
            hashed.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{hashed}"
        );
        assert!(verify(Some(&hashed), password.expose()));
        assert!(!verify(Some(&hashed), "wrong password"));
        assert!(!verify(None, password.expose()));
        assert!(!verify(Some(NO_PASSWORD), password.expose()));
        assert!(!verify(Some(NO_PASSWORD), NO_PASSWORD));
        Ok(())
    }

    #[tokio::test]
    async fn past_the_limit_and_its_queue_permits_are_refused_until_one_is_released() {
        let limit = HashingLimit::new(1);
        let held = limit.permit().await;
        assert!(held.is_ok());
        let queued = tokio::spawn({
            let limit = limit.clone();
            async move { limit.permit().await.map(drop) }
        });
        while limit.waiting.load(Ordering::Acquire) == 0 {
            tokio::task::yield_now().await;
        }
        let refused = limit.permit().await.err();
        assert_eq!(
            refused.as_ref().map(ApiError::code),
            Some(ErrorCode::HashingBusy)
        );
        assert_eq!(refused.and_then(|e| e.retry_after()), Some(1));
        drop(held);
        assert!(
            matches!(queued.await, Ok(Ok(()))),
            "the queued one got through"
        );
        assert!(limit.permit().await.is_ok());
        assert_eq!(
            limit.waiting.load(Ordering::Acquire),
            0,
            "the queue is empty"
        );
    }

    #[test]
    fn random_passwords_pass_the_policy() {
        for _ in 0..20 {
            assert!(NewPassword::parse("p", &random_password(), &[]).is_ok());
        }
    }
}
