//! In-memory PostgREST tables with unique keys, inserts and upserts.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde_json::{Map, Value};

use super::error;
use crate::http::Reply;

/// A unique key: its columns and the index from key text to row position.
#[derive(Debug, Default, Clone)]
struct UniqueIndex {
    columns: Vec<String>,
    positions: HashMap<String, usize>,
}

/// A table: rows in insertion order, the union of columns seen, and unique keys.
#[derive(Debug, Default, Clone)]
pub(crate) struct Table {
    pub(super) rows: Vec<Map<String, Value>>,
    pub(super) columns: Vec<String>,
    unique: Vec<UniqueIndex>,
}

/// How a POST treats rows that collide on the conflict key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Resolution {
    /// Plain insert: a collision is a 409.
    Insert,
    /// `resolution=merge-duplicates`: update the payload's columns of the existing row.
    Merge,
    /// `resolution=ignore-duplicates`: keep the existing row.
    Ignore,
}

enum Action {
    Insert,
    Merge(usize),
    Skip,
}

/// All tables of the fake project.
#[derive(Debug)]
pub(crate) struct Store {
    pub(super) tables: BTreeMap<String, Table>,
}

impl Store {
    /// Starts with the empty tables Synkro writes: `deals` (unique tenant_id, deal_id) and `reports` (unique id).
    pub(crate) fn new() -> Self {
        let mut tables = BTreeMap::new();
        for (name, key) in [("deals", &["tenant_id", "deal_id"][..]), ("reports", &["id"][..])] {
            let mut table = Table::default();
            table.ensure_unique(&key.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>());
            tables.insert(name.to_owned(), table);
        }
        Store { tables }
    }

    /// Rows of `table` with every known column present (missing ones as null).
    pub(crate) fn rows(&self, table: &str) -> Vec<Value> {
        let Some(t) = self.tables.get(table) else { return Vec::new() };
        t.rows.iter().map(|r| Value::Object(t.full_row(r))).collect()
    }

    /// Inserts or upserts `rows` into `table` (created when missing), all or nothing.
    /// `on_conflict` columns become a unique key of the table. Returns the rows written.
    pub(super) fn write(
        &mut self,
        table: &str,
        rows: Vec<Map<String, Value>>,
        on_conflict: Option<Vec<String>>,
        resolution: Resolution,
    ) -> Result<Vec<Map<String, Value>>, Reply> {
        let t = self.tables.entry(table.to_owned()).or_default();
        if let Some(cols) = &on_conflict {
            t.ensure_unique(cols);
        }
        let key = on_conflict.or_else(|| t.unique.first().map(|u| u.columns.clone()));
        let actions = t.plan(table, &rows, key.as_deref(), resolution)?;
        let mut written = Vec::with_capacity(rows.len());
        for (row, action) in rows.into_iter().zip(actions) {
            for column in row.keys() {
                if !t.columns.contains(column) {
                    t.columns.push(column.clone());
                }
            }
            match action {
                Action::Skip => {}
                Action::Insert => {
                    let pos = t.rows.len();
                    for index in &mut t.unique {
                        if let Some(k) = key_text(&index.columns, &row) {
                            index.positions.insert(k, pos);
                        }
                    }
                    t.rows.push(row);
                    written.push(pos);
                }
                Action::Merge(pos) => {
                    for index in &mut t.unique {
                        if let Some(k) = key_text(&index.columns, &t.rows[pos]) {
                            index.positions.remove(&k);
                        }
                    }
                    // Key columns already hold equal values; keep their stored form.
                    let key_columns = key.as_deref().unwrap_or_default();
                    t.rows[pos].extend(row.into_iter().filter(|(k, _)| !key_columns.contains(k)));
                    for index in &mut t.unique {
                        if let Some(k) = key_text(&index.columns, &t.rows[pos]) {
                            index.positions.insert(k, pos);
                        }
                    }
                    written.push(pos);
                }
            }
        }
        Ok(written.into_iter().map(|pos| t.full_row(&t.rows[pos])).collect())
    }
}

impl Table {
    /// Adds a unique key on `columns` (indexing existing rows) unless it exists.
    fn ensure_unique(&mut self, columns: &[String]) {
        if self.unique.iter().any(|u| u.columns == columns) {
            return;
        }
        let mut index = UniqueIndex { columns: columns.to_vec(), positions: HashMap::new() };
        for (pos, row) in self.rows.iter().enumerate() {
            if let Some(k) = key_text(columns, row) {
                index.positions.entry(k).or_insert(pos);
            }
        }
        self.unique.push(index);
    }

