//! The overload limits written into the supervised Envoy's Bootstrap
//! (`--max-downstream-connections`, `--max-heap-bytes` and their environment
//! variables), and the heap default taken from the container's memory
//! limit. They live in the Bootstrap, so a change takes a restart of Envoy.

use emissary_core::xds::ads_bootstrap::{
    DEFAULT_MAX_DOWNSTREAM_CONNECTIONS, DEFAULT_MAX_HEAP_BYTES, Overload,
};
use std::path::Path;

/// The share of the container's memory limit Envoy's heap may use before
/// the overload actions start: the rest is for the daemon in the same
/// container, and for what Envoy allocates outside its heap.
pub const HEAP_SHARE_OF_MEMORY_LIMIT: (u64, u64) = (3, 4);

/// The overload flags, shared by `serve` and `ads-bootstrap`.
#[derive(clap::Args, Clone, Debug)]
pub struct OverloadArgs {
    /// Envoy closes downstream connections beyond this many, over all
    /// listeners (0: no limit).
    #[arg(long, env = "EMISSARY_MAX_DOWNSTREAM_CONNECTIONS", default_value_t = DEFAULT_MAX_DOWNSTREAM_CONNECTIONS)]
    pub max_downstream_connections: u64,
    /// Envoy's heap budget: at 95% it shrinks its heap and stops keeping
    /// connections alive, at 98% it refuses new requests (0: no heap
    /// actions). Default for `serve`: 3/4 of the container's cgroup memory
    /// limit when there is one, else 2 GiB; for `ads-bootstrap`: 2 GiB.
    #[arg(long, env = "EMISSARY_MAX_HEAP_BYTES")]
    pub max_heap_bytes: Option<u64>,
}

impl OverloadArgs {
    /// The limits, with `heap_default` where `--max-heap-bytes` is not given.
    pub fn overload(&self, heap_default: impl FnOnce() -> u64) -> Overload {
        let nonzero = |v: u64| (v != 0).then_some(v);
        Overload {
            max_downstream_connections: nonzero(self.max_downstream_connections),
            max_heap_bytes: nonzero(self.max_heap_bytes.unwrap_or_else(heap_default)),
        }
    }
}

/// The heap default of the daemon's Envoy: [`HEAP_SHARE_OF_MEMORY_LIMIT`]
/// of the memory limit of the cgroup mounted at `root` (normally
/// `/sys/fs/cgroup`), else [`DEFAULT_MAX_HEAP_BYTES`].
pub fn heap_default(root: &Path) -> u64 {
    let (num, den) = HEAP_SHARE_OF_MEMORY_LIMIT;
    memory_limit(root).map_or(DEFAULT_MAX_HEAP_BYTES, |l| l / den * num)
}

/// The memory limit of the cgroup at `root`: v2's `memory.max`, else v1's
/// `memory/memory.limit_in_bytes`. `None` when there is none (`max`, or
/// v1's "unlimited", a number near `i64::MAX`) or it cannot be read.
pub fn memory_limit(root: &Path) -> Option<u64> {
    let read = |p: &str| std::fs::read_to_string(root.join(p)).ok();
    let text = read("memory.max").or_else(|| read("memory/memory.limit_in_bytes"))?;
    let bytes: u64 = text.trim().parse().ok()?;
    (bytes > 0 && bytes < 1 << 60).then_some(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cgroup_v2_and_v1_limits_and_their_absence() {
        let d = tempfile::tempdir().unwrap();
        assert_eq!(memory_limit(d.path()), None);
        assert_eq!(heap_default(d.path()), DEFAULT_MAX_HEAP_BYTES);
        std::fs::create_dir(d.path().join("memory")).unwrap();
        std::fs::write(
            d.path().join("memory/memory.limit_in_bytes"),
            "9223372036854771712\n",
        )
        .unwrap();
        assert_eq!(memory_limit(d.path()), None, "v1's unlimited");
        std::fs::write(
            d.path().join("memory/memory.limit_in_bytes"),
            "1073741824\n",
        )
        .unwrap();
        assert_eq!(memory_limit(d.path()), Some(1 << 30));
        std::fs::write(d.path().join("memory.max"), "max\n").unwrap();
        assert_eq!(memory_limit(d.path()), None, "v2 wins, and says none");
        std::fs::write(d.path().join("memory.max"), "536870912\n").unwrap();
        assert_eq!(memory_limit(d.path()), Some(512 << 20));
        assert_eq!(heap_default(d.path()), 384 << 20);
    }

    #[test]
    fn flags_override_and_zero_turns_a_limit_off() {
        let args = |c, h| OverloadArgs {
            max_downstream_connections: c,
            max_heap_bytes: h,
        };
        assert_eq!(
            args(5, None).overload(|| 77),
            Overload {
                max_downstream_connections: Some(5),
                max_heap_bytes: Some(77),
            }
        );
        assert_eq!(
            args(0, Some(0)).overload(|| unreachable!()),
            Overload {
                max_downstream_connections: None,
                max_heap_bytes: None,
            }
        );
        assert_eq!(args(1, Some(9)).overload(|| 77).max_heap_bytes, Some(9));
    }
}
