//! Writing records: JSON Lines to stdout or a file, or CSV with one file per record kind.
//!
//! Files are written atomically: records go to a temporary file in the destination directory
//! (created with 0600 permissions, as an inventory is sensitive), which is fsynced and renamed
//! over the destination only when the run finishes. A cron job never reads a half-written file,
//! and a failed or interrupted run leaves the previous file in place.
//!
//! An [`OutputLock`] keeps two runs (two cron jobs, a cron job and a person) from writing the
//! same output at once: an advisory `flock` on `<file>.lock` beside a JSON Lines file, or on
//! `.atlassian-inventory.lock` inside a CSV directory, taken before any request and held for the
//! whole run. The lock file stays after the run: removing it would let a third run lock a new
//! file while a second still holds the old one.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::{anyhow, Context};
use tempfile::NamedTempFile;
use tokio::sync::mpsc;

use crate::engine::Item;
use crate::join::Users;
use crate::progress::Progress;
use crate::record::{Coverage, Kind, Record};

/// The output format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Jsonl,
    Csv,
}

/// Where records go.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Destination {
    Stdout,
    /// One JSON Lines file.
    File(PathBuf),
    /// A directory holding one CSV file per kind (`users.csv`, …); created if missing.
    Directory(PathBuf),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutputSpec {
    pub format: Format,
    pub destination: Destination,
}

impl OutputSpec {
    /// The lock file of this output; none for stdout.
    pub fn lock_path(&self) -> Option<PathBuf> {
        match &self.destination {
            Destination::Stdout => None,
            Destination::File(path) => {
                let mut name = path.file_name().unwrap_or_default().to_os_string();
                name.push(".lock");
                Some(path.with_file_name(name))
            }
            Destination::Directory(dir) => Some(dir.join(LOCK_IN_DIRECTORY)),
        }
    }

    /// Locks the output for this run, or fails at once if another run holds it. Stdout needs
    /// no lock. A CSV directory is created here if missing, to hold its lock file.
    pub fn lock(&self) -> anyhow::Result<Option<OutputLock>> {
        let (Some(path), Destination::File(output) | Destination::Directory(output)) =
            (self.lock_path(), &self.destination)
        else {
            return Ok(None);
        };
        if let Destination::Directory(dir) = &self.destination {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create output directory {}", dir.display()))?;
        }
        let output = output.display();
        let file = private_options()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .with_context(|| {
                format!(
                    "cannot create the lock file {} for {output}; does the directory exist and \
                     is it writable?",
                    path.display()
                )
            })?;
        if !try_lock_exclusive(&file)
            .with_context(|| format!("cannot lock {} for {output}", path.display()))?
        {
            return Err(anyhow!(
                "another run is writing {output} (it holds the lock {}); wait for it to finish, \
                 or give another --output",
                path.display()
            ));
        }
        Ok(Some(OutputLock { _file: file }))
    }
}

/// The name of a CSV directory's lock file.
const LOCK_IN_DIRECTORY: &str = ".atlassian-inventory.lock";

/// An output locked for one run; released when dropped, or by the kernel if the process dies,
/// so a crashed run never leaves its output locked.
#[derive(Debug)]
pub struct OutputLock {
    _file: File,
}

/// An open output. Dropping it without [`Sink::commit`] discards every temporary file.
pub struct Sink {
    inner: Inner,
}

enum Inner {
    Stdout(BufWriter<io::Stdout>),
    File {
        writer: BufWriter<NamedTempFile>,
        path: PathBuf,
    },
    Csv {
        dir: PathBuf,
        /// Each kind's file and its columns, computed once.
        writers: BTreeMap<Kind, (csv::Writer<NamedTempFile>, Vec<String>)>,
    },
}

/// Why the writer stopped.
#[derive(Debug)]
pub enum WriteError {
    /// The reader of stdout went away (`| head`).
    BrokenPipe,
    Other(anyhow::Error),
}

/// What the writer saw, for the run summary.
#[derive(Debug, Default)]
pub struct Written {
    pub counts: BTreeMap<Kind, u64>,
    pub coverage: Vec<Coverage>,
}

impl Sink {
    pub fn open(spec: &OutputSpec) -> anyhow::Result<Sink> {
        let inner = match (&spec.format, &spec.destination) {
            (Format::Jsonl, Destination::Stdout) => Inner::Stdout(BufWriter::new(io::stdout())),
            (Format::Jsonl, Destination::File(path)) => Inner::File {
                writer: BufWriter::new(temp_beside(path)?),
                path: path.clone(),
            },
            (Format::Csv, Destination::Directory(dir)) => {
                std::fs::create_dir_all(dir)
                    .with_context(|| format!("cannot create output directory {}", dir.display()))?;
                let mut writers = BTreeMap::new();
                for kind in Kind::ALL {
                    let path = dir.join(format!("{}.csv", kind.plural()));
                    let mut writer = csv::Writer::from_writer(temp_beside(&path)?);
                    let columns = kind.columns();
                    writer
                        .write_record(&columns)
                        .with_context(|| format!("cannot write to {}", dir.display()))?;
                    writers.insert(kind, (writer, columns));
                }
                Inner::Csv {
                    dir: dir.clone(),
                    writers,
                }
            }
            (format, destination) => {
                return Err(anyhow!(
                    "cannot write {format:?} to {destination:?}: JSON Lines goes to stdout or a \
                     file, CSV to a directory"
                ))
            }
        };
        Ok(Sink { inner })
    }

