package maildir

import "github.com/mailferry/mailferry/source"

func init() {
	source.Register(source.ArchiveKind{Name: "maildir", Open: func(o source.ArchiveOptions) (source.Source, error) {
		s, err := New(Options{Path: o.Path, IncludeDeleted: o.IncludeDeleted, Warn: o.Warn})
		if err != nil {
			return nil, err
		}
		return s, nil
	}})
}
