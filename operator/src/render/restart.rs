//! Restarts asked for on the Project (`restart.supaplane.io/<component>`
//! annotations, written by the facade's restart endpoints or by hand): each
//! becomes the `supaplane.io/restarted-at` annotation of that component's
//! pod template, so a new value rolls its pods the way `kubectl rollout
//! restart` does, and an unchanged one renders the same template again.

use std::collections::BTreeMap;

use supaplane_crds::Project;
use supaplane_crds::constants::{ANNOTATION_RESTARTED_AT, RESTART_ANNOTATION_PREFIX};

/// How long after a restart is asked the project counts as restarting while
/// the component has not rolled out yet.
pub const RESTARTING_FOR: std::time::Duration = std::time::Duration::from_secs(30 * 60);

/// The restart asked for `component`, if any.
pub fn asked(project: &Project, component: &str) -> Option<String> {
    project
        .metadata
        .annotations
        .as_ref()?
        .get(&format!("{RESTART_ANNOTATION_PREFIX}{component}"))
        .cloned()
}

/// The pod template annotations that carry `component`'s restart.
pub fn template_annotations(
    project: &Project,
    component: &str,
) -> Option<BTreeMap<String, String>> {
    asked(project, component).map(|at| BTreeMap::from([(ANNOTATION_RESTARTED_AT.to_string(), at)]))
}

/// The components with a restart asked within `RESTARTING_FOR` of `now`.
pub fn recent(project: &Project, now: k8s_openapi::jiff::Timestamp) -> Vec<String> {
    let Some(annotations) = project.metadata.annotations.as_ref() else {
        return Vec::new();
    };
    annotations
        .iter()
        .filter_map(|(key, at)| {
            let component = key.strip_prefix(RESTART_ANNOTATION_PREFIX)?;
            let at: k8s_openapi::jiff::Timestamp = at.parse().ok()?;
            let age = std::time::Duration::try_from(now.duration_since(at)).ok()?;
            (age < RESTARTING_FOR).then(|| component.to_string())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use supaplane_crds::Project;

    #[test]
    fn only_recent_restarts_of_known_form_count() {
        let mut project = Project::test("abc");
        let now: k8s_openapi::jiff::Timestamp = "2026-12-01T12:00:00Z".parse().expect("time");
        project.metadata.annotations = Some(BTreeMap::from([
            (
                format!("{RESTART_ANNOTATION_PREFIX}db"),
                "2026-12-01T11:59:00Z".into(),
            ),
            (
                format!("{RESTART_ANNOTATION_PREFIX}auth"),
                "2026-12-01T10:00:00Z".into(),
            ),
            (
                format!("{RESTART_ANNOTATION_PREFIX}rest"),
                "yesterday".into(),
            ),
            ("other/annotation".into(), "2026-12-01T11:59:00Z".into()),
        ]));
        assert_eq!(recent(&project, now), ["db"]);
        assert_eq!(
            asked(&project, "auth").as_deref(),
            Some("2026-12-01T10:00:00Z")
        );
        assert_eq!(
            template_annotations(&project, "db").expect("annotations")[ANNOTATION_RESTARTED_AT],
            "2026-12-01T11:59:00Z"
        );
        assert!(template_annotations(&project, "meta").is_none());
    }
}
