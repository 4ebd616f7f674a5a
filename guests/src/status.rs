//! `status` (the service's state, from the state files) and `gueststatus` (the
//! guests of every configured URI, as `virsh list` shows them).

use super::domains::{self, state_name};
use super::state_files::StateFiles;
use super::{say_line, Guests};

/// LSB status: 0 when started, 3 when stopped (with or without saved guests).
pub fn status(files: &StateFiles) -> i32 {
    if files.list_exists() {
        say_line("stopped, with saved guests");
        3
    } else if files.lock_exists() {
        say_line("started");
        0
    } else {
        say_line("stopped, with no saved guests");
        3
    }
}

impl Guests {
    pub fn gueststatus(&self) {
        for uri in self.settings.uris.clone() {
            say_line(&format!("* {uri} URI:"));
            match self.guest_table(&uri) {
                Ok(table) => {
                    let lines: Vec<&str> = table
                        .lines()
                        .filter(|line| !line.contains("Domain-0"))
                        .collect();
                    for line in &lines {
                        say_line(line);
                    }
                    if lines.is_empty() {
                        say_line("");
                    }
                }
                Err(e) => {
                    // As with libvirt's script, this shows the error but does not
                    // change the exit status.
                    eprintln!("error: {e}");
                    say_line("");
                }
            }
        }
    }

    fn guest_table(&self, uri: &str) -> Result<String, String> {
        let target = super::target::resolve(uri, &self.paths).map_err(|e| e.to_string())?;
        let mut client = super::connection::Client::open(&target).map_err(|e| e.to_string())?;
        let running = domains::list_running(&mut client, 0).map_err(|e| e.to_string())?;
        let mut rows = Vec::new();
        for dom in running {
            // A guest that stopped in between is simply not listed.
            if let Ok(state) = domains::state_of(&mut client, &dom) {
                rows.push([dom.id.to_string(), dom.name, state_name(state).to_string()]);
            }
        }
        Ok(format_table(&rows))
    }
}

/// The table `virsh list` prints: a header, a rule, one row per guest, a blank line.
pub fn format_table(rows: &[[String; 3]]) -> String {
    let header = ["Id".to_string(), "Name".to_string(), "State".to_string()];
    let mut widths = [0usize; 3];
    for row in std::iter::once(&header).chain(rows) {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let line = |row: &[String; 3]| {
        let mut text = String::new();
        for (i, cell) in row.iter().enumerate() {
            text.push_str(if i == 0 { " " } else { "   " });
            text.push_str(cell);
            if i + 1 < row.len() {
                let pad = widths[i] - cell.chars().count();
                text.push_str(&" ".repeat(pad));
            }
        }
        text.push('\n');
        text
    };
    let mut out = line(&header);
    out.push_str(&"-".repeat(widths.iter().sum::<usize>() + 3 * widths.len()));
    out.push('\n');
    for row in rows {
        out.push_str(&line(row));
    }
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_matches_virsh_list() {
        let rows = [
            ["1".to_string(), "test".to_string(), "running".to_string()],
            ["2".to_string(), "tr".to_string(), "running".to_string()],
        ];
        assert_eq!(
            format_table(&rows),
            " Id   Name   State\n----------------------\n 1    test   running\n 2    tr     running\n\n"
        );
        assert_eq!(
            format_table(&[]),
            " Id   Name   State\n--------------------\n\n"
        );
    }
}
