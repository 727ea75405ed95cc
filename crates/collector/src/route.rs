//! Where the site's products are reached: the site itself, or Atlassian's API gateway
//! `{api-url}/ex/jira/{cloudId}` and `{api-url}/ex/confluence/{cloudId}` (REFERENCE §0.1, §6).
//!
//! - OAuth 2.0 access tokens work only through the gateway. The cloud id comes from
//!   `GET {api-url}/oauth/token/accessible-resources`: de-duplicated by `id` (a site appears once
//!   per product), the one whose `url` is `--site`.
//! - Service accounts (`…@serviceaccount.atlassian.com`) and scoped API tokens keep HTTP Basic
//!   but must also use the gateway; the cloud id comes from the site's public
//!   `GET {site}/_edge/tenant_info`. A service account goes there at once. Any other email tries
//!   the site first (one cheap request); a 401 there is retried once through the gateway, since
//!   a scoped token looks like any other.

use reqwest::Url;
use serde::de::IgnoredAny;
use serde::Deserialize;

use crate::http::{ApiError, Auth, Client};

/// The route the run's site requests take.
#[derive(Clone, Debug)]
pub(crate) struct Route {
    /// Base URL of Jira requests (`/rest/...`).
    pub jira: Url,
    /// Base URL of Confluence requests (`/wiki/...`).
    pub confluence: Url,
    /// The site's cloud id, when it was needed.
    pub cloud_id: Option<String>,
    /// How the route was chosen, for the summary and `doctor`.
    pub reason: String,
}

impl Route {
    fn site(site: &Url) -> Route {
        Route {
            jira: site.clone(),
            confluence: site.clone(),
            cloud_id: None,
            reason: "the site answered the credentials".to_string(),
        }
    }

    fn gateway(api_url: &Url, cloud_id: String, reason: String) -> Route {
        let product = |name: &str| {
            let mut url = api_url.clone();
            let base = url.path().trim_end_matches('/').to_string();
            url.set_path(&format!("{base}/ex/{name}/{cloud_id}"));
            url
        };
        Route {
            jira: product("jira"),
            confluence: product("confluence"),
            cloud_id: Some(cloud_id),
            reason,
        }
    }

    /// `site` or `gateway`: the `account` record's `route`.
    pub(crate) fn name(&self) -> &'static str {
        if self.cloud_id.is_some() {
            "gateway"
        } else {
            "site"
        }
    }

    /// One line for the run summary: `route gateway (…/ex/jira/{cloudId}: why)`.
    pub(crate) fn describe(&self) -> String {
        match &self.cloud_id {
            Some(_) => format!("route gateway ({}: {})", self.jira, self.reason),
            None => "route site".to_string(),
        }
    }
}

/// Why no route was found.
#[derive(Debug)]
pub(crate) enum RouteError {
    /// The credentials were refused, or reach no such site.
    Unauthorized(anyhow::Error),
    /// Anything else (network, an unexpected answer).
    Fatal(anyhow::Error),
}

/// A cheap request that needs nothing but valid credentials: `GET /rest/api/3/myself`, or
/// Confluence's current user when Jira is not collected.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Probe {
    Jira,
    Confluence,
}

impl Probe {
    fn path(self) -> &'static str {
        match self {
            Probe::Jira => "/rest/api/3/myself",
            Probe::Confluence => "/wiki/rest/api/user/current",
        }
    }

    fn base(self, route: &Route) -> &Url {
        match self {
            Probe::Jira => &route.jira,
            Probe::Confluence => &route.confluence,
        }
    }
}

