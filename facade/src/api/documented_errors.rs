//! Every error the facade can answer, in the OpenAPI document of every
//! operation it applies to, so a generated client knows them: the layers
//! around the handlers (authentication, role checks, limits, the body
//! limit, the write rate, the API server watch, the deadline) answer them
//! on any route, whatever each handler documents itself.

use utoipa::openapi::path::{Operation, PathItem};
use utoipa::openapi::{ContentBuilder, OpenApi, Ref, ResponseBuilder};

/// Adds the errors each operation can meet to its responses, keeping what
/// the handler documented itself.
pub struct DocumentedErrors;

fn error(description: &str) -> utoipa::openapi::Response {
    ResponseBuilder::new()
        .description(description)
        .content(
            "application/json",
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("ErrorBody")))
                .build(),
        )
        .build()
}

fn add_errors(operation: &mut Operation, writes: bool) {
    let mut errors = vec![
        ("400", "Bad input: the message says what to fix"),
        ("401", "Not signed in, or the token is not valid"),
        ("403", "Not allowed for your role, or a limit is reached"),
        ("404", "Not found, or not yours"),
        ("502", "A project service this relays to failed"),
        (
            "503",
            "A service this needs is not answering (a paused project, or the Kubernetes API server); see Retry-After",
        ),
        ("504", "The request took longer than the facade's deadline"),
    ];
    if writes {
        errors.push(("409", "Conflicts with what exists"));
        errors.push(("429", "Too many changes by this user; see Retry-After"));
    }
    if operation.request_body.is_some() {
        errors.push(("413", "The request body is too large"));
    }
    for (status, description) in errors {
        operation
            .responses
            .responses
            .entry(status.to_string())
            .or_insert_with(|| error(description).into());
    }
}

impl utoipa::Modify for DocumentedErrors {
    fn modify(&self, openapi: &mut OpenApi) {
        for item in openapi.paths.paths.values_mut() {
            let PathItem {
                get,
                put,
                post,
                delete,
                patch,
                ..
            } = item;
            for (operation, writes) in [
                (get, false),
                (put, true),
                (post, true),
                (delete, true),
                (patch, true),
            ] {
                if let Some(operation) = operation {
                    add_errors(operation, writes);
                }
            }
        }
    }
}
