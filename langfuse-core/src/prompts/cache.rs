//! The cache: one slot per (name, version) or (name, label), the Python SDK's key.
//!
//! Reading is lock-free: the map of slots and each slot's entry sit behind `arc-swap`
//! pointers, so a fresh hit is two atomic loads (no shared write on their account), a
//! hash lookup, a clock read and the `Arc` count of the prompt handed out. Nothing here is
//! shared with the exporter. Writers (a new key, a refresh, an eviction) replace what they
//! change: the map only when a key is added (under a mutex readers never take), an entry by
//! a pointer swap.
//!
//! A slot also holds its in-flight fetch, so that however many callers miss or find the
//! entry stale at once, one request is made (single flight).

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use arc_swap::{ArcSwap, ArcSwapOption};
use parking_lot::{Condvar, Mutex};
use tokio::sync::Notify;

use super::clock::Nanos;
use super::error::PromptError;
use super::types::Prompt;

/// Which version of a prompt: a version number, else a label.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum Selector {
    Version(i64),
    Label(Box<str>),
}

/// A [`Selector`] without the allocation, for lookups.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SelectorRef<'a> {
    Version(i64),
    Label(&'a str),
}

impl Selector {
    fn matches(&self, other: SelectorRef<'_>) -> bool {
        match (self, other) {
            (Self::Version(a), SelectorRef::Version(b)) => *a == b,
            (Self::Label(a), SelectorRef::Label(b)) => **a == *b,
            _ => false,
        }
    }
}

impl From<SelectorRef<'_>> for Selector {
    fn from(selector: SelectorRef<'_>) -> Self {
        match selector {
            SelectorRef::Version(version) => Self::Version(version),
            SelectorRef::Label(label) => Self::Label(label.into()),
        }
    }
}

/// A cache key. Shown as the Python SDK writes its keys: `name-version:3`,
/// `name-label:production`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct Key {
    pub(crate) name: Arc<str>,
    pub(crate) selector: Selector,
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.selector {
            Selector::Version(version) => write!(f, "{}-version:{version}", self.name),
            Selector::Label(label) => write!(f, "{}-label:{label}", self.name),
        }
    }
}

/// A version of a prompt as cached.
#[derive(Debug)]
pub(crate) struct Entry {
    pub(crate) prompt: Prompt,
    pub(crate) fetched_at: Nanos,
    pub(crate) expires_at: Nanos,
    /// A write (`create_prompt`, `update_prompt_labels`) changed the prompt since: the next
    /// caller waits for the new version, and this one is kept only to serve if that fails.
    pub(crate) invalidated: bool,
}

/// Everything the cache knows about one key.
pub(crate) struct Slot {
    pub(crate) key: Key,
    /// The last good version, if any (evicted by a 404).
    pub(crate) entry: ArcSwapOption<Entry>,
    /// The fetch in flight, if any.
    flight: Mutex<Option<Arc<Flight>>>,
    /// Bumped by every write to the prompt: a fetch that started before it does not store
    /// what it got.
    pub(crate) generation: AtomicU64,
    /// Failed fetches in a row.
    pub(crate) failures: AtomicU32,
    /// Until when (on the cache's clock) no new fetch starts for a stale entry, and a caller
    /// with a fallback gets it without waiting, after a failure.
    pub(crate) retry_at: AtomicU64,
}

impl fmt::Debug for Slot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Slot")
            .field("key", &self.key)
            .field("entry", &self.entry.load())
            .finish_non_exhaustive()
    }
}

impl Slot {
    fn new(key: Key) -> Self {
        Self {
            key,
            entry: ArcSwapOption::empty(),
            flight: Mutex::new(None),
            generation: AtomicU64::new(0),
            failures: AtomicU32::new(0),
            retry_at: AtomicU64::new(0),
        }
    }

    /// The flight in progress, or a new one made by `start` (which must then be run).
    pub(crate) fn join_or_start(&self, start: impl FnOnce(u64) -> Arc<Flight>) -> Joined {
        let mut current = self.flight.lock();
        if let Some(flight) = &*current {
            return Joined::Existing(Arc::clone(flight));
        }
        let flight = start(self.generation.load(Ordering::Acquire));
        *current = Some(Arc::clone(&flight));
        Joined::Started(flight)
    }

    /// Whether a fetch is in flight.
    #[cfg(test)]
    pub(crate) fn in_flight(&self) -> bool {
        self.flight.lock().is_some()
    }

    /// Forgets `flight` if it is still the slot's (a write may have detached it already).
    pub(crate) fn detach(&self, flight: &Arc<Flight>) {
        let mut current = self.flight.lock();
        if current.as_ref().is_some_and(|f| Arc::ptr_eq(f, flight)) {
            *current = None;
        }
    }

