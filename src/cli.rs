//! Command-line flags (clap) and their conversion into a validated [`Config`]. This is the only
//! module that knows about clap, and the only place environment variables are read.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Context};
use clap::{Args, Parser, Subcommand, ValueEnum};

use inventory_collector::config::{self, Config, Product, Target, Verbosity};
use inventory_collector::http::HttpSettings;
use inventory_collector::output::{Destination, Format, OutputSpec};

/// Every environment variable a flag reads (a test keeps the list complete).
#[cfg(test)]
use inventory_collector::config::ENVIRONMENT;

const CREDENTIALS_HELP: &str = "\
Credentials:
  The username decides the method: an email address (contains '@') means an API token, sent as
  HTTP Basic email:token. The token is read from the ATLASSIAN_TOKEN environment variable or the
  first line of --token-file, never from a flag (it would show in ps and shell history).
  Create one at https://id.atlassian.com/manage-profile/security/api-tokens.
  Service accounts (...@serviceaccount.atlassian.com) and scoped API tokens go through the API
  gateway (--api-url)/ex/jira/{cloudId}; any other email that the site answers with 401 is
  retried once there.
  A username without '@' is an OAuth 2.0 client id, and ATLASSIAN_TOKEN its client secret: a
  service account's OAuth credentials (client-credentials grant at --auth-url), or a 3LO grant
  stored by `atlassian-inventory auth login` (refreshed from --token-store).

OAuth 2.0 scopes:
";

const AFTER_HELP: &str = "
Permissions (Jira):
  Users, groups, members: Browse users and groups. Projects: Browse projects.
  Project roles, actors and permission schemes: Administer projects or Administer Jira.
  Application properties, application roles, UPM and mail settings: Administer Jira.

Permissions (Confluence):
  Groups, members, spaces: Can use; space permissions: view permission on each space.
  Site permissions, audit log and its retention, UPM settings: Confluence Administrator.
  An endpoint the account cannot read becomes a coverage record; the rest is still collected.

Exit status:
  0  complete          3  finished, but some endpoint family is partial (see coverage records)
  1  fatal error       4  the site or the Admin API rejected the credentials (HTTP 401)
  2  bad flags, environment or files, or another run holds the output's lock; nothing was
     requested
  5  partial, with --fail-on-partial: nothing was written, the previous output was left as it
     was (the summary on stderr still says what was missing)
  130 interrupted (Ctrl-C or SIGTERM); output files were left as they were

Examples:
  atlassian-inventory collect --demo
  ATLASSIAN_TOKEN=... atlassian-inventory collect --site https://acme.atlassian.net \\
      --username me@acme.com --output inventory.jsonl
  atlassian-inventory collect --demo --format csv --output ./inventory/";

#[derive(Debug, Parser)]
#[command(
    name = "atlassian-inventory",
    version,
    about = "Inventories an Atlassian Cloud estate: who is in there, what they can do, and which secrets exist.",
    propagate_version = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

/// `--help` of `collect` and `doctor`: the credentials, the scope table, the rest.
fn after_help() -> String {
    format!(
        "{CREDENTIALS_HELP}{}\n{AFTER_HELP}",
        inventory_collector::scopes::describe()
    )
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Collect users, groups, memberships, projects, roles, permissions and settings as
    /// normalized records (JSON Lines or CSV).
    #[command(after_help = after_help())]
    Collect(CollectArgs),
    /// Check the credentials before a long run: the auth method and route chosen, and per
    /// product which endpoints answer and which scopes or permissions are missing. Exit 0 when
    /// everything answers, 3 when something is missing, 4 when the credentials are refused.
    #[command(after_help = after_help())]
    Doctor(CollectArgs),
    /// Manage the stored OAuth 2.0 (3LO) grant: login, status, logout.
    Auth {
        #[command(subcommand)]
        action: AuthCommand,
    },
}

