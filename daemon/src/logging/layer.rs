//! The tracing layer that applies libvirt's log settings, and the handle
//! that changes them at run time (SIGHUP, `virt-admin daemon-log-*`).
//!
//! The decision "is this callsite wanted" depends only on the callsite's
//! target and level, so it is answered once per callsite through
//! `register_callsite` and cached by tracing; a disabled `debug!` then costs
//! a load and a branch. Changing the settings swaps the active state and
//! asks tracing to rebuild that cache.

use std::fmt::{self, Write as _};
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use tracing::field::{Field, Visit};
use tracing::level_filters::LevelFilter;
use tracing::span::{Attributes, Id};
use tracing::subscriber::Interest;
use tracing::{Event, Metadata, Subscriber};
use tracing_subscriber::layer::Context;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::Layer;

use super::category::{category_of, glob_matches};
use super::config::{parse_filters, parse_outputs, LogConfig, Output, Priority};
use super::format::{current_thread_id, timestamp_now, Record};
use super::journald::JOURNAL_SOCKET;
use super::sink::{Sink, SinkEnvironment};
use super::LogError;

/// Settings in force plus their opened outputs.
struct Active {
    config: LogConfig,
    /// Shared so that changing only the filters keeps the open outputs.
    sinks: Arc<Vec<Sink>>,
    /// Least verbose output priority: nothing below it is written anywhere.
    floor: Priority,
}

impl Active {
    fn new(config: LogConfig, sinks: Arc<Vec<Sink>>) -> Active {
        let floor = sinks
            .iter()
            .map(Sink::priority)
            .min()
            .unwrap_or(Priority::Error);
        Active {
            config,
            sinks,
            floor,
        }
    }

    /// Priority threshold for `target`: the first matching filter's, else
    /// the default level.
    fn threshold(&self, target: &str) -> Priority {
        if self.config.filters.is_empty() {
            return self.config.level;
        }
        let category = category_of(target);
        self.config
            .filters
            .iter()
            .find(|filter| {
                let glob = filter.glob();
                glob_matches(&glob, &category) || glob_matches(&glob, target)
            })
            .map_or(self.config.level, |filter| filter.priority)
    }

    fn wants(&self, metadata: &Metadata<'_>) -> bool {
        let priority = Priority::of_level(metadata.level());
        priority >= self.floor && priority >= self.threshold(metadata.target())
    }

    /// Most verbose level any callsite can be enabled at.
    fn level_hint(&self) -> LevelFilter {
        let loosest = self
            .config
            .filters
            .iter()
            .map(|filter| filter.priority)
            .fold(self.config.level, Priority::min);
        match loosest.max(self.floor) {
            Priority::Debug => LevelFilter::TRACE,
            Priority::Info => LevelFilter::INFO,
            Priority::Warning => LevelFilter::WARN,
            Priority::Error => LevelFilter::ERROR,
        }
    }
}

struct Shared {
    active: RwLock<Arc<Active>>,
    journal_socket: PathBuf,
}

impl Shared {
    fn current(&self) -> Arc<Active> {
        match self.active.read() {
            Ok(active) => Arc::clone(&active),
            Err(poisoned) => Arc::clone(&poisoned.into_inner()),
        }
    }

    fn replace(&self, active: Active) {
        let active = Arc::new(active);
        match self.active.write() {
            Ok(mut slot) => *slot = active,
            Err(poisoned) => *poisoned.into_inner() = active,
        }
        // Callsites cached as "never" may now be wanted, and back.
        tracing::callsite::rebuild_interest_cache();
    }

    fn open_sinks(
        &self,
        outputs: &[Output],
        create_directories: bool,
    ) -> Result<(Vec<Sink>, Vec<LogError>), LogError> {
        let environment = SinkEnvironment {
            journal_socket: &self.journal_socket,
            create_directories,
        };
        let mut sinks = Vec::with_capacity(outputs.len());
        let mut warnings = Vec::new();
        for output in outputs {
            let (sink, warning) = Sink::open(output, &environment)?;
            sinks.push(sink);
            warnings.extend(warning);
        }
        Ok((sinks, warnings))
    }
}

/// The layer to put on a tracing `Registry`.
pub struct LogLayer {
    shared: Arc<Shared>,
}

/// Changes the settings of an installed [`LogLayer`]; cheap to clone.
#[derive(Clone)]
pub struct LogHandle {
    shared: Arc<Shared>,
}

impl LogLayer {
    /// Opens the outputs of `config` and returns the layer, its handle and
    /// the problems met. When an output cannot be opened the default
    /// outputs are used, and stderr if even those fail, so the daemon never
    /// runs blind.
    pub fn new(config: LogConfig) -> (LogLayer, LogHandle, Vec<LogError>) {
        Self::with_journal_socket(config, Path::new(JOURNAL_SOCKET))
    }

