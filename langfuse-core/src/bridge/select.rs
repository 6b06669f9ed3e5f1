//! Which `tracing` spans become observations, decided once per callsite from its static
//! metadata, and the descriptors of a converted callsite.

use std::collections::HashMap;
use std::sync::LazyLock;
use std::sync::atomic::{AtomicPtr, AtomicUsize, Ordering};

use parking_lot::Mutex;
use tracing::level_filters::LevelFilter;
use tracing::subscriber::Interest;
use tracing::{Level, Metadata};
use tracing_subscriber::layer::{Context, Filter};

use super::fields::Plan;
use crate::capture::CaptureSetting;
use crate::model::{Descriptor, ObservationType};

/// Which spans and events the layer takes: spans with `gen_ai.*` or `langfuse.*` fields,
/// spans of the chosen targets (or all spans), and ERROR events (which mark the converted span
/// they occur in). The per-layer filter holds one, and the layer a copy, to skip the spans the
/// filter lets through without taking them (see `callsite_enabled`).
#[derive(Debug, Clone, Default)]
pub(super) struct Selection {
    pub(super) targets: Vec<String>,
    pub(super) all_spans: bool,
    /// Nothing else in the subscriber sees spans (the layer sits on the bare registry): the
    /// callsites it does not take are disabled outright.
    pub(super) exclusive: bool,
}

/// The layer's answers for the callsites it has seen, asked for every span that reaches it.
pub(super) struct Memo {
    slots: Box<[AtomicUsize; MEMO]>,
}

/// Slots of a memo: more than a service has hot callsites.
const MEMO: usize = 256;

impl Default for Memo {
    fn default() -> Self {
        Self {
            slots: Box::new([const { AtomicUsize::new(0) }; MEMO]),
        }
    }
}

impl Memo {
    /// The descriptors of a span's callsite if `selection` takes its spans; `None` for the
    /// callsites it ignores, and for events.
    ///
    /// A slot holds the address of the callsite's descriptors when they are taken, else the
    /// callsite's own address with its low bit set (both are word-aligned). A collision only
    /// replaces an answer, worked out again when next asked.
    #[inline]
    pub(super) fn converts(
        &self,
        selection: &Selection,
        metadata: &'static Metadata<'static>,
    ) -> Option<&'static Descriptors> {
        let address = metadata as *const Metadata<'static> as usize;
        let hash = (address as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        let slot = &self.slots[(hash >> 56) as usize % MEMO];
        let known = slot.load(Ordering::Acquire);
        if known == address | 1 {
            return None;
        }
        if known != 0 && known & 1 == 0 {
            // SAFETY: untagged values in the memo are only ever addresses of descriptors,
            // which the table of `descriptors` never frees.
            let descriptors = unsafe { &*(known as *const Descriptors) };
            if descriptors.metadata == address {
                return Some(descriptors);
            }
        }
        decide(selection, metadata, slot)
    }
}

#[cold]
fn decide(
    selection: &Selection,
    metadata: &'static Metadata<'static>,
    slot: &AtomicUsize,
) -> Option<&'static Descriptors> {
    let taken = (metadata.is_span() && selection.selects(metadata)).then(|| descriptors(metadata));
    let answer = match taken {
        Some(descriptors) => descriptors as *const Descriptors as usize,
        None => metadata as *const Metadata<'static> as usize | 1,
    };
    slot.store(answer, Ordering::Release);
    taken
}

impl Selection {
    fn selects(&self, metadata: &Metadata<'_>) -> bool {
        if metadata.is_event() {
            return *metadata.level() == Level::ERROR;
        }
        self.all_spans
            || has_genai_fields(metadata)
            || self
                .targets
                .iter()
                .any(|t| target_matches(metadata.target(), t))
    }
}

/// Whether a callsite declares a field of the GenAI conventions or of Langfuse's own.
fn has_genai_fields(metadata: &Metadata<'_>) -> bool {
    metadata.fields().iter().any(|f| {
        let name = f.name();
        name.starts_with("gen_ai.") || name.starts_with("langfuse.")
    })
}

/// `sqlx` matches `sqlx` and `sqlx::query`, not `sqlx_core`, as `EnvFilter` directives do.
fn target_matches(target: &str, wanted: &str) -> bool {
    target
        .strip_prefix(wanted)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with("::"))
}

