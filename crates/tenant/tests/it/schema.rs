//! A small validator for the OpenAPI 3.0 schema subset Atlassian's specs use: `$ref` into
//! `#/components/schemas`, `type`, `nullable`, `enum`, `properties`, `required`,
//! `additionalProperties` (absent/true, false, or a schema), `items`, `allOf`/`oneOf`/`anyOf`,
//! `maxLength` and `uniqueItems`. `format`, `readOnly`, `writeOnly`, `xml`, `default` and
//! descriptions are ignored. Test-only: it checks the simulated tenant against the official spec.

use serde_json::Value;

const SCHEMA_PREFIX: &str = "#/components/schemas/";

/// Every way `value` violates `schema`, as `<json path>: <problem>` lines; empty when it
/// conforms.
pub fn validate(spec: &Value, schema: &Value, value: &Value) -> Vec<String> {
    let mut out = Vec::new();
    check(spec, schema, value, "$", &mut out);
    out
}

/// Resolves `name` to the schema `#/components/schemas/<name>` in `spec`.
pub fn component<'a>(spec: &'a Value, name: &str) -> Option<&'a Value> {
    spec.pointer(&format!("/components/schemas/{name}"))
}

fn check(spec: &Value, schema: &Value, value: &Value, path: &str, out: &mut Vec<String>) {
    let Some(schema) = schema.as_object() else {
        // `true`/`{}`-like schemas accept anything.
        return;
    };
    if let Some(reference) = schema.get("$ref").and_then(Value::as_str) {
        match reference
            .strip_prefix(SCHEMA_PREFIX)
            .and_then(|name| component(spec, name))
        {
            Some(target) => check(spec, target, value, path, out),
            None => out.push(format!("{path}: unresolvable $ref {reference}")),
        }
        return;
    }
    if value.is_null() {
        if schema.get("nullable") != Some(&Value::Bool(true)) && schema.contains_key("type") {
            out.push(format!("{path}: null where the schema is not nullable"));
        }
        return;
    }
    if let Some(all) = schema.get("allOf").and_then(Value::as_array) {
        for sub in all {
            check(spec, sub, value, path, out);
        }
    }
    if let Some(any) = schema.get("anyOf").and_then(Value::as_array) {
        if !any
            .iter()
            .any(|sub| validate_at(spec, sub, value, path).is_empty())
        {
            out.push(format!("{path}: matches none of anyOf"));
        }
    }
    if let Some(one) = schema.get("oneOf").and_then(Value::as_array) {
        let matching = one
            .iter()
            .filter(|sub| validate_at(spec, sub, value, path).is_empty())
            .count();
        if matching != 1 {
            out.push(format!(
                "{path}: matches {matching} of oneOf, expected exactly 1"
            ));
        }
    }
    if let Some(kind) = schema.get("type").and_then(Value::as_str) {
        if !has_type(value, kind) {
            out.push(format!("{path}: expected {kind}, got {}", type_of(value)));
            return;
        }
    }
    if let Some(allowed) = schema.get("enum").and_then(Value::as_array) {
        if !allowed.contains(value) {
            out.push(format!(
                "{path}: {value} is not one of {}",
                Value::from(allowed.clone())
            ));
        }
    }
    if let (Some(max), Some(text)) = (
        schema.get("maxLength").and_then(Value::as_u64),
        value.as_str(),
    ) {
        if text.chars().count() as u64 > max {
            out.push(format!("{path}: longer than maxLength {max}"));
        }
    }
    if let Some(object) = value.as_object() {
        check_object(spec, schema, object, path, out);
    }
    if let Some(items) = value.as_array() {
        check_array(spec, schema, items, path, out);
    }
}

fn validate_at(spec: &Value, schema: &Value, value: &Value, path: &str) -> Vec<String> {
    let mut out = Vec::new();
    check(spec, schema, value, path, &mut out);
    out
}

fn check_object(
    spec: &Value,
    schema: &serde_json::Map<String, Value>,
    object: &serde_json::Map<String, Value>,
    path: &str,
    out: &mut Vec<String>,
) {
    let properties = schema.get("properties").and_then(Value::as_object);
    for name in schema
        .get("required")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
    {
        if !object.contains_key(name) {
            out.push(format!("{path}: missing required property {name:?}"));
        }
    }
    for (name, item) in object {
        let item_path = format!("{path}.{name}");
        match properties.and_then(|p| p.get(name)) {
            Some(property) => check(spec, property, item, &item_path, out),
            None => match schema.get("additionalProperties") {
                Some(Value::Bool(false)) => {
                    out.push(format!("{item_path}: property not declared by the schema"))
                }
                Some(extra @ Value::Object(_)) => check(spec, extra, item, &item_path, out),
                _ => {}
            },
        }
    }
}

