//! The synthetic organization the Admin API serves: verified domains, the directory (every
//! Atlassian account of the site under the same account id, org-only users, service accounts),
//! directory groups, user API tokens, admin API keys, service-account tokens and audit events.
//!
//! Like `data.rs`, everything is derived with integer arithmetic from the [`OrgConfig`] and the
//! site's accounts and groups; every date is an offset from `OrgConfig::now` in whole seconds, so
//! a fixed `now` gives byte-identical responses. Dates are kept as the ISO 8601 strings the wire
//! carries (`yyyy-MM-ddTHH:mm:ssZ`), so tests compare collected values to them verbatim. The
//! HTTP shapes live in `admin.rs`.

use std::collections::{HashMap, HashSet};

use super::data::{uuid_like, Group, Index, User, JIRA_SOFTWARE_USERS, JSM_USERS, SITE_ADMINS};
use super::OrgConfig;

/// The ground truth of a simulated organization.
#[derive(Clone, Debug)]
pub struct OrgData {
    pub org_id: String,
    pub name: String,
    /// The site's cloud id: access to this site is `ari:cloud:<product>::site/<cloud_id>`.
    pub cloud_id: String,
    /// The one directory that `directories/-` stands for.
    pub directory_id: String,
    pub domains: Vec<Domain>,
    /// Site accounts first (in `/users/search` order), then org-only users, then service
    /// accounts: the order of every directory listing.
    pub users: Vec<DirectoryUser>,
    /// The site's groups first (same ids, same members), then org-only groups.
    pub groups: Vec<DirectoryGroup>,
    /// User API tokens, in listing order.
    pub api_tokens: Vec<ApiToken>,
    pub api_keys: Vec<ApiKey>,
    pub service_accounts: Vec<ServiceAccount>,
    /// Oldest first.
    pub events: Vec<AuditEvent>,
    /// `users` by account id and `groups` by id: handlers look them up per item.
    by_account: Index,
    by_group: Index,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Domain {
    pub id: String,
    pub name: String,
    /// `DomainModel.attributes.claim.type`: `dns` or `http`.
    pub claim_type: String,
    /// `DomainModel.attributes.claim.status`: `verified`, `unverified`, `deleted`, ….
    pub claim_status: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DirectoryUser {
    pub account_id: String,
    /// `atlassian` for people, `app` for service accounts.
    pub account_type: String,
    pub name: String,
    pub nickname: String,
    /// Shown for managed accounts only (the org owns the domain); `None` for unmanaged ones.
    pub email: Option<String>,
    /// `active`, `suspended` or `deactivated`.
    pub status: String,
    /// `active` or `inactive`.
    pub account_status: String,
    /// `active` or `suspended`.
    pub membership_status: String,
    /// `managed` or `unmanaged`.
    pub claim_status: String,
    /// `None` where the org cannot see it (unmanaged accounts, service accounts).
    pub mfa_enabled: Option<bool>,
    /// `atlassian/org-admin`, `atlassian/site-admin`.
    pub platform_roles: Vec<String>,
    pub added_to_org: String,
    /// Empty for users with no product access at all.
    pub product_access: Vec<ProductAccess>,
    /// Every directory group the user is in, in `OrgData::groups` order.
    pub group_ids: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProductAccess {
    /// `jira-software`, `jira-servicedesk`, `confluence`, `bitbucket`, `trello`, `opsgenie`,
    /// `statuspage`.
    pub key: String,
    /// The product instance ARI, e.g. `ari:cloud:jira-software::site/<cloud_id>`.
    pub resource_id: String,
    /// `None`: never used.
    pub last_active: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DirectoryGroup {
    pub id: String,
    pub name: String,
    /// `None` for the site's groups, which Jira created without one.
    pub description: Option<String>,
    /// Account ids, in `OrgData::users` order for org-only groups and site order for site ones.
    pub members: Vec<String>,
}

/// The account an API token or key belongs to (`user` / `createdBy` on the wire).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenOwner {
    pub account_id: String,
    pub name: String,
    pub email: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiToken {
    pub id: String,
    pub label: String,
    /// `ALLOWED`, the only value REFERENCE §5.7 shows.
    pub status: String,
    pub owner: TokenOwner,
    pub created_at: String,
    /// `None`: never expires.
    pub expires_at: Option<String>,
    /// `None`: never used.
    pub last_active_at: Option<String>,
    /// Empty for classic (unscoped) tokens.
    pub scopes: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiKey {
    pub id: String,
    pub label: String,
    pub created_at: String,
    pub expires_at: Option<String>,
    pub last_active_at: Option<String>,
    /// The system account the key acts as.
    pub system_account_id: String,
    /// The org ARI the key belongs to.
    pub resource: String,
    pub created_by: TokenOwner,
    pub scopes: Vec<String>,
    /// Site ARIs the key is limited to; empty for the whole org.
    pub target_resources: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServiceAccount {
    /// Also a directory user (account type `app`).
    pub account_id: String,
    pub name: String,
    /// `…@serviceaccount.atlassian.com`.
    pub email: String,
    /// One or two scoped tokens.
    pub tokens: Vec<ApiToken>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditEvent {
    pub id: String,
    pub time: String,
    /// `user_added_to_group`, `user_removed_from_group`, `group_created`, `api_token_created`.
    pub action: String,
    pub actor_id: String,
    pub actor_name: String,
    pub actor_email: Option<String>,
    pub ip: String,
    pub context: Vec<EventContext>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventContext {
    pub id: String,
    /// `users`, `groups` or `api-tokens`.
    pub kind: String,
}

impl OrgData {
    pub fn user(&self, account_id: &str) -> Option<&DirectoryUser> {
        self.by_account.get(account_id).map(|i| &self.users[i])
    }

    pub fn group(&self, id: &str) -> Option<&DirectoryGroup> {
        self.by_group.get(id).map(|i| &self.groups[i])
    }

    pub fn service_account(&self, account_id: &str) -> Option<&ServiceAccount> {
        self.service_accounts
            .iter()
            .find(|s| s.account_id == account_id)
    }

    /// `ari:cloud:<product>::site/<cloud_id>`: access to the simulated site.
    pub fn site_ari(&self, product: &str) -> String {
        format!("ari:cloud:{product}::site/{}", self.cloud_id)
    }
}

pub(super) const SERVICE_ACCOUNT_DOMAIN: &str = "serviceaccount.atlassian.com";
const DAY: i64 = 86_400;

const TAG_ORG: u64 = 40;
const TAG_ORG_USER: u64 = 41;
const TAG_SERVICE_ACCOUNT: u64 = 42;
const TAG_ORG_GROUP: u64 = 43;
const TAG_TOKEN: u64 = 44;
const TAG_KEY: u64 = 45;
const TAG_EVENT: u64 = 46;
const TAG_PRODUCT: u64 = 47;
const TAG_DOMAIN: u64 = 48;

// Names distinct from the site's, so org-only people never collide with site accounts.
const ORG_FIRST_NAMES: [&str; 8] = [
    "Zara", "Felix", "Hana", "Ravi", "Elena", "Jonas", "Amara", "Leo",
];
const ORG_LAST_NAMES: [&str; 7] = [
    "Brandt", "Sato", "Oyelaran", "Petrov", "Alvarez", "Dubois", "Iqbal",
];
const SERVICE_ACCOUNT_NAMES: [&str; 4] = [
    "CI pipeline",
    "Backup exporter",
    "Reporting sync",
    "Deploy bot",
];
const TOKEN_LABELS: [&str; 7] = [
    "ci-runner",
    "laptop",
    "jira-cli",
    "backup-script",
    "grafana",
    "terraform",
    "zapier",
];
const KEY_LABELS: [&str; 3] = ["user-sync", "audit-export", "scim-bridge"];

/// `(name, claim type, claim status)`.
const DOMAINS: [(&str, &str, &str); 5] = [
    ("acme.example", "dns", "verified"),
    ("acme-corp.example", "http", "verified"),
    ("eu.acme.example", "dns", "verified"),
    ("acme.dev", "dns", "unverified"),
    ("old-acme.example", "http", "deleted"),
];

/// Dates as offsets from `now`, in whole seconds.
struct Clock {
    now: i64,
}

impl Clock {
    fn at(&self, offset_secs: i64) -> String {
        let secs = self.now.saturating_add(offset_secs);
        jiff::Timestamp::from_second(secs)
            .unwrap_or(jiff::Timestamp::UNIX_EPOCH)
            .strftime("%Y-%m-%dT%H:%M:%SZ")
            .to_string()
    }

    fn days_ago(&self, days: i64) -> String {
        self.at(-days * DAY)
    }

    fn in_days(&self, days: i64) -> String {
        self.at(days * DAY)
    }
}

/// The product instance ARI for a product the site does not host.
fn elsewhere(product: &str) -> String {
    format!(
        "ari:cloud:{product}::site/{}",
        uuid_like(TAG_PRODUCT, product.len() as u64)
    )
}

pub(super) fn generate(config: &OrgConfig, site_users: &[User], site_groups: &[Group]) -> OrgData {
    let clock = Clock {
        now: config.now.as_second(),
    };
    let cloud_id = uuid_like(TAG_ORG, 1);
    let site = |product: &str| format!("ari:cloud:{product}::site/{cloud_id}");
    let mut users: Vec<DirectoryUser> = Vec::new();

    // The site's people: same ids; the directory shows the email of every managed account, also
    // of those whose Jira profile hides it.
    let member_set = |name: &str| -> HashSet<&str> {
        site_groups
            .iter()
            .filter(|g| g.name == name)
            .flat_map(|g| g.members.iter().map(String::as_str))
            .collect()
    };
    let builtin: HashMap<&str, HashSet<&str>> = [SITE_ADMINS, JIRA_SOFTWARE_USERS, JSM_USERS]
        .into_iter()
        .map(|name| (name, member_set(name)))
        .collect();
    let people = site_users.iter().filter(|u| u.account_type == "atlassian");
    for (ordinal, user) in people.enumerate() {
        let o = ordinal as i64;
        let in_group = |name: &str| {
            builtin
                .get(name)
                .is_some_and(|members| members.contains(user.account_id.as_str()))
        };
        let unmanaged = user.email.is_none() && ordinal % 10 == 4;
        let email = match (&user.email, unmanaged) {
            (_, true) => None,
            (Some(email), false) => Some(email.clone()),
            (None, false) => Some(format!(
                "{}@acme.example",
                user.display_name.to_lowercase().replace(' ', ".")
            )),
        };
        let (status, account_status) = if user.active {
            ("active", "active")
        } else {
            ("deactivated", "inactive")
        };
        let mut platform_roles = Vec::new();
        if ordinal == 0 {
            platform_roles.push("atlassian/org-admin".to_string());
        }
        if in_group(SITE_ADMINS) {
            platform_roles.push("atlassian/site-admin".to_string());
        }
        let mut products = Vec::new();
        if in_group(JIRA_SOFTWARE_USERS) {
            products.push(("jira-software", site("jira-software")));
        }
        if in_group(JSM_USERS) {
            products.push(("jira-servicedesk", site("jira-servicedesk")));
        }
        if ordinal % 2 == 0 {
            products.push(("confluence", site("confluence")));
        }
        if ordinal % 5 == 0 {
            products.push(("bitbucket", elsewhere("bitbucket")));
        }
        let product_access = products
            .into_iter()
            .enumerate()
            .map(|(p, (key, resource_id))| {
                // Deactivated accounts stopped using everything a while ago.
                let class = if user.active { (o + p as i64) % 4 } else { 2 };
                ProductAccess {
                    key: key.to_string(),
                    resource_id,
                    last_active: last_active(&clock, class, o),
                }
            })
            .collect();
        users.push(DirectoryUser {
            account_id: user.account_id.clone(),
            account_type: "atlassian".to_string(),
            name: user.display_name.clone(),
            nickname: nickname(&user.display_name),
            email,
            status: status.to_string(),
            account_status: account_status.to_string(),
            membership_status: "active".to_string(),
            claim_status: if unmanaged { "unmanaged" } else { "managed" }.to_string(),
            mfa_enabled: (!unmanaged).then_some(ordinal % 4 != 2),
            platform_roles,
            added_to_org: clock.days_ago(400 + (o * 37) % 900),
            product_access,
            group_ids: Vec::new(),
        });
    }

    for e in 0..config.extra_users {
        users.push(org_only_user(&clock, e));
    }

    let mut service_accounts = Vec::new();
    for s in 0..config.service_accounts {
        let (user, account) = service_account(&clock, s, &site("jira-software"));
        users.push(user);
        service_accounts.push(account);
    }

    let groups = directory_groups(site_groups, &users);
    // Each user's groups in group order, from one pass over the memberships.
    let mut group_ids: HashMap<&str, Vec<String>> = HashMap::new();
    for group in &groups {
        for member in &group.members {
            group_ids
                .entry(member.as_str())
                .or_default()
                .push(group.id.clone());
        }
    }
    for user in &mut users {
        user.group_ids = group_ids
            .remove(user.account_id.as_str())
            .unwrap_or_default();
    }

    // Tokens belong to active managed people; service accounts have their own.
    let owners: Vec<TokenOwner> = users
        .iter()
        .filter(|u| u.account_type == "atlassian" && u.claim_status == "managed")
        .filter(|u| u.status == "active")
        .map(owner)
        .collect();
    let api_tokens = (0..config.api_tokens)
        .map(|t| user_token(&clock, t, &owners[(t * 7 + 3) % owners.len().max(1)]))
        .collect::<Vec<_>>();
    let org_ari = format!("ari:cloud:platform::org/{}", config.org_id);
    let admin = owners.first().cloned().unwrap_or_else(|| TokenOwner {
        account_id: String::new(),
        name: String::new(),
        email: None,
    });
    let api_keys = (0..config.api_keys)
        .map(|k| api_key(&clock, k, &org_ari, &admin, &site("jira-software")))
        .collect();
    let events = events(&clock, config.events, &users, &groups, &api_tokens);
    OrgData {
        org_id: config.org_id.clone(),
        name: config.name.clone(),
        cloud_id,
        directory_id: uuid_like(TAG_ORG, 2),
        domains: DOMAINS
            .iter()
            .enumerate()
            .map(|(i, (name, claim_type, claim_status))| Domain {
                id: uuid_like(TAG_DOMAIN, i as u64),
                name: name.to_string(),
                claim_type: claim_type.to_string(),
                claim_status: claim_status.to_string(),
            })
            .collect(),
        by_account: Index::of(&users, |u| vec![u.account_id.clone()]),
        by_group: Index::of(&groups, |g| vec![g.id.clone()]),
        users,
        groups,
        api_tokens,
        api_keys,
        service_accounts,
        events,
    }
}

/// Activity classes: 0 within 30 days, 1 within 90, 2 older, 3 never.
fn last_active(clock: &Clock, class: i64, salt: i64) -> Option<String> {
    let hours = salt % 24 * 3600;
    match class {
        0 => Some(clock.at(-(1 + salt % 25) * DAY - hours)),
        1 => Some(clock.at(-(35 + salt % 50) * DAY - hours)),
        2 => Some(clock.at(-(120 + salt % 200) * DAY - hours)),
        _ => None,
    }
}

fn nickname(display_name: &str) -> String {
    display_name
        .split_whitespace()
        .next()
        .unwrap_or(display_name)
        .to_string()
}

fn owner(user: &DirectoryUser) -> TokenOwner {
    TokenOwner {
        account_id: user.account_id.clone(),
        name: user.name.clone(),
        email: user.email.clone(),
    }
}

/// People with no access to the site, in six kinds: Bitbucket only; Trello only and unmanaged;
/// Opsgenie and Statuspage with MFA off; no product access at all; suspended; deactivated.
fn org_only_user(clock: &Clock, e: usize) -> DirectoryUser {
    let first = ORG_FIRST_NAMES[e % ORG_FIRST_NAMES.len()];
    let mut last = ORG_LAST_NAMES[e % ORG_LAST_NAMES.len()].to_string();
    let round = e / (ORG_FIRST_NAMES.len() * ORG_LAST_NAMES.len());
    if round > 0 {
        last = format!("{last}{}", round + 1);
    }
    let kind = e % 6;
    let salt = e as i64;
    let access = |key: &str, class: i64| ProductAccess {
        key: key.to_string(),
        resource_id: elsewhere(key),
        last_active: last_active(clock, class, salt),
    };
    let product_access = match kind {
        0 | 4 => vec![access("bitbucket", salt % 3)],
        1 => vec![access("trello", 0)],
        2 => vec![access("opsgenie", 0), access("statuspage", 3)],
        5 => vec![access("bitbucket", 2)],
        _ => Vec::new(),
    };
    let unmanaged = kind == 1;
    let (status, account_status, membership_status) = match kind {
        4 => ("suspended", "active", "suspended"),
        5 => ("deactivated", "inactive", "active"),
        _ => ("active", "active", "active"),
    };
    DirectoryUser {
        account_id: format!("712020:{}", uuid_like(TAG_ORG_USER, e as u64)),
        account_type: "atlassian".to_string(),
        name: format!("{first} {last}"),
        nickname: first.to_string(),
        email: (!unmanaged).then(|| {
            format!(
                "{}.{}@acme.example",
                first.to_lowercase(),
                last.to_lowercase()
            )
        }),
        status: status.to_string(),
        account_status: account_status.to_string(),
        membership_status: membership_status.to_string(),
        claim_status: if unmanaged { "unmanaged" } else { "managed" }.to_string(),
        mfa_enabled: (!unmanaged).then_some(kind != 2),
        platform_roles: Vec::new(),
        added_to_org: clock.days_ago(30 + (salt * 53) % 700),
        product_access,
        group_ids: Vec::new(),
    }
}

fn service_account(clock: &Clock, s: usize, jira: &str) -> (DirectoryUser, ServiceAccount) {
    let base = SERVICE_ACCOUNT_NAMES[s % SERVICE_ACCOUNT_NAMES.len()];
    let name = match s / SERVICE_ACCOUNT_NAMES.len() {
        0 => base.to_string(),
        round => format!("{base} {}", round + 1),
    };
    let email = format!(
        "{}@{SERVICE_ACCOUNT_DOMAIN}",
        name.to_lowercase().replace(' ', "-")
    );
    let account_id = format!("712020:{}", uuid_like(TAG_SERVICE_ACCOUNT, s as u64));
    let owner = TokenOwner {
        account_id: account_id.clone(),
        name: name.clone(),
        email: Some(email.clone()),
    };
    let tokens = (0..1 + usize::from(s.is_multiple_of(2)))
        .map(|j| service_token(clock, s * 2 + j, &owner))
        .collect();
    let user = DirectoryUser {
        account_id: account_id.clone(),
        account_type: "app".to_string(),
        name: name.clone(),
        nickname: name.clone(),
        email: Some(email.clone()),
        status: "active".to_string(),
        account_status: "active".to_string(),
        membership_status: "active".to_string(),
        claim_status: "managed".to_string(),
        mfa_enabled: None,
        platform_roles: Vec::new(),
        added_to_org: clock.days_ago(60 + 10 * s as i64),
        product_access: vec![ProductAccess {
            key: "jira-software".to_string(),
            resource_id: jira.to_string(),
            last_active: Some(clock.at(-3600 * (1 + s as i64))),
        }],
        group_ids: Vec::new(),
    };
    let account = ServiceAccount {
        account_id,
        name,
        email,
        tokens,
    };
    (user, account)
}

/// The site's groups unchanged, then product-access and admin groups only the org has.
fn directory_groups(site_groups: &[Group], users: &[DirectoryUser]) -> Vec<DirectoryGroup> {
    let mut groups: Vec<DirectoryGroup> = site_groups
        .iter()
        .map(|g| DirectoryGroup {
            id: g.group_id.clone(),
            name: g.name.clone(),
            description: None,
            members: g.members.clone(),
        })
        .collect();
    let with_product = |key: &str| -> Vec<String> {
        users
            .iter()
            .filter(|u| u.product_access.iter().any(|p| p.key == key))
            .map(|u| u.account_id.clone())
            .collect()
    };
    let org_only = [
        (
            "bitbucket-users",
            "Grants access to Bitbucket",
            with_product("bitbucket"),
        ),
        (
            "trello-users",
            "Grants access to Trello",
            with_product("trello"),
        ),
        (
            "opsgenie-users",
            "Grants access to Opsgenie",
            with_product("opsgenie"),
        ),
        (
            "confluence-users",
            "Grants access to Confluence",
            with_product("confluence"),
        ),
        (
            "org-admins",
            "Organization administrators",
            users
                .iter()
                .filter(|u| u.platform_roles.iter().any(|r| r == "atlassian/org-admin"))
                .map(|u| u.account_id.clone())
                .collect(),
        ),
    ];
    for (i, (name, description, members)) in org_only.into_iter().enumerate() {
        groups.push(DirectoryGroup {
            id: uuid_like(TAG_ORG_GROUP, i as u64),
            name: name.to_string(),
            description: Some(description.to_string()),
            members,
        });
    }
    groups
}

/// Six classes by `t % 6`: stale (last used over 90 days ago), expiring within 14 days, never
/// expiring, never used, fresh, stale and never expiring. Every third token is scoped.
fn user_token(clock: &Clock, t: usize, owner: &TokenOwner) -> ApiToken {
    let n = t as i64;
    let (created, last_active, expires) = match t % 6 {
        0 => (
            clock.days_ago(150 + n % 50),
            Some(clock.days_ago(91 + n % 50)),
            Some(clock.in_days(30 + n % 150)),
        ),
        1 => (
            clock.days_ago(300 + n % 50),
            Some(clock.days_ago(1 + n % 20)),
            Some(clock.at((1 + n % 13) * DAY - 3600)),
        ),
        2 => (
            clock.days_ago(400 + n % 200),
            Some(clock.at(-(n % 20) * DAY - 3600)),
            None,
        ),
        3 => (clock.days_ago(3 + n % 30), None, Some(clock.in_days(300))),
        4 => (
            clock.days_ago(60 + n % 30),
            Some(clock.at(-(n % 25) * DAY - 7200)),
            Some(clock.in_days(200 + n % 100)),
        ),
        _ => (
            clock.days_ago(500 + n % 100),
            Some(clock.days_ago(120 + n % 200)),
            None,
        ),
    };
    ApiToken {
        id: uuid_like(TAG_TOKEN, t as u64),
        label: TOKEN_LABELS[t % TOKEN_LABELS.len()].to_string(),
        status: "ALLOWED".to_string(),
        owner: owner.clone(),
        created_at: created,
        expires_at: expires,
        last_active_at: last_active,
        scopes: if t.is_multiple_of(3) {
            vec!["read:jira-work".to_string(), "read:jira-user".to_string()]
        } else {
            Vec::new()
        },
    }
}

/// Service-account tokens are always scoped; four classes by `n % 4`: expiring within 14 days,
/// never expiring, stale, never used.
fn service_token(clock: &Clock, n: usize, owner: &TokenOwner) -> ApiToken {
    let i = n as i64;
    let (last_active, expires) = match n % 4 {
        0 => (
            Some(clock.at(-3600 * (1 + i))),
            Some(clock.in_days(5 + i % 8)),
        ),
        1 => (Some(clock.at(-7200)), None),
        2 => (Some(clock.days_ago(100 + i)), Some(clock.in_days(180))),
        _ => (None, Some(clock.in_days(90))),
    };
    ApiToken {
        id: uuid_like(TAG_TOKEN + 100, n as u64),
        label: format!("{}-{}", ["deploy", "nightly"][n % 2], n + 1),
        status: "ALLOWED".to_string(),
        owner: owner.clone(),
        created_at: clock.days_ago(200 + i),
        expires_at: expires,
        last_active_at: last_active,
        scopes: vec!["read:jira-work".to_string(), "write:jira-work".to_string()],
    }
}

/// Three classes by `k % 3`: expiring within 14 days; never used and limited to the site;
/// stale.
fn api_key(clock: &Clock, k: usize, org_ari: &str, admin: &TokenOwner, site: &str) -> ApiKey {
    let i = k as i64;
    let (created, last_active, expires) = match k % 3 {
        0 => (
            clock.days_ago(360 - i % 30),
            Some(clock.at(-DAY)),
            Some(clock.in_days(5)),
        ),
        1 => (clock.days_ago(30 + i), None, Some(clock.in_days(200))),
        _ => (
            clock.days_ago(300 + i),
            Some(clock.days_ago(200)),
            Some(clock.in_days(60)),
        ),
    };
    ApiKey {
        id: uuid_like(TAG_KEY, k as u64),
        label: KEY_LABELS[k % KEY_LABELS.len()].to_string(),
        created_at: created,
        expires_at: expires,
        last_active_at: last_active,
        system_account_id: format!("712020:{}", uuid_like(TAG_KEY + 100, k as u64)),
        resource: org_ari.to_string(),
        created_by: admin.clone(),
        scopes: vec![
            "read:directories:admin".to_string(),
            "read:events:admin".to_string(),
        ],
        target_resources: if k % 3 == 1 {
            vec![site.to_string()]
        } else {
            Vec::new()
        },
    }
}

/// `count` events evenly spread over the ten days before `now`, oldest first, acted by the
/// directory's admins (or token owners for token events).
fn events(
    clock: &Clock,
    count: usize,
    users: &[DirectoryUser],
    groups: &[DirectoryGroup],
    tokens: &[ApiToken],
) -> Vec<AuditEvent> {
    let admins: Vec<&DirectoryUser> = users
        .iter()
        .filter(|u| !u.platform_roles.is_empty() && u.status == "active")
        .collect();
    let people: Vec<&DirectoryUser> = users
        .iter()
        .filter(|u| u.account_type == "atlassian")
        .collect();
    let window = 10 * DAY;
    let mut out = Vec::new();
    for e in 0..count {
        let n = e as i64;
        let offset = -window + (n + 1) * window / (count as i64 + 1);
        let user_context = |u: &DirectoryUser| EventContext {
            id: u.account_id.clone(),
            kind: "users".to_string(),
        };
        let group = &groups[e % groups.len().max(1)];
        let group_context = EventContext {
            id: group.id.clone(),
            kind: "groups".to_string(),
        };
        let mut actor = admins
            .get(e % admins.len().max(1))
            .map(|u| owner(u))
            .unwrap_or_else(|| owner(&users[0]));
        let subject = people[(e * 5 + 1) % people.len().max(1)];
        let (action, context) = match e % 4 {
            0 => (
                "user_added_to_group",
                vec![user_context(subject), group_context],
            ),
            1 if !tokens.is_empty() => {
                let token = &tokens[e % tokens.len()];
                actor = token.owner.clone();
                (
                    "api_token_created",
                    vec![EventContext {
                        id: token.id.clone(),
                        kind: "api-tokens".to_string(),
                    }],
                )
            }
            2 => (
                "user_removed_from_group",
                vec![user_context(subject), group_context],
            ),
            _ => ("group_created", vec![group_context]),
        };
        let actor_index = users
            .iter()
            .position(|u| u.account_id == actor.account_id)
            .unwrap_or(0);
        out.push(AuditEvent {
            id: uuid_like(TAG_EVENT, e as u64),
            time: clock.at(offset),
            action: action.to_string(),
            actor_id: actor.account_id,
            actor_name: actor.name,
            actor_email: actor.email,
            ip: format!("203.0.113.{}", 1 + actor_index % 250),
            context,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Dataset, OrgConfig, TenantConfig};
    use secrecy::SecretString;

    fn now() -> jiff::Timestamp {
        "2026-11-15T12:00:00Z".parse().unwrap()
    }

    fn dataset(users: usize) -> Dataset {
        let mut config = TenantConfig::small("a@b.example", SecretString::from("t"))
            .with_org(OrgConfig::small(SecretString::from("k"), now()));
        config.users = users;
        Dataset::generate(&config)
    }

    fn ago(stamp: &str) -> i64 {
        let t: jiff::Timestamp = stamp.parse().unwrap();
        (now().as_second() - t.as_second()) / DAY
    }

    #[test]
    fn same_config_same_org() {
        let a = dataset(40);
        let b = dataset(40);
        assert_eq!(format!("{:?}", a.org), format!("{:?}", b.org));
    }

    #[test]
    fn directory_holds_every_site_person_under_the_same_id() {
        let data = dataset(60);
        let org = data.org.as_ref().unwrap();
        for user in data.users.iter().filter(|u| u.account_type == "atlassian") {
            let there = org.user(&user.account_id).expect("in the directory");
            if let Some(email) = &user.email {
                assert_eq!(there.email.as_ref(), Some(email));
            }
        }
        let filled = data
            .users
            .iter()
            .filter(|u| u.account_type == "atlassian" && u.email.is_none())
            .filter(|u| org.user(&u.account_id).unwrap().email.is_some())
            .count();
        assert!(filled > 0);
        let mut ids: Vec<&str> = org.users.iter().map(|u| u.account_id.as_str()).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), org.users.len());
    }

    #[test]
    fn groups_keep_site_ids_and_members() {
        let data = dataset(40);
        let org = data.org.as_ref().unwrap();
        for group in &data.groups {
            let there = org.groups.iter().find(|g| g.id == group.group_id).unwrap();
            assert_eq!(there.members, group.members);
        }
        assert!(org.groups.len() > data.groups.len());
    }

    #[test]
    fn every_token_class_is_present() {
        let data = dataset(40);
        let org = data.org.as_ref().unwrap();
        let tokens = &org.api_tokens;
        assert!(tokens
            .iter()
            .any(|t| t.last_active_at.as_deref().is_some_and(|d| ago(d) > 90)));
        assert!(tokens.iter().any(|t| t
            .expires_at
            .as_deref()
            .is_some_and(|d| (-14..=0).contains(&ago(d)))));
        assert!(tokens.iter().any(|t| t.expires_at.is_none()));
        assert!(tokens.iter().any(|t| t.last_active_at.is_none()));
        for event in &org.events {
            assert!((0..10).contains(&ago(&event.time)), "{}", event.time);
        }
    }
}
