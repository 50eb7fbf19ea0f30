//! The CRM source: leads updated in a window, page by page, with stage names, managers and
//! contact phones. The next leads page is fetched while the current page's contacts are, so
//! requests keep the account's rate budget busy even when amoCRM answers slowly.

use std::{
    collections::{HashMap, HashSet},
    sync::Arc,
};

use futures::{StreamExt, future::try_join_all, stream};
use serde_json::Value;
use synkro_core::{
    connector::{
        BatchStream, ConnectorError, CrmSource, Deal, DealContact, FailureClass, KeyedLocks, SharedCache, SourceBatch,
        Truncation, normalize_phone,
    },
    domain::Window,
    time::Timestamp,
};
use tokio::sync::mpsc;
use tracing::Instrument;

use crate::{
    client::AmoClient,
    model::{Contact, Contacts, Lead, Leads, ListPage, Pipelines, Users},
};

/// amoCRM's largest page.
pub(crate) const PAGE_SIZE: usize = 250;

pub(crate) struct AmoSource {
    pub(crate) client: Arc<AmoClient>,
    pub(crate) max_pages: u32,
    /// Where stage and manager names are kept between reports (per account).
    pub(crate) cache: Arc<SharedCache>,
    /// The cache key: the account's host.
    pub(crate) account: String,
    /// One names read at a time per account: reports of tenants that share an account and
    /// start together read the names once, not once each.
    pub(crate) locks: Arc<KeyedLocks>,
}

/// How long an account's stage and manager names are reused before they are read again.
const NAMES_TTL: std::time::Duration = std::time::Duration::from_secs(600);

/// Stage and manager names. Stages are keyed by (pipeline, status): the system stages 142
/// (won) and 143 (lost) share their id across pipelines.
#[derive(Default)]
struct Names {
    statuses: HashMap<(i64, i64), String>,
    users: HashMap<i64, String>,
}

impl Names {
    fn status(&self, pipeline_id: Option<i64>, status_id: Option<i64>) -> Option<String> {
        let status_id = status_id?;
        match pipeline_id {
            Some(p) => self.statuses.get(&(p, status_id)).cloned(),
            None => self.statuses.iter().find(|((_, s), _)| *s == status_id).map(|(_, name)| name.clone()),
        }
    }
}

struct LeadsPage {
    leads: Vec<Lead>,
    truncated: Option<Truncation>,
}

/// Lead pages fetched ahead of the consumer, and contact batches of that many pages in flight
/// at once: enough to keep the account's request budget busy when amoCRM answers slowly.
const PIPELINE_DEPTH: usize = 3;

impl CrmSource for AmoSource {
    /// Leads are paged from the first poll on, while stage and manager names load; each page's
    /// contacts are fetched as soon as the page arrives, several pages at a time, and batches
    /// come out in page order. The stream ends after the first error.
    fn deals(&self, window: Window) -> BatchStream<'_, Deal> {
        let client = self.client.clone();
        let max_pages = self.max_pages;
        let names = Arc::new(tokio::sync::OnceCell::<Arc<Names>>::new());
        let (cache, locks, key) = (self.cache.clone(), self.locks.clone(), format!("amocrm-names:{}", self.account));
        let pages = stream::once({
            let client = client.clone();
            async move {
                let (tx, rx) = mpsc::channel(PIPELINE_DEPTH);
                // The pager logs under the job that reads (its span follows it into the task).
                tokio::spawn(page_leads(client, window, max_pages, tx).in_current_span());
                stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|page| (page, rx)) })
            }
        })
        .flatten();
        pages
            .map(move |page| {
                let (client, names, cache, locks, key) =
                    (client.clone(), names.clone(), cache.clone(), locks.clone(), key.clone());
                async move {
                    let names = names.get_or_try_init(|| cached_names(&client, &cache, &locks, &key)).await?.clone();
                    with_contacts(&client, &names, page?).await
                }
            })
            .buffered(PIPELINE_DEPTH)
            .scan(false, |failed, batch| {
                let out = (!*failed).then_some(batch);
                *failed |= out.as_ref().is_some_and(Result::is_err);
                futures::future::ready(out)
            })
            .boxed()
    }
}

