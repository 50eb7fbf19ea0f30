//! amoCRM read endpoints: account, pipelines, leads, contacts, users, with paging and filters.

use serde_json::{Value, json};

use super::{problem, validation_error};
use crate::data::{Contact, CustomField, Lead, Pipeline};
use crate::http::{Incoming, Reply, encode_query};
use crate::server::Shared;

const MAX_LIMIT: usize = 250;

fn hal(value: &Value) -> Reply {
    Reply::typed(200, "application/hal+json", value.to_string())
}

fn origin(req: &Incoming) -> String {
    format!("http://{}", req.header("host").unwrap_or("127.0.0.1"))
}

fn link(req: &Incoming, path: &str) -> Value {
    json!({"self": {"href": format!("{}{path}", origin(req))}})
}

/// `page` (1-based) and `limit` (1..=250, default 50).
fn page_params(req: &Incoming) -> Result<(usize, usize), Reply> {
    let limit = match req.query_get("limit") {
        None => 50,
        Some(raw) => match raw.parse::<usize>() {
            Ok(n) if (1..=MAX_LIMIT).contains(&n) => n,
            _ => return Err(validation_error("limit", "This value should be between 1 and 250.")),
        },
    };
    let page = match req.query_get("page") {
        None => 1,
        Some(raw) => match raw.parse::<usize>() {
            Ok(n) if n >= 1 => n,
            _ => return Err(validation_error("page", "This value should be greater than or equal to 1.")),
        },
    };
    Ok((page, limit))
}

/// Slices `items` for the request's page and wraps them in the HAL envelope; 204 past the end.
fn paged<T>(req: &Incoming, entity: &str, items: Vec<T>, render: impl Fn(T) -> Value) -> Reply {
    let (page, limit) = match page_params(req) {
        Ok(p) => p,
        Err(reply) => return reply,
    };
    let start = (page - 1).saturating_mul(limit);
    if start >= items.len() {
        return Reply::empty(204);
    }
    let has_next = start + limit < items.len();
    let chunk: Vec<Value> = items.into_iter().skip(start).take(limit).map(render).collect();
    let href = |n: usize| {
        let mut pairs: Vec<(String, String)> =
            req.query.iter().filter(|(k, _)| k != "page" && k != "limit").cloned().collect();
        pairs.push(("page".to_owned(), n.to_string()));
        pairs.push(("limit".to_owned(), limit.to_string()));
        json!({"href": format!("{}{}?{}", origin(req), req.path, encode_query(&pairs))})
    };
    let mut links = serde_json::Map::new();
    links.insert("self".to_owned(), href(page));
    if has_next {
        links.insert("next".to_owned(), href(page + 1));
    }
    if page > 1 {
        links.insert("prev".to_owned(), href(page - 1));
    }
    hal(&json!({"_page": page, "_links": links, "_embedded": {entity: chunk}}))
}

/// Values of `filter[<name>]`, `filter[<name>][]` and `filter[<name>][<n>]`, comma lists allowed.
fn id_filter(req: &Incoming, name: &str) -> Result<Option<Vec<i64>>, Reply> {
    let base = format!("filter[{name}]");
    let mut ids = Vec::new();
    let mut present = false;
    for (key, value) in &req.query {
        let Some(rest) = key.strip_prefix(&base) else { continue };
        if !(rest.is_empty() || (rest.starts_with('[') && rest.ends_with(']'))) {
            continue;
        }
        present = true;
        for part in value.split(',').filter(|p| !p.trim().is_empty()) {
            match part.trim().parse::<i64>() {
                Ok(id) => ids.push(id),
                Err(_) => return Err(validation_error(&base, "This value should be an integer.")),
            }
        }
    }
    Ok(present.then_some(ids))
}

/// `filter[<field>][from]` / `[to]` as Unix seconds, inclusive.
fn range_filter(req: &Incoming, field: &str) -> Result<(Option<i64>, Option<i64>), Reply> {
    let bound = |end: &str| -> Result<Option<i64>, Reply> {
        let key = format!("filter[{field}][{end}]");
        match req.query_get(&key) {
            None => Ok(None),
            Some(raw) => {
                raw.trim().parse::<i64>().map(Some).map_err(|_| validation_error(&key, "Must be a timestamp."))
            }
        }
    };
    Ok((bound("from")?, bound("to")?))
}

fn in_range(value: i64, (from, to): (Option<i64>, Option<i64>)) -> bool {
    from.is_none_or(|f| value >= f) && to.is_none_or(|t| value <= t)
}

fn with_flags(req: &Incoming) -> Vec<String> {
    req.query_get("with").map(|w| w.split(',').map(|s| s.trim().to_owned()).collect()).unwrap_or_default()
}