impl<S> Filter<S> for Selection {
    fn enabled(&self, metadata: &Metadata<'_>, _: &Context<'_, S>) -> bool {
        // Only asked for callsites whose interest is "sometimes" (another layer's filter
        // decides per span); rare enough to need no memo.
        self.selects(metadata)
    }

    fn callsite_enabled(&self, metadata: &'static Metadata<'static>) -> Interest {
        if self.selects(metadata) {
            if metadata.is_span() {
                // Built here, once, rather than on the first span.
                descriptors(metadata);
            }
            return Interest::always();
        }
        // Alone on the registry, `never` disables the callsite: it costs nothing. Beside
        // other layers, `never` would make its interest "sometimes" wherever another layer
        // wants it (per-layer filtering then asks every filter about every span of it, which
        // costs that layer's spans more than the layer's own check in `on_new_span`); so it
        // stays theirs to decide.
        if self.exclusive {
            Interest::never()
        } else {
            Interest::always()
        }
    }

    fn max_level_hint(&self) -> Option<LevelFilter> {
        Some(LevelFilter::TRACE)
    }
}

/// The descriptors of one converted callsite: its static name, in each observation type, so
/// that a span's type (known from its field values, per span) is a pointer into this table;
/// and what each of its fields maps to.
pub(super) struct Descriptors {
    metadata: usize,
    by_type: [Descriptor; 10],
    pub(super) plan: Plan,
}

impl Descriptors {
    fn new(metadata: &'static Metadata<'static>) -> Self {
        let name = metadata.name();
        let of = |kind| Descriptor::new(name, kind, CaptureSetting::Off, CaptureSetting::Off);
        Self {
            metadata: metadata as *const Metadata<'static> as usize,
            by_type: ObservationType::ALL.map(of),
            plan: Plan::new(metadata),
        }
    }

    /// The descriptor of this callsite as an observation of `kind`.
    #[inline]
    pub(super) fn of(&'static self, kind: ObservationType) -> &'static Descriptor {
        // `ALL` lists the types in declaration order (a test below checks it).
        &self.by_type[kind as usize]
    }
}

/// Slots of the lock-free table of callsites: more than a service has converted callsites;
/// past it, a locked map takes the rest.
const SLOTS: usize = 1024;

static TABLE: [AtomicPtr<Descriptors>; SLOTS] =
    [const { AtomicPtr::new(std::ptr::null_mut()) }; SLOTS];

static OVERFLOW: LazyLock<Mutex<HashMap<usize, &'static Descriptors>>> =
    LazyLock::new(Default::default);

/// The descriptors of a callsite, created (and kept for the life of the process, as the
/// callsite itself is) on first use. A lookup is a few atomic loads.
pub(super) fn descriptors(metadata: &'static Metadata<'static>) -> &'static Descriptors {
    let key = metadata as *const Metadata<'static> as usize;
    let start = (key.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 7) % SLOTS;
    for probe in 0..SLOTS {
        let slot = &TABLE[(start + probe) % SLOTS];
        let mut current = slot.load(Ordering::Acquire);
        if current.is_null() {
            let new: *mut Descriptors = Box::into_raw(Box::new(Descriptors::new(metadata)));
            match slot.compare_exchange(
                std::ptr::null_mut(),
                new,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                // SAFETY: the table never frees what it holds.
                Ok(_) => return unsafe { &*new },
                Err(existing) => {
                    // SAFETY: `new` was never shared.
                    drop(unsafe { Box::from_raw(new) });
                    current = existing;
                }
            }
        }
        // SAFETY: non-null slots hold descriptors that live for the rest of the process.
        let descriptors = unsafe { &*current };
        if descriptors.metadata == key {
            return descriptors;
        }
    }
    OVERFLOW
        .lock()
        .entry(key)
        .or_insert_with(|| Box::leak(Box::new(Descriptors::new(metadata))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_are_indexed_by_their_discriminant() {
        for (index, kind) in ObservationType::ALL.into_iter().enumerate() {
            assert_eq!(kind as usize, index, "{kind:?}");
        }
    }

    #[test]
    fn targets_match_as_env_filter_directives_do() {
        assert!(target_matches("sqlx", "sqlx"));
        assert!(target_matches("sqlx::query", "sqlx"));
        assert!(!target_matches("sqlx_core::pool", "sqlx"));
        assert!(target_matches("tower_http::trace::make_span", "tower_http"));
        assert!(!target_matches("tower", "tower_http"));
    }
}
