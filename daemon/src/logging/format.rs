//! Text of log lines, in libvirt's layout so existing log readers (and
//! libvirt's own "is this a log line" check) keep working:
//!
//! `2026-11-25 00:50:36.623+0000: 21118: error : daemon::config:42 : message`
//!
//! timestamp (UTC, milliseconds), thread id, priority word, where the
//! message comes from (our tracing target and line instead of libvirt's
//! function and line), message.

use std::time::{SystemTime, UNIX_EPOCH};

use super::config::Priority;

/// First line every output receives, before its first message.
pub const VERSION_BANNER: &str = concat!(
    "libvirt version: 9.0.0, package: ",
    env!("CARGO_PKG_NAME"),
    " ",
    env!("CARGO_PKG_VERSION")
);

/// One message, formatted once and handed to every output.
#[derive(Debug, Clone)]
pub struct Record {
    pub priority: Priority,
    /// libvirt-style category (journald's `LIBVIRT_SOURCE`).
    pub category: String,
    /// Where the message comes from: `target:line`, or empty for the
    /// banner lines, which libvirt prints without a location.
    pub location: String,
    pub file: Option<String>,
    pub line: Option<u32>,
    pub target: String,
    pub message: String,
    pub timestamp: String,
    pub thread_id: u64,
}

impl Record {
    /// The line without the timestamp: what syslog receives.
    pub fn body(&self) -> String {
        let level = self.priority.name();
        if self.location.is_empty() {
            format!("{}: {level} : {}\n", self.thread_id, self.message)
        } else {
            format!(
                "{}: {level} : {} : {}\n",
                self.thread_id, self.location, self.message
            )
        }
    }

    /// The full line written to stderr and files.
    pub fn line_with_timestamp(&self) -> String {
        format!("{}: {}", self.timestamp, self.body())
    }

    /// An info line without location that shares this record's time and
    /// thread (the version and hostname banner).
    pub fn banner(&self, message: String) -> Record {
        Record {
            priority: Priority::Info,
            category: "util.log".into(),
            location: String::new(),
            file: None,
            line: None,
            target: "daemon::logging".into(),
            message,
            timestamp: self.timestamp.clone(),
            thread_id: self.thread_id,
        }
    }
}

/// The calling thread's kernel thread id, as libvirt prints it.
pub fn current_thread_id() -> u64 {
    u64::try_from(nix::unistd::gettid().as_raw()).unwrap_or_default()
}

/// `YYYY-MM-DD HH:MM:SS.mmm+0000` for now, in UTC.
pub fn timestamp_now() -> String {
    let since_epoch = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    format_timestamp(since_epoch.as_secs(), since_epoch.subsec_millis())
}

/// `YYYY-MM-DD HH:MM:SS.mmm+0000` for a UTC time given in seconds since
/// the epoch and milliseconds.
pub fn format_timestamp(seconds: u64, millis: u32) -> String {
    let days = seconds / 86_400;
    let in_day = seconds % 86_400;
    let (year, month, day) = civil_date(days);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02}.{millis:03}+0000",
        in_day / 3600,
        (in_day / 60) % 60,
        in_day % 60
    )
}

/// Gregorian date of a day count since 1970-01-01, by counting whole
/// 400-year eras (146097 days each) with years starting in March, so the
/// leap day falls at the end of the counted year.
fn civil_date(days_since_epoch: u64) -> (u64, u64, u64) {
    // Shift the origin to 0000-03-01, the start of an era.
    let days = days_since_epoch + 719_468;
    let era = days / 146_097;
    let day_of_era = days % 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_from_march = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_from_march + 2) / 5 + 1;
    let month = if month_from_march < 10 {
        month_from_march + 3
    } else {
        month_from_march - 9
    };
    let year = year_of_era + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

/// The host name for the banner line.
pub fn hostname() -> String {
    nix::unistd::gethostname()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_else(|_| "localhost".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_utc_with_milliseconds() {
        assert_eq!(format_timestamp(0, 0), "1970-01-01 00:00:00.000+0000");
        // 2000-02-29 12:34:56 UTC (a leap day of a century leap year).
        assert_eq!(
            format_timestamp(951_827_696, 7),
            "2000-02-29 12:34:56.007+0000"
        );
        // 2026-11-25 00:50:36.623 UTC.
        assert_eq!(
            format_timestamp(1_795_567_836, 623),
            "2026-11-25 00:50:36.623+0000"
        );
        // 2100-03-01 (2100 is not a leap year).
        assert_eq!(
            format_timestamp(4_107_542_400, 999),
            "2100-03-01 00:00:00.999+0000"
        );
    }

    #[test]
    fn lines_follow_libvirt_layout() {
        let record = Record {
            priority: Priority::Error,
            category: "daemon.libvirtd".into(),
            location: "libvirtd:918".into(),
            file: None,
            line: Some(918),
            target: "libvirtd".into(),
            message: "Can't load config file".into(),
            timestamp: "2026-11-25 00:50:36.623+0000".into(),
            thread_id: 21118,
        };
        assert_eq!(
            record.line_with_timestamp(),
            "2026-11-25 00:50:36.623+0000: 21118: error : libvirtd:918 : Can't load config file\n"
        );
        let banner = record.banner("hostname: vm".into());
        assert_eq!(
            banner.line_with_timestamp(),
            "2026-11-25 00:50:36.623+0000: 21118: info : hostname: vm\n"
        );
    }
}