fn check_array(
    spec: &Value,
    schema: &serde_json::Map<String, Value>,
    items: &[Value],
    path: &str,
    out: &mut Vec<String>,
) {
    if let Some(item_schema) = schema.get("items") {
        for (i, item) in items.iter().enumerate() {
            check(spec, item_schema, item, &format!("{path}[{i}]"), out);
        }
    }
    if schema.get("uniqueItems") == Some(&Value::Bool(true)) {
        for (i, item) in items.iter().enumerate() {
            if items[..i].contains(item) {
                out.push(format!("{path}[{i}]: duplicate in a uniqueItems array"));
            }
        }
    }
}

fn has_type(value: &Value, kind: &str) -> bool {
    match kind {
        "object" => value.is_object(),
        "array" => value.is_array(),
        "string" => value.is_string(),
        "boolean" => value.is_boolean(),
        "integer" => value.is_i64() || value.is_u64(),
        "number" => value.is_number(),
        _ => false,
    }
}

fn type_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_f64() => "number",
        Value::Number(_) => "integer",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn spec() -> Value {
        json!({"components": {"schemas": {
            "Page": {
                "type": "object",
                "additionalProperties": false,
                "required": ["values"],
                "properties": {
                    "isLast": {"type": "boolean"},
                    "values": {"type": "array", "items": {"$ref": "#/components/schemas/Item"}}
                }
            },
            "Item": {
                "type": "object",
                "additionalProperties": false,
                "properties": {
                    "id": {"type": "integer", "format": "int64"},
                    "kind": {"type": "string", "enum": ["a", "b"]},
                    "groupId": {"type": "string", "nullable": true, "maxLength": 5},
                    "owner": {"allOf": [{"$ref": "#/components/schemas/Owner"}], "readOnly": true},
                    "labels": {"type": "object", "additionalProperties": {"type": "string"}},
                    "tags": {"type": "array", "uniqueItems": true, "items": {"type": "string"}}
                }
            },
            "Owner": {
                "type": "object",
                "properties": {"name": {"type": "string"}},
                "required": ["name"]
            },
            "Either": {"oneOf": [{"type": "string"}, {"type": "integer"}]},
            "Any": {"anyOf": [{"type": "string"}, {"type": "boolean"}]}
        }}})
    }

    fn check_ref(name: &str, value: Value) -> Vec<String> {
        let spec = spec();
        let schema = json!({"$ref": format!("#/components/schemas/{name}")});
        validate(&spec, &schema, &value)
    }

    #[test]
    fn a_conforming_document_passes() {
        let doc = json!({"isLast": true, "values": [
            {"id": 1, "kind": "a", "groupId": null, "owner": {"name": "x", "extra": 1},
             "labels": {"k": "v"}, "tags": ["x", "y"]},
            {}
        ]});
        assert_eq!(check_ref("Page", doc), Vec::<String>::new());
    }

    #[test]
    fn violations_name_the_json_path() {
        let doc = json!({"isLast": "yes", "extra": 1, "values": [
            {"id": 1.5, "kind": "c", "groupId": "toolong", "owner": {}, "labels": {"k": 1},
             "tags": ["x", "x"], "undeclared": true}
        ]});
        let errors = check_ref("Page", doc);
        let expected = [
            "$.isLast: expected boolean, got string",
            "$.extra: property not declared by the schema",
            "$.values[0].id: expected integer, got number",
            "$.values[0].kind: \"c\" is not one of [\"a\",\"b\"]",
            "$.values[0].groupId: longer than maxLength 5",
            "$.values[0].owner: missing required property \"name\"",
            "$.values[0].labels.k: expected string, got integer",
            "$.values[0].tags[1]: duplicate in a uniqueItems array",
            "$.values[0].undeclared: property not declared by the schema",
        ];
        for line in expected {
            assert!(
                errors.iter().any(|e| e == line),
                "{line} not in {errors:#?}"
            );
        }
        assert_eq!(errors.len(), expected.len(), "{errors:#?}");
    }

    #[test]
    fn missing_required_and_null_are_reported() {
        assert_eq!(
            check_ref("Page", json!({})),
            ["$: missing required property \"values\""]
        );
        assert_eq!(
            check_ref("Page", json!({"values": null})),
            ["$.values: null where the schema is not nullable"]
        );
    }

    #[test]
    fn one_of_and_any_of() {
        assert!(check_ref("Either", json!("s")).is_empty());
        assert_eq!(
            check_ref("Either", json!(true)),
            ["$: matches 0 of oneOf, expected exactly 1"]
        );
        assert!(check_ref("Any", json!(false)).is_empty());
        assert_eq!(check_ref("Any", json!(3)), ["$: matches none of anyOf"]);
    }

    #[test]
    fn unresolvable_references_are_violations() {
        assert_eq!(
            check_ref("Nope", json!({})),
            ["$: unresolvable $ref #/components/schemas/Nope"]
        );
    }
}