pub(super) fn account(shared: &Shared, req: &Incoming, subdomain: &str) -> Reply {
    let data = &shared.data;
    let mut body = json!({
        "id": data.account_id, "name": data.account_name, "subdomain": subdomain,
        "created_at": 1_600_000_000, "created_by": 1001, "updated_at": 1_700_000_000, "updated_by": 1001,
        "current_user_id": 1001, "country": "RU", "currency": "RUB", "currency_symbol": "₽",
        "customers_mode": "disabled", "is_unsorted_on": true, "is_loss_reason_enabled": true,
        "is_helpbot_enabled": false, "is_technical_account": false, "contact_name_display_order": 1,
        "_links": link(req, "/api/v4/account"),
    });
    if with_flags(req).iter().any(|w| w == "datetime_settings") {
        body["_embedded"] = json!({"datetime_settings": {"date_pattern": "d.m.Y H:i", "short_date_pattern": "d.m.Y",
            "short_time_pattern": "H:i", "date_format": "d.m.Y", "time_format": "H:i:s",
            "timezone": "Europe/Moscow", "timezone_offset": "+03:00"}});
    }
    hal(&body)
}

fn pipeline_json(req: &Incoming, account_id: i64, p: &Pipeline) -> Value {
    let statuses: Vec<Value> = p
        .statuses
        .iter()
        .map(|s| {
            json!({"id": s.id, "name": s.name, "sort": s.sort, "is_editable": s.is_editable,
                "pipeline_id": s.pipeline_id, "color": s.color, "type": s.kind, "account_id": account_id,
                "_links": link(req, &format!("/api/v4/leads/pipelines/{}/statuses/{}", p.id, s.id))})
        })
        .collect();
    json!({"id": p.id, "name": p.name, "sort": p.sort, "is_main": p.is_main, "is_unsorted_on": true,
        "is_archive": false, "account_id": account_id,
        "_links": link(req, &format!("/api/v4/leads/pipelines/{}", p.id)),
        "_embedded": {"statuses": statuses}})
}

pub(super) fn pipelines(shared: &Shared, req: &Incoming) -> Reply {
    let data = &shared.data;
    let list: Vec<Value> = data.pipelines.iter().map(|p| pipeline_json(req, data.account_id, p)).collect();
    hal(&json!({"_total_items": list.len(), "_links": link(req, "/api/v4/leads/pipelines"),
        "_embedded": {"pipelines": list}}))
}

pub(super) fn pipeline(shared: &Shared, req: &Incoming, id: &str) -> Reply {
    let data = &shared.data;
    match data.pipelines.iter().find(|p| id.parse() == Ok(p.id)) {
        Some(p) => hal(&pipeline_json(req, data.account_id, p)),
        None => problem(404, "Not Found", "Pipeline not found"),
    }
}

fn lead_json(shared: &Shared, req: &Incoming, lead: &Lead, with_contacts: bool) -> Value {
    let mut embedded = json!({"tags": [], "companies": []});
    if with_contacts {
        embedded["contacts"] = lead
            .contacts
            .iter()
            .map(|c| json!({"id": c.id, "is_main": c.is_main, "_links": link(req, &format!("/api/v4/contacts/{}", c.id))}))
            .collect();
    }
    json!({"id": lead.id, "name": lead.name, "price": lead.price, "responsible_user_id": lead.responsible_user_id,
        "group_id": 0, "status_id": lead.status_id, "pipeline_id": lead.pipeline_id, "loss_reason_id": null,
        "created_by": lead.responsible_user_id, "updated_by": lead.responsible_user_id,
        "created_at": lead.created_at.unix_seconds(), "updated_at": lead.updated_at.unix_seconds(),
        "closed_at": lead.closed_at.map(|t| t.unix_seconds()), "closest_task_at": null, "is_deleted": false,
        "custom_fields_values": null, "score": null, "account_id": shared.data.account_id, "labor_cost": null,
        "_links": link(req, &format!("/api/v4/leads/{}", lead.id)), "_embedded": embedded})
}

