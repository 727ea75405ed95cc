//! The synthetic Confluence side of the site: spaces (global and personal, one open to anonymous
//! users, one archived) with their permission assignments, site permissions, the audit log and
//! the admin settings. Groups and accounts are the Jira dataset's: a site has one directory.
//!
//! Plain data from integer arithmetic only, like `data.rs`. Audit records carry an offset in
//! minutes before the tenant started, not a time, so the data stays deterministic while
//! `--since 24h` still finds recent events.

use super::data::{Group, User};
use super::ConfluenceTenant;

#[derive(Clone, Debug)]
pub struct ConfluenceData {
    /// In `/wiki/api/v2/spaces` order (by id).
    pub spaces: Vec<Space>,
    pub site_permissions: Vec<SiteGrant>,
    /// Newest first, as `/wiki/rest/api/audit` returns them.
    pub audit: Vec<AuditEntry>,
    /// `RetentionPeriod`: number and units.
    pub retention: (i64, &'static str),
    /// UPM settings: key, display name, value.
    pub upm_settings: Vec<(&'static str, &'static str, bool)>,
    /// Jira's global mail settings: key, value (shape not in any spec).
    pub jira_mail_settings: Vec<(&'static str, serde_json::Value)>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Space {
    /// Numeric, as a string on the wire.
    pub id: String,
    pub key: String,
    pub name: String,
    /// `global` or `personal`.
    pub space_type: &'static str,
    /// `current` or `archived`.
    pub status: &'static str,
    pub author_id: String,
    pub description: String,
    pub permissions: Vec<SpaceGrant>,
}

impl Space {
    /// Anonymous users may read the space.
    pub fn anonymous(&self) -> bool {
        self.permissions
            .iter()
            .any(|g| g.principal_id == ANONYMOUS && g.operation == "read")
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SpaceGrant {
    pub id: String,
    /// `user`, `group` or `role` (the v2 spec's enum).
    pub principal_type: &'static str,
    pub principal_id: String,
    pub operation: &'static str,
    pub target_type: &'static str,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SiteGrant {
    pub principal_type: &'static str,
    pub principal_id: String,
    pub display_name: String,
    /// `(operation, targetType)` pairs.
    pub operations: Vec<(&'static str, &'static str)>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditEntry {
    /// Minutes before the tenant started.
    pub minutes_ago: i64,
    pub author_account_id: String,
    pub author_name: String,
    pub remote_address: String,
    pub summary: &'static str,
    pub description: String,
    pub category: &'static str,
    pub object_name: String,
    pub object_type: &'static str,
}

/// The access-class ids the v2 spec names for anonymous and licensed users; served as `role`
/// principals, since the `/spaces/{id}/permissions` enum has no type of their own.
pub const ANONYMOUS: &str = "anonymous-users";
pub const ALL_LICENSED: &str = "all-licensed-users";

const SPACE_NAMES: [(&str, &str); 8] = [
    ("ENG", "Engineering"),
    ("DOCS", "Public Documentation"),
    ("HR", "People Handbook"),
    ("OLD", "Old Intranet"),
    ("SEC", "Security"),
    ("SUP", "Support Knowledge Base"),
    ("MKT", "Marketing"),
    ("OPS", "Operations"),
];
const SPACE_ID_BASE: i64 = 98304;
const PERMISSION_ID_BASE: i64 = 3_342_336;

const AUDIT_EVENTS: [(&str, &str, &str); 6] = [
    ("Space permission added", "Permissions", "Space"),
    ("User added to group", "Users and groups", "Group"),
    ("Space created", "Spaces", "Space"),
    ("App installed", "Apps", "App"),
    (
        "Global permission changed",
        "Permissions",
        "Global permissions",
    ),
    ("Space exported", "Import/Export", "Space"),
];

pub(super) fn generate(
    config: &ConfluenceTenant,
    users: &[User],
    groups: &[Group],
) -> ConfluenceData {
    let people: Vec<&User> = users
        .iter()
        .filter(|u| u.account_type == "atlassian")
        .collect();
    ConfluenceData {
        spaces: spaces(config, &people, groups),
        site_permissions: site_permissions(&people, groups),
        audit: audit(config.audit_events, &people, groups),
        retention: (6, "MONTHS"),
        upm_settings: vec![
            (
                "pacDisabled",
                "Connection to the Atlassian Marketplace disabled",
                false,
            ),
            (
                "requestsDisabled",
                "App requests from users disabled",
                false,
            ),
            (
                "emailDisabled",
                "Email notifications about apps disabled",
                true,
            ),
            ("autoUpdateEnabled", "Automatic app updates", true),
            ("privateListingsEnabled", "Private listings", false),
        ],
        jira_mail_settings: vec![
            ("outgoingMailEnabled", serde_json::Value::Bool(true)),
            ("emailVisibility", serde_json::Value::from("show")),
            ("prefix", serde_json::Value::from("[JIRA]")),
        ],
    }
}

fn spaces(config: &ConfluenceTenant, people: &[&User], groups: &[Group]) -> Vec<Space> {
    let mut next_grant = PERMISSION_ID_BASE;
    let mut grant = |principal_type, principal_id: &str, operation, target_type| {
        next_grant += 1;
        SpaceGrant {
            id: next_grant.to_string(),
            principal_type,
            principal_id: principal_id.to_string(),
            operation,
            target_type,
        }
    };
    let mut out = Vec::new();
    if people.is_empty() {
        return out;
    }
    let author = |i: usize| people[i % people.len()];
    for i in 0..config.global_spaces {
        let (base_key, base_name) = SPACE_NAMES[i % SPACE_NAMES.len()];
        let round = i / SPACE_NAMES.len();
        let (key, name) = match round {
            0 => (base_key.to_string(), base_name.to_string()),
            _ => (
                format!("{base_key}{}", round + 1),
                format!("{base_name} {}", round + 1),
            ),
        };
        let owner = author(i * 3);
        let mut permissions = vec![
            grant("user", &owner.account_id, "read", "space"),
            grant("user", &owner.account_id, "administer", "space"),
        ];
        // The built-in groups: 0 administers, 1 (everyone with Jira Software) reads and writes.
        if let Some(admins) = groups.first() {
            permissions.push(grant("group", &admins.group_id, "read", "space"));
            permissions.push(grant("group", &admins.group_id, "administer", "space"));
        }
        if let Some(users) = groups.get(1) {
            permissions.push(grant("group", &users.group_id, "read", "space"));
            permissions.push(grant("group", &users.group_id, "create", "page"));
        }
        if let Some(team) = groups.get(4 + i % groups.len().saturating_sub(4).max(1)) {
            permissions.push(grant("group", &team.group_id, "update", "page"));
        }
        if i % 2 == 0 {
            permissions.push(grant("role", ALL_LICENSED, "read", "space"));
        }
        // DOCS is the space open to anyone on the internet.
        if i % SPACE_NAMES.len() == 1 {
            permissions.push(grant("role", ANONYMOUS, "read", "space"));
            permissions.push(grant("role", ANONYMOUS, "read", "comment"));
        }
        out.push(Space {
            id: (SPACE_ID_BASE + out.len() as i64).to_string(),
            key,
            name,
            space_type: "global",
            status: if i % SPACE_NAMES.len() == 3 {
                "archived"
            } else {
                "current"
            },
            author_id: owner.account_id.clone(),
            description: format!("{base_name} space"),
            permissions,
        });
    }
    for person in people.iter().take(config.personal_spaces) {
        let permissions = vec![
            grant("user", &person.account_id, "read", "space"),
            grant("user", &person.account_id, "administer", "space"),
            grant("user", &person.account_id, "create", "page"),
        ];
        out.push(Space {
            id: (SPACE_ID_BASE + out.len() as i64).to_string(),
            key: format!("~{}", person.account_id.replace(':', "")),
            name: person.display_name.clone(),
            space_type: "personal",
            status: "current",
            author_id: person.account_id.clone(),
            description: String::new(),
            permissions,
        });
    }
    out
}

fn site_permissions(people: &[&User], groups: &[Group]) -> Vec<SiteGrant> {
    let group = |g: &Group, operations: Vec<(&'static str, &'static str)>| SiteGrant {
        principal_type: "group",
        principal_id: g.group_id.clone(),
        display_name: g.name.clone(),
        operations,
    };
    let mut out = Vec::new();
    if let Some(admins) = groups.first() {
        out.push(group(
            admins,
            vec![("administer", "application"), ("use", "application")],
        ));
    }
    if let Some(users) = groups.get(1) {
        out.push(group(
            users,
            vec![("use", "application"), ("create_space", "space")],
        ));
    }
    if let Some(site_admins) = groups.get(2) {
        out.push(group(site_admins, vec![("administer", "application")]));
    }
    if let Some(person) = people.first() {
        out.push(SiteGrant {
            principal_type: "user",
            principal_id: person.account_id.clone(),
            display_name: person.display_name.clone(),
            operations: vec![("create_space", "space")],
        });
    }
    out.push(SiteGrant {
        principal_type: "role",
        principal_id: ANONYMOUS.to_string(),
        display_name: "Anonymous".to_string(),
        operations: vec![("use", "application")],
    });
    out
}

/// One event every 53 minutes, newest 7 minutes before the tenant started.
fn audit(count: usize, people: &[&User], groups: &[Group]) -> Vec<AuditEntry> {
    if people.is_empty() {
        return Vec::new();
    }
    (0..count)
        .map(|i| {
            let (summary, category, object_type) = AUDIT_EVENTS[i % AUDIT_EVENTS.len()];
            let author = people[i % people.len()];
            let object_name = match object_type {
                "Group" => groups
                    .get(i % groups.len().max(1))
                    .map(|g| g.name.clone())
                    .unwrap_or_default(),
                "Space" => SPACE_NAMES[i % SPACE_NAMES.len()].1.to_string(),
                "App" => "Draw.io Diagrams".to_string(),
                _ => String::new(),
            };
            AuditEntry {
                minutes_ago: 7 + 53 * i as i64,
                author_account_id: author.account_id.clone(),
                author_name: author.display_name.clone(),
                remote_address: format!("203.0.113.{}", 10 + i % 200),
                summary,
                description: format!("{summary}: {object_name}"),
                category,
                object_name,
                object_type,
            }
        })
        .collect()
}