    /// Decides what happens to each row without changing anything.
    fn plan(
        &self,
        table: &str,
        rows: &[Map<String, Value>],
        key: Option<&[String]>,
        resolution: Resolution,
    ) -> Result<Vec<Action>, Reply> {
        let mut merged = HashSet::new();
        let mut fresh: Vec<HashSet<String>> = vec![HashSet::new(); self.unique.len()];
        let mut actions = Vec::with_capacity(rows.len());
        for row in rows {
            let existing = match (key, resolution) {
                (Some(key), Resolution::Merge | Resolution::Ignore) => key_text(key, row).and_then(|k| {
                    self.unique.iter().find(|u| u.columns == key).and_then(|u| u.positions.get(&k).copied())
                }),
                _ => None,
            };
            let action = match existing {
                Some(_) if resolution == Resolution::Ignore => Action::Skip,
                Some(pos) if merged.insert(pos) => Action::Merge(pos),
                Some(_) => return Err(affect_twice()),
                None => {
                    let mut action = Action::Insert;
                    for (i, index) in self.unique.iter().enumerate() {
                        let Some(k) = key_text(&index.columns, row) else { continue };
                        let upsert_key = key == Some(index.columns.as_slice()) && resolution != Resolution::Insert;
                        if index.positions.contains_key(&k) || !fresh[i].insert(k) {
                            match resolution {
                                Resolution::Ignore if upsert_key => action = Action::Skip,
                                Resolution::Merge if upsert_key => return Err(affect_twice()),
                                _ => return Err(duplicate(table, &index.columns, row)),
                            }
                        }
                    }
                    action
                }
            };
            actions.push(action);
        }
        Ok(actions)
    }

    /// `row` with every known column, missing ones null.
    pub(super) fn full_row(&self, row: &Map<String, Value>) -> Map<String, Value> {
        self.columns.iter().map(|c| (c.clone(), row.get(c).cloned().unwrap_or(Value::Null))).collect()
    }
}

fn affect_twice() -> Reply {
    error(500, "21000", "ON CONFLICT DO UPDATE command cannot affect row a second time")
}

fn duplicate(table: &str, columns: &[String], row: &Map<String, Value>) -> Reply {
    let values: Vec<String> = columns.iter().map(|c| row.get(c).map_or("null".to_owned(), plain)).collect();
    let message = format!("duplicate key value violates unique constraint \"{table}_{}_key\"", columns.join("_"));
    let details = format!("Key ({})=({}) already exists.", columns.join(", "), values.join(", "));
    with_details(error(409, "23505", &message), &details)
}

/// Text identifying the key values of `row`; `None` when a key column is missing or null.
/// Numbers compare by value (`5` = `5.0`), like a typed column.
fn key_text(columns: &[String], row: &Map<String, Value>) -> Option<String> {
    let mut text = String::new();
    for column in columns {
        match row.get(column)? {
            Value::Null => return None,
            Value::Number(n) => text.push_str(&format!("n{}", n.as_f64().unwrap_or(0.0))),
            other => text.push_str(&format!("s{}", plain(other))),
        }
        text.push('\u{1f}');
    }
    Some(text)
}

/// A value as PostgreSQL would print it in an error detail.
fn plain(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn with_details(mut reply: Reply, details: &str) -> Reply {
    if let crate::http::ReplyBody::Bytes(bytes) = &reply.body
        && let Ok(Value::Object(mut map)) = serde_json::from_slice::<Value>(bytes)
    {
        map.insert("details".to_owned(), Value::String(details.to_owned()));
        reply.body = crate::http::ReplyBody::Bytes(Value::Object(map).to_string().into_bytes());
    }
    reply
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn upsert_merges_and_insert_conflicts() {
        let mut store = Store::new();
        let key = Some(vec!["tenant_id".to_owned(), "deal_id".to_owned()]);
        let first = vec![obj(json!({"tenant_id": "t", "deal_id": 1, "a": 1, "b": 1}))];
        assert!(store.write("deals", first, key.clone(), Resolution::Merge).is_ok());
        let second = vec![obj(json!({"tenant_id": "t", "deal_id": 1.0, "a": 2}))];
        assert!(store.write("deals", second, key.clone(), Resolution::Merge).is_ok());
        assert_eq!(store.rows("deals"), vec![json!({"tenant_id": "t", "deal_id": 1, "a": 2, "b": 1})]);
        let dup = vec![obj(json!({"tenant_id": "t", "deal_id": 1, "a": 3}))];
        assert!(store.write("deals", dup, None, Resolution::Insert).is_err_and(|r| r.status == 409));
        let twice = vec![obj(json!({"tenant_id": "t", "deal_id": 2})), obj(json!({"tenant_id": "t", "deal_id": 2}))];
        assert!(store.write("deals", twice, key, Resolution::Merge).is_err_and(|r| r.status == 500));
        assert_eq!(store.rows("deals").len(), 1, "a failed batch writes nothing");
    }
}
