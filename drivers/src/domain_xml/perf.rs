//! `<perf>`: the host perf events counted for a guest (`<event name='...'
//! enabled='yes|no'/>`), by libvirt's event names and written back in libvirt's
//! event order, one element per event that the definition mentions.

use super::{DomainDef, DomainXmlError, Element};

/// libvirt's perf event names (`virPerfEvent`), in its order.
pub const PERF_EVENTS: [&str; 22] = [
    "cmt",
    "mbmt",
    "mbml",
    "cpu_cycles",
    "instructions",
    "cache_references",
    "cache_misses",
    "branch_instructions",
    "branch_misses",
    "bus_cycles",
    "stalled_cycles_frontend",
    "stalled_cycles_backend",
    "ref_cpu_cycles",
    "cpu_clock",
    "task_clock",
    "page_faults",
    "context_switches",
    "cpu_migrations",
    "page_faults_min",
    "page_faults_maj",
    "alignment_faults",
    "emulation_faults",
];

/// Validates a parsed `<perf>` element and rewrites it the way libvirt formats it:
/// only `<event>` children, in libvirt's event order.
pub(super) fn normalise(perf: &mut Element) -> Result<(), DomainXmlError> {
    let mut states: [Option<bool>; PERF_EVENTS.len()] = [None; PERF_EVENTS.len()];
    for event in perf.children.iter().filter(|c| c.name == "event") {
        let name = required(event, "name")?;
        let index = PERF_EVENTS
            .iter()
            .position(|e| *e == name)
            .ok_or_else(|| invalid(event, "name", name))?;
        let enabled = match required(event, "enabled")? {
            "yes" => true,
            "no" => false,
            other => return Err(invalid(event, "enabled", other)),
        };
        if states[index].is_some() {
            return Err(DomainXmlError::DuplicatePerfEvent(name.to_string()));
        }
        states[index] = Some(enabled);
    }
    *perf = element_of(&states);
    Ok(())
}

fn required<'a>(event: &'a Element, attr: &str) -> Result<&'a str, DomainXmlError> {
    event.attr(attr).ok_or_else(|| DomainXmlError::MissingAttr {
        attr: attr.to_string(),
        element: event.name.clone(),
    })
}

fn invalid(event: &Element, attr: &str, value: &str) -> DomainXmlError {
    DomainXmlError::InvalidAttr {
        attr: attr.to_string(),
        element: event.name.clone(),
        value: value.to_string(),
    }
}

fn element_of(states: &[Option<bool>]) -> Element {
    let mut perf = Element::new("perf");
    for (name, state) in PERF_EVENTS.iter().zip(states) {
        if let Some(enabled) = state {
            perf.children.push(
                Element::new("event")
                    .with_attr("name", name)
                    .with_attr("enabled", if *enabled { "yes" } else { "no" }),
            );
        }
    }
    perf
}

impl DomainDef {
    /// The state the definition gives each perf event (`None`: not mentioned), in
    /// [`PERF_EVENTS`] order.
    pub fn perf_events(&self) -> [Option<bool>; PERF_EVENTS.len()] {
        let mut states = [None; PERF_EVENTS.len()];
        let Some(perf) = self.extra.iter().find(|e| e.name == "perf") else {
            return states;
        };
        for event in &perf.children {
            let index = PERF_EVENTS
                .iter()
                .position(|e| Some(*e) == event.attr("name"));
            if let Some(index) = index {
                states[index] = Some(event.attr("enabled") == Some("yes"));
            }
        }
        states
    }

    /// The perf events the definition enables.
    pub fn enabled_perf_events(&self) -> Vec<&'static str> {
        PERF_EVENTS
            .iter()
            .zip(self.perf_events())
            .filter(|(_, state)| *state == Some(true))
            .map(|(name, _)| *name)
            .collect()
    }

    /// Records `enabled` for the perf event `name` (one of [`PERF_EVENTS`]; others
    /// are ignored), keeping `<perf>` in libvirt's order.
    pub fn set_perf_event(&mut self, name: &str, enabled: bool) {
        let Some(index) = PERF_EVENTS.iter().position(|e| *e == name) else {
            return;
        };
        let mut states = self.perf_events();
        states[index] = Some(enabled);
        let perf = element_of(&states);
        match self.extra.iter_mut().find(|e| e.name == "perf") {
            Some(slot) => *slot = perf,
            None => self.extra.push(perf),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(name: &str, enabled: &str) -> Element {
        Element::new("event")
            .with_attr("name", name)
            .with_attr("enabled", enabled)
    }

    #[test]
    fn events_come_back_in_libvirts_order() {
        let mut perf = Element::new("perf")
            .with_child(event("task_clock", "no"))
            .with_child(Element::new("other"))
            .with_child(event("cmt", "yes"));
        normalise(&mut perf).unwrap();
        let names: Vec<_> = perf.children.iter().map(|c| c.attr("name")).collect();
        assert_eq!(names, [Some("cmt"), Some("task_clock")]);
    }

    #[test]
    fn unknown_names_duplicates_and_bad_states_are_refused() {
        let mut unknown = Element::new("perf").with_child(event("cycles", "yes"));
        assert_eq!(
            normalise(&mut unknown).unwrap_err().to_string(),
            "Invalid value for attribute 'name' in element 'event': 'cycles'."
        );
        let mut twice = Element::new("perf")
            .with_child(event("cpu_clock", "yes"))
            .with_child(event("cpu_clock", "no"));
        assert_eq!(
            normalise(&mut twice).unwrap_err().to_string(),
            "perf event 'cpu_clock' was already specified"
        );
        let mut state = Element::new("perf").with_child(event("cpu_clock", "on"));
        assert!(normalise(&mut state).is_err());
        let mut missing = Element::new("perf").with_child(Element::new("event"));
        assert_eq!(
            normalise(&mut missing).unwrap_err().to_string(),
            "Missing required attribute 'name' in element 'event'"
        );
    }
}
