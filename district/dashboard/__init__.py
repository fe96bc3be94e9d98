"""The bureau dashboard (后勤 county pages): views, read-only queries, language and display rules."""
