//! The normalized record schema: the product's public interface.
//!
//! Every record is one JSON object with a `kind` and a stable, namespaced `id`; the same entity gets
//! the same id on every run, so two runs can be diffed line by line. Ids are built from the site's
//! host name and Atlassian's own ids (see [`Namespace`]). Every field of a kind is always present,
//! `null` when Atlassian did not say (for example `email` when profile visibility hides it): values
//! are never guessed. Records carry no timestamps of the run except the `account` record, so
//! unchanged data gives byte-identical lines.
//!
//! The README's schema section documents these structs field by field; a test keeps the two in step.
//! Adding a field is a visible decision; renaming or removing one breaks consumers.

use serde::{Deserialize, Serialize};

/// One normalized record. Serialized with an internal `kind` tag.
// Records are built, sent over the channel and written one at a time, never stored in bulk:
// boxing the large variants would cost an allocation each and buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Record {
    Account(Account),
    User(User),
    Group(Group),
    Membership(Membership),
    Role(Role),
    Permission(Permission),
    Setting(Setting),
    Resource(Resource),
    Secret(Secret),
    Event(Event),
    Coverage(Coverage),
}

/// The record kinds, in the order the README documents them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    Account,
    User,
    Group,
    Membership,
    Role,
    Permission,
    Setting,
    Resource,
    Secret,
    Event,
    Coverage,
}

impl Kind {
    pub const ALL: [Kind; 11] = [
        Kind::Account,
        Kind::User,
        Kind::Group,
        Kind::Membership,
        Kind::Role,
        Kind::Permission,
        Kind::Setting,
        Kind::Resource,
        Kind::Secret,
        Kind::Event,
        Kind::Coverage,
    ];

    /// The value of the `kind` field.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Account => "account",
            Kind::User => "user",
            Kind::Group => "group",
            Kind::Membership => "membership",
            Kind::Role => "role",
            Kind::Permission => "permission",
            Kind::Setting => "setting",
            Kind::Resource => "resource",
            Kind::Secret => "secret",
            Kind::Event => "event",
            Kind::Coverage => "coverage",
        }
    }

    /// The plural, used for CSV file names (`users.csv`) and the run summary.
    pub fn plural(self) -> &'static str {
        match self {
            Kind::Account => "accounts",
            Kind::User => "users",
            Kind::Group => "groups",
            Kind::Membership => "memberships",
            Kind::Role => "roles",
            Kind::Permission => "permissions",
            Kind::Setting => "settings",
            Kind::Resource => "resources",
            Kind::Secret => "secrets",
            Kind::Event => "events",
            Kind::Coverage => "coverage",
        }
    }

    /// A record of this kind with every field at its empty value: its serialized keys are the
    /// kind's columns, in order.
    pub fn blank(self) -> Record {
        match self {
            Kind::Account => Record::Account(Account::default()),
            Kind::User => Record::User(User::default()),
            Kind::Group => Record::Group(Group::default()),
            Kind::Membership => Record::Membership(Membership::default()),
            Kind::Role => Record::Role(Role::default()),
            Kind::Permission => Record::Permission(Permission::default()),
            Kind::Setting => Record::Setting(Setting::default()),
            Kind::Resource => Record::Resource(Resource::default()),
            Kind::Secret => Record::Secret(Secret::default()),
            Kind::Event => Record::Event(Event::default()),
            Kind::Coverage => Record::Coverage(Coverage::default()),
        }
    }

    /// The kind's field names, in serialization order, starting with `kind` and `id`.
    pub fn columns(self) -> Vec<String> {
        match serde_json::to_value(self.blank()) {
            Ok(serde_json::Value::Object(map)) => map.keys().cloned().collect(),
            _ => unreachable!("records serialize to JSON objects"),
        }
    }
}

impl Record {
    pub fn kind(&self) -> Kind {
        match self {
            Record::Account(_) => Kind::Account,
            Record::User(_) => Kind::User,
            Record::Group(_) => Kind::Group,
            Record::Membership(_) => Kind::Membership,
            Record::Role(_) => Kind::Role,
            Record::Permission(_) => Kind::Permission,
            Record::Setting(_) => Kind::Setting,
            Record::Resource(_) => Kind::Resource,
            Record::Secret(_) => Kind::Secret,
            Record::Event(_) => Kind::Event,
            Record::Coverage(_) => Kind::Coverage,
        }
    }
}

