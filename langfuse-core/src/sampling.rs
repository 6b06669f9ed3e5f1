//! Head sampling: one decision per trace, made from the trace id at its root.
//!
//! The rule is OpenTelemetry's `TraceIdRatioBased`, the sampler the Python SDK installs: keep
//! the trace when the low 64 bits of its id are below `rate × 2^64`. Any service that uses
//! the same rule and rate, in any language, makes the same decision for the same trace.

use std::sync::atomic::{AtomicU64, Ordering};

use crate::model::TraceId;

/// Traces whose low 64 bits are below this bound are kept; `u64::MAX` keeps every trace.
static BOUND: AtomicU64 = AtomicU64::new(u64::MAX);

/// Sets the sampling rate, clamped to `[0, 1]`.
pub(crate) fn set_rate(rate: f64) {
    BOUND.store(bound_for(rate), Ordering::Relaxed);
}

fn bound_for(rate: f64) -> u64 {
    if rate.is_nan() || rate <= 0.0 {
        0
    } else if rate >= 1.0 {
        u64::MAX
    } else {
        // 2^64 as f64 is exact; the product is below it, so the cast cannot saturate wrongly.
        (rate * 18_446_744_073_709_551_616.0) as u64
    }
}

/// Whether the trace with this id is recorded.
#[inline]
pub(crate) fn keep(trace_id: TraceId) -> bool {
    let bound = BOUND.load(Ordering::Relaxed);
    bound == u64::MAX || (trace_id.to_u128() as u64) < bound
}

/// Whether a trace id is kept at `rate`, without touching the global setting.
#[cfg(test)]
fn keep_at(trace_id: TraceId, rate: f64) -> bool {
    let bound = bound_for(rate);
    bound == u64::MAX || (trace_id.to_u128() as u64) < bound
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(low: u64) -> TraceId {
        TraceId::from_u128((1u128 << 64) | u128::from(low)).unwrap()
    }

    #[test]
    fn extremes_keep_all_or_nothing() {
        assert!(keep_at(id(u64::MAX), 1.0));
        assert!(!keep_at(id(0), 0.0));
        assert!(!keep_at(id(0), f64::NAN));
    }

    #[test]
    fn half_splits_on_the_top_bit_of_the_low_half() {
        assert!(keep_at(id((1 << 63) - 1), 0.5));
        assert!(!keep_at(id(1 << 63), 0.5));
    }

    #[test]
    fn only_the_low_64_bits_decide() {
        let high_only = TraceId::from_u128(u128::MAX << 64).unwrap();
        assert!(keep_at(high_only, 0.01));
    }
}
