//! The ready-made HSI workflows that `cirrus init --hsi` writes: the repository's
//! `workflows/` folder, embedded in the binary, so a project gets the very files the
//! repository tests.

/// One workflow folder: its name, `definition.json` and `payload.json`.
pub struct Workflow {
    /// The workflow's name (its folder under `workflows/`).
    pub name: &'static str,
    /// `definition.json`.
    pub definition: &'static str,
    /// `payload.json`, the example payload.
    pub payload: &'static str,
}

/// The embedded files of `workflows/<name>/`.
macro_rules! workflow {
    ($name:literal) => {
        Workflow {
            name: $name,
            definition: include_str!(concat!("../../../../workflows/", $name, "/definition.json")),
            payload: include_str!(concat!("../../../../workflows/", $name, "/payload.json")),
        }
    };
}

/// Every HSI workflow, in the order of the chain.
pub const WORKFLOWS: [Workflow; 5] = [
    workflow!("aviris-activate"),
    workflow!("hsi-indices"),
    workflow!("hsi-detection"),
    workflow!("hsi-products"),
    workflow!("aviris-to-products"),
];

/// The workflow whose example payload is the whole chain.
pub const CHAIN: &str = "aviris-to-products";

/// The `cirrus.toml` of an HSI project.
pub const CONFIG_TEMPLATE: &str = include_str!("../../../templates/cirrus-hsi.toml");