/// The site or tenant the run inventoried, and how. One per site and run.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Account {
    pub id: String,
    pub site: String,
    /// `site` or `organization`.
    pub account_type: String,
    pub url: String,
    /// Organisations: the org id and name.
    pub org_id: Option<String>,
    pub name: Option<String>,
    /// Organisations: the verified domains.
    pub domains: Vec<String>,
    /// `api_token` (HTTP Basic with an email and API token), `oauth_client_credentials`,
    /// `oauth_3lo` or `admin_api_key`.
    pub auth_method: String,
    /// Sites: `site` (requests went to the site) or `gateway` (through
    /// `api.atlassian.com/ex/{product}/{cloudId}`); null for organisations.
    pub route: Option<String>,
    /// The products the run was asked to collect.
    pub products: Vec<String>,
    /// When the run started, RFC 3339 UTC.
    pub collected_at: String,
    /// `atlassian-inventory <version>`.
    pub collector: String,
}

/// An Atlassian account seen on the site: a person (`atlassian`), a bot (`app`) or a JSM
/// `customer`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct User {
    pub id: String,
    pub site: String,
    pub account_id: String,
    /// `atlassian`, `app`, `customer` or `unknown`, as Atlassian reports it.
    pub account_type: Option<String>,
    pub display_name: Option<String>,
    /// Null when the person's profile visibility hides it.
    pub email: Option<String>,
    pub active: Option<bool>,
    pub time_zone: Option<String>,
    pub locale: Option<String>,
    /// The API families the account was read from: `jira`, `admin` or `jira+admin`.
    pub source: String,
    /// Where `email` came from: `jira`, `admin` (filled in where Jira hides it) or null.
    pub email_source: Option<String>,
    /// Org Admin facts (null when the run had no Admin API key): the organisation,
    pub org_id: Option<String>,
    /// the account's lifecycle status (`active`, `inactive`, `closed`),
    pub account_status: Option<String>,
    /// its status in the organisation (`active`, `suspended`, `deactivated`, ...),
    pub org_status: Option<String>,
    /// whether the organisation manages the account (`managed`, `unmanaged`),
    pub claim_status: Option<String>,
    pub mfa_enabled: Option<bool>,
    /// platform roles such as `atlassian/org-admin`,
    pub platform_roles: Vec<String>,
    /// the products and sites it can use, each with its last activity,
    pub product_access: Vec<ProductAccess>,
    /// and the latest activity across them (RFC 3339).
    pub last_active: Option<String>,
    pub added_to_org: Option<String>,
}

/// One product an account can use, from the Org Admin API.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ProductAccess {
    /// `jira-software`, `confluence`, `bitbucket`, `trello`, `opsgenie`, `statuspage`, ...
    pub product: String,
    /// The product instance (a site ARI), when given.
    pub resource: Option<String>,
    pub last_active: Option<String>,
}

/// A group of the site's user directory.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Group {
    pub id: String,
    pub site: String,
    /// Atlassian's group id; null only for the rare group Atlassian returns without one.
    pub group_id: Option<String>,
    pub name: String,
    pub source: String,
}

/// An edge: a user or group holds a place in a group or role.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Membership {
    pub id: String,
    pub site: String,
    /// `group_member` (a user in a group), `role_actor` (a user or group in a project role) or
    /// `application_role_group` (a group that grants a product licence).
    pub relation: String,
    /// The `id` of the group or role record.
    pub parent_id: String,
    /// The `id` of the user or group record that is the member.
    pub member_id: String,
    /// `user` or `group`.
    pub member_type: String,
    pub account_id: Option<String>,
    pub group_id: Option<String>,
    pub group_name: Option<String>,
    pub project_id: Option<String>,
    /// The project role id, or the application role key.
    pub role_id: Option<String>,
    /// Jira's role-actor id (not the user or group id).
    pub actor_id: Option<String>,
    /// For group members: whether the account is active.
    pub member_active: Option<bool>,
}

/// A role: a project role in one project, or an application role (a product licence).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Role {
    pub id: String,
    pub site: String,
    /// `project_role` or `application_role`.
    pub role_type: String,
    /// The project role id, or the application role key (`jira-software`).
    pub role_id: String,
    pub name: String,
    pub description: Option<String>,
    pub project_id: Option<String>,
    pub project_key: Option<String>,
    /// Application roles: licensed seats, seats left, users holding the licence.
    pub seats: Option<i64>,
    pub remaining_seats: Option<i64>,
    pub user_count: Option<i64>,
    pub unlimited_seats: Option<bool>,
}

