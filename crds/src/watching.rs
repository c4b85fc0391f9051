//! How the operator's and the facade's watches retry. kube-runtime's
//! default (client-go's: up to 30 s plus jitter, reset only after two
//! quiet minutes) left them idle for most of a minute after an API server
//! restart, where every resumed watch first gets 410 Gone and must list
//! again.

use std::time::Duration;

use kube::Resource;
use kube::runtime::watcher::ExponentialBackoff;

/// The annotation `kubectl apply` keeps its last manifest in.
const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

/// What neither binary reads of a cached object, and so does not keep: who
/// wrote which field, and kubectl's copy of what it applied (a whole spec
/// again), which together can outweigh the rest of the object.
pub fn trim<K: Resource>(object: &mut K) {
    let meta = object.meta_mut();
    meta.managed_fields = None;
    if let Some(annotations) = meta.annotations.as_mut() {
        annotations.remove(LAST_APPLIED);
    }
}

fn exponential(min: Duration, max: Duration) -> ExponentialBackoff {
    backon::ExponentialBuilder::default()
        .with_min_delay(min)
        .with_max_delay(max)
        .with_factor(2.0)
        .with_jitter()
        .without_max_times()
        .into()
}

/// A watch with a backoff of its own (the facade's caches; the operator's
/// Project watches and the child watches that wake Projects, whose errors
/// never reach a controller's trigger backoff): 0.5 s doubling to 5 s.
/// With kube's default here, a 90 s outage left the operator deaf for up
/// to a minute after the API server was back (one 30 s wait to reconnect,
/// another after the 410 before listing again).
pub fn backoff() -> ExponentialBackoff {
    exponential(Duration::from_millis(500), Duration::from_secs(5))
}

/// A controller's watches, which kube-runtime merges into one stream with
/// one backoff: each of its dozen watches needs its own 410 and list after
/// a restart, one after another, so the pause between them must be short
/// (0.1 s doubling to 1 s) or recovery takes minutes.
pub fn controller_backoff() -> ExponentialBackoff {
    exponential(Duration::from_millis(100), Duration::from_secs(1))
}
