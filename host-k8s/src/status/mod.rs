//! What the daemon writes back to the cluster. Every replica serves xDS;
//! only the one holding the Lease of [`lease`] writes.

pub mod lease;

#[cfg(test)]
pub(crate) mod mock;
