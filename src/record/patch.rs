//! A delta between two snapshots: what changed in their JSON, and only
//! that.
//!
//! Objects are compared key by key; lists whose items are objects with a
//! unique identity (`key` for threads, `id` for primitives) are compared
//! item by item by that identity, so a thread whose figures moved costs
//! the figures, not the thread; anything else that changed is written
//! whole. [`apply`] takes untrusted input (a file): any shape it does not
//! expect is an error, never a panic.

use serde_json::{Map, Value};
use std::collections::HashMap;

/// The identity fields a list's items may carry, in the order tried.
const IDENTITIES: [&str; 2] = ["key", "id"];

/// The patch that turns `old` into `new`, or `None` when they are equal.
///
/// In JSON: `{"=": value}` replaces; `{"o": {field: patch…}, "-": [field…]}`
/// changes an object's fields and removes some; `{"k": "key", "c": [[id,
/// patch]…], "ids": [id…]}` changes a list's items by identity, `ids`
/// (present when the membership or order changed) giving the new order.
pub fn diff(old: &Value, new: &Value) -> Option<Value> {
    if old == new {
        return None;
    }
    match (old, new) {
        (Value::Object(old), Value::Object(new)) => Some(diff_objects(old, new)),
        (Value::Array(before), Value::Array(after)) => match identity(before).zip(identity(after)) {
            Some((a, b)) if a == b => Some(diff_keyed(a, before, after)),
            _ => Some(replace(new)),
        },
        _ => Some(replace(new)),
    }
}

/// The patch of a sample where nothing changed.
pub fn unchanged() -> Value {
    serde_json::json!({"o": {}})
}

fn replace(new: &Value) -> Value {
    let mut map = Map::new();
    map.insert("=".into(), new.clone());
    Value::Object(map)
}

fn diff_objects(old: &Map<String, Value>, new: &Map<String, Value>) -> Value {
    let mut changed = Map::new();
    for (field, value) in new {
        let patch = match old.get(field) {
            Some(before) => diff(before, value),
            None => Some(replace(value)),
        };
        if let Some(patch) = patch {
            changed.insert(field.clone(), patch);
        }
    }
    let removed: Vec<Value> =
        old.keys().filter(|field| !new.contains_key(*field)).map(|f| Value::String(f.clone())).collect();
    let mut patch = Map::new();
    patch.insert("o".into(), Value::Object(changed));
    if !removed.is_empty() {
        patch.insert("-".into(), Value::Array(removed));
    }
    Value::Object(patch)
}

/// The identity field every item of `items` carries, unique among them
/// (an empty list fits any).
fn identity(items: &[Value]) -> Option<&'static str> {
    IDENTITIES.into_iter().find(|field| {
        let mut seen = std::collections::HashSet::with_capacity(items.len());
        items.iter().all(|item| item.get(field).and_then(Value::as_u64).is_some_and(|id| seen.insert(id)))
    })
}

fn id_of(item: &Value, field: &str) -> u64 {
    item.get(field).and_then(Value::as_u64).unwrap_or_default()
}

fn diff_keyed(field: &'static str, old: &[Value], new: &[Value]) -> Value {
    let before: HashMap<u64, &Value> = old.iter().map(|item| (id_of(item, field), item)).collect();
    let mut changes = Vec::new();
    for item in new {
        let id = id_of(item, field);
        let patch = match before.get(&id) {
            Some(old) => diff(old, item),
            None => Some(replace(item)),
        };
        if let Some(patch) = patch {
            changes.push(Value::Array(vec![Value::from(id), patch]));
        }
    }
    let mut patch = Map::new();
    patch.insert("k".into(), Value::from(field));
    patch.insert("c".into(), Value::Array(changes));
    let same_order =
        old.len() == new.len() && old.iter().zip(new).all(|(a, b)| id_of(a, field) == id_of(b, field));
    if !same_order {
        patch.insert("ids".into(), new.iter().map(|item| Value::from(id_of(item, field))).collect());
    }
    Value::Object(patch)
}

/// Why a patch could not be applied.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("delta does not fit the sample before it: {0}")]
pub struct PatchError(String);

fn bad(what: impl Into<String>) -> PatchError {
    PatchError(what.into())
}

/// Applies `patch` (from [`diff`]) to `value`.
///
/// # Errors
///
/// A patch of a shape [`diff`] does not make, or one that refers to
/// fields or items `value` does not have; `value` may then be partly
/// changed and should be dropped.
pub fn apply(value: &mut Value, patch: &Value) -> Result<(), PatchError> {
    let Value::Object(patch) = patch else { return Err(bad("a patch is not an object")) };
    if let Some(new) = patch.get("=") {
        *value = new.clone();
        return Ok(());
    }
    if let Some(Value::Object(changed)) = patch.get("o") {
        let Value::Object(fields) = value else { return Err(bad("an object patch on a non-object")) };
        for (field, change) in changed {
            match fields.get_mut(field) {
                Some(old) => apply(old, change)?,
                None => {
                    let new = change
                        .get("=")
                        .ok_or_else(|| bad(format!("field {field:?} is new but not whole")))?;
                    fields.insert(field.clone(), new.clone());
                }
            }
        }
        for removed in patch.get("-").and_then(Value::as_array).into_iter().flatten() {
            let field = removed.as_str().ok_or_else(|| bad("a removed field that is not a name"))?;
            fields.remove(field);
        }
        return Ok(());
    }
    if let Some(Value::String(field)) = patch.get("k") {
        return apply_keyed(value, field, patch);
    }
    Err(bad("a patch of no known kind"))
}