/// One permission grant: a holder is granted a permission by a Jira scheme, in a Confluence
/// space, or on the Confluence site.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Permission {
    pub id: String,
    pub site: String,
    /// `jira_permission_scheme`, `confluence_space` or `confluence_site`.
    pub scope_type: String,
    /// The `id` of the resource record of the scheme or space, or of the `account` record.
    pub scope_id: String,
    /// Jira: the permission scheme; null where grants belong to no scheme.
    pub scheme_id: Option<String>,
    pub scheme_name: Option<String>,
    /// Atlassian's id for the grant, when it has one.
    pub grant_id: Option<String>,
    /// Jira's permission key, e.g. `ADMINISTER_PROJECTS` (apps add their own keys).
    pub permission: String,
    /// Jira's holder type verbatim: `group`, `user`, `projectRole`, `applicationRole`, `anyone`, ...
    pub holder_type: String,
    pub holder_parameter: Option<String>,
    pub holder_value: Option<String>,
    /// The `id` of the user or group record holding the grant, when the holder is one.
    pub principal_id: Option<String>,
    /// True for grants to anonymous users: Jira's `anyone`, Confluence's anonymous principal.
    pub anonymous: bool,
    /// True for grants to every licensed user of the product: Jira's `applicationRole` without
    /// an application ("any logged-in user"), Confluence's `all-licensed-users`.
    pub all_licensed_users: bool,
}

/// A configuration value of the site.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Setting {
    pub id: String,
    pub site: String,
    /// Where it was read: `jira.application_properties`, `jira.upm`, `jira.mail`,
    /// `confluence.audit_retention`, `confluence.upm`.
    pub source: String,
    pub key: String,
    pub name: Option<String>,
    pub value: Option<String>,
    pub default_value: Option<String>,
    pub value_type: Option<String>,
    pub description: Option<String>,
}

/// Something people are given access to: a Jira project, a permission scheme, a Confluence
/// space, a product licence, a JSM service desk; or an asset of the Assets CMDB (an object, its
/// type and schema).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Resource {
    pub id: String,
    pub site: String,
    /// `jira_project` or `jira_permission_scheme`.
    pub resource_type: String,
    pub resource_id: String,
    pub key: Option<String>,
    pub name: Option<String>,
    pub description: Option<String>,
    /// Projects: `software`, `business` or `service_desk`.
    pub project_type: Option<String>,
    /// Projects: true for team-managed (`simplified`) projects, which have no permission scheme.
    pub team_managed: Option<bool>,
    pub style: Option<String>,
    pub is_private: Option<bool>,
    pub archived: Option<bool>,
    pub lead_account_id: Option<String>,
    pub category: Option<String>,
    /// Company-managed projects: the scheme assigned to the project.
    pub permission_scheme_id: Option<String>,
    /// Product licences: accounts with access, and those active in the last 30 and 90 days.
    pub users: Option<u64>,
    pub active_users_30d: Option<u64>,
    pub active_users_90d: Option<u64>,
    /// Confluence spaces: `global`, `collaboration`, `knowledge_base` or `personal`.
    pub space_type: Option<String>,
    /// Confluence spaces: `current` or `archived`; Assets objects: the value of their status
    /// attribute.
    pub status: Option<String>,
    /// JSM service desks: the Jira project behind the desk (`{site}/jira/project/{project_id}`).
    pub project_id: Option<String>,
    /// Assets: the workspace, the object schema and the object type.
    pub workspace_id: Option<String>,
    pub schema_id: Option<String>,
    pub object_type_id: Option<String>,
    pub object_type: Option<String>,
    /// Assets: when the object (or type, or schema) was created and last updated.
    pub created: Option<String>,
    pub updated: Option<String>,
    /// Assets objects: the account id in the first user attribute that has one (the owner).
    pub owner_account_id: Option<String>,
    /// Assets objects: every attribute by name, `{"type": …, "values": [{"value": …, "display":
    /// …, "user_id"|"group_name"|"object_id"|"status_id": …}]}`.
    pub attributes: Option<serde_json::Value>,
}