/// One entry of `accessible-resources` (REFERENCE §6); unknown fields are ignored.
#[derive(Debug, Deserialize)]
pub(crate) struct Resource {
    pub id: String,
    pub url: String,
    #[serde(default)]
    pub scopes: Vec<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TenantInfo {
    cloud_id: String,
}

/// Chooses the route for `site` (the client's base) with the client's credentials.
pub(crate) async fn choose(
    site: &Client,
    api_url: &Url,
    probe: Probe,
) -> Result<Route, RouteError> {
    let site_url = site.base().clone();
    match site.auth() {
        Auth::OAuth(_) => {
            let resources = accessible_resources(site, api_url).await?;
            let cloud_id = match_site(&site_url, &resources).map_err(RouteError::Unauthorized)?;
            let reason = format!("OAuth 2.0, cloud id {cloud_id} from accessible-resources");
            Ok(Route::gateway(api_url, cloud_id, reason))
        }
        auth if auth.is_service_account() => {
            let cloud_id = tenant_info(site).await?;
            let reason = "a service account's API token works only there".to_string();
            Ok(Route::gateway(api_url, cloud_id, reason))
        }
        auth => match site.get::<IgnoredAny>(probe.path(), &[]).await {
            Err(error) if error.status() == Some(401) => {
                let cloud_id = tenant_info(site).await?;
                let reason = "the site answered 401, the gateway took the (scoped) API token";
                let route = Route::gateway(api_url, cloud_id, reason.to_string());
                let gateway = site.with_base(probe.base(&route).clone());
                match gateway.get::<IgnoredAny>(probe.path(), &[]).await {
                    Err(again) if again.is_unauthorized() => {
                        Err(RouteError::Unauthorized(anyhow::anyhow!(
                            "{site_url} rejected the credentials ({}: HTTP Basic with {} and an \
                             API token), and so did the gateway {}. Check ATLASSIAN_USERNAME and \
                             the token, which may have expired or been revoked. [{error}]",
                            auth.method(),
                            auth.principal(),
                            probe.base(&route),
                        )))
                    }
                    _ => Ok(route),
                }
            }
            // Anything but a 401 (even a 404 or 5xx) says the site took the credentials, or
            // leaves the run to find out family by family.
            _ => Ok(Route::site(&site_url)),
        },
    }
}

/// The sites an OAuth token reaches, de-duplicated by cloud id (one entry per product).
pub(crate) async fn accessible_resources(
    client: &Client,
    api_url: &Url,
) -> Result<Vec<Resource>, RouteError> {
    let api = client.with_base(api_url.clone());
    let listed: Vec<Resource> = api
        .get("/oauth/token/accessible-resources", &[])
        .await
        .map_err(|e| classify(e, "listing the sites the OAuth grant reaches"))?;
    let mut resources: Vec<Resource> = Vec::new();
    for resource in listed {
        match resources.iter_mut().find(|r| r.id == resource.id) {
            Some(seen) => {
                for scope in resource.scopes {
                    if !seen.scopes.contains(&scope) {
                        seen.scopes.push(scope);
                    }
                }
            }
            None => resources.push(resource),
        }
    }
    Ok(resources)
}

/// The cloud id of `site` among `resources`, or an error naming every site they reach.
pub(crate) fn match_site(site: &Url, resources: &[Resource]) -> anyhow::Result<String> {
    let same = |url: &str| Url::parse(url).is_ok_and(|url| url.origin() == site.origin());
    if let Some(resource) = resources.iter().find(|r| same(&r.url)) {
        return Ok(resource.id.clone());
    }
    let reachable: Vec<String> = resources
        .iter()
        .map(|r| format!("{} (cloud id {})", r.url, r.id))
        .collect();
    let reachable = if reachable.is_empty() {
        "none".to_string()
    } else {
        reachable.join(", ")
    };
    anyhow::bail!(
        "the OAuth grant does not reach {}; it reaches: {reachable}. Give one of those as \
         --site, or grant this site with `atlassian-inventory auth login`",
        site.as_str().trim_end_matches('/')
    )
}

/// `GET {site}/_edge/tenant_info`: public, no credentials sent.
async fn tenant_info(site: &Client) -> Result<String, RouteError> {
    let public = site.with_auth(Auth::None);
    let info: TenantInfo = public
        .get("/_edge/tenant_info", &[])
        .await
        .map_err(|e| classify(e, "reading the site's cloud id"))?;
    Ok(info.cloud_id)
}

fn classify(error: ApiError, doing: &str) -> RouteError {
    if error.is_unauthorized() {
        RouteError::Unauthorized(anyhow::anyhow!("{doing}: {error}"))
    } else {
        RouteError::Fatal(anyhow::anyhow!("{doing}: {error}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resource(id: &str, url: &str) -> Resource {
        Resource {
            id: id.into(),
            url: url.into(),
            scopes: Vec::new(),
        }
    }

    #[test]
    fn the_site_is_matched_by_origin_and_others_are_listed() {
        let resources = [
            resource("a", "https://acme.atlassian.net"),
            resource("b", "https://other.atlassian.net"),
        ];
        let site = Url::parse("https://acme.atlassian.net/").unwrap();
        assert_eq!(match_site(&site, &resources).unwrap(), "a");
        let missing = Url::parse("https://third.atlassian.net").unwrap();
        let error = match_site(&missing, &resources).unwrap_err().to_string();
        assert!(
            error.contains("https://acme.atlassian.net (cloud id a)")
                && error.contains("other.atlassian.net")
                && error.contains("third.atlassian.net"),
            "{error}"
        );
    }

    #[test]
    fn gateway_routes_keep_the_api_base_path() {
        let api = Url::parse("http://127.0.0.1:9/").unwrap();
        let route = Route::gateway(&api, "c1".into(), "why".into());
        assert_eq!(route.jira.as_str(), "http://127.0.0.1:9/ex/jira/c1");
        assert_eq!(
            route.confluence.as_str(),
            "http://127.0.0.1:9/ex/confluence/c1"
        );
        assert_eq!(route.name(), "gateway");
    }
}
