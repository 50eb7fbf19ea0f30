//! `/auth/tokens`: personal API tokens for scripts. A token is shown once, stored as its
//! SHA-256, acts as its owner with their roles, and can be revoked at any time.

use poem::{Request, web::Data};
use poem_openapi::{ApiResponse, OpenApi, param::Path, payload::Json};
use serde_json::json;
use synkro_core::{
    ValidationError,
    ids::ApiTokenId,
    store::{ApiToken, NewApiToken},
    time::Timestamp,
};
use uuid::Uuid;

use super::{
    Tag,
    models::{CreateToken, CreatedToken, TokenOut},
};
use crate::{
    AppState, audit,
    auth::{Auth, Caller, Credential, SessionAuth, TOKEN_PREFIX, random_token, token_id},
    body::JsonBody,
    error::{ApiError, ApiResult},
};
use synkro_core::domain::AuditAction;

#[derive(Default)]
pub struct TokensApi;

#[derive(ApiResponse)]
enum Created {
    /// The token; its value is shown only in this answer.
    #[oai(status = 201)]
    Created(Json<CreatedToken>),
}

#[derive(ApiResponse)]
enum Revoked {
    /// The token no longer works.
    #[oai(status = 204)]
    Done,
}

#[OpenApi(prefix_path = "/auth/tokens", tag = "Tag::Tokens")]
impl TokensApi {
    /// The caller's API tokens, newest first (revoked ones included; never their values).
    #[oai(path = "/", method = "get")]
    async fn list_tokens(&self, state: Data<&AppState>, caller: Auth) -> ApiResult<Json<Vec<TokenOut>>> {
        let tokens = state.store().list_api_tokens(caller.0.user.id).await?;
        Ok(Json(tokens.iter().map(TokenOut::from).collect()))
    }

    /// Create an API token (from a browser session only). Send it as
    /// `Authorization: Bearer <token>`; it is shown once.
    #[oai(path = "/", method = "post")]
    async fn create_token(
        &self,
        state: Data<&AppState>,
        req: &Request,
        caller: SessionAuth,
        body: JsonBody<CreateToken>,
    ) -> ApiResult<Created> {
        let CreateToken { name, expires_in_days } = body.0;
        let (stored, token) = create_token(&state, req, &caller.0, name, expires_in_days).await?;
        Ok(Created::Created(Json(CreatedToken { details: TokenOut::from(&stored), token })))
    }

    /// Revoke one of the caller's API tokens.
    #[oai(path = "/:id", method = "delete")]
    async fn revoke_token(
        &self,
        state: Data<&AppState>,
        req: &Request,
        caller: Auth,
        id: Path<Uuid>,
    ) -> ApiResult<Revoked> {
        revoke_token(&state, req, &caller.0, ApiTokenId::from_uuid(id.0)).await?;
        Ok(Revoked::Done)
    }
}

/// Creates a personal API token for `caller` (a signed-in session: the API's and the
/// dashboard's one path): `(stored, token)`, the token shown this once.
pub(crate) async fn create_token(
    state: &AppState,
    req: &Request,
    caller: &Caller,
    name: String,
    expires_in_days: Option<u32>,
) -> ApiResult<(ApiToken, String)> {
    if !matches!(caller.credential, Credential::Session(_)) {
        return Err(ApiError::SessionRequired);
    }
    let expires_at = match expires_in_days {
        None => None,
        Some(days @ 1..=3650) => Some(Timestamp::now() + time::Duration::days(i64::from(days))),
        Some(_) => return Err(ValidationError::new("expires_in_days", "must be between 1 and 3650").into()),
    };
    let token = format!("{TOKEN_PREFIX}{}", random_token()?);
    let new = NewApiToken {
        user_id: caller.user.id,
        name,
        token_hash: token_id(&token),
        prefix: token.chars().take(16).collect(),
        expires_at,
    };
    let stored = state.store().create_api_token(&new).await?;
    let metadata = json!({ "token_id": stored.id.as_uuid(), "name": stored.name, "prefix": stored.prefix });
    audit::by(
        state,
        req,
        caller,
        AuditAction::TokenCreate,
        format!("created API token {:?}", stored.name),
        None,
        metadata,
    )
    .await;
    Ok((stored, token))
}

/// Revokes one of `caller`'s own tokens.
pub(crate) async fn revoke_token(state: &AppState, req: &Request, caller: &Caller, id: ApiTokenId) -> ApiResult<()> {
    let revoked = state.store().revoke_api_token(caller.user.id, id).await?;
    state.forget_user(caller.user.id);
    let metadata = json!({ "token_id": revoked.id.as_uuid(), "name": revoked.name, "prefix": revoked.prefix });
    audit::by(
        state,
        req,
        caller,
        AuditAction::TokenRevoke,
        format!("revoked API token {:?}", revoked.name),
        None,
        metadata,
    )
    .await;
    Ok(())
}
