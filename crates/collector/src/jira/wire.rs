//! Jira platform REST v3 response types, as the official spec shapes them (REFERENCE §1), and
//! their conversion into records. Every field Atlassian may omit is optional and unknown fields
//! are ignored: Jira adds, omits and renames fields, and one odd item must not fail a page.

use serde::{Deserialize, Deserializer};

use crate::record::{self, Namespace};

/// Jira sends ids as strings in some places (`projectId`) and as numbers in others (role,
/// scheme and grant ids); either becomes a string.
fn id<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Id {
        Text(String),
        Number(i64),
    }
    Ok(match Id::deserialize(deserializer)? {
        Id::Text(text) => text,
        Id::Number(number) => number.to_string(),
    })
}

fn optional_id<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    #[derive(Deserialize)]
    struct Wrapped(#[serde(deserialize_with = "id")] String);
    Ok(Option::<Wrapped>::deserialize(deserializer)?.map(|Wrapped(id)| id))
}

/// `User` from `/users/search`, and `UserDetails` from `/group/member` (same fields we read).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct User {
    pub account_id: Option<String>,
    pub account_type: Option<String>,
    pub active: Option<bool>,
    pub display_name: Option<String>,
    /// Absent when the person's profile visibility hides it.
    pub email_address: Option<String>,
    pub time_zone: Option<String>,
    pub locale: Option<String>,
}

impl User {
    pub(super) fn record(&self, ns: &Namespace, account_id: &str) -> record::User {
        record::User {
            id: ns.user(account_id),
            site: ns.site().to_string(),
            account_id: account_id.to_string(),
            account_type: self.account_type.clone(),
            display_name: self.display_name.clone(),
            // An empty string is Jira's way of hiding it on some tenants: keep "unknown".
            email: self.email_address.clone().filter(|e| !e.is_empty()),
            active: self.active,
            time_zone: self.time_zone.clone(),
            locale: self.locale.clone(),
            source: "jira".to_string(),
            email_source: self
                .email_address
                .as_deref()
                .filter(|e| !e.is_empty())
                .map(|_| "jira".to_string()),
            ..record::User::default()
        }
    }
}

/// `GroupDetails` from `/group/bulk`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Group {
    pub group_id: Option<String>,
    pub name: String,
}

impl Group {
    /// The id of the group's record.
    pub(super) fn record_id(&self, ns: &Namespace) -> String {
        ns.group(self.group_id.as_deref(), &self.name)
    }

    pub(super) fn record(&self, ns: &Namespace) -> record::Group {
        record::Group {
            id: self.record_id(ns),
            site: ns.site().to_string(),
            group_id: self.group_id.clone(),
            name: self.name.clone(),
            source: "jira".to_string(),
        }
    }

    pub(super) fn membership(
        &self,
        ns: &Namespace,
        member: &User,
        account_id: &str,
    ) -> record::Membership {
        record::Membership {
            id: ns.group_member(self.group_id.as_deref(), &self.name, account_id),
            site: ns.site().to_string(),
            relation: "group_member".to_string(),
            parent_id: ns.group(self.group_id.as_deref(), &self.name),
            member_id: ns.user(account_id),
            member_type: "user".to_string(),
            account_id: Some(account_id.to_string()),
            group_id: self.group_id.clone(),
            group_name: Some(self.name.clone()),
            member_active: member.active,
            ..record::Membership::default()
        }
    }
}

/// `Project` from `/project/search`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Project {
    #[serde(deserialize_with = "id")]
    pub id: String,
    pub key: Option<String>,
    pub name: Option<String>,
    pub description: Option<String>,
    pub project_type_key: Option<String>,
    /// True for team-managed projects.
    pub simplified: Option<bool>,
    pub style: Option<String>,
    pub is_private: Option<bool>,
    pub archived: Option<bool>,
    pub lead: Option<AccountRef>,
    pub project_category: Option<Named>,
}

