//! External programs a benchmark drives (pgbench, the Python consumer):
//! run with a deadline and captured output, from a blocking thread; and a
//! private scratch directory for their scripts.

use std::io::Read;
use std::path::PathBuf;
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};

/// What a finished program printed.
#[derive(Debug)]
pub struct Finished {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

impl Finished {
    /// The last `n` lines of stderr (or stdout when stderr is empty), for
    /// error messages.
    pub fn tail(&self, n: usize) -> String {
        let text = if self.stderr.trim().is_empty() {
            &self.stdout
        } else {
            &self.stderr
        };
        let lines: Vec<&str> = text.trim_end().lines().collect();
        lines[lines.len().saturating_sub(n)..].join("\n")
    }
}

/// Run `cmd` to completion on a blocking thread, killing it after
/// `timeout`. `what` names it in errors. A non-zero exit is not an error
/// here: callers decide, and show [`Finished::tail`].
pub async fn run(cmd: Command, timeout: Duration, what: &str) -> Result<Finished> {
    let what = what.to_string();
    tokio::task::spawn_blocking(move || run_blocking(cmd, timeout, &what))
        .await
        .context("waiting for a child process")?
}

fn run_blocking(mut cmd: Command, timeout: Duration, what: &str) -> Result<Finished> {
    let program = cmd.get_program().to_string_lossy().into_owned();
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("{what}: cannot run {program}"))?;
    let reader = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            if let Some(mut p) = pipe {
                let _ = p.read_to_end(&mut buf);
            }
            String::from_utf8_lossy(&buf).into_owned()
        })
    };
    let out = reader(
        child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let err = reader(
        child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let deadline = Instant::now() + timeout;
    let status = loop {
        if let Some(status) = child
            .try_wait()
            .with_context(|| format!("{what}: waiting for {program}"))?
        {
            break status;
        }
        if Instant::now() > deadline {
            // Our own child, by its handle.
            let _ = child.kill();
            let _ = child.wait();
            let stderr = err.join().unwrap_or_default();
            let tail: Vec<&str> = stderr.trim_end().lines().collect();
            bail!(
                "{what}: {program} did not finish within {}s and was stopped{}",
                timeout.as_secs(),
                if tail.is_empty() {
                    String::new()
                } else {
                    format!(
                        "; its last output:\n{}",
                        tail[tail.len().saturating_sub(10)..].join("\n")
                    )
                }
            );
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    Ok(Finished {
        status,
        stdout: out
            .join()
            .map_err(|_| anyhow!("{what}: reading stdout failed"))?,
        stderr: err
            .join()
            .map_err(|_| anyhow!("{what}: reading stderr failed"))?,
    })
}

/// A private directory under the system temporary directory, removed on
/// drop.
#[derive(Debug)]
pub struct ScratchDir(PathBuf);

impl ScratchDir {
    pub fn new(prefix: &str) -> Result<ScratchDir> {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let dir = std::env::temp_dir().join(format!("{prefix}-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("creating scratch directory {}", dir.display()))?;
        Ok(ScratchDir(dir))
    }

    /// Write `name` in the directory; returns its path.
    pub fn write(&self, name: &str, text: &str) -> Result<PathBuf> {
        let p = self.0.join(name);
        std::fs::write(&p, text).with_context(|| format!("writing {}", p.display()))?;
        Ok(p)
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