    /// A write changed the prompt: what is in flight or cached may be older than it.
    pub(crate) fn invalidate(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
        *self.flight.lock() = None;
        self.retry_at.store(0, Ordering::Release);
        if let Some(entry) = self.entry.load_full() {
            self.entry.store(Some(Arc::new(Entry {
                prompt: entry.prompt.clone(),
                fetched_at: entry.fetched_at,
                expires_at: entry.expires_at,
                invalidated: true,
            })));
        }
    }
}

pub(crate) enum Joined {
    /// Another caller's fetch, to wait for.
    Existing(Arc<Flight>),
    /// A new fetch: the caller runs it.
    Started(Arc<Flight>),
}

impl Joined {
    pub(crate) fn flight(&self) -> &Arc<Flight> {
        match self {
            Self::Existing(flight) | Self::Started(flight) => flight,
        }
    }
}

/// One fetch, and the callers waiting for it: blocking ones on the condition variable, async
/// ones (on the SDK's runtime) on the notification.
pub(crate) struct Flight {
    /// The slot's generation when it started.
    pub(crate) generation: u64,
    /// Requests the fetch may make (for the timeout error of callers that give up on it).
    pub(crate) attempts: u32,
    result: Mutex<Option<Result<Prompt, PromptError>>>,
    done: Condvar,
    notify: Notify,
}

impl fmt::Debug for Flight {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Flight")
            .field("generation", &self.generation)
            .field("done", &self.result.lock().is_some())
            .finish()
    }
}

impl Flight {
    pub(crate) fn new(generation: u64, attempts: u32) -> Arc<Self> {
        Arc::new(Self {
            generation,
            attempts,
            result: Mutex::new(None),
            done: Condvar::new(),
            notify: Notify::new(),
        })
    }

    /// Publishes the result and wakes every waiter.
    pub(crate) fn complete(&self, result: Result<Prompt, PromptError>) {
        let mut slot = self.result.lock();
        if slot.is_none() {
            *slot = Some(result);
        }
        drop(slot);
        self.done.notify_all();
        self.notify.notify_waiters();
    }

    /// The result, if the fetch has finished.
    pub(crate) fn result(&self) -> Option<Result<Prompt, PromptError>> {
        self.result.lock().clone()
    }

    /// Waits on this thread until the result or `deadline`; `None` at the deadline.
    pub(crate) fn wait_blocking(&self, deadline: Instant) -> Option<Result<Prompt, PromptError>> {
        let mut result = self.result.lock();
        while result.is_none() {
            if self.done.wait_until(&mut result, deadline).timed_out() {
                break;
            }
        }
        result.clone()
    }

    /// Waits for the result; for tasks on the SDK's runtime, which keeps the deadline.
    pub(crate) async fn wait(&self) -> Result<Prompt, PromptError> {
        loop {
            // Registered before the check, so a completion in between is not missed.
            let notified = self.notify.notified();
            if let Some(result) = self.result() {
                return result;
            }
            notified.await;
        }
    }
}

type Slots = Arc<[Arc<Slot>]>;

/// The slots by name, then by selector (a name rarely has more than a few).
#[derive(Default)]
pub(crate) struct Cache {
    map: ArcSwap<HashMap<Arc<str>, Slots>>,
    /// Taken by writers of the map only; readers never wait for it.
    writer: Mutex<()>,
}

impl fmt::Debug for Cache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Cache")
            .field("names", &self.map.load().len())
            .finish()
    }
}

impl Cache {
    /// Runs `f` on the slot of this key, if there is one, without taking any lock.
    #[inline]
    pub(crate) fn with_slot<R>(
        &self,
        name: &str,
        selector: SelectorRef<'_>,
        f: impl FnOnce(&Arc<Slot>) -> R,
    ) -> Option<R> {
        let map = self.map.load();
        let slots = map.get(name)?;
        let slot = slots
            .iter()
            .find(|slot| slot.key.selector.matches(selector))?;
        Some(f(slot))
    }

    /// The slot of this key, made if there is none.
    pub(crate) fn slot(&self, name: &str, selector: SelectorRef<'_>) -> Arc<Slot> {
        if let Some(slot) = self.with_slot(name, selector, Arc::clone) {
            return slot;
        }
        let _writer = self.writer.lock();
        // Another writer may have added it meanwhile.
        if let Some(slot) = self.with_slot(name, selector, Arc::clone) {
            return slot;
        }
        let current = self.map.load_full();
        let mut map: HashMap<Arc<str>, Slots> = (*current).clone();
        let (name, mut slots): (Arc<str>, Vec<Arc<Slot>>) = match map.get_key_value(name) {
            Some((name, slots)) => (Arc::clone(name), slots.to_vec()),
            None => (Arc::from(name), Vec::new()),
        };
        let slot = Arc::new(Slot::new(Key {
            name: Arc::clone(&name),
            selector: selector.into(),
        }));
        slots.push(Arc::clone(&slot));
        map.insert(name, slots.into());
        self.map.store(Arc::new(map));
        slot
    }

