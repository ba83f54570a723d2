//! Logging: to stderr in the foreground, to a daily-rotated file headless,
//! and always into an in-memory ring buffer that the console's Logs view
//! shows. In console mode nothing goes to the terminal.

use std::collections::VecDeque;
use std::fmt::Write as _;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use skydeck_ui::model::{Level, LogLine};
use tracing::field::{Field, Visit};
use tracing::level_filters::LevelFilter;
use tracing::{Event, Subscriber};
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::Layer;

/// The last lines logged, for the console.
#[derive(Clone)]
pub struct LogBuffer {
    lines: Arc<Mutex<VecDeque<LogLine>>>,
    cap: usize,
}

impl LogBuffer {
    pub fn new(cap: usize) -> Self {
        LogBuffer {
            lines: Arc::new(Mutex::new(VecDeque::with_capacity(cap.min(1024)))),
            cap,
        }
    }

    pub fn push(&self, line: LogLine) {
        let mut l = self.lines.lock().unwrap_or_else(|p| p.into_inner());
        if l.len() == self.cap {
            l.pop_front();
        }
        l.push_back(line);
    }

    /// The newest `max` lines, oldest first.
    pub fn tail(&self, max: usize) -> Vec<LogLine> {
        let l = self.lines.lock().unwrap_or_else(|p| p.into_inner());
        l.iter()
            .skip(l.len().saturating_sub(max))
            .cloned()
            .collect()
    }
}

#[derive(Default)]
struct Collect {
    message: String,
    fields: String,
}

impl Visit for Collect {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.message, "{value:?}");
        } else {
            let _ = write!(self.fields, " {}={value:?}", field.name());
        }
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message.push_str(value);
        } else {
            let _ = write!(self.fields, " {}={value}", field.name());
        }
    }
}

impl<S: Subscriber> Layer<S> for LogBuffer {
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        let mut c = Collect::default();
        event.record(&mut c);
        let meta = event.metadata();
        let level = match *meta.level() {
            tracing::Level::TRACE => Level::Trace,
            tracing::Level::DEBUG => Level::Debug,
            tracing::Level::INFO => Level::Info,
            tracing::Level::WARN => Level::Warn,
            tracing::Level::ERROR => Level::Error,
        };
        self.push(LogLine {
            time: SystemTime::now(),
            level,
            target: meta.target().to_string(),
            message: format!("{}{}", c.message, c.fields),
        });
    }
}

/// Where log lines go besides the buffer.
pub enum Output<'a> {
    /// Standard error, and the file if given (foreground commands such as
    /// `skydeck pgqd`).
    Stderr(Option<&'a Path>),
    /// A daily-rotated file, nothing on the terminal.
    File(&'a Path),
    /// Only the buffer (and the file, if given): the console.
    Quiet(Option<&'a Path>),
}

/// Keeps the file writer flushing; drop it last.
pub struct LogGuard {
    _file: Option<tracing_appender::non_blocking::WorkerGuard>,
}

/// Install the global subscriber. `verbosity`: 0 info, 1 debug, 2+ trace;
/// negative: warnings only.
pub fn init(output: Output<'_>, verbosity: i32, buffer: &LogBuffer) -> std::io::Result<LogGuard> {
    let level = match verbosity {
        i32::MIN..=-1 => LevelFilter::WARN,
        0 => LevelFilter::INFO,
        1 => LevelFilter::DEBUG,
        _ => LevelFilter::TRACE,
    };
    let buffer_layer = buffer.clone().with_filter(LevelFilter::DEBUG.max(level));
    let (file_path, stderr) = match output {
        Output::Stderr(p) => (p, true),
        Output::File(p) => (Some(p), false),
        Output::Quiet(p) => (p, false),
    };
    let (file_layer, guard) = match file_path {
        Some(p) => {
            let dir = p
                .parent()
                .filter(|d| !d.as_os_str().is_empty())
                .unwrap_or(Path::new("."));
            std::fs::create_dir_all(dir)?;
            let prefix = p
                .file_name()
                .map(|f| f.to_string_lossy().into_owned())
                .unwrap_or_else(|| "skydeck.log".into());
            let appender = tracing_appender::rolling::Builder::new()
                .rotation(tracing_appender::rolling::Rotation::DAILY)
                .filename_prefix(prefix)
                .build(dir)
                .map_err(std::io::Error::other)?;
            let (writer, guard) = tracing_appender::non_blocking(appender);
            let layer = tracing_subscriber::fmt::layer()
                .with_writer(writer)
                .with_ansi(false)
                .with_filter(level);
            (Some(layer), Some(guard))
        }
        None => (None, None),
    };
    let stderr_layer = stderr.then(|| {
        tracing_subscriber::fmt::layer()
            .with_writer(std::io::stderr)
            .with_filter(level)
    });
    tracing_subscriber::registry()
        .with(buffer_layer)
        .with(file_layer)
        .with(stderr_layer)
        .try_init()
        .map_err(std::io::Error::other)?;
    Ok(LogGuard { _file: guard })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buffer_keeps_the_newest_lines() {
        let b = LogBuffer::new(3);
        for i in 0..5 {
            b.push(LogLine {
                time: SystemTime::UNIX_EPOCH,
                level: Level::Info,
                target: "t".into(),
                message: format!("m{i}"),
            });
        }
        let tail: Vec<String> = b.tail(10).into_iter().map(|l| l.message).collect();
        assert_eq!(tail, vec!["m2", "m3", "m4"]);
        assert_eq!(b.tail(1)[0].message, "m4");
    }

    #[test]
    fn layer_captures_message_and_fields() {
        let b = LogBuffer::new(10);
        let sub = tracing_subscriber::registry().with(b.clone());
        tracing::subscriber::with_default(sub, || {
            tracing::warn!(db = "app", "cannot connect: {}", "refused");
        });
        let l = &b.tail(1)[0];
        assert_eq!(l.level, Level::Warn);
        assert_eq!(l.message, "cannot connect: refused db=app");
    }
}
