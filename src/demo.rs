//! `--demo`: the built-in simulated tenant (the `inventory-tenant` crate) started on loopback,
//! with an organisation and credentials made up for the run, and an ordinary site config
//! pointed at it. The collector cannot tell it from a real site. Built with the `demo` feature
//! only: without it the binary holds no HTTP server.

use inventory_collector::admin::AdminSettings;
use inventory_collector::config::{AdminAccess, Config, Credentials, Target};
use inventory_tenant::{OAuthTenant, OrgConfig, Tenant, TenantConfig};
use secrecy::SecretString;

/// Starts the tenant and points `config` at it: its site, its API gateway (which also stands in
/// for the OAuth server) and its organisation (its tokens stale after `stale_days`), with an API
/// token, or with `client_id` the OAuth client credentials of a service account. The tenant
/// serves as long as it is kept.
pub async fn start(
    mut config: Config,
    client_id: Option<&str>,
    stale_days: u32,
) -> anyhow::Result<(Config, Tenant)> {
    let fresh = || -> String {
        std::iter::repeat_with(fastrand::alphanumeric)
            .take(32)
            .collect()
    };
    let email = "demo@example.com";
    let (token, key, client_secret) = (fresh(), fresh(), fresh());
    let mut tenant_config = TenantConfig::demo(email, SecretString::from(token.clone()))
        .with_org(OrgConfig::demo(SecretString::from(key.clone())));
    if let Some(client_id) = client_id {
        let scopes =
            inventory_collector::scopes::for_login(&inventory_collector::config::Product::ALL);
        tenant_config = tenant_config.with_oauth(OAuthTenant::new(
            client_id,
            SecretString::from(client_secret.clone()),
            scopes,
        ));
    }
    let tenant = Tenant::start(tenant_config)
        .await
        .map_err(|e| anyhow::anyhow!("could not start the demo tenant: {e:#}"))?;
    let site = tenant.url().parse()?;
    let api_url: reqwest::Url = tenant.api_url().parse()?;
    let credentials = match client_id {
        Some(client_id) => Credentials::OAuth {
            client_id: client_id.to_string(),
            client_secret: SecretString::from(client_secret),
            auth_url: api_url.clone(),
            token_store: None,
        },
        None => Credentials::ApiToken {
            email: email.to_string(),
            token: SecretString::from(token),
        },
    };
    config.target = Target::Site {
        url: site,
        credentials,
    };
    config.api_url = api_url;
    config.admin = Some(AdminAccess {
        key: SecretString::from(key),
        settings: AdminSettings {
            org_id: None,
            stale_days,
        },
    });
    Ok((config, tenant))
}