/// A credential that exists in the organisation: an API token, an Admin API key, a service
/// account's token. Metadata only: a secret value is never read or written.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Secret {
    pub id: String,
    pub site: String,
    pub org_id: String,
    /// `api_token`, `admin_api_key` or `service_account_token`.
    pub secret_type: String,
    pub secret_id: String,
    pub label: Option<String>,
    pub status: Option<String>,
    pub owner_account_id: Option<String>,
    pub owner_name: Option<String>,
    pub owner_email: Option<String>,
    pub created_at: Option<String>,
    pub expires_at: Option<String>,
    pub last_active_at: Option<String>,
    pub scopes: Vec<String>,
    /// No expiry date.
    pub never_expires: bool,
    /// Expires within 14 days.
    pub expiring_soon: bool,
    pub expired: bool,
    /// Not used for `--stale-days` (never used counts from its creation).
    pub stale: bool,
}

/// An audit event: something someone did, from an audit log (Org Admin events, Confluence
/// audit). Collected for the window `--since` gives.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Event {
    pub id: String,
    pub site: String,
    /// The log it came from, e.g. `admin.events` or `confluence.audit`.
    pub source: String,
    /// The log's own id for the event; when the log has none, a stable digest of the event.
    pub event_id: String,
    /// When it happened, RFC 3339 UTC.
    pub time: String,
    /// What happened, in the log's own vocabulary (e.g. `user_added_to_group`).
    pub action: String,
    pub category: Option<String>,
    /// Who did it: the account id when the log gives one.
    pub actor_account_id: Option<String>,
    pub actor_name: Option<String>,
    /// The address the action came from.
    pub ip: Option<String>,
    /// What it was done to.
    pub object_type: Option<String>,
    pub object_id: Option<String>,
    pub object_name: Option<String>,
    /// A one-line human summary when the log gives one.
    pub summary: Option<String>,
}

/// What one endpoint family yielded, so a consumer can tell "none" from "could not see".
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Coverage {
    pub id: String,
    pub site: String,
    pub product: String,
    /// e.g. `jira.users`.
    pub family: String,
    /// The endpoints the family calls.
    pub endpoints: Vec<String>,
    /// `collected`, `partial`, `forbidden`, `not_found`, `failed`, `not_implemented`,
    /// `not_configured` or `not_licensed`.
    pub status: String,
    /// The HTTP status of the first failed request, if any.
    pub http_status: Option<u16>,
    /// Records the family produced.
    pub records: u64,
    /// Requests of the family that failed for good (after retries).
    pub failures: u64,
    /// The permission or scope a failure points to.
    pub missing_permission: Option<String>,
    /// The first error, with the endpoint it came from.
    pub message: Option<String>,
    /// For families with alternative endpoints: the one that answered.
    pub served_by: Option<String>,
}

/// Builds the namespaced ids. The namespace is the site's host name (without port), so the same
/// entity gets the same id on every run and records of several sites can be merged.
#[derive(Clone, Debug)]
pub struct Namespace {
    host: String,
}

impl Namespace {
    pub fn new(host: impl Into<String>) -> Self {
        Namespace { host: host.into() }
    }

    pub fn site(&self) -> &str {
        &self.host
    }

    pub fn account(&self) -> String {
        format!("{}/site", self.host)
    }

    pub fn user(&self, account_id: &str) -> String {
        format!("{}/user/{account_id}", self.host)
    }

    /// Groups are keyed by id; the name stands in only when Atlassian sends no id.
    pub fn group(&self, group_id: Option<&str>, name: &str) -> String {
        match group_id {
            Some(id) => format!("{}/group/{id}", self.host),
            None => format!("{}/group/name:{name}", self.host),
        }
    }

    pub fn group_member(&self, group_id: Option<&str>, name: &str, account_id: &str) -> String {
        format!("{}/member/{account_id}", self.group(group_id, name))
    }

    pub fn project(&self, project_id: &str) -> String {
        format!("{}/jira/project/{project_id}", self.host)
    }

    pub fn project_role(&self, project_id: &str, role_id: &str) -> String {
        format!("{}/role/{role_id}", self.project(project_id))
    }

    pub fn role_actor(&self, project_id: &str, role_id: &str, actor_id: &str) -> String {
        format!(
            "{}/actor/{actor_id}",
            self.project_role(project_id, role_id)
        )
    }

    pub fn application_role(&self, key: &str) -> String {
        format!("{}/jira/application-role/{key}", self.host)
    }

    pub fn application_role_group(&self, key: &str, group_id: Option<&str>, name: &str) -> String {
        let group = match group_id {
            Some(id) => id.to_string(),
            None => format!("name:{name}"),
        };
        format!("{}/group/{group}", self.application_role(key))
    }

    pub fn permission_scheme(&self, scheme_id: &str) -> String {
        format!("{}/jira/permission-scheme/{scheme_id}", self.host)
    }

