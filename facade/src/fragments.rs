//! Pieces of responses kept serialized, per project and version: an
//! organization's projects page is then its projects' pieces joined, not
//! ninety-six structs built and serialized on every request. A piece is
//! made again when its project's resourceVersion changes, and dropped when
//! the project is deleted.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use bytes::Bytes;
use supaplane_crds::Project;

use crate::shapes::OrganizationProject;

#[derive(Clone, Default)]
pub struct Fragments(Arc<RwLock<HashMap<String, (String, Bytes)>>>);

impl Fragments {
    /// `project` as an organization's projects page lists it, as JSON.
    pub fn organization_project(&self, project: &Project) -> Bytes {
        let project_ref = project.metadata.name.as_deref().unwrap_or_default();
        let version = project
            .metadata
            .resource_version
            .as_deref()
            .unwrap_or_default();
        {
            let kept = self
                .0
                .read()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            if let Some((kept_version, piece)) = kept.get(project_ref)
                && kept_version == version
            {
                return piece.clone();
            }
        }
        let piece =
            Bytes::from(serde_json::to_vec(&OrganizationProject::new(project)).unwrap_or_default());
        self.0
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .insert(
                project_ref.to_string(),
                (version.to_string(), piece.clone()),
            );
        piece
    }

    /// Drops a deleted project's pieces.
    pub fn forget(&self, project_ref: &str) {
        self.0
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .remove(project_ref);
    }
}

/// A JSON array of `pieces`.
pub fn json_array(pieces: &[Bytes]) -> Vec<u8> {
    let mut out =
        Vec::with_capacity(pieces.iter().map(Bytes::len).sum::<usize>() + pieces.len() + 2);
    out.push(b'[');
    for (index, piece) in pieces.iter().enumerate() {
        if index > 0 {
            out.push(b',');
        }
        out.extend_from_slice(piece);
    }
    out.push(b']');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn project(version: &str, name: &str) -> Project {
        serde_json::from_value(serde_json::json!({
            "apiVersion": "supaplane.io/v1alpha1", "kind": "Project",
            "metadata": {"name": "abc", "resourceVersion": version},
            "spec": {"organization": "acme", "displayName": name},
        }))
        .expect("project")
    }

    #[test]
    fn a_piece_is_the_structs_json_and_follows_the_projects_version() {
        let fragments = Fragments::default();
        let first = fragments.organization_project(&project("1", "Shop"));
        let expected =
            serde_json::to_value(OrganizationProject::new(&project("1", "Shop"))).expect("json");
        assert_eq!(
            serde_json::from_slice::<serde_json::Value>(&first).expect("json"),
            expected
        );
        let renamed = fragments.organization_project(&project("2", "Store"));
        assert!(
            String::from_utf8_lossy(&renamed).contains("Store"),
            "a new version, a new piece"
        );
        let array: serde_json::Value =
            serde_json::from_slice(&json_array(&[first, renamed])).expect("an array");
        assert_eq!(array.as_array().map(Vec::len), Some(2));
        assert_eq!(json_array(&[]), b"[]");
    }
}
