//! The OAuth token store: the refresh token (and the current access token) of each 3LO grant,
//! kept between runs in one JSON file, `$XDG_CONFIG_HOME/atlassian-inventory/tokens.json` by
//! default (`--token-store PATH`).
//!
//! Atlassian rotates refresh tokens: each refresh answers a new one and disables the one sent;
//! sending a disabled one again (outside a 10-minute leeway) revokes the whole grant and needs a
//! new consent (REFERENCE §6). So two rules hold here:
//!
//! - a refresh happens only while the advisory lock on `<store>.lock` is held, from reading
//!   the refresh token to writing its successor, so two cron runs never spend the same token;
//!   the second one finds the first one's fresh access token and uses it;
//! - the new tokens are on disk (temporary file, fsync, rename, mode 0600) before the new access
//!   token is used.
//!
//! The lock is on a separate file because the store itself is replaced by `rename`: a lock on
//! the old inode would not stop a process that opens the new one.
//!
//! Secrets stay [`SecretString`]s; [`reveal`] is the one place they are written out, into the
//! store file. `Debug` never shows them.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize, Serializer};

/// The store's format version, so a later format can tell an old file apart.
const VERSION: u32 = 1;

/// The default location: the platform's config directory (`$XDG_CONFIG_HOME`, else
/// `~/.config`), `atlassian-inventory/tokens.json`. `env` looks up environment variables.
pub fn default_path(env: &dyn Fn(&str) -> Option<String>) -> Option<PathBuf> {
    let base = env("XDG_CONFIG_HOME")
        .filter(|dir| Path::new(dir).is_absolute())
        .map(PathBuf::from)
        .or_else(|| {
            env("HOME")
                .filter(|home| !home.is_empty())
                .map(|home| Path::new(&home).join(".config"))
        })?;
    Some(base.join("atlassian-inventory").join("tokens.json"))
}

/// The stored tokens of one OAuth client's 3LO grant.
#[derive(Debug, Serialize, Deserialize)]
pub struct Grant {
    pub client_id: String,
    #[serde(serialize_with = "reveal")]
    pub refresh_token: SecretString,
    /// The last access token and when it expires (RFC 3339): a second process uses it instead of
    /// spending the refresh token again.
    #[serde(default, serialize_with = "reveal_option")]
    pub access_token: Option<SecretString>,
    #[serde(default)]
    pub expires_at: Option<String>,
    /// The scopes the grant holds, as the token endpoint named them.
    #[serde(default)]
    pub scope: Option<String>,
    /// Incremented on every write: tells a process whether the stored access token is the one it
    /// already holds (and saw rejected) or a newer one.
    #[serde(default)]
    pub serial: u64,
    /// When the tokens were last written (RFC 3339).
    #[serde(default)]
    pub updated_at: Option<String>,
}

/// The whole file: grants by client id.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Contents {
    #[serde(default)]
    pub version: u32,
    #[serde(default)]
    pub grants: BTreeMap<String, Grant>,
}

/// Where the store lives.
#[derive(Clone, Debug)]
pub struct Store {
    path: PathBuf,
}

impl Store {
    pub fn new(path: PathBuf) -> Self {
        Store { path }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Takes the exclusive lock, waiting for another process to release it. Blocking: call it
    /// off the async runtime.
    pub fn lock(&self) -> anyhow::Result<Locked> {
        if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
            create_private_dir(dir)?;
        }
        let lock_path = lock_path(&self.path);
        let file = private_options()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&lock_path)
            .with_context(|| format!("cannot open the token store lock {}", lock_path.display()))?;
        lock_exclusive(&file)
            .with_context(|| format!("cannot lock the token store {}", lock_path.display()))?;
        Ok(Locked {
            path: self.path.clone(),
            _lock: file,
        })
    }

    /// Whether a grant for `client_id` is stored (no lock: a hint for choosing the grant type).
    pub fn has_grant(&self, client_id: &str) -> bool {
        read(&self.path).is_ok_and(|contents| contents.grants.contains_key(client_id))
    }
}

/// The store while its lock is held; the lock is released on drop.
#[derive(Debug)]
pub struct Locked {
    path: PathBuf,
    _lock: File,
}

impl Locked {
    /// The stored grants; an absent file is an empty store.
    pub fn read(&self) -> anyhow::Result<Contents> {
        read(&self.path)
    }

