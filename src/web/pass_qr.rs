//! The pass page's QR code. It encodes only the pass's own URL, so it is drawn once
//! per pass and later views reuse the image from a bounded in-memory cache.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use actix_web::web;
use data_encoding::BASE64;

use crate::codes::render::{self, Ecc, QrOptions};
use crate::error::ApiError;

/// Passes whose image stays cached (about 3 KB each); the oldest leave first.
pub const CAPACITY: usize = 2048;

const OPTIONS: QrOptions = QrOptions {
    size: 480,
    margin: 4,
    ecc: Ecc::M,
};

/// Pass QR codes as base64 PNG, by the URL they encode.
pub struct PassQrs {
    capacity: usize,
    cache: Mutex<Cache>,
}

#[derive(Default)]
struct Cache {
    images: HashMap<String, Arc<str>>,
    /// Insertion order, oldest first.
    order: VecDeque<String>,
}

impl Default for PassQrs {
    fn default() -> Self {
        Self::new(CAPACITY)
    }
}

impl PassQrs {
    /// An empty cache of at most `capacity` images.
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity,
            cache: Mutex::default(),
        }
    }

    /// The QR code of `url` as base64 PNG; drawn on the blocking pool when not cached.
    pub async fn base64_png(&self, url: &str) -> Result<Arc<str>, ApiError> {
        if let Some(image) = self.cached(url) {
            return Ok(image);
        }
        let content = url.to_owned();
        let png = web::block(move || render::qr_png(&content, OPTIONS))
            .await
            .map_err(ApiError::internal)?
            .map_err(ApiError::internal)?;
        let image: Arc<str> = BASE64.encode(&png).into();
        self.keep(url, Arc::clone(&image));
        Ok(image)
    }

    fn cached(&self, url: &str) -> Option<Arc<str>> {
        self.lock().images.get(url).cloned()
    }

    fn keep(&self, url: &str, image: Arc<str>) {
        let mut cache = self.lock();
        if cache.images.insert(url.to_owned(), image).is_none() {
            cache.order.push_back(url.to_owned());
        }
        while cache.order.len() > self.capacity {
            if let Some(oldest) = cache.order.pop_front() {
                cache.images.remove(&oldest);
            }
        }
    }

    /// A panic cannot leave the map and its order half-updated in a way that matters:
    /// at worst an image is dropped early.
    fn lock(&self) -> MutexGuard<'_, Cache> {
        self.cache.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn the_cache_keeps_the_newest_images_up_to_its_capacity() {
        let qrs = PassQrs::new(2);
        for url in ["a", "b", "a", "c"] {
            qrs.keep(url, Arc::from(url.to_uppercase()));
        }
        assert_eq!(qrs.cached("a"), None);
        assert_eq!(qrs.cached("b").as_deref(), Some("B"));
        assert_eq!(qrs.cached("c").as_deref(), Some("C"));
        assert_eq!(qrs.lock().images.len(), 2);
    }
}
