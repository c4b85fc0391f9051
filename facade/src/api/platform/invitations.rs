//! Organization invitations. An invitation is accepted only with its
//! one-time token, by a user signed in with the invited address: signing up
//! with someone's address (which dashboard autoconfirm makes easy) is not
//! enough. The token is given once, to the member who invites, to pass on
//! as Studio's join link; the Organization keeps only its SHA-256. Only
//! Owners may make, change or revoke an invitation to be Owner.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use kube::ResourceExt;
use kube::runtime::reflector::ObjectRef;
use rand::distr::{Alphanumeric, SampleString};
use serde::{Deserialize, Serialize};
use supaplane_crds::{Organization, OrganizationInvitation, OrganizationMember};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::api::platform::organizations::{require_role_change, role_for_id, role_id};
use crate::api::platform::profile::update_organization;
use crate::authorization::access;
use crate::authorization::permissions::Action;
use crate::common::error::{ApiError, ApiResult, ErrorBody, JsonBody};
use crate::common::ids::{numeric_id, sha256_hex};
use crate::common::validate;
use crate::identity::caller::Caller;
use crate::middleware::limits;
use crate::state::AppState;

/// How long an invitation may be accepted.
const VALID_FOR: chrono::TimeDelta = chrono::TimeDelta::days(7);
/// Length of an invitation token (alphanumeric: ~190 bits).
const TOKEN_LENGTH: usize = 32;