impl Project {
    pub(super) fn team_managed(&self) -> bool {
        self.simplified == Some(true) || self.style.as_deref() == Some("next-gen")
    }

    pub(super) fn record(
        &self,
        ns: &Namespace,
        permission_scheme_id: Option<String>,
    ) -> record::Resource {
        record::Resource {
            id: ns.project(&self.id),
            site: ns.site().to_string(),
            resource_type: "jira_project".to_string(),
            resource_id: self.id.clone(),
            key: self.key.clone(),
            name: self.name.clone(),
            description: self.description.clone(),
            project_type: self.project_type_key.clone(),
            team_managed: Some(self.team_managed()),
            style: self.style.clone(),
            is_private: self.is_private,
            archived: self.archived,
            lead_account_id: self.lead.as_ref().and_then(|l| l.account_id.clone()),
            category: self.project_category.as_ref().and_then(|c| c.name.clone()),
            permission_scheme_id,
            ..record::Resource::default()
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct AccountRef {
    pub account_id: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(super) struct Named {
    pub name: Option<String>,
}

/// `ProjectRoleDetails` from `/project/{id}/roledetails`, and `ProjectRole` from
/// `/project/{id}/role/{id}` (which adds `actors`).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct ProjectRole {
    #[serde(default, deserialize_with = "optional_id")]
    pub id: Option<String>,
    pub name: Option<String>,
    pub description: Option<String>,
    #[serde(default)]
    pub actors: Vec<RoleActor>,
}

impl ProjectRole {
    pub(super) fn record(&self, ns: &Namespace, project: &Project, role_id: &str) -> record::Role {
        record::Role {
            id: ns.project_role(&project.id, role_id),
            site: ns.site().to_string(),
            role_type: "project_role".to_string(),
            role_id: role_id.to_string(),
            name: self.name.clone().unwrap_or_default(),
            description: self.description.clone(),
            project_id: Some(project.id.clone()),
            project_key: project.key.clone(),
            ..record::Role::default()
        }
    }
}

/// `RoleActor`: a user (`actorUser`) or a group (`actorGroup`) in a project role.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct RoleActor {
    #[serde(default, deserialize_with = "optional_id")]
    pub id: Option<String>,
    pub display_name: Option<String>,
    pub actor_user: Option<AccountRef>,
    pub actor_group: Option<ActorGroup>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct ActorGroup {
    pub group_id: Option<String>,
    pub name: Option<String>,
    pub display_name: Option<String>,
}

impl RoleActor {
    /// The membership edge, or `None` for an actor that names neither a user nor a group.
    pub(super) fn membership(
        &self,
        ns: &Namespace,
        project_id: &str,
        role_id: &str,
    ) -> Option<record::Membership> {
        let base = record::Membership {
            site: ns.site().to_string(),
            relation: "role_actor".to_string(),
            parent_id: ns.project_role(project_id, role_id),
            project_id: Some(project_id.to_string()),
            role_id: Some(role_id.to_string()),
            actor_id: self.id.clone(),
            ..record::Membership::default()
        };
        let (member_id, membership) =
            if let Some(account_id) = self.actor_user.as_ref().and_then(|u| u.account_id.clone()) {
                let member_id = ns.user(&account_id);
                (
                    member_id.clone(),
                    record::Membership {
                        member_id,
                        member_type: "user".to_string(),
                        account_id: Some(account_id),
                        ..base
                    },
                )
            } else {
                let group = self.actor_group.as_ref()?;
                let name = group
                    .name
                    .clone()
                    .or_else(|| group.display_name.clone())
                    .or_else(|| self.display_name.clone())?;
                let member_id = ns.group(group.group_id.as_deref(), &name);
                (
                    member_id.clone(),
                    record::Membership {
                        member_id,
                        member_type: "group".to_string(),
                        group_id: group.group_id.clone(),
                        group_name: Some(name),
                        ..base
                    },
                )
            };
        // The actor id is unique within the role; fall back to the member when Jira omits it.
        let actor_key = self.id.clone().unwrap_or(member_id);
        Some(record::Membership {
            id: ns.role_actor(project_id, role_id, &actor_key),
            ..membership
        })
    }
}

/// `PermissionSchemes` from `/permissionscheme`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct PermissionSchemes {
    #[serde(default)]
    pub permission_schemes: Vec<PermissionScheme>,
}

/// `PermissionScheme`; `permissions` is present when any `expand` is given.
#[derive(Debug, Deserialize)]
pub(super) struct PermissionScheme {
    #[serde(deserialize_with = "id")]
    pub id: String,
    pub name: Option<String>,
    pub description: Option<String>,
    #[serde(default)]
    pub permissions: Vec<PermissionGrant>,
}

#[derive(Debug, Deserialize)]
pub(super) struct PermissionGrant {
    #[serde(default, deserialize_with = "optional_id")]
    pub id: Option<String>,
    pub permission: Option<String>,
    pub holder: Option<Holder>,
}

/// `PermissionHolder`: `parameter` and `value` mean different things per `type` (spec text):
/// for `group` the name and the id, for `user` the account id twice, for `projectRole` the role
/// id, for `applicationRole` the application key.
#[derive(Debug, Deserialize)]
pub(super) struct Holder {
    #[serde(rename = "type")]
    pub holder_type: String,
    pub parameter: Option<String>,
    pub value: Option<String>,
}

impl PermissionScheme {
    pub(super) fn record(&self, ns: &Namespace) -> record::Resource {
        record::Resource {
            id: ns.permission_scheme(&self.id),
            site: ns.site().to_string(),
            resource_type: "jira_permission_scheme".to_string(),
            resource_id: self.id.clone(),
            name: self.name.clone(),
            description: self.description.clone(),
            ..record::Resource::default()
        }
    }

    /// One record per grant; grants without an id or holder are skipped (they cannot be
    /// identified across runs) and counted by the caller.
    pub(super) fn grants(&self, ns: &Namespace) -> Vec<record::Permission> {
        self.permissions
            .iter()
            .filter_map(|grant| {
                let grant_id = grant.id.as_ref()?;
                let holder = grant.holder.as_ref()?;
                let principal_id = match holder.holder_type.as_str() {
                    "user" => holder
                        .value
                        .as_deref()
                        .or(holder.parameter.as_deref())
                        .map(|account_id| ns.user(account_id)),
                    "group" => match (holder.value.as_deref(), holder.parameter.as_deref()) {
                        (Some(group_id), name) => {
                            Some(ns.group(Some(group_id), name.unwrap_or("")))
                        }
                        (None, Some(name)) => Some(ns.group(None, name)),
                        (None, None) => None,
                    },
                    _ => None,
                };
                Some(record::Permission {
                    id: ns.permission_grant(&self.id, grant_id),
                    site: ns.site().to_string(),
                    scope_type: "jira_permission_scheme".to_string(),
                    scope_id: ns.permission_scheme(&self.id),
                    scheme_id: Some(self.id.clone()),
                    scheme_name: self.name.clone(),
                    grant_id: Some(grant_id.clone()),
                    permission: grant.permission.clone().unwrap_or_default(),
                    holder_type: holder.holder_type.clone(),
                    holder_parameter: holder.parameter.clone(),
                    holder_value: holder.value.clone(),
                    principal_id,
                    anonymous: holder.holder_type == "anyone",
                    // Without an application key the holder is what Jira's UI calls "Any logged
                    // in user" (anyone with access to any Jira product). The spec lists
                    // `applicationRole` with a key only; the keyless form is Jira's behaviour.
                    all_licensed_users: holder.holder_type == "applicationRole"
                        && holder.parameter.is_none(),
                })
            })
            .collect()
    }
}

/// `ApplicationProperty` from `/application-properties`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct ApplicationProperty {
    pub id: Option<String>,
    pub key: Option<String>,
    pub name: Option<String>,
    pub value: Option<String>,
    pub default_value: Option<String>,
    #[serde(rename = "type")]
    pub value_type: Option<String>,
    pub desc: Option<String>,
}

impl ApplicationProperty {
    pub(super) fn record(&self, ns: &Namespace) -> Option<record::Setting> {
        const SOURCE: &str = "jira.application_properties";
        let key = self.key.clone().or_else(|| self.id.clone())?;
        Some(record::Setting {
            id: ns.setting(SOURCE, &key),
            site: ns.site().to_string(),
            source: SOURCE.to_string(),
            name: self.name.clone(),
            value: self.value.clone(),
            default_value: self.default_value.clone(),
            value_type: self.value_type.clone(),
            description: self.desc.clone(),
            key,
        })
    }
}

/// `ApplicationRole` from `/applicationrole`: a product licence and the groups that grant it.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct ApplicationRole {
    pub key: String,
    pub name: Option<String>,
    #[serde(default)]
    pub groups: Vec<String>,
    #[serde(default)]
    pub group_details: Vec<Group>,
    pub number_of_seats: Option<i64>,
    pub remaining_seats: Option<i64>,
    pub user_count: Option<i64>,
    pub has_unlimited_seats: Option<bool>,
}