#[derive(Debug, Subcommand)]
pub enum AuthCommand {
    /// Run the OAuth 2.0 authorization-code flow once: print the consent URL, wait for the
    /// browser's redirect on a loopback port, and store the tokens (refresh token included)
    /// in the token store for later runs.
    #[command(after_help = LOGIN_HELP)]
    Login(LoginArgs),
    /// Show what the token store holds (never the tokens themselves).
    Status(StoreArgs),
    /// Remove a stored grant (the given client's, or every one).
    Logout(LogoutArgs),
}

const LOGIN_HELP: &str = "\
The OAuth app (developer.atlassian.com/console/myapps) must list the callback URL
http://127.0.0.1:PORT/callback with the port of --callback-port, and the scopes the selected
products need (see `collect --help`). The client secret is read from ATLASSIAN_TOKEN or
--token-file. Later `collect` runs with the same --username refresh the stored grant; the
refresh token rotates on every use and is written back atomically, under a file lock.";

#[derive(Debug, Args)]
pub struct AuthServerArgs {
    /// Base URL of the OAuth 2.0 authorization server (http:// only for loopback).
    #[arg(
        long,
        env = "ATLASSIAN_AUTH_URL",
        value_name = "URL",
        default_value = "https://auth.atlassian.com"
    )]
    pub auth_url: String,
}

#[derive(Debug, Args)]
pub struct StoreArgs {
    /// The token store [default: $XDG_CONFIG_HOME/atlassian-inventory/tokens.json, else
    /// ~/.config/atlassian-inventory/tokens.json].
    #[arg(long, value_name = "PATH")]
    pub token_store: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct LogoutArgs {
    /// Remove only this OAuth client's grant.
    #[arg(long, env = "ATLASSIAN_USERNAME", value_name = "CLIENT_ID")]
    pub username: Option<String>,

    #[command(flatten)]
    pub store: StoreArgs,
}

#[derive(Debug, Args)]
pub struct LoginArgs {
    /// The OAuth 2.0 app's client id.
    #[arg(long, env = "ATLASSIAN_USERNAME", value_name = "CLIENT_ID")]
    pub username: Option<String>,

    /// Read the client secret from the first line of this file instead of ATLASSIAN_TOKEN.
    #[arg(long, value_name = "PATH")]
    pub token_file: Option<PathBuf>,

    /// Check that the grant reaches this site (https://acme.atlassian.net).
    #[arg(long, env = "ATLASSIAN_SITE", value_name = "URL")]
    pub site: Option<String>,

    /// Products whose scopes to ask for, comma-separated: jira,confluence [default: both].
    #[arg(long, value_name = "LIST")]
    pub products: Option<String>,

    /// The port of the loopback callback http://127.0.0.1:PORT/callback (0: any free port).
    #[arg(long, value_name = "PORT", default_value_t = 8976)]
    pub callback_port: u16,

    /// Seconds to wait for the browser's redirect.
    #[arg(long, value_name = "SECONDS", default_value_t = 300)]
    pub wait: u64,

    #[command(flatten)]
    pub server: AuthServerArgs,

    /// Base URL of the api.atlassian.com gateway (accessible-resources).
    #[arg(
        long,
        env = "ATLASSIAN_API_URL",
        value_name = "URL",
        default_value = "https://api.atlassian.com"
    )]
    pub api_url: String,

    #[command(flatten)]
    pub store: StoreArgs,
}

#[derive(Debug, Args)]
pub struct CollectArgs {
    /// The site's root URL, e.g. https://acme.atlassian.net (http:// only for loopback).
    #[arg(long, env = "ATLASSIAN_SITE", value_name = "URL")]
    pub site: Option<String>,

    /// An Atlassian account email (API-token auth), or without '@' an OAuth 2.0 client id.
    #[arg(long, env = "ATLASSIAN_USERNAME", value_name = "NAME")]
    pub username: Option<String>,

    /// Read the API token (or OAuth client secret) from the first line of this file instead of
    /// ATLASSIAN_TOKEN.
    #[arg(long, value_name = "PATH")]
    pub token_file: Option<PathBuf>,

