//! The CRD YAML committed in the chart must be what the Rust types generate.

use std::path::PathBuf;

#[test]
fn committed_crd_yaml_matches_the_types() {
    let directory = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../charts/supaplane/crds");
    for crd in supaplane_crds::all_crds() {
        let path = directory.join(supaplane_crds::crd_file_name(&crd));
        let expected = supaplane_crds::crd_yaml(&crd).expect("CRD serializes");
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            committed == expected,
            "{} is out of date with the types in crds/: run `cargo run -p supaplane-crds --bin crdgen` and commit the result",
            path.display()
        );
    }
}

#[test]
fn crds_are_scoped_as_designed_with_printer_columns() {
    for crd in supaplane_crds::all_crds() {
        let kind = crd.spec.names.kind.as_str();
        assert_eq!(crd.spec.group, "supaplane.io");
        let version = &crd.spec.versions[0];
        assert_eq!(version.name, "v1alpha1");
        let has_status = version
            .subresources
            .as_ref()
            .and_then(|s| s.status.as_ref())
            .is_some();
        match kind {
            // Reconciled by the operator, which reports in their status.
            "Organization" | "Project" => {
                assert_eq!(crd.spec.scope, "Cluster", "{kind}");
                assert!(has_status, "{kind}");
            }
            // Kept with the project's data, reported on by the operator.
            "Backup" | "Restore" => {
                assert_eq!(crd.spec.scope, "Namespaced", "{kind}");
                assert!(has_status, "{kind}");
            }
            // Users' saved things, kept with the project's data.
            "UserContent" | "ContentFolder" => {
                assert_eq!(crd.spec.scope, "Namespaced", "{kind}");
                assert!(!has_status, "{kind}");
            }
            other => panic!("{other}: say here how it is scoped"),
        }
        let columns: Vec<&str> = version
            .additional_printer_columns
            .iter()
            .flatten()
            .map(|c| c.name.as_str())
            .collect();
        assert!(columns.contains(&"Age"), "{columns:?}");
    }
}
