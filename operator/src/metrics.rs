//! Prometheus metrics of the controllers, served at `/metrics`.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use std::sync::OnceLock;

use kube::runtime::reflector::Store;
use supaplane_crds::Project;

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ControllerLabels {
    pub controller: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StatusLabels {
    pub status: String,
}

type HistogramFamily = Family<ControllerLabels, Histogram, fn() -> Histogram>;

fn duration_histogram() -> Histogram {
    // 5 ms to about 20 s.
    Histogram::new(exponential_buckets(0.005, 2.0, 13))
}

pub struct Metrics {
    registry: Registry,
    reconciles: Family<ControllerLabels, Counter>,
    failures: Family<ControllerLabels, Counter>,
    durations: HistogramFamily,
    projects_by_status: Family<StatusLabels, Gauge>,
    /// The Project controller's cache, counted at scrape time.
    projects: OnceLock<Store<Project>>,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("supaplane");
        let reconciles = Family::<ControllerLabels, Counter>::default();
        let failures = Family::<ControllerLabels, Counter>::default();
        let durations = HistogramFamily::new_with_constructor(duration_histogram);
        registry.register(
            "reconciles",
            "Reconciles run, by controller",
            reconciles.clone(),
        );
        registry.register(
            "reconcile_errors",
            "Reconciles that failed, by controller",
            failures.clone(),
        );
        registry.register(
            "reconcile_duration_seconds",
            "How long reconciles took, by controller",
            durations.clone(),
        );
        let projects_by_status = Family::<StatusLabels, Gauge>::default();
        registry.register(
            "projects",
            "Projects, by Supabase status",
            projects_by_status.clone(),
        );
        Metrics {
            registry,
            reconciles,
            failures,
            durations,
            projects_by_status,
            projects: OnceLock::new(),
        }
    }
}

/// Observes one reconcile's duration when dropped.
pub struct ReconcileTimer<'a> {
    metrics: &'a Metrics,
    labels: ControllerLabels,
    started: std::time::Instant,
}

impl Drop for ReconcileTimer<'_> {
    fn drop(&mut self) {
        self.metrics
            .durations
            .get_or_create(&self.labels)
            .observe(self.started.elapsed().as_secs_f64());
    }
}

impl Metrics {
    pub fn reconcile_started(&self, controller: &str) -> ReconcileTimer<'_> {
        let labels = ControllerLabels {
            controller: controller.to_string(),
        };
        self.reconciles.get_or_create(&labels).inc();
        ReconcileTimer {
            metrics: self,
            labels,
            started: std::time::Instant::now(),
        }
    }

    pub fn reconcile_failed(&self, controller: &str) {
        self.failures
            .get_or_create(&ControllerLabels {
                controller: controller.to_string(),
            })
            .inc();
    }

    /// Counts projects by status from this cache at every scrape.
    pub fn observe_projects(&self, store: Store<Project>) {
        let _ = self.projects.set(store);
    }

    fn count_projects(&self) {
        let Some(store) = self.projects.get() else {
            return;
        };
        self.projects_by_status.clear();
        for project in store.state() {
            let status = project
                .status
                .as_ref()
                .and_then(|s| s.status)
                .and_then(|s| serde_json::to_value(s).ok())
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_else(|| "UNKNOWN".to_string());
            self.projects_by_status
                .get_or_create(&StatusLabels { status })
                .inc();
        }
    }

    /// The OpenMetrics text exposition.
    pub fn encode(&self) -> String {
        self.count_projects();
        let mut text = String::new();
        if prometheus_client::encoding::text::encode(&mut text, &self.registry).is_err() {
            text.clear();
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reconciles_failures_and_durations_are_exposed() {
        let metrics = Metrics::default();
        drop(metrics.reconcile_started("project"));
        drop(metrics.reconcile_started("project"));
        metrics.reconcile_failed("project");
        let text = metrics.encode();
        assert!(
            text.contains("supaplane_reconciles_total{controller=\"project\"} 2"),
            "{text}"
        );
        assert!(
            text.contains("supaplane_reconcile_errors_total{controller=\"project\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("supaplane_reconcile_duration_seconds_count{controller=\"project\"} 2"),
            "{text}"
        );
    }

    #[test]
    fn projects_are_counted_by_status_at_scrape_time() {
        use kube::runtime::watcher::Event;
        let metrics = Metrics::default();
        let (reader, mut writer) = kube::runtime::reflector::store::<Project>();
        let project = |name: &str, status: &str| -> Project {
            serde_json::from_value(serde_json::json!({
                "apiVersion": "supaplane.io/v1alpha1", "kind": "Project", "metadata": {"name": name},
                "spec": {"organization": "acme", "displayName": "Shop"},
                "status": {"status": status},
            }))
            .expect("project")
        };
        writer.apply_watcher_event(&Event::Apply(project("a", "ACTIVE_HEALTHY")));
        writer.apply_watcher_event(&Event::Apply(project("b", "ACTIVE_HEALTHY")));
        writer.apply_watcher_event(&Event::Apply(project("c", "COMING_UP")));
        metrics.observe_projects(reader);
        let text = metrics.encode();
        assert!(
            text.contains("supaplane_projects{status=\"ACTIVE_HEALTHY\"} 2"),
            "{text}"
        );
        assert!(
            text.contains("supaplane_projects{status=\"COMING_UP\"} 1"),
            "{text}"
        );
    }
}
