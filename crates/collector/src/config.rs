//! The validated configuration of a run: plain data (no live connection, no server), built from
//! flags and environment in one place, the binary's `cli`. The library never sees clap.

use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context};
use jiff::Timestamp;
use reqwest::Url;
use secrecy::SecretString;

use crate::http::HttpSettings;
use crate::output::OutputSpec;

/// Every environment variable the `atlassian-inventory` binary reads (its flags' `env`; a test
/// there keeps the list complete). The benchmark clears them for its child collector.
pub const ENVIRONMENT: [&str; 7] = [
    "ATLASSIAN_SITE",
    "ATLASSIAN_USERNAME",
    "ATLASSIAN_TOKEN",
    "ATLASSIAN_API_URL",
    "ATLASSIAN_AUTH_URL",
    "ATLASSIAN_ADMIN_API_KEY",
    "ATLASSIAN_ORG_ID",
];

#[derive(Debug)]
pub struct Config {
    pub target: Target,
    pub products: Vec<Product>,
    pub output: OutputSpec,
    pub http: HttpSettings,
    /// The base of the Org Admin API and the Assets/OAuth gateway (`https://api.atlassian.com`).
    pub api_url: Url,
    /// Audit logs are read from this moment on.
    pub since: Timestamp,
    /// The Org Admin API key and settings, when given.
    pub admin: Option<AdminAccess>,
    /// A partial run writes nothing and leaves the previous output in place
    /// (`--fail-on-partial`).
    pub fail_on_partial: bool,
    /// Narrows the Assets objects collected (`--aql`); every object when `None`.
    pub aql: Option<String>,
    /// Draw a progress spinner on stderr.
    pub progress: bool,
    pub verbosity: Verbosity,
}

/// Access to the Org Admin API.
#[derive(Clone, Debug)]
pub struct AdminAccess {
    pub key: SecretString,
    pub settings: crate::admin::AdminSettings,
}

/// What the run inventories.
#[derive(Debug)]
// One per run: its size does not matter.
#[allow(clippy::large_enum_variant)]
pub enum Target {
    /// A site, signed in to with these credentials.
    Site { url: Url, credentials: Credentials },
    /// The Org Admin API only, no site.
    Organization,
}

/// How the run signs in to the site: plain data. The run (`collect::connect`) turns it into
/// live authentication (an OAuth token source, which reads the token store then).
#[derive(Clone, Debug)]
pub enum Credentials {
    /// An Atlassian account email and its API token (HTTP Basic).
    ApiToken { email: String, token: SecretString },
    /// An OAuth 2.0 client: a 3LO grant kept in `token_store` (from `auth login`) when the store
    /// holds one for this client, else a service account's client-credentials grant.
    OAuth {
        client_id: String,
        client_secret: SecretString,
        /// `https://auth.atlassian.com`, or a loopback stand-in.
        auth_url: Url,
        /// The token store of 3LO grants; `None`: client credentials only.
        token_store: Option<PathBuf>,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verbosity {
    Quiet,
    Normal,
    Verbose(u8),
}

/// An Atlassian product family the collector knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Product {
    Jira,
    Assets,
    Jsm,
    Confluence,
    Admin,
}

impl Product {
    pub const ALL: [Product; 5] = [
        Product::Jira,
        Product::Assets,
        Product::Jsm,
        Product::Confluence,
        Product::Admin,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Product::Jira => "jira",
            Product::Assets => "assets",
            Product::Jsm => "jsm",
            Product::Confluence => "confluence",
            Product::Admin => "admin",
        }
    }

    /// A comma-separated list such as `jira,confluence`; duplicates are ignored.
    pub fn parse_list(list: &str) -> anyhow::Result<Vec<Product>> {
        let mut products = Vec::new();
        for name in list.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            let product = Product::ALL
                .into_iter()
                .find(|p| p.name().eq_ignore_ascii_case(name))
                .ok_or_else(|| {
                    anyhow!(
                        "unknown product {name:?} in --products; choose from {}",
                        Product::ALL.map(Product::name).join(",")
                    )
                })?;
            if !products.contains(&product) {
                products.push(product);
            }
        }
        if products.is_empty() {
            bail!(
                "--products is empty; give a comma list of {}",
                Product::ALL.map(Product::name).join(",")
            );
        }
        products.sort();
        Ok(products)
    }
}

/// The site's root URL. `https://` always; plain `http://` only for loopback hosts, so
/// credentials never travel in clear.
pub fn site_url(text: &str) -> anyhow::Result<Url> {
    root_url("--site", text, "e.g. https://acme.atlassian.net")
}

/// The API gateway's root URL (`--api-url`), checked like the site's.
pub fn api_url(text: &str) -> anyhow::Result<Url> {
    root_url("--api-url", text, "e.g. https://api.atlassian.com")
}

