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

/// The per-layer filter: spans with `gen_ai.*` or `langfuse.*` fields, spans of the chosen
/// targets (or all spans), and ERROR events (which mark the converted span they occur in).
#[derive(Debug, Clone, Default)]
pub(super) struct Selection {
    pub(super) targets: Vec<String>,
    pub(super) all_spans: bool,
}

impl Selection {
    #[inline]
    fn selects(&self, metadata: &Metadata<'_>) -> bool {
        if metadata.is_event() {
            return *metadata.level() == Level::ERROR;
        }
        self.all_spans
            || has_genai_fields(metadata)
            || (!self.targets.is_empty()
                && self
                    .targets
                    .iter()
                    .any(|t| target_matches(metadata.target(), t)))
    }
}

/// Answers of [`declares_genai_fields`] by callsite address: `enabled` asks again for every
/// span of a callsite that another layer keeps alive (its interest is then "sometimes"), and
/// the answer never changes. A slot holds the address with the answer in its low bit; a
/// collision only replaces an answer, recomputed when next asked.
static GENAI: [AtomicUsize; 512] = [const { AtomicUsize::new(0) }; 512];

/// Whether a callsite declares a field of the GenAI conventions or of Langfuse's own.
#[inline]
fn has_genai_fields(metadata: &Metadata<'_>) -> bool {
    let address = metadata as *const Metadata<'_> as usize;
    let slot = &GENAI[(address.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 55) % GENAI.len()];
    let known = slot.load(Ordering::Relaxed);
    if known & !1 == address {
        return known & 1 == 1;
    }
    let declares = declares_genai_fields(metadata);
    slot.store(address | usize::from(declares), Ordering::Relaxed);
    declares
}

#[cold]
fn declares_genai_fields(metadata: &Metadata<'_>) -> bool {
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
        self.selects(metadata)
    }

    fn callsite_enabled(&self, metadata: &'static Metadata<'static>) -> Interest {
        if !self.selects(metadata) {
            return Interest::never();
        }
        if metadata.is_span() {
            // Built here, once, rather than on the first span.
            descriptors(metadata);
        }
        Interest::always()
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
