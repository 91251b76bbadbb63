package job

import (
	"context"

	"github.com/mailferry/mailferry/state"
)

// readOnlyStore answers from the state file, if there is one, and writes
// nothing: what a dry run needs.
type readOnlyStore struct{ s *state.Store }

func (r readOnlyStore) Refs(source string, fn func(string, state.RefRecord) error) error {
	if r.s == nil {
		return nil
	}
	return r.s.Refs(source, fn)
}

func (r readOnlyStore) Lookup(key string) ([]state.KeyRecord, error) {
	if r.s == nil {
		return nil, nil
	}
	return r.s.Lookup(key)
}

func (r readOnlyStore) Pending() ([]state.KeyRecord, error) {
	if r.s == nil {
		return nil, nil
	}
	return r.s.Pending()
}

func (r readOnlyStore) Folder(name string) (state.FolderRecord, bool, error) {
	if r.s == nil {
		return state.FolderRecord{}, false, nil
	}
	return r.s.Folder(name)
}

func (readOnlyStore) BeginAll(context.Context, []state.KeyRecord) error { return nil }
func (readOnlyStore) CommitAll(context.Context, []state.CommitOp) error { return nil }
func (readOnlyStore) Commit(context.Context, state.KeyRecord, string, string, state.RefRecord) error {
	return nil
}
func (readOnlyStore) MarkRef(context.Context, string, string, state.RefRecord) error { return nil }
func (readOnlyStore) Forget(context.Context, state.KeyRecord) error                  { return nil }
func (readOnlyStore) SetFolder(context.Context, string, state.FolderRecord) error    { return nil }
func (readOnlyStore) AddRun(context.Context, state.Run) error                        { return nil }