/// The account's names from the shared cache, or read now and cached for [`NAMES_TTL`]. Reads
/// of one account wait for each other, so concurrent reports read the names once.
async fn cached_names(
    client: &AmoClient,
    cache: &SharedCache,
    locks: &KeyedLocks,
    key: &str,
) -> Result<Arc<Names>, ConnectorError> {
    if let Some(names) = cache.get::<Names>(key, NAMES_TTL) {
        return Ok(names);
    }
    let _one_read = locks.lock(key).await;
    if let Some(names) = cache.get::<Names>(key, NAMES_TTL) {
        return Ok(names);
    }
    let names = Arc::new(load_names(client).await?);
    cache.put(key, names.clone());
    Ok(names)
}

/// Stage names (one request) and manager names (where the token may read users; a 403
/// leaves managers as ids).
async fn load_names(client: &AmoClient) -> Result<Names, ConnectorError> {
    let pipelines = async {
        let page: Option<ListPage<Pipelines>> = client.get("/api/v4/leads/pipelines", &[]).await?;
        let mut statuses = HashMap::new();
        for pipeline in page.map(|p| p._embedded.pipelines).unwrap_or_default() {
            for status in pipeline._embedded.statuses {
                statuses.insert((pipeline.id, status.id), status.name);
            }
        }
        Ok::<_, ConnectorError>(statuses)
    };
    let users = async {
        let mut users = HashMap::new();
        let mut next: Option<String> = None;
        loop {
            let page: Result<Option<ListPage<Users>>, _> = match &next {
                None => client.get("/api/v4/users", &[("limit", PAGE_SIZE.to_string())]).await,
                Some(url) => client.get(url, &[]).await,
            };
            match page {
                Ok(Some(page)) => {
                    users.extend(page._embedded.users.into_iter().map(|u| (u.id, u.name)));
                    match page._links.next {
                        Some(link) => next = Some(link.href),
                        None => break,
                    }
                }
                Ok(None) => break,
                Err(e) if e.class == FailureClass::Permission => {
                    tracing::warn!("amoCRM token may not read users; managers are shown by id");
                    break;
                }
                Err(e) => return Err(e),
            }
        }
        Ok(users)
    };
    let (statuses, users) = tokio::try_join!(pipelines, users)?;
    Ok(Names { statuses, users })
}

/// Whole seconds `[from, to]` covering `window` (amoCRM filters are inclusive).
fn bounds(window: Window) -> (i64, i64) {
    let ceil = |ts: Timestamp| (ts.unix_micros() + 999_999).div_euclid(1_000_000);
    (ceil(window.start()), ceil(window.end()) - 1)
}

/// Reads every leads page of the window (until HTTP 204 or no `_links.next`), handing pages
/// to the consumer; stops at `max_pages` and says so.
async fn page_leads(
    client: Arc<AmoClient>,
    window: Window,
    max_pages: u32,
    tx: mpsc::Sender<Result<LeadsPage, ConnectorError>>,
) {
    let (from, to) = bounds(window);
    let first = [
        ("with", "contacts".to_owned()),
        ("limit", PAGE_SIZE.to_string()),
        ("page", "1".to_owned()),
        ("filter[updated_at][from]", from.to_string()),
        ("filter[updated_at][to]", to.to_string()),
    ];
    let mut next: Option<String> = None;
    for page_no in 1..=max_pages {
        let result: Result<Option<ListPage<Leads>>, _> = match &next {
            None => client.get("/api/v4/leads", &first).await,
            Some(url) => client.get(url, &[]).await,
        };
        let page = match result {
            Ok(Some(page)) => page,
            Ok(None) => return,
            Err(e) => {
                let _ = tx.send(Err(e)).await;
                return;
            }
        };
        let next_href = page._links.next.map(|l| l.href);
        let leads = page._embedded.leads;
        let last = next_href.is_none() || leads.is_empty();
        let truncated = (!last && page_no == max_pages).then(|| Truncation {
            cap: "max_pages".into(),
            limit: u64::from(max_pages),
            message: format!(
                "amoCRM: stopped after {max_pages} pages of {PAGE_SIZE} leads; more deals were updated in the window \
                 (raise max_pages in the amoCRM settings)"
            ),
        });
        let stop = last || truncated.is_some();
        if tx.send(Ok(LeadsPage { leads, truncated })).await.is_err() || stop {
            return;
        }
        next = next_href;
    }
}

