//! The simulated tenant as a benchmark target: token buckets with Jira's and the Admin API's
//! headers, early-retry counting, the quota, seeded random faults, the benchmark profiles and
//! the server's count of the fewest requests a collection needs.
//!
//! Buckets refill in real time, so every bucket here has a tiny rate (0.001 a second) and a
//! small burst: what the tests assert holds however long they take.

use std::time::Duration;

use inventory_tenant::{min_requests, Host, Pacing, Profile, Quota, Tenant, TenantConfig};
use secrecy::SecretString;

use crate::admin_tenant::{self, org, KEY};
use crate::tenant::{get, small, Reply, EMAIL, TOKEN};

/// A bucket that never refills while a test runs, holding `burst` requests.
fn frozen(burst: f64) -> Pacing {
    Pacing {
        rps: Some(0.001),
        burst: Some(burst),
        ..instant_notice()
    }
}

/// No pacing, and a `429` counts as known to the client at once: every request after it is
/// early, however fast the test runs.
fn instant_notice() -> Pacing {
    Pacing {
        notice: Duration::ZERO,
        ..Pacing::default()
    }
}

async fn start(pacing: Pacing) -> Tenant {
    Tenant::start(TenantConfig {
        pacing,
        ..small().with_org(org())
    })
    .await
    .expect("tenant starts")
}

fn header<'a>(reply: &'a Reply, name: &str) -> Option<&'a str> {
    reply.headers.get(name).and_then(|v| v.to_str().ok())
}

fn counts(tenant: &Tenant, host: &str, template: &str) -> inventory_tenant::Counts {
    tenant
        .pacing_report()
        .templates
        .into_iter()
        .find(|t| t.host == host && t.template == template)
        .unwrap_or_else(|| panic!("no counts for {host} {template}"))
        .counts
}

/// `yyyy-MM-ddTHH:mmZ`, Jira's `X-RateLimit-Reset`.
fn is_jira_reset(value: &str) -> bool {
    value.len() == 17
        && value.ends_with('Z')
        && jiff::civil::DateTime::strptime("%Y-%m-%dT%H:%MZ", value).is_ok()
}

#[tokio::test]
async fn a_bucket_refuses_beyond_its_burst_with_jiras_headers() {
    let tenant = start(frozen(3.0)).await;
    let path = "/rest/api/3/applicationrole";
    let mut replies = Vec::new();
    for _ in 0..4 {
        replies.push(get(&tenant, path).await);
    }
    for (i, reply) in replies[..3].iter().enumerate() {
        assert_eq!(reply.status, 200, "request {i}");
        assert_eq!(header(reply, "x-ratelimit-limit"), Some("0.001"));
        let remaining = (2 - i).to_string();
        assert_eq!(
            header(reply, "x-ratelimit-remaining"),
            Some(remaining.as_str())
        );
    }
    // Fewer than 20% of three tokens left only after the third request.
    assert_eq!(header(&replies[0], "x-ratelimit-nearlimit"), None);
    assert_eq!(header(&replies[1], "x-ratelimit-nearlimit"), None);
    assert_eq!(header(&replies[2], "x-ratelimit-nearlimit"), Some("true"));

    let refused = &replies[3];
    assert_eq!(refused.status, 429);
    let retry_after: u64 = header(refused, "retry-after")
        .expect("Retry-After")
        .parse()
        .expect("whole seconds");
    assert!(retry_after >= 1);
    assert_eq!(
        header(refused, "ratelimit-reason"),
        Some("jira-burst-based")
    );
    assert_eq!(header(refused, "x-ratelimit-remaining"), Some("0"));
    let reset = header(refused, "x-ratelimit-reset").expect("X-RateLimit-Reset");
    assert!(is_jira_reset(reset), "{reset}");
    assert!(refused.body["errorMessages"].is_array(), "{}", refused.body);
    assert!(refused.body["errors"].is_object(), "{}", refused.body);

    // Another endpoint has its own bucket.
    assert_eq!(
        get(&tenant, "/rest/api/3/permissionscheme").await.status,
        200
    );
    let c = counts(&tenant, "site", "GET /rest/api/3/applicationrole");
    assert_eq!((c.served, c.throttled, c.early_retries), (3, 1, 0));
}

