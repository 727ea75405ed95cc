//! The collector against the simulated tenant's switchable faults (`tenant::Chaos`): each
//! transient fault is retried to a complete run with exactly the records of a run without it;
//! each permanent one ends only the listing it hits, with an error naming the endpoint, while
//! every other family completes and the run reports itself partial. No record is repeated and
//! no listing loops: every run ends, within a bounded number of requests.

use std::collections::BTreeSet;
use std::time::Duration;

use inventory_collector::collect::{Report, RunError};
use inventory_collector::config::{AdminAccess, Config, Product};
use inventory_collector::exit;
use inventory_tenant::{AssetsTenant, Chaos, Fault, OrgConfig, Scope, TenantConfig};
use secrecy::SecretString;
use serde_json::Value;

use crate::support::*;

const USERS: &str = "/rest/api/3/users/search";
const GROUPS: &str = "/rest/api/3/group/bulk";
const MEMBERS: &str = "/rest/api/3/group/member";
const PROJECTS: &str = "/rest/api/3/project/search";
const SCHEMES: &str = "/rest/api/3/permissionscheme";

/// Families no Jira fault below touches, unless its test says so.
const OTHERS: [&str; 4] = [
    "jira.users",
    "jira.groups",
    "jira.projects",
    "jira.permission_schemes",
];

/// What a run produced: its outcome, its records, and the ids of the data records (every
/// record but coverage, the account and Confluence audit events), with how many there were.
struct Run {
    outcome: Result<Report, RunError>,
    records: Vec<Value>,
    ids: BTreeSet<String>,
    data_records: usize,
    sleeps: Vec<Duration>,
}

impl Run {
    fn report(&self) -> &Report {
        self.outcome.as_ref().expect("the run finishes")
    }

    fn requests(&self) -> u64 {
        self.report().summary.requests
    }

    fn coverage(&self, family: &str) -> &Value {
        coverage(&self.records, family)
    }

    /// Every data record once: none is written twice.
    fn assert_no_duplicates(&self) {
        assert_eq!(
            self.ids.len(),
            self.data_records,
            "a record was written twice"
        );
    }
}

async fn collect(config: Config) -> Run {
    let path = match &config.output.destination {
        inventory_collector::output::Destination::File(path) => path.clone(),
        other => panic!("tests write to a file, not {other:?}"),
    };
    let (outcome, clock) = run(config).await;
    let records = if outcome.is_ok() {
        read_records(&path)
    } else {
        Vec::new()
    };
    // Confluence's audit events are dated from the tenant's start, so two tenants' differ.
    let data: Vec<&Value> = records
        .iter()
        .filter(|r| r["kind"] != "coverage" && r["kind"] != "account")
        .filter(|r| {
            !r["id"]
                .as_str()
                .is_some_and(|id| id.contains("/confluence.audit/"))
        })
        .collect();
    Run {
        ids: set_of(&data, "id"),
        data_records: data.len(),
        records,
        outcome,
        sleeps: clock.sleeps(),
    }
}

/// Runs `products` against a site shaped by `site` with `chaos`, and against the same site
/// without it; `tune` adjusts the collector's config of both runs.
async fn with_and_without(
    site: TenantConfig,
    chaos: Chaos,
    products: &[Product],
    tune: impl Fn(&mut Config),
) -> (Run, Run) {
    let mut runs = Vec::new();
    for chaos in [Chaos::default(), chaos] {
        let tenant = start(TenantConfig {
            chaos,
            ..site.clone()
        })
        .await;
        let out = out();
        let mut config = config_for(&tenant, &out.path, products);
        if products.contains(&Product::Admin) {
            config.admin = Some(AdminAccess {
                key: SecretString::from(ADMIN_KEY),
                settings: inventory_collector::admin::AdminSettings {
                    org_id: None,
                    stale_days: 90,
                },
            });
        }
        tune(&mut config);
        runs.push(collect(config).await);
    }
    let faulty = runs.pop().expect("two runs");
    let clean = runs.pop().expect("two runs");
    assert!(!clean.report().partial(), "{}", clean.report().summary);
    (clean, faulty)
}

/// A transient fault: the run completes with exactly the fault-free run's records, in at most
/// `extra` more requests.
async fn survives(site: TenantConfig, chaos: Chaos, products: &[Product], extra: u64) -> Run {
    let (clean, faulty) = with_and_without(site, chaos, products, |_| {}).await;
    let report = faulty.report();
    assert!(!report.partial(), "{}", report.summary);
    assert_eq!(exit::code(&faulty.outcome), exit::OK);
    assert_eq!(
        faulty.ids, clean.ids,
        "the same records as without the fault"
    );
    faulty.assert_no_duplicates();
    assert!(faulty.requests() > clean.requests(), "the fault fired");
    assert!(
        faulty.requests() <= clean.requests() + extra,
        "{} requests against {} without the fault",
        faulty.requests(),
        clean.requests()
    );
    faulty
}

