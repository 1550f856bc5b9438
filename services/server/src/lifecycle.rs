//! The operator's side of the administrator and of the embedded mode's data, run with access to
//! the database (on the service's machine, or `kubectl exec` in a pod, which has its
//! configuration): rotating or recovering the administrator token, and backing up and restoring
//! a data directory (the SQLite database and the local evidence objects).

use sanxiang_domain::id::PrincipalId;
use sanxiang_registry::registry::ADMIN_ID;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use sanxiang_domain::SystemClock;
use sanxiang_registry::Registry;
use sanxiang_store::entity::token;
use sea_orm::{ColumnTrait as _, ConnectionTrait as _, EntityTrait as _, QueryFilter as _};

use crate::server::{ADMIN_TOKEN_FILE, StartError};

/// Where the data is: the same flags and variables as `serve`.
#[derive(Debug, Clone, clap::Args)]
pub struct StorageArgs {
    /// The service's data directory (as for `serve`).
    #[arg(long, env = "SANXIANG_DATA_DIR", default_value = "./sanxiang-data")]
    pub data_dir: PathBuf,
    /// The service's database URL (as for `serve`). Default: SQLite at DATA_DIR/sanxiang.db.
    #[arg(long, env = "SANXIANG_DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,
}

impl StorageArgs {
    fn database_url(&self) -> String {
        self.database_url
            .clone()
            .unwrap_or_else(|| format!("sqlite://{}?mode=rw", self.data_dir.join("sanxiang.db").display()))
    }

    fn sqlite_file(&self) -> Option<PathBuf> {
        match &self.database_url {
            None => Some(self.data_dir.join("sanxiang.db")),
            Some(_) => None,
        }
    }
}

/// `admin …`
#[derive(Debug, Clone, clap::Subcommand)]
pub enum AdminCmd {
    /// The administrator's tokens.
    #[command(subcommand)]
    Token(AdminTokenCmd),
    /// Issue a fresh administrator token when the old one is lost (other tokens stay valid;
    /// `admin token rotate` revokes them). Needs access to the database, not a token.
    Recover {
        #[command(flatten)]
        storage: StorageArgs,
        /// Print the token instead of writing DATA_DIR/admin-token (e.g. into a Kubernetes Secret).
        #[arg(long)]
        print: bool,
    },
}

/// `admin token …`
#[derive(Debug, Clone, clap::Subcommand)]
pub enum AdminTokenCmd {
    /// Issue a fresh administrator token and revoke every other token of the administrator.
    /// Needs access to the database, not a token.
    Rotate {
        #[command(flatten)]
        storage: StorageArgs,
        /// Print the token instead of writing DATA_DIR/admin-token (e.g. into a Kubernetes Secret).
        #[arg(long)]
        print: bool,
    },
}

async fn registry(storage: &StorageArgs) -> Result<Registry, StartError> {
    let url = storage.database_url();
    if let Some(file) = storage.sqlite_file()
        && !file.exists()
    {
        return Err(format!("no database at {}: give --data-dir or --database-url", file.display()).into());
    }
    let db = sanxiang_store::db::connect(&url, 2).await.map_err(|e| format!("cannot open the database: {e}"))?;
    Ok(Registry::new(db, Arc::new(SystemClock)))
}

/// Writes `token` to DATA_DIR/admin-token (0600, replaced atomically), or prints it.
fn hand_over(storage: &StorageArgs, token: &str, print: bool) -> Result<(), StartError> {
    if print {
        println!("{token}");
        return Ok(());
    }
    #[cfg(unix)]
    use std::os::unix::fs::OpenOptionsExt;
    let path = storage.data_dir.join(ADMIN_TOKEN_FILE);
    let tmp = storage.data_dir.join(format!("{ADMIN_TOKEN_FILE}.new"));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    options.mode(0o600);
    let mut file = options.open(&tmp).map_err(|e| format!("cannot write {}: {e}", tmp.display()))?;
    writeln!(file, "{token}")?;
    file.sync_all()?;
    std::fs::rename(&tmp, &path).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    eprintln!("wrote the new administrator token to {} (mode 0600)", path.display());
    Ok(())
}

