//! Test support for supaplane: the real Kubernetes control plane the
//! integration tests run on, and the harness that connects them to it (or
//! to another cluster).

#![forbid(unsafe_code)]

pub mod bench;
pub mod chart;
pub mod contracts;
pub mod controlplane;
pub mod facade;
pub mod harness;
pub mod upstreams;
