//! A project made from a backup (`spec.restoreFrom`): once its namespace is
//! there, the operator asks for that restore with a `Restore` of its own
//! (`initial-restore`), exactly once. The Project is then annotated, so a
//! Restore deleted later is not made again: restoring over a project in use
//! is asked for by a person, never by a resync.

use kube::api::{Patch, PatchParams, PostParams};
use kube::{Api, Client, ResourceExt};
use serde_json::json;
use supaplane_crds::constants::{FIELD_MANAGER_OPERATOR, project_namespace};
use supaplane_crds::restore::{ANNOTATION_INITIAL_RESTORE, INITIAL_RESTORE_NAME};
use supaplane_crds::{Project, Restore, RestoreSpec};
use tracing::info;

use crate::error::{Error, Result};

/// Asks for `project`'s initial restore if it is made from a backup and has
/// not asked yet.
pub async fn ask_once(client: &Client, project: &Project) -> Result<()> {
    let Some(from) = &project.spec.restore_from else {
        return Ok(());
    };
    if project
        .annotations()
        .contains_key(ANNOTATION_INITIAL_RESTORE)
    {
        return Ok(());
    }
    let project_ref = project.name_any();
    let restores: Api<Restore> = Api::namespaced(client.clone(), &project_namespace(&project_ref));
    let restore = Restore::new(
        INITIAL_RESTORE_NAME,
        RestoreSpec {
            project: project_ref.clone(),
            backup: from.backup.clone(),
            source_project: Some(from.project.clone()),
        },
    );
    match restores.create(&PostParams::default(), &restore).await {
        Ok(_) => {
            info!(from = %from.project, backup = %from.backup, "asked for the initial restore")
        }
        // Asked before a crash kept the annotation from being written.
        Err(kube::Error::Api(status)) if status.code == 409 => {}
        Err(source) => {
            return Err(Error::applying("Restore", INITIAL_RESTORE_NAME)(source));
        }
    }
    let projects: Api<Project> = Api::all(client.clone());
    let mark =
        json!({"metadata": {"annotations": {ANNOTATION_INITIAL_RESTORE: INITIAL_RESTORE_NAME}}});
    projects
        .patch(
            &project_ref,
            &PatchParams {
                field_manager: Some(FIELD_MANAGER_OPERATOR.to_string()),
                ..Default::default()
            },
            &Patch::Merge(&mark),
        )
        .await
        .map_err(Error::applying("Project", project_ref))?;
    Ok(())
}
