//! The chat source: WhatsApp and WABA dialogs with messages inside a window, one batch per page
//! of contacts. Contacts arrive most recently active first, so paging stops at the first page
//! that is entirely older than the window; every cap that cuts says so in the batch.

use std::{
    collections::{HashMap, HashSet},
    sync::Arc,
};

use futures::{StreamExt, TryStreamExt, stream};
use synkro_core::{
    connector::{
        BatchStream, ChatSource, ConnectorError, Dialog, FailureClass, SourceBatch, Truncation, normalize_phone,
    },
    domain::Window,
};

use crate::{
    chat::{ChatJob, ChatRead, read_chat},
    client::{PAGE_LIMIT, RadistClient},
    model::{ContactItem, parse_time},
};

/// Chats read at the same time (the rate limiter still paces every request).
const CHATS_IN_FLIGHT: usize = 4;

/// The per-run caps.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Caps {
    pub chat_pages: u32,
    pub message_pages: u32,
    pub chats: u32,
}

pub(crate) struct RadistSource {
    pub(crate) client: Arc<RadistClient>,
    pub(crate) caps: Caps,
}

/// The company and its WhatsApp/WABA connections (connection id → source type).
struct Scope {
    company: i64,
    channels: HashMap<String, String>,
}

struct State {
    client: Arc<RadistClient>,
    caps: Caps,
    window: Window,
    phones: Option<Arc<HashSet<String>>>,
    scope: Option<Arc<Scope>>,
    cursor: Option<String>,
    pages_read: u32,
    /// Chats whose messages were read (or are being read): never twice, at most `caps.chats`.
    chats_read: HashSet<String>,
    /// Chats the phone filter left out that were counted as unmatched: each once.
    unmatched: HashSet<String>,
    /// A cap that stopped the reading, still to be reported in a batch of its own.
    pending: Option<Truncation>,
    done: bool,
}

impl ChatSource for RadistSource {
    fn dialogs(&self, window: Window, phones: Option<Arc<HashSet<String>>>) -> BatchStream<'_, Dialog> {
        if phones.as_ref().is_some_and(|p| p.is_empty()) {
            return stream::empty().boxed();
        }
        let state = State {
            client: self.client.clone(),
            caps: self.caps,
            window,
            phones,
            scope: None,
            cursor: None,
            pages_read: 0,
            chats_read: HashSet::new(),
            unmatched: HashSet::new(),
            pending: None,
            done: false,
        };
        stream::unfold(state, |mut st| async move {
            if let Some(cap) = st.pending.take() {
                return Some((Ok(SourceBatch { truncated: Some(cap), ..SourceBatch::new(Vec::new()) }), st));
            }
            if st.done {
                return None;
            }
            let batch = next_page(&mut st).await;
            st.done |= batch.is_err();
            Some((batch, st))
        })
        .boxed()
    }
}

/// The company and its WhatsApp/WABA connections; none is a configuration error.
async fn load_scope(client: &RadistClient) -> Result<Scope, ConnectorError> {
    let company = client.company_id().await?;
    let channels: HashMap<String, String> = client
        .sources(company)
        .await?
        .into_iter()
        .filter(|s| s.is_whatsapp())
        .map(|s| (s.connection_id.0.clone(), s.kind()))
        .collect();
    if channels.is_empty() {
        return Err(no_whatsapp(company));
    }
    Ok(Scope { company, channels })
}

/// The error for a company without a WhatsApp or WABA connection.
pub(crate) fn no_whatsapp(company: i64) -> ConnectorError {
    ConnectorError::new(FailureClass::Config, format!("Radist company {company} has no WhatsApp or WABA connection"))
        .with_hint("connect WhatsApp in Radist (WhatsApp or WhatsApp Business API), then check the integration again")
}

