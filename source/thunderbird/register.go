package thunderbird

import "github.com/mailferry/mailferry/source"

func init() {
	source.Register(source.ArchiveKind{Name: "thunderbird", MergesAccounts: true,
		Open: func(o source.ArchiveOptions) (source.Source, error) {
			s, err := New(Options{Path: o.Path, IncludeDeleted: o.IncludeDeleted, MergeAccounts: o.MergeAccounts, Warn: o.Warn})
			if err != nil {
				return nil, err
			}
			return s, nil
		}})
}
