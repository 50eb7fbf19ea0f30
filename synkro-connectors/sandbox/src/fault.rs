//! Injected faults: what can go wrong on purpose, and the table that decides which request gets it.

use std::time::Duration;

use crate::Service;

/// A failure the next matching requests get (see [`Sandbox::inject`](crate::Sandbox::inject)).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// Answer with this status and the service's usual error body.
    Status(u16),
    /// Wait this long, then answer normally.
    Slow(Duration),
    /// Send a 200 status and part of a body, then abort the connection.
    Reset,
    /// Answer 200 with a body that is not valid JSON.
    Malformed,
    /// Answer 429 the way the service does: Telegram JSON with `parameters.retry_after = 1`; amoCRM a
    /// non-JSON text body; the others a JSON error plus `Retry-After: 1`.
    RateLimited,
}

#[derive(Debug)]
struct Rule {
    service: Service,
    pattern: String,
    fault: Fault,
    remaining: u32,
}

/// Pending faults in injection order.
#[derive(Debug, Default)]
pub(crate) struct FaultTable {
    rules: Vec<Rule>,
}

impl FaultTable {
    /// Queues `fault` for the next `times` requests to `service` whose path and query contain `pattern`.
    pub(crate) fn add(&mut self, service: Service, pattern: &str, fault: Fault, times: u32) {
        if times > 0 {
            self.rules.push(Rule { service, pattern: pattern.to_owned(), fault, remaining: times });
        }
    }

    /// Takes one use of the oldest rule matching `target` (path, plus `?query` when present).
    pub(crate) fn take(&mut self, service: Service, target: &str) -> Option<Fault> {
        let pos = self.rules.iter().position(|r| r.service == service && target.contains(&r.pattern))?;
        let rule = &mut self.rules[pos];
        rule.remaining -= 1;
        let fault = rule.fault.clone();
        if rule.remaining == 0 {
            self.rules.remove(pos);
        }
        Some(fault)
    }

    /// Drops every pending fault.
    pub(crate) fn clear(&mut self) {
        self.rules.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_are_used_up_in_order() {
        let mut table = FaultTable::default();
        table.add(Service::Radist, "messages", Fault::Status(500), 2);
        table.add(Service::Radist, "", Fault::Reset, 1);
        assert_eq!(table.take(Service::Amocrm, "/api/v4/leads"), None);
        assert_eq!(table.take(Service::Radist, "/v2/companies/"), Some(Fault::Reset));
        assert_eq!(table.take(Service::Radist, "/v2/companies/"), None);
        assert_eq!(table.take(Service::Radist, "/v2/x/messages/"), Some(Fault::Status(500)));
        assert_eq!(table.take(Service::Radist, "/v2/x/messages/"), Some(Fault::Status(500)));
        assert_eq!(table.take(Service::Radist, "/v2/x/messages/"), None);
    }
}