/// Reads the next contacts page and its chats; sets `done` or `pending` when reading ends.
async fn next_page(st: &mut State) -> Result<SourceBatch<Dialog>, ConnectorError> {
    let scope = match &st.scope {
        Some(scope) => scope.clone(),
        None => {
            let scope = Arc::new(load_scope(&st.client).await?);
            st.scope = Some(scope.clone());
            scope
        }
    };
    let page = st.client.contacts(scope.company, st.cursor.as_deref()).await?;
    st.pages_read += 1;
    let next_cursor = page.next_cursor();
    let all_older = !page.data.is_empty() && page.data.iter().all(|c| older_than_window(c, st.window));
    let more = next_cursor.is_some() && !all_older;

    let (mut jobs, mut unmatched) = (Vec::new(), Vec::new());
    for contact in &page.data {
        jobs.extend(select_chats(contact, &scope, st.window, st.phones.as_deref(), &mut unmatched));
    }
    let unmatched = unmatched.into_iter().filter(|chat| st.unmatched.insert(chat.clone())).count() as u64;
    jobs.retain(|job| !st.chats_read.contains(&job.chat_id));
    let room = (st.caps.chats as usize).saturating_sub(st.chats_read.len());
    let left_out = jobs.len().saturating_sub(room);
    jobs.truncate(room);
    st.chats_read.extend(jobs.iter().map(|job| job.chat_id.clone()));

    let (client, window, max_pages) = (&st.client, st.window, st.caps.message_pages);
    let reads: Vec<ChatRead> = stream::iter(jobs)
        .map(|job| read_chat(client, scope.company, job, window, max_pages))
        .buffered(CHATS_IN_FLIGHT)
        .try_collect()
        .await?;

    let message_cap = message_truncation(&reads, max_pages);
    let stop = if left_out > 0 || (more && st.chats_read.len() >= st.caps.chats as usize) {
        Some(chats_truncation(st.caps.chats, left_out, more))
    } else if more && st.pages_read >= st.caps.chat_pages {
        Some(pages_truncation(st.caps.chat_pages))
    } else {
        None
    };
    st.done = stop.is_some() || !more;
    st.cursor = next_cursor;
    let dialogs = reads.into_iter().filter_map(|r| r.dialog).collect();
    let truncated = match (message_cap, stop) {
        (Some(messages), Some(stop)) => {
            st.pending = Some(stop);
            Some(messages)
        }
        (messages, stop) => messages.or(stop),
    };
    Ok(SourceBatch { items: dialogs, truncated, unmatched })
}

/// Whether a contact's latest activity is known and before the window.
fn older_than_window(contact: &ContactItem, window: Window) -> bool {
    contact.last_chat_updated_at.as_deref().and_then(parse_time).is_some_and(|at| at < window.start())
}

/// The contact's chats worth reading: on a WhatsApp/WABA connection, with a phone in `phones`
/// when given, and a last message not before the window (or not reported). `unmatched` gets the
/// chats the phone filter left out whose listed last message is inside the window (a chat whose
/// last message came after the window's end is not counted: the list shows only the latest).
fn select_chats(
    contact: &ContactItem,
    scope: &Scope,
    window: Window,
    phones: Option<&HashSet<String>>,
    unmatched: &mut Vec<String>,
) -> Vec<ChatJob> {
    let mut jobs = Vec::new();
    for chat in &contact.chats {
        let Some(channel) = chat.connection_id.as_ref().and_then(|c| scope.channels.get(&c.0)) else { continue };
        let last_at = match &chat.last_message {
            // No message at all.
            Some(None) => continue,
            Some(Some(last)) => last.created_at.as_deref().and_then(parse_time),
            // Not sent: read the chat rather than guess.
            None => None,
        };
        if last_at.is_some_and(|at| at < window.start()) {
            continue;
        }
        let phone = chat.phone.as_deref().and_then(normalize_phone);
        if let Some(phones) = phones
            && !phone.as_ref().is_some_and(|p| phones.contains(p))
        {
            if last_at.is_some_and(|at| at < window.end()) {
                unmatched.push(chat.chat_id.0.clone());
            }
            continue;
        }
        jobs.push(ChatJob {
            chat_id: chat.chat_id.0.clone(),
            contact_id: contact.contact_id.as_ref().map(|id| id.0.clone()),
            contact_name: contact.contact_name.clone(),
            phone,
            channel: channel.clone(),
        });
    }
    jobs
}

/// One truncation for every chat of a page that `max_message_pages` cut.
fn message_truncation(reads: &[ChatRead], max_pages: u32) -> Option<Truncation> {
    let cut: Vec<&ChatRead> = reads.iter().filter(|r| r.cut_at.is_some()).collect();
    if cut.is_empty() {
        return None;
    }
    let mut named: Vec<String> = cut
        .iter()
        .take(5)
        .map(|r| format!("{} (nothing before {})", r.chat_id, r.cut_at.map(|t| t.to_string()).unwrap_or_default()))
        .collect();
    if cut.len() > 5 {
        named.push(format!("and {} more", cut.len() - 5));
    }
    Some(Truncation {
        cap: "max_message_pages".into(),
        limit: u64::from(max_pages),
        message: format!(
            "Radist: {} chat(s) have more than {max_pages} pages of {PAGE_LIMIT} messages; their older messages in the \
             window were not read: chats {} (raise max_message_pages in the Radist settings)",
            cut.len(),
            named.join(", ")
        ),
    })
}

