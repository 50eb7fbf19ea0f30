//! PostgREST query language subset: horizontal filters, `order`, and value comparison.

use std::cmp::Ordering;

use serde_json::{Map, Value};

use super::error;
use crate::http::{Reply, parse_instant};

/// Query parameters that are not column filters.
pub(super) const RESERVED: &[&str] = &["select", "order", "limit", "offset", "on_conflict", "columns", "apikey"];

/// One `column=op.value` filter.
#[derive(Debug)]
pub(super) struct Filter {
    column: String,
    negate: bool,
    op: Op,
}

#[derive(Debug)]
enum Op {
    Cmp(&'static str, String),
    In(Vec<String>),
    Is(String),
    Like(String, bool),
}

impl Filter {
    /// Parses `value` (`eq.5`, `not.in.(1,2)`, ...) for `column`.
    pub(super) fn parse(column: &str, value: &str) -> Result<Filter, Reply> {
        let (negate, rest) = match value.strip_prefix("not.") {
            Some(rest) => (true, rest),
            None => (false, value),
        };
        let bad = || error(400, "PGRST100", &format!("\"failed to parse filter ({value})\" (line 1, column 1)"));
        let (op, operand) = rest.split_once('.').ok_or_else(bad)?;
        let op = match op {
            "eq" => Op::Cmp("eq", operand.to_owned()),
            "neq" => Op::Cmp("neq", operand.to_owned()),
            "gt" => Op::Cmp("gt", operand.to_owned()),
            "gte" => Op::Cmp("gte", operand.to_owned()),
            "lt" => Op::Cmp("lt", operand.to_owned()),
            "lte" => Op::Cmp("lte", operand.to_owned()),
            "in" => {
                let inner = operand.strip_prefix('(').and_then(|s| s.strip_suffix(')')).ok_or_else(bad)?;
                Op::In(split_list(inner))
            }
            "is" => Op::Is(operand.to_ascii_lowercase()),
            "like" => Op::Like(operand.to_owned(), false),
            "ilike" => Op::Like(operand.to_owned(), true),
            _ => return Err(bad()),
        };
        Ok(Filter { column: column.to_owned(), negate, op })
    }

    /// Whether `row` passes; errors when the operand cannot be cast to the column's type.
    pub(super) fn matches(&self, row: &Map<String, Value>) -> Result<bool, Reply> {
        let value = row.get(&self.column).unwrap_or(&Value::Null);
        let result = match &self.op {
            Op::Is(what) => match what.as_str() {
                "null" => value.is_null(),
                "true" => value == &Value::Bool(true),
                "false" => value == &Value::Bool(false),
                _ => return Err(error(400, "PGRST100", "\"failed to parse filter (is)\"")),
            },
            _ if value.is_null() => return Ok(false),
            Op::Cmp(op, operand) => {
                let ord = compare_operand(value, operand)?;
                match *op {
                    "eq" => ord == Ordering::Equal,
                    "neq" => ord != Ordering::Equal,
                    "gt" => ord == Ordering::Greater,
                    "gte" => ord != Ordering::Less,
                    "lt" => ord == Ordering::Less,
                    _ => ord != Ordering::Greater,
                }
            }
            Op::In(list) => {
                let mut any = false;
                for item in list {
                    any |= compare_operand(value, item)? == Ordering::Equal;
                }
                any
            }
            Op::Like(pattern, ci) => {
                let text = value.as_str().map_or_else(|| value.to_string(), str::to_owned);
                like(&text, pattern, *ci)
            }
        };
        Ok(result != self.negate)
    }
}

/// Splits `a,"b,c",d` into items, honouring double quotes.
fn split_list(inner: &str) -> Vec<String> {
    let mut items = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    for ch in inner.chars() {
        match ch {
            '"' => quoted = !quoted,
            ',' if !quoted => items.push(std::mem::take(&mut current)),
            _ => current.push(ch),
        }
    }
    if !inner.is_empty() {
        items.push(current);
    }
    items
}

/// SQL LIKE with `*` or `%` as wildcard.
fn like(text: &str, pattern: &str, case_insensitive: bool) -> bool {
    let (text, pattern) = if case_insensitive {
        (text.to_lowercase(), pattern.to_lowercase())
    } else {
        (text.to_owned(), pattern.to_owned())
    };
    let parts: Vec<&str> = pattern.split(['*', '%']).collect();
    if parts.len() == 1 {
        return text == pattern;
    }
    let mut rest = text.as_str();
    for (i, part) in parts.iter().enumerate() {
        if i == 0 {
            let Some(r) = rest.strip_prefix(part) else { return false };
            rest = r;
        } else if i == parts.len() - 1 {
            return rest.ends_with(part);
        } else if let Some(pos) = rest.find(part) {
            rest = &rest[pos + part.len()..];
        } else {
            return false;
        }
    }
    true
}

/// Compares a stored value with a filter operand, casting the operand to the value's type.
fn compare_operand(value: &Value, operand: &str) -> Result<Ordering, Reply> {
    match value {
        Value::Number(n) => {
            let left = n.as_f64().unwrap_or(0.0);
            let right: f64 = operand
                .trim()
                .parse()
                .map_err(|_| error(400, "22P02", &format!("invalid input syntax for type bigint: \"{operand}\"")))?;
            Ok(left.partial_cmp(&right).unwrap_or(Ordering::Equal))
        }
        Value::Bool(b) => match operand {
            "true" => Ok(b.cmp(&true)),
            "false" => Ok(b.cmp(&false)),
            _ => Err(error(400, "22P02", &format!("invalid input syntax for type boolean: \"{operand}\""))),
        },
        Value::String(s) => match parse_instant(s) {
            Some(stored) => {
                let wanted = parse_instant(operand).ok_or_else(|| {
                    error(
                        400,
                        "22007",
                        &format!("invalid input syntax for type timestamp with time zone: \"{operand}\""),
                    )
                })?;
                Ok(stored.cmp(&wanted))
            }
            None => Ok(s.as_str().cmp(operand)),
        },
        other => Ok(other.to_string().as_str().cmp(operand)),
    }
}

/// Orders two stored values of one column (nulls handled by the caller).
pub(super) fn compare_values(a: &Value, b: &Value) -> Ordering {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            x.as_f64().unwrap_or(0.0).partial_cmp(&y.as_f64().unwrap_or(0.0)).unwrap_or(Ordering::Equal)
        }
        (Value::String(x), Value::String(y)) => match (parse_instant(x), parse_instant(y)) {
            (Some(tx), Some(ty)) => tx.cmp(&ty),
            _ => x.cmp(y),
        },
        (Value::Bool(x), Value::Bool(y)) => x.cmp(y),
        _ => a.to_string().cmp(&b.to_string()),
    }
}

