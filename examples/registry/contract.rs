//! The contract every plugin in `plugins/` serves, whatever its language.

/// Turns text into other text: one of a host's extensions.
#[goproc::plugin_interface]
pub trait Transform {
    /// What this transform does, in a few words.
    async fn describe(&self) -> String;

    /// Applies the transform to `text`.
    async fn apply(&self, text: String) -> String;
}
