//! Throwaway local PostgreSQL clusters, for tests, benchmarks and `skydeck demo`.
//!
//! A cluster is `initdb` + a `postgres` postmaster run as a direct child on a
//! free port, with a private socket directory under one temporary base
//! directory. It is stopped and its directory removed when the
//! [`LocalCluster`] is dropped, and — for clusters held in statics, which are
//! never dropped — at process exit. The postmaster is started with a
//! parent-death signal, so a test binary that is killed outright does not
//! leave servers behind; their directories are swept by the next start.
//!
//! When the process runs as root (CI does), `initdb` refuses to run, so the
//! server runs as the `postgres` OS user (or `SKYDECK_PG_USER`).

use std::collections::HashMap;
use std::ffi::CString;
use std::fmt;
use std::fs;
use std::io::{self, Read, Seek, SeekFrom};
use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::mpsc;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

/// Name of the superuser every throwaway cluster is initialised with.
pub const SUPERUSER: &str = "postgres";

#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    #[error(
        "no PostgreSQL server binaries found (looked at $SKYDECK_PG_BINDIR, `pg_config --bindir`, \
         PATH and /usr/lib/postgresql/*/bin); install the `postgresql` package or set SKYDECK_PG_BINDIR"
    )]
    NoBinaries,
    #[error(
        "running as root, and initdb refuses root: no unprivileged user {0:?} to run the server as; \
         create it (the Debian `postgresql` package does) or set SKYDECK_PG_USER"
    )]
    NoUser(String),
    #[error("cluster {name}: {what}: {source}")]
    Io {
        name: String,
        what: String,
        #[source]
        source: io::Error,
    },
    #[error("cluster {name}: initdb failed ({status}):\n{output}")]
    Initdb {
        name: String,
        status: String,
        output: String,
    },
    #[error(
        "cluster {name}: the server did not start: {reason}\n--- server log {log} ---\n{tail}"
    )]
    Start {
        name: String,
        reason: String,
        log: String,
        tail: String,
    },
}

/// How to build a cluster: a name (used in paths and messages) and settings.
#[derive(Debug, Clone)]
pub struct ClusterBuilder {
    name: String,
    settings: Vec<(String, String)>,
    tcp: bool,
    bindir: Option<PathBuf>,
}

impl ClusterBuilder {
    /// Add or override a `postgresql.conf` setting. The value is written as
    /// given, so quote strings: `.setting("wal_level", "'logical'")`.
    pub fn setting(mut self, key: &str, value: &str) -> Self {
        self.settings.retain(|(k, _)| k != key);
        self.settings.push((key.to_string(), value.to_string()));
        self
    }

    /// Also listen on 127.0.0.1 (on by default; off leaves only the socket).
    pub fn tcp(mut self, on: bool) -> Self {
        self.tcp = on;
        self
    }

    /// Use the server binaries in `dir` instead of looking for them.
    pub fn bindir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.bindir = Some(dir.into());
        self
    }

    /// initdb and start; blocks until the server accepts connections.
    pub fn start(self) -> Result<LocalCluster, ClusterError> {
        LocalCluster::start_with(self)
    }

    /// Reserve the directory and a port, and stop there: the caller fills
    /// [`LocalCluster::data_dir`] (a restored base backup, say), then calls
    /// [`LocalCluster::start_existing`]. Removed on drop like any cluster.
    pub fn unstarted(self) -> Result<LocalCluster, ClusterError> {
        let (mut cluster, _) = LocalCluster::prepare(&self)?;
        // The port is held until the server starts: the caller may write it
        // into connection strings, so it cannot move later.
        let l = TcpListener::bind("127.0.0.1:0")
            .map_err(|e| cluster.io_err("finding a free port", e))?;
        cluster.port = l
            .local_addr()
            .map_err(|e| cluster.io_err("finding a free port", e))?
            .port();
        cluster.reserved = Some(l);
        cluster.settings = self.settings;
        Ok(cluster)
    }
}

