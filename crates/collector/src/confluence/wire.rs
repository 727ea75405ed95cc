//! Confluence response types, shaped as the official v1 and v2 specs describe them (REFERENCE
//! §4; `specs/confluence-v1-swagger.v3.json`, `specs/confluence-v2-openapi-v2.v3.json`), and
//! their conversion into records. The GraphQL site-permission answer has no spec: its shape is
//! the query's own (see [`SITE_PERMISSIONS_QUERY`]). Every field Atlassian may omit is optional
//! and unknown fields are ignored.

use serde::Deserialize;

use crate::record::{self, Namespace};

/// `Group` from `GET /wiki/rest/api/group` (v1). `id` is the site's group id, the one Jira uses.
#[derive(Debug, Deserialize)]
pub(super) struct Group {
    pub id: Option<String>,
    pub name: String,
}

impl Group {
    pub(super) fn record_id(&self, ns: &Namespace) -> String {
        ns.group(self.id.as_deref(), &self.name)
    }

    pub(super) fn record(&self, ns: &Namespace) -> record::Group {
        record::Group {
            id: self.record_id(ns),
            site: ns.site().to_string(),
            group_id: self.id.clone(),
            name: self.name.clone(),
            source: "confluence".to_string(),
        }
    }

    /// The edge from this group to one member, with the ids Jira gives the same edge.
    pub(super) fn membership(&self, ns: &Namespace, account_id: &str) -> record::Membership {
        record::Membership {
            id: ns.group_member(self.id.as_deref(), &self.name, account_id),
            site: ns.site().to_string(),
            relation: "group_member".to_string(),
            parent_id: self.record_id(ns),
            member_id: ns.user(account_id),
            member_type: "user".to_string(),
            account_id: Some(account_id.to_string()),
            group_id: self.id.clone(),
            group_name: Some(self.name.clone()),
            // membersByGroupId does not say whether an account is active.
            member_active: None,
            ..record::Membership::default()
        }
    }
}

/// `User` from `/group/{groupId}/membersByGroupId` (v1): only the account id is needed, the
/// user record itself comes from Jira.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct User {
    pub account_id: Option<String>,
}

/// `SpaceBulk` from `GET /wiki/api/v2/spaces`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Space {
    pub id: String,
    pub key: Option<String>,
    pub name: Option<String>,
    #[serde(rename = "type")]
    pub space_type: Option<String>,
    pub status: Option<String>,
    pub description: Option<SpaceDescription>,
}

/// `SpaceDescription`: one field per representation asked with `description-format`.
#[derive(Debug, Deserialize)]
pub(super) struct SpaceDescription {
    pub plain: Option<BodyType>,
}

/// `BodyType`.
#[derive(Debug, Deserialize)]
pub(super) struct BodyType {
    pub value: Option<String>,
}

impl Space {
    pub(super) fn record(&self, ns: &Namespace) -> record::Resource {
        record::Resource {
            id: ns.space(&self.id),
            site: ns.site().to_string(),
            resource_type: "confluence_space".to_string(),
            resource_id: self.id.clone(),
            key: self.key.clone(),
            name: self.name.clone(),
            description: self
                .description
                .as_ref()
                .and_then(|d| d.plain.as_ref())
                .and_then(|b| b.value.clone())
                .filter(|text| !text.is_empty()),
            archived: self.status.as_deref().map(|s| s == "archived"),
            space_type: self.space_type.clone(),
            status: self.status.clone(),
            ..record::Resource::default()
        }
    }
}

/// `SpacePermissionAssignment` from `GET /wiki/api/v2/spaces/{id}/permissions`.
#[derive(Debug, Deserialize)]
pub(super) struct SpacePermission {
    pub id: Option<String>,
    pub principal: Option<Principal>,
    pub operation: Option<Operation>,
}

/// The principal of a grant. The v2 spec's `type` enum is `user`, `group`, `role`; anonymous
/// and "all licensed users" access are principals of their own whose ids are the access-class
/// ids the spec lists for role assignments (`anonymous-users`, `all-licensed-users`). Both the
/// type and the id are checked, so an `anonymous` type is recognised too.
#[derive(Debug, Deserialize)]
pub(super) struct Principal {
    #[serde(rename = "type")]
    pub principal_type: Option<String>,
    pub id: Option<String>,
}

