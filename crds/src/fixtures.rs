//! Test fixtures shared by every crate's tests (the `fixtures` feature):
//! a Project as the API server returns it, shaped by chainable modifiers.
//!
//! ```
//! use supaplane_crds::{DeletionPolicy, Project};
//! let project = Project::test("abc")
//!     .in_organization("acme")
//!     .with_deletion_policy(DeletionPolicy::Retain)
//!     .paused();
//! assert_eq!(project.spec.organization, "acme");
//! ```

use std::collections::BTreeMap;

use crate::{DeletionPolicy, Project, ProjectSpec};

/// The uid every test Project carries unless told otherwise.
pub const TEST_UID: &str = "8d4bf0f4-2a29-4c36-9d55-1a1b3c5e7f90";

impl Project {
    /// A Project named `project_ref` in organization `acme`, displayed as
    /// "Shop", as the API server returns it: with a uid and generation 1.
    pub fn test(project_ref: &str) -> Self {
        let mut project = Project::new(
            project_ref,
            ProjectSpec::from_required("acme".into(), "Shop".into()),
        );
        project.metadata.uid = Some(TEST_UID.into());
        project.metadata.generation = Some(1);
        project
    }

    /// The same Project, of organization `organization`.
    pub fn in_organization(mut self, organization: &str) -> Self {
        self.spec.organization = organization.into();
        self
    }

    /// The same Project, shown as `name`.
    pub fn displayed_as(mut self, name: &str) -> Self {
        self.spec.display_name = name.into();
        self
    }

    /// The same Project, with label `key` set to `value`.
    pub fn labelled(mut self, key: &str, value: &str) -> Self {
        self.metadata
            .labels
            .get_or_insert_with(BTreeMap::new)
            .insert(key.into(), value.into());
        self
    }

    /// The same Project, as one to create: no uid, no generation (the API
    /// server assigns them).
    pub fn unsaved(mut self) -> Self {
        self.metadata.uid = None;
        self.metadata.generation = None;
        self
    }

    /// The same Project, made at `timestamp` (RFC 3339).
    pub fn created_at(mut self, timestamp: &str) -> Self {
        self.metadata.creation_timestamp = Some(
            serde_json::from_value(serde_json::json!(timestamp)).expect("an RFC 3339 timestamp"),
        );
        self
    }

    /// The same Project, paused.
    pub fn paused(mut self) -> Self {
        self.spec.paused = true;
        self
    }

    /// The same Project, with deletion policy `policy`.
    pub fn with_deletion_policy(mut self, policy: DeletionPolicy) -> Self {
        self.spec.deletion_policy = policy;
        self
    }

    /// The same Project, with its spec changed by `change`.
    pub fn with_spec(mut self, change: impl FnOnce(&mut ProjectSpec)) -> Self {
        change(&mut self.spec);
        self
    }
}

impl ProjectSpec {
    /// A spec with only the required fields set, every other at the default
    /// the API server would fill in.
    pub fn from_required(organization: String, display_name: String) -> Self {
        serde_json::from_value(serde_json::json!({
            "organization": organization,
            "displayName": display_name,
        }))
        .expect("a spec of the required fields is valid")
    }
}
