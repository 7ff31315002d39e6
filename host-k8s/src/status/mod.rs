//! What the daemon writes back to the cluster: what core computed about
//! each object ([`emissary_core::status`]), written to its status
//! subresource by [`write`](mod@write). Every replica serves xDS; only the one holding
//! the Lease of [`lease`] writes.

pub mod lease;
pub mod write;

#[cfg(test)]
pub(crate) mod mock;
