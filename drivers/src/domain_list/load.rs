//! Reading a directory of domain definitions at start-up and on reload.

/// Reads every `*.xml` of `dir` in name order with `parse`. Broken files, and
/// files whose domain name differs from the file name, are reported and
/// skipped, as libvirt does, so one bad file does not hide the other domains.
pub fn load_definitions(
    dir: &std::path::Path,
    parse: impl Fn(&str) -> Result<crate::domain_xml::DomainDef, String>,
) -> (Vec<crate::domain_xml::DomainDef>, Vec<String>) {
    let mut loaded = Vec::new();
    let mut problems = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return (loaded, problems);
    };
    let mut files: Vec<std::path::PathBuf> = entries
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "xml") && p.is_file())
        .collect();
    files.sort();
    for file in files {
        let parsed = std::fs::read_to_string(&file)
            .map_err(|e| e.to_string())
            .and_then(|text| parse(&text));
        match parsed {
            Ok(def) => {
                let stem = file.file_stem().map(|s| s.to_string_lossy().into_owned());
                if stem.as_deref() != Some(def.name.as_str()) {
                    problems.push(format!(
                        "{}: domain name '{}' does not match the file name",
                        file.display(),
                        def.name
                    ));
                    continue;
                }
                loaded.push(def);
            }
            Err(e) => problems.push(format!("{}: {e}", file.display())),
        }
    }
    (loaded, problems)
}