/// A running throwaway cluster. Dropping it stops the server and removes its
/// files; if the current thread is panicking, the server log is printed and
/// kept under `<base>/failed-logs/`.
pub struct LocalCluster {
    name: String,
    dir: PathBuf,
    port: u16,
    bindir: PathBuf,
    tcp: bool,
    child: Option<Child>,
    keep: bool,
    /// The builder's settings, for [`LocalCluster::start_existing`].
    settings: Vec<(String, String)>,
    /// The port of an unstarted cluster, held until its server starts.
    reserved: Option<TcpListener>,
}

impl fmt::Debug for LocalCluster {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalCluster")
            .field("name", &self.name)
            .field("port", &self.port)
            .field("dir", &self.dir)
            .finish()
    }
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

impl LocalCluster {
    /// Start describing a cluster. `name` should be short and filesystem-safe.
    pub fn builder(name: &str) -> ClusterBuilder {
        let clean: String = name
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        ClusterBuilder {
            name: clean,
            settings: Vec::new(),
            tcp: true,
            bindir: None,
        }
    }

    /// The cluster's directory, made and handed to the server's user.
    fn prepare(b: &ClusterBuilder) -> Result<(LocalCluster, Option<(u32, u32)>), ClusterError> {
        let bindir = match &b.bindir {
            Some(d) if d.join("initdb").is_file() && d.join("postgres").is_file() => d.clone(),
            Some(_) => return Err(ClusterError::NoBinaries),
            None => find_bindir().ok_or(ClusterError::NoBinaries)?,
        };
        let run_as = run_as_user()?;
        let base = base_dir();
        let io_err = |what: &str, e: io::Error| ClusterError::Io {
            name: b.name.clone(),
            what: what.to_string(),
            source: e,
        };
        fs::create_dir_all(&base)
            .map_err(|e| io_err(&format!("creating {}", base.display()), e))?;
        // Others (the postgres user) must reach their directory inside.
        let _ = fs::set_permissions(&base, fs::Permissions::from_mode(0o1777));
        sweep_stale(&base);

        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let dir = base.join(format!("{}-{}-{}", b.name, std::process::id(), n));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir(&dir).map_err(|e| io_err(&format!("creating {}", dir.display()), e))?;
        if let Some((uid, gid)) = run_as {
            std::os::unix::fs::chown(&dir, Some(uid), Some(gid))
                .map_err(|e| io_err(&format!("chown {}", dir.display()), e))?;
        }
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o755))
            .map_err(|e| io_err("chmod cluster dir", e))?;

        let cluster = LocalCluster {
            name: b.name.clone(),
            dir: dir.clone(),
            port: 0,
            bindir: bindir.clone(),
            tcp: b.tcp,
            child: None,
            keep: std::env::var_os("SKYDECK_KEEP_CLUSTERS").is_some(),
            settings: Vec::new(),
            reserved: None,
        };
        Ok((cluster, run_as))
    }

    /// Start the server on a data directory the caller filled (see
    /// [`ClusterBuilder::unstarted`]): its postgresql.conf gets this
    /// cluster's port, socket and settings; blocks until it accepts
    /// connections (a standby: until it accepts read-only ones).
    pub fn start_existing(&mut self) -> Result<(), ClusterError> {
        let run_as = run_as_user()?;
        let settings = self.settings.clone();
        self.write_conf(&settings)
            .map_err(|e| self.io_err("writing postgresql.conf", e))?;
        // Free the port for the server only now.
        drop(self.reserved.take());
        match self.launch(run_as) {
            Ok(()) => {
                register(self);
                Ok(())
            }
            // Not retried on another port, as start does: the caller may
            // have written this one into connection strings already.
            Err(ClusterError::Start {
                name,
                reason,
                log,
                tail,
            }) if port_taken(&tail) => Err(ClusterError::Start {
                reason: format!(
                    "{reason}: port {} was taken by another process before the server could \
                     bind it; prepare the cluster again (a new port) and start it",
                    self.port
                ),
                name,
                log,
                tail,
            }),
            Err(e) => Err(e),
        }
    }

    fn start_with(b: ClusterBuilder) -> Result<LocalCluster, ClusterError> {
        let (mut cluster, run_as) = Self::prepare(&b)?;
        let bindir = cluster.bindir.clone();
        let io_err = |what: &str, e: io::Error| ClusterError::Io {
            name: b.name.clone(),
            what: what.to_string(),
            source: e,
        };
        cluster.settings = b.settings.clone();

        // initdb
        let mut cmd = Command::new(bindir.join("initdb"));
        cmd.arg("-D")
            .arg(cluster.data_dir())
            .args([
                "-U",
                SUPERUSER,
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--locale=C",
                "--no-sync",
            ])
            .env("LC_ALL", "C")
            .env_remove("PGDATA")
            .stdin(Stdio::null())
            .current_dir(&cluster.dir);
        if let Some((uid, gid)) = run_as {
            cmd.uid(uid).gid(gid);
        }
        let out = cmd.output().map_err(|e| io_err("running initdb", e))?;
        if !out.status.success() {
            return Err(ClusterError::Initdb {
                name: b.name,
                status: out.status.to_string(),
                output: format!(
                    "{}{}",
                    String::from_utf8_lossy(&out.stdout),
                    String::from_utf8_lossy(&out.stderr)
                ),
            });
        }

        // A port taken between our probe and the server's bind is retried.
        let mut last_err = None;
        for _attempt in 0..5 {
            let port = free_port().map_err(|e| io_err("finding a free port", e))?;
            cluster.port = port;
            cluster
                .write_conf(&b.settings)
                .map_err(|e| io_err("writing postgresql.conf", e))?;
            match cluster.launch(run_as) {
                Ok(()) => {
                    register(&cluster);
                    return Ok(cluster);
                }
                Err(e) => {
                    let retry = matches!(&e, ClusterError::Start { tail, .. } if port_taken(tail));
                    last_err = Some(e);
                    if !retry {
                        break;
                    }
                }
            }
        }
        Err(last_err.expect("at least one attempt"))
    }

    fn write_conf(&self, extra: &[(String, String)]) -> io::Result<()> {
        let mut s = String::from("\n# --- skydeck throwaway cluster settings ---\n");
        let listen = if self.tcp { "'127.0.0.1'" } else { "''" };
        let sock = self.dir.display().to_string().replace('\'', "''");
        let defaults: Vec<(&str, String)> = vec![
            ("listen_addresses", listen.to_string()),
            ("port", self.port.to_string()),
            ("unix_socket_directories", format!("'{sock}'")),
            ("fsync", "off".into()),
            ("synchronous_commit", "off".into()),
            ("full_page_writes", "off".into()),
            ("shared_buffers", "64MB".into()),
            ("max_connections", "100".into()),
            ("lc_messages", "'C'".into()),
            ("logging_collector", "off".into()),
            ("log_line_prefix", "'%m [%p] %q%u@%d '".into()),
            ("log_min_messages", "warning".into()),
        ];
        for (k, v) in defaults {
            if !extra.iter().any(|(ek, _)| ek == k) {
                s.push_str(&format!("{k} = {v}\n"));
            }
        }
        for (k, v) in extra {
            s.push_str(&format!("{k} = {v}\n"));
        }
        // Rewrite from the pristine initdb file each attempt.
        let conf = self.data_dir().join("postgresql.conf");
        let orig = self.data_dir().join("postgresql.conf.initdb");
        if !orig.exists() {
            fs::copy(&conf, &orig)?;
            // The server reads every file of its data directory (a base
            // backup does): the copy belongs to the server's user too.
            use std::os::unix::fs::MetadataExt;
            let md = fs::metadata(&conf)?;
            let _ = std::os::unix::fs::chown(&orig, Some(md.uid()), Some(md.gid()));
        }
        let mut base = fs::read_to_string(&orig)?;
        base.push_str(&s);
        fs::write(&conf, base)
    }

    fn launch(&mut self, run_as: Option<(u32, u32)>) -> Result<(), ClusterError> {
        let log = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_path())
            .map_err(|e| self.io_err("opening server log", e))?;
        if let Some((uid, gid)) = run_as {
            let _ = std::os::unix::fs::chown(self.log_path(), Some(uid), Some(gid));
        }
        let log2 = log
            .try_clone()
            .map_err(|e| self.io_err("opening server log", e))?;
        let mut cmd = Command::new(self.bindir.join("postgres"));
        cmd.arg("-D")
            .arg(self.data_dir())
            .env("LC_ALL", "C")
            .env_remove("PGDATA")
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log2)
            .current_dir(&self.dir);
        if let Some((uid, gid)) = run_as {
            cmd.uid(uid).gid(gid);
        }
        // SAFETY: prctl is async-signal-safe; it runs in the forked child
        // after the uid change (which would clear the death signal).
        unsafe {
            cmd.pre_exec(|| {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGINT) != 0 {
                    return Err(io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let child = spawn_from_keeper(cmd).map_err(|e| self.io_err("starting postgres", e))?;
        self.child = Some(child);

        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(child) = self.child.as_mut() {
                if let Ok(Some(status)) = child.try_wait() {
                    self.child = None;
                    return Err(self.start_error(format!("postgres exited with {status}")));
                }
            }
            if self.pid_file_ready() {
                return Ok(());
            }
            if Instant::now() > deadline {
                self.kill_server();
                return Err(self.start_error("not ready after 60 s".into()));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn pid_file_ready(&self) -> bool {
        // postmaster.pid line 8 is the status pg_ctl waits for.
        match fs::read_to_string(self.data_dir().join("postmaster.pid")) {
            Ok(s) => s
                .lines()
                .nth(7)
                .map(|l| l.trim() == "ready")
                .unwrap_or(false),
            Err(_) => false,
        }
    }

    fn start_error(&self, reason: String) -> ClusterError {
        ClusterError::Start {
            name: self.name.clone(),
            reason,
            log: self.log_path().display().to_string(),
            tail: self.log_tail(40),
        }
    }

    fn io_err(&self, what: &str, e: io::Error) -> ClusterError {
        ClusterError::Io {
            name: self.name.clone(),
            what: what.to_string(),
            source: e,
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }
    pub fn port(&self) -> u16 {
        self.port
    }
    /// The directory holding the unix socket (and the cluster's files).
    pub fn socket_dir(&self) -> &Path {
        &self.dir
    }
    pub fn data_dir(&self) -> PathBuf {
        self.dir.join("data")
    }
    pub fn bindir(&self) -> &Path {
        &self.bindir
    }
    pub fn log_path(&self) -> PathBuf {
        self.dir.join("server.log")
    }
    /// The postmaster's pid, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(|c| c.id())
    }

    /// libpq key=value connection string for `dbname` over the unix socket.
    pub fn connstr(&self, dbname: &str) -> String {
        format!(
            "host={} port={} user={} dbname={}",
            quote_conn_value(&self.dir.display().to_string()),
            self.port,
            SUPERUSER,
            quote_conn_value(dbname)
        )
    }

    /// The same over TCP (127.0.0.1), when the cluster listens there.
    pub fn tcp_connstr(&self, dbname: &str) -> String {
        format!(
            "host=127.0.0.1 port={} user={} dbname={}",
            self.port,
            SUPERUSER,
            quote_conn_value(dbname)
        )
    }

    /// Connect as the superuser; the connection task is spawned on the
    /// current tokio runtime.
    pub async fn connect(
        &self,
        dbname: &str,
    ) -> Result<tokio_postgres::Client, tokio_postgres::Error> {
        let (client, conn) =
            tokio_postgres::connect(&self.connstr(dbname), tokio_postgres::NoTls).await?;
        tokio::spawn(async move {
            let _ = conn.await;
        });
        Ok(client)
    }

    /// `CREATE DATABASE` (the name is quoted).
    pub async fn create_database(&self, dbname: &str) -> Result<(), tokio_postgres::Error> {
        let c = self.connect("postgres").await?;
        c.batch_execute(&format!(
            "CREATE DATABASE {}",
            crate::db::quote_ident(dbname)
        ))
        .await
    }

    /// A `psql` command connected to `dbname`, quiet and without ~/.psqlrc.
    pub fn psql(&self, dbname: &str) -> Command {
        let mut cmd = Command::new(self.bindir.join("psql"));
        cmd.args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-d"])
            .arg(self.connstr(dbname))
            .env("LC_ALL", "C")
            .env_remove("PGDATABASE")
            .env_remove("PGHOST")
            .env_remove("PGPORT")
            .env_remove("PGUSER")
            .env_remove("PGOPTIONS");
        cmd
    }

    /// The last `lines` lines of the server log.
    pub fn log_tail(&self, lines: usize) -> String {
        let mut f = match fs::File::open(self.log_path()) {
            Ok(f) => f,
            Err(e) => return format!("(no server log: {e})"),
        };
        let len = f.metadata().map(|m| m.len()).unwrap_or(0);
        let start = len.saturating_sub(64 * 1024);
        let _ = f.seek(SeekFrom::Start(start));
        let mut buf = Vec::new();
        let _ = f.read_to_end(&mut buf);
        let text = String::from_utf8_lossy(&buf);
        let all: Vec<&str> = text.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }

    /// Stop the server (fast shutdown), keeping the files.
    pub fn stop(&mut self) {
        self.kill_server();
    }

    /// Stop the server immediately, as a crash would (no shutdown checkpoint).
    pub fn crash(&mut self) {
        if let Some(mut child) = self.child.take() {
            signal_and_wait(&mut child, libc::SIGQUIT, Duration::from_secs(30));
        }
    }

    /// Start a stopped server again on the same port and data directory.
    pub fn restart(&mut self) -> Result<(), ClusterError> {
        self.kill_server();
        let run_as = run_as_user()?;
        self.launch(run_as)?;
        register(self);
        Ok(())
    }

    /// Whether the postmaster is running.
    pub fn is_running(&mut self) -> bool {
        match self.child.as_mut() {
            Some(c) => matches!(c.try_wait(), Ok(None)),
            None => false,
        }
    }

    fn kill_server(&mut self) {
        if let Some(mut child) = self.child.take() {
            signal_and_wait(&mut child, libc::SIGINT, Duration::from_secs(30));
        }
        unregister(&self.dir);
    }
}

impl Drop for LocalCluster {
    fn drop(&mut self) {
        self.kill_server();
        if std::thread::panicking() {
            let failed = base_dir().join("failed-logs");
            let kept = failed.join(format!(
                "{}-{}.log",
                self.dir
                    .file_name()
                    .and_then(|s| s.to_str())
                    .unwrap_or("cluster"),
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_secs())
                    .unwrap_or(0)
            ));
            let _ = fs::create_dir_all(&failed);
            let _ = fs::copy(self.log_path(), &kept);
            eprintln!(
                "--- server log of cluster {} (kept at {}) ---\n{}\n--- end of server log ---",
                self.name,
                kept.display(),
                self.log_tail(60)
            );
        }
        if !self.keep {
            let _ = fs::remove_dir_all(&self.dir);
        }
    }
}

fn signal_and_wait(child: &mut Child, sig: i32, grace: Duration) {
    let pid = child.id() as i32;
    // SAFETY: plain kill(2) on our own child.
    unsafe {
        libc::kill(pid, sig);
    }
    let deadline = Instant::now() + grace;
    loop {
        match child.try_wait() {
            Ok(Some(_)) | Err(_) => return,
            Ok(None) => {}
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            return;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// libpq connection-string value quoting: single quotes, with `\` and `'`
/// escaped, when the value is empty or holds spaces or quotes.
pub fn quote_conn_value(v: &str) -> String {
    if !v.is_empty()
        && !v
            .chars()
            .any(|c| c.is_whitespace() || c == '\'' || c == '\\')
    {
        return v.to_string();
    }
    let mut s = String::with_capacity(v.len() + 2);
    s.push('\'');
    for c in v.chars() {
        if c == '\'' || c == '\\' {
            s.push('\\');
        }
        s.push(c);
    }
    s.push('\'');
    s
}

/// The directory under which clusters are created: `$SKYDECK_CLUSTER_DIR`,
/// or `skydeck-clusters` in the system temporary directory.
pub fn base_dir() -> PathBuf {
    match std::env::var_os("SKYDECK_CLUSTER_DIR") {
        Some(d) => PathBuf::from(d),
        None => std::env::temp_dir().join("skydeck-clusters"),
    }
}

/// Locate the directory holding `initdb` and `postgres`.
pub fn find_bindir() -> Option<PathBuf> {
    let ok = |d: &Path| d.join("initdb").is_file() && d.join("postgres").is_file();
    if let Some(d) = std::env::var_os("SKYDECK_PG_BINDIR") {
        let d = PathBuf::from(d);
        return ok(&d).then_some(d);
    }
    if let Ok(out) = Command::new("pg_config").arg("--bindir").output() {
        if out.status.success() {
            let d = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
            if ok(&d) {
                return Some(d);
            }
        }
    }
    if let Some(path) = std::env::var_os("PATH") {
        for d in std::env::split_paths(&path) {
            let initdb = d.join("initdb");
            if initdb.is_file() {
                // Debian links /usr/local/bin/initdb into the versioned dir.
                let real = fs::canonicalize(&initdb).ok();
                if let Some(parent) = real.as_deref().and_then(Path::parent) {
                    if ok(parent) {
                        return Some(parent.to_path_buf());
                    }
                }
                if ok(&d) {
                    return Some(d);
                }
            }
        }
    }
    let mut versions: Vec<(u32, PathBuf)> = fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let v: u32 = e.file_name().to_str()?.parse().ok()?;
            let d = e.path().join("bin");
            ok(&d).then_some((v, d))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, d)| d)
}

fn run_as_user() -> Result<Option<(u32, u32)>, ClusterError> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return Ok(None);
    }
    let name = std::env::var("SKYDECK_PG_USER").unwrap_or_else(|_| "postgres".to_string());
    let cname = CString::new(name.clone()).map_err(|_| ClusterError::NoUser(name.clone()))?;
    // SAFETY: getpwnam returns a pointer into static storage or NULL; we copy
    // the two ids out at once. Cluster start is not performance critical and
    // the race with other getpw* callers is benign for these fields.
    let pw = unsafe { libc::getpwnam(cname.as_ptr()) };
    if pw.is_null() {
        return Err(ClusterError::NoUser(name));
    }
    let (uid, gid) = unsafe { ((*pw).pw_uid, (*pw).pw_gid) };
    if uid == 0 {
        return Err(ClusterError::NoUser(name));
    }
    Ok(Some((uid, gid)))
}

/// Whether a server log tail says the port was taken.
fn port_taken(log_tail: &str) -> bool {
    log_tail.contains("could not bind") || log_tail.contains("Address already in use")
}

fn free_port() -> io::Result<u16> {
    let l = TcpListener::bind("127.0.0.1:0")?;
    Ok(l.local_addr()?.port())
}

/// Spawn from one long-lived thread: the parent-death signal fires when the
/// *thread* that forked exits, and test threads come and go.
fn spawn_from_keeper(cmd: Command) -> io::Result<Child> {
    type Req = (Command, mpsc::Sender<io::Result<Child>>);
    static KEEPER: OnceLock<Mutex<mpsc::Sender<Req>>> = OnceLock::new();
    let tx = KEEPER.get_or_init(|| {
        let (tx, rx) = mpsc::channel::<Req>();
        std::thread::Builder::new()
            .name("skydeck-cluster-keeper".into())
            .spawn(move || {
                for (mut cmd, reply) in rx {
                    let _ = reply.send(cmd.spawn());
                }
            })
            .expect("spawning the cluster keeper thread");
        Mutex::new(tx)
    });
    let (rtx, rrx) = mpsc::channel();
    tx.lock()
        .unwrap_or_else(|p| p.into_inner())
        .send((cmd, rtx))
        .map_err(|_| io::Error::other("cluster keeper thread is gone"))?;
    rrx.recv()
        .map_err(|_| io::Error::other("cluster keeper thread is gone"))?
}

// --- cleanup at exit, for clusters that live in statics ---

fn registry() -> &'static Mutex<HashMap<PathBuf, (u32, bool)>> {
    static R: OnceLock<Mutex<HashMap<PathBuf, (u32, bool)>>> = OnceLock::new();
    R.get_or_init(|| {
        // SAFETY: registering a plain extern "C" fn with atexit.
        unsafe {
            libc::atexit(cleanup_at_exit);
        }
        Mutex::new(HashMap::new())
    })
}

fn register(c: &LocalCluster) {
    if let Some(pid) = c.pid() {
        registry()
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(c.dir.clone(), (pid, c.keep));
    }
}

fn unregister(dir: &Path) {
    registry()
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .remove(dir);
}

extern "C" fn cleanup_at_exit() {
    let Ok(mut reg) = registry().try_lock() else {
        return;
    };
    for (dir, (pid, keep)) in reg.drain() {
        let pid = pid as i32;
        // SAFETY: signalling and reaping our own child processes.
        unsafe {
            libc::kill(pid, libc::SIGINT);
            let deadline = Instant::now() + Duration::from_secs(20);
            loop {
                let mut status = 0;
                let r = libc::waitpid(pid, &mut status, libc::WNOHANG);
                if r != 0 || Instant::now() > deadline {
                    break;
                }
                std::thread::sleep(Duration::from_millis(10));
            }
        }
        if !keep {
            let _ = fs::remove_dir_all(&dir);
        }
    }
}

/// Remove directories of clusters whose owning process is gone.
fn sweep_stale(base: &Path) {
    let Ok(entries) = fs::read_dir(base) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name();
        let Some(name) = name.to_str() else { continue };
        let parts: Vec<&str> = name.rsplitn(3, '-').collect();
        if parts.len() != 3 {
            continue;
        }
        let Ok(pid) = parts[1].parse::<i32>() else {
            continue;
        };
        // SAFETY: kill with signal 0 only checks for existence.
        let alive = unsafe { libc::kill(pid, 0) } == 0
            || io::Error::last_os_error().raw_os_error() == Some(libc::EPERM);
        if !alive {
            // Its postmaster died with it (parent-death signal); if one is
            // somehow still up, leave the directory alone.
            let pidfile = e.path().join("data").join("postmaster.pid");
            let server_alive = fs::read_to_string(&pidfile)
                .ok()
                .and_then(|s| s.lines().next().and_then(|l| l.trim().parse::<i32>().ok()))
                .map(|p| unsafe { libc::kill(p, 0) } == 0)
                .unwrap_or(false);
            if !server_alive {
                let _ = fs::remove_dir_all(e.path());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conn_value_quoting() {
        assert_eq!(quote_conn_value("abc"), "abc");
        assert_eq!(quote_conn_value(""), "''");
        assert_eq!(quote_conn_value("a b"), "'a b'");
        assert_eq!(quote_conn_value("it's"), "'it\\'s'");
        assert_eq!(quote_conn_value("back\\slash"), "'back\\\\slash'");
    }
    #[test]
    fn an_unstarted_cluster_holds_its_port() {
        if find_bindir().is_none() {
            return; // (no PostgreSQL here: nothing to prepare)
        }
        let c = LocalCluster::builder("held").unstarted().unwrap();
        assert!(TcpListener::bind(("127.0.0.1", c.port())).is_err());
        assert!(port_taken(
            "LOG:  could not bind IPv4 address \"127.0.0.1\": Address already in use"
        ));
    }
}
