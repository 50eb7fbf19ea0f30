//! The API's one error type: each variant's status and stable code, JSON bodies, and the
//! mapping of store, engine and framework errors. Internal causes are logged, never returned.

use poem::{Response, error::ResponseError, http::StatusCode};
use poem_openapi::{
    ApiResponse, Object,
    registry::{MetaMediaType, MetaResponse, MetaResponses, MetaSchemaRef, Registry},
    types::{ToJSON, Type},
};
use synkro_core::{
    ValidationError,
    connector::{ConnectorError, FailureClass},
    domain::TenantStatus,
    ids::JobId,
    store::{Constraint, DeliveryState, StoreError},
};
use synkro_pipeline::EngineError;

/// One offending input.
#[derive(Debug, Clone, PartialEq, Eq, Object)]
pub struct FieldError {
    /// The field or parameter name (`body` when the whole body is at fault).
    pub field: String,
    /// What is wrong with it.
    pub message: String,
}

/// The JSON body of every error answer.
#[derive(Debug, Clone, PartialEq, Eq, Object)]
pub struct ErrorBody {
    /// Stable snake_case code, for programs.
    pub code: String,
    /// What went wrong, for people.
    pub message: String,
    /// The offending inputs, if any.
    pub fields: Vec<FieldError>,
    /// The job holding the tenant's report slot (code `active_job` only).
    #[oai(skip_serializing_if_is_none)]
    pub active_job_id: Option<uuid::Uuid>,
}

/// Why a request failed.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 400: the request could not be read (malformed JSON, wrong types, bad parameters).
    #[error("{message}")]
    BadRequest {
        /// Stable code.
        code: &'static str,
        /// Message.
        message: String,
        /// Offending inputs.
        fields: Vec<FieldError>,
    },
    /// 422: the input was read but breaks a rule.
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    /// 401: no valid session.
    #[error("sign in first")]
    Unauthenticated,
    /// 401: wrong username or password.
    #[error("wrong username or password")]
    BadCredentials,
    /// 403: signed in, but the role does not allow this.
    #[error("your role does not allow this")]
    Forbidden,
    /// 403: a cookie-authenticated change without the session's CSRF token.
    #[error("missing or wrong X-CSRF-Token header")]
    Csrf,
    /// 403: an API token used where only a browser session may act.
    #[error("this needs a signed-in browser session; API tokens cannot sign out, change passwords or create tokens")]
    SessionRequired,
    /// 404: no such object, or one the caller may not see (indistinguishable on purpose).
    #[error("{0} not found")]
    NotFound(&'static str),
    /// 409: a rule of the database refused the change.
    #[error("{0}")]
    Conflict(Constraint),
    /// 409: the tenant already has an active report job.
    #[error("the tenant already has an active report job ({0}); wait for it or stop it")]
    ActiveJob(JobId),
    /// 409: the tenant is paused or disabled, so it runs no reports and answers no follow-ups.
    #[error("the tenant is {0}: reports and follow-ups are off until an admin sets its status back to active")]
    TenantInactive(TenantStatus),
    /// 409: a re-send of a report whose delivery is not unknown or failed.
    #[error("the report's delivery is {0}; only an unknown or failed delivery can be re-sent")]
    DeliveryBusy(DeliveryState),
    /// 413: the body is larger than the limit.
    #[error("request body larger than {0} bytes")]
    PayloadTooLarge(usize),
    /// 429: too many failed logins; retry after the given seconds.
    #[error("too many failed logins; try again in {0} seconds")]
    Throttled(u64),
    /// 429: the caller used up a per-user allowance; retry after the given seconds.
    #[error("too many {what}; try again in {retry_after} seconds")]
    RateLimited {
        /// What was limited, in words.
        what: &'static str,
        /// Seconds until the next one is allowed.
        retry_after: u64,
    },
    /// 503: too many password checks are waiting already; retry in a second.
    #[error("the server is busy checking passwords; try again in a moment")]
    Busy,
    /// 502: an integration (AI, CRM, ...) failed or is not set up.
    #[error("{0}")]
    Upstream(String),
    /// 500: something broke inside; the cause is logged, not returned.
    #[error("internal error")]
    Internal,
}

