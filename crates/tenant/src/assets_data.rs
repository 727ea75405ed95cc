//! The synthetic Assets workspace: two object schemas, five object types whose attributes
//! cover every reference kind (user, group, object, status) and plain values, and objects
//! spread over the types. Plain data from the config with integer arithmetic, like the rest of
//! the tenant; the wire shapes live in `assets.rs`.

use super::data::{uuid_like, Group, User};
use super::AssetsTenant;

/// The ground truth of the Assets workspace.
#[derive(Clone, Debug)]
pub struct AssetsData {
    pub workspace_id: String,
    /// `(id, key, name, description)`.
    pub schemas: Vec<(String, String, String, String)>,
    pub types: Vec<AssetsType>,
    /// In id order.
    pub objects: Vec<AssetsObject>,
    /// Objects per type id, counted once: every object type answer carries its count.
    type_counts: std::collections::BTreeMap<String, usize>,
}

impl AssetsData {
    /// How many objects are of the type with this id.
    pub fn objects_of_type(&self, type_id: &str) -> usize {
        self.type_counts.get(type_id).copied().unwrap_or(0)
    }
}

#[derive(Clone, Debug)]
pub struct AssetsType {
    pub id: String,
    pub schema_id: String,
    pub name: String,
    pub description: String,
    pub attributes: Vec<AssetsAttribute>,
}

#[derive(Clone, Debug)]
pub struct AssetsAttribute {
    pub id: String,
    pub name: String,
    pub kind: AttributeKind,
    /// The label attribute (`Name`) of the type.
    pub label: bool,
    pub system: bool,
}

/// REFERENCE §3.2's attribute `type` codes: 0 default (with a `defaultType`), 1 object
/// reference, 2 user, 4 group, 7 status.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AttributeKind {
    /// `(defaultType id, name)`: `(0, "Text")`, `(1, "Integer")`, `(6, "DateTime")`.
    Default(i64, &'static str),
    Object {
        type_id: String,
    },
    User,
    Group,
    Status,
}

impl AttributeKind {
    pub fn code(&self) -> i64 {
        match self {
            AttributeKind::Default(..) => 0,
            AttributeKind::Object { .. } => 1,
            AttributeKind::User => 2,
            AttributeKind::Group => 4,
            AttributeKind::Status => 7,
        }
    }
}

#[derive(Clone, Debug)]
pub struct AssetsObject {
    pub id: String,
    pub type_id: String,
    pub schema_id: String,
    pub key: String,
    pub label: String,
    pub created: String,
    pub updated: String,
    /// Attribute id and its values, in the type's attribute order; attributes without a value
    /// are left out, as Assets does.
    pub values: Vec<(String, Vec<Value>)>,
}

impl AssetsObject {
    /// The account ids of its user attributes, in order.
    pub fn users(&self) -> Vec<&str> {
        self.values
            .iter()
            .flat_map(|(_, values)| values)
            .filter_map(|v| match v {
                Value::User { account_id, .. } => Some(account_id.as_str()),
                _ => None,
            })
            .collect()
    }
}

