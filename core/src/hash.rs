//! The one hash map type of the core, for lookups that never reach the
//! output in hash order.

/// A hash map with a fixed hasher (foldhash with its fixed seed): nothing
/// about it is random. For lookups by long keys (document texts, group
/// keys) in maps that are never iterated where the order could reach the
/// output.
#[allow(clippy::disallowed_types)]
pub(crate) type FixedHashMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::FixedState>;
