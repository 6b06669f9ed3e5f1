//! Recycled buffers, so that capturing allocates nothing in steady state.
//!
//! A capture writes into a `String` taken from here and hands that very `String` to the
//! exporter with its record (no copy); the exporter gives it back once the record is encoded.
//! Each thread keeps a few spare items of its own (no lock per capture); a thread with too
//! many moves a batch to one shared list, and a thread with none takes a batch from it, so
//! buffers freed on the exporter thread flow back to the threads that record. What is kept
//! is bounded: at most [`SHARED_MAX`] batches and [`SHARED_MAX_BYTES`] shared, `2 × BATCH`
//! items per thread, and a buffer grown past [`MAX_KEPT_CAPACITY`] (a capture near a large
//! budget) is freed rather than kept.

use std::cell::RefCell;
use std::marker::PhantomData;
use std::thread::LocalKey;

use parking_lot::Mutex;

/// Items moved between a thread's spares and the shared list at a time, as one `Vec`.
const BATCH: usize = 32;
/// Batches the shared list keeps at most; more are freed. The exporter gives back a whole
/// drain at once: up to half of each recording thread's ring (2,048 records, two strings
/// each, at the default size), so the list holds a few drains' worth.
const SHARED_MAX: usize = 16 * 1024 / BATCH;
/// Bytes of capacity the shared list keeps at most (strings: capacity; boxes: their size).
const SHARED_MAX_BYTES: usize = 4 << 20;
/// Buffers with more capacity than this are not kept.
pub(crate) const MAX_KEPT_CAPACITY: usize = 4096;

/// The items of one pool and where each thread keeps its spares of them.
///
/// A type rather than a field of [`Recycler`], so that the thread-local is named at compile
/// time: read through a pointer stored in a static, its accessor is an indirect call on
/// every take and give.
pub(crate) trait Spares: 'static {
    /// What the pool holds.
    type Item: 'static;
    /// This thread's spare items.
    fn local() -> &'static LocalKey<RefCell<Vec<Self::Item>>>;
    /// The bytes an item holds, for the shared list's byte bound.
    fn weight(item: &Self::Item) -> usize;
}

/// A pool of [`Spares::Item`]: a shared list of batches and each thread's spares.
///
/// Batches move whole: a thread out of spares swaps its empty `Vec` for a full one (a pop
/// under the lock, whatever the batch size), and a thread with too many fills an emptied
/// `Vec` for the shared list, so the `Vec`s themselves are reused: no allocation either way
/// in steady state.
pub(crate) struct Recycler<S: Spares> {
    shared: Mutex<Shared<S::Item>>,
    spares: PhantomData<S>,
}

struct Shared<T> {
    /// Full batches, each with its weight.
    full: Vec<(Vec<T>, usize)>,
    /// Emptied batches, for the next spill.
    empty: Vec<Vec<T>>,
    bytes: usize,
}

impl<S: Spares> Recycler<S> {
    pub(crate) const fn new() -> Self {
        Self {
            shared: Mutex::new(Shared {
                full: Vec::new(),
                empty: Vec::new(),
                bytes: 0,
            }),
            spares: PhantomData,
        }
    }

    /// A spare item, if there is one here or in the shared list.
    #[inline]
    pub(crate) fn take(&'static self) -> Option<S::Item> {
        S::local()
            .try_with(|local| {
                let mut local = local.try_borrow_mut().ok()?;
                if let Some(item) = local.pop() {
                    return Some(item);
                }
                self.refill(&mut local)
            })
            .ok()
            .flatten()
    }

    #[cold]
    fn refill(&self, local: &mut Vec<S::Item>) -> Option<S::Item> {
        let mut shared = self.shared.lock();
        let (batch, bytes) = shared.full.pop()?;
        shared.bytes -= bytes;
        let emptied = std::mem::replace(local, batch);
        if emptied.capacity() > 0 && shared.empty.len() < SHARED_MAX {
            shared.empty.push(emptied);
        }
        drop(shared);
        local.pop()
    }

