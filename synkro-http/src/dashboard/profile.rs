//! The profile: e-mail, phone, time zone, language, password change and personal API tokens
//! (a new token is shown once).

use askama::Template;
use poem::{
    Request, Response, handler,
    http::StatusCode,
    web::{Data, Form, Path},
};
use poem_openapi::types::MaybeUndefined;
use serde::Deserialize;
use synkro_core::{domain::Language, ids::ApiTokenId, time::TimeZoneName};
use uuid::Uuid;

use super::{CsrfForm, Frame, PageResult, Section, Ui, Visit, either, form_visit, page, refusal, see_other, visit};
use crate::{
    AppState,
    api::{
        auth::{ProfileChange, change_password as change, update_profile},
        tokens::{create_token as create, revoke_token as revoke},
    },
    error::ApiError,
};

/// One of the caller's API tokens.
struct TokenRow {
    id: String,
    name: String,
    prefix: String,
    created: String,
    last_used: Option<String>,
    expires: Option<String>,
    revoked: bool,
}

#[derive(Template)]
#[template(path = "profile.html")]
struct ProfilePage {
    t: &'static Ui,
    f: Frame,
    username: String,
    email: Option<String>,
    phone: String,
    timezone: String,
    languages: Vec<(&'static str, &'static str, bool)>,
    tokens: Vec<TokenRow>,
    new_token: Option<String>,
    message: Option<String>,
    saved: bool,
}

async fn render(
    state: &AppState,
    v: &Visit,
    status: StatusCode,
    message: Option<String>,
    new_token: Option<String>,
    saved: bool,
) -> PageResult {
    let t = v.t;
    let loaded = async {
        let profile = state.store().get_profile(v.caller.user.id).await?;
        let tokens = state.store().list_api_tokens(v.caller.user.id).await?;
        Ok::<_, ApiError>((profile, tokens))
    };
    let (profile, tokens) = loaded.await.map_err(|e| v.error(e))?;
    let utc = TimeZoneName::utc();
    let zone = v.timezone.as_ref().unwrap_or(&utc);
    let chosen = profile.as_ref().and_then(|p| p.language);
    let languages = vec![
        ("", t.language_browser, chosen.is_none()),
        ("ru", "Русский", chosen == Some(Language::Ru)),
        ("en", "English", chosen == Some(Language::En)),
    ];
    let rendered = ProfilePage {
        t,
        f: v.frame(Section::Profile),
        username: v.caller.user.username.clone(),
        email: v.caller.user.email.clone(),
        phone: profile.as_ref().and_then(|p| p.phone.clone()).unwrap_or_default(),
        timezone: profile.as_ref().and_then(|p| p.timezone.as_ref()).map(|z| z.as_str().to_owned()).unwrap_or_default(),
        languages,
        tokens: tokens
            .into_iter()
            .map(|k| TokenRow {
                id: k.id.as_uuid().to_string(),
                name: k.name,
                prefix: k.prefix,
                created: v.time(k.created_at, zone),
                last_used: k.last_used_at.map(|at| v.time(at, zone)),
                expires: k.expires_at.map(|at| v.time(at, zone)),
                revoked: k.revoked_at.is_some(),
            })
            .collect(),
        new_token,
        message,
        saved,
    }
    .render();
    Ok(page(status, rendered))
}

/// Shows the page again with a refused change's reason, or sends the browser back to it.
async fn after(state: &AppState, v: &Visit, done: Result<(), ApiError>) -> PageResult {
    match done {
        Ok(()) => Ok(see_other("/profile?saved=1")),
        Err(e @ (ApiError::NotFound(_) | ApiError::Csrf)) => Err(v.error(e)),
        Err(e) => {
            let status = poem::error::ResponseError::status(&e);
            render(state, v, status, Some(refusal(v.t, &e)), None, false).await
        }
    }
}

#[derive(Deserialize)]
pub(super) struct Saved {
    saved: Option<String>,
}

#[handler]
pub(super) async fn profile_page(state: Data<&AppState>, req: &Request, query: poem::web::Query<Saved>) -> Response {
    either(
        async {
            let v = visit(&state, req).await?;
            render(&state, &v, StatusCode::OK, None, None, query.0.saved.is_some()).await
        }
        .await,
    )
}

#[derive(Deserialize)]
pub(super) struct ProfileForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    phone: String,
    #[serde(default)]
    timezone: String,
    #[serde(default)]
    language: String,
}

#[handler]
pub(super) async fn save_profile(state: Data<&AppState>, req: &Request, form: Form<ProfileForm>) -> Response {
    either(
        async {
            let form = form.0;
            let v = form_visit(&state, req, &form.csrf).await?;
            let change = ProfileChange {
                email: MaybeUndefined::Value(form.email),
                phone: MaybeUndefined::Value(form.phone),
                timezone: MaybeUndefined::Value(form.timezone),
                language: MaybeUndefined::Value(form.language),
            };
            let done = update_profile(&state, req, &v.caller, change).await.map(|_| ());
            after(&state, &v, done).await
        }
        .await,
    )
}

#[derive(Deserialize)]
pub(super) struct PasswordForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    current_password: String,
    #[serde(default)]
    new_password: String,
    #[serde(default)]
    repeat_password: String,
}

#[handler]
pub(super) async fn change_password(state: Data<&AppState>, req: &Request, form: Form<PasswordForm>) -> Response {
    either(
        async {
            let form = form.0;
            let v = form_visit(&state, req, &form.csrf).await?;
            let done = if form.new_password == form.repeat_password {
                change(&state, req, &v.caller, form.current_password, form.new_password).await
            } else {
                Err(synkro_core::ValidationError::new("repeat_password", v.t.passwords_differ).into())
            };
            after(&state, &v, done).await
        }
        .await,
    )
}

#[derive(Deserialize)]
pub(super) struct TokenForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    expires_in_days: String,
}

#[handler]
pub(super) async fn create_token(state: Data<&AppState>, req: &Request, form: Form<TokenForm>) -> Response {
    either(
        async {
            let form = form.0;
            let v = form_visit(&state, req, &form.csrf).await?;
            let days = form.expires_in_days.trim();
            let created = async {
                let days = match days {
                    "" => None,
                    d => Some(
                        d.parse::<u32>()
                            .map_err(|_| synkro_core::ValidationError::new("expires_in_days", v.t.days_range))?,
                    ),
                };
                create(&state, req, &v.caller, form.name.trim().to_owned(), days).await
            };
            match created.await {
                Ok((_, token)) => render(&state, &v, StatusCode::CREATED, None, Some(token), false).await,
                Err(e) => after(&state, &v, Err(e)).await,
            }
        }
        .await,
    )
}

#[handler]
pub(super) async fn revoke_token(
    state: Data<&AppState>,
    req: &Request,
    id: Path<Uuid>,
    form: Form<CsrfForm>,
) -> Response {
    either(
        async {
            let v = form_visit(&state, req, &form.0.csrf).await?;
            let done = revoke(&state, req, &v.caller, ApiTokenId::from_uuid(id.0)).await;
            after(&state, &v, done).await
        }
        .await,
    )
}
