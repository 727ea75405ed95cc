//! The synthetic Jira site the tenant serves: accounts, groups and memberships, projects with their
//! roles and role actors, permission schemes and grants, application properties and application
//! roles.
//!
//! Everything here is plain data derived from the [`TenantConfig`] sizes with integer arithmetic
//! only (no randomness, no clock), so the same config always gives byte-identical responses and
//! tests can compare what a client collected against this ground truth. The HTTP shapes live in
//! `jira.rs`; nothing here knows about the wire.

use std::collections::HashMap;

use super::org_data::{self, OrgData};
use super::TenantConfig;

/// The ground truth of a simulated site.
#[derive(Clone, Debug)]
pub struct Dataset {
    /// Every account `/users/search` returns, in the order it returns them.
    pub users: Vec<User>,
    /// Built-in groups first, then team groups, in `/group/bulk` order.
    pub groups: Vec<Group>,
    /// In `/project/search` order (by key is what Jira defaults to; here: creation order).
    pub projects: Vec<Project>,
    pub permission_schemes: Vec<PermissionScheme>,
    pub application_properties: Vec<ApplicationProperty>,
    pub application_roles: Vec<ApplicationRole>,
    /// The Confluence side of the site, over the same accounts and groups.
    pub confluence: super::confluence_data::ConfluenceData,
    /// The organization behind the Admin API, when the config has one.
    pub org: Option<OrgData>,
    /// The Assets workspace, over the same accounts and groups.
    pub assets: super::assets_data::AssetsData,
    /// JSM's desks (the service-desk projects), customers and organisations.
    pub jsm: super::jsm_data::JsmData,
    /// `users` by account id: handlers look accounts up per member and per page.
    by_account: Index,
    /// `groups` by id and by name.
    by_group_id: Index,
    by_group_name: Index,
    /// `projects` by id and by key.
    by_project: Index,
    /// `permission_schemes` by id.
    by_scheme: Index,
}

/// Positions in one of the `Dataset` lists by a key. Derived data, so its `Debug` (whose order
/// a `HashMap` does not fix) says only its size.
#[derive(Clone, Default)]
pub(super) struct Index(HashMap<String, usize>);

impl Index {
    pub(super) fn of<'a, T: 'a>(items: &'a [T], keys: impl Fn(&'a T) -> Vec<String>) -> Index {
        let mut map = HashMap::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            for key in keys(item) {
                map.entry(key).or_insert(i);
            }
        }
        Index(map)
    }

    pub(super) fn get(&self, key: &str) -> Option<usize> {
        self.0.get(key).copied()
    }
}

impl std::fmt::Debug for Index {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Index({} keys)", self.0.len())
    }
}