fn root_url(flag: &str, text: &str, example: &str) -> anyhow::Result<Url> {
    let url = Url::parse(text.trim())
        .with_context(|| format!("{flag} {text:?} is not a URL ({example})"))?;
    match url.scheme() {
        "https" => {}
        "http" if is_loopback(&url) => {}
        "http" => bail!(
            "{flag} {text:?} uses plain http://, which would send the API token in clear; use \
             https:// (http:// is accepted only for loopback addresses)"
        ),
        other => bail!("{flag} {text:?} has scheme {other:?}; use https:// ({example})"),
    }
    if url.host_str().is_none_or(str::is_empty) {
        bail!("{flag} {text:?} has no host name ({example})");
    }
    if !url.username().is_empty() || url.password().is_some() {
        bail!(
            "{flag} must not carry credentials; give the username with --username and the \
             token with ATLASSIAN_TOKEN or --token-file"
        );
    }
    if url.path() != "/" || url.query().is_some() || url.fragment().is_some() {
        bail!("{flag} {text:?} must be the site's root URL without a path ({example})");
    }
    Ok(url)
}

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// The start of the audit window: a duration back from `now` (`90m`, `24h`, `7d`, `2w`), an
/// RFC 3339 timestamp (`2026-11-01T00:00:00Z`) or a date (`2026-11-01`, midnight UTC).
pub fn since(text: &str, now: Timestamp) -> anyhow::Result<Timestamp> {
    let text = text.trim();
    let hint = "use a duration such as 24h or 7d, or a time such as 2026-11-01T00:00:00Z";
    if let Some(unit) = text.chars().last().filter(char::is_ascii_alphabetic) {
        if let Ok(amount) = text[..text.len() - 1].parse::<i64>() {
            let seconds = match unit {
                's' => 1,
                'm' => 60,
                'h' => 3_600,
                'd' => 86_400,
                'w' => 604_800,
                _ => bail!("--since {text:?}: unknown unit {unit:?}; {hint}"),
            };
            if amount < 0 {
                bail!("--since {text:?} is negative; {hint}");
            }
            let back = amount
                .checked_mul(seconds)
                .and_then(|s| now.checked_sub(jiff::SignedDuration::from_secs(s)).ok())
                .with_context(|| format!("--since {text:?} is too far back; {hint}"))?;
            return Ok(back);
        }
    }
    if let Ok(at) = text.parse::<Timestamp>() {
        return Ok(at);
    }
    if let Ok(date) = text.parse::<jiff::civil::Date>() {
        if let Ok(at) = date.to_zoned(jiff::tz::TimeZone::UTC) {
            return Ok(at.timestamp());
        }
    }
    bail!("--since {text:?} is neither a duration nor a time; {hint}")
}

/// Where OAuth 2.0 clients get their tokens, from `--auth-url` and `--token-store`.
#[derive(Clone, Debug)]
pub struct OAuthSettings {
    /// `https://auth.atlassian.com`, or a loopback stand-in.
    pub auth_url: Url,
    /// The token store of 3LO grants.
    pub token_store: PathBuf,
}

/// The OAuth server's root URL (`--auth-url`), checked like the site's.
pub fn auth_url(text: &str) -> anyhow::Result<Url> {
    root_url("--auth-url", text, "e.g. https://auth.atlassian.com")
}

/// The credentials for a username: an email (contains `@`) means an API token; anything else
/// is an OAuth 2.0 client id, and `secret` its client secret. Which OAuth grant it uses is
/// decided when the run connects (see [`Credentials::OAuth`]).
pub fn credentials(
    username: &str,
    secret: SecretString,
    oauth: Option<&OAuthSettings>,
) -> anyhow::Result<Credentials> {
    let username = username.trim();
    if username.is_empty() {
        bail!("the username is empty; set --username or ATLASSIAN_USERNAME to the Atlassian account's email or an OAuth client id");
    }
    if username.contains('@') {
        return Ok(Credentials::ApiToken {
            email: username.to_string(),
            token: secret,
        });
    }
    let oauth = oauth.context("an OAuth client id needs the OAuth settings (--auth-url)")?;
    Ok(Credentials::OAuth {
        client_id: username.to_string(),
        client_secret: secret,
        auth_url: oauth.auth_url.clone(),
        token_store: Some(oauth.token_store.clone()),
    })
}

/// Reads a secret from a file: the first line, without surrounding whitespace. A file other
/// users can read draws a warning, or with `strict` (`--strict-perms`) is refused.
pub fn read_token_file(path: &Path, strict: bool) -> anyhow::Result<SecretString> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the token file {}", path.display()))?;
    check_private(path, "token file", strict)?;
    let token = text.lines().next().unwrap_or("").trim();
    if token.is_empty() {
        bail!("the token file {} is empty", path.display());
    }
    Ok(SecretString::from(token.to_string()))
}

