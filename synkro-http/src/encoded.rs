//! `Encoded<T>`: a JSON response serialized with serde straight into bytes, documented in the
//! OpenAPI document with `T`'s schema. For hot lists where poem-openapi's `Json<T>` (which
//! builds a `serde_json::Value` tree first) costs more than the rest of the request; a test
//! proves each encoded shape equals `T`'s.

use std::{marker::PhantomData, sync::Arc};

use poem::{IntoResponse, Response};
use poem_openapi::{
    ApiResponse,
    payload::Payload,
    registry::{MetaMediaType, MetaResponse, MetaResponses, MetaSchemaRef, Registry},
    types::Type,
};
use serde::Serialize;

use crate::error::{ApiError, ApiResult};

const CONTENT_TYPE: &str = "application/json; charset=utf-8";

/// JSON bytes shaped like `T` (shared, so a cached page is sent without a copy).
pub struct Encoded<T> {
    bytes: Arc<[u8]>,
    shape: PhantomData<fn() -> T>,
}

impl<T> Encoded<T> {
    /// Serializes `value`, which must have `T`'s JSON shape.
    pub fn new(value: &impl Serialize) -> ApiResult<Self> {
        let bytes = serde_json::to_vec(value).map_err(ApiError::internal)?;
        Ok(Self::from_bytes(bytes.into()))
    }

    /// Bytes encoded earlier by [`Encoded::new`] for the same `T`.
    pub fn from_bytes(bytes: Arc<[u8]>) -> Self {
        Self { bytes, shape: PhantomData }
    }

    /// The JSON text, shared.
    pub fn shared(&self) -> Arc<[u8]> {
        self.bytes.clone()
    }
}

impl<T: Type> Payload for Encoded<T> {
    const CONTENT_TYPE: &'static str = CONTENT_TYPE;

    fn check_content_type(content_type: &str) -> bool {
        content_type.starts_with("application/json")
    }

    fn schema_ref() -> MetaSchemaRef {
        T::schema_ref()
    }

    fn register(registry: &mut Registry) {
        T::register(registry);
    }
}

impl<T: Type> IntoResponse for Encoded<T> {
    fn into_response(self) -> Response {
        Response::builder().content_type(CONTENT_TYPE).body(bytes::Bytes::from_owner(ArcBytes(self.bytes)))
    }
}

impl<T: Type> ApiResponse for Encoded<T> {
    fn meta() -> MetaResponses {
        MetaResponses {
            responses: vec![MetaResponse {
                description: "",
                status: Some(200),
                status_range: None,
                content: vec![MetaMediaType { content_type: CONTENT_TYPE, schema: T::schema_ref() }],
                headers: vec![],
            }],
        }
    }

    fn register(registry: &mut Registry) {
        T::register(registry);
    }
}

/// Lets `Bytes` borrow a shared page without copying it.
struct ArcBytes(Arc<[u8]>);

impl AsRef<[u8]> for ArcBytes {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}