    /// As [`LogLayer::new`], with journald expected at `journal_socket`.
    pub fn with_journal_socket(
        mut config: LogConfig,
        journal_socket: &Path,
    ) -> (LogLayer, LogHandle, Vec<LogError>) {
        let placeholder = Active::new(config.clone(), Arc::new(Vec::new()));
        let shared = Arc::new(Shared {
            active: RwLock::new(Arc::new(placeholder)),
            journal_socket: journal_socket.to_path_buf(),
        });
        let mut problems = Vec::new();
        let uses_defaults = config.outputs == config.default_outputs;
        let sinks = match shared.open_sinks(&config.outputs, uses_defaults) {
            Ok((sinks, warnings)) => {
                problems.extend(warnings);
                sinks
            }
            Err(err) => {
                problems.push(err);
                config.outputs = config.default_outputs.clone();
                match shared.open_sinks(&config.outputs, true) {
                    Ok((sinks, warnings)) => {
                        problems.extend(warnings);
                        sinks
                    }
                    Err(err) => {
                        problems.push(err);
                        config.outputs = vec![Output {
                            priority: config.level,
                            destination: super::Destination::Stderr,
                        }];
                        let fallback = shared.open_sinks(&config.outputs, false);
                        fallback.map(|(sinks, _)| sinks).unwrap_or_default()
                    }
                }
            }
        };
        shared.replace(Active::new(config, Arc::new(sinks)));
        let handle = LogHandle {
            shared: Arc::clone(&shared),
        };
        (LogLayer { shared }, handle, problems)
    }
}

impl LogHandle {
    /// Replaces every setting (SIGHUP). Outputs are reopened, which also
    /// lets rotated log files be recreated. On error nothing changes.
    pub fn reload(&self, config: LogConfig) -> Result<(), LogError> {
        let create_directories = config.outputs == config.default_outputs;
        let (sinks, warnings) = self
            .shared
            .open_sinks(&config.outputs, create_directories)?;
        self.shared.replace(Active::new(config, Arc::new(sinks)));
        for warning in warnings {
            tracing::warn!(target: "daemon::logging", "{warning}");
        }
        Ok(())
    }

    /// `virt-admin daemon-log-filters --filters TEXT`: an empty text
    /// removes every filter. Outputs stay open.
    pub fn set_filters(&self, text: &str) -> Result<(), LogError> {
        let filters = parse_filters(text)?;
        let current = self.shared.current();
        let mut config = current.config.clone();
        config.filters = filters;
        self.shared
            .replace(Active::new(config, Arc::clone(&current.sinks)));
        Ok(())
    }

    /// `virt-admin daemon-log-outputs --outputs TEXT`: an empty text
    /// restores the daemon's default outputs.
    pub fn set_outputs(&self, text: &str) -> Result<(), LogError> {
        let mut config = self.shared.current().config.clone();
        let outputs = parse_outputs(text)?;
        config.outputs = if outputs.is_empty() {
            config.default_outputs.clone()
        } else {
            outputs
        };
        self.reload(config)
    }

    /// Current filters in `virt-admin daemon-log-filters` form.
    pub fn filters_string(&self) -> String {
        self.shared.current().config.filters_string()
    }

    /// Current outputs in `virt-admin daemon-log-outputs` form.
    pub fn outputs_string(&self) -> String {
        self.shared.current().config.outputs_string()
    }

    /// The settings in force.
    pub fn config(&self) -> LogConfig {
        self.shared.current().config.clone()
    }
}

/// The fields of an open span (a client, a call), added to every message
/// logged inside it.
struct SpanFields(String);

impl<S: Subscriber + for<'a> LookupSpan<'a>> Layer<S> for LogLayer {
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, context: Context<'_, S>) {
        let Some(span) = context.span(id) else {
            return;
        };
        let mut text = MessageText::default();
        attrs.record(&mut text);
        span.extensions_mut().insert(SpanFields(text.finish()));
    }

    fn register_callsite(&self, metadata: &'static Metadata<'static>) -> Interest {
        if self.shared.current().wants(metadata) {
            Interest::always()
        } else {
            Interest::never()
        }
    }

    fn enabled(&self, metadata: &Metadata<'_>, _context: Context<'_, S>) -> bool {
        self.shared.current().wants(metadata)
    }

    fn max_level_hint(&self) -> Option<LevelFilter> {
        Some(self.shared.current().level_hint())
    }

    fn on_event(&self, event: &Event<'_>, context: Context<'_, S>) {
        let active = self.shared.current();
        let metadata = event.metadata();
        if !active.wants(metadata) {
            return;
        }
        let mut text = MessageText::default();
        event.record(&mut text);
        if let Some(scope) = context.event_scope(event) {
            for span in scope.from_root() {
                if let Some(fields) = span.extensions().get::<SpanFields>() {
                    let _ = write!(text.extra, " [{}{}]", span.name(), fields.0);
                }
            }
        }
        let target = metadata.target();
        let location = match metadata.line() {
            Some(line) => format!("{target}:{line}"),
            None => target.to_string(),
        };
        let record = Record {
            priority: Priority::of_level(metadata.level()),
            category: category_of(target),
            location,
            file: metadata.file().map(str::to_string),
            line: metadata.line(),
            target: target.to_string(),
            message: text.finish(),
            timestamp: timestamp_now(),
            thread_id: current_thread_id(),
        };
        for sink in active.sinks.iter() {
            sink.write(&record);
        }
    }
}

/// Collects the `message` field followed by the other fields as
/// ` key=value`.
#[derive(Default)]
struct MessageText {
    message: String,
    extra: String,
}

impl MessageText {
    fn finish(mut self) -> String {
        self.message.push_str(&self.extra);
        self.message
    }
}

impl Visit for MessageText {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message.push_str(value);
        } else {
            let _ = write!(self.extra, " {}={value}", field.name());
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.message, "{value:?}");
        } else {
            let _ = write!(self.extra, " {}={value:?}", field.name());
        }
    }
}