    /// Refuse, instead of warning about, a token file, Admin API key file or token store that
    /// other users can read (fix it with chmod 600 PATH).
    #[arg(long)]
    pub strict_perms: bool,

    #[command(flatten)]
    pub server: AuthServerArgs,

    /// The token store of `auth login` grants [default: $XDG_CONFIG_HOME/atlassian-inventory/
    /// tokens.json, else ~/.config/atlassian-inventory/tokens.json].
    #[arg(long, value_name = "PATH")]
    pub token_store: Option<PathBuf>,

    /// Products to collect, comma-separated: jira,assets,jsm,confluence,admin [default: all;
    /// admin when an Admin API key is given].
    #[arg(long, value_name = "LIST")]
    pub products: Option<String>,

    /// Read the Org Admin API key from the first line of this file instead of
    /// ATLASSIAN_ADMIN_API_KEY. The key is sent to --api-url only, never to the site.
    #[arg(long, value_name = "PATH")]
    pub admin_api_key_file: Option<PathBuf>,

    /// Collect this organisation only (default: every organisation the key can see).
    #[arg(long, env = "ATLASSIAN_ORG_ID", value_name = "ID")]
    pub org_id: Option<String>,

    /// An API token or key unused for this many days is reported as stale.
    #[arg(long, value_name = "DAYS", default_value_t = 90,
          value_parser = clap::value_parser!(u32).range(1..=3650))]
    pub stale_days: u32,

    /// Output format.
    #[arg(long, value_enum, default_value_t = FormatArg::Jsonl)]
    pub format: FormatArg,

    /// Where records go: '-' for stdout (jsonl only), a file (jsonl), or a directory that gets
    /// one file per record kind (csv). Files are replaced atomically when the run finishes.
    #[arg(long, short = 'o', value_name = "PATH", default_value = "-")]
    pub output: PathBuf,

    /// All or nothing: when some endpoint family could not be fully collected, write nothing,
    /// leave the previous output as it was and exit 5 (without it, such a run writes what it
    /// collected and exits 3). Needs a file or directory --output: stdout is streamed.
    #[arg(long)]
    pub fail_on_partial: bool,

    /// Base URL of the Org Admin API and the api.atlassian.com gateway (http:// only for
    /// loopback).
    #[arg(
        long,
        env = "ATLASSIAN_API_URL",
        value_name = "URL",
        default_value = "https://api.atlassian.com"
    )]
    pub api_url: String,

    /// Start of the audit-log window: a duration back from now (24h, 7d) or a time
    /// (2026-11-01T00:00:00Z). A nightly cron with --since 24h reads only what is new.
    #[arg(long, value_name = "DURATION|TIME", default_value = "24h")]
    pub since: String,

    /// Collect only the Assets objects this AQL query matches (default: every object). It is
    /// combined with each object type, e.g. --aql 'objectSchemaId = 3'.
    #[arg(long, value_name = "QUERY")]
    pub aql: Option<String>,

    /// Run against the built-in simulated tenant (no credentials needed).
    #[arg(long, conflicts_with = "token_file")]
    pub demo: bool,

    /// Requests in flight at once, across all endpoints and products. A run bound by
    /// Atlassian's rate limits needs about rate × latency per busy endpoint (100/s × 0.3 s = 30);
    /// each endpoint's own pace and window adapt to its 429s and X-RateLimit-* headers under
    /// this cap.
    #[arg(long, value_name = "N", default_value_t = 64,
          value_parser = clap::value_parser!(u16).range(1..=256))]
    pub max_concurrency: u16,

    /// The share of each endpoint's rate budget this run may use, in (0, 1]: 0.5 leaves half
    /// of it to the site's other integrations. The budget is the server's X-RateLimit-Limit
    /// (requests a second), else the rate at which it first signalled pressure
    /// (X-RateLimit-NearLimit or 429).
    #[arg(long, value_name = "SHARE", default_value_t = 1.0)]
    pub rate_share: f64,

    /// Retries of a request that got 429, 5xx or a network error, before its endpoint is
    /// reported as failed.
    #[arg(long, value_name = "N", default_value_t = 5)]
    pub max_retries: u32,

    /// First backoff step, in seconds, when the server gives no Retry-After; doubles each
    /// retry. A Retry-After from the server is always honoured exactly.
    #[arg(long, value_name = "SECONDS", default_value_t = 0.5)]
    pub retry_base: f64,

    /// Seconds allowed for one response.
    #[arg(long, value_name = "SECONDS", default_value_t = 60,
          value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub timeout: u64,

    /// Only errors on stderr: no progress, warnings or summary.
    #[arg(short, long, conflicts_with = "verbose")]
    pub quiet: bool,

    /// More detail on stderr (-v: retries and requests, -vv: every request).
    #[arg(short, long, action = clap::ArgAction::Count)]
    pub verbose: u8,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum FormatArg {
    /// One JSON object per line.
    Jsonl,
    /// One CSV file per record kind.
    Csv,
}