#[tokio::test]
async fn buckets_are_per_template_not_per_id() {
    let tenant = start(frozen(1.0)).await;
    let first = get(&tenant, "/rest/api/3/project/10000/roledetails").await;
    let second = get(&tenant, "/rest/api/3/project/10001/roledetails").await;
    assert_eq!((first.status, second.status), (200, 429));
    let c = counts(&tenant, "site", "GET /rest/api/3/project/{}/roledetails");
    assert_eq!((c.served, c.throttled), (1, 1));
}

#[tokio::test]
async fn requests_before_retry_after_are_early_retries() {
    let tenant = start(frozen(1.0)).await;
    let path = "/rest/api/3/application-properties";
    assert_eq!(get(&tenant, path).await.status, 200);
    assert_eq!(get(&tenant, path).await.status, 429);
    for _ in 0..2 {
        let again = get(&tenant, path).await;
        assert_eq!(again.status, 429);
        assert!(header(&again, "retry-after").is_some_and(|v| v.parse::<u64>().unwrap() >= 1));
    }
    let report = tenant.pacing_report();
    let c = counts(&tenant, "site", "GET /rest/api/3/application-properties");
    assert_eq!((c.served, c.throttled, c.early_retries), (1, 1, 2));
    assert_eq!(report.totals.early_retries, 2);
    assert_eq!(report.requests, 4);
}

#[tokio::test]
async fn requests_on_their_way_before_the_429_arrived_are_not_early() {
    // The client cannot know of the 429 for an hour: whatever follows was already on its way.
    let tenant = start(Pacing {
        notice: Duration::from_secs(3600),
        ..frozen(1.0)
    })
    .await;
    let path = "/rest/api/3/applicationrole";
    let statuses = [
        get(&tenant, path).await.status,
        get(&tenant, path).await.status,
        get(&tenant, path).await.status,
    ];
    assert_eq!(statuses, [200, 429, 429]);
    let c = counts(&tenant, "site", "GET /rest/api/3/applicationrole");
    assert_eq!((c.served, c.throttled, c.early_retries), (1, 2, 0));
}

#[tokio::test]
async fn the_admin_api_answers_its_own_429() {
    let tenant = start(frozen(1.0)).await;
    let path = admin_tenant::org_path(&tenant, "/domains");
    let first = admin_tenant::get(&tenant, &path).await;
    assert_eq!(first.status, 200);
    assert_eq!(header(&first, "x-ratelimit-limit"), Some("0.001"));
    assert_eq!(header(&first, "x-ratelimit-remaining"), Some("0"));
    assert_eq!(header(&first, "x-ratelimit-nearlimit"), None);
    let refused = admin_tenant::get(&tenant, &path).await;
    assert_eq!(refused.status, 429);
    assert_eq!(refused.body["code"], 429, "{}", refused.body);
    assert!(refused.body["message"].is_string());
    assert_eq!(header(&refused, "ratelimit-reason"), None);
    assert!(header(&refused, "retry-after").is_some());
    let reset = header(&refused, "x-ratelimit-reset").expect("X-RateLimit-Reset");
    assert!(reset.parse::<jiff::Timestamp>().is_ok(), "{reset}");
    let c = counts(&tenant, "api", "GET /admin/v1/orgs/{}/domains");
    assert_eq!((c.served, c.throttled), (1, 1));
}

#[tokio::test]
async fn a_tripped_quota_closes_the_whole_host() {
    let tenant = start(instant_notice()).await;
    assert_eq!(
        get(&tenant, "/rest/api/3/applicationrole").await.status,
        200
    );
    tenant.trip_quota(Host::Site, Duration::from_secs(60));
    let tripped = get(&tenant, "/rest/api/3/applicationrole").await;
    assert_eq!(tripped.status, 429);
    assert_eq!(
        header(&tripped, "ratelimit-reason"),
        Some("jira-quota-tenant-based")
    );
    assert_eq!(header(&tripped, "retry-after"), Some("60"));
    // Another endpoint of the same host is closed too, and asking is early.
    let other = get(&tenant, "/rest/api/3/permissionscheme").await;
    assert_eq!(other.status, 429);
    assert_eq!(
        header(&other, "ratelimit-reason"),
        Some("jira-quota-tenant-based")
    );
    // The Admin API is another host.
    let admin = admin_tenant::get(&tenant, &admin_tenant::org_path(&tenant, "/domains")).await;
    assert_eq!(admin.status, 200);
    let report = tenant.pacing_report();
    assert_eq!(report.totals.throttled, 1);
    assert_eq!(report.totals.early_retries, 1);
}