/// Runs `admin …`.
pub async fn admin(cmd: AdminCmd) -> Result<(), StartError> {
    match cmd {
        AdminCmd::Recover { storage, print } => {
            let registry = registry(&storage).await?;
            let token = match registry.bootstrap_admin().await.map_err(|e| format!("{e}"))? {
                Some(token) => token,
                None => {
                    registry.issue_token(&PrincipalId::from(ADMIN_ID), "recovered").await.map_err(|e| format!("{e}"))?.1
                }
            };
            hand_over(&storage, &token, print)
        }
        AdminCmd::Token(AdminTokenCmd::Rotate { storage, print }) => {
            let registry = registry(&storage).await?;
            let (id, token) =
                registry.issue_token(&PrincipalId::from(ADMIN_ID), "rotated").await.map_err(|e| format!("{e}"))?;
            let db = registry_db(&storage).await?;
            let others = token::Entity::find()
                .filter(token::Column::PrincipalId.eq(ADMIN_ID))
                .filter(token::Column::Id.ne(id.as_str()))
                .filter(token::Column::RevokedAt.is_null())
                .all(&db)
                .await?;
            // Written (or printed) before the old ones are revoked: an interruption never leaves
            // the administrator without a working token.
            hand_over(&storage, &token, print)?;
            for t in &others {
                registry.revoke_token(&t.id).await.map_err(|e| format!("{e}"))?;
            }
            eprintln!("revoked {} earlier administrator token(s)", others.len());
            Ok(())
        }
    }
}

async fn registry_db(storage: &StorageArgs) -> Result<sanxiang_store::Db, StartError> {
    Ok(sea_orm::Database::connect(storage.database_url()).await?)
}

/// Names inside a backup archive.
const DB_ENTRY: &str = "sanxiang.db";
const OBJECTS: &str = "objects";

/// `backup`: a consistent copy of an embedded data directory, while the service runs.
#[derive(Debug, Clone, clap::Args)]
pub struct BackupArgs {
    /// The service's data directory (SQLite database and local evidence objects).
    #[arg(long, env = "SANXIANG_DATA_DIR", default_value = "./sanxiang-data")]
    pub data_dir: PathBuf,
    /// The archive to write (tar).
    #[arg(long)]
    pub out: PathBuf,
}

/// `restore`: an archive of `backup` into a new data directory.
#[derive(Debug, Clone, clap::Args)]
pub struct RestoreArgs {
    /// The data directory to create (it must not exist, or be empty).
    #[arg(long, env = "SANXIANG_DATA_DIR", default_value = "./sanxiang-data")]
    pub data_dir: PathBuf,
    /// The archive written by `sanxiang backup`.
    pub archive: PathBuf,
}

/// Runs `backup`: the database first (a `VACUUM INTO` snapshot, consistent while the service
/// writes), then the objects. An object is stored before the event citing it is committed, so
/// every object the snapshot cites is there when the objects are copied after it.
pub async fn backup(args: BackupArgs) -> Result<(), StartError> {
    let db_file = args.data_dir.join(DB_ENTRY);
    if !db_file.exists() {
        return Err(format!(
            "no embedded database at {}: `sanxiang backup` is for the default SQLite and local-files mode; \
             for PostgreSQL and S3 follow deploy/README.md (Backup and restore)",
            db_file.display()
        )
        .into());
    }
    let staging = tempfile_dir(&args.out)?;
    let snapshot = staging.join(DB_ENTRY);
    let db = sea_orm::Database::connect(format!("sqlite://{}?mode=ro", db_file.display()))
        .await
        .map_err(|e| format!("cannot open {}: {e}", db_file.display()))?;
    let quoted = snapshot.display().to_string().replace('\'', "''");
    db.execute_unprepared(&format!("VACUUM INTO '{quoted}'"))
        .await
        .map_err(|e| format!("cannot snapshot {}: {e}", db_file.display()))?;
    db.close().await.ok();

    let out = std::fs::File::create(&args.out).map_err(|e| format!("cannot create {}: {e}", args.out.display()))?;
    let mut tar = tar::Builder::new(std::io::BufWriter::new(out));
    tar.append_path_with_name(&snapshot, DB_ENTRY)?;
    // The verifiable log's key, when it lives in the data directory: the restored service must be
    // the same log (its stored checkpoints are signed with this key; witnesses and verifiers know
    // its verifier key). A key given by --log-key-file or SANXIANG_LOG_KEY is the operator's to
    // keep.
    let key = args.data_dir.join(sanxiang_log::KEY_FILE);
    if key.is_file() {
        tar.append_path_with_name(&key, sanxiang_log::KEY_FILE)?;
    }
    let objects = args.data_dir.join(OBJECTS);
    let mut count = 0u64;
    if objects.is_dir() {
        // Only complete content-addressed objects: staging of unfinished uploads is left out
        // (their rows restore as uploads to start again).
        let sha = objects.join("sha256");
        if sha.is_dir() {
            count = append_dir(&mut tar, &sha, &format!("{OBJECTS}/sha256"))?;
        }
    }
    tar.into_inner()?.flush()?;
    std::fs::remove_dir_all(&staging).ok();
    eprintln!("backed up the database and {count} evidence object(s) to {}", args.out.display());
    Ok(())
}