impl CollectArgs {
    /// Validates the flags; `env` looks up environment variables (injected for tests).
    pub fn into_config(self, env: &dyn Fn(&str) -> Option<String>) -> anyhow::Result<Collect> {
        let explicit_products = self.products.is_some();
        let products = Product::parse_list(
            self.products
                .as_deref()
                .unwrap_or("jira,assets,jsm,confluence,admin"),
        )?;
        let admin_key = match &self.admin_api_key_file {
            Some(path) => Some(config::read_token_file(path, self.strict_perms)?),
            None => env("ATLASSIAN_ADMIN_API_KEY")
                .filter(|k| !k.trim().is_empty())
                .map(|k| secrecy::SecretString::from(k.trim().to_string())),
        };
        if explicit_products && products.contains(&Product::Admin) && admin_key.is_none() {
            bail!(
                "--products admin needs an Org Admin API key: set ATLASSIAN_ADMIN_API_KEY or \
                 --admin-api-key-file PATH (create one at admin.atlassian.com, Settings > API keys)"
            );
        }
        let admin = admin_key.map(|key| config::AdminAccess {
            key,
            settings: inventory_collector::admin::AdminSettings {
                org_id: self.org_id.clone().filter(|id| !id.trim().is_empty()),
                stale_days: self.stale_days,
            },
        });
        let api_url = config::api_url(&self.api_url)?;
        let since = config::since(&self.since, jiff::Timestamp::now())?;
        let output = output_spec(self.format, self.output)?;
        if self.fail_on_partial && output.destination == Destination::Stdout {
            bail!(
                "--fail-on-partial needs --output FILE (or a directory for csv): records on \
                 stdout are streamed as they arrive and cannot be held back"
            );
        }
        if !(self.retry_base.is_finite() && (0.0..=60.0).contains(&self.retry_base)) {
            bail!("--retry-base must be between 0 and 60 seconds");
        }
        if !(self.rate_share.is_finite() && self.rate_share > 0.0 && self.rate_share <= 1.0) {
            bail!(
                "--rate-share must be more than 0 and at most 1 (e.g. 0.5 for half of each \
                 endpoint's rate budget), not {}",
                self.rate_share
            );
        }
        let organization_only = products == [Product::Admin] && self.site.is_none();
        let demo_client = self
            .username
            .as_deref()
            .map(str::trim)
            .filter(|name| !name.is_empty() && !name.contains('@'));
        let demo = self.demo.then(|| Demo {
            client_id: demo_client.map(str::to_string),
            stale_days: self.stale_days,
        });
        let target = if demo.is_some() || organization_only {
            Target::Organization
        } else {
            let site = self.site.context(
                "no site given; set --site or ATLASSIAN_SITE (e.g. https://acme.atlassian.net), \
                 or try --demo",
            )?;
            let url = config::site_url(&site)?;
            let username = self.username.context(
                "no username given; set --username or ATLASSIAN_USERNAME to the account's email \
                 (or an OAuth client id)",
            )?;
            let secret = secret(self.token_file.as_deref(), self.strict_perms, env)?;
            // The token store is looked for only when it can matter: an OAuth client id.
            let oauth = if username.contains('@') {
                None
            } else {
                let token_store = token_store(self.token_store, env)?;
                config::check_private(&token_store, "token store", self.strict_perms)?;
                Some(config::OAuthSettings {
                    auth_url: config::auth_url(&self.server.auth_url)?,
                    token_store,
                })
            };
            Target::Site {
                url,
                credentials: config::credentials(&username, secret, oauth.as_ref())?,
            }
        };
        let verbosity = match (self.quiet, self.verbose) {
            (true, _) => Verbosity::Quiet,
            (false, 0) => Verbosity::Normal,
            (false, n) => Verbosity::Verbose(n),
        };
        let defaults = HttpSettings::default();
        let http = HttpSettings {
            max_concurrency: usize::from(self.max_concurrency),
            rate_share: self.rate_share,
            timeout: Duration::from_secs(self.timeout),
            retry: inventory_collector::http::retry::RetryPolicy {
                max_retries: self.max_retries,
                base: Duration::from_secs_f64(self.retry_base),
                ..defaults.retry.clone()
            },
            ..defaults
        };
        let config = Config {
            target,
            products,
            output,
            http,
            api_url,
            since,
            admin,
            fail_on_partial: self.fail_on_partial,
            aql: self.aql.filter(|aql| !aql.trim().is_empty()),
            progress: verbosity == Verbosity::Normal && std::io::stderr().is_terminal(),
            verbosity,
        };
        Ok(Collect { config, demo })
    }
}

