//! The quickstart example (`examples/quickstart`), compiled in: what
//! `serve` runs without a config directory, so a first run needs no
//! configuration. It never changes.

use std::sync::Arc;

use super::{Change, Entry, Key, Signal, Source};

/// The compiled-in quickstart. Its inputs are named `<embedded>/hosts.yaml`
/// and so on (the store's root is [`ROOT`]).
#[derive(Debug, Default)]
pub struct EmbeddedSource {
    started: bool,
}

/// The root of the embedded inputs' names.
pub const ROOT: &str = "<embedded>";

/// The files of `examples/quickstart`.
pub const FILES: [(&str, &str); 3] = [
    (
        "hosts.yaml",
        include_str!("../../../examples/quickstart/hosts.yaml"),
    ),
    (
        "listeners.yaml",
        include_str!("../../../examples/quickstart/listeners.yaml"),
    ),
    (
        "mappings.yaml",
        include_str!("../../../examples/quickstart/mappings.yaml"),
    ),
];

impl Source for EmbeddedSource {
    fn name(&self) -> String {
        "embedded quickstart example".into()
    }

    fn watch(&mut self, signal: Arc<Signal>) -> anyhow::Result<()> {
        signal.signal(true);
        Ok(())
    }

    fn changes(&mut self) -> Vec<Change> {
        if std::mem::replace(&mut self.started, true) {
            return Vec::new();
        }
        vec![Change::Reset(
            FILES
                .iter()
                .map(|(name, text)| (Key((*name).into()), Entry::Text((*text).into())))
                .collect(),
        )]
    }
}