pub(super) fn leads(shared: &Shared, req: &Incoming) -> Reply {
    let filters = (|| {
        Ok::<_, Reply>((id_filter(req, "id")?, range_filter(req, "updated_at")?, range_filter(req, "created_at")?))
    })();
    let (ids, updated, created) = match filters {
        Ok(f) => f,
        Err(reply) => return reply,
    };
    let mut order: Option<(&str, bool)> = None;
    for field in ["updated_at", "created_at", "id"] {
        if let Some(dir) = req.query_get(&format!("order[{field}]")) {
            match dir.to_ascii_lowercase().as_str() {
                "asc" => order = Some((field, false)),
                "desc" => order = Some((field, true)),
                _ => return validation_error(&format!("order[{field}]"), "Must be asc or desc."),
            }
        }
    }
    let with_contacts = with_flags(req).iter().any(|w| w == "contacts");
    let ids: Option<std::collections::HashSet<i64>> = ids.map(|ids| ids.into_iter().collect());
    let mut selected: Vec<&Lead> = shared
        .data
        .leads
        .iter()
        .filter(|l| ids.as_ref().is_none_or(|ids| ids.contains(&l.id)))
        .filter(|l| in_range(l.updated_at.unix_seconds(), updated) && in_range(l.created_at.unix_seconds(), created))
        .collect();
    let (field, desc) = order.unwrap_or(("updated_at", false));
    selected.sort_by_key(|l| {
        let key = match field {
            "created_at" => l.created_at.unix_seconds(),
            "id" => l.id,
            _ => l.updated_at.unix_seconds(),
        };
        (key, l.id)
    });
    if desc {
        selected.reverse();
    }
    paged(req, "leads", selected, |l| lead_json(shared, req, l, with_contacts))
}

pub(super) fn lead(shared: &Shared, req: &Incoming, id: &str) -> Reply {
    let with_contacts = with_flags(req).iter().any(|w| w == "contacts");
    match id.parse().ok().and_then(|id| shared.data.lead(id)) {
        Some(l) => hal(&lead_json(shared, req, l, with_contacts)),
        None => Reply::empty(204),
    }
}

fn field_json(f: &CustomField) -> Value {
    let values: Vec<Value> = f
        .values
        .iter()
        .map(|v| match &v.enum_code {
            Some(code) => json!({"value": v.value, "enum_code": code}),
            None => json!({"value": v.value}),
        })
        .collect();
    json!({"field_id": f.field_id, "field_name": f.field_name, "field_code": f.field_code,
        "field_type": f.field_type, "values": values})
}

fn contact_json(shared: &Shared, req: &Incoming, c: &Contact, with_leads: bool) -> Value {
    let fields = c.custom_fields_values.as_ref().map(|fs| fs.iter().map(field_json).collect::<Vec<_>>());
    let mut embedded = json!({"tags": [], "companies": []});
    if with_leads {
        embedded["leads"] = shared.data.leads_of_contact(c.id).iter().map(|id| json!({"id": id})).collect();
    }
    json!({"id": c.id, "name": c.name, "first_name": c.first_name, "last_name": c.last_name,
        "responsible_user_id": c.responsible_user_id, "group_id": 0, "created_by": c.responsible_user_id,
        "updated_by": c.responsible_user_id, "created_at": c.created_at.unix_seconds(),
        "updated_at": c.updated_at.unix_seconds(), "closest_task_at": null, "is_deleted": false,
        "is_unsorted": false, "custom_fields_values": fields, "account_id": shared.data.account_id,
        "_links": link(req, &format!("/api/v4/contacts/{}", c.id)), "_embedded": embedded})
}

pub(super) fn contacts(shared: &Shared, req: &Incoming) -> Reply {
    let ids = match id_filter(req, "id") {
        Ok(ids) => ids,
        Err(reply) => return reply,
    };
    let with_leads = with_flags(req).iter().any(|w| w == "leads");
    let items: Vec<&Contact> = match ids {
        Some(ids) => {
            let wanted: std::collections::BTreeSet<i64> = ids.into_iter().collect();
            wanted.into_iter().filter_map(|id| shared.data.contact(id)).collect()
        }
        None => shared.data.contacts.iter().collect(),
    };
    paged(req, "contacts", items, |c| contact_json(shared, req, c, with_leads))
}

pub(super) fn contact(shared: &Shared, req: &Incoming, id: &str) -> Reply {
    let with_leads = with_flags(req).iter().any(|w| w == "leads");
    match id.parse().ok().and_then(|id| shared.data.contact(id)) {
        Some(c) => hal(&contact_json(shared, req, c, with_leads)),
        None => Reply::empty(204),
    }
}

pub(super) fn users(shared: &Shared, req: &Incoming) -> Reply {
    paged(req, "users", shared.data.users.iter().collect(), |u| {
        json!({"id": u.id, "name": u.name, "email": u.email, "lang": "ru",
                "rights": {"leads": {"view": "A", "edit": "A", "add": "A", "delete": "A", "export": "A"},
                    "is_admin": u.is_admin, "is_free": false, "is_active": u.is_active, "group_id": null,
                    "role_id": null},
                "_links": link(req, &format!("/api/v4/users/{}", u.id))})
    })
}
