//! Presets (SPEC §1.2): ready mappings of other systems' exports, written as
//! pipeline-file TOML, so that `salesops mapping --preset NAME` prints
//! exactly what a run uses and a pipeline file overrides any part of it.

/// Every preset, by name.
pub const NAMES: [&str; 2] = ["salesforce", "hubspot"];

/// The preset's pipeline TOML.
pub fn toml(name: &str) -> Option<&'static str> {
    match name {
        "salesforce" => Some(include_str!("salesforce.toml")),
        "hubspot" => Some(include_str!("hubspot.toml")),
        _ => None,
    }
}