/// One `order` term.
#[derive(Debug)]
pub(super) struct OrderTerm {
    column: String,
    desc: bool,
    nulls_first: bool,
}

/// Parses `order=a.desc,b.asc.nullsfirst`.
pub(super) fn parse_order(raw: &str) -> Result<Vec<OrderTerm>, Reply> {
    let mut terms = Vec::new();
    for term in raw.split(',').filter(|t| !t.is_empty()) {
        let mut pieces = term.split('.');
        let column = pieces.next().unwrap_or_default().to_owned();
        let mut desc = false;
        let mut nulls_first = None;
        for modifier in pieces {
            match modifier {
                "asc" => desc = false,
                "desc" => desc = true,
                "nullsfirst" => nulls_first = Some(true),
                "nullslast" => nulls_first = Some(false),
                _ => return Err(error(400, "PGRST100", &format!("\"failed to parse order ({raw})\""))),
            }
        }
        terms.push(OrderTerm { column, desc, nulls_first: nulls_first.unwrap_or(desc) });
    }
    Ok(terms)
}

/// Sorts rows by the terms (stable, so insertion order breaks ties).
pub(super) fn sort_rows(rows: &mut [&Map<String, Value>], terms: &[OrderTerm]) {
    rows.sort_by(|a, b| {
        for term in terms {
            let x = a.get(&term.column).unwrap_or(&Value::Null);
            let y = b.get(&term.column).unwrap_or(&Value::Null);
            let ord = match (x.is_null(), y.is_null()) {
                (true, true) => Ordering::Equal,
                (true, false) => {
                    if term.nulls_first {
                        Ordering::Less
                    } else {
                        Ordering::Greater
                    }
                }
                (false, true) => {
                    if term.nulls_first {
                        Ordering::Greater
                    } else {
                        Ordering::Less
                    }
                }
                (false, false) => {
                    let ord = compare_values(x, y);
                    if term.desc { ord.reverse() } else { ord }
                }
            };
            if ord != Ordering::Equal {
                return ord;
            }
        }
        Ordering::Equal
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn row(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn filters_cast_operands_to_the_column_type() {
        let r = row(json!({"n": 5, "t": "2026-03-01T10:00:00Z", "s": "acme", "x": null}));
        let check = |col: &str, f: &str| Filter::parse(col, f).ok().and_then(|f| f.matches(&r).ok());
        assert_eq!(check("n", "gte.5"), Some(true));
        assert_eq!(check("n", "lt.5"), Some(false));
        assert_eq!(check("n", "in.(1,5)"), Some(true));
        assert_eq!(check("n", "not.in.(1,5)"), Some(false));
        assert_eq!(check("t", "gt.2026-03-01T09:59:59.999+00:00"), Some(true));
        assert_eq!(check("t", "lt.2026-03-01T10:00:00.5Z"), Some(true));
        assert_eq!(check("s", "eq.acme"), Some(true));
        assert_eq!(check("s", "like.ac*"), Some(true));
        assert_eq!(check("x", "is.null"), Some(true));
        assert_eq!(check("x", "eq.1"), Some(false));
        assert!(Filter::parse("t", "gt.2026-03-01T09:00:00 00:00").is_ok_and(|f| f.matches(&r).is_err()));
        assert!(Filter::parse("n", "between.1").is_err());
    }
}
