//! Jira's REST v2 (`/rest/api/2/…`) on the simulated site, as an alias of v3.
//!
//! Jira Cloud serves both versions; they differ only in how rich text is carried (v2: wiki
//! markup strings, v3: the Atlassian Document Format), and none of the endpoints the tenant
//! serves carries rich text. Clients that default to v2 (the side-by-side peer of the benchmark
//! among them) therefore get exactly the v3 answers.
//!
//! The rewrite wraps the whole site router rather than being one of its layers: axum runs
//! `Router::layer` middleware after a route has been matched, too late to change the path.
//! Consequences: the request log and the gate see the v3 path, and links inside bodies
//! (`self`, `nextPage`) name `/rest/api/3`, which the site serves as well.

use axum::extract::Request;
use axum::http::Uri;
use axum::Router;
use tower::ServiceExt;

const V2: &str = "/rest/api/2/";
const V3: &str = "/rest/api/3/";

/// `app` with every `/rest/api/2/…` request served as `/rest/api/3/…`.
pub(super) fn alias(app: Router) -> Router {
    Router::new().fallback_service(app.map_request(to_v3))
}

fn to_v3(mut request: Request) -> Request {
    if let Some(uri) = v3_uri(request.uri()) {
        *request.uri_mut() = uri;
    }
    request
}

/// The v3 twin of a v2 URI, query kept; `None` for any other path.
fn v3_uri(uri: &Uri) -> Option<Uri> {
    let rest = uri.path().strip_prefix(V2)?;
    let path_and_query = match uri.query() {
        Some(query) => format!("{V3}{rest}?{query}"),
        None => format!("{V3}{rest}"),
    };
    let mut parts = uri.clone().into_parts();
    parts.path_and_query = Some(path_and_query.parse().ok()?);
    Uri::from_parts(parts).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rewrite(uri: &str) -> Option<String> {
        v3_uri(&uri.parse().unwrap()).map(|uri| uri.to_string())
    }

    #[test]
    fn v2_paths_become_v3_with_their_query() {
        assert_eq!(
            rewrite("/rest/api/2/users/search?startAt=50&maxResults=50").as_deref(),
            Some("/rest/api/3/users/search?startAt=50&maxResults=50")
        );
        assert_eq!(
            rewrite("/rest/api/2/project/ENG/role/10002").as_deref(),
            Some("/rest/api/3/project/ENG/role/10002")
        );
    }

    #[test]
    fn other_paths_are_left_alone() {
        assert_eq!(rewrite("/rest/api/3/users/search"), None);
        assert_eq!(rewrite("/rest/api/20/users"), None);
        assert_eq!(rewrite("/wiki/rest/api/group"), None);
        assert_eq!(rewrite("/rest/api/2"), None);
    }
}