/// `operation` of a space permission: `{key, targetType}`, e.g. `read` on `space`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Operation {
    pub key: Option<String>,
    pub target_type: Option<String>,
}

impl Operation {
    /// `read:space`: the operation and its target, as Confluence's UI pairs them.
    pub(super) fn name(&self) -> Option<String> {
        let key = self.key.as_deref()?;
        Some(match self.target_type.as_deref() {
            Some(target) => format!("{key}:{target}"),
            None => key.to_string(),
        })
    }
}

impl Principal {
    fn kind(&self) -> &str {
        self.principal_type.as_deref().unwrap_or("unknown")
    }

    fn id(&self) -> Option<&str> {
        self.id.as_deref()
    }

    pub(super) fn anonymous(&self) -> bool {
        let kind = self.kind().to_ascii_lowercase();
        kind == "anonymous" || matches!(self.id(), Some("anonymous-users" | "anonymous"))
    }

    pub(super) fn all_licensed_users(&self) -> bool {
        matches!(self.id(), Some("all-licensed-users"))
    }

    /// The `id` of the user or group record the principal is.
    fn record_id(&self, ns: &Namespace) -> Option<String> {
        let id = self.id()?;
        match self.kind().to_ascii_lowercase().as_str() {
            "user" => Some(ns.user(id)),
            "group" => Some(ns.group(Some(id), "")),
            _ => None,
        }
    }

    /// A key that identifies the principal within a scope: `group:{id}`, `anonymous`, ….
    fn key(&self) -> String {
        match self.id() {
            Some(id) => format!("{}:{id}", self.kind()),
            None => self.kind().to_string(),
        }
    }

    fn permission(
        &self,
        ns: &Namespace,
        id: String,
        scope: (&str, String),
        grant_id: Option<String>,
        permission: String,
    ) -> record::Permission {
        record::Permission {
            id,
            site: ns.site().to_string(),
            scope_type: scope.0.to_string(),
            scope_id: scope.1,
            scheme_id: None,
            scheme_name: None,
            grant_id,
            permission,
            holder_type: self.kind().to_string(),
            holder_parameter: None,
            holder_value: self.id.clone(),
            principal_id: self.record_id(ns),
            anonymous: self.anonymous(),
            all_licensed_users: self.all_licensed_users(),
        }
    }
}

impl SpacePermission {
    /// The grant as a record; `None` when it names no principal or no operation.
    pub(super) fn record(&self, ns: &Namespace, space_id: &str) -> Option<record::Permission> {
        let principal = self.principal.as_ref()?;
        let permission = self.operation.as_ref()?.name()?;
        // The assignment id is Atlassian's; without one, the principal and operation identify
        // the grant within the space just as well.
        let key = self
            .id
            .clone()
            .unwrap_or_else(|| format!("{}/{permission}", principal.key()));
        Some(principal.permission(
            ns,
            ns.space_permission(space_id, &key),
            ("confluence_space", ns.space(space_id)),
            self.id.clone(),
            permission,
        ))
    }
}

/// The GraphQL query for site-level permissions, sent to `/cgraphql` and to the gateway. No spec
/// or public peer documents a site-permission query (REFERENCE §4.3): this shape is assumed,
/// and the answer is read leniently.
pub(super) const SITE_PERMISSIONS_QUERY: &str = "query AtlassianInventorySitePermissions {
  sitePermissions {
    permissions(first: 250) {
      nodes { principal { type id displayName } operations { key targetType } }
      pageInfo { hasNextPage endCursor }
    }
  }
}";

/// A GraphQL answer: `data`, or `errors`, or both.
#[derive(Debug, Deserialize)]
pub(super) struct GraphQlAnswer {
    pub data: Option<SitePermissionsData>,
    #[serde(default)]
    pub errors: Vec<GraphQlError>,
}