    /// Replaces the store atomically: a temporary file in the same directory, mode 0600,
    /// flushed to disk, renamed over the store, and the directory flushed, so a crash leaves
    /// either the old tokens or the new ones, never half a file.
    pub fn write(&self, contents: &Contents) -> anyhow::Result<()> {
        let dir = match self.path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir,
            _ => Path::new("."),
        };
        let mut temp = tempfile::Builder::new()
            .prefix(".tokens")
            .tempfile_in(dir)
            .with_context(|| format!("cannot write the token store in {}", dir.display()))?;
        // tempfile creates files 0600 already; say it explicitly, the store holds secrets.
        set_private(temp.as_file())?;
        #[derive(Serialize)]
        struct Versioned<'a> {
            version: u32,
            grants: &'a BTreeMap<String, Grant>,
        }
        let body = serde_json::to_vec_pretty(&Versioned {
            version: VERSION,
            grants: &contents.grants,
        })
        .context("cannot encode the token store")?;
        temp.write_all(&body)
            .and_then(|()| temp.as_file().sync_all())
            .context("cannot write the token store")?;
        temp.persist(&self.path).map_err(|e| {
            anyhow::anyhow!(
                "cannot replace the token store {}: {}",
                self.path.display(),
                e.error
            )
        })?;
        if let Ok(dir) = File::open(dir) {
            let _ = dir.sync_all();
        }
        Ok(())
    }

    /// Removes the store file (logout of every grant).
    pub fn remove(&self) -> anyhow::Result<bool> {
        match std::fs::remove_file(&self.path) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(e).with_context(|| format!("cannot remove {}", self.path.display())),
        }
    }
}

fn read(path: &Path) -> anyhow::Result<Contents> {
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .with_context(|| format!("the token store {} is not valid JSON", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Contents::default()),
        Err(e) => Err(e).with_context(|| format!("cannot read the token store {}", path.display())),
    }
}

fn lock_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".lock");
    path.with_file_name(name)
}

/// The one place a stored secret leaves its wrapper: into the store file.
fn reveal<S: Serializer>(secret: &SecretString, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(secret.expose_secret())
}

fn reveal_option<S: Serializer>(
    secret: &Option<SecretString>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match secret {
        Some(secret) => reveal(secret, serializer),
        None => serializer.serialize_none(),
    }
}

fn private_options() -> OpenOptions {
    #[allow(unused_mut)]
    let mut options = OpenOptions::new();
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options
}

fn set_private(file: &File) -> anyhow::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        file.set_permissions(std::fs::Permissions::from_mode(0o600))
            .context("cannot make the token store private (mode 0600)")?;
    }
    let _ = file;
    Ok(())
}

fn create_private_dir(dir: &Path) -> anyhow::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder
        .create(dir)
        .with_context(|| format!("cannot create {}", dir.display()))
}

/// `flock(LOCK_EX)`: advisory, held until the file is closed, released by the kernel if the
/// process dies, so a crashed cron run never leaves the store locked.
#[cfg(unix)]
fn lock_exclusive(file: &File) -> std::io::Result<()> {
    rustix::fs::flock(file, rustix::fs::FlockOperation::LockExclusive).map_err(Into::into)
}

#[cfg(not(unix))]
fn lock_exclusive(file: &File) -> std::io::Result<()> {
    file.lock()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grant(refresh: &str, serial: u64) -> Grant {
        Grant {
            client_id: "client".into(),
            refresh_token: SecretString::from(refresh.to_string()),
            access_token: Some(SecretString::from("access-value".to_string())),
            expires_at: None,
            scope: Some("read:jira-user offline_access".into()),
            serial,
            updated_at: None,
        }
    }

    #[test]
    fn writes_replace_atomically_and_privately() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path().join("nested/tokens.json"));
        assert!(!store.has_grant("client"));
        let locked = store.lock().unwrap();
        assert!(locked.read().unwrap().grants.is_empty());
        let mut contents = Contents::default();
        contents
            .grants
            .insert("client".into(), grant("refresh-1", 1));
        locked.write(&contents).unwrap();
        contents
            .grants
            .insert("client".into(), grant("refresh-2", 2));
        locked.write(&contents).unwrap();
        drop(locked);
        assert!(store.has_grant("client"));
        let text = std::fs::read_to_string(store.path()).unwrap();
        assert!(text.contains("refresh-2") && !text.contains("refresh-1"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(store.path())
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        // Nothing but the store and its lock is left behind.
        let mut names: Vec<_> = std::fs::read_dir(dir.path().join("nested"))
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        assert_eq!(names, ["tokens.json", "tokens.json.lock"]);
    }

    #[test]
    fn debug_never_shows_the_tokens() {
        let shown = format!("{:?}", grant("refresh-secret", 1));
        assert!(!shown.contains("refresh-secret") && !shown.contains("access-value"));
    }

    #[test]
    fn the_default_follows_xdg_then_home() {
        let xdg = |name: &str| match name {
            "XDG_CONFIG_HOME" => Some("/cfg".to_string()),
            "HOME" => Some("/home/me".to_string()),
            _ => None,
        };
        assert_eq!(
            default_path(&xdg).unwrap(),
            Path::new("/cfg/atlassian-inventory/tokens.json")
        );
        let home = |name: &str| (name == "HOME").then(|| "/home/me".to_string());
        assert_eq!(
            default_path(&home).unwrap(),
            Path::new("/home/me/.config/atlassian-inventory/tokens.json")
        );
        assert!(default_path(&|_| None).is_none());
    }
}
