//! The collector (library) against the simulated tenant over real HTTP: completeness against the
//! tenant's ground truth, Atlassian's quirks, faults, permissions and credentials.

use std::collections::BTreeSet;
use std::time::Duration;

use inventory_collector::collect::RunError;
use inventory_tenant::{ActorKind, Faults, TenantConfig};

use crate::support::*;

const JIRA_FAMILIES: [&str; 11] = [
    "jira.users",
    "jira.groups",
    "jira.group_members",
    "jira.projects",
    "jira.project_roles",
    "jira.project_permission_schemes",
    "jira.permission_schemes",
    "jira.application_properties",
    "jira.application_roles",
    "jira.upm_settings",
    "jira.mail_settings",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_complete_run_matches_the_tenant() {
    let tenant = start(small()).await;
    let out = out();
    let (outcome, _) = run(config(&tenant, &out.path)).await;
    let report = outcome.expect("run succeeds");
    assert!(!report.partial(), "{}", report.summary);
    let records = read_records(&out.path);
    let data = tenant.dataset();

    // Users: every account exactly once, emails only where Atlassian shows them.
    let users = of_kind(&records, "user");
    let expected: BTreeSet<String> = data.users.iter().map(|u| u.account_id.clone()).collect();
    assert_eq!(set_of(&users, "account_id"), expected);
    assert_eq!(users.len(), expected.len(), "no account emitted twice");
    for user in &data.users {
        let record = users
            .iter()
            .find(|r| r["account_id"] == user.account_id.as_str())
            .unwrap();
        assert_eq!(record["email"].as_str(), user.email.as_deref(), "{record}");
        assert_eq!(record["active"].as_bool(), Some(user.active), "{record}");
        assert_eq!(
            record["account_type"],
            user.account_type.as_str(),
            "{record}"
        );
    }

    // Groups and every membership, inactive members included, with both ids.
    let groups = of_kind(&records, "group");
    let expected: BTreeSet<String> = data.groups.iter().map(|g| g.group_id.clone()).collect();
    assert_eq!(set_of(&groups, "group_id"), expected);
    let members: BTreeSet<(String, String)> = of_kind(&records, "membership")
        .iter()
        .filter(|m| m["relation"] == "group_member")
        .map(|m| (text(m, "group_id"), text(m, "account_id")))
        .collect();
    let expected: BTreeSet<(String, String)> = data
        .groups
        .iter()
        .flat_map(|g| g.members.iter().map(|a| (g.group_id.clone(), a.clone())))
        .collect();
    assert_eq!(members, expected);

    // Projects, team-managed flagged, with the scheme each company-managed one uses.
    let projects: Vec<_> = of_kind(&records, "resource")
        .into_iter()
        .filter(|r| r["resource_type"] == "jira_project")
        .collect();
    assert_eq!(projects.len(), data.projects.len());
    for project in &data.projects {
        let record = projects
            .iter()
            .find(|r| r["resource_id"] == project.id.as_str())
            .unwrap_or_else(|| panic!("project {} missing", project.id));
        assert_eq!(record["team_managed"].as_bool(), Some(project.simplified));
        let scheme = project.permission_scheme_id.map(|id| id.to_string());
        assert_eq!(record["permission_scheme_id"].as_str(), scheme.as_deref());
    }
    assert!(data.projects.iter().any(|p| p.simplified));

    // Project roles and every actor, by Atlassian ids.
    let roles: BTreeSet<(String, String)> = of_kind(&records, "role")
        .iter()
        .filter(|r| r["role_type"] == "project_role")
        .map(|r| (text(r, "project_id"), text(r, "role_id")))
        .collect();
    let expected: BTreeSet<(String, String)> = data
        .projects
        .iter()
        .flat_map(|p| p.roles.iter().map(|r| (p.id.clone(), r.id.to_string())))
        .collect();
    assert_eq!(roles, expected);
    let actors: BTreeSet<(String, String, String, String)> = of_kind(&records, "membership")
        .iter()
        .filter(|m| m["relation"] == "role_actor")
        .map(|m| {
            let member = match m["member_type"].as_str() {
                Some("user") => text(m, "account_id"),
                _ => text(m, "group_id"),
            };
            (
                text(m, "project_id"),
                text(m, "role_id"),
                text(m, "actor_id"),
                member,
            )
        })
        .collect();
    let expected: BTreeSet<(String, String, String, String)> = data
        .projects
        .iter()
        .flat_map(|p| {
            p.roles.iter().flat_map(move |r| {
                r.actors.iter().map(move |a| {
                    let member = match &a.kind {
                        ActorKind::User(account_id) => account_id.clone(),
                        ActorKind::Group { group_id, .. } => group_id.clone(),
                    };
                    (p.id.clone(), r.id.to_string(), a.id.to_string(), member)
                })
            })
        })
        .collect();
    assert!(!expected.is_empty());
    assert_eq!(actors, expected);

    // Every grant of every scheme.
    let grants: BTreeSet<(String, String)> = of_kind(&records, "permission")
        .iter()
        .map(|g| (text(g, "scheme_id"), text(g, "grant_id")))
        .collect();
    let expected: BTreeSet<(String, String)> = data
        .permission_schemes
        .iter()
        .flat_map(|s| {
            s.grants
                .iter()
                .map(|g| (s.id.to_string(), g.id.to_string()))
        })
        .collect();
    assert_eq!(grants, expected);
    assert!(of_kind(&records, "permission")
        .iter()
        .any(|g| g["anonymous"] == true || g["holder_type"] != "anyone"));

    // Settings and licences.
    let settings = of_kind(&records, "setting");
    let from = |source: &str| -> BTreeSet<String> {
        let of_source: Vec<_> = settings
            .iter()
            .copied()
            .filter(|s| s["source"] == source)
            .collect();
        set_of(&of_source, "key")
    };
    let expected: BTreeSet<String> = data
        .application_properties
        .iter()
        .map(|p| p.key.clone())
        .collect();
    assert_eq!(from("jira.application_properties"), expected);
    let upm = from("jira.upm");
    assert!(
        upm.contains("pacDisabled") && upm.contains("requestsDisabled"),
        "{upm:?}"
    );
    assert!(from("jira.mail").contains("outgoingMailEnabled"));
    let licences: BTreeSet<String> = of_kind(&records, "role")
        .iter()
        .filter(|r| r["role_type"] == "application_role")
        .map(|r| text(r, "role_id"))
        .collect();
    let expected: BTreeSet<String> = data
        .application_roles
        .iter()
        .map(|r| r.key.clone())
        .collect();
    assert_eq!(licences, expected);

    // Coverage says so, and the record counts add up.
    for family in JIRA_FAMILIES {
        let c = coverage(&records, family);
        assert_eq!(c["status"], "collected", "{c}");
    }
    assert_eq!(
        coverage(&records, "jira.users")["records"],
        data.users.len() as u64
    );
    let accounts = of_kind(&records, "account");
    assert_eq!(accounts.len(), 1);
    assert_eq!(accounts[0]["auth_method"], "api_token");

    // Atlassian-specific manners.
    let log = tenant.requests();
    assert!(
        !log.iter().any(|r| r.path == "/rest/api/3/search"),
        "never the removed search"
    );
    let member_calls: Vec<_> = log
        .iter()
        .filter(|r| r.path == "/rest/api/3/group/member")
        .collect();
    assert!(!member_calls.is_empty());
    assert!(member_calls
        .iter()
        .all(|r| r.query.contains("includeInactiveUsers=true")));
    let team_managed_scheme_calls = log.iter().filter(|r| {
        data.projects.iter().any(|p| {
            p.simplified && r.path == format!("/rest/api/3/project/{}/permissionscheme", p.id)
        })
    });
    assert_eq!(team_managed_scheme_calls.count(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn short_and_clamped_user_pages_lose_no_account() {
    let config = TenantConfig {
        users: 180,
        users_page_limit: 7,
        short_pages: true,
        ..small()
    };
    let tenant = start(config).await;
    let out = out();
    let (outcome, _) = run(crate::support::config(&tenant, &out.path)).await;
    assert!(!outcome.expect("run succeeds").partial());
    let records = read_records(&out.path);
    let users = of_kind(&records, "user");
    assert_eq!(users.len(), 180);
    assert_eq!(set_of(&users, "account_id").len(), 180);
    let pages = tenant
        .requests()
        .into_iter()
        .filter(|r| r.path == "/rest/api/3/users/search")
        .count();
    // At most 7 a page, so at least 180 / 7 pages plus the empty last one.
    assert!(pages > 180 / 7, "{pages} pages");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limits_and_outages_are_retried_and_retry_after_is_honoured() {
    let config = TenantConfig {
        faults: Faults {
            rate_limit_every: 4,
            retry_after_secs: 3,
            unavailable_every: 7,
        },
        ..small()
    };
    let tenant = start(config).await;
    let out = out();
    let (outcome, clock) = run(crate::support::config(&tenant, &out.path)).await;
    let report = outcome.expect("run succeeds");
    assert!(!report.partial(), "{}", report.summary);
    let records = read_records(&out.path);
    assert_eq!(
        of_kind(&records, "user").len(),
        tenant.dataset().users.len()
    );

    let log = tenant.requests();
    let limited = log.iter().filter(|r| r.status == 429).count();
    let unavailable = log.iter().filter(|r| r.status == 503).count();
    assert!(limited > 0 && unavailable > 0, "faults fired");
    // Every 429 said Retry-After: 3, and its retry waited it out exactly. Other requests to
    // the paused endpoint and the scheduler's pacing wait too.
    let sleeps = clock.sleeps();
    assert!(
        sleeps.len() >= limited + unavailable,
        "a wait per retry at least"
    );
    let exact = sleeps
        .iter()
        .filter(|d| **d == Duration::from_secs(3))
        .count();
    assert!(exact >= limited, "{exact} waits of 3 s for {limited} 429s");
    assert_eq!(report.summary.retries as usize, limited + unavailable);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_non_admin_gets_what_it_may_see_and_coverage_for_the_rest() {
    let tenant = start(TenantConfig {
        admin: false,
        ..small()
    })
    .await;
    let out = out();
    let (outcome, _) = run(config(&tenant, &out.path)).await;
    let report = outcome.expect("a 403 does not fail the run");
    assert!(report.partial());
    let records = read_records(&out.path);
    let data = tenant.dataset();
    assert_eq!(of_kind(&records, "user").len(), data.users.len());
    assert_eq!(of_kind(&records, "group").len(), data.groups.len());
    let projects = of_kind(&records, "resource")
        .into_iter()
        .filter(|r| r["resource_type"] == "jira_project")
        .count();
    assert_eq!(
        projects,
        data.projects.len(),
        "projects kept without their scheme"
    );
    assert_eq!(coverage(&records, "jira.users")["status"], "collected");
    assert_eq!(
        coverage(&records, "jira.permission_schemes")["status"],
        "collected"
    );

    let roles = coverage(&records, "jira.application_roles");
    assert_eq!(roles["status"], "forbidden", "{roles}");
    assert_eq!(roles["http_status"], 403);
    assert!(text(roles, "missing_permission").contains("Administer Jira"));
    assert!(text(roles, "message").contains("/rest/api/3/applicationrole"));
    let properties = coverage(&records, "jira.application_properties");
    assert_eq!(properties["status"], "not_found", "{properties}");
    assert!(text(properties, "missing_permission").contains("Administer Jira"));
    for family in ["jira.project_permission_schemes", "jira.project_roles"] {
        let c = coverage(&records, family);
        assert!(
            c["status"] == "partial" || c["status"] == "forbidden" || c["status"] == "not_found",
            "{c}"
        );
        assert!(c["failures"].as_u64().unwrap() > 0, "{c}");
    }
    assert!(report
        .summary
        .problems
        .iter()
        .any(|p| p.contains("jira.application_roles forbidden (HTTP 403)")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_credentials_end_the_run_and_leave_no_file() {
    let tenant = start(TenantConfig::small(
        EMAIL,
        secrecy::SecretString::from("another-token"),
    ))
    .await;
    let out = out();
    let (outcome, _) = run(config(&tenant, &out.path)).await;
    match outcome {
        Err(RunError::Unauthorized(error)) => {
            let message = format!("{error:#}");
            assert!(message.contains("127.0.0.1"), "{message}");
            assert!(message.contains("api_token"), "{message}");
            assert!(message.contains(EMAIL), "{message}");
            assert!(!message.contains(TOKEN));
        }
        other => panic!("expected Unauthorized, got {other:?}"),
    }
    assert!(!out.path.exists(), "no output file from a failed run");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lasting_outage_fails_each_family_without_looping() {
    let tenant = start(TenantConfig {
        faults: Faults {
            unavailable_every: 1,
            ..Faults::default()
        },
        ..small()
    })
    .await;
    let out = out();
    let mut config = config(&tenant, &out.path);
    config.http.retry.max_retries = 2;
    let (outcome, clock) = run(config).await;
    let report = outcome.expect("the run finishes");
    assert!(report.partial());
    let records = read_records(&out.path);
    for family in [
        "jira.users",
        "jira.groups",
        "jira.projects",
        "jira.permission_schemes",
    ] {
        let c = coverage(&records, family);
        assert_eq!(c["status"], "failed", "{c}");
        assert_eq!(c["http_status"], 503, "{c}");
        assert!(
            text(c, "message").contains("gave up after 3 attempts"),
            "{c}"
        );
    }
    // The credentials probe (`/myself`, which leaves the run on the site when it gets no 401),
    // six listings and two settings, three attempts each; nothing else can start without a
    // first page.
    assert_eq!(tenant.requests().len(), 9 * 3);
    assert_eq!(clock.sleeps().len(), 9 * 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pagebean_listing_with_a_total_asks_for_later_pages_several_at_a_time() {
    use std::sync::Arc;

    use inventory_collector::http::page::{PageBeanPager, Pager};
    use inventory_collector::http::retry::SystemClock;
    use inventory_collector::http::{Auth, Client, HttpSettings};
    use secrecy::SecretString;
    use serde_json::Value;

    let tenant = start(TenantConfig {
        groups: 30,
        ..small()
    })
    .await;
    let groups = tenant.dataset().groups.len();
    assert!(
        groups > 10,
        "the listing must span more than a few pages: {groups}"
    );
    let client = Client::new(
        tenant.url().parse().unwrap(),
        Auth::ApiToken {
            email: EMAIL.to_string(),
            token: SecretString::from(TOKEN),
        },
        &HttpSettings::default(),
        Arc::new(SystemClock),
    )
    .unwrap();
    let mut pager = PageBeanPager::new("/rest/api/3/group/bulk", Vec::new(), 2);
    let mut batches = Vec::new();
    let mut ids = Vec::new();
    while let Some(page) = pager.next::<Value>(&client).await.unwrap() {
        batches.push(page.len());
        ids.extend(page.into_iter().map(|g| g["groupId"].to_string()));
    }
    // The first page tells the total; then four pages of two come back at once.
    assert_eq!(batches[0], 2, "{batches:?}");
    assert_eq!(batches[1], 8, "{batches:?}");
    assert_eq!(batches.iter().sum::<usize>(), groups);
    let unique: BTreeSet<_> = ids.iter().collect();
    assert_eq!(unique.len(), groups, "every group once");
}
