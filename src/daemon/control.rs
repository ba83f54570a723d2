//! The control socket of a running host (daemon or console): one JSON
//! [`Action`] per line in, one JSON [`ActionResult`] per line out, carried
//! out by [`Host::execute`] — the same code the console's keys reach. It
//! lives beside the pidfile, readable and writable by its owner only.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use skydeck_ui::model::{Action, ActionResult};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};
use tokio_util::sync::CancellationToken;
use tracing::{debug, warn};

use super::host::Host;

/// The socket path for a pidfile: `<pidfile stem>.sock` beside it.
pub fn socket_path(pidfile: &Path) -> PathBuf {
    let stem = pidfile
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "skydeck".into());
    pidfile
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
        .join(format!("{stem}.sock"))
}

/// Serve the socket until `stop`. The caller holds the pidfile, so a
/// leftover socket file is stale and replaced.
pub async fn serve(path: PathBuf, host: Arc<Host>, stop: CancellationToken) -> std::io::Result<()> {
    let _ = std::fs::remove_file(&path);
    let listener = UnixListener::bind(&path)?;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
    loop {
        tokio::select! {
            _ = stop.cancelled() => break,
            r = listener.accept() => match r {
                Ok((conn, _)) => {
                    let host = host.clone();
                    tokio::spawn(async move {
                        if let Err(e) = handle(conn, host).await {
                            debug!("control connection: {e}");
                        }
                    });
                }
                Err(e) => warn!("control socket {}: {e}", path.display()),
            }
        }
    }
    let _ = std::fs::remove_file(&path);
    Ok(())
}

async fn handle(conn: UnixStream, host: Arc<Host>) -> std::io::Result<()> {
    let (r, mut w) = conn.into_split();
    let mut lines = BufReader::new(r).lines();
    while let Some(line) = lines.next_line().await? {
        let reply = match serde_json::from_str::<Action>(&line) {
            Ok(a) => host.execute(a).await,
            Err(e) => ActionResult {
                action: Action::Refresh,
                ok: false,
                message: format!("bad request: {e}"),
            },
        };
        let mut out = serde_json::to_string(&reply).map_err(std::io::Error::other)?;
        out.push('\n');
        w.write_all(out.as_bytes()).await?;
    }
    Ok(())
}

/// Send one action to the host listening at `path`.
pub async fn request(path: &Path, action: &Action) -> Result<ActionResult, String> {
    let conn = UnixStream::connect(path).await.map_err(|e| {
        format!(
            "cannot reach the running skydeck at {}: {e} (is `skydeck --daemon` or the console running for this deck?)",
            path.display()
        )
    })?;
    let (r, mut w) = conn.into_split();
    let mut line = serde_json::to_string(action).map_err(|e| e.to_string())?;
    line.push('\n');
    w.write_all(line.as_bytes())
        .await
        .map_err(|e| e.to_string())?;
    w.shutdown().await.map_err(|e| e.to_string())?;
    let mut lines = BufReader::new(r).lines();
    match lines.next_line().await {
        Ok(Some(l)) => {
            serde_json::from_str(&l).map_err(|e| format!("bad answer from skydeck: {e}"))
        }
        Ok(None) => Err("skydeck closed the control connection without answering".into()),
        Err(e) => Err(e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn socket_beside_the_pidfile() {
        assert_eq!(
            socket_path(Path::new("/run/x/skydeck.pid")),
            PathBuf::from("/run/x/skydeck.sock")
        );
        assert_eq!(
            socket_path(Path::new("deck.pid")),
            PathBuf::from("./deck.sock")
        );
    }
}