    pub fn permission_grant(&self, scheme_id: &str, grant_id: &str) -> String {
        format!("{}/grant/{grant_id}", self.permission_scheme(scheme_id))
    }

    pub fn space(&self, space_id: &str) -> String {
        format!("{}/confluence/space/{space_id}", self.host)
    }

    /// A space permission assignment, by Atlassian's id for it.
    pub fn space_permission(&self, space_id: &str, permission_id: &str) -> String {
        format!("{}/permission/{permission_id}", self.space(space_id))
    }

    /// A site permission: one principal granted one operation on the Confluence site.
    pub fn site_permission(&self, principal: &str, operation: &str) -> String {
        format!(
            "{}/confluence/site-permission/{principal}/{operation}",
            self.host
        )
    }

    /// Assets: a workspace's schema, object type or object, by Atlassian's ids.
    pub fn assets(&self, workspace_id: &str, what: &str, id: &str) -> String {
        format!("{}/assets/{workspace_id}/{what}/{id}", self.host)
    }

    pub fn service_desk(&self, service_desk_id: &str) -> String {
        format!("{}/jsm/service-desk/{service_desk_id}", self.host)
    }

    /// JSM customer organisations: their ids are not site group ids, so they get their own
    /// namespace.
    pub fn jsm_organization(&self, organization_id: &str) -> String {
        format!("{}/jsm/organization/{organization_id}", self.host)
    }

    pub fn setting(&self, source: &str, key: &str) -> String {
        format!("{}/setting/{source}/{key}", self.host)
    }

    pub fn org(&self, org_id: &str) -> String {
        format!("{}/org/{org_id}", self.host)
    }

    pub fn secret(&self, org_id: &str, secret_type: &str, secret_id: &str) -> String {
        format!("{}/{secret_type}/{secret_id}", self.org(org_id))
    }

    pub fn licence(&self, org_id: &str, product: &str, resource: &str) -> String {
        format!("{}/licence/{product}/{resource}", self.org(org_id))
    }

    pub fn event(&self, source: &str, event_id: &str) -> String {
        format!("{}/event/{source}/{event_id}", self.host)
    }

    pub fn coverage(&self, family: &str) -> String {
        format!("{}/coverage/{family}", self.host)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_serializes_its_tag_and_id_first() {
        for kind in Kind::ALL {
            let columns = kind.columns();
            assert_eq!(columns[0], "kind", "{kind:?}");
            assert_eq!(columns[1], "id", "{kind:?}");
            assert_eq!(columns[2], "site", "{kind:?}");
            let value = serde_json::to_value(kind.blank()).unwrap();
            assert_eq!(value["kind"], kind.name());
            assert_eq!(kind.blank().kind(), kind);
        }
    }

    #[test]
    fn absent_values_are_serialized_as_null_not_omitted() {
        let user = Record::User(User {
            id: "x".into(),
            ..User::default()
        });
        let line = serde_json::to_string(&user).unwrap();
        assert!(line.contains(r#""email":null"#), "{line}");
    }

    /// The README's schema section is the documentation users read: it must list exactly the
    /// fields each kind serializes, in order.
    #[test]
    fn readme_documents_every_field_of_every_kind() {
        let readme = include_str!("../../../README.md");
        for kind in Kind::ALL {
            let heading = format!("### `{}`", kind.name());
            let start = readme
                .find(&heading)
                .unwrap_or_else(|| panic!("README has no section {heading}"));
            let section = &readme[start + heading.len()..];
            let section = &section[..section.find("\n#").unwrap_or(section.len())];
            let documented: Vec<&str> = section
                .lines()
                .filter_map(|line| line.strip_prefix("| `"))
                .filter_map(|rest| rest.split('`').next())
                .collect();
            assert_eq!(documented, kind.columns(), "README section {heading}");
        }
    }

    #[test]
    fn ids_are_namespaced_by_site_and_stable() {
        let ns = Namespace::new("acme.atlassian.net");
        assert_eq!(ns.user("5b10a"), "acme.atlassian.net/user/5b10a");
        assert_eq!(
            ns.role_actor("10000", "10002", "10240"),
            "acme.atlassian.net/jira/project/10000/role/10002/actor/10240"
        );
        assert_eq!(
            ns.group(None, "legacy"),
            "acme.atlassian.net/group/name:legacy"
        );
        assert_eq!(ns.user("5b10a"), ns.user("5b10a"));
    }
}
