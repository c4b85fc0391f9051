//! Finding what a caller may see: an organization or project the caller is
//! not a member of does not exist for them (404, never 403); a member whose
//! role does not allow an action gets 403.

use std::sync::Arc;

use kube::runtime::reflector::ObjectRef;
use supaplane_crds::{Organization, OrganizationRole, Project};

use crate::authorization::permissions::{Action, allows, role_in};
use crate::common::error::{ApiError, ApiResult};
use crate::identity::caller::Caller;
use crate::index::Directory;

/// An organization the caller belongs to, with the caller's role.
#[derive(Clone)]
pub struct OrganizationAccess {
    pub organization: Arc<Organization>,
    pub role: OrganizationRole,
}

/// A project the caller may see, with its organization and the caller's role.
#[derive(Clone)]
pub struct ProjectAccess {
    pub project: Arc<Project>,
    pub organization: Arc<Organization>,
    pub role: OrganizationRole,
}

fn require(role: OrganizationRole, action: Action) -> ApiResult<()> {
    if allows(role, action) {
        Ok(())
    } else {
        Err(ApiError::Forbidden(format!(
            "Your role in this organization ({}) does not allow this",
            role_name(role)
        )))
    }
}

pub fn role_name(role: OrganizationRole) -> &'static str {
    match role {
        OrganizationRole::Owner => "Owner",
        OrganizationRole::Administrator => "Administrator",
        OrganizationRole::Developer => "Developer",
        OrganizationRole::ReadOnly => "Read-only",
    }
}

impl OrganizationAccess {
    pub fn require(&self, action: Action) -> ApiResult<()> {
        require(self.role, action)
    }

    pub fn slug(&self) -> String {
        self.organization.metadata.name.clone().unwrap_or_default()
    }
}

impl ProjectAccess {
    pub fn require(&self, action: Action) -> ApiResult<()> {
        require(self.role, action)
    }

    pub fn reference(&self) -> String {
        self.project.metadata.name.clone().unwrap_or_default()
    }
}

/// Every organization the caller is a member of, by name.
pub fn organizations_of(index: &Directory, caller: &Caller) -> Vec<OrganizationAccess> {
    // The index says where to look (in slug order); the cache says what is
    // there now.
    index
        .member_index
        .organizations_of(&caller.user_id)
        .iter()
        .filter_map(|slug| index.organizations.get(&ObjectRef::new(slug)))
        .filter(|o| o.metadata.deletion_timestamp.is_none())
        .filter_map(|organization| {
            role_in(&organization, caller).map(|role| OrganizationAccess { organization, role })
        })
        .collect()
}

/// Every project the caller may see, with its organization and the
/// caller's role there.
pub fn projects_of(index: &Directory, caller: &Caller) -> Vec<ProjectAccess> {
    organizations_of(index, caller)
        .into_iter()
        .flat_map(|access| {
            index
                .projects_in(&access.slug())
                .into_iter()
                .map(move |project| ProjectAccess {
                    organization: access.organization.clone(),
                    role: access.role,
                    project,
                })
        })
        .collect()
}

pub fn organization(
    index: &Directory,
    caller: &Caller,
    slug: &str,
) -> ApiResult<OrganizationAccess> {
    index
        .organizations
        .get(&ObjectRef::new(slug))
        .filter(|o| o.metadata.deletion_timestamp.is_none())
        .and_then(|organization| {
            role_in(&organization, caller).map(|role| OrganizationAccess { organization, role })
        })
        .ok_or_else(|| ApiError::organization_not_found(slug))
}

pub fn project(index: &Directory, caller: &Caller, project_ref: &str) -> ApiResult<ProjectAccess> {
    let project = index
        .projects
        .get(&ObjectRef::new(project_ref))
        .ok_or_else(|| ApiError::project_not_found(project_ref))?;
    let organization = organization(index, caller, &project.spec.organization)
        .map_err(|_| ApiError::project_not_found(project_ref))?;
    Ok(ProjectAccess {
        project,
        organization: organization.organization,
        role: organization.role,
    })
}
