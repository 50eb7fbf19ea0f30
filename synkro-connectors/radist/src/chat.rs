//! One chat's messages inside a window: paged backwards from the newest with `until`,
//! de-duplicated, cut to the window and put in time order.

use std::{cmp::Ordering, collections::HashSet};

use synkro_core::{
    connector::{ChatMessage, ConnectorError, Dialog},
    domain::Window,
    time::Timestamp,
};

use crate::{
    client::{PAGE_LIMIT, RadistClient},
    model::format_time,
};

/// A chat chosen for reading, with what its dialog needs.
#[derive(Debug, Clone)]
pub(crate) struct ChatJob {
    pub chat_id: String,
    pub contact_id: Option<String>,
    pub contact_name: Option<String>,
    pub phone: Option<String>,
    pub channel: String,
}

/// What reading one chat gave.
#[derive(Debug)]
pub(crate) struct ChatRead {
    pub chat_id: String,
    /// The dialog, when at least one message is inside the window.
    pub dialog: Option<Dialog>,
    /// Set when `max_message_pages` stopped the reading before the window start: the oldest
    /// message read.
    pub cut_at: Option<Timestamp>,
}

/// Reads `job`'s messages in `window`: the newest page first, then each next page with `until`
/// set to the oldest time seen, until a short page, a page reaching back before the window, or
/// `max_pages`. Messages seen twice are kept once.
///
/// `until` is the oldest time itself, not 1 ms before it: Radist's `until` is inclusive (as
/// far as known, and in the sandbox), and messages often share a millisecond, so stepping 1 ms
/// back would skip a message sharing the oldest one's time that did not fit on the page. The
/// repeated messages cost a few bytes. Only a full page with nothing new (a burst of more than
/// a page in one millisecond, or a server ignoring `until`) steps 1 ms back, once.
pub(crate) async fn read_chat(
    client: &RadistClient,
    company: i64,
    job: ChatJob,
    window: Window,
    max_pages: u32,
) -> Result<ChatRead, ConnectorError> {
    let mut seen = HashSet::new();
    let mut kept = Vec::new();
    let mut until: Option<Timestamp> = None;
    let mut cut_at = None;
    for page_no in 1..=max_pages {
        let page = client.messages(company, &job.chat_id, until.map(format_time).as_deref()).await?;
        let full = page.len() >= PAGE_LIMIT;
        let Some(oldest) = page.iter().map(|m| m.at).min() else { break };
        let mut new = 0;
        for message in page {
            if seen.insert(message.id.clone()) {
                new += 1;
                if message.at >= window.start() && message.at < window.end() {
                    kept.push(message);
                }
            }
        }
        if !full || oldest < window.start() {
            break;
        }
        if page_no == max_pages {
            cut_at = Some(oldest);
            break;
        }
        let next =
            if new > 0 { oldest } else { Timestamp::from_unix_micros(oldest.unix_micros() - 1_000).unwrap_or(oldest) };
        if until == Some(next) {
            tracing::warn!(chat_id = %job.chat_id, page_no, "Radist sent no older messages for an older page; stopping");
            break;
        }
        until = Some(next);
    }
    kept.sort_by(by_time_then_id);
    let dialog = (!kept.is_empty()).then(|| Dialog {
        chat_id: job.chat_id.clone(),
        contact_id: job.contact_id,
        contact_name: job.contact_name,
        phone: job.phone,
        channel: job.channel,
        messages: kept,
    });
    Ok(ChatRead { chat_id: job.chat_id, dialog, cut_at })
}

/// Time order; equal times by id, where ids that differ only in a trailing number compare
/// numerically (`m-9` before `m-10`).
fn by_time_then_id(a: &ChatMessage, b: &ChatMessage) -> Ordering {
    a.at.cmp(&b.at).then_with(|| a.id.len().cmp(&b.id.len())).then_with(|| a.id.cmp(&b.id))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use synkro_core::connector::Direction;

    use super::*;

    fn message(id: &str, micros: i64) -> ChatMessage {
        ChatMessage {
            id: id.to_owned(),
            at: Timestamp::from_unix_micros(micros).unwrap(),
            direction: Direction::Inbound,
            text: String::new(),
            files: Vec::new(),
        }
    }

    #[test]
    fn messages_order_by_time_then_by_id_with_numbers_in_number_order() {
        let mut list = [message("m-1-10", 5), message("m-1-9", 5), message("m-1-2", 9), message("m-1-11", 1)];
        list.sort_by(by_time_then_id);
        let ids: Vec<&str> = list.iter().map(|m| m.id.as_str()).collect();
        assert_eq!(ids, ["m-1-11", "m-1-9", "m-1-10", "m-1-2"]);
    }
}
