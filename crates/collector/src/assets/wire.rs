//! The Assets REST API's wire shapes and their conversion to records.
//!
//! No spec copy of the Assets API exists (see the shared specs README): every shape here is
//! REFERENCE §3, which takes it from jira.js (`src/assets/**`, generated from the official spec
//! and audited against a live site) and go-atlassian (`pkg/infra/models/assets_*.go`). The
//! workspace discovery shape is the JSM spec's `PagedDTOAssetsWorkspaceDTO` (REFERENCE §2).
//! Every field is optional: Atlassian adds, omits and renames fields, and a missing one must
//! never lose the object.

use std::collections::HashMap;

use serde::{Deserialize, Deserializer};
use serde_json::{json, Map, Value};

use crate::record::{Namespace, Resource};

/// `AssetsWorkspaceDTO` (JSM spec).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Workspace {
    pub workspace_id: Option<String>,
}

/// Assets ids are strings in REFERENCE §3 (`"id": "88"`); numbers are accepted too.
fn lenient_id<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    Ok(match Option::<Value>::deserialize(deserializer)? {
        Some(Value::String(id)) => Some(id),
        Some(Value::Number(id)) => Some(id.to_string()),
        _ => None,
    })
}

/// `ObjectSchema` (go-atlassian `ObjectSchemaScheme`), an item of `GET …/objectschema/list`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Schema {
    #[serde(default, deserialize_with = "lenient_id")]
    pub id: Option<String>,
    pub name: Option<String>,
    pub object_schema_key: Option<String>,
    pub description: Option<String>,
    pub status: Option<String>,
    pub created: Option<String>,
    pub updated: Option<String>,
}

impl Schema {
    pub(super) fn record(&self, ns: &Namespace, workspace_id: &str, id: &str) -> Resource {
        Resource {
            id: ns.assets(workspace_id, "schema", id),
            site: ns.site().to_string(),
            resource_type: "assets_schema".to_string(),
            resource_id: id.to_string(),
            key: self.object_schema_key.clone(),
            name: self.name.clone(),
            description: self.description.clone(),
            status: self.status.clone(),
            workspace_id: Some(workspace_id.to_string()),
            schema_id: Some(id.to_string()),
            created: self.created.clone(),
            updated: self.updated.clone(),
            ..Resource::default()
        }
    }
}

/// `ObjectType` (REFERENCE §3.1): items of `GET …/objectschema/{id}/objecttypes/flat`, and the
/// `objectType` of an object.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct ObjectType {
    #[serde(default, deserialize_with = "lenient_id")]
    pub id: Option<String>,
    pub name: Option<String>,
    pub description: Option<String>,
    #[serde(default, deserialize_with = "lenient_id")]
    pub object_schema_id: Option<String>,
    pub created: Option<String>,
    pub updated: Option<String>,
    /// Abstract types hold no objects of their own.
    #[serde(default)]
    pub abstract_object_type: bool,
}

impl ObjectType {
    pub(super) fn record(
        &self,
        ns: &Namespace,
        workspace_id: &str,
        schema_id: &str,
        id: &str,
    ) -> Resource {
        Resource {
            id: ns.assets(workspace_id, "object-type", id),
            site: ns.site().to_string(),
            resource_type: "assets_object_type".to_string(),
            resource_id: id.to_string(),
            name: self.name.clone(),
            description: self.description.clone(),
            workspace_id: Some(workspace_id.to_string()),
            schema_id: Some(schema_id.to_string()),
            object_type_id: Some(id.to_string()),
            object_type: self.name.clone(),
            created: self.created.clone(),
            updated: self.updated.clone(),
            ..Resource::default()
        }
    }
}

/// `ObjectTypeAttribute` (REFERENCE §3.2): what an attribute of a type is called and holds.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct TypeAttribute {
    #[serde(default, deserialize_with = "lenient_id")]
    pub id: Option<String>,
    pub name: Option<String>,
    /// 0 default (see `defaultType`), 1 object reference, 2 user, 4 group, 7 status.
    #[serde(rename = "type")]
    pub kind: Option<i64>,
    pub default_type: Option<DefaultType>,
}