/// `Result` with [`ApiError`].
pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    /// A 400 naming one field.
    pub fn bad_request(code: &'static str, field: impl Into<String>, message: impl Into<String>) -> Self {
        let message = message.into();
        Self::BadRequest { code, fields: vec![FieldError { field: field.into(), message: message.clone() }], message }
    }

    /// Logs `cause` and answers 500.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "internal error");
        Self::Internal
    }

    /// The stable code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::BadRequest { code, .. } => code,
            Self::Invalid(_) => "invalid_input",
            Self::Unauthenticated => "unauthenticated",
            Self::BadCredentials => "bad_credentials",
            Self::Forbidden => "forbidden",
            Self::Csrf => "csrf_failed",
            Self::SessionRequired => "session_required",
            Self::NotFound(_) => "not_found",
            Self::Conflict(_) => "conflict",
            Self::ActiveJob(_) => "active_job",
            Self::TenantInactive(_) => "tenant_inactive",
            Self::DeliveryBusy(_) => "delivery_not_resendable",
            Self::PayloadTooLarge(_) => "payload_too_large",
            Self::Throttled(_) => "too_many_attempts",
            Self::Busy => "busy",
            Self::RateLimited { .. } => "rate_limited",
            Self::Upstream(_) => "upstream_failed",
            Self::Internal => "internal",
        }
    }

    /// The JSON body.
    pub fn body(&self) -> ErrorBody {
        let fields = match self {
            Self::BadRequest { fields, .. } => fields.clone(),
            Self::Invalid(v) => vec![FieldError { field: v.field.to_owned(), message: v.message.clone() }],
            _ => Vec::new(),
        };
        let active_job_id = match self {
            Self::ActiveJob(id) => Some(id.as_uuid()),
            _ => None,
        };
        ErrorBody { code: self.code().to_owned(), message: self.to_string(), fields, active_job_id }
    }
}

