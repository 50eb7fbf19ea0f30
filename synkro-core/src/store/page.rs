//! Keyset paging, newest first: a page size and an opaque cursor.

use std::fmt;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{ValidationError, time::Timestamp};

/// Largest page a caller may ask for.
pub const MAX_PAGE_SIZE: u32 = 200;

/// Where the next page starts: the (created_at, id) of the last item returned.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Cursor {
    pub(crate) at: Timestamp,
    pub(crate) id: Uuid,
}

impl Cursor {
    pub(crate) fn new(at: Timestamp, id: Uuid) -> Self {
        Self { at, id }
    }

    /// Parses a cursor returned by an earlier page.
    pub fn parse(text: &str) -> Result<Self, ValidationError> {
        let bad = || {
            ValidationError::new("cursor", "is not a cursor returned by this list; omit it to start from the newest")
        };
        let (micros, id) = text.split_once('_').ok_or_else(bad)?;
        let micros = i64::from_str_radix(micros, 16).map_err(|_| bad())?;
        let at = Timestamp::from_unix_micros(micros).ok_or_else(bad)?;
        let id = Uuid::try_parse(id).map_err(|_| bad())?;
        Ok(Self { at, id })
    }
}

impl fmt::Display for Cursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:x}_{}", self.at.unix_micros(), self.id.simple())
    }
}

impl fmt::Debug for Cursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Cursor({self})")
    }
}

impl TryFrom<String> for Cursor {
    type Error = ValidationError;
    fn try_from(text: String) -> Result<Self, Self::Error> {
        Self::parse(&text)
    }
}

impl From<Cursor> for String {
    fn from(c: Cursor) -> String {
        c.to_string()
    }
}

/// Which page of a list to return.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageRequest {
    pub(crate) limit: u32,
    pub(crate) cursor: Option<Cursor>,
}

impl PageRequest {
    /// The first (newest) `limit` items; `limit` must be 1 to [`MAX_PAGE_SIZE`].
    pub fn first(limit: u32) -> Result<Self, ValidationError> {
        if !(1..=MAX_PAGE_SIZE).contains(&limit) {
            return Err(ValidationError::new("limit", format!("must be between 1 and {MAX_PAGE_SIZE}, got {limit}")));
        }
        Ok(Self { limit, cursor: None })
    }

    /// The page after `cursor`.
    pub fn after(limit: u32, cursor: Cursor) -> Result<Self, ValidationError> {
        Ok(Self { cursor: Some(cursor), ..Self::first(limit)? })
    }

    /// Page size.
    pub fn limit(&self) -> u32 {
        self.limit
    }

    /// Bind values: (cursor time, cursor id, rows to fetch = limit + 1 to detect a next page).
    pub(crate) fn binds(&self) -> (Option<Timestamp>, Option<Uuid>, i64) {
        (self.cursor.as_ref().map(|c| c.at), self.cursor.as_ref().map(|c| c.id), i64::from(self.limit) + 1)
    }
}

/// One page of a list, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Page<T> {
    /// The items.
    pub items: Vec<T>,
    /// Pass to [`PageRequest::after`] for the next page; `None` on the last page.
    pub next_cursor: Option<Cursor>,
}

impl<T> Page<T> {
    /// Builds a page from `limit + 1` fetched rows: the extra row only signals a next page.
    pub(crate) fn from_rows(mut rows: Vec<T>, req: &PageRequest, key: impl Fn(&T) -> (Timestamp, Uuid)) -> Self {
        let limit = req.limit as usize;
        let next_cursor = if rows.len() > limit {
            rows.truncate(limit);
            rows.last().map(|last| {
                let (at, id) = key(last);
                Cursor::new(at, id)
            })
        } else {
            None
        };
        Self { items: rows, next_cursor }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_garbage_is_rejected() {
        let c = Cursor::new(Timestamp::from_unix_micros(1_700_000_000_123_456).unwrap(), Uuid::now_v7());
        assert_eq!(Cursor::parse(&c.to_string()).unwrap(), c);
        for bad in ["", "abc", "zz_00000000000000000000000000000000", "10_nothex"] {
            assert_eq!(Cursor::parse(bad).unwrap_err().field, "cursor", "{bad}");
        }
    }

    #[test]
    fn page_size_is_bounded() {
        assert!(PageRequest::first(1).is_ok());
        assert!(PageRequest::first(MAX_PAGE_SIZE).is_ok());
        assert_eq!(PageRequest::first(0).unwrap_err().field, "limit");
        assert_eq!(PageRequest::first(MAX_PAGE_SIZE + 1).unwrap_err().field, "limit");
    }
}