fn invitation_id(organization: &Organization, email: &str) -> u64 {
    numeric_id(&format!(
        "{}/{}",
        organization.uid().unwrap_or_default(),
        email.to_ascii_lowercase()
    ))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
struct InvitationEntry {
    id: u64,
    invited_at: String,
    invited_email: String,
    role_id: u64,
}

/// `InvitationResponse`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
struct InvitationsResponse {
    invitations: Vec<InvitationEntry>,
}

#[utoipa::path(get, path = "/platform/organizations/{slug}/members/invitations", tag = "organizations", responses((status = 200, body = InvitationsResponse), (status = 400, description = "Bad input", body = ErrorBody), (status = 401, description = "Not signed in", body = ErrorBody), (status = 404, description = "Not found, or not yours", body = ErrorBody)), security(("bearer" = [])))]
async fn invitations(
    State(state): State<AppState>,
    caller: Caller,
    Path(slug): Path<String>,
) -> ApiResult<Json<InvitationsResponse>> {
    let access = access::organization(&state.index, &caller, &slug)?;
    let organization = &access.organization;
    Ok(Json(InvitationsResponse {
        invitations: organization
            .spec
            .invitations
            .iter()
            .map(|i| InvitationEntry {
                id: invitation_id(organization, &i.email),
                invited_at: i.invited_at.clone().unwrap_or_default(),
                invited_email: i.email.clone(),
                role_id: role_id(i.role),
            })
            .collect(),
    }))
}

/// `CreateInvitationBody`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
struct CreateInvitationBody {
    #[schema(format = "email", max_length = 320)]
    email: String,
    /// 1 Owner, 2 Administrator, 3 Developer, 4 Read-only.
    #[schema(minimum = 1, maximum = 4)]
    role_id: u64,
}

/// The invitation made, with the token the invitee accepts it with (given
/// only here, never again).
#[derive(Debug, Serialize, utoipa::ToSchema)]
struct CreatedInvitation {
    invited_email: String,
    role_id: u64,
    token: String,
    /// Studio's join page for this invitation, relative to Studio's URL.
    join_path: String,
}

#[utoipa::path(post, path = "/platform/organizations/{slug}/members/invitations", tag = "organizations", request_body = CreateInvitationBody, responses((status = 201, body = CreatedInvitation), (status = 400, description = "Bad input", body = ErrorBody), (status = 401, description = "Not signed in", body = ErrorBody), (status = 403, description = "Not allowed for your role", body = ErrorBody), (status = 404, description = "Not found, or not yours", body = ErrorBody), (status = 409, description = "Already a member", body = ErrorBody)), security(("bearer" = [])))]
async fn invite(
    State(state): State<AppState>,
    caller: Caller,
    Path(slug): Path<String>,
    JsonBody(body): JsonBody<CreateInvitationBody>,
) -> ApiResult<(StatusCode, Json<CreatedInvitation>)> {
    let access = access::organization(&state.index, &caller, &slug)?;
    let role = role_for_id(body.role_id)?;
    let email = validate::email(&body.email)?;
    require_role_change(&access, None, Some(role))?;
    // Replacing an invitation changes its role: an Owner invitation is
    // only Owners' to change.
    if let Some(existing) = access
        .organization
        .spec
        .invitations
        .iter()
        .find(|i| i.email.eq_ignore_ascii_case(&email))
    {
        require_role_change(&access, Some(existing.role), Some(role))?;
    }
    let pending = &access.organization.spec.invitations;
    if !pending.iter().any(|i| i.email.eq_ignore_ascii_case(&email)) {
        limits::check(
            "pending invitations per organization",
            pending.len(),
            state.config.max_invitations_per_organization,
            "--max-invitations-per-organization",
        )?;
    }
    limits::check(
        "members per organization",
        access.organization.spec.members.len() + pending.len(),
        state.config.max_members_per_organization,
        "--max-members-per-organization",
    )?;
    let token = Alphanumeric.sample_string(&mut rand::rng(), TOKEN_LENGTH);
    let mut refusal = None;
    update_organization(&state, &slug, |organization| {
        if organization
            .spec
            .members
            .iter()
            .any(|m| m.email.eq_ignore_ascii_case(&email))
        {
            refusal = Some(ApiError::Conflict(format!(
                "{email} is already a member of this organization"
            )));
            return false;
        }
        if let Some(existing) = organization
            .spec
            .invitations
            .iter()
            .find(|i| i.email.eq_ignore_ascii_case(&email))
            && existing.role != role
            && let Err(refused) = require_role_change(&access, Some(existing.role), Some(role))
        {
            // Changed since it was read.
            refusal = Some(refused);
            return false;
        }
        organization
            .spec
            .invitations
            .retain(|i| !i.email.eq_ignore_ascii_case(&email));
        organization.spec.invitations.push(OrganizationInvitation {
            email: email.clone(),
            role,
            invited_at: Some(chrono::Utc::now().to_rfc3339()),
            invited_by: Some(caller.user_id.clone()),
            token_sha256: Some(sha256_hex(&token)),
        });
        true
    })
    .await?;
    if let Some(refused) = refusal {
        return Err(refused);
    }
    Ok((
        StatusCode::CREATED,
        Json(CreatedInvitation {
            invited_email: email,
            role_id: body.role_id,
            join_path: format!("/join?token={token}&slug={slug}"),
            token,
        }),
    ))
}

#[utoipa::path(delete, path = "/platform/organizations/{slug}/members/invitations/{id}", tag = "organizations", responses((status = 200), (status = 400, description = "Bad input", body = ErrorBody), (status = 401, description = "Not signed in", body = ErrorBody), (status = 403, description = "Not allowed for your role", body = ErrorBody), (status = 404, description = "Not found, or not yours", body = ErrorBody)), security(("bearer" = [])))]
async fn uninvite(
    State(state): State<AppState>,
    caller: Caller,
    Path((slug, id)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    let access = access::organization(&state.index, &caller, &slug)?;
    access.require(Action::ManageMembers)?;
    let id: u64 = id
        .parse()
        .map_err(|_| ApiError::BadRequest(format!("Invitation id {id:?} is not a number")))?;
    let organization = &access.organization;
    let invitation = organization
        .spec
        .invitations
        .iter()
        .find(|i| invitation_id(organization, &i.email) == id)
        .cloned()
        .ok_or_else(|| ApiError::NotFound(format!("Invitation {id} not found")))?;
    require_role_change(&access, Some(invitation.role), None)?;
    update_organization(&state, &slug, |organization| {
        let before = organization.spec.invitations.len();
        organization
            .spec
            .invitations
            .retain(|i| i.email != invitation.email);
        organization.spec.invitations.len() != before
    })
    .await?;
    Ok(StatusCode::OK)
}

/// `InvitationByTokenResponse`: what Studio's join page shows.
#[derive(Debug, Serialize, utoipa::ToSchema)]
struct InvitationByToken {
    authorized_user: bool,
    email_match: bool,
    expired_token: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    invite_id: Option<u64>,
    organization_name: String,
    sso_mismatch: bool,
    token_does_not_exist: bool,
}

/// The organization and its invitation that `token` opens, if any.
fn find_by_token(
    state: &AppState,
    slug: &str,
    token: &str,
) -> Option<(std::sync::Arc<Organization>, OrganizationInvitation)> {
    let organization = state.index.organizations.get(&ObjectRef::new(slug))?;
    let hash = sha256_hex(token);
    let invitation = organization
        .spec
        .invitations
        .iter()
        .find(|i| i.token_sha256.as_deref() == Some(hash.as_str()))
        .cloned()?;
    Some((organization, invitation))
}

fn expired(invitation: &OrganizationInvitation) -> bool {
    invitation
        .invited_at
        .as_deref()
        .and_then(|at| chrono::DateTime::parse_from_rfc3339(at).ok())
        .is_none_or(|at| at + VALID_FOR < chrono::Utc::now())
}

fn email_matches(caller: &Caller, invitation: &OrganizationInvitation) -> bool {
    caller
        .email
        .as_deref()
        .is_some_and(|email| email.eq_ignore_ascii_case(&invitation.email))
}

#[utoipa::path(get, path = "/platform/organizations/{slug}/members/invitations/{id}", tag = "organizations",
    params(("id" = String, Path, description = "The invitation's one-time token")),
    responses((status = 200, body = InvitationByToken), (status = 401, description = "Not signed in", body = ErrorBody)), security(("bearer" = [])))]