fn apply_keyed(value: &mut Value, field: &str, patch: &Map<String, Value>) -> Result<(), PatchError> {
    let Value::Array(items) = value else { return Err(bad("a list patch on a non-list")) };
    let mut by_id: HashMap<u64, Value> = HashMap::with_capacity(items.len());
    let mut order = Vec::with_capacity(items.len());
    for item in items.drain(..) {
        let id =
            item.get(field).and_then(Value::as_u64).ok_or_else(|| bad("a list item without its identity"))?;
        order.push(id);
        by_id.insert(id, item);
    }
    let changes =
        patch.get("c").and_then(Value::as_array).ok_or_else(|| bad("a list patch without changes"))?;
    for change in changes {
        let pair = change
            .as_array()
            .filter(|pair| pair.len() == 2)
            .ok_or_else(|| bad("a list change is not [id, patch]"))?;
        let id = pair[0].as_u64().ok_or_else(|| bad("a list change's id is not a number"))?;
        match by_id.get_mut(&id) {
            Some(item) => apply(item, &pair[1])?,
            None => {
                let new = pair[1].get("=").ok_or_else(|| bad(format!("item {id} is new but not whole")))?;
                by_id.insert(id, new.clone());
            }
        }
    }
    if let Some(ids) = patch.get("ids") {
        let ids = ids.as_array().ok_or_else(|| bad("a list order that is not a list"))?;
        order = ids
            .iter()
            .map(|id| id.as_u64().ok_or_else(|| bad("an id that is not a number")))
            .collect::<Result<_, _>>()?;
    }
    for id in order {
        let item = by_id.remove(&id).ok_or_else(|| bad(format!("item {id} is listed but unknown")))?;
        items.push(item);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn round_trip(old: Value, new: Value) -> Value {
        let mut value = old.clone();
        if let Some(patch) = diff(&old, &new) {
            apply(&mut value, &patch).unwrap();
        }
        assert_eq!(value, new);
        diff(&old, &new).unwrap_or(Value::Null)
    }

    #[test]
    fn equal_values_make_no_patch() {
        let v = json!({"threads": [{"key": 1, "name": "a"}]});
        assert_eq!(diff(&v, &v), None);
    }

    #[test]
    fn a_changed_figure_costs_the_figure() {
        let old =
            json!({"threads": [{"key": 1, "name": "a", "cpu": 1.5}, {"key": 2, "name": "b", "cpu": 0.0}]});
        let new =
            json!({"threads": [{"key": 1, "name": "a", "cpu": 2.5}, {"key": 2, "name": "b", "cpu": 0.0}]});
        let patch = round_trip(old, new);
        assert_eq!(patch, json!({"o": {"threads": {"k": "key", "c": [[1, {"o": {"cpu": {"=": 2.5}}}]]}}}));
    }

    #[test]
    fn threads_that_come_go_and_move_are_followed_by_key() {
        let old = json!([{"key": 1, "n": "a"}, {"key": 2, "n": "b"}, {"key": 3, "n": "c"}]);
        let new = json!([{"key": 3, "n": "c"}, {"key": 4, "n": "d"}, {"key": 1, "n": "A"}]);
        let patch = round_trip(old, new);
        assert_eq!(patch["ids"], json!([3, 4, 1]));
    }

    #[test]
    fn fields_that_appear_and_vanish_and_lists_without_identity() {
        round_trip(json!({"a": 1, "b": [1, 2], "c": null}), json!({"a": 1, "b": [2], "d": {"x": 1}}));
        round_trip(json!([{"key": 1}, {"key": 1}]), json!([{"key": 1}]));
        round_trip(json!({"a": 1}), json!([1]));
    }

    #[test]
    fn patches_that_do_not_fit_are_errors() {
        let mut v = json!({"a": 1});
        assert!(apply(&mut v, &json!(7)).is_err());
        assert!(apply(&mut v, &json!({"o": {"b": {"o": {}}}})).is_err());
        assert!(apply(&mut v, &json!({"k": "key", "c": []})).is_err());
        let mut list = json!([{"key": 1}]);
        assert!(apply(&mut list, &json!({"k": "key", "c": [[2, {"o": {}}]]})).is_err());
        assert!(apply(&mut list, &json!({"k": "key", "c": [], "ids": [9]})).is_err());
        assert!(apply(&mut list, &json!({"k": "key", "c": [[1]]})).is_err());
    }
}
