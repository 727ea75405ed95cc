//! Lenient reading of the undocumented admin settings endpoints: the Universal Plugin Manager's
//! `/rest/plugins/1.0/settings` (Jira and Confluence, REFERENCE §4.2) and Jira's global mail
//! settings. No Atlassian spec describes their bodies, so nothing here assumes a field exists:
//! a `settings` list of `{key, value}` items is read as such, every other top-level key becomes
//! one key/value setting, and an unreadable item is skipped, never a failed request.

use serde_json::Value;

use crate::record::{Namespace, Setting};

/// Top-level keys that are navigation, not settings.
const LINK_KEYS: [&str; 3] = ["links", "_links", "self"];

/// Every setting in `body`, as records of `source`.
pub(crate) fn key_values(ns: &Namespace, source: &str, body: &Value) -> Vec<Setting> {
    let mut out = Vec::new();
    let listed = match body {
        Value::Array(items) => Some(items.as_slice()),
        Value::Object(map) => map
            .get("settings")
            .and_then(Value::as_array)
            .map(Vec::as_slice),
        _ => None,
    };
    for item in listed.unwrap_or_default() {
        let Some(key) = item.get("key").and_then(Value::as_str) else {
            continue;
        };
        let text = |field: &str| item.get(field).and_then(Value::as_str).map(str::to_string);
        let value = item.get("value").unwrap_or(&Value::Null);
        out.push(Setting {
            name: text("name").or_else(|| text("displayName")),
            description: text("description"),
            ..setting(ns, source, key, value)
        });
    }
    if let Value::Object(map) = body {
        for (key, value) in map {
            if (key == "settings" && listed.is_some()) || LINK_KEYS.contains(&key.as_str()) {
                continue;
            }
            out.push(setting(ns, source, key, value));
        }
    }
    out
}

fn setting(ns: &Namespace, source: &str, key: &str, value: &Value) -> Setting {
    let (value, value_type) = match value {
        Value::Null => (None, None),
        Value::Bool(b) => (Some(b.to_string()), Some("boolean")),
        Value::Number(n) => (Some(n.to_string()), Some("number")),
        Value::String(s) => (Some(s.clone()), Some("string")),
        other => (Some(other.to_string()), Some("json")),
    };
    Setting {
        id: ns.setting(source, key),
        site: ns.site().to_string(),
        source: source.to_string(),
        key: key.to_string(),
        name: None,
        value,
        default_value: None,
        value_type: value_type.map(str::to_string),
        description: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ns() -> Namespace {
        Namespace::new("acme.atlassian.net")
    }

    #[test]
    fn a_settings_list_and_loose_keys_both_become_settings() {
        let body = json!({
            "settings": [
                {"key": "pacDisabled", "value": false, "name": "Connect to the Marketplace"},
                {"value": true},
                {"key": "autoUpdateEnabled", "value": true, "readOnly": false}
            ],
            "links": {"self": "/rest/plugins/1.0/settings"},
            "safeMode": false
        });
        let settings = key_values(&ns(), "confluence.upm", &body);
        let keys: Vec<&str> = settings.iter().map(|s| s.key.as_str()).collect();
        assert_eq!(keys, ["pacDisabled", "autoUpdateEnabled", "safeMode"]);
        assert_eq!(settings[0].value.as_deref(), Some("false"));
        assert_eq!(settings[0].value_type.as_deref(), Some("boolean"));
        assert_eq!(
            settings[0].name.as_deref(),
            Some("Connect to the Marketplace")
        );
        assert_eq!(
            settings[0].id,
            "acme.atlassian.net/setting/confluence.upm/pacDisabled"
        );
    }

    #[test]
    fn a_flat_object_is_read_key_by_key() {
        let body = json!({"outgoingMailEnabled": true, "prefix": "[JIRA]", "limits": {"a": 1}});
        let settings = key_values(&ns(), "jira.mail", &body);
        assert_eq!(settings.len(), 3);
        assert_eq!(settings[2].value.as_deref(), Some(r#"{"a":1}"#));
        assert_eq!(settings[2].value_type.as_deref(), Some("json"));
        assert!(key_values(&ns(), "jira.mail", &json!("odd")).is_empty());
    }
}