/// A permanent fault on `family`: that family alone is `failed` or `partial` with a message
/// naming `endpoint` and containing `reason`; `others` are collected; the run is partial; what
/// was collected is a subset of the fault-free run, without duplicates.
async fn contained(
    chaos: Chaos,
    tune: impl Fn(&mut Config),
    family: &str,
    endpoint: &str,
    reason: &str,
    others: &[&str],
) -> Run {
    let (clean, faulty) = with_and_without(small(), chaos, &[Product::Jira], tune).await;
    assert!(faulty.report().partial());
    assert_eq!(exit::code(&faulty.outcome), exit::PARTIAL);
    let c = faulty.coverage(family);
    assert!(c["status"] == "failed" || c["status"] == "partial", "{c}");
    let message = text(c, "message");
    assert!(message.contains(endpoint), "{message}");
    assert!(message.contains(reason), "{message}");
    for other in others.iter().filter(|other| **other != family) {
        assert_eq!(faulty.coverage(other)["status"], "collected", "{other}");
    }
    assert!(
        faulty.ids.is_subset(&clean.ids),
        "no record the site does not have"
    );
    faulty.assert_no_duplicates();
    assert!(
        faulty.requests() <= clean.requests() + 20,
        "{} requests against {}",
        faulty.requests(),
        clean.requests()
    );
    faulty
}

fn chaos(fault: Fault, scope: Scope) -> Chaos {
    Chaos::default().with(fault, scope)
}

fn jira() -> [Product; 1] {
    [Product::Jira]
}