    pub fn write(&mut self, record: &Record) -> Result<(), WriteError> {
        match &mut self.inner {
            Inner::Stdout(out) => write_line(out, record),
            Inner::File { writer, .. } => write_line(writer, record),
            Inner::Csv { writers, .. } => {
                let kind = record.kind();
                let (writer, columns) = writers
                    .get_mut(&kind)
                    .ok_or_else(|| WriteError::Other(anyhow!("no CSV file for {kind:?}")))?;
                writer
                    .write_record(csv_row(record, columns))
                    .map_err(|e| classify(e.into()))
            }
        }
    }

    /// Flushes everything and moves the files into place.
    pub fn commit(self) -> anyhow::Result<()> {
        match self.inner {
            Inner::Stdout(mut out) => match out.flush() {
                Err(e) if e.kind() != io::ErrorKind::BrokenPipe => {
                    Err(e).context("cannot write to stdout")
                }
                _ => Ok(()),
            },
            Inner::File { writer, path } => {
                let temp = writer
                    .into_inner()
                    .map_err(|e| e.into_error())
                    .with_context(|| format!("cannot write {}", path.display()))?;
                persist(temp, &path)
            }
            Inner::Csv { dir, writers } => {
                for (kind, (writer, _)) in writers {
                    let path = dir.join(format!("{}.csv", kind.plural()));
                    let temp = writer
                        .into_inner()
                        .map_err(|e| e.into_error())
                        .with_context(|| format!("cannot write {}", path.display()))?;
                    persist(temp, &path)?;
                }
                Ok(())
            }
        }
    }
}

/// The writer stage: runs on a blocking thread, takes what the products send until every one
/// of them is done. Users go through the join ([`Users`]) first; the accounts it still holds at
/// the end are written last.
pub fn drain(
    mut sink: Sink,
    mut items: mpsc::Receiver<Item>,
    mut users: Users,
    mut progress: Progress,
) -> Result<(Sink, Written), WriteError> {
    let mut written = Written::default();
    let mut write = |record: Record| -> Result<(), WriteError> {
        sink.write(&record)?;
        *written.counts.entry(record.kind()).or_default() += 1;
        if let Record::Coverage(coverage) = record {
            written.coverage.push(coverage);
        }
        progress.record();
        Ok(())
    };
    while let Some(item) = items.blocking_recv() {
        match item {
            Item::Record(record) => write(record)?,
            Item::User(side, user) => {
                if let Some(user) = users.offer(side, user) {
                    write(Record::User(user))?;
                }
            }
        }
    }
    for user in users.leftovers() {
        write(Record::User(user))?;
    }
    progress.finish();
    Ok((sink, written))
}

fn write_line(out: &mut impl Write, record: &Record) -> Result<(), WriteError> {
    serde_json::to_writer(&mut *out, record)
        .map_err(io::Error::from)
        .and_then(|()| out.write_all(b"\n"))
        .map_err(classify)
}

fn classify(error: io::Error) -> WriteError {
    if error.kind() == io::ErrorKind::BrokenPipe {
        WriteError::BrokenPipe
    } else {
        WriteError::Other(anyhow!(error).context("cannot write the output"))
    }
}

/// A CSV row: the kind's scalar fields as text, lists as one JSON-encoded cell, null as empty.
fn csv_row(record: &Record, columns: &[String]) -> Vec<String> {
    let value = serde_json::to_value(record).unwrap_or_default();
    columns
        .iter()
        .map(|column| match value.get(column) {
            None | Some(serde_json::Value::Null) => String::new(),
            Some(serde_json::Value::String(text)) => text.clone(),
            Some(other) => other.to_string(),
        })
        .collect()
}

/// A temporary file in the same directory as `path`, so the final rename is atomic.
fn temp_beside(path: &Path) -> anyhow::Result<NamedTempFile> {
    let dir = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    tempfile::Builder::new()
        .prefix(".atlassian-inventory-")
        .suffix(".tmp")
        .tempfile_in(dir)
        .with_context(|| {
            format!(
                "cannot create a file in {} (for {}); does the directory exist and is it writable?",
                dir.display(),
                path.display()
            )
        })
}

fn private_options() -> std::fs::OpenOptions {
    #[allow(unused_mut)]
    let mut options = std::fs::OpenOptions::new();
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options
}

