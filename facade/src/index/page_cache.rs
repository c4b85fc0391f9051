//! Whole organization pages, kept as the bytes answered: Studio asks for the
//! same page (no search, no status filter) every time the organization's
//! home is shown, and while the organization's list keeps its generation
//! the answer is the same bytes. Bounded in bytes; emptied when full.

use std::collections::HashMap;
use std::sync::Mutex;

use bytes::Bytes;

use crate::index::project_index::Order;

/// The most page bytes kept at once.
const CAPACITY_BYTES: usize = 8 * 1024 * 1024;

/// Which page: organization, order, offset, limit.
type PageKey = (String, Order, usize, usize);

#[derive(Default)]
pub struct PageCache(Mutex<Kept>);

#[derive(Default)]
struct Kept {
    pages: HashMap<PageKey, (u64, Bytes)>,
    bytes: usize,
}

impl PageCache {
    /// The page kept for `key` at `generation`, if any.
    pub fn get(&self, key: &PageKey, generation: u64) -> Option<Bytes> {
        let kept = self.0.lock().unwrap_or_else(|p| p.into_inner());
        kept.pages
            .get(key)
            .filter(|(kept_at, _)| *kept_at == generation)
            .map(|(_, body)| body.clone())
    }

    /// Keeps `body` as `key`'s page at `generation`.
    pub fn put(&self, key: PageKey, generation: u64, body: Bytes) {
        let mut kept = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if kept.bytes + body.len() > CAPACITY_BYTES {
            kept.pages.clear();
            kept.bytes = 0;
        }
        kept.bytes += body.len();
        if let Some((_, replaced)) = kept.pages.insert(key, (generation, body)) {
            kept.bytes -= replaced.len();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(organization: &str) -> PageKey {
        (organization.to_string(), Order::NameAscending, 0, 96)
    }

    #[test]
    fn a_page_is_served_only_at_its_generation_and_the_bytes_stay_bounded() {
        let cache = PageCache::default();
        cache.put(key("acme"), 7, Bytes::from_static(b"page"));
        assert_eq!(cache.get(&key("acme"), 7).as_deref(), Some(&b"page"[..]));
        assert_eq!(cache.get(&key("acme"), 8), None, "the list changed");
        assert_eq!(cache.get(&key("globex"), 7), None);
        cache.put(key("acme"), 8, Bytes::from_static(b"newer"));
        assert_eq!(cache.get(&key("acme"), 8).as_deref(), Some(&b"newer"[..]));
        let big = Bytes::from(vec![b' '; CAPACITY_BYTES / 2 + 1]);
        cache.put(key("one"), 1, big.clone());
        cache.put(key("two"), 1, big);
        assert_eq!(cache.get(&key("one"), 1), None, "emptied when full");
        assert!(cache.get(&key("two"), 1).is_some());
        assert!(cache.0.lock().expect("lock").bytes <= CAPACITY_BYTES);
    }
}
