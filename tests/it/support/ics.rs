//! A small RFC 5545 reader for assertions: content lines, unfolded, by property name.

use std::collections::HashMap;

/// Property values by name (parameters dropped); also checks the CRLF line endings.
pub fn parse_ics(ics: &str) -> HashMap<String, Vec<String>> {
    assert!(
        !ics.replace("\r\n", "").contains('\n'),
        "ICS must use CRLF only"
    );
    let unfolded = ics.replace("\r\n ", "").replace("\r\n\t", "");
    let mut properties: HashMap<String, Vec<String>> = HashMap::new();
    for line in unfolded.split("\r\n").filter(|l| !l.is_empty()) {
        let (head, value) = line.split_once(':').expect("content line has a colon");
        let name = head.split(';').next().unwrap().to_owned();
        properties.entry(name).or_default().push(value.to_owned());
    }
    properties
}

/// The first value of a property; panics if it is missing.
pub fn ics_value<'a>(properties: &'a HashMap<String, Vec<String>>, name: &str) -> &'a str {
    &properties.get(name).unwrap_or_else(|| panic!("no {name}"))[0]
}
