//! Fake Supabase Data API (PostgREST under `/rest/v1`): key checks, select with filters and paging, upserts.

mod query;
mod store;

use serde_json::{Map, Value, json};

use crate::http::{Incoming, Reply};
use crate::server::{Shared, lock};
use store::Resolution;
pub(crate) use store::Store;

/// Rows per response at most (Supabase's default "Max rows").
const MAX_ROWS: usize = 1000;

/// A PostgREST error body `{code, details, hint, message}`.
pub(crate) fn error(status: u16, code: &str, message: &str) -> Reply {
    Reply::json(status, &json!({"code": code, "details": null, "hint": null, "message": message}))
}

/// An injected failure with the code PostgREST sends with `status` (EXTERNAL_APIS.md): a JWT
/// refused (401 PGRST301), no privilege (403 42501), no such table (404 PGRST205), the
/// database unreachable (503 PGRST001) or timing out (504 PGRST003); other statuses carry no
/// PostgREST code.
pub(crate) fn injected(status: u16, message: &str) -> Reply {
    let code = match status {
        401 => "PGRST301",
        403 => "42501",
        404 => "PGRST205",
        503 => "PGRST001",
        504 => "PGRST003",
        _ => return Reply::json(status, &json!({"message": message})),
    };
    error(status, code, message)
}

fn gateway(message: &str, hint: &str) -> Reply {
    Reply::json(401, &json!({"message": message, "hint": hint}))
}

/// Checks the `apikey` / `Authorization` pair the way Supabase's gateway does.
fn authorize(shared: &Shared, req: &Incoming) -> Result<(), Reply> {
    let creds = &shared.credentials;
    let Some(key) = req.header("apikey").or_else(|| req.query_get("apikey")) else {
        return Err(gateway("No API key found in request", "No `apikey` request header or url param was found."));
    };
    let invalid = || gateway("Invalid API key", "Double check your Supabase `anon` or `service_role` API key.");
    let bearer = req.bearer();
    if key == creds.supabase_service_key {
        if bearer != Some(key) {
            return Err(invalid());
        }
    } else if key == creds.supabase_secret_key {
        if req.header("authorization").is_some() && bearer != Some(key) {
            return Err(invalid());
        }
    } else {
        return Err(invalid());
    }
    Ok(())
}

/// Every `Prefer` token, e.g. `return=minimal`.
fn prefer(req: &Incoming) -> Vec<String> {
    req.headers_all("prefer").flat_map(|h| h.split(',')).map(|t| t.trim().to_ascii_lowercase()).collect()
}

/// Handles a request to the Supabase server.
pub(crate) fn handle(shared: &Shared, req: &Incoming) -> Reply {
    if let Err(reply) = authorize(shared, req) {
        return reply;
    }
    let Some(rest) = req.path.strip_prefix("/rest/v1") else {
        return Reply::json(404, &json!({"message": "no Route matched with those values"}));
    };
    let table = rest.trim_matches('/');
    if table.is_empty() {
        return root(shared);
    }
    match req.method.as_str() {
        "GET" | "HEAD" => select(shared, req, table),
        "POST" => insert(shared, req, table),
        _ => error(405, "PGRST117", &format!("Unsupported HTTP method: {}", req.method)),
    }
}

fn root(shared: &Shared) -> Reply {
    let store = lock(&shared.supabase);
    let paths: Map<String, Value> =
        store.tables.keys().map(|t| (format!("/{t}"), json!({"get": {}, "post": {}}))).collect();
    Reply::json(200, &json!({"swagger": "2.0", "info": {"title": "sandbox", "version": "12"}, "paths": paths}))
}

fn not_found(table: &str) -> Reply {
    let message = format!("Could not find the table 'public.{table}' in the schema cache");
    Reply::json(
        404,
        &json!({"code": "PGRST205", "details": null, "hint": "Perhaps you meant the table 'public.deals'",
            "message": message}),
    )
}