#[tokio::test]
async fn a_configured_quota_trips_after_its_requests() {
    let tenant = start(Pacing {
        quota: Some(Quota {
            host: Host::Site,
            after: 2,
            pause: Duration::from_secs(30),
        }),
        ..Pacing::default()
    })
    .await;
    let path = "/rest/api/3/applicationrole";
    assert_eq!(get(&tenant, path).await.status, 200);
    assert_eq!(get(&tenant, path).await.status, 200);
    let third = get(&tenant, path).await;
    assert_eq!(third.status, 429);
    assert_eq!(header(&third, "retry-after"), Some("30"));
    assert_eq!(
        header(&third, "ratelimit-reason"),
        Some("jira-quota-tenant-based")
    );
}

/// The statuses of `n` requests, each to an endpoint of its own (so a fault's `Retry-After`
/// never makes a later request early).
async fn fault_run(seed: u64, n: usize) -> (Vec<u16>, Tenant) {
    let tenant = start(Pacing {
        fault_rate: 0.5,
        seed,
        ..Pacing::default()
    })
    .await;
    let mut statuses = Vec::new();
    for i in 0..n {
        let reply = get(&tenant, &format!("/rest/api/3/probe{i}")).await;
        match reply.status {
            429 => assert_eq!(header(&reply, "retry-after"), Some("1")),
            503 => assert_eq!(header(&reply, "retry-after"), None),
            other => assert_eq!(other, 404, "unknown path, not a fault"),
        }
        statuses.push(reply.status);
    }
    (statuses, tenant)
}

#[tokio::test]
async fn random_faults_follow_the_seed() {
    let (a, tenant) = fault_run(7, 40).await;
    let (b, _) = fault_run(7, 40).await;
    let (c, _) = fault_run(8, 40).await;
    assert_eq!(a, b, "same seed, same faults");
    assert_ne!(a, c, "another seed, other faults");
    let faults = a.iter().filter(|&&s| s != 404).count();
    assert!(
        (8..=32).contains(&faults),
        "{faults} of 40 at a rate of 0.5"
    );
    assert!(a.contains(&429) && a.contains(&503));
    let report = tenant.pacing_report();
    assert_eq!(report.totals.faults, faults as u64);
    assert_eq!(report.totals.served, 40 - faults as u64);
}

#[tokio::test]
async fn profile_s_has_the_documented_sizes() {
    let config = TenantConfig::profile(
        Profile::S,
        EMAIL,
        SecretString::from(TOKEN),
        SecretString::from(KEY),
    );
    assert!(!config.request_log);
    let tenant = Tenant::start(config).await.expect("tenant starts");
    let data = tenant.dataset();
    let expected = data.expected();
    assert_eq!(expected.users, 1_000);
    assert_eq!(expected.groups, 100);
    let average = expected.memberships as f64 / expected.groups as f64;
    assert!(
        (36.0..=44.0).contains(&average),
        "{average} members a group"
    );
    assert_eq!(expected.projects, 40);
    assert!(data.projects.iter().all(|p| p.roles.len() == 8));
    assert_eq!(expected.project_roles, 320);
    assert_eq!(expected.permission_schemes, 4);
    assert_eq!(expected.api_tokens, 100);
    assert_eq!(expected.assets, 2_000);
    let org = data.org.as_ref().expect("an organisation");
    // The directory holds the site's people: Jira and Admin stitch.
    for user in data.users.iter().filter(|u| u.account_type == "atlassian") {
        assert!(org.user(&user.account_id).is_some(), "{}", user.account_id);
    }
    // Page sizes are the documented maxima: a /group/member page holds 50.
    let group = data
        .groups
        .iter()
        .find(|g| g.members.len() > 50)
        .expect("a big group");
    let page = get(
        &tenant,
        &format!(
            "/rest/api/3/group/member?groupId={}&maxResults=1000",
            group.group_id
        ),
    )
    .await;
    assert_eq!(page.body["maxResults"], 50);
    assert!(tenant.requests().is_empty(), "no request log in a profile");
}