/// What a complete collection of the site must find: counts per record kind, computed from the
/// dataset the tenant serves. A benchmark compares the collector's output to it.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Expected {
    /// Every account `/users/search` lists.
    pub users: usize,
    /// The site's groups (`/group/bulk`).
    pub groups: usize,
    /// Group memberships, inactive members included.
    pub memberships: usize,
    pub projects: usize,
    /// Roles over all projects (`roledetails`).
    pub project_roles: usize,
    /// Actors over all project roles.
    pub role_actors: usize,
    pub permission_schemes: usize,
    /// Grants over all permission schemes.
    pub permission_grants: usize,
    /// Confluence spaces and their permission assignments.
    pub spaces: usize,
    pub space_permissions: usize,
    /// Assets objects.
    pub assets: usize,
    /// JSM service desks and customer organisations.
    pub service_desks: usize,
    pub jsm_organizations: usize,
    /// The organisation's directory users, groups (site groups included), user API tokens,
    /// admin API keys, service accounts and their tokens; zero without an organisation.
    pub org_users: usize,
    pub org_groups: usize,
    pub api_tokens: usize,
    pub api_keys: usize,
    pub service_accounts: usize,
    pub service_account_tokens: usize,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct User {
    pub account_id: String,
    /// `atlassian`, `app` or `customer`: the values of the spec's `User.accountType` enum we use.
    pub account_type: String,
    pub active: bool,
    pub display_name: String,
    /// `None` when the account's profile visibility hides it: Jira then omits `emailAddress`.
    pub email: Option<String>,
    pub time_zone: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Group {
    pub group_id: String,
    pub name: String,
    /// Account ids in `/users/search` order, inactive accounts included.
    pub members: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Project {
    /// Jira project ids are numeric strings on the wire.
    pub id: String,
    pub key: String,
    pub name: String,
    pub description: String,
    /// `true` for team-managed (`style: next-gen`), `false` for company-managed (`style: classic`).
    pub simplified: bool,
    /// `software`, `business` or `service_desk`.
    pub project_type_key: String,
    pub lead_account_id: String,
    /// Team-managed projects carry a UUID; company-managed ones do not.
    pub uuid: Option<String>,
    /// `None` for team-managed projects: their permissions are not a shared scheme.
    pub permission_scheme_id: Option<i64>,
    pub roles: Vec<ProjectRole>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProjectRole {
    pub id: i64,
    pub name: String,
    pub description: String,
    /// The role that administers the project (`ProjectRoleDetails.admin`).
    pub admin: bool,
    /// The role new members get (`ProjectRoleDetails.default`).
    pub default: bool,
    /// Sorted by display name (case-insensitively), as `getProjectRole` documents.
    pub actors: Vec<RoleActor>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RoleActor {
    /// The actor id: not the user's or group's id.
    pub id: i64,
    pub display_name: String,
    pub kind: ActorKind,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ActorKind {
    /// An account id.
    User(String),
    Group {
        group_id: String,
        name: String,
    },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PermissionScheme {
    pub id: i64,
    pub name: String,
    pub description: String,
    pub grants: Vec<Grant>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Grant {
    pub id: i64,
    pub permission: String,
    /// `PermissionHolder.type`: `group`, `projectRole`, `applicationRole`, `user`, `anyone`,
    /// `projectLead`, `reporter`, `assignee`.
    pub holder_type: String,
    /// Group name, role id, application key or account id; absent for the parameterless types.
    pub parameter: Option<String>,
    /// Group id for `group` holders, otherwise the same as `parameter`.
    pub value: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApplicationProperty {
    /// Jira uses the key as the id.
    pub id: String,
    pub key: String,
    pub name: String,
    pub desc: String,
    pub kind: String,
    pub value: String,
    pub default_value: String,
    pub allowed_values: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApplicationRole {
    pub key: String,
    pub name: String,
    /// Group names granting access to the application.
    pub groups: Vec<String>,
    /// The ids of `groups`, same order.
    pub group_ids: Vec<String>,
    pub default_groups: Vec<String>,
    pub seats: i64,
    /// Distinct active members of `groups`.
    pub user_count: i64,
    pub platform: bool,
}

impl Dataset {
    pub fn user(&self, account_id: &str) -> Option<&User> {
        self.by_account.get(account_id).map(|i| &self.users[i])
    }

    pub fn group_by_id(&self, group_id: &str) -> Option<&Group> {
        self.by_group_id.get(group_id).map(|i| &self.groups[i])
    }

    pub fn group_by_name(&self, name: &str) -> Option<&Group> {
        self.by_group_name.get(name).map(|i| &self.groups[i])
    }

    /// Looks a project up the way Jira's `{projectIdOrKey}` does: by id or key, case sensitive.
    pub fn project(&self, id_or_key: &str) -> Option<&Project> {
        self.by_project.get(id_or_key).map(|i| &self.projects[i])
    }

    pub fn permission_scheme(&self, id: i64) -> Option<&PermissionScheme> {
        self.by_scheme
            .get(&id.to_string())
            .map(|i| &self.permission_schemes[i])
    }

    /// The counts a complete collection must find (see [`Expected`]).
    pub fn expected(&self) -> Expected {
        let roles = self.projects.iter().flat_map(|p| &p.roles);
        let org = self.org.as_ref();
        let org_count = |f: fn(&OrgData) -> usize| org.map(f).unwrap_or(0);
        Expected {
            users: self.users.len(),
            groups: self.groups.len(),
            memberships: self.groups.iter().map(|g| g.members.len()).sum(),
            projects: self.projects.len(),
            project_roles: roles.clone().count(),
            role_actors: roles.map(|r| r.actors.len()).sum(),
            permission_schemes: self.permission_schemes.len(),
            permission_grants: self.permission_schemes.iter().map(|s| s.grants.len()).sum(),
            spaces: self.confluence.spaces.len(),
            space_permissions: self
                .confluence
                .spaces
                .iter()
                .map(|s| s.permissions.len())
                .sum(),
            assets: self.assets.objects.len(),
            service_desks: self.jsm.service_desks.len(),
            jsm_organizations: self.jsm.organizations.len(),
            org_users: org_count(|o| o.users.len()),
            org_groups: org_count(|o| o.groups.len()),
            api_tokens: org_count(|o| o.api_tokens.len()),
            api_keys: org_count(|o| o.api_keys.len()),
            service_accounts: org_count(|o| o.service_accounts.len()),
            service_account_tokens: org_count(|o| {
                o.service_accounts.iter().map(|a| a.tokens.len()).sum()
            }),
        }
    }

    pub(super) fn generate(config: &TenantConfig) -> Dataset {
        let users = users(config.users);
        let groups = groups(&users, config.groups, config.team_groups_per_person);
        let permission_schemes =
            permission_schemes(&users, &groups, config.permission_schemes.max(3));
        let projects = projects(
            config.projects,
            config.roles_per_project,
            &users,
            &groups,
            &permission_schemes,
        );
        let application_roles = application_roles(&users, &groups);
        let confluence = super::confluence_data::generate(&config.confluence, &users, &groups);
        let org = config
            .org
            .as_ref()
            .map(|org| org_data::generate(org, &users, &groups));
        let by_account = Index::of(&users, |u| vec![u.account_id.clone()]);
        let by_group_id = Index::of(&groups, |g| vec![g.group_id.clone()]);
        let by_group_name = Index::of(&groups, |g| vec![g.name.clone()]);
        let by_project = Index::of(&projects, |p| vec![p.id.clone(), p.key.clone()]);
        let by_scheme = Index::of(&permission_schemes, |s| vec![s.id.to_string()]);
        let assets = super::assets_data::generate(&config.assets, &users, &groups);
        let jsm = super::jsm_data::generate(&config.jsm, &users, &projects);
        Dataset {
            assets,
            jsm,
            confluence,
            by_account,
            by_group_id,
            by_group_name,
            by_project,
            by_scheme,
            users,
            groups,
            projects,
            permission_schemes,
            application_properties: application_properties(),
            application_roles,
            org,
        }
    }
}

pub(super) const JIRA_ADMINISTRATORS: &str = "jira-administrators";
pub(super) const JIRA_SOFTWARE_USERS: &str = "jira-software-users";
pub(super) const SITE_ADMINS: &str = "site-admins";
pub(super) const JSM_USERS: &str = "jira-servicemanagement-users";

const FIRST_NAMES: [&str; 16] = [
    "Mia", "Emma", "Liam", "Noah", "Olivia", "Ava", "Lucas", "Sofia", "Mateo", "Aisha", "Kenji",
    "Priya", "Tomas", "Ingrid", "Omar", "Chloe",
];
// 13 is coprime with 16, so (i % 16, i % 13) is a distinct pair for the first 208 accounts.
const LAST_NAMES: [&str; 13] = [
    "Krystof",
    "Richards",
    "Okafor",
    "Lindqvist",
    "Tanaka",
    "Moreau",
    "Haddad",
    "Novak",
    "Fernandes",
    "Kowalski",
    "Nguyen",
    "Schmidt",
    "Costa",
];
const APP_NAMES: [&str; 6] = [
    "Automation for Jira",
    "Slack",
    "Jira Cloud for Microsoft Teams",
    "GitHub for Jira",
    "Opsgenie",
    "Statuspage",
];
const TIME_ZONES: [&str; 7] = [
    "Europe/Berlin",
    "America/New_York",
    "Australia/Sydney",
    "Asia/Tokyo",
    "Europe/London",
    "America/Los_Angeles",
    "UTC",
];
const TEAM_GROUPS: [&str; 10] = [
    "engineering",
    "operations",
    "design",
    "support-agents",
    "finance",
    "marketing",
    "security",
    "data-platform",
    "mobile",
    "quality",
];
const PROJECTS: [(&str, &str); 12] = [
    ("ENG", "Engineering"),
    ("OPS", "Operations"),
    ("MKT", "Marketing"),
    ("SUP", "Customer Support"),
    ("DES", "Design System"),
    ("FIN", "Finance"),
    ("SEC", "Security"),
    ("DATA", "Data Platform"),
    ("MOB", "Mobile"),
    ("WEB", "Website"),
    ("HR", "People Ops"),
    ("QA", "Quality"),
];
const PROJECT_TYPES: [&str; 3] = ["software", "business", "service_desk"];

// Company-managed projects share the global roles; these are the ids Jira gives its default
// roles (Users 10000, Developers 10001, Administrators 10002) plus the role apps are added to.
const ROLE_USERS: i64 = 10000;
const ROLE_DEVELOPERS: i64 = 10001;
const ROLE_ADMINISTRATORS: i64 = 10002;
const ROLE_ADDONS: i64 = 10003;
/// Team-managed projects own their roles; their ids start here, three per project.
const TEAM_ROLE_BASE: i64 = 10100;
const ACTOR_ID_BASE: i64 = 20000;
const GRANT_ID_BASE: i64 = 10000;

/// SplitMix64: a fixed, well-spread mapping from an index to 64 bits.
pub(super) fn mix(tag: u64, index: u64) -> u64 {
    let mut z = tag
        .wrapping_mul(0x9E37_79B9_7F4A_7C15)
        .wrapping_add(index)
        .wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A version-4-shaped UUID derived from `(tag, index)`.
pub(super) fn uuid_like(tag: u64, index: u64) -> String {
    let a = mix(tag, 2 * index);
    let b = mix(tag, 2 * index + 1);
    format!(
        "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0xfff,
        ((b >> 48) & 0x3fff) | 0x8000,
        b & 0xffff_ffff_ffff
    )
}

const TAG_ACCOUNT: u64 = 1;
const TAG_GROUP: u64 = 2;
const TAG_PROJECT: u64 = 3;

/// Account id shapes seen on real sites: `712020:<uuid>` for current Atlassian accounts, the
/// legacy 24-hex form for older ones, `557058:<uuid>` for apps and `qm:<uuid>:<uuid>` for JSM
/// customers.
fn account_id(kind: &str, index: usize) -> String {
    let i = index as u64;
    match kind {
        "app" => format!("557058:{}", uuid_like(TAG_ACCOUNT, i)),
        "customer" => format!(
            "qm:{}:{}",
            uuid_like(TAG_ACCOUNT, i),
            uuid_like(TAG_ACCOUNT + 100, i)
        ),
        _ if index.is_multiple_of(5) => {
            let a = mix(TAG_ACCOUNT + 200, i);
            format!("5{:015x}{:08x}", a >> 4, mix(TAG_ACCOUNT + 300, i) as u32)
        }
        _ => format!("712020:{}", uuid_like(TAG_ACCOUNT, i)),
    }
}

/// `app` every 13th account from 7, `customer` every 13th from 11, the rest `atlassian`: about
/// 85/8/8, which keeps more than 50 Atlassian accounts (all in `jira-software-users`) once a site
/// has 60 users, so `/group/member` needs several pages.
fn account_type(index: usize) -> &'static str {
    match index % 13 {
        7 => "app",
        11 => "customer",
        _ => "atlassian",
    }
}

fn person_name(index: usize) -> (String, String) {
    let first = FIRST_NAMES[index % FIRST_NAMES.len()];
    let mut last = LAST_NAMES[index % LAST_NAMES.len()].to_string();
    let round = index / (FIRST_NAMES.len() * LAST_NAMES.len());
    if round > 0 {
        last = format!("{last}{}", round + 1);
    }
    (first.to_string(), last)
}

fn users(count: usize) -> Vec<User> {
    let mut atlassian_seen = 0;
    let mut apps_seen = 0;
    (0..count)
        .map(|i| {
            let kind = account_type(i);
            let (first, last) = person_name(i);
            let (display_name, email) = match kind {
                "app" => {
                    let base = APP_NAMES[apps_seen % APP_NAMES.len()];
                    let round = apps_seen / APP_NAMES.len();
                    apps_seen += 1;
                    let name = if round == 0 {
                        base.to_string()
                    } else {
                        format!("{base} {}", round + 1)
                    };
                    // App accounts have no email address.
                    (name, None)
                }
                "customer" => (
                    format!("{first} {last}"),
                    Some(email_address(&first, &last, "customer.example")),
                ),
                _ => {
                    // About 30% of people hide their email through profile visibility.
                    let hidden = matches!(atlassian_seen % 10, 1 | 4 | 7);
                    atlassian_seen += 1;
                    let email = (!hidden).then(|| email_address(&first, &last, "acme.example"));
                    (format!("{first} {last}"), email)
                }
            };
            User {
                account_id: account_id(kind, i),
                account_type: kind.to_string(),
                active: i % 7 != 3,
                display_name,
                email,
                time_zone: TIME_ZONES[i % TIME_ZONES.len()].to_string(),
            }
        })
        .collect()
}

fn email_address(first: &str, last: &str, domain: &str) -> String {
    format!("{}.{}@{domain}", first.to_lowercase(), last.to_lowercase())
}

fn team_group_name(index: usize) -> String {
    let base = TEAM_GROUPS[index % TEAM_GROUPS.len()];
    match index / TEAM_GROUPS.len() {
        0 => base.to_string(),
        round => format!("{base}-{}", round + 1),
    }
}

/// Built-in groups, then `team_groups` team groups. Memberships are spread by index over the
/// Atlassian accounts (inactive ones included, as on a real site where deactivating an account
/// keeps its memberships). `per_person` team groups each (and every fourth account one more);
/// `0`: one, and every fifth account a second.
fn groups(users: &[User], team_groups: usize, per_person: usize) -> Vec<Group> {
    let builtins = [
        JIRA_ADMINISTRATORS,
        JIRA_SOFTWARE_USERS,
        SITE_ADMINS,
        JSM_USERS,
    ];
    let names = builtins
        .iter()
        .map(|n| n.to_string())
        .chain((0..team_groups).map(team_group_name));
    let mut groups: Vec<Group> = names
        .enumerate()
        .map(|(i, name)| Group {
            group_id: uuid_like(TAG_GROUP, i as u64),
            name,
            members: Vec::new(),
        })
        .collect();
    let people = users
        .iter()
        .enumerate()
        .filter(|(_, u)| u.account_type == "atlassian");
    for (ordinal, (index, user)) in people.enumerate() {
        let mut member_of = vec![1];
        if index % 12 == 0 {
            member_of.push(0);
        }
        if index % 24 == 0 {
            member_of.push(2);
        }
        if index % 3 == 1 {
            member_of.push(3);
        }
        if team_groups > 0 && per_person == 0 {
            member_of.push(4 + ordinal % team_groups);
            let second = 4 + (ordinal / 5 + 1) % team_groups;
            if ordinal % 5 == 0 && !member_of.contains(&second) {
                member_of.push(second);
            }
        } else if team_groups > 0 {
            // Distinct groups a stride apart; the stride varies with the account so groups mix.
            let count = (per_person + usize::from(ordinal % 4 == 0)).min(team_groups);
            let stride = (team_groups / count).max(1);
            for k in 0..count {
                member_of.push(4 + (ordinal + k * stride) % team_groups);
            }
        }
        for g in member_of {
            groups[g].members.push(user.account_id.clone());
        }
    }
    groups
}

struct Ids {
    next: i64,
}

impl Ids {
    fn take(&mut self) -> i64 {
        self.next += 1;
        self.next - 1
    }
}

fn people(users: &[User]) -> Vec<&User> {
    users
        .iter()
        .filter(|u| u.account_type == "atlassian")
        .collect()
}

fn group_actor(ids: &mut Ids, group: &Group) -> RoleActor {
    RoleActor {
        id: ids.take(),
        display_name: group.name.clone(),
        kind: ActorKind::Group {
            group_id: group.group_id.clone(),
            name: group.name.clone(),
        },
    }
}

fn user_actor(ids: &mut Ids, user: &User) -> RoleActor {
    RoleActor {
        id: ids.take(),
        display_name: user.display_name.clone(),
        kind: ActorKind::User(user.account_id.clone()),
    }
}

/// Builds role actors from the users and groups named, dropping duplicates and sorting by
/// display name (case-insensitively) as `getProjectRole` documents.
fn actors(ids: &mut Ids, users: &[&User], groups: &[&Group]) -> Vec<RoleActor> {
    let mut out: Vec<RoleActor> = Vec::new();
    for group in groups {
        if !out.iter().any(|a| a.display_name == group.name) {
            out.push(group_actor(ids, group));
        }
    }
    for user in users {
        let seen = out
            .iter()
            .any(|a| a.kind == ActorKind::User(user.account_id.clone()));
        if !seen {
            out.push(user_actor(ids, user));
        }
    }
    out.sort_by_key(|a| (a.display_name.to_lowercase(), a.id));
    out
}

fn role(id: i64, name: &str, description: &str, actors: Vec<RoleActor>) -> ProjectRole {
    ProjectRole {
        id,
        name: name.to_string(),
        description: description.to_string(),
        admin: name.starts_with("Administrator"),
        default: matches!(name, "Users" | "Member"),
        actors,
    }
}

fn group_named<'a>(groups: &'a [Group], name: &str) -> &'a Group {
    groups
        .iter()
        .find(|g| g.name == name)
        .expect("built-in groups are always generated")
}

/// Roles a project gets beyond Jira's defaults when a config asks for more.
const EXTRA_ROLES: [(&str, &str); 6] = [
    ("Service Desk Team", "Agents working the project's queues"),
    ("Viewers", "Read-only access to the project"),
    ("Testers", "Quality engineers verifying releases"),
    ("Release Managers", "People who ship the project's versions"),
    ("Contractors", "External people with time-limited access"),
    ("Auditors", "Compliance reviewers"),
];

fn projects(
    count: usize,
    roles_per_project: usize,
    users: &[User],
    groups: &[Group],
    schemes: &[PermissionScheme],
) -> Vec<Project> {
    let people = people(users);
    let leads: Vec<&User> = people.iter().copied().filter(|u| u.active).collect();
    let apps: Vec<&User> = users.iter().filter(|u| u.account_type == "app").collect();
    let teams = &groups[4..];
    let admins = group_named(groups, JIRA_ADMINISTRATORS);
    let software = group_named(groups, JIRA_SOFTWARE_USERS);
    let agents = group_named(groups, JSM_USERS);
    let mut actor_ids = Ids {
        next: ACTOR_ID_BASE,
    };
    let mut team_managed = 0;
    let mut company_managed = 0;
    let mut out = Vec::with_capacity(count);
    for i in 0..count {
        let (key, name) = match PROJECTS.get(i) {
            Some((key, name)) => (key.to_string(), name.to_string()),
            None => (format!("P{}", i + 1), format!("Project {}", i + 1)),
        };
        // Every 4th project is team-managed; the first one never is.
        let simplified = i % 4 == 3;
        let project_type_key = PROJECT_TYPES[i % PROJECT_TYPES.len()];
        let lead = leads.get(i % leads.len().max(1)).copied();
        let lead_account_id = lead.map(|u| u.account_id.clone()).unwrap_or_default();
        let developers: Vec<&User> = match people.len() {
            0 => Vec::new(),
            n => vec![people[(3 * i + 1) % n], people[(3 * i + 2) % n]],
        };
        let team: Vec<&Group> = teams.get(i % teams.len().max(1)).into_iter().collect();
        let mut everyone = vec![software];
        if project_type_key == "service_desk" {
            everyone.push(agents);
        }
        let lead_only: Vec<&User> = lead.into_iter().collect();
        let stride = roles_per_project.max(3) as i64;
        let mut roles = if simplified {
            let base = TEAM_ROLE_BASE + stride * team_managed;
            team_managed += 1;
            vec![
                role(
                    base,
                    "Administrator",
                    "Admins can do most things, like update settings and add other admins.",
                    actors(&mut actor_ids, &lead_only, &[admins]),
                ),
                role(
                    base + 1,
                    "Member",
                    "Members are part of the team, and can add, edit, and collaborate on all work.",
                    actors(&mut actor_ids, &developers, &team),
                ),
                role(
                    base + 2,
                    "Viewer",
                    "Viewers can search through, view, and comment on your team's work, but not much else.",
                    actors(&mut actor_ids, &[], &everyone),
                ),
            ]
        } else {
            let app: Vec<&User> = apps
                .get(i % apps.len().max(1))
                .into_iter()
                .copied()
                .collect();
            vec![
                role(
                    ROLE_ADMINISTRATORS,
                    "Administrators",
                    "A project role that represents administrators in a project",
                    actors(&mut actor_ids, &lead_only, &[admins]),
                ),
                role(
                    ROLE_DEVELOPERS,
                    "Developers",
                    "A project role that represents developers in a project",
                    actors(&mut actor_ids, &developers, &team),
                ),
                role(
                    ROLE_USERS,
                    "Users",
                    "A project role that represents users in a project",
                    actors(&mut actor_ids, &[], &everyone),
                ),
                role(
                    ROLE_ADDONS,
                    "atlassian-addons-project-access",
                    "A project role that represents Connect add-ons declaring a scope that requires more than read issue permissions",
                    actors(&mut actor_ids, &app, &[]),
                ),
            ]
        };
        // Further roles up to `roles_per_project`: global ids after Jira's four for
        // company-managed projects, the project's own after its three for team-managed ones.
        let first_extra = if simplified {
            TEAM_ROLE_BASE + stride * (team_managed - 1) + 3
        } else {
            ROLE_ADDONS + 1
        };
        let extras = roles_per_project.saturating_sub(roles.len());
        for k in 0..extras {
            let (name, description) = EXTRA_ROLES[k % EXTRA_ROLES.len()];
            let name = match k / EXTRA_ROLES.len() {
                0 => name.to_string(),
                round => format!("{name} {}", round + 1),
            };
            let group = teams.get((i + k + 1) % teams.len().max(1));
            let person = people.get((5 * i + k) % people.len().max(1)).copied();
            let actors = actors(
                &mut actor_ids,
                &person.into_iter().collect::<Vec<_>>(),
                &group.into_iter().collect::<Vec<_>>(),
            );
            roles.push(role(first_extra + k as i64, &name, description, actors));
        }
        let permission_scheme_id = (!simplified).then(|| {
            let scheme = &schemes[company_managed % schemes.len()];
            company_managed += 1;
            scheme.id
        });
        out.push(Project {
            id: (10000 + i).to_string(),
            description: format!("{name} work tracked in Jira."),
            key,
            name,
            simplified,
            project_type_key: project_type_key.to_string(),
            lead_account_id,
            uuid: simplified.then(|| uuid_like(TAG_PROJECT, i as u64)),
            permission_scheme_id,
            roles,
        });
    }
    out
}

enum Holder<'a> {
    Group(&'a Group),
    ProjectRole(i64),
    ApplicationRole(&'a str),
    User(&'a User),
    Anyone,
    ProjectLead,
    Reporter,
    Assignee,
}

fn grant(ids: &mut Ids, permission: &str, holder: Holder) -> Grant {
    // Parameter and value per the `getAllPermissionSchemes` description: group name and group id
    // for groups; the same string twice for roles, applications and users; nothing otherwise.
    let (holder_type, parameter, value) = match holder {
        Holder::Group(g) => ("group", Some(g.name.clone()), Some(g.group_id.clone())),
        Holder::ProjectRole(id) => ("projectRole", Some(id.to_string()), Some(id.to_string())),
        Holder::ApplicationRole(key) => ("applicationRole", Some(key.into()), Some(key.into())),
        Holder::User(u) => (
            "user",
            Some(u.account_id.clone()),
            Some(u.account_id.clone()),
        ),
        Holder::Anyone => ("anyone", None, None),
        Holder::ProjectLead => ("projectLead", None, None),
        Holder::Reporter => ("reporter", None, None),
        Holder::Assignee => ("assignee", None, None),
    };
    Grant {
        id: ids.take(),
        permission: permission.to_string(),
        holder_type: holder_type.to_string(),
        parameter,
        value,
    }
}

/// Three schemes that between them use every holder type the collector must understand, then
/// generated ones up to `count`, each granting its own team group, the default roles and a
/// person.
fn permission_schemes(users: &[User], groups: &[Group], count: usize) -> Vec<PermissionScheme> {
    let mut ids = Ids {
        next: GRANT_ID_BASE,
    };
    let people = people(users);
    let admins = group_named(groups, JIRA_ADMINISTRATORS);
    let software = group_named(groups, JIRA_SOFTWARE_USERS);
    let site_admins = group_named(groups, SITE_ADMINS);
    let agents = group_named(groups, JSM_USERS);
    let team = groups.get(4).unwrap_or(software);
    let default = vec![
        grant(
            &mut ids,
            "ADMINISTER_PROJECTS",
            Holder::ProjectRole(ROLE_ADMINISTRATORS),
        ),
        grant(
            &mut ids,
            "BROWSE_PROJECTS",
            Holder::ApplicationRole("jira-software"),
        ),
        grant(
            &mut ids,
            "CREATE_ISSUES",
            Holder::ApplicationRole("jira-software"),
        ),
        grant(
            &mut ids,
            "EDIT_ISSUES",
            Holder::ProjectRole(ROLE_DEVELOPERS),
        ),
        grant(
            &mut ids,
            "ASSIGNABLE_USER",
            Holder::ProjectRole(ROLE_DEVELOPERS),
        ),
        grant(&mut ids, "ASSIGN_ISSUES", Holder::ProjectLead),
        grant(&mut ids, "ADD_COMMENTS", Holder::Reporter),
        grant(&mut ids, "ADD_COMMENTS", Holder::Assignee),
        grant(&mut ids, "CLOSE_ISSUES", Holder::Assignee),
        grant(&mut ids, "DELETE_ISSUES", Holder::Group(admins)),
    ];
    let mut restricted = vec![
        grant(&mut ids, "BROWSE_PROJECTS", Holder::Group(team)),
        grant(&mut ids, "BROWSE_PROJECTS", Holder::ProjectRole(ROLE_USERS)),
        grant(
            &mut ids,
            "CREATE_ISSUES",
            Holder::ProjectRole(ROLE_DEVELOPERS),
        ),
        grant(&mut ids, "SERVICEDESK_AGENT", Holder::Group(agents)),
    ];
    for user in people.iter().skip(1).take(2) {
        restricted.push(grant(&mut ids, "ADMINISTER_PROJECTS", Holder::User(user)));
    }
    let public = vec![
        grant(&mut ids, "BROWSE_PROJECTS", Holder::Anyone),
        grant(&mut ids, "CREATE_ISSUES", Holder::Group(software)),
        grant(&mut ids, "ADMINISTER_PROJECTS", Holder::Group(site_admins)),
        grant(
            &mut ids,
            "VIEW_DEV_TOOLS",
            Holder::ProjectRole(ROLE_DEVELOPERS),
        ),
        grant(&mut ids, "ASSIGNABLE_USER", Holder::ProjectLead),
    ];
    let mut schemes = vec![
        // Jira's own default scheme has id 0.
        scheme(
            0,
            "Default Permission Scheme",
            "This is the default Permission Scheme. Any new projects that are created will be assigned this scheme.",
            default,
        ),
        scheme(
            10000,
            "Restricted Permission Scheme",
            "Only named people and teams can see these projects.",
            restricted,
        ),
        scheme(
            10001,
            "Public Permission Scheme",
            "Anyone on the web can browse these projects.",
            public,
        ),
    ];
    let teams = &groups[4.min(groups.len())..];
    for n in 0..count.saturating_sub(schemes.len()) {
        let team = teams.get(n % teams.len().max(1)).unwrap_or(software);
        let mut grants = vec![
            grant(&mut ids, "BROWSE_PROJECTS", Holder::Group(team)),
            grant(&mut ids, "BROWSE_PROJECTS", Holder::ProjectRole(ROLE_USERS)),
            grant(
                &mut ids,
                "CREATE_ISSUES",
                Holder::ProjectRole(ROLE_DEVELOPERS),
            ),
            grant(
                &mut ids,
                "EDIT_ISSUES",
                Holder::ProjectRole(ROLE_DEVELOPERS),
            ),
            grant(
                &mut ids,
                "ADMINISTER_PROJECTS",
                Holder::ProjectRole(ROLE_ADMINISTRATORS),
            ),
            grant(&mut ids, "ASSIGN_ISSUES", Holder::ProjectLead),
            grant(&mut ids, "ADD_COMMENTS", Holder::Reporter),
            grant(&mut ids, "DELETE_ISSUES", Holder::Group(admins)),
        ];
        if let Some(person) = people.get((7 * n + 3) % people.len().max(1)) {
            grants.push(grant(&mut ids, "ADMINISTER_PROJECTS", Holder::User(person)));
        }
        schemes.push(scheme(
            10002 + n as i64,
            &format!("{} Permission Scheme", team.name),
            "Team-owned projects.",
            grants,
        ));
    }
    schemes
}

fn scheme(id: i64, name: &str, description: &str, grants: Vec<Grant>) -> PermissionScheme {
    PermissionScheme {
        id,
        name: name.to_string(),
        description: description.to_string(),
        grants,
    }
}

fn property(key: &str, name: &str, kind: &str, value: &str, default: &str) -> ApplicationProperty {
    ApplicationProperty {
        id: key.to_string(),
        key: key.to_string(),
        name: name.to_string(),
        desc: String::new(),
        kind: kind.to_string(),
        value: value.to_string(),
        default_value: default.to_string(),
        allowed_values: Vec::new(),
    }
}

/// A selection of the editable properties Jira Cloud lists without `key`.
fn application_properties() -> Vec<ApplicationProperty> {
    let mut order = property(
        "jira.issue.actions.order",
        "Default order of comments and activity on issues",
        "enum",
        "desc",
        "asc",
    );
    order.allowed_values = vec!["asc".to_string(), "desc".to_string()];
    let mut collapsing = property(
        "jira.comment.collapsing.minimum.hidden",
        "Minimum number of comments to collapse",
        "number",
        "4",
        "4",
    );
    collapsing.desc = "0 disables collapsing".to_string();
    vec![
        property(
            "jira.clone.prefix",
            "The prefix added to the Summary field of cloned issues",
            "string",
            "CLONE -",
            "CLONE -",
        ),
        property(
            "jira.date.picker.java.format",
            "Date picker format (Java)",
            "string",
            "d/MMM/yy",
            "d/MMM/yy",
        ),
        property(
            "jira.date.time.picker.java.format",
            "Date time picker format (Java)",
            "string",
            "dd/MMM/yy h:mm a",
            "dd/MMM/yy h:mm a",
        ),
        order,
        property(
            "jira.lf.date.complete",
            "Complete date/time format",
            "string",
            "dd/MMM/yy h:mm a",
            "dd/MMM/yy h:mm a",
        ),
        property(
            "jira.lf.date.dmy",
            "Day/month/year format",
            "string",
            "dd/MMM/yy",
            "dd/MMM/yy",
        ),
        property(
            "jira.view.issue.links.sort.order",
            "Sort order of issue links",
            "string",
            "type, status, priority",
            "type, status, priority",
        ),
        collapsing,
    ]
}

fn application_roles(users: &[User], groups: &[Group]) -> Vec<ApplicationRole> {
    let role = |key: &str, name: &str, names: &[&str], seats: i64, platform: bool| {
        let members: Vec<&Group> = names.iter().map(|n| group_named(groups, n)).collect();
        let in_groups: std::collections::HashSet<&str> = members
            .iter()
            .flat_map(|g| g.members.iter().map(String::as_str))
            .collect();
        let user_count = users
            .iter()
            .filter(|u| u.active && in_groups.contains(u.account_id.as_str()))
            .count() as i64;
        ApplicationRole {
            key: key.to_string(),
            name: name.to_string(),
            groups: names.iter().map(|n| n.to_string()).collect(),
            group_ids: members.iter().map(|g| g.group_id.clone()).collect(),
            default_groups: vec![names[0].to_string()],
            seats,
            user_count,
            platform,
        }
    };
    vec![
        role(
            "jira-software",
            "Jira Software",
            &[JIRA_SOFTWARE_USERS, JIRA_ADMINISTRATORS],
            100,
            false,
        ),
        role(
            "jira-servicedesk",
            "Jira Service Management",
            &[JSM_USERS],
            25,
            false,
        ),
        role("jira-core", "Jira Core", &[JIRA_SOFTWARE_USERS], 100, true),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::SecretString;

    fn config(users: usize, groups: usize, projects: usize) -> TenantConfig {
        let mut config = TenantConfig::small("a@b.example", SecretString::from("t"));
        config.users = users;
        config.groups = groups;
        config.projects = projects;
        config
    }

    #[test]
    fn same_config_same_data() {
        let a = Dataset::generate(&config(60, 6, 12));
        let b = Dataset::generate(&config(60, 6, 12));
        assert_eq!(format!("{a:?}"), format!("{b:?}"));
    }

    #[test]
    fn account_ids_are_unique_and_shaped_like_atlassian() {
        let data = Dataset::generate(&config(200, 6, 12));
        let mut ids: Vec<&str> = data.users.iter().map(|u| u.account_id.as_str()).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), 200);
        assert!(ids.iter().any(|id| id.starts_with("712020:")));
        assert!(ids.iter().any(|id| id.len() == 24 && !id.contains(':')));
        assert!(ids.iter().any(|id| id.starts_with("557058:")));
        assert!(ids.iter().any(|id| id.starts_with("qm:")));
        let names: Vec<&str> = data.users.iter().map(|u| u.display_name.as_str()).collect();
        assert!(names.iter().all(|n| !n.is_empty()));
    }

    #[test]
    fn account_mix_is_realistic() {
        let data = Dataset::generate(&config(100, 6, 12));
        let count = |kind: &str| data.users.iter().filter(|u| u.account_type == kind).count();
        assert!((80..=90).contains(&count("atlassian")));
        assert!((5..=12).contains(&count("app")));
        assert!((5..=12).contains(&count("customer")));
        let inactive = data.users.iter().filter(|u| !u.active).count();
        assert!((10..=20).contains(&inactive), "{inactive}");
        let hidden = data
            .users
            .iter()
            .filter(|u| u.account_type == "atlassian" && u.email.is_none())
            .count();
        assert!((20..=35).contains(&(hidden * 100 / count("atlassian"))));
    }

    #[test]
    fn every_group_has_members_and_a_big_one_needs_pages() {
        for users in 60..=80 {
            let data = Dataset::generate(&config(users, 6, 12));
            assert!(data.groups.iter().all(|g| !g.members.is_empty()));
            assert!(data.groups.iter().any(|g| g.members.len() > 50), "{users}");
            let inactive_member = data
                .groups
                .iter()
                .flat_map(|g| &g.members)
                .any(|id| data.user(id).is_some_and(|u| !u.active));
            assert!(inactive_member);
        }
    }

    #[test]
    fn projects_mix_management_styles_and_schemes() {
        let data = Dataset::generate(&config(60, 6, 12));
        assert_eq!(data.projects[0].id, "10000");
        assert!(!data.projects[0].simplified);
        let team_managed: Vec<&Project> = data.projects.iter().filter(|p| p.simplified).collect();
        assert_eq!(team_managed.len(), 3);
        assert!(team_managed
            .iter()
            .all(|p| p.permission_scheme_id.is_none()));
        for project in data.projects.iter().filter(|p| !p.simplified) {
            let id = project
                .permission_scheme_id
                .expect("company-managed has a scheme");
            assert!(data.permission_scheme(id).is_some());
        }
        for role in data.projects.iter().flat_map(|p| &p.roles) {
            let names: Vec<String> = role
                .actors
                .iter()
                .map(|a| a.display_name.to_lowercase())
                .collect();
            let mut sorted = names.clone();
            sorted.sort();
            assert_eq!(names, sorted);
        }
    }

    #[test]
    fn schemes_cover_every_holder_type() {
        let data = Dataset::generate(&config(30, 3, 6));
        let types: Vec<&str> = data
            .permission_schemes
            .iter()
            .flat_map(|s| &s.grants)
            .map(|g| g.holder_type.as_str())
            .collect();
        for expected in [
            "group",
            "projectRole",
            "applicationRole",
            "user",
            "anyone",
            "projectLead",
            "reporter",
            "assignee",
        ] {
            assert!(types.contains(&expected), "{expected}");
        }
    }
}
