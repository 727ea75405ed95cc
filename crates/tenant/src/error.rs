//! Jira's error body, `ErrorCollection` in the platform spec:
//! `{"errorMessages": [...], "errors": {"<field>": "..."}}` (its optional `status` is left out,
//! as Jira Cloud usually does).

use std::collections::BTreeMap;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;

/// A failed request: the status and the `ErrorCollection` body Jira sends with it.
#[derive(Debug)]
pub(super) struct JiraError {
    status: StatusCode,
    body: ErrorCollection,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct ErrorCollection {
    error_messages: Vec<String>,
    errors: BTreeMap<String, String>,
}

impl JiraError {
    pub(super) fn new(status: StatusCode, message: impl Into<String>) -> Self {
        JiraError {
            status,
            body: ErrorCollection {
                error_messages: vec![message.into()],
                errors: BTreeMap::new(),
            },
        }
    }

    /// A bad query parameter: Jira names the parameter in `errors`.
    pub(super) fn bad_param(name: &str, message: impl Into<String>) -> Self {
        let mut errors = BTreeMap::new();
        errors.insert(name.to_string(), message.into());
        JiraError {
            status: StatusCode::BAD_REQUEST,
            body: ErrorCollection {
                error_messages: Vec::new(),
                errors,
            },
        }
    }

    pub(super) fn not_found(message: impl Into<String>) -> Self {
        JiraError::new(StatusCode::NOT_FOUND, message)
    }

    pub(super) fn forbidden(message: impl Into<String>) -> Self {
        JiraError::new(StatusCode::FORBIDDEN, message)
    }
}

impl IntoResponse for JiraError {
    fn into_response(self) -> Response {
        (self.status, Json(self.body)).into_response()
    }
}