#[derive(Debug, Deserialize)]
pub(super) struct GraphQlError {
    pub message: Option<String>,
    pub extensions: Option<GraphQlExtensions>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct GraphQlExtensions {
    pub error_type: Option<String>,
    pub classification: Option<String>,
}

impl GraphQlAnswer {
    /// The errors in one line: `OperationBlocked: <message>; …`.
    pub(super) fn error_text(&self) -> Option<String> {
        if self.errors.is_empty() {
            return None;
        }
        let parts: Vec<String> = self
            .errors
            .iter()
            .map(|e| {
                let kind = e
                    .extensions
                    .as_ref()
                    .and_then(|x| x.error_type.clone().or_else(|| x.classification.clone()));
                let message = e.message.clone().unwrap_or_default();
                match kind {
                    Some(kind) => format!("{kind}: {message}"),
                    None => message,
                }
            })
            .collect();
        Some(parts.join("; "))
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct SitePermissionsData {
    pub site_permissions: Option<SitePermissions>,
}

#[derive(Debug, Deserialize)]
pub(super) struct SitePermissions {
    pub permissions: Option<Connection>,
}

/// A GraphQL connection of site-permission nodes.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Connection {
    #[serde(default)]
    pub nodes: Vec<SitePermission>,
    pub page_info: Option<PageInfo>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct PageInfo {
    pub has_next_page: Option<bool>,
}

/// One principal and the site operations it holds.
#[derive(Debug, Deserialize)]
pub(super) struct SitePermission {
    pub principal: Option<Principal>,
    #[serde(default)]
    pub operations: Vec<Operation>,
}

impl Connection {
    /// One record per principal and operation.
    pub(super) fn records(&self, ns: &Namespace) -> Vec<record::Permission> {
        self.nodes
            .iter()
            .filter_map(|node| Some((node.principal.as_ref()?, &node.operations)))
            .flat_map(|(principal, operations)| {
                operations.iter().filter_map(move |operation| {
                    let permission = operation.name()?;
                    Some(principal.permission(
                        ns,
                        ns.site_permission(&principal.key(), &permission),
                        ("confluence_site", ns.account()),
                        None,
                        permission,
                    ))
                })
            })
            .collect()
    }

    pub(super) fn has_more(&self) -> bool {
        self.page_info.as_ref().and_then(|p| p.has_next_page) == Some(true)
    }
}

/// `RetentionPeriod` from `GET /wiki/rest/api/audit/retention`.
#[derive(Debug, Deserialize)]
pub(super) struct RetentionPeriod {
    pub number: Option<i64>,
    pub units: Option<String>,
}

impl RetentionPeriod {
    pub(super) fn record(&self, ns: &Namespace) -> record::Setting {
        const SOURCE: &str = "confluence.audit_retention";
        const KEY: &str = "retention_period";
        let value = match (self.number, self.units.as_deref()) {
            (_, Some("FOREVER")) => Some("FOREVER".to_string()),
            (Some(number), Some(units)) => Some(format!("{number} {units}")),
            _ => None,
        };
        record::Setting {
            id: ns.setting(SOURCE, KEY),
            site: ns.site().to_string(),
            source: SOURCE.to_string(),
            key: KEY.to_string(),
            name: Some("Audit log retention period".to_string()),
            value,
            default_value: None,
            value_type: Some("period".to_string()),
            description: Some(
                "How long Confluence keeps audit records, from creation until deletion".to_string(),
            ),
        }
    }
}

/// `AuditRecord` from `GET /wiki/rest/api/audit` (v1).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct AuditRecord {
    pub author: Option<Author>,
    pub remote_address: Option<String>,
    /// Epoch milliseconds.
    pub creation_date: Option<i64>,
    pub summary: Option<String>,
    pub description: Option<String>,
    pub category: Option<String>,
    pub affected_object: Option<AffectedObject>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Author {
    pub display_name: Option<String>,
    pub account_id: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct AffectedObject {
    pub name: Option<String>,
    pub object_type: Option<String>,
}

impl AuditRecord {
    /// The event, or `None` without a time or a summary (nothing to say what happened when).
    pub(super) fn record(&self, ns: &Namespace) -> Option<record::Event> {
        const SOURCE: &str = "confluence.audit";
        let millis = self.creation_date?;
        let time = jiff::Timestamp::from_millisecond(millis).ok()?;
        let action = self.summary.clone().filter(|s| !s.is_empty())?;
        let actor_account_id = self.author.as_ref().and_then(|a| a.account_id.clone());
        let object = self.affected_object.as_ref();
        let object_type = object.and_then(|o| o.object_type.clone());
        let object_name = object.and_then(|o| o.name.clone());
        // The audit API gives records no id: a digest of what identifies one stands in.
        let event_id = digest(&[
            &millis.to_string(),
            actor_account_id.as_deref().unwrap_or(""),
            self.category.as_deref().unwrap_or(""),
            &action,
            object_type.as_deref().unwrap_or(""),
            object_name.as_deref().unwrap_or(""),
            self.remote_address.as_deref().unwrap_or(""),
            self.description.as_deref().unwrap_or(""),
        ]);
        Some(record::Event {
            id: ns.event(SOURCE, &event_id),
            site: ns.site().to_string(),
            source: SOURCE.to_string(),
            event_id,
            time: time.to_string(),
            action,
            category: self.category.clone().filter(|c| !c.is_empty()),
            actor_account_id,
            actor_name: self.author.as_ref().and_then(|a| a.display_name.clone()),
            ip: self.remote_address.clone().filter(|ip| !ip.is_empty()),
            object_type,
            object_id: None,
            object_name,
            summary: self.description.clone().filter(|d| !d.is_empty()),
        })
    }
}

/// A stable 128-bit digest (two FNV-1a 64 passes with different offsets) of `parts`, in hex.
/// Stable across runs, platforms and Rust versions, unlike `std`'s hasher.
fn digest(parts: &[&str]) -> String {
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    let mut halves = [0xcbf2_9ce4_8422_2325_u64, 0x6c62_272e_07bb_0142_u64];
    for half in &mut halves {
        for part in parts {
            // The length first, so ("ab", "c") and ("a", "bc") differ.
            for byte in (part.len() as u64)
                .to_le_bytes()
                .iter()
                .chain(part.as_bytes())
            {
                *half ^= u64::from(*byte);
                *half = half.wrapping_mul(PRIME);
            }
        }
    }
    format!("{:016x}{:016x}", halves[0], halves[1])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::page::{LinkPage, V1Page};

    fn ns() -> Namespace {
        Namespace::new("acme.atlassian.net")
    }

    fn fixture<T: serde::de::DeserializeOwned>(name: &str) -> T {
        let path = format!(
            "{}/../../fixtures/confluence/{name}",
            env!("CARGO_MANIFEST_DIR")
        );
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    #[test]
    fn groups_and_members_get_the_ids_jira_gives_them() {
        let page: V1Page<Group> = fixture("group.json");
        assert_eq!(page.results.len(), 2);
        let group = &page.results[0];
        let record = group.record(&ns());
        assert_eq!(
            record.id,
            "acme.atlassian.net/group/ca85fac0-d974-40ca-a615-7af99c48d24f"
        );
        assert_eq!(record.source, "confluence");
        let members: V1Page<User> = fixture("group-members.json");
        let account_id = members.results[0].account_id.as_deref().unwrap();
        let edge = group.membership(&ns(), account_id);
        assert_eq!(
            edge.id,
            "acme.atlassian.net/group/ca85fac0-d974-40ca-a615-7af99c48d24f/member/5b10a2844c20165700ede21g"
        );
        assert_eq!(
            edge.member_id,
            "acme.atlassian.net/user/5b10a2844c20165700ede21g"
        );
        assert_eq!(edge.member_active, None);
    }

    #[test]
    fn spaces_keep_their_type_and_status() {
        let page: LinkPage<Space> = fixture("spaces.json");
        let global = page.results[0].record(&ns());
        assert_eq!(global.id, "acme.atlassian.net/confluence/space/98305");
        assert_eq!(global.resource_type, "confluence_space");
        assert_eq!(global.space_type.as_deref(), Some("global"));
        assert_eq!(global.description.as_deref(), Some("Engineering handbook"));
        assert_eq!(global.archived, Some(false));
        let personal = page.results[1].record(&ns());
        assert_eq!(personal.space_type.as_deref(), Some("personal"));
        assert_eq!(personal.status.as_deref(), Some("archived"));
        assert_eq!(personal.archived, Some(true));
        assert_eq!(
            page.links.next.as_deref(),
            Some("/wiki/api/v2/spaces?cursor=eyJpZCI6Ijk4MzA2In0&limit=2")
        );
    }

    #[test]
    fn space_permissions_flag_anonymous_and_all_licensed_users() {
        let page: LinkPage<SpacePermission> = fixture("space-permissions.json");
        let records: Vec<_> = page
            .results
            .iter()
            .filter_map(|p| p.record(&ns(), "98305"))
            .collect();
        assert_eq!(
            records.len(),
            4,
            "the assignment without an operation is skipped"
        );
        let group = &records[0];
        assert_eq!(group.permission, "read:space");
        assert_eq!(group.scope_type, "confluence_space");
        assert_eq!(group.scope_id, "acme.atlassian.net/confluence/space/98305");
        assert_eq!(group.grant_id.as_deref(), Some("3342337"));
        assert_eq!(
            group.principal_id.as_deref(),
            Some("acme.atlassian.net/group/ca85fac0-d974-40ca-a615-7af99c48d24f")
        );
        assert!(!group.anonymous && !group.all_licensed_users);
        let user = &records[1];
        assert_eq!(user.holder_type, "user");
        assert_eq!(user.permission, "administer:space");
        assert_eq!(
            user.principal_id.as_deref(),
            Some("acme.atlassian.net/user/5b10a2844c20165700ede21g")
        );
        let anonymous = &records[2];
        assert!(anonymous.anonymous);
        assert_eq!(anonymous.principal_id, None);
        assert!(records[3].all_licensed_users);
        assert!(!records[3].anonymous);
    }

    #[test]
    fn site_permissions_are_one_record_per_principal_and_operation() {
        let answer: GraphQlAnswer = fixture("site-permissions.json");
        assert_eq!(answer.error_text(), None);
        let connection = answer
            .data
            .and_then(|d| d.site_permissions)
            .and_then(|s| s.permissions)
            .unwrap();
        let records = connection.records(&ns());
        assert_eq!(records.len(), 4);
        assert!(records.iter().all(|r| r.scope_type == "confluence_site"));
        assert!(records
            .iter()
            .all(|r| r.scope_id == "acme.atlassian.net/site"));
        assert_eq!(records[0].permission, "administer:application");
        assert_eq!(
            records[0].id,
            "acme.atlassian.net/confluence/site-permission/group:ca85fac0-d974-40ca-a615-7af99c48d24f/administer:application"
        );
        assert!(records.iter().any(|r| r.anonymous));
        assert!(!connection.has_more());
    }

    #[test]
    fn operation_blocked_is_read_from_the_errors() {
        let answer: GraphQlAnswer = serde_json::from_str(
            r#"{"errors":[{"message":"Operation is blocked","extensions":{"errorType":"OperationBlocked","statusCode":403}}],"data":null}"#,
        )
        .unwrap();
        assert_eq!(
            answer.error_text().as_deref(),
            Some("OperationBlocked: Operation is blocked")
        );
    }

    #[test]
    fn retention_is_one_setting() {
        let period: RetentionPeriod = fixture("audit-retention.json");
        let setting = period.record(&ns());
        assert_eq!(setting.value.as_deref(), Some("6 MONTHS"));
        assert_eq!(
            setting.id,
            "acme.atlassian.net/setting/confluence.audit_retention/retention_period"
        );
    }

    #[test]
    fn audit_records_become_events_with_stable_ids() {
        let page: V1Page<AuditRecord> = fixture("audit.json");
        let events: Vec<_> = page
            .results
            .iter()
            .filter_map(|r| r.record(&ns()))
            .collect();
        assert_eq!(events.len(), 2);
        let event = &events[0];
        assert_eq!(event.time, "2026-11-01T09:30:00Z");
        assert_eq!(event.action, "Space permission added");
        assert_eq!(event.category.as_deref(), Some("Permissions"));
        assert_eq!(
            event.actor_account_id.as_deref(),
            Some("5b10a2844c20165700ede21g")
        );
        assert_eq!(event.ip.as_deref(), Some("203.0.113.7"));
        assert_eq!(event.object_type.as_deref(), Some("Space"));
        assert_eq!(event.event_id.len(), 32);
        let again: V1Page<AuditRecord> = fixture("audit.json");
        assert_eq!(again.results[0].record(&ns()).unwrap().id, event.id);
        assert_ne!(events[0].event_id, events[1].event_id);
    }

    #[test]
    fn digests_separate_their_parts() {
        assert_ne!(digest(&["ab", "c"]), digest(&["a", "bc"]));
        assert_eq!(digest(&["x"]), digest(&["x"]));
    }
}