/// `defaultType` of a default attribute: `{id, name}` with names such as `Text`, `Integer`,
/// `DateTime`.
#[derive(Clone, Debug, Deserialize)]
pub(super) struct DefaultType {
    pub name: Option<String>,
}

impl TypeAttribute {
    /// The attribute's type as the record names it.
    pub(super) fn type_name(&self) -> String {
        match self.kind {
            Some(1) => "object".to_string(),
            Some(2) => "user".to_string(),
            Some(4) => "group".to_string(),
            Some(7) => "status".to_string(),
            _ => self
                .default_type
                .as_ref()
                .and_then(|t| t.name.as_deref())
                .map_or_else(|| "default".to_string(), str::to_lowercase),
        }
    }
}

/// An object type with its attributes by id: what its objects are read with.
#[derive(Debug)]
pub(super) struct TypeInfo {
    pub workspace_id: String,
    pub schema_id: String,
    pub type_id: String,
    pub name: Option<String>,
    pub attributes: HashMap<String, TypeAttribute>,
}

/// `AssetObject` (REFERENCE §3.1); the same shape in the older lists' `objectEntries`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct AssetObject {
    #[serde(default, deserialize_with = "lenient_id")]
    pub id: Option<String>,
    pub label: Option<String>,
    pub object_key: Option<String>,
    pub created: Option<String>,
    pub updated: Option<String>,
    #[serde(default)]
    pub attributes: Vec<ObjectAttribute>,
}

/// `ObjectAttribute`: the values of one attribute of an object.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct ObjectAttribute {
    #[serde(default, deserialize_with = "lenient_id")]
    pub object_type_attribute_id: Option<String>,
    /// Sent by some endpoints; the type's attribute list is used when it is absent.
    pub object_type_attribute: Option<TypeAttribute>,
    #[serde(default)]
    pub object_attribute_values: Vec<AttributeValue>,
}

/// One value: `value`, `displayValue` and, by attribute type, the referenced object, user,
/// group or status.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct AttributeValue {
    pub value: Option<Value>,
    pub display_value: Option<String>,
    pub referenced_object: Option<Reference>,
    pub user: Option<AssetsUser>,
    pub group: Option<AssetsGroup>,
    pub status: Option<Status>,
}

#[derive(Debug, Deserialize)]
pub(super) struct Reference {
    #[serde(default, deserialize_with = "lenient_id")]
    pub id: Option<String>,
}

/// The user of a user attribute. On Cloud its `key` is the account id (and so is `value`).
#[derive(Debug, Deserialize)]
pub(super) struct AssetsUser {
    pub key: Option<String>,
}