    /// Every slot of the prompt `name` (and of no other name).
    pub(crate) fn slots_of(&self, name: &str) -> Vec<Arc<Slot>> {
        self.map
            .load()
            .get(name)
            .map(|slots| slots.to_vec())
            .unwrap_or_default()
    }
}

/// The wait before the next fetch after `failures` failures in a row: one second, doubling,
/// at most a minute.
pub(crate) fn retry_gap(failures: u32) -> Duration {
    Duration::from_secs(1u64 << failures.saturating_sub(1).min(6)).min(Duration::from_secs(60))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::prompts::types::TextPrompt;

    #[test]
    fn keys_are_shown_as_the_python_sdk_writes_them() {
        let key = |selector| Key {
            name: "support/triage".into(),
            selector,
        };
        assert_eq!(
            key(Selector::Version(3)).to_string(),
            "support/triage-version:3"
        );
        assert_eq!(
            key(Selector::Label("production".into())).to_string(),
            "support/triage-label:production"
        );
    }

    #[test]
    fn one_slot_per_key_and_names_are_exact() {
        let cache = Cache::default();
        let a = cache.slot("foo", SelectorRef::Label("production"));
        let b = cache.slot("foo", SelectorRef::Label("production"));
        assert!(Arc::ptr_eq(&a, &b));
        let v1 = cache.slot("foo", SelectorRef::Version(1));
        assert!(!Arc::ptr_eq(&a, &v1));
        cache.slot("foobar", SelectorRef::Label("production"));
        assert_eq!(cache.slots_of("foo").len(), 2);
        assert_eq!(cache.slots_of("foobar").len(), 1);
        assert!(cache.slots_of("fo").is_empty());
        assert!(
            cache
                .with_slot("foo", SelectorRef::Version(2), |_| ())
                .is_none()
        );
    }

    #[test]
    fn concurrent_callers_join_one_flight() {
        let slot = Slot::new(Key {
            name: "p".into(),
            selector: Selector::Version(1),
        });
        let first = slot.join_or_start(|generation| Flight::new(generation, 3));
        assert!(matches!(first, Joined::Started(_)));
        let second = slot.join_or_start(|_| unreachable!("a second flight"));
        assert!(matches!(second, Joined::Existing(_)));
        assert!(Arc::ptr_eq(first.flight(), second.flight()));
        let waiter = {
            let flight = Arc::clone(first.flight());
            std::thread::spawn(move || {
                flight.wait_blocking(Instant::now() + Duration::from_secs(10))
            })
        };
        let prompt = Prompt::from(TextPrompt::new("p", "x"));
        first.flight().complete(Ok(prompt.clone()));
        slot.detach(first.flight());
        assert_eq!(waiter.join().unwrap(), Some(Ok(prompt)));
        assert!(!slot.in_flight());
    }

    #[test]
    fn a_blocking_wait_ends_at_its_deadline() {
        let flight = Flight::new(0, 1);
        let started = Instant::now();
        assert_eq!(
            flight.wait_blocking(started + Duration::from_millis(30)),
            None
        );
        assert!(started.elapsed() >= Duration::from_millis(30));
    }

    #[test]
    fn invalidation_detaches_the_flight_and_marks_the_entry() {
        let slot = Slot::new(Key {
            name: "p".into(),
            selector: Selector::Version(1),
        });
        slot.entry.store(Some(Arc::new(Entry {
            prompt: Prompt::from(TextPrompt::new("p", "x")),
            fetched_at: 0,
            expires_at: 10,
            invalidated: false,
        })));
        let joined = slot.join_or_start(|generation| Flight::new(generation, 1));
        assert_eq!(joined.flight().generation, 0);
        slot.invalidate();
        assert!(!slot.in_flight());
        assert_eq!(slot.generation.load(Ordering::Acquire), 1);
        assert!(slot.entry.load().as_ref().unwrap().invalidated);
    }

    #[test]
    fn the_retry_gap_doubles_to_a_minute() {
        let gaps: Vec<u64> = (1..=9).map(|n| retry_gap(n).as_secs()).collect();
        assert_eq!(gaps, [1, 2, 4, 8, 16, 32, 60, 60, 60]);
        assert_eq!(retry_gap(0), Duration::from_secs(1));
        assert_eq!(retry_gap(u32::MAX), Duration::from_secs(60));
    }
}