/// A secret file (`what`: "token file", "token store") that other users can read or change
/// is a leak waiting to happen: a warning on stderr, or with `strict` an error. A file that
/// does not exist (yet) passes.
pub fn check_private(path: &Path, what: &str, strict: bool) -> anyhow::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if let Ok(meta) = std::fs::metadata(path) {
            let mode = meta.permissions().mode() & 0o777;
            if mode & 0o077 != 0 {
                let shown = path.display();
                if strict {
                    bail!(
                        "the {what} {shown} can be read by other users (mode {mode:o}); run \
                         chmod 600 {shown} (--strict-perms refuses it until then)"
                    );
                }
                eprintln!(
                    "warning: the {what} {shown} can be read by other users (mode {mode:o}); \
                     run chmod 600 {shown}"
                );
            }
        }
    }
    #[cfg(not(unix))]
    let _ = (path, what, strict);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn https_sites_are_accepted() {
        let url = site_url("https://acme.atlassian.net").unwrap();
        assert_eq!(url.host_str(), Some("acme.atlassian.net"));
        assert!(site_url("https://acme.atlassian.net/").is_ok());
    }

    #[test]
    fn plain_http_only_for_loopback() {
        assert!(site_url("http://127.0.0.1:8080").is_ok());
        assert!(site_url("http://127.3.4.5").is_ok());
        assert!(site_url("http://localhost:1234").is_ok());
        assert!(site_url("http://[::1]:1234").is_ok());
        let error = site_url("http://acme.atlassian.net")
            .unwrap_err()
            .to_string();
        assert!(error.contains("in clear"), "{error}");
        assert!(site_url("http://10.0.0.1").is_err());
    }

    #[test]
    fn odd_sites_are_refused_with_a_hint() {
        for bad in [
            "acme.atlassian.net",
            "ftp://acme.atlassian.net",
            "https://user:pw@acme.atlassian.net",
            "https://acme.atlassian.net/jira/your-work",
            "https://acme.atlassian.net/?x=1",
        ] {
            let error = site_url(bad).unwrap_err().to_string();
            assert!(error.contains("--site"), "{bad}: {error}");
        }
    }

    #[test]
    fn since_takes_durations_timestamps_and_dates() {
        let now: Timestamp = "2026-11-22T06:00:00Z".parse().unwrap();
        let at = |text: &str| since(text, now).unwrap().to_string();
        assert_eq!(at("24h"), "2026-11-21T06:00:00Z");
        assert_eq!(at("7d"), "2026-11-15T06:00:00Z");
        assert_eq!(at("90m"), "2026-11-22T04:30:00Z");
        assert_eq!(at("1w"), "2026-11-15T06:00:00Z");
        assert_eq!(at("2026-11-01T00:00:00Z"), "2026-11-01T00:00:00Z");
        assert_eq!(at("2026-11-01"), "2026-11-01T00:00:00Z");
        for bad in ["", "yesterday", "5y", "-3h", "2026-13-01"] {
            let error = since(bad, now).unwrap_err().to_string();
            assert!(error.contains("--since"), "{bad}: {error}");
        }
    }

    #[test]
    fn api_url_is_checked_like_the_site() {
        assert!(api_url("https://api.atlassian.com").is_ok());
        assert!(api_url("http://127.0.0.1:9").is_ok());
        let error = api_url("http://api.atlassian.com").unwrap_err().to_string();
        assert!(error.contains("--api-url"), "{error}");
    }

    #[test]
    fn the_username_picks_the_auth_method() {
        let dir = tempfile::tempdir().unwrap();
        let oauth = OAuthSettings {
            auth_url: auth_url("https://auth.atlassian.com").unwrap(),
            token_store: dir.path().join("tokens.json"),
        };
        let token = credentials("me@example.com", SecretString::from("t"), None).unwrap();
        assert!(matches!(token, Credentials::ApiToken { email, .. } if email == "me@example.com"));
        let client = credentials("my-client-id", SecretString::from("t"), Some(&oauth)).unwrap();
        let Credentials::OAuth {
            client_id,
            token_store,
            ..
        } = client
        else {
            panic!("a name without @ is an OAuth client");
        };
        assert_eq!(client_id, "my-client-id");
        assert_eq!(token_store, Some(oauth.token_store));
        assert!(auth_url("http://auth.atlassian.com").is_err());
    }

    #[test]
    fn products_parse_dedupe_and_reject_unknowns() {
        assert_eq!(
            Product::parse_list("confluence, jira,jira").unwrap(),
            vec![Product::Jira, Product::Confluence]
        );
        let error = Product::parse_list("jira,bitbucket")
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("bitbucket") && error.contains("jira,assets"),
            "{error}"
        );
        assert!(Product::parse_list(" , ").is_err());
    }

    #[test]
    fn token_files_give_their_first_line() {
        use secrecy::ExposeSecret;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("token");
        std::fs::write(&path, "  abc123 \nsecond line\n").unwrap();
        assert_eq!(
            read_token_file(&path, false).unwrap().expose_secret(),
            "abc123"
        );
        std::fs::write(&path, "\n").unwrap();
        assert!(read_token_file(&path, false)
            .unwrap_err()
            .to_string()
            .contains("empty"));
        let missing = read_token_file(&dir.path().join("nope"), false).unwrap_err();
        assert!(format!("{missing:#}").contains("nope"));
    }
}