/// Fetches the page's contacts in batches by id (concurrently) and builds its deals.
async fn with_contacts(
    client: &AmoClient,
    names: &Names,
    page: LeadsPage,
) -> Result<SourceBatch<Deal>, ConnectorError> {
    let mut seen = HashSet::new();
    let ids: Vec<i64> = page
        .leads
        .iter()
        .flat_map(|l| l._embedded.contacts.iter().map(|c| c.id))
        .filter(|id| seen.insert(*id))
        .collect();
    let batches = ids.chunks(PAGE_SIZE).map(|chunk| async move {
        let mut query: Vec<(&str, String)> = chunk.iter().map(|id| ("filter[id][]", id.to_string())).collect();
        query.push(("limit", PAGE_SIZE.to_string()));
        let page: Option<ListPage<Contacts>> = client.get("/api/v4/contacts", &query).await?;
        Ok::<_, ConnectorError>(page.map(|p| p._embedded.contacts).unwrap_or_default())
    });
    let contacts: HashMap<i64, DealContact> =
        try_join_all(batches).await?.into_iter().flatten().map(|c| (c.id, deal_contact(c))).collect();
    let deals = page.leads.into_iter().map(|lead| deal(lead, names, &contacts)).collect();
    Ok(SourceBatch { truncated: page.truncated, ..SourceBatch::new(deals) })
}

fn deal_contact(contact: Contact) -> DealContact {
    let mut phones = Vec::new();
    for field in contact.custom_fields_values.iter().flatten().filter(|f| f.is_phone()) {
        for value in &field.values {
            let raw = match &value.value {
                Some(Value::String(s)) => s.clone(),
                Some(Value::Number(n)) => n.to_string(),
                _ => continue,
            };
            if let Some(phone) = normalize_phone(&raw)
                && !phones.contains(&phone)
            {
                phones.push(phone);
            }
        }
    }
    DealContact { id: contact.id, name: contact.name, phones }
}

fn deal(lead: Lead, names: &Names, contacts: &HashMap<i64, DealContact>) -> Deal {
    let mut attrs = lead.rest;
    attrs.remove("_links");
    if !lead._embedded.tags.is_empty() {
        attrs.insert("tags".into(), Value::Array(lead._embedded.tags));
    }
    let ts = |secs: Option<i64>| Timestamp::from_unix_seconds(secs.unwrap_or(0)).unwrap_or(Timestamp::now());
    Deal {
        id: lead.id,
        name: lead.name.unwrap_or_default(),
        status: names.status(lead.pipeline_id, lead.status_id),
        status_id: lead.status_id,
        pipeline_id: lead.pipeline_id,
        responsible: lead.responsible_user_id.and_then(|id| names.users.get(&id).cloned()),
        responsible_user_id: lead.responsible_user_id,
        price: lead.price,
        created_at: ts(lead.created_at),
        updated_at: ts(lead.updated_at),
        contacts: lead._embedded.contacts.iter().filter_map(|c| contacts.get(&c.id).cloned()).collect(),
        attrs: Value::Object(attrs),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn window_bounds_are_inclusive_whole_seconds() {
        let w = Window::new(Timestamp::from_unix_seconds(100).unwrap(), Timestamp::from_unix_seconds(200).unwrap())
            .unwrap();
        assert_eq!(bounds(w), (100, 199));
        let w = Window::new(
            Timestamp::from_unix_micros(100_500_000).unwrap(),
            Timestamp::from_unix_micros(200_500_000).unwrap(),
        )
        .unwrap();
        assert_eq!(bounds(w), (101, 200));
    }
}