// ---------------------------------------------------------------------------------------------
// Transient faults: retried to a complete run

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_429_storm_with_retry_after_is_waited_out_exactly() {
    let fault = Fault::RateLimit {
        retry_after_secs: Some(2),
    };
    let run = survives(small(), chaos(fault, Scope::burst(USERS, 2, 4)), &jira(), 4).await;
    let waits = run.sleeps.iter().filter(|d| **d == Duration::from_secs(2));
    assert_eq!(waits.count(), 4, "{:?}", run.sleeps);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_429_storm_without_retry_after_backs_off() {
    let fault = Fault::RateLimit {
        retry_after_secs: None,
    };
    let run = survives(
        small(),
        chaos(fault, Scope::burst(GROUPS, 1, 5)),
        &jira(),
        5,
    )
    .await;
    // One backoff per 429, at least; the scheduler's pacing, slowed by the 429s, waits too.
    assert!(run.sleeps.len() >= 5, "{:?}", run.sleeps);
    assert_eq!(run.report().summary.retries, 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bursts_of_500_502_503_504_are_retried() {
    let chaos = Chaos::default()
        .with(Fault::Status(500), Scope::burst(USERS, 1, 2))
        .with(Fault::Status(502), Scope::burst(GROUPS, 1, 2))
        .with(Fault::Status(503), Scope::burst(PROJECTS, 1, 2))
        .with(Fault::Status(504), Scope::burst(SCHEMES, 1, 2));
    let run = survives(small(), chaos, &jira(), 8).await;
    assert_eq!(run.report().summary.retries, 8);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_reset_mid_body_is_retried() {
    let fault = Fault::ResetMidBody;
    survives(small(), chaos(fault, Scope::burst(USERS, 2, 2)), &jira(), 2).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_timeout_is_retried() {
    let site = TenantConfig {
        chaos: chaos(Fault::Stall, Scope::burst(GROUPS, 1, 2)),
        ..small()
    };
    let tenant = start(site).await;
    let out = out();
    let mut config = config(&tenant, &out.path);
    // The stall never ends: only the client's timeout ends those two requests.
    config.http.timeout = Duration::from_millis(300);
    let run = collect(config).await;
    assert!(!run.report().partial(), "{}", run.report().summary);
    let groups = of_kind(&run.records, "group");
    assert_eq!(groups.len(), tenant.dataset().groups.len());
    run.assert_no_duplicates();
    assert!(run.report().summary.retries >= 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_responses_within_the_timeout_change_nothing() {
    let fault = Fault::Slow(Duration::from_millis(15));
    let (clean, slow) = with_and_without(
        small(),
        chaos(fault, Scope::always(MEMBERS)),
        &jira(),
        |_| {},
    )
    .await;
    assert!(!slow.report().partial());
    assert_eq!(slow.ids, clean.ids);
    assert_eq!(slow.requests(), clean.requests(), "nothing was retried");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn truncated_json_is_retried() {
    let fault = Fault::TruncatedJson;
    survives(
        small(),
        chaos(fault, Scope::burst(PROJECTS, 1, 2)),
        &jira(),
        2,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_html_page_with_status_200_is_retried() {
    let fault = Fault::HtmlPage;
    survives(
        small(),
        chaos(fault, Scope::burst(MEMBERS, 1, 3)),
        &jira(),
        3,
    )
    .await;
}

// ---------------------------------------------------------------------------------------------
// Permanent faults: only the listing they hit ends, with an error naming it

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lasting_5xx_fails_its_family_only() {
    contained(
        chaos(Fault::Status(502), Scope::always(USERS)),
        |config| config.http.retry.max_retries = 2,
        "jira.users",
        USERS,
        "HTTP 502",
        &OTHERS,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lasting_resets_fail_their_family_only() {
    let run = contained(
        chaos(Fault::ResetMidBody, Scope::always(PROJECTS)),
        |config| config.http.retry.max_retries = 2,
        "jira.projects",
        PROJECTS,
        "gave up after 3 attempts",
        &OTHERS,
    )
    .await;
    assert_eq!(run.report().summary.retries, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lasting_stall_fails_its_family_on_the_timeout() {
    let run = contained(
        chaos(Fault::Stall, Scope::always(GROUPS)),
        |config| {
            // Four attempts each: a request of another family slowed by a busy machine still
            // gets through, while the stalled listing fails in about a second.
            config.http.retry.max_retries = 3;
            config.http.timeout = Duration::from_millis(250);
        },
        "jira.groups",
        GROUPS,
        "gave up after 4 attempts",
        &OTHERS,
    )
    .await;
    let message = text(run.coverage("jira.groups"), "message");
    assert!(message.contains("timed out"), "{message}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lasting_truncated_json_fails_after_the_retries() {
    contained(
        chaos(Fault::TruncatedJson, Scope::always(USERS)),
        |config| config.http.retry.max_retries = 2,
        "jira.users",
        USERS,
        "gave up after 3 attempts",
        &OTHERS,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lasting_html_page_fails_its_family_saying_so() {
    contained(
        chaos(Fault::HtmlPage, Scope::always(GROUPS)),
        |config| config.http.retry.max_retries = 2,
        "jira.groups",
        GROUPS,
        "an HTML page instead of JSON",
        &OTHERS,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_of_the_wrong_shape_is_final_at_once() {
    let run = contained(
        chaos(Fault::WrongShape, Scope::always(PROJECTS)),
        |_| {},
        "jira.projects",
        PROJECTS,
        "unexpected response body",
        &OTHERS,
    )
    .await;
    assert_eq!(
        run.report().summary.retries,
        0,
        "retrying cannot fix a shape"
    );
}

// ---------------------------------------------------------------------------------------------
// Pagination lies. Groups come two a page here, so `group/bulk` takes several pages.

fn two_a_page() -> Chaos {
    chaos(Fault::PageSize(2), Scope::always(GROUPS))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_without_is_last_end_on_the_total() {
    let chaos = two_a_page().with(Fault::DropIsLast, Scope::always(GROUPS));
    survives_lie(chaos).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_total_that_changes_between_pages_loses_nothing() {
    let chaos = two_a_page()
        .with(Fault::DropIsLast, Scope::always(GROUPS))
        .with(Fault::ShiftTotal, Scope::always(GROUPS));
    survives_lie(chaos).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_next_page_pointing_back_is_not_followed() {
    let chaos = two_a_page().with(Fault::NextPageBack, Scope::always(GROUPS));
    survives_lie(chaos).await;
}

/// Several pages of groups under a lie, and still every group and membership once.
async fn survives_lie(chaos: Chaos) {
    let (clean, faulty) = with_and_without(small(), chaos, &jira(), |_| {}).await;
    assert!(!faulty.report().partial(), "{}", faulty.report().summary);
    assert_eq!(faulty.ids, clean.ids);
    faulty.assert_no_duplicates();
    let groups = of_kind(&faulty.records, "group").len() as u64;
    assert!(groups > 2, "several pages");
    assert!(
        faulty.requests() > clean.requests(),
        "groups came two a page"
    );
    // One request a page, and at most one more (an empty page closing a listing whose total
    // was inflated); and where an inflated total had pages asked for several at once past
    // the end, at most three more.
    assert!(
        faulty.requests() <= clean.requests() + groups / 2 + 2 + 3,
        "{} requests against {} without the lie, {groups} groups",
        faulty.requests(),
        clean.requests()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_empty_page_that_is_not_the_last_ends_the_listing_with_an_error() {
    let chaos = two_a_page().with(Fault::EmptyNotLast, Scope::from(GROUPS, 2));
    let run = contained(
        chaos,
        |_| {},
        "jira.groups",
        GROUPS,
        "empty page at startAt=2 that says it is not the last",
        &OTHERS,
    )
    .await;
    assert_eq!(run.coverage("jira.groups")["status"], "partial");
    assert_eq!(
        of_kind(&run.records, "group").len(),
        2,
        "the first page kept"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_larger_than_asked_is_taken_whole_and_advanced_by_its_length() {
    let site = TenantConfig {
        assets: AssetsTenant {
            objects: 1000,
            page_limit: 500,
            ..AssetsTenant::default()
        },
        ..small()
    };
    // The collector asks for 100 objects a page; the server reads 250.
    let oversize = chaos(Fault::PageSize(250), Scope::always("/jsm/assets/"));
    let products = [Product::Jira, Product::Assets];
    let (clean, faulty) = with_and_without(site, oversize, &products, |_| {}).await;
    assert!(!faulty.report().partial(), "{}", faulty.report().summary);
    assert_eq!(faulty.ids, clean.ids);
    faulty.assert_no_duplicates();
    assert!(faulty.requests() < clean.requests(), "fewer, larger pages");
}

const ADMIN_KEY: &str = "adm-key-faults-NEVER-PRINT-ME";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_repeated_admin_cursor_ends_that_listing_only() {
    let org = OrgConfig::small(SecretString::from(ADMIN_KEY), jiff::Timestamp::now());
    let tokens = format!("/admin/api-access/v1/orgs/{}/api-tokens", org.org_id);
    let site = small().with_org(org);
    let repeat = chaos(Fault::RepeatCursor, Scope::always(&tokens));
    let products = [Product::Jira, Product::Admin];
    let (clean, faulty) = with_and_without(site, repeat, &products, |_| {}).await;
    assert!(faulty.report().partial());
    assert_eq!(exit::code(&faulty.outcome), exit::PARTIAL);
    let c = faulty.coverage("admin.api_tokens");
    assert_eq!(c["status"], "partial", "{c}");
    let message = text(c, "message");
    assert!(message.contains("handed out twice"), "{message}");
    assert!(message.contains(&tokens), "{message}");
    for family in [
        "admin.users",
        "admin.groups",
        "admin.api_keys",
        "jira.users",
    ] {
        assert_eq!(faulty.coverage(family)["status"], "collected", "{family}");
    }
    assert!(faulty.ids.is_subset(&clean.ids));
    faulty.assert_no_duplicates();
    assert!(faulty.requests() <= clean.requests());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_confluence_next_link_back_to_the_first_page_is_refused() {
    const SPACES: &str = "/wiki/api/v2/spaces";
    let back = chaos(Fault::NextPageBack, Scope::from(SPACES, 2));
    let products = [Product::Jira, Product::Confluence];
    let (clean, faulty) = with_and_without(small(), back, &products, |_| {}).await;
    assert!(faulty.report().partial());
    let c = faulty.coverage("confluence.spaces");
    assert_eq!(c["status"], "partial", "{c}");
    let message = text(c, "message");
    assert!(
        message.contains("no cursor: back to the first page"),
        "{message}"
    );
    assert!(message.contains(SPACES), "{message}");
    for family in ["confluence.groups", "confluence.audit", "jira.users"] {
        assert_eq!(faulty.coverage(family)["status"], "collected", "{family}");
    }
    let extra: Vec<_> = faulty.ids.difference(&clean.ids).take(5).collect();
    assert!(extra.is_empty(), "{extra:?}");
    faulty.assert_no_duplicates();
    assert!(faulty.requests() <= clean.requests());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_group_jira_listed_keeps_its_members_with_jira_even_when_they_fail() {
    // Jira lists every group but cannot read their members. The groups are Jira's, so
    // Confluence (which lists the same groups) does not stand in: the gap is Jira's coverage,
    // and no Confluence edge appears for them.
    let (clean, faulty) = with_and_without(
        small(),
        chaos(Fault::Status(500), Scope::always(MEMBERS)),
        &[Product::Jira, Product::Confluence],
        |config| config.http.retry.max_retries = 0,
    )
    .await;
    assert_eq!(faulty.coverage("jira.group_members")["status"], "failed");
    assert_eq!(faulty.coverage("jira.groups")["status"], "collected");
    assert_eq!(faulty.coverage("confluence.groups")["status"], "collected");
    let member_edges = |run: &Run| {
        of_kind(&run.records, "membership")
            .into_iter()
            .filter(|m| m["relation"] == "group_member")
            .count()
    };
    assert!(member_edges(&clean) > 0);
    assert_eq!(member_edges(&faulty), 0, "no product filled Jira's gap");
    let sources: BTreeSet<String> = of_kind(&faulty.records, "group")
        .iter()
        .map(|g| text(g, "source"))
        .collect();
    assert_eq!(
        sources,
        BTreeSet::from(["jira".to_string()]),
        "Jira lists first"
    );
    faulty.assert_no_duplicates();
}
