//! `doctor` end to end: the auth method and route it reports, a missing OAuth scope (403) named
//! with exit 3, everything answering with exit 0, refused credentials with exit 4.

use inventory_tenant::{OAuthTenant, TenantConfig};

use crate::oauth::{as_client, binary, oauth_tenant, printed, CLIENT_SECRET};
use crate::support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_scope_is_named_and_exits_3() {
    let mut oauth = oauth_tenant();
    oauth
        .scopes
        .retain(|scope| scope != "manage:jira-configuration");
    let tenant = start(small().with_oauth(oauth)).await;
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("tokens.json");
    let mut command = as_client("doctor", &tenant.url(), &tenant, &store);
    command.args(["--products", "jira,confluence"]);
    let run = printed(command).await;
    assert_eq!(run.code, Some(3), "{}{}", run.stdout, run.stderr);
    let report = run.stdout;
    assert!(
        report.contains("auth method: oauth_client_credentials"),
        "{report}"
    );
    assert!(report.contains("route: gateway"), "{report}");
    let line = |family: &str| line_of(&report, family);
    for family in ["jira.application_properties", "jira.application_roles"] {
        let line = line(family);
        assert!(line.contains("MISSING (HTTP 403)"), "{line}");
        assert!(line.contains("manage:jira-configuration"), "{line}");
    }
    for family in [
        "jira.users",
        "jira.projects",
        "confluence.spaces",
        "confluence.audit",
    ] {
        assert!(line(family).ends_with(" ok"), "{}", line(family));
    }
    assert!(!report.contains(CLIENT_SECRET) && !run.stderr.contains(CLIENT_SECRET));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn everything_answering_exits_0_and_refused_credentials_exit_4() {
    let tenant = start(small()).await;
    let doctor = |token: &str| {
        let mut command = binary();
        command
            .args(["doctor", "--site", &tenant.url(), "--username", EMAIL])
            .args([
                "--products",
                "jira,confluence",
                "--api-url",
                &tenant.api_url(),
            ])
            .env("ATLASSIAN_TOKEN", token);
        command
    };
    let run = printed(doctor(TOKEN)).await;
    assert_eq!(run.code, Some(0), "{}{}", run.stdout, run.stderr);
    assert!(
        run.stdout.contains("auth method: api_token"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("route: site"), "{}", run.stdout);
    assert!(
        run.stdout.contains("every endpoint probed answers"),
        "{}",
        run.stdout
    );

    let wrong = start(TenantConfig::small(EMAIL, "other".to_string().into())).await;
    let mut command = binary();
    command
        .args(["doctor", "--site", &wrong.url(), "--username", EMAIL])
        .args(["--products", "jira", "--api-url", &wrong.api_url()])
        .env("ATLASSIAN_TOKEN", TOKEN);
    let run = printed(command).await;
    assert_eq!(run.code, Some(4), "{}{}", run.stdout, run.stderr);
    assert!(
        run.stderr.contains("rejected the credentials"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains(TOKEN) && !run.stdout.contains(TOKEN));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scoped_token_is_reported_on_the_gateway() {
    let tenant = start(small().with_oauth(OAuthTenant {
        scoped_token: true,
        ..oauth_tenant()
    }))
    .await;
    let mut command = binary();
    command
        .args(["doctor", "--site", &tenant.url(), "--username", EMAIL])
        .args(["--products", "jira", "--api-url", &tenant.api_url()])
        .env("ATLASSIAN_TOKEN", TOKEN);
    let run = printed(command).await;
    assert_eq!(run.code, Some(0), "{}{}", run.stdout, run.stderr);
    assert!(
        run.stdout.contains("route: gateway (the site answered 401"),
        "{}",
        run.stdout
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn assets_and_jsm_are_probed_and_a_site_without_assets_is_not_a_problem() {
    let mut config = small();
    config.assets.enabled = false;
    let tenant = start(config).await;
    let mut command = binary();
    command
        .args(["doctor", "--site", &tenant.url(), "--username", EMAIL])
        .args(["--products", "assets,jsm"])
        .env("ATLASSIAN_TOKEN", TOKEN);
    let run = printed(command).await;
    assert_eq!(run.code, Some(0), "{}{}", run.stdout, run.stderr);
    let report = run.stdout;
    let line = |family: &str| line_of(&report, family);
    assert!(
        line("assets.workspaces").ends_with("not licensed: the site has no Assets"),
        "{report}"
    );
    for family in ["jsm.service_desks", "jsm.organizations"] {
        assert!(line(family).ends_with(" ok"), "{}", line(family));
    }
    assert!(
        !report.contains("not collected by this version"),
        "{report}"
    );
}

/// The report's line for `family`.
fn line_of(report: &str, family: &str) -> String {
    report
        .lines()
        .find(|l| l.contains(family))
        .unwrap_or_else(|| panic!("no line for {family}: {report}"))
        .to_string()
}