fn tempfile_dir(next_to: &Path) -> Result<PathBuf, StartError> {
    let parent = next_to.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let dir = parent.join(format!(".sanxiang-backup-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    Ok(dir)
}

fn append_dir<W: std::io::Write>(tar: &mut tar::Builder<W>, dir: &Path, name: &str) -> Result<u64, StartError> {
    let mut count = 0;
    let mut entries: Vec<_> = std::fs::read_dir(dir)?.collect::<Result<_, _>>()?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let path = entry.path();
        let entry_name = format!("{name}/{}", entry.file_name().to_string_lossy());
        if entry.file_type()?.is_dir() {
            count += append_dir(tar, &path, &entry_name)?;
        } else {
            tar.append_path_with_name(&path, &entry_name)?;
            count += 1;
        }
    }
    Ok(count)
}

/// Runs `restore` into an empty (or new) data directory, with the modes the service gives its
/// files.
pub async fn restore(args: RestoreArgs) -> Result<(), StartError> {
    let dir = &args.data_dir;
    if dir.exists() && std::fs::read_dir(dir)?.next().is_some() {
        return Err(format!("{} is not empty: restore into a new data directory", dir.display()).into());
    }
    let file =
        std::fs::File::open(&args.archive).map_err(|e| format!("cannot open {}: {e}", args.archive.display()))?;
    std::fs::create_dir_all(dir)?;
    set_mode(dir, 0o700)?;
    let mut archive = tar::Archive::new(std::io::BufReader::new(file));
    let mut objects = 0u64;
    let mut database = false;
    for entry in archive.entries()? {
        let mut entry = entry?;
        let name = entry.path()?.into_owned();
        // Only the two names a backup has, and no way out of the directory.
        let safe = name.components().all(|c| matches!(c, std::path::Component::Normal(_)));
        let key = name == Path::new(sanxiang_log::KEY_FILE);
        let known = name == Path::new(DB_ENTRY) || key || name.starts_with(format!("{OBJECTS}/sha256"));
        if !safe || !known {
            return Err(format!(
                "{} is not a sanxiang backup: unexpected entry {}",
                args.archive.display(),
                name.display()
            )
            .into());
        }
        let target = dir.join(&name);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent)?;
            if parent.starts_with(dir.join(OBJECTS)) {
                set_mode(parent, 0o700)?;
            }
        }
        entry.unpack(&target)?;
        if name == Path::new(DB_ENTRY) {
            set_mode(&target, 0o600)?;
            database = true;
        } else if key {
            set_mode(&target, 0o600)?;
        } else {
            set_mode(&target, 0o400)?;
            objects += 1;
        }
    }
    if !database {
        return Err(format!("{} has no database: not a sanxiang backup", args.archive.display()).into());
    }
    set_mode(&dir.join(OBJECTS), 0o700).ok();
    // Opening it checks it and brings its schema up to this version.
    let url = format!("sqlite://{}?mode=rw", dir.join(DB_ENTRY).display());
    sanxiang_store::db::connect(&url, 1).await.map_err(|e| format!("the restored database does not open: {e}"))?;
    eprintln!(
        "restored the database and {objects} evidence object(s) into {}; start it with `sanxiang serve --data-dir {}` \
         and get an administrator token with `sanxiang admin recover --data-dir {}`",
        dir.display(),
        dir.display(),
        dir.display()
    );
    Ok(())
}

fn set_mode(path: &Path, mode: u32) -> Result<(), StartError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
            .map_err(|e| format!("cannot set the mode of {}: {e}", path.display()))?;
    }
    Ok(())
}
