//! What each container requests and may use. Postgres gets the compute of
//! the project's instance size (Supabase's compute sizes: its memory, and
//! its CPU as the limit with half of it requested); the services get what
//! they need to run whatever the size. A `resources` in the spec replaces
//! the default of its component.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::ResourceRequirements;
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use supaplane_crds::InstanceSize;

use super::{auth, gateway, imgproxy, meta, realtime, rest, storage};

/// Memory (MiB) and CPU (millicores) of each compute size, for Postgres.
pub fn database_compute(size: InstanceSize) -> (u32, u32) {
    match size {
        InstanceSize::Nano => (512, 500),
        InstanceSize::Micro => (1024, 1000),
        InstanceSize::Small => (2048, 2000),
        InstanceSize::Medium => (4096, 2000),
        InstanceSize::Large => (8192, 2000),
        InstanceSize::Xlarge => (16384, 4000),
        InstanceSize::X2large => (32768, 8000),
        InstanceSize::X4large => (65536, 16000),
        InstanceSize::X8large => (131072, 32000),
        InstanceSize::X12large => (196608, 48000),
        InstanceSize::X16large => (262144, 64000),
    }
}

/// What one container asks for and may use: memory in MiB, CPU in millicores.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Compute {
    pub memory_request_mib: u32,
    pub memory_limit_mib: u32,
    pub cpu_request_millis: u32,
    pub cpu_limit_millis: u32,
}

/// Postgres: the instance size's memory, requested in full (so it is never
/// overcommitted), and its CPU as the limit, half of it requested.
pub fn database(size: InstanceSize) -> Compute {
    let (memory, cpu) = database_compute(size);
    Compute {
        memory_request_mib: memory,
        memory_limit_mib: memory,
        cpu_request_millis: cpu / 2,
        cpu_limit_millis: cpu,
    }
}

/// A service's needs at idle (request) and under load (limit). Kong runs
/// two nginx workers (200–400 MiB); Realtime's BEAM idles near 230 MB;
/// Storage and pg-meta are Node.js; imgproxy decodes images in memory;
/// GoTrue and PostgREST are small native servers.
pub fn service(component: &str) -> Compute {
    let (memory_request_mib, memory_limit_mib, cpu_request_millis, cpu_limit_millis) =
        match component {
            gateway::NAME => (256, 512, 100, 1000),
            realtime::NAME => (256, 512, 100, 1000),
            storage::NAME => (128, 512, 50, 1000),
            imgproxy::NAME => (128, 512, 50, 1000),
            meta::NAME => (96, 256, 50, 500),
            auth::NAME | rest::NAME => (64, 256, 50, 500),
            _ => (64, 256, 50, 250),
        };
    Compute {
        memory_request_mib,
        memory_limit_mib,
        cpu_request_millis,
        cpu_limit_millis,
    }
}

/// The init container that waits for the database: a shell and `pg_isready`.
pub const WAIT_FOR_DATABASE: Compute = Compute {
    memory_request_mib: 16,
    memory_limit_mib: 64,
    cpu_request_millis: 10,
    cpu_limit_millis: 100,
};

impl Compute {
    pub fn requirements(self) -> ResourceRequirements {
        ResourceRequirements {
            requests: Some(BTreeMap::from([
                ("memory".to_string(), mebibytes(self.memory_request_mib)),
                ("cpu".to_string(), millicores(self.cpu_request_millis)),
            ])),
            limits: Some(BTreeMap::from([
                ("memory".to_string(), mebibytes(self.memory_limit_mib)),
                ("cpu".to_string(), millicores(self.cpu_limit_millis)),
            ])),
            ..Default::default()
        }
    }
}

/// Memory in the API server's canonical form (`10Gi`, not `10240Mi`), so
/// what we apply reads back unchanged.
pub fn mebibytes(mib: u32) -> Quantity {
    if mib.is_multiple_of(1024) {
        Quantity(format!("{}Gi", mib / 1024))
    } else {
        Quantity(format!("{mib}Mi"))
    }
}

/// CPU in canonical form (`4`, not `4000m`).
pub fn millicores(millis: u32) -> Quantity {
    if millis.is_multiple_of(1000) {
        Quantity(format!("{}", millis / 1000))
    } else {
        Quantity(format!("{millis}m"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn postgres_gets_its_instance_size_and_services_what_they_need() {
        let nano = database(InstanceSize::Nano);
        assert_eq!((nano.memory_limit_mib, nano.cpu_limit_millis), (512, 500));
        let big = database(InstanceSize::X8large).requirements();
        assert_eq!(
            big.limits.expect("limits")["memory"],
            Quantity("128Gi".into())
        );
        assert_eq!(
            big.requests.expect("requests")["cpu"],
            Quantity("16".into())
        );
        // More than the 256 MiB a namespace default would give them.
        for component in [gateway::NAME, realtime::NAME] {
            assert!(service(component).memory_limit_mib >= 512, "{component}");
        }
        for component in [
            auth::NAME,
            rest::NAME,
            storage::NAME,
            imgproxy::NAME,
            meta::NAME,
        ] {
            let compute = service(component);
            assert!(compute.memory_request_mib <= compute.memory_limit_mib);
            assert!(compute.cpu_request_millis <= compute.cpu_limit_millis);
        }
    }
}