/// What `collect` (or `doctor`) was asked to do.
#[derive(Debug)]
pub struct Collect {
    pub config: Config,
    /// `--demo`: collect the built-in simulated tenant instead. The config's target, API URL and
    /// Admin key are then the simulator's, filled in once it has started (`crate::demo`).
    pub demo: Option<Demo>,
}

/// How `--demo` signs in.
#[derive(Debug)]
#[cfg_attr(not(feature = "demo"), allow(dead_code))]
pub struct Demo {
    /// With `--username` without '@': the OAuth client credentials of a service account with
    /// this client id (the demo makes up the secret); else an API token.
    pub client_id: Option<String>,
    /// `--stale-days`, for the demo organisation's tokens and keys.
    pub stale_days: u32,
}

/// The API token or client secret: `--token-file`, else `ATLASSIAN_TOKEN`. `strict`: refuse a
/// file other users can read (`--strict-perms`).
fn secret(
    file: Option<&std::path::Path>,
    strict: bool,
    env: &dyn Fn(&str) -> Option<String>,
) -> anyhow::Result<secrecy::SecretString> {
    match file {
        Some(path) => config::read_token_file(path, strict),
        None => env("ATLASSIAN_TOKEN")
            .filter(|t| !t.trim().is_empty())
            .map(|t| secrecy::SecretString::from(t.trim().to_string()))
            .context(
                "no API token (or OAuth client secret) given; set ATLASSIAN_TOKEN or \
                 --token-file PATH",
            ),
    }
}

/// `--token-store`, else the platform's config directory.
fn token_store(
    flag: Option<PathBuf>,
    env: &dyn Fn(&str) -> Option<String>,
) -> anyhow::Result<PathBuf> {
    flag.or_else(|| inventory_collector::token_store::default_path(env))
        .context(
            "cannot tell where the OAuth token store goes (no XDG_CONFIG_HOME or HOME); give \
         --token-store PATH",
        )
}

impl StoreArgs {
    pub fn into_path(self, env: &dyn Fn(&str) -> Option<String>) -> anyhow::Result<PathBuf> {
        token_store(self.token_store, env)
    }
}

