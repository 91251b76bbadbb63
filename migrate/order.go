package migrate

import "slices"

// readingOrder returns the sources in the order a run reads them:
// archives first, then servers, each in the order given. With dedup by
// account, a message the user filed in an archive folder and that the
// POP3 server still holds lands once, in the user's folder, not in the
// server's INBOX. specs is not changed.
func readingOrder(specs []SourceSpec) []SourceSpec {
	ordered := slices.Clone(specs)
	slices.SortStableFunc(ordered, func(a, b SourceSpec) int {
		switch {
		case a.Archive == b.Archive:
			return 0
		case a.Archive:
			return -1
		}
		return 1
	})
	return ordered
}

// inReadingOrder returns a copy of m whose Sources are in readingOrder:
// Run and Verify read them so, whatever order the job lists them in.
func (m *Migrator) inReadingOrder() *Migrator {
	c := *m
	c.Sources = readingOrder(m.Sources)
	return &c
}