#[derive(Clone, Debug)]
pub enum Value {
    Text(String),
    Integer(i64),
    User {
        account_id: String,
        display_name: String,
    },
    Group(String),
    /// Object id, key, label.
    Object(String, String, String),
    /// Status id.
    Status(&'static str),
}

/// `(id, name, category)`: category 0 inactive, 1 active, 2 pending (REFERENCE §3.1).
pub const STATUSES: [(&str, &str, i64); 3] = [
    ("1", "In use", 1),
    ("2", "In stock", 2),
    ("3", "Retired", 0),
];

const TAG_WORKSPACE: u64 = 40;

fn attribute(type_id: usize, position: usize, name: &str, kind: AttributeKind) -> AssetsAttribute {
    AssetsAttribute {
        id: (type_id * 10 + position).to_string(),
        name: name.to_string(),
        label: name == "Name",
        system: position < 4,
        kind,
    }
}

/// The type's attributes: the four system ones every Assets type has, then its own.
fn object_type(
    id: usize,
    schema: &str,
    name: &str,
    description: &str,
    own: Vec<(&str, AttributeKind)>,
) -> AssetsType {
    let text = AttributeKind::Default(0, "Text");
    let date = AttributeKind::Default(6, "DateTime");
    let system = [
        ("Key", text.clone()),
        ("Name", text),
        ("Created", date.clone()),
        ("Updated", date),
    ];
    AssetsType {
        id: id.to_string(),
        schema_id: schema.to_string(),
        name: name.to_string(),
        description: description.to_string(),
        attributes: system
            .into_iter()
            .chain(own)
            .enumerate()
            .map(|(position, (name, kind))| attribute(id, position, name, kind))
            .collect(),
    }
}

fn types() -> Vec<AssetsType> {
    use AttributeKind::*;
    vec![
        object_type(
            1,
            "1",
            "Laptop",
            "Company laptops",
            vec![
                ("Serial number", Default(0, "Text")),
                ("Owner", User),
                ("Status", Status),
            ],
        ),
        object_type(
            2,
            "1",
            "Server",
            "Servers in the data centres",
            vec![
                ("Hostname", Default(0, "Text")),
                ("RAM GB", Default(1, "Integer")),
                ("Admins", Group),
                ("Owner", User),
                ("Status", Status),
            ],
        ),
        object_type(
            3,
            "1",
            "Application",
            "Business applications",
            vec![
                ("Owner", User),
                (
                    "Runs on",
                    Object {
                        type_id: "2".into(),
                    },
                ),
                ("Team", Group),
                ("Status", Status),
            ],
        ),
        object_type(
            4,
            "2",
            "Building",
            "Offices",
            vec![
                ("Address", Default(0, "Text")),
                ("Facilities manager", User),
            ],
        ),
        object_type(
            5,
            "2",
            "Desk",
            "Bookable desks",
            vec![
                (
                    "Building",
                    Object {
                        type_id: "4".into(),
                    },
                ),
                ("Assignee", User),
                ("Status", Status),
            ],
        ),
    ]
}

/// A fixed time for object `i`, spread over 2025.
fn time(i: usize, hours_later: usize) -> String {
    let hour = (i % 24 + hours_later) % 24;
    format!(
        "2025-{:02}-{:02}T{hour:02}:00:00.000Z",
        1 + (i / 28) % 12,
        1 + i % 28
    )
}

pub(super) fn generate(config: &AssetsTenant, users: &[User], groups: &[Group]) -> AssetsData {
    let schemas = vec![
        (
            "1".to_string(),
            "ITAM".to_string(),
            "IT Assets".to_string(),
            "Hardware and software".to_string(),
        ),
        (
            "2".to_string(),
            "FAC".to_string(),
            "Facilities".to_string(),
            "Buildings and desks".to_string(),
        ),
    ];
    let types = types();
    let people: Vec<&User> = users
        .iter()
        .filter(|u| u.account_type == "atlassian" && u.active)
        .collect();
    // Round-robin over the types: object `i` has id `i + 1` and type `i % 5 + 1`.
    let of_type = |type_index: usize| -> Vec<usize> {
        (0..config.objects)
            .filter(|i| i % types.len() == type_index)
            .collect()
    };
    let targets: Vec<Vec<usize>> = (0..types.len()).map(of_type).collect();
    let mut objects = Vec::with_capacity(config.objects);
    for i in 0..config.objects {
        let t = &types[i % types.len()];
        let schema_key = if t.schema_id == "1" { "ITAM" } else { "FAC" };
        let label = format!("{}-{:04}", t.name.to_lowercase(), i + 1);
        let mut values = Vec::new();
        for (n, attribute) in t.attributes.iter().enumerate() {
            let value = match (&attribute.kind, attribute.name.as_str()) {
                (_, "Key") => vec![Value::Text(format!("{schema_key}-{}", i + 1))],
                (_, "Name") => vec![Value::Text(label.clone())],
                (_, "Created") => vec![Value::Text(time(i, 0))],
                (_, "Updated") => vec![Value::Text(time(i, 5))],
                (AttributeKind::Default(1, _), _) => vec![Value::Integer(8 << (i % 5))],
                (AttributeKind::Default(..), _) => {
                    vec![Value::Text(format!("{}-{}", attribute.name, i + 1))]
                }
                // Every seventh object has nobody assigned.
                (AttributeKind::User, _) if i % 7 == 6 || people.is_empty() => Vec::new(),
                (AttributeKind::User, _) => {
                    let person = people[(i + n) % people.len()];
                    vec![Value::User {
                        account_id: person.account_id.clone(),
                        display_name: person.display_name.clone(),
                    }]
                }
                (AttributeKind::Group, _) => groups
                    .get((i + n) % groups.len().max(1))
                    .map(|g| vec![Value::Group(g.name.clone())])
                    .unwrap_or_default(),
                (AttributeKind::Object { type_id }, _) => {
                    let pool = type_id
                        .parse::<usize>()
                        .ok()
                        .and_then(|id| targets.get(id - 1))
                        .map(Vec::as_slice)
                        .unwrap_or_default();
                    // Applications run on one or two servers.
                    let count = if t.name == "Application" {
                        1 + i % 2
                    } else {
                        1
                    };
                    (0..count.min(pool.len()))
                        .map(|k| {
                            let target = pool[(i + k) % pool.len()];
                            let target_type = &types[target % types.len()];
                            let key = if target_type.schema_id == "1" {
                                "ITAM"
                            } else {
                                "FAC"
                            };
                            Value::Object(
                                (target + 1).to_string(),
                                format!("{key}-{}", target + 1),
                                format!("{}-{:04}", target_type.name.to_lowercase(), target + 1),
                            )
                        })
                        .collect()
                }
                (AttributeKind::Status, _) => vec![Value::Status(STATUSES[i % 3].0)],
            };
            if !value.is_empty() {
                values.push((attribute.id.clone(), value));
            }
        }
        objects.push(AssetsObject {
            id: (i + 1).to_string(),
            type_id: t.id.clone(),
            schema_id: t.schema_id.clone(),
            key: format!("{schema_key}-{}", i + 1),
            label,
            created: time(i, 0),
            updated: time(i, 5),
            values,
        });
    }
    let mut type_counts = std::collections::BTreeMap::new();
    for object in &objects {
        *type_counts.entry(object.type_id.clone()).or_insert(0) += 1;
    }
    AssetsData {
        workspace_id: uuid_like(TAG_WORKSPACE, 0),
        schemas,
        types,
        objects,
        type_counts,
    }
}
