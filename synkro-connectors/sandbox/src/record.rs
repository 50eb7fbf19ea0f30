//! The request log: every request each fake server received, with counters.

use std::collections::BTreeSet;

use crate::Service;

/// One request as a fake server saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedRequest {
    /// HTTP method, upper case.
    pub method: String,
    /// Decoded path (for Telegram it contains the token).
    pub path: String,
    /// Decoded query pairs, in order.
    pub query: Vec<(String, String)>,
    /// Headers with lowercase names, in order.
    pub headers: Vec<(String, String)>,
    /// Final status answered (0 while the request is still being answered).
    pub status: u16,
    /// Body as (lossy) UTF-8, `None` when empty.
    pub body: Option<String>,
}

impl RecordedRequest {
    /// First value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// First value of query parameter `name`.
    pub fn query_value(&self, name: &str) -> Option<&str> {
        self.query.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }
}

#[derive(Debug, Default)]
struct ServiceLog {
    entries: Vec<(u64, RecordedRequest)>,
    count: u64,
    rate_limited: u64,
    methods: BTreeSet<String>,
}

/// Per-service logs; entries are added on arrival and completed with the final status.
#[derive(Debug, Default)]
pub(crate) struct RequestLog {
    services: [ServiceLog; 7],
    next_id: u64,
}

impl RequestLog {
    /// Records an arriving request; returns its id for [`RequestLog::finish`].
    pub(crate) fn arrive(&mut self, service: Service, request: RecordedRequest) -> u64 {
        self.next_id += 1;
        let log = &mut self.services[service.index()];
        log.count += 1;
        log.methods.insert(request.method.clone());
        log.entries.push((self.next_id, request));
        self.next_id
    }

    /// Stores the final status of request `id`.
    pub(crate) fn finish(&mut self, service: Service, id: u64, status: u16) {
        let log = &mut self.services[service.index()];
        if status == 429 {
            log.rate_limited += 1;
        }
        if let Some((_, entry)) = log.entries.iter_mut().rev().find(|(i, _)| *i == id) {
            entry.status = status;
        }
    }

    pub(crate) fn requests(&self, service: Service) -> Vec<RecordedRequest> {
        self.services[service.index()].entries.iter().map(|(_, r)| r.clone()).collect()
    }

    pub(crate) fn count(&self, service: Service) -> u64 {
        self.services[service.index()].count
    }

    pub(crate) fn rate_limited(&self, service: Service) -> u64 {
        self.services[service.index()].rate_limited
    }

    pub(crate) fn methods(&self, service: Service) -> BTreeSet<String> {
        self.services[service.index()].methods.clone()
    }

    /// Forgets every request and zeroes the counters.
    pub(crate) fn reset(&mut self) {
        for log in &mut self.services {
            *log = ServiceLog::default();
        }
    }
}