impl LoginArgs {
    /// Validates the flags of `auth login`.
    pub fn into_config(
        self,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> anyhow::Result<inventory_collector::auth::LoginConfig> {
        let client_id = self
            .username
            .map(|name| name.trim().to_string())
            .filter(|name| !name.is_empty())
            .context("no client id given; set --username or ATLASSIAN_USERNAME to the OAuth app's client id")?;
        if client_id.contains('@') {
            bail!(
                "auth login is for OAuth 2.0 apps: --username {client_id:?} is an email; give \
                 the app's client id"
            );
        }
        let products = Product::parse_list(self.products.as_deref().unwrap_or("jira,confluence"))?;
        let site = self.site.as_deref().map(config::site_url).transpose()?;
        Ok(inventory_collector::auth::LoginConfig {
            client_id,
            client_secret: secret(self.token_file.as_deref(), false, env)?,
            auth_url: config::auth_url(&self.server.auth_url)?,
            api_url: config::api_url(&self.api_url)?,
            site,
            scopes: inventory_collector::scopes::for_login(&products),
            token_store: self.store.into_path(env)?,
            callback_port: self.callback_port,
            wait: Duration::from_secs(self.wait),
        })
    }
}

fn output_spec(format: FormatArg, output: PathBuf) -> anyhow::Result<OutputSpec> {
    let stdout = output.as_os_str() == "-";
    let destination = match format {
        FormatArg::Jsonl if stdout => Destination::Stdout,
        FormatArg::Jsonl => {
            if output.is_dir() {
                bail!(
                    "--output {} is a directory; jsonl needs a file path (or - for stdout)",
                    output.display()
                );
            }
            Destination::File(output)
        }
        FormatArg::Csv if stdout => {
            bail!("--format csv writes one file per record kind; give --output DIRECTORY")
        }
        FormatArg::Csv => {
            if output.exists() && !output.is_dir() {
                bail!(
                    "--output {} is a file; csv needs a directory",
                    output.display()
                );
            }
            Destination::Directory(output)
        }
    };
    let format = match format {
        FormatArg::Jsonl => Format::Jsonl,
        FormatArg::Csv => Format::Csv,
    };
    Ok(OutputSpec {
        format,
        destination,
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn environment_names_every_variable_a_flag_reads() {
        use clap::CommandFactory;
        fn walk(command: &clap::Command, found: &mut std::collections::BTreeSet<String>) {
            for arg in command.get_arguments() {
                if let Some(name) = arg.get_env() {
                    found.insert(name.to_string_lossy().into_owned());
                }
            }
            for sub in command.get_subcommands() {
                walk(sub, found);
            }
        }
        let mut found = std::collections::BTreeSet::new();
        walk(&super::Cli::command(), &mut found);
        // ATLASSIAN_TOKEN and ATLASSIAN_ADMIN_API_KEY are read in code, never through a flag.
        found.extend(["ATLASSIAN_TOKEN".into(), "ATLASSIAN_ADMIN_API_KEY".into()]);
        let listed: std::collections::BTreeSet<String> =
            super::ENVIRONMENT.iter().map(|s| s.to_string()).collect();
        assert_eq!(found, listed);
    }

    use super::*;
    use inventory_collector::config::Credentials;

    fn parse(args: &[&str]) -> CollectArgs {
        let mut argv = vec!["atlassian-inventory", "collect"];
        argv.extend_from_slice(args);
        match Cli::try_parse_from(argv).unwrap().command {
            Command::Collect(args) => args,
            other => panic!("not collect: {other:?}"),
        }
    }

    fn no_env(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn demo_needs_nothing_else() {
        let collect = parse(&["--demo"]).into_config(&no_env).unwrap();
        assert!(collect.demo.is_some_and(|demo| demo.client_id.is_none()));
        let config = collect.config;
        assert!(matches!(config.target, Target::Organization));
        assert_eq!(config.products.len(), 5);
        assert_eq!(config.output.destination, Destination::Stdout);
    }

    #[test]
    fn the_token_comes_from_the_environment() {
        let env = |name: &str| (name == "ATLASSIAN_TOKEN").then(|| "tok".to_string());
        let args = parse(&[
            "--site",
            "https://acme.atlassian.net",
            "--username",
            "me@acme.com",
        ]);
        let config = args.into_config(&env).unwrap().config;
        match config.target {
            Target::Site {
                url,
                credentials: Credentials::ApiToken { email, .. },
            } => {
                assert_eq!(url.as_str(), "https://acme.atlassian.net/");
                assert_eq!(email, "me@acme.com");
            }
            other => panic!("expected a site, got {other:?}"),
        }
    }

    #[test]
    fn admin_alone_needs_no_site_but_a_key() {
        let env = |name: &str| (name == "ATLASSIAN_ADMIN_API_KEY").then(|| "key".to_string());
        let config = parse(&["--products", "admin"])
            .into_config(&env)
            .unwrap()
            .config;
        assert!(matches!(config.target, Target::Organization));
        assert!(config.admin.is_some());
        let error = parse(&["--products", "admin"])
            .into_config(&no_env)
            .unwrap_err()
            .to_string();
        assert!(error.contains("ATLASSIAN_ADMIN_API_KEY"), "{error}");
    }

    #[test]
    fn without_a_key_admin_is_simply_not_configured() {
        let env = |name: &str| (name == "ATLASSIAN_TOKEN").then(|| "tok".to_string());
        let args = parse(&[
            "--site",
            "https://a.atlassian.net",
            "--username",
            "me@a.com",
        ]);
        let config = args.into_config(&env).unwrap().config;
        assert!(config.products.contains(&Product::Admin));
        assert!(config.admin.is_none());
    }

    #[test]
    fn missing_pieces_are_named() {
        let error = parse(&[]).into_config(&no_env).unwrap_err().to_string();
        assert!(error.contains("ATLASSIAN_SITE"), "{error}");
        let error = parse(&[
            "--site",
            "https://a.atlassian.net",
            "--username",
            "me@a.com",
        ])
        .into_config(&no_env)
        .unwrap_err()
        .to_string();
        assert!(error.contains("ATLASSIAN_TOKEN"), "{error}");
    }

    #[test]
    fn there_is_no_flag_for_the_token_itself() {
        let result = Cli::try_parse_from(["atlassian-inventory", "collect", "--token", "x"]);
        assert!(result.is_err());
    }

    #[test]
    fn csv_needs_a_directory() {
        let error = parse(&["--demo", "--format", "csv"])
            .into_config(&no_env)
            .unwrap_err()
            .to_string();
        assert!(error.contains("DIRECTORY"), "{error}");
        let config = parse(&["--demo", "--format", "csv", "-o", "out"])
            .into_config(&no_env)
            .unwrap()
            .config;
        assert_eq!(
            config.output.destination,
            Destination::Directory(PathBuf::from("out"))
        );
    }

    #[test]
    fn fail_on_partial_needs_a_file_output() {
        let error = parse(&["--demo", "--fail-on-partial"])
            .into_config(&no_env)
            .unwrap_err()
            .to_string();
        assert!(error.contains("--output FILE"), "{error}");
        let config = parse(&["--demo", "--fail-on-partial", "-o", "inventory.jsonl"])
            .into_config(&no_env)
            .unwrap()
            .config;
        assert!(config.fail_on_partial);
        assert!(
            !parse(&["--demo"])
                .into_config(&no_env)
                .unwrap()
                .config
                .fail_on_partial
        );
    }

    #[cfg(unix)]
    #[test]
    fn strict_perms_refuses_shared_token_files_and_stores() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let token = dir.path().join("token");
        let store = dir.path().join("tokens.json");
        std::fs::write(&token, "secret-value\n").unwrap();
        std::fs::write(&store, "{}").unwrap();
        for path in [&token, &store] {
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o644)).unwrap();
        }
        let args = |username: &str, strict: bool| {
            let mut args = vec![
                "--site",
                "https://a.atlassian.net",
                "--username",
                username,
                "--token-file",
                token.to_str().unwrap(),
                "--token-store",
                store.to_str().unwrap(),
            ];
            if strict {
                args.push("--strict-perms");
            }
            parse(&args)
        };
        // Without the flag: a warning, and the run goes on.
        assert!(args("me@a.com", false).into_config(&no_env).is_ok());
        assert!(args("client-id", false).into_config(&no_env).is_ok());
        let error = args("me@a.com", true)
            .into_config(&no_env)
            .unwrap_err()
            .to_string();
        let fix = format!("chmod 600 {}", token.display());
        assert!(
            error.contains("token file") && error.contains(&fix),
            "{error}"
        );
        std::fs::set_permissions(&token, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert!(args("me@a.com", true).into_config(&no_env).is_ok());
        let error = args("client-id", true)
            .into_config(&no_env)
            .unwrap_err()
            .to_string();
        let fix = format!("chmod 600 {}", store.display());
        assert!(
            error.contains("token store") && error.contains(&fix),
            "{error}"
        );
        std::fs::set_permissions(&store, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert!(args("client-id", true).into_config(&no_env).is_ok());
    }

    #[test]
    fn config_debug_never_shows_a_secret() {
        const TOKEN: &str = "ATATT-debug-token-value-1f2e3d";
        const KEY: &str = "admin-key-debug-value-9a8b7c";
        let env = |name: &str| match name {
            "ATLASSIAN_TOKEN" => Some(TOKEN.to_string()),
            "ATLASSIAN_ADMIN_API_KEY" => Some(KEY.to_string()),
            _ => None,
        };
        let dir = tempfile::tempdir().unwrap();
        let store = dir.path().join("tokens.json");
        for username in ["me@a.com", "oauth-client-id"] {
            let config = parse(&[
                "--site",
                "https://a.atlassian.net",
                "--username",
                username,
                "--token-store",
                store.to_str().unwrap(),
            ])
            .into_config(&env)
            .unwrap()
            .config;
            let shown = format!("{config:?} {config:#?}");
            assert!(shown.contains(username), "{shown}");
            assert!(!shown.contains(TOKEN) && !shown.contains(KEY), "{shown}");
            let Target::Site { credentials, .. } = &config.target else {
                panic!("a site");
            };
            let shown = format!("{credentials:?} {credentials:#?}");
            assert!(!shown.contains(TOKEN), "{shown}");
        }
    }

    #[test]
    fn concurrency_is_bounded() {
        assert!(Cli::try_parse_from(["x", "collect", "--max-concurrency", "0"]).is_err());
        assert!(Cli::try_parse_from(["x", "collect", "--max-concurrency", "257"]).is_err());
        let config = parse(&["--demo", "--max-concurrency", "256"])
            .into_config(&no_env)
            .unwrap()
            .config;
        assert_eq!(config.http.max_concurrency, 256);
        let config = parse(&["--demo"]).into_config(&no_env).unwrap().config;
        assert_eq!(config.http.max_concurrency, 64);
    }

    #[test]
    fn rate_share_is_a_fraction() {
        let config = parse(&["--demo", "--rate-share", "0.5"])
            .into_config(&no_env)
            .unwrap()
            .config;
        assert_eq!(config.http.rate_share, 0.5);
        assert_eq!(
            parse(&["--demo"])
                .into_config(&no_env)
                .unwrap()
                .config
                .http
                .rate_share,
            1.0
        );
        for bad in ["0", "1.5", "-0.5", "NaN", "inf"] {
            let flag = format!("--rate-share={bad}");
            let error = parse(&["--demo", &flag])
                .into_config(&no_env)
                .unwrap_err()
                .to_string();
            assert!(error.contains("--rate-share"), "{bad}: {error}");
        }
        assert!(Cli::try_parse_from(["x", "collect", "--rate-share", "half"]).is_err());
    }
}
