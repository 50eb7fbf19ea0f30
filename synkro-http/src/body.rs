//! `JsonBody<T>`: a JSON request body documented like poem-openapi's `Json<T>` but parsed with
//! serde, so a wrong type, an unknown field or an unknown enum value names the offending field.

use poem::{Request, RequestBody};
use poem_openapi::{
    ApiExtractor, ApiExtractorType, ExtractParamOptions,
    payload::{ParsePayload, Payload},
    registry::{MetaMediaType, MetaRequest, MetaSchemaRef, Registry},
    types::Type,
};
use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// A JSON request body of type `T` (which derives both `Object` and `Deserialize`).
pub struct JsonBody<T>(pub T);

impl<T: Type> Payload for JsonBody<T> {
    const CONTENT_TYPE: &'static str = "application/json; charset=utf-8";

    fn check_content_type(content_type: &str) -> bool {
        let essence = content_type.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
        essence == "application/json" || essence.ends_with("+json")
    }

    fn schema_ref() -> MetaSchemaRef {
        T::schema_ref()
    }

    fn register(registry: &mut Registry) {
        T::register(registry);
    }
}

impl<T: Type + DeserializeOwned> ParsePayload for JsonBody<T> {
    const IS_REQUIRED: bool = true;

    async fn from_request(request: &Request, body: &mut RequestBody) -> poem::Result<Self> {
        let bytes = <Vec<u8> as poem::FromRequest>::from_request(request, body).await?;
        Ok(Self(parse(&bytes)?))
    }
}

/// Parses a JSON body, naming the field at fault.
pub fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let value: serde_json::Value = serde_json::from_slice(bytes)
        .map_err(|e| ApiError::bad_request("malformed_json", "body", format!("the body is not valid JSON: {e}")))?;
    if !value.is_object() {
        return Err(ApiError::bad_request("invalid_body", "body", "the body must be a JSON object"));
    }
    if let Some(field) = nul_at(&value, "") {
        return Err(ApiError::bad_request("invalid_field", field, NUL_MESSAGE));
    }
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner().to_string();
        // serde names an unknown or missing field in the message, not in the path.
        let named = inner
            .split('`')
            .nth(1)
            .filter(|_| inner.starts_with("unknown field") || inner.starts_with("missing field"));
        let field = match (path.as_str(), named) {
            (".", Some(name)) => name.to_owned(),
            (".", None) => "body".to_owned(),
            (path, _) => path.to_owned(),
        };
        ApiError::bad_request("invalid_field", field, inner)
    })
}

/// What a text with a NUL character is told: no stored text may hold one (PostgreSQL refuses
/// it, and no name, message or secret needs it).
pub const NUL_MESSAGE: &str = "must not contain a NUL character (\\u0000)";

/// The path (`a.b[2]`) of the first key or string in `value` that holds a NUL character.
fn nul_at(value: &serde_json::Value, path: &str) -> Option<String> {
    let join = |key: &str| if path.is_empty() { key.to_owned() } else { format!("{path}.{key}") };
    match value {
        serde_json::Value::String(s) if s.contains('\0') => {
            Some(if path.is_empty() { "body".to_owned() } else { path.to_owned() })
        }
        serde_json::Value::Array(items) => {
            items.iter().enumerate().find_map(|(i, item)| nul_at(item, &format!("{path}[{i}]")))
        }
        serde_json::Value::Object(map) => map.iter().find_map(|(key, item)| {
            if key.contains('\0') { Some(join(&key.replace('\0', "\\u0000"))) } else { nul_at(item, &join(key)) }
        }),
        _ => None,
    }
}

impl<'a, T: Type + DeserializeOwned> ApiExtractor<'a> for JsonBody<T> {
    const TYPES: &'static [ApiExtractorType] = &[ApiExtractorType::RequestObject];
    type ParamType = ();
    type ParamRawType = ();

    fn register(registry: &mut Registry) {
        <Self as Payload>::register(registry);
    }

    fn request_meta() -> Option<MetaRequest> {
        Some(MetaRequest {
            description: None,
            content: vec![MetaMediaType { content_type: <Self as Payload>::CONTENT_TYPE, schema: T::schema_ref() }],
            required: true,
        })
    }

    async fn from_request(
        request: &'a Request,
        body: &mut RequestBody,
        _param_opts: ExtractParamOptions<Self::ParamType>,
    ) -> poem::Result<Self> {
        match request.content_type() {
            Some(ct) if <Self as Payload>::check_content_type(ct) => {
                <Self as ParsePayload>::from_request(request, body).await
            }
            _ => Err(ApiError::BadRequest {
                code: "unsupported_media_type",
                message: "send the body as application/json".to_owned(),
                fields: vec![crate::error::FieldError {
                    field: "content-type".to_owned(),
                    message: "must be application/json".to_owned(),
                }],
            }
            .into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::*;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Ask {
        question: String,
        #[serde(default)]
        count: Option<u32>,
    }

    fn field(bytes: &[u8]) -> (String, String) {
        match parse::<Ask>(bytes) {
            Err(ApiError::BadRequest { code, fields, .. }) => (code.to_owned(), fields[0].field.clone()),
            other => panic!("expected a bad request, got {:?}", other.map(|_| ())),
        }
    }

    #[test]
    fn errors_name_the_field() {
        assert_eq!(field(b"{"), ("malformed_json".into(), "body".into()));
        assert_eq!(field(b"[1]"), ("invalid_body".into(), "body".into()));
        assert_eq!(field(br#"{"question": 5}"#), ("invalid_field".into(), "question".into()));
        assert_eq!(field(br#"{"question": "q", "count": "x"}"#), ("invalid_field".into(), "count".into()));
        assert_eq!(field(br#"{"question": "q", "extra": 1}"#), ("invalid_field".into(), "extra".into()));
        assert_eq!(field(br#"{}"#), ("invalid_field".into(), "question".into()));
        assert!(parse::<Ask>(br#"{"question": "q"}"#).is_ok());
    }

    #[test]
    fn a_nul_character_anywhere_is_refused_by_its_path() {
        assert_eq!(field(br#"{"question": "a\u0000b"}"#), ("invalid_field".into(), "question".into()));
        let nested: Result<serde_json::Value, _> = parse(br#"{"metadata": {"tags": ["x", "\u0000"]}}"#);
        match nested {
            Err(ApiError::BadRequest { fields, .. }) => assert_eq!(fields[0].field, "metadata.tags[1]"),
            other => panic!("{:?}", other.map(|_| ())),
        }
    }
}
