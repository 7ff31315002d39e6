//! IR endpoints → Envoy `ClusterLoadAssignment`s: served by EDS in ADS mode,
//! inlined into the (then `STATIC`) clusters of the static Bootstrap.

use super::socket_address;
use crate::pb::envoy::config::endpoint::v3 as ep;

/// The load assignment of `cluster_name` with these addresses.
pub(crate) fn load_assignment(
    cluster_name: &str,
    addrs: &[(String, u16)],
) -> ep::ClusterLoadAssignment {
    ep::ClusterLoadAssignment {
        cluster_name: cluster_name.to_string(),
        endpoints: if addrs.is_empty() {
            Vec::new()
        } else {
            vec![ep::LocalityLbEndpoints {
                lb_endpoints: addrs
                    .iter()
                    .map(|(host, port)| ep::LbEndpoint {
                        host_identifier: Some(ep::lb_endpoint::HostIdentifier::Endpoint(
                            ep::Endpoint {
                                address: Some(socket_address(host, *port)),
                                ..Default::default()
                            },
                        )),
                        ..Default::default()
                    })
                    .collect(),
                ..Default::default()
            }]
        },
        ..Default::default()
    }
}

/// Every EDS service name of the IR, sorted. Names without endpoints in the
/// input get an empty assignment, so Envoy does not wait for them while warming.
pub(crate) fn build(ir: &crate::ir::Ir) -> Vec<ep::ClusterLoadAssignment> {
    ir.endpoints
        .iter()
        .map(|(name, addrs)| load_assignment(name, addrs))
        .collect()
}
