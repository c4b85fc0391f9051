//! Test support for supaplane: an in-process Kubernetes API server and the
//! harness that connects integration tests to it (or to a real cluster).

pub mod apiserver;
pub mod bench;
pub mod chart;
pub mod contracts;
pub mod controlplane;
pub mod facade;
pub mod harness;
pub mod upstreams;
