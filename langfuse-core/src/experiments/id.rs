//! Experiment ids and run names, as the Langfuse server and the other SDKs derive them.

use std::time::SystemTime;

use sha2::{Digest, Sha256};

/// The id of the experiment a run on a Langfuse dataset belongs to: the first 16 hex digits of
/// SHA-256 over the JSON array `["langfuse-experiment-v1", projectId, datasetId, runName]`,
/// written without spaces and with non-ASCII characters as UTF-8 (JavaScript's
/// `JSON.stringify`). The server (`createStableExperimentId`), the Python SDK and the JS SDK
/// derive the same id, so runs with one name on one dataset are one experiment, whoever
/// writes them.
pub(crate) fn stable_experiment_id(project_id: &str, dataset_id: &str, run_name: &str) -> String {
    // serde_json escapes strings as JSON.stringify does: `"` and `\` with a backslash, the
    // controls below 0x20 as \b \t \n \f \r or \u00xx (lowercase), nothing else.
    let seed = serde_json::to_string(&["langfuse-experiment-v1", project_id, dataset_id, run_name])
        .expect("an array of strings serializes");
    hex(&Sha256::digest(seed.as_bytes())[..8])
}

/// A random experiment id for a run on local data: 16 hex digits (8 random bytes), as the
/// Python and JS SDKs draw it.
pub(crate) fn random_experiment_id() -> String {
    hex(&fastrand::u64(..).to_be_bytes())
}

/// The run name when none is given: the experiment's name and the time, `name - 2026-05-01T
/// 12:00:00.123456Z` (the Python SDK's form).
pub(crate) fn default_run_name(name: &str, now: SystemTime) -> String {
    format!("{name} - {}", humantime::format_rfc3339_micros(now))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The vectors the JS SDK pins as shared with the platform and the Python SDK
    /// (`createStableExperimentId`).
    #[test]
    fn matches_the_cross_sdk_vectors() {
        let project = "7a88fb47-b4e2-43b8-a06c-a5ce950dc53a";
        let dataset = "cm9x1dataset0000000000001";
        assert_eq!(
            stable_experiment_id(project, dataset, "my-run"),
            "a1164c0f238e4173"
        );
        assert_eq!(
            stable_experiment_id(
                project,
                dataset,
                "Läufe \"v2\" 🚀 – 2026-10-06T12:00:00.000Z"
            ),
            "dce21641128b88a8"
        );
    }

    #[test]
    fn every_part_changes_the_id() {
        let id = stable_experiment_id("p", "d", "r");
        assert_ne!(stable_experiment_id("q", "d", "r"), id);
        assert_ne!(stable_experiment_id("p", "e", "r"), id);
        assert_ne!(stable_experiment_id("p", "d", "s"), id);
        // The separators are part of the rule: no concatenation collides.
        assert_ne!(stable_experiment_id("pd", "", "r"), id);
    }

    #[test]
    fn random_ids_are_16_hex_digits() {
        let id = random_experiment_id();
        assert_eq!(id.len(), 16);
        assert!(
            id.chars()
                .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
        );
        assert_ne!(random_experiment_id(), id);
    }

    #[test]
    fn default_run_names_carry_the_time() {
        let at = humantime::parse_rfc3339("2026-05-01T12:00:00.123456Z").unwrap();
        assert_eq!(
            default_run_name("capitals", at),
            "capitals - 2026-05-01T12:00:00.123456Z"
        );
    }
}