fn select(shared: &Shared, req: &Incoming, table: &str) -> Reply {
    let mut filters = Vec::new();
    for (key, value) in &req.query {
        if !query::RESERVED.contains(&key.as_str()) {
            match query::Filter::parse(key, value) {
                Ok(f) => filters.push(f),
                Err(reply) => return reply,
            }
        }
    }
    let order = match query::parse_order(req.query_get("order").unwrap_or("")) {
        Ok(o) => o,
        Err(reply) => return reply,
    };
    let (offset, limit) = match range(req) {
        Ok(r) => r,
        Err(reply) => return reply,
    };
    let store = lock(&shared.supabase);
    let Some(t) = store.tables.get(table) else {
        return not_found(table);
    };
    let mut rows = Vec::new();
    for row in &t.rows {
        let mut keep = true;
        for filter in &filters {
            match filter.matches(row) {
                Ok(true) => {}
                Ok(false) => {
                    keep = false;
                    break;
                }
                Err(reply) => return reply,
            }
        }
        if keep {
            rows.push(row);
        }
    }
    query::sort_rows(&mut rows, &order);
    let total = rows.len();
    let take = limit.unwrap_or(MAX_ROWS).min(MAX_ROWS);
    let columns: Option<Vec<&str>> = match req.query_get("select").map(str::trim) {
        None | Some("*") | Some("") => None,
        Some(list) => Some(list.split(',').map(str::trim).collect()),
    };
    let page: Vec<Value> = rows
        .iter()
        .skip(offset)
        .take(take)
        .map(|row| match &columns {
            None => Value::Object(t.full_row(row)),
            Some(cols) => Value::Object(
                cols.iter().map(|c| ((*c).to_owned(), row.get(*c).cloned().unwrap_or(Value::Null))).collect(),
            ),
        })
        .collect();
    let counted = prefer(req).iter().any(|p| p.starts_with("count="));
    if counted && offset > total && !(offset == 0 && total == 0) {
        return error(416, "PGRST103", "Requested range not satisfiable")
            .with_header("content-range", format!("*/{total}"));
    }
    let total_text = if counted { total.to_string() } else { "*".to_owned() };
    let content_range = if page.is_empty() {
        format!("*/{total_text}")
    } else {
        format!("{}-{}/{total_text}", offset, offset + page.len() - 1)
    };
    let status = if counted && page.len() < total { 206 } else { 200 };
    let body = if req.method == "HEAD" { Vec::new() } else { Value::Array(page).to_string().into_bytes() };
    Reply::typed(status, "application/json; charset=utf-8", body).with_header("content-range", content_range)
}

/// `offset`/`limit` from the query, or from a `Range: a-b` header.
fn range(req: &Incoming) -> Result<(usize, Option<usize>), Reply> {
    let number = |name: &str| -> Result<Option<usize>, Reply> {
        match req.query_get(name) {
            None => Ok(None),
            Some(raw) => raw
                .trim()
                .parse()
                .map(Some)
                .map_err(|_| error(400, "PGRST100", &format!("\"failed to parse {name} parameter ({raw})\""))),
        }
    };
    let (mut offset, mut limit) = (number("offset")?.unwrap_or(0), number("limit")?);
    if let Some((a, b)) = req.header("range").and_then(|r| r.split_once('-'))
        && let Ok(a) = a.trim().parse::<usize>()
    {
        offset = a;
        if let Ok(b) = b.trim().parse::<usize>() {
            let span = (b + 1).saturating_sub(a);
            limit = Some(limit.map_or(span, |l| l.min(span)));
        }
    }
    Ok((offset, limit))
}

fn insert(shared: &Shared, req: &Incoming, table: &str) -> Reply {
    let rows: Vec<Map<String, Value>> = match req.json() {
        Some(Value::Object(map)) => vec![map],
        Some(Value::Array(items)) => {
            let mut rows = Vec::with_capacity(items.len());
            for item in items {
                match item {
                    Value::Object(map) => rows.push(map),
                    _ => return error(400, "PGRST102", "All object keys must match"),
                }
            }
            rows
        }
        _ => return error(400, "PGRST102", "Empty or invalid json"),
    };
    let rows = match req.query_get("columns") {
        Some(list) => {
            let cols: Vec<&str> = list.split(',').map(str::trim).collect();
            rows.into_iter().map(|r| r.into_iter().filter(|(k, _)| cols.contains(&k.as_str())).collect()).collect()
        }
        None => {
            if let Some(first) = rows.first()
                && rows.iter().any(|r| r.len() != first.len() || r.keys().any(|k| !first.contains_key(k)))
            {
                return error(400, "PGRST102", "All object keys must match");
            }
            rows
        }
    };
    let prefs = prefer(req);
    let resolution = if prefs.iter().any(|p| p == "resolution=merge-duplicates") {
        Resolution::Merge
    } else if prefs.iter().any(|p| p == "resolution=ignore-duplicates") {
        Resolution::Ignore
    } else {
        Resolution::Insert
    };
    let on_conflict = req
        .query_get("on_conflict")
        .map(|c| c.split(',').map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()).collect::<Vec<_>>())
        .filter(|c| !c.is_empty());
    let written = match lock(&shared.supabase).write(table, rows, on_conflict, resolution) {
        Ok(w) => w,
        Err(reply) => return reply,
    };
    if prefs.iter().any(|p| p == "return=representation") {
        let body = Value::Array(written.into_iter().map(Value::Object).collect());
        Reply::typed(201, "application/json; charset=utf-8", body.to_string()).with_header("content-range", "*/*")
    } else {
        Reply::empty(201).with_header("content-range", "*/*")
    }
}
