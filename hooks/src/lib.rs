//! Hook scripts (issue: hooks). Knows nothing of drivers; XML is an opaque string here.