    /// Keeps `item` for a later [`Recycler::take`] (on any thread).
    #[inline]
    pub(crate) fn give(&'static self, item: S::Item) {
        let _ = S::local().try_with(|local| {
            if let Ok(mut local) = local.try_borrow_mut() {
                local.push(item);
                if local.len() >= 2 * BATCH {
                    self.spill(&mut local);
                }
            }
        });
    }

    /// Moves `BATCH` of this thread's spares to the shared list, or frees them if it is full.
    #[cold]
    fn spill(&self, local: &mut Vec<S::Item>) {
        let bytes: usize = local[BATCH..].iter().map(S::weight).sum();
        let mut shared = self.shared.lock();
        if shared.full.len() >= SHARED_MAX || shared.bytes + bytes > SHARED_MAX_BYTES {
            drop(shared);
            local.truncate(BATCH);
            return;
        }
        let mut batch = shared.empty.pop().unwrap_or_default();
        batch.extend(local.drain(BATCH..));
        shared.bytes += bytes;
        shared.full.push((batch, bytes));
    }
}

thread_local! {
    static SPARE_STRINGS: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) };
}

/// Captures' strings.
struct Strings;

impl Spares for Strings {
    type Item = String;

    #[inline(always)]
    fn local() -> &'static LocalKey<RefCell<Vec<String>>> {
        &SPARE_STRINGS
    }

    fn weight(text: &String) -> usize {
        text.capacity()
    }
}

static STRINGS: Recycler<Strings> = Recycler::new();

/// Capacity every capture's string starts with: what a small argument or result needs, so
/// that a recycled string does not grow in steps while it is written.
const MIN_CAPACITY: usize = 256;

/// An empty string, with the capacity of an earlier capture's when one is spare.
#[inline]
pub(crate) fn take_string() -> String {
    match STRINGS.take() {
        Some(text) if text.capacity() >= MIN_CAPACITY => text,
        Some(mut text) => {
            text.reserve(MIN_CAPACITY);
            text
        }
        None => String::with_capacity(MIN_CAPACITY),
    }
}

/// Gives a capture's string back for reuse (emptied), unless it grew large or was shrunk
/// below what a capture starts with (it waited in a backlog; taking it would reallocate).
#[inline]
pub(crate) fn give_string(mut text: String) {
    let capacity = text.capacity();
    if !(MIN_CAPACITY..=MAX_KEPT_CAPACITY).contains(&capacity) {
        return;
    }
    text.clear();
    STRINGS.give(text);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_come_back_empty_with_their_capacity() {
        let mut text = String::with_capacity(MIN_CAPACITY + 100);
        text.push_str("captured");
        let address = text.as_ptr();
        give_string(text);
        let again = take_string();
        assert!(again.is_empty());
        assert_eq!(again.as_ptr(), address);
        assert!(again.capacity() >= MIN_CAPACITY + 100);
    }

    #[test]
    fn large_strings_are_not_kept() {
        give_string(String::with_capacity(MAX_KEPT_CAPACITY + 1));
        assert!(take_string().capacity() <= MAX_KEPT_CAPACITY);
    }

    #[test]
    fn strings_shrunk_below_the_starting_capacity_are_not_kept() {
        std::thread::spawn(|| {
            give_string(String::with_capacity(MIN_CAPACITY / 2));
            assert!(SPARE_STRINGS.with_borrow(Vec::is_empty));
            give_string(String::with_capacity(MIN_CAPACITY));
            assert_eq!(SPARE_STRINGS.with_borrow(Vec::len), 1);
        })
        .join()
        .unwrap();
    }

    #[test]
    fn buffers_freed_on_one_thread_are_taken_on_another() {
        std::thread::spawn(|| {
            for _ in 0..4 * BATCH {
                give_string(String::with_capacity(MIN_CAPACITY + 64));
            }
        })
        .join()
        .unwrap();
        std::thread::spawn(|| assert!(take_string().capacity() >= MIN_CAPACITY + 64))
            .join()
            .unwrap();
    }
}