impl ApplicationRole {
    pub(super) fn record(&self, ns: &Namespace) -> record::Role {
        record::Role {
            id: ns.application_role(&self.key),
            site: ns.site().to_string(),
            role_type: "application_role".to_string(),
            role_id: self.key.clone(),
            name: self.name.clone().unwrap_or_else(|| self.key.clone()),
            seats: self.number_of_seats,
            remaining_seats: self.remaining_seats,
            user_count: self.user_count,
            unlimited_seats: self.has_unlimited_seats,
            ..record::Role::default()
        }
    }

    /// One edge per group granting the licence. `groupDetails` carries ids; the older `groups`
    /// list only names, used for names `groupDetails` lacks.
    pub(super) fn memberships(&self, ns: &Namespace) -> Vec<record::Membership> {
        let mut groups: Vec<(Option<String>, String)> = self
            .group_details
            .iter()
            .map(|g| (g.group_id.clone(), g.name.clone()))
            .collect();
        for name in &self.groups {
            if !groups.iter().any(|(_, known)| known == name) {
                groups.push((None, name.clone()));
            }
        }
        groups
            .into_iter()
            .map(|(group_id, name)| record::Membership {
                id: ns.application_role_group(&self.key, group_id.as_deref(), &name),
                site: ns.site().to_string(),
                relation: "application_role_group".to_string(),
                parent_id: ns.application_role(&self.key),
                member_id: ns.group(group_id.as_deref(), &name),
                member_type: "group".to_string(),
                group_id,
                group_name: Some(name),
                role_id: Some(self.key.clone()),
                ..record::Membership::default()
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ns() -> Namespace {
        Namespace::new("acme.atlassian.net")
    }

    fn fixture<T: serde::de::DeserializeOwned>(name: &str) -> T {
        let path = format!("{}/../../fixtures/jira/{name}", env!("CARGO_MANIFEST_DIR"));
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    #[test]
    fn users_keep_atlassian_values_and_never_guess_emails() {
        let users: Vec<User> = fixture("users-search.json");
        let records: Vec<_> = users
            .iter()
            .map(|u| u.record(&ns(), u.account_id.as_deref().unwrap()))
            .collect();
        assert_eq!(
            records[0].id,
            "acme.atlassian.net/user/5b10a2844c20165700ede21g"
        );
        assert_eq!(records[0].account_type.as_deref(), Some("atlassian"));
        assert_eq!(records[0].active, Some(false));
        assert_eq!(records[0].email, None, "hidden email stays null");
        assert_eq!(records[1].email.as_deref(), Some("mia@example.com"));
        assert_eq!(records[2].account_type.as_deref(), Some("app"));
    }

    #[test]
    fn role_actors_link_users_and_groups_by_id() {
        let role: ProjectRole = fixture("project-role.json");
        let edges: Vec<_> = role
            .actors
            .iter()
            .filter_map(|a| a.membership(&ns(), "10000", "10360"))
            .collect();
        assert_eq!(edges.len(), 2);
        let group = &edges[0];
        assert_eq!(group.member_type, "group");
        assert_eq!(
            group.group_id.as_deref(),
            Some("952d12c3-5b5b-4d04-bb32-44d383afc4b2")
        );
        assert_eq!(
            group.member_id,
            "acme.atlassian.net/group/952d12c3-5b5b-4d04-bb32-44d383afc4b2"
        );
        assert_eq!(
            group.id,
            "acme.atlassian.net/jira/project/10000/role/10360/actor/10240"
        );
        let user = &edges[1];
        assert_eq!(user.account_id.as_deref(), Some("5b10a2844c20165700ede21g"));
        assert_eq!(user.actor_id.as_deref(), Some("10241"));
        assert_eq!(
            user.parent_id,
            "acme.atlassian.net/jira/project/10000/role/10360"
        );
    }

    #[test]
    fn permission_grants_keep_holder_ids_and_flag_anonymous_access() {
        let schemes: PermissionSchemes = fixture("permissionscheme.json");
        let scheme = &schemes.permission_schemes[0];
        let grants = scheme.grants(&ns());
        assert_eq!(grants.len(), 4, "the grant without a holder is skipped");
        let group = grants.iter().find(|g| g.holder_type == "group").unwrap();
        assert_eq!(group.grant_id.as_deref(), Some("10000"));
        assert_eq!(group.scheme_id.as_deref(), Some("10000"));
        assert_eq!(
            group.principal_id.as_deref(),
            Some("acme.atlassian.net/group/ca85fac0-d974-40ca-a615-7af99c48d24f")
        );
        let anyone = grants.iter().find(|g| g.holder_type == "anyone").unwrap();
        assert!(anyone.anonymous);
        assert_eq!(anyone.principal_id, None);
        let user = grants.iter().find(|g| g.holder_type == "user").unwrap();
        assert_eq!(
            user.principal_id.as_deref(),
            Some("acme.atlassian.net/user/5b10a2844c20165700ede21g")
        );
    }

    #[test]
    fn projects_flag_team_managed() {
        let page: crate::http::page::PageBean<Project> = fixture("project-search.json");
        let classic = page.values[0].record(&ns(), Some("10000".into()));
        assert_eq!(classic.team_managed, Some(false));
        assert_eq!(classic.permission_scheme_id.as_deref(), Some("10000"));
        assert_eq!(classic.category.as_deref(), Some("FIRST"));
        let team = page.values[1].record(&ns(), None);
        assert_eq!(team.team_managed, Some(true));
        assert_eq!(
            team.lead_account_id.as_deref(),
            Some("5b10a2844c20165700ede21g")
        );
    }

    #[test]
    fn application_roles_become_licences_and_granting_groups() {
        let roles: Vec<ApplicationRole> = fixture("applicationrole.json");
        let role = roles[0].record(&ns());
        assert_eq!(role.role_type, "application_role");
        assert_eq!(role.seats, Some(10));
        assert_eq!(role.user_count, Some(5));
        let edges = roles[0].memberships(&ns());
        assert_eq!(edges.len(), 2);
        assert!(edges.iter().all(|e| e.group_id.is_some()));
    }

    #[test]
    fn ids_may_be_numbers_or_strings() {
        let role: ProjectRole = serde_json::from_str(r#"{"id":"10002","name":"A"}"#).unwrap();
        assert_eq!(role.id.as_deref(), Some("10002"));
        let role: ProjectRole = serde_json::from_str(r#"{"id":10002,"name":"A"}"#).unwrap();
        assert_eq!(role.id.as_deref(), Some("10002"));
    }
}