fn chats_truncation(max_chats: u32, left_out: usize, more_pages: bool) -> Truncation {
    let what = match (left_out, more_pages) {
        (n, false) => format!("{n} more chat(s) with activity in the window were left out"),
        (0, true) => "further contact pages were not read, so more chats may have been left out".to_owned(),
        (n, true) => format!("at least {n} more chat(s) were left out, and further contact pages were not read"),
    };
    Truncation {
        cap: "max_chats".into(),
        limit: u64::from(max_chats),
        message: format!("Radist: read the first {max_chats} chats; {what} (raise max_chats in the Radist settings)"),
    }
}

fn pages_truncation(max_pages: u32) -> Truncation {
    Truncation {
        cap: "max_chat_pages".into(),
        limit: u64::from(max_pages),
        message: format!(
            "Radist: stopped after {max_pages} pages of {PAGE_LIMIT} contacts; contacts active earlier were not read, \
             and some of them may have messages in the window (raise max_chat_pages in the Radist settings)"
        ),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use serde_json::json;

    use super::*;

    fn scope() -> Scope {
        Scope { company: 1, channels: HashMap::from([("10".to_owned(), "whatsapp".to_owned())]) }
    }

    fn day() -> Window {
        Window::new("2026-03-01T00:00:00Z".parse().unwrap(), "2026-03-02T00:00:00Z".parse().unwrap()).unwrap()
    }

    #[test]
    fn chats_are_chosen_by_connection_phone_and_last_message() {
        let contact: ContactItem = serde_json::from_value(json!({"contact_id": 9, "contact_name": "Anna", "chats": [
            {"chat_id": 1, "connection_id": 10, "phone": "+7 900 000-00-01", "last_message": {"created_at": "2026-03-01T10:00:00Z"}},
            {"chat_id": 2, "connection_id": 12, "phone": "+7 900 000-00-02", "last_message": {"created_at": "2026-03-01T10:00:00Z"}},
            {"chat_id": 3, "connection_id": 10, "phone": "+7 900 000-00-03", "last_message": {"created_at": "2026-02-28T23:59:59.999Z"}},
            {"chat_id": 4, "connection_id": 10, "phone": "+7 900 000-00-04", "last_message": null},
            {"chat_id": 5, "connection_id": 10, "phone": "+7 900 000-00-05"},
            {"chat_id": 6, "connection_id": 10, "phone": null, "last_message": {"created_at": "garbled"}},
            {"chat_id": 7, "phone": "+7 900 000-00-07", "last_message": {"created_at": "2026-03-01T10:00:00Z"}},
        ]}))
        .unwrap();
        let ids = |jobs: Vec<ChatJob>| jobs.into_iter().map(|j| j.chat_id).collect::<Vec<_>>();
        let mut unmatched = Vec::new();
        let all = select_chats(&contact, &scope(), day(), None, &mut unmatched);
        assert_eq!(all[0].phone.as_deref(), Some("79000000001"));
        assert_eq!((all[0].contact_id.as_deref(), all[0].channel.as_str()), (Some("9"), "whatsapp"));
        assert_eq!(ids(all), ["1", "5", "6"], "not telegram, stale, empty or unknown-connection chats");
        let phones = HashSet::from(["79000000005".to_owned(), "79000000002".to_owned()]);
        assert!(unmatched.is_empty(), "nothing is filtered without phones");
        let chosen = select_chats(&contact, &scope(), day(), Some(&phones), &mut unmatched);
        assert_eq!(ids(chosen), ["5"], "no phone never matches");
        assert_eq!(unmatched, ["1"], "chat 1 is active in the window and matches no deal; 6 has no readable time");
    }

    #[test]
    fn a_contact_is_older_than_the_window_only_when_its_time_says_so() {
        let contact = |last: serde_json::Value| -> ContactItem {
            serde_json::from_value(json!({"last_chat_updated_at": last, "chats": []})).unwrap()
        };
        assert!(older_than_window(&contact(json!("2026-02-28T23:59:59.999Z")), day()));
        assert!(!older_than_window(&contact(json!("2026-03-01T00:00:00.000Z")), day()));
        assert!(!older_than_window(&contact(json!(null)), day()));
        assert!(!older_than_window(&contact(json!("garbled")), day()));
    }
}