/// `flock(LOCK_EX | LOCK_NB)`: false when another process holds the lock.
#[cfg(unix)]
fn try_lock_exclusive(file: &File) -> io::Result<bool> {
    use rustix::fs::{flock, FlockOperation};
    match flock(file, FlockOperation::NonBlockingLockExclusive) {
        Ok(()) => Ok(true),
        Err(rustix::io::Errno::WOULDBLOCK) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

#[cfg(not(unix))]
fn try_lock_exclusive(file: &File) -> io::Result<bool> {
    match file.try_lock() {
        Ok(()) => Ok(true),
        Err(std::fs::TryLockError::WouldBlock) => Ok(false),
        Err(std::fs::TryLockError::Error(e)) => Err(e),
    }
}

fn persist(temp: NamedTempFile, path: &Path) -> anyhow::Result<()> {
    temp.as_file()
        .sync_all()
        .with_context(|| format!("cannot write {}", path.display()))?;
    temp.persist(path)
        .map_err(|e| e.error)
        .with_context(|| format!("cannot move the finished output to {}", path.display()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::User;

    fn user(id: &str) -> Record {
        Record::User(User {
            id: id.into(),
            site: "acme.atlassian.net".into(),
            account_id: id.into(),
            display_name: Some("Mia, \"the\" admin".into()),
            active: Some(true),
            source: "jira".into(),
            ..User::default()
        })
    }

    #[test]
    fn csv_rows_follow_the_kind_columns() {
        let columns = Kind::User.columns();
        let row = csv_row(&user("a1"), &columns);
        assert_eq!(row.len(), columns.len());
        let cell = |name: &str| &row[columns.iter().position(|c| c == name).unwrap()];
        assert_eq!(cell("kind"), "user");
        assert_eq!(cell("email"), "", "null is an empty cell");
        assert_eq!(cell("active"), "true");
        assert_eq!(cell("display_name"), "Mia, \"the\" admin");
    }

    #[test]
    fn jsonl_file_appears_only_on_commit_and_replaces_atomically() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("inventory.jsonl");
        std::fs::write(&path, "previous run\n").unwrap();
        let spec = OutputSpec {
            format: Format::Jsonl,
            destination: Destination::File(path.clone()),
        };
        let mut sink = Sink::open(&spec).unwrap();
        sink.write(&user("a1")).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "previous run\n");
        sink.commit().unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text.lines().count(), 1);
        assert!(text.starts_with(r#"{"kind":"user","id":"a1""#), "{text}");
        let leftovers = std::fs::read_dir(dir.path()).unwrap().count();
        assert_eq!(leftovers, 1, "no temporary file is left behind");
    }

    #[test]
    fn a_dropped_sink_leaves_the_previous_file_and_no_temp() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("inventory.jsonl");
        std::fs::write(&path, "previous run\n").unwrap();
        let spec = OutputSpec {
            format: Format::Jsonl,
            destination: Destination::File(path.clone()),
        };
        let mut sink = Sink::open(&spec).unwrap();
        sink.write(&user("a1")).unwrap();
        drop(sink);
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "previous run\n");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[cfg(unix)]
    #[test]
    fn output_files_are_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let spec = OutputSpec {
            format: Format::Csv,
            destination: Destination::Directory(dir.path().join("out")),
        };
        let sink = Sink::open(&spec).unwrap();
        sink.commit().unwrap();
        for kind in Kind::ALL {
            let path = dir
                .path()
                .join("out")
                .join(format!("{}.csv", kind.plural()));
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o077, 0, "{}", path.display());
            let header = std::fs::read_to_string(&path).unwrap();
            assert!(header.starts_with("kind,id,site"), "{header}");
        }
    }

    #[test]
    fn a_second_lock_on_the_same_output_fails_at_once() {
        let dir = tempfile::tempdir().unwrap();
        for destination in [
            Destination::File(dir.path().join("inventory.jsonl")),
            Destination::Directory(dir.path().join("csv")),
        ] {
            let spec = OutputSpec {
                format: Format::Jsonl,
                destination,
            };
            let held = spec.lock().unwrap().expect("a file output is locked");
            let message = format!("{:#}", spec.lock().unwrap_err());
            let lock = spec.lock_path().unwrap();
            assert!(message.contains("another run is writing"), "{message}");
            assert!(message.contains(&lock.display().to_string()), "{message}");
            drop(held);
            assert!(spec.lock().unwrap().is_some(), "released on drop");
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                let mode = std::fs::metadata(&lock).unwrap().permissions().mode();
                assert_eq!(mode & 0o077, 0, "{}", lock.display());
            }
        }
        assert_eq!(
            OutputSpec {
                format: Format::Csv,
                destination: Destination::Directory(dir.path().join("csv")),
            }
            .lock_path(),
            Some(dir.path().join("csv").join(".atlassian-inventory.lock"))
        );
        let stdout = OutputSpec {
            format: Format::Jsonl,
            destination: Destination::Stdout,
        };
        assert!(stdout.lock().unwrap().is_none(), "stdout needs no lock");
    }

    #[test]
    fn a_missing_directory_is_a_clear_error() {
        let spec = OutputSpec {
            format: Format::Jsonl,
            destination: Destination::File(PathBuf::from("/nonexistent/dir/out.jsonl")),
        };
        let message = format!("{:#}", Sink::open(&spec).err().unwrap());
        assert!(message.contains("/nonexistent/dir"), "{message}");
    }
}