#[tokio::test]
async fn min_requests_counts_every_listing_at_its_largest_page() {
    let config = TenantConfig {
        short_pages: false,
        ..small().with_org(org())
    };
    let tenant = Tenant::start(config.clone()).await.expect("tenant starts");
    let data = tenant.dataset();
    let pages = |n: usize, p: usize| n.div_ceil(p).max(1);

    // users/search: 10 a page, then the empty page.
    let jira = 1 // the route probe
        + data.users.len().div_ceil(10) + 1
        + pages(data.groups.len(), 50)
        + data.groups.iter().map(|g| pages(g.members.len(), 50)).sum::<usize>()
        + pages(data.projects.len(), 100)
        + data.projects.len() // roledetails
        + data.projects.iter().map(|p| p.roles.len()).sum::<usize>()
        + data.projects.iter().filter(|p| !p.simplified).count() // permissionscheme
        + 5; // schemes, properties, application roles, UPM, mail
    let day_minutes = 24 * 60;
    let recent_audit = data
        .confluence
        .audit
        .iter()
        .filter(|e| e.minutes_ago <= day_minutes)
        .count();
    let confluence = pages(data.groups.len(), 3)
        + pages(data.confluence.spaces.len(), 3)
        + data
            .confluence
            .spaces
            .iter()
            .map(|s| pages(s.permissions.len(), 3))
            .sum::<usize>()
        + 2 // retention, UPM
        + pages(recent_audit, 3)
        + 2; // cgraphql refused, then the gateway
    let assets = &data.assets;
    let assets = 1
        + pages(assets.schemas.len(), 50)
        + assets.schemas.len()
        + assets.types.len()
        + assets
            .types
            .iter()
            .map(|t| {
                pages(
                    assets.objects.iter().filter(|o| o.type_id == t.id).count(),
                    10,
                )
            })
            .sum::<usize>();
    let jsm = &data.jsm;
    let jsm = pages(jsm.service_desks.len(), 3)
        + jsm
            .service_desks
            .iter()
            .map(|d| pages(d.customers.len(), 3))
            .sum::<usize>()
        + pages(jsm.organizations.len(), 3)
        + jsm
            .organizations
            .iter()
            .map(|o| pages(o.members.len(), 3))
            .sum::<usize>();
    let o = data.org.as_ref().expect("an org");
    let cutoff = admin_tenant::now().as_second() - 86_400;
    let recent_events = o
        .events
        .iter()
        .filter(|e| e.time.parse::<jiff::Timestamp>().unwrap().as_second() >= cutoff)
        .count();
    let admin = 1
        + pages(o.domains.len(), 4)
        + pages(o.users.len(), 4)
        + pages(o.groups.len(), 4)
        + pages(o.api_tokens.len(), 4)
        + pages(o.api_keys.len(), 4)
        + o.service_accounts
            .iter()
            .map(|a| pages(a.tokens.len(), 4))
            .sum::<usize>()
        + recent_events.div_ceil(4)
        + 1;

    let expected = (jira + confluence + assets + jsm + admin) as u64;
    assert_eq!(min_requests(data, &config), expected);
    assert_eq!(tenant.pacing_report().min_requests, expected);
}

#[tokio::test]
async fn the_report_derives_the_physical_limit_from_its_own_counts() {
    let tenant = start(Pacing {
        rps: Some(1000.0),
        ..Pacing::default()
    })
    .await;
    // users/search is a bare array: its pages form a chain.
    for start_at in [0, 10, 20, 30] {
        let path = format!("/rest/api/3/users/search?startAt={start_at}&maxResults=10");
        assert_eq!(get(&tenant, &path).await.status, 200);
    }
    let report = tenant.pacing_report();
    assert_eq!(report.longest_chain, 4);
    assert_eq!(report.requests, 4);
    // 4 served at 1000/s, no latency.
    assert!((report.physical_limit_s - 0.004).abs() < 1e-9, "{report:?}");
}
