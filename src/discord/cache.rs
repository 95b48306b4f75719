//! A map that forgets, for everything the Discord adapter keeps in memory (DM channels, names,
//! refused DMs, previews waiting for a click): at most a fixed number of entries, the least
//! recently used going first, and each entry at most a fixed time after it was written. Memory
//! stays bounded however many members, clicks or hosts come by.

use hashlink::LruCache;
use std::hash::Hash;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;
use tokio::time::Instant;

pub struct BoundedMap<K, V> {
    entries: Mutex<LruCache<K, (Instant, V)>>,
    ttl: Duration,
}

impl<K: Eq + Hash + Clone, V> BoundedMap<K, V> {
    /// At most `capacity` entries, each forgotten `ttl` after it was inserted.
    pub fn new(capacity: usize, ttl: Duration) -> Self {
        assert!(capacity > 0, "a bounded map holds at least one entry");
        Self {
            entries: Mutex::new(LruCache::new(capacity)),
            ttl,
        }
    }

    /// At most `capacity` entries, kept until they are the least recently used one too many.
    pub fn lru(capacity: usize) -> Self {
        Self::new(capacity, Duration::MAX)
    }

    /// The map, locked, for several steps that must happen together.
    pub fn lock(&self) -> Locked<'_, K, V> {
        self.lock_at(Instant::now())
    }

    fn lock_at(&self, now: Instant) -> Locked<'_, K, V> {
        Locked {
            entries: self.entries.lock().unwrap_or_else(|e| e.into_inner()),
            ttl: self.ttl,
            now,
        }
    }

    pub fn get(&self, key: &K) -> Option<V>
    where
        V: Clone,
    {
        self.lock().get(key).cloned()
    }

    pub fn insert(&self, key: K, value: V) {
        self.lock().insert(key, value);
    }

    pub fn remove(&self, key: &K) -> Option<V> {
        self.lock().remove(key)
    }
}

/// A locked [`BoundedMap`]; entries older than its time to live are as good as absent.
pub struct Locked<'a, K, V> {
    entries: MutexGuard<'a, LruCache<K, (Instant, V)>>,
    ttl: Duration,
    now: Instant,
}

impl<K: Eq + Hash + Clone, V> Locked<'_, K, V> {
    fn fresh(&self, at: Instant) -> bool {
        self.now.saturating_duration_since(at) < self.ttl
    }

    /// The value of `key` if it is still fresh (it becomes the most recently used); a stale one
    /// is dropped.
    pub fn get(&mut self, key: &K) -> Option<&V> {
        self.get_mut(key).map(|value| &*value)
    }

    /// The same, to change the value in place (it keeps its time of insertion).
    pub fn get_mut(&mut self, key: &K) -> Option<&mut V> {
        let at = self.entries.peek(key)?.0;
        if !self.fresh(at) {
            self.entries.remove(key);
            return None;
        }
        self.entries.get_mut(key).map(|(_, value)| value)
    }

    /// Inserts (or replaces) `key`; the least recently used entry goes if the map is full.
    pub fn insert(&mut self, key: K, value: V) {
        let now = self.now;
        self.entries.insert(key, (now, value));
    }

    /// Takes `key` out, fresh or not.
    pub fn remove(&mut self, key: &K) -> Option<V> {
        let (at, value) = self.entries.remove(key)?;
        self.fresh(at).then_some(value)
    }

    /// The keys of the fresh entries `matching`, least recently used first.
    pub fn keys_where(&self, matching: impl Fn(&V) -> bool) -> Vec<K> {
        self.entries
            .iter()
            .filter(|(_, (at, value))| self.fresh(*at) && matching(value))
            .map(|(key, _)| key.clone())
            .collect()
    }

    /// Entries held, stale ones included (they go when looked up or pushed out).
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_least_recently_used_entry_goes_when_full() {
        let map = BoundedMap::lru(3);
        for n in 1..=3 {
            map.insert(n, n * 10);
        }
        assert_eq!(map.get(&1), Some(10), "1 is now the most recently used");
        map.insert(4, 40);
        assert_eq!(map.lock().len(), 3);
        assert_eq!(map.get(&2), None, "the least recently used went");
        assert_eq!(
            (map.get(&1), map.get(&3), map.get(&4)),
            (Some(10), Some(30), Some(40))
        );
        for n in 100..10_000 {
            map.insert(n, n);
        }
        assert_eq!(map.lock().len(), 3, "never more than its capacity");
    }

    #[test]
    fn entries_expire_after_their_time_to_live() {
        let ttl = Duration::from_secs(60);
        let map = BoundedMap::new(10, ttl);
        let start = Instant::now();
        map.lock_at(start).insert("ada", 1);
        map.lock_at(start + Duration::from_secs(30)).insert("bo", 2);
        let later = start + ttl;
        assert_eq!(
            map.lock_at(later - Duration::from_millis(1)).get(&"ada"),
            Some(&1)
        );
        assert_eq!(map.lock_at(later).get(&"ada"), None, "expired");
        assert_eq!(map.lock_at(later).len(), 1, "and dropped when looked up");
        assert_eq!(map.lock_at(later).keys_where(|_| true), vec!["bo"]);
        assert_eq!(map.lock_at(later + ttl).remove(&"bo"), None, "stale");
        assert_eq!(map.lock().len(), 0);
    }

    #[test]
    fn changes_in_place_keep_the_time_of_insertion() {
        let ttl = Duration::from_secs(60);
        let map = BoundedMap::new(10, ttl);
        let start = Instant::now();
        map.lock_at(start).insert(1, String::from("draft"));
        let half = start + ttl / 2;
        map.lock_at(half).get_mut(&1).unwrap().push_str(" (fixed)");
        assert_eq!(
            map.lock_at(half).get(&1).map(String::as_str),
            Some("draft (fixed)")
        );
        assert_eq!(map.lock_at(start + ttl).get(&1), None);
    }

    #[test]
    fn keys_where_lists_the_least_recently_used_first() {
        let map = BoundedMap::lru(10);
        for n in 1..=6 {
            map.insert(n, n % 2 == 0);
        }
        map.get(&2);
        assert_eq!(map.lock().keys_where(|even| *even), vec![4, 6, 2]);
    }
}