async fn invitation_by_token(
    State(state): State<AppState>,
    caller: Caller,
    Path((slug, token)): Path<(String, String)>,
) -> Json<InvitationByToken> {
    let found = find_by_token(&state, &slug, &token);
    Json(match found {
        // Nothing about the organization for a token that opens nothing.
        None => InvitationByToken {
            authorized_user: true,
            email_match: false,
            expired_token: false,
            invite_id: None,
            organization_name: String::new(),
            sso_mismatch: false,
            token_does_not_exist: true,
        },
        Some((organization, invitation)) => InvitationByToken {
            authorized_user: true,
            email_match: email_matches(&caller, &invitation),
            expired_token: expired(&invitation),
            invite_id: Some(invitation_id(&organization, &invitation.email)),
            organization_name: organization.spec.display_name.clone(),
            sso_mismatch: false,
            token_does_not_exist: false,
        },
    })
}

#[utoipa::path(post, path = "/platform/organizations/{slug}/members/invitations/{id}", tag = "organizations",
    params(("id" = String, Path, description = "The invitation's one-time token")),
    responses((status = 201), (status = 401, description = "Not signed in", body = ErrorBody), (status = 403, description = "Signed in with another address than the invited one", body = ErrorBody), (status = 404, description = "No invitation has this token (or it was used)", body = ErrorBody), (status = 410, description = "The invitation expired", body = ErrorBody)), security(("bearer" = [])))]
async fn accept(
    State(state): State<AppState>,
    caller: Caller,
    Path((slug, token)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    let not_found = || {
        ApiError::NotFound("No invitation has this token; it may have been used or revoked".into())
    };
    let (_, invitation) = find_by_token(&state, &slug, &token).ok_or_else(not_found)?;
    if expired(&invitation) {
        return Err(ApiError::Gone(
            "This invitation expired; ask for a new one".into(),
        ));
    }
    if !email_matches(&caller, &invitation) {
        return Err(ApiError::Forbidden(
            "This invitation is for another email address; sign in as the invited user".into(),
        ));
    }
    let email = invitation.email.clone();
    let hash = sha256_hex(&token);
    let mut used = false;
    update_organization(&state, &slug, |organization| {
        // Consumed in the same write that adds the member: one use only.
        let Some(position) = organization
            .spec
            .invitations
            .iter()
            .position(|i| i.token_sha256.as_deref() == Some(hash.as_str()))
        else {
            return false;
        };
        let invitation = organization.spec.invitations.remove(position);
        if !organization
            .spec
            .members
            .iter()
            .any(|m| m.user_id == caller.user_id)
        {
            organization.spec.members.push(OrganizationMember {
                user_id: caller.user_id.clone(),
                email: email.clone(),
                role: invitation.role,
            });
        }
        used = true;
        true
    })
    .await?;
    if used {
        Ok(StatusCode::CREATED)
    } else {
        Err(not_found())
    }
}

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(invitations, invite))
        .routes(routes!(uninvite, invitation_by_token, accept))
}