impl ResponseError for ApiError {
    fn status(&self) -> StatusCode {
        match self {
            Self::BadRequest { .. } => StatusCode::BAD_REQUEST,
            Self::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::Unauthenticated | Self::BadCredentials => StatusCode::UNAUTHORIZED,
            Self::Forbidden | Self::Csrf | Self::SessionRequired => StatusCode::FORBIDDEN,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::Conflict(_) | Self::ActiveJob(_) | Self::TenantInactive(_) | Self::DeliveryBusy(_) => {
                StatusCode::CONFLICT
            }
            Self::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::Throttled(_) => StatusCode::TOO_MANY_REQUESTS,
            Self::Busy => StatusCode::SERVICE_UNAVAILABLE,
            Self::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::Upstream(_) => StatusCode::BAD_GATEWAY,
            Self::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn as_response(&self) -> Response {
        let body = self.body().to_json().map(|v| v.to_string()).unwrap_or_default();
        let mut response =
            Response::builder().status(self.status()).content_type("application/json; charset=utf-8").body(body);
        let retry_after = match self {
            Self::Throttled(secs) => Some(*secs),
            Self::Busy => Some(1),
            Self::RateLimited { retry_after, .. } => Some((*retry_after).max(1)),
            _ => None,
        };
        if let Some(value) = retry_after.and_then(|secs| secs.to_string().parse().ok()) {
            response.headers_mut().insert("retry-after", value);
        }
        response
    }
}

impl ApiResponse for ApiError {
    fn meta() -> MetaResponses {
        let schema = || MetaSchemaRef::Reference(ErrorBody::name().into_owned());
        let statuses = [
            (400, "The request could not be read: malformed JSON, wrong types or bad parameters"),
            (401, "Not signed in, or wrong credentials"),
            (403, "The role does not allow this, or the CSRF token is missing"),
            (404, "No such object, or one of another tenant"),
            (409, "A rule refused the change (the body names it)"),
            (413, "The body is too large"),
            (422, "The input breaks a rule (the body names the field)"),
            (429, "Too many failed logins (see Retry-After)"),
            (502, "An integration failed"),
        ];
        MetaResponses {
            responses: statuses
                .into_iter()
                .map(|(status, description)| MetaResponse {
                    description,
                    status: Some(status),
                    status_range: None,
                    content: vec![MetaMediaType { content_type: "application/json; charset=utf-8", schema: schema() }],
                    headers: vec![],
                })
                .collect(),
        }
    }

    fn register(registry: &mut Registry) {
        ErrorBody::register(registry);
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound { entity } => Self::NotFound(entity),
            StoreError::Invalid(v) => Self::Invalid(v),
            StoreError::Conflict(Constraint::ActiveReportJob { active: Some(id) }) => Self::ActiveJob(id),
            StoreError::Conflict(c) => Self::Conflict(c),
            other => Self::internal(other),
        }
    }
}

impl From<EngineError> for ApiError {
    fn from(e: EngineError) -> Self {
        match e {
            EngineError::Invalid(v) => Self::Invalid(v),
            EngineError::ActiveJob(id) => Self::ActiveJob(id),
            EngineError::TenantInactive(status) => Self::TenantInactive(status),
            EngineError::DeliveryBusy(state) => Self::DeliveryBusy(state),
            EngineError::NotFound(entity) => Self::NotFound(entity),
            EngineError::Connector(c) => c.into(),
            EngineError::Store(s) => s.into(),
            other => Self::internal(other),
        }
    }
}

impl From<ConnectorError> for ApiError {
    fn from(e: ConnectorError) -> Self {
        tracing::warn!(class = ?e.class, error = %e.message, "integration failed during a request");
        let what = match e.class {
            FailureClass::Auth | FailureClass::Permission => "the integration's credentials were refused",
            FailureClass::Config => "the integration is not set up",
            FailureClass::RateLimited => "the service is rate limiting; try again later",
            _ => "the service failed; try again later",
        };
        match e.hint {
            Some(hint) => Self::Upstream(format!("{what}: {hint}")),
            None => Self::Upstream(what.to_owned()),
        }
    }
}

/// Turns any framework error (unparsable parameter, wrong content type, unknown route) into the
/// JSON error shape; 5xx causes are logged and hidden.
pub fn to_json_error(err: poem::Error) -> Response {
    if let Some(api) = err.downcast_ref::<ApiError>() {
        return api.as_response();
    }
    let status = err.status();
    let api = if let Some(p) = err.downcast_ref::<poem_openapi::error::ParseParamError>() {
        ApiError::bad_request("invalid_parameter", p.name, p.reason.clone())
    } else if let Some(p) = err.downcast_ref::<poem_openapi::error::ParsePathError>() {
        // poem-openapi names path segments `param0`, ...; every path parameter of this API is `id`.
        let field = if p.name.starts_with("param") { "id" } else { p.name };
        ApiError::bad_request("invalid_parameter", field, p.reason.clone())
    } else if let Some(p) = err.downcast_ref::<poem_openapi::error::ParseRequestPayloadError>() {
        ApiError::bad_request("invalid_body", "body", p.reason.clone())
    } else if err.is::<poem_openapi::error::ContentTypeError>() {
        ApiError::bad_request("unsupported_media_type", "content-type", "send application/json")
    } else if err.is::<poem_openapi::error::AuthorizationError>() {
        ApiError::Unauthenticated
    } else if status == StatusCode::NOT_FOUND {
        ApiError::NotFound("route")
    } else if status.is_client_error() {
        let code = match status {
            StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
            StatusCode::LENGTH_REQUIRED => "length_required",
            StatusCode::PAYLOAD_TOO_LARGE => "payload_too_large",
            StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
            _ => "bad_request",
        };
        let message = err.to_string();
        let mut response = ApiError::BadRequest { code, message, fields: Vec::new() }.as_response();
        response.set_status(status);
        return response;
    } else {
        ApiError::internal(err)
    };
    let mut response = api.as_response();
    if matches!(api, ApiError::BadRequest { .. }) {
        response.set_status(if status.is_client_error() { status } else { StatusCode::BAD_REQUEST });
    }
    response
}