/// A group attribute names the group only: Assets sends no group id.
#[derive(Debug, Deserialize)]
pub(super) struct AssetsGroup {
    pub name: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(super) struct Status {
    #[serde(default, deserialize_with = "lenient_id")]
    pub id: Option<String>,
    pub name: Option<String>,
}

fn text(value: &Option<Value>) -> Option<String> {
    match value {
        Some(Value::String(text)) => Some(text.clone()),
        Some(Value::Null) | None => None,
        Some(other) => Some(other.to_string()),
    }
}

impl AssetObject {
    /// The object's `resource` record, its attribute values named and typed through `info`;
    /// `None` without an id.
    pub(super) fn record(&self, ns: &Namespace, info: &TypeInfo) -> Option<Resource> {
        let id = self.id.as_deref()?;
        let workspace = info.workspace_id.as_str();
        let mut attributes = Map::new();
        let mut owner = None;
        let mut status = None;
        for attribute in &self.attributes {
            let definition = attribute.object_type_attribute.as_ref().or_else(|| {
                let id = attribute.object_type_attribute_id.as_deref()?;
                info.attributes.get(id)
            });
            let (name, kind) = match definition {
                Some(def) => (
                    def.name
                        .clone()
                        .or_else(|| attribute.object_type_attribute_id.clone()),
                    def.type_name(),
                ),
                None => (
                    attribute.object_type_attribute_id.clone(),
                    "default".to_string(),
                ),
            };
            let Some(name) = name else { continue };
            let mut values = Vec::new();
            for value in &attribute.object_attribute_values {
                let raw = text(&value.value);
                let mut entry = json!({ "value": value.value, "display": value.display_value });
                let link = match kind.as_str() {
                    // Cloud user attributes hold the account id, so the value links to the
                    // `user` record of the same account.
                    "user" => raw
                        .or_else(|| value.user.as_ref().and_then(|u| u.key.clone()))
                        .map(|account| {
                            owner.get_or_insert_with(|| account.clone());
                            ("user_id", ns.user(&account))
                        }),
                    "group" => value
                        .group
                        .as_ref()
                        .and_then(|g| g.name.clone())
                        .or(raw)
                        .map(|name| ("group_name", name)),
                    "object" => value
                        .referenced_object
                        .as_ref()
                        .and_then(|o| o.id.clone())
                        .or(raw)
                        .map(|object| ("object_id", ns.assets(workspace, "object", &object))),
                    "status" => {
                        let found = value.status.as_ref();
                        if status.is_none() {
                            status = found
                                .and_then(|s| s.name.clone())
                                .or_else(|| value.display_value.clone());
                        }
                        found
                            .and_then(|s| s.id.clone())
                            .or(raw)
                            .map(|id| ("status_id", id))
                    }
                    _ => None,
                };
                if let (Some((field, link)), Some(fields)) = (link, entry.as_object_mut()) {
                    fields.insert(field.to_string(), Value::String(link));
                }
                values.push(entry);
            }
            attributes.insert(name, json!({ "type": kind, "values": values }));
        }
        Some(Resource {
            id: ns.assets(workspace, "object", id),
            site: ns.site().to_string(),
            resource_type: "assets_object".to_string(),
            resource_id: id.to_string(),
            key: self.object_key.clone(),
            name: self.label.clone(),
            status,
            workspace_id: Some(workspace.to_string()),
            schema_id: Some(info.schema_id.clone()),
            object_type_id: Some(info.type_id.clone()),
            object_type: info.name.clone(),
            created: self.created.clone(),
            updated: self.updated.clone(),
            owner_account_id: owner,
            attributes: Some(Value::Object(attributes)),
            ..Resource::default()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ns() -> Namespace {
        Namespace::new("acme.atlassian.net")
    }

    fn info() -> TypeInfo {
        let attributes: Vec<TypeAttribute> = serde_json::from_str(
            r#"[
              {"workspaceId":"ws","globalId":"ws:1","id":"1","name":"Key","label":false,"type":0,
               "defaultType":{"id":0,"name":"Text"},"editable":false,"system":true,"position":0},
              {"workspaceId":"ws","id":"2","name":"Name","label":true,"type":0,
               "defaultType":{"id":0,"name":"Text"},"position":1},
              {"workspaceId":"ws","id":"5","name":"Owner","label":false,"type":2,"position":4},
              {"workspaceId":"ws","id":"6","name":"Admins","type":4,"position":5},
              {"workspaceId":"ws","id":"7","name":"Runs on","type":1,"referenceObjectTypeId":"2"},
              {"workspaceId":"ws","id":"8","name":"Status","type":7}
            ]"#,
        )
        .unwrap();
        TypeInfo {
            workspace_id: "ws".into(),
            schema_id: "1".into(),
            type_id: "3".into(),
            name: Some("Application".into()),
            attributes: attributes
                .into_iter()
                .map(|a| (a.id.clone().unwrap(), a))
                .collect(),
        }
    }

    /// An `AssetObject` shaped as REFERENCE §3.1 lists it, with a field we ignore (`avatar`).
    const OBJECT: &str = r#"{
      "workspaceId":"ws","globalId":"ws:88","id":"88","label":"Payroll","objectKey":"ITAM-88",
      "avatar":{"workspaceId":"ws","url16":"https://x/icon.png?size=16","objectId":"88"},
      "objectType":{"workspaceId":"ws","id":"3","name":"Application","objectSchemaId":"1"},
      "created":"2026-01-05T10:00:00.000Z","updated":"2026-02-01T08:30:00.000Z",
      "hasAvatar":false,"timestamp":1767607200000,"_links":{"self":"https://x/object/88"},
      "attributes":[
        {"workspaceId":"ws","id":"900","objectTypeAttributeId":"2",
         "objectAttributeValues":[{"value":"Payroll","displayValue":"Payroll","searchValue":"Payroll"}]},
        {"workspaceId":"ws","objectTypeAttributeId":"5","objectAttributeValues":[
          {"value":"712020:aaaa","displayValue":"Mia Krystof",
           "user":{"displayName":"Mia Krystof","key":"712020:aaaa","name":"712020:aaaa"}}]},
        {"workspaceId":"ws","objectTypeAttributeId":"6","objectAttributeValues":[
          {"value":"site-admins","displayValue":"site-admins","group":{"name":"site-admins"}}]},
        {"workspaceId":"ws","objectTypeAttributeId":"7","objectAttributeValues":[
          {"displayValue":"srv-01","referencedObject":{"id":"12","objectKey":"ITAM-12","label":"srv-01"}},
          {"displayValue":"srv-02","referencedObject":{"id":14,"label":"srv-02"}}]},
        {"workspaceId":"ws","objectTypeAttributeId":"8","objectAttributeValues":[
          {"value":"3","displayValue":"In use","status":{"id":"3","name":"In use","category":1}}]},
        {"workspaceId":"ws","objectTypeAttributeId":"99","objectAttributeValues":[{"value":"x"}]}
      ]}"#;

    #[test]
    fn an_object_becomes_a_resource_with_named_typed_attributes() {
        let object: AssetObject = serde_json::from_str(OBJECT).unwrap();
        let record = object.record(&ns(), &info()).unwrap();
        assert_eq!(record.id, "acme.atlassian.net/assets/ws/object/88");
        assert_eq!(record.resource_type, "assets_object");
        assert_eq!(record.key.as_deref(), Some("ITAM-88"));
        assert_eq!(record.name.as_deref(), Some("Payroll"));
        assert_eq!(record.object_type.as_deref(), Some("Application"));
        assert_eq!(record.schema_id.as_deref(), Some("1"));
        assert_eq!(record.status.as_deref(), Some("In use"));
        assert_eq!(record.owner_account_id.as_deref(), Some("712020:aaaa"));
        let attributes = record.attributes.unwrap();
        assert_eq!(attributes["Name"]["type"], "text");
        assert_eq!(attributes["Owner"]["type"], "user");
        assert_eq!(
            attributes["Owner"]["values"][0]["user_id"],
            "acme.atlassian.net/user/712020:aaaa"
        );
        assert_eq!(
            attributes["Admins"]["values"][0]["group_name"],
            "site-admins"
        );
        assert_eq!(
            attributes["Runs on"]["values"][1]["object_id"],
            "acme.atlassian.net/assets/ws/object/14"
        );
        assert_eq!(attributes["Status"]["values"][0]["status_id"], "3");
        // An attribute the type does not list is kept under its id.
        assert_eq!(attributes["99"]["type"], "default");
    }

    #[test]
    fn an_object_without_id_or_attributes_is_handled() {
        let object: AssetObject = serde_json::from_str(r#"{"label":"x"}"#).unwrap();
        assert!(object.record(&ns(), &info()).is_none());
        let object: AssetObject = serde_json::from_str(r#"{"id":"1"}"#).unwrap();
        let record = object.record(&ns(), &info()).unwrap();
        assert_eq!(record.owner_account_id, None);
        assert_eq!(record.attributes, Some(json!({})));
    }
}
