package migrate

import (
	"context"
	"errors"
	"fmt"
	"path"
	"strings"
	"sync"

	"github.com/mailferry/mailferry/target"
)

// Planning the target's folders: how the target names them (readLayout,
// once per run), which source folders are wanted (wanted), and under
// which name each source folder's messages land, created when missing
// (folderResolver, once per folder as its first message is read). The
// naming rules themselves are in folders.go.

// plan asks the target how it names folders, when it can say.
func (r *run) plan(ctx context.Context) error {
	layout, err := readLayout(ctx, r.m.Target)
	r.layout = layout
	return err
}

// readLayout returns how t names folders: "/"-separated when it cannot
// say.
func readLayout(ctx context.Context, t target.Target) (target.Layout, error) {
	def := target.Layout{Delimiter: "/"}
	l, ok := t.(target.Layouter)
	if !ok {
		return def, nil
	}
	layout, err := l.Layout(ctx)
	if err != nil {
		if ClassOf(err) == ClassTransient {
			return def, &ConnectError{What: "target", Err: err}
		}
		return def, err
	}
	return layout, nil
}

// wanted reports whether a source folder passes the spec's Include and
// Exclude patterns.
func wanted(spec *SourceSpec, folder string) bool {
	if len(spec.Include) > 0 && !matchAny(spec.Include, folder) {
		return false
	}
	return !matchAny(spec.Exclude, folder)
}

// matchAny reports whether folder or one of its parents matches a pattern.
func matchAny(patterns []string, folder string) bool {
	for f := folder; ; f = path.Dir(f) {
		for _, p := range patterns {
			if ok, _ := path.Match(strings.Trim(p, "/"), f); ok {
				return true
			}
		}
		if !strings.Contains(f, "/") {
			return false
		}
	}
}

// A FolderSubstitute is a folder that landed under another name than its
// own: because the target refused its own name (Cyrus refuses "%", '"' and
// "\\"; Dovecot storing Maildir++ refuses "."): see substituteName; or
// because the name holds the target's hierarchy delimiter, control
// characters or bytes that are not UTF-8: see ownName.
type FolderSubstitute struct {
	// Wanted is the name as the source has it, in the target's hierarchy.
	Wanted, Used string
	// Reason is the server's answer to creating the folder's own name, why
	// no server can hold it, or "" when the substitute was there already
	// (an earlier run chose it).
	Reason string
}

// A folderResolver decides, once per run and target folder, under which
// name a folder's messages land, and creates the folder before the first
// of them is appended: its own name when the target has it or creates it,
// else a substitute. It creates a folder it knows is missing rather than
// waiting for an APPEND answered [TRYCREATE], which some servers never
// send (Cyrus, for a name it finds invalid).
type folderResolver struct {
	t    target.Target
	opts *Options

	mu   sync.Mutex
	done map[string]resolution // by the folder's own name
	subs []FolderSubstitute
}

type resolution struct {
	name string
	err  error // the folder cannot be created: its messages fail with it
}

func newFolderResolver(t target.Target, opts *Options) *folderResolver {
	return &folderResolver{t: t, opts: opts, done: map[string]resolution{}}
}

// substitutes returns the folders that landed under a substitute name.
func (fr *folderResolver) substitutes() []FolderSubstitute {
	fr.mu.Lock()
	defer fr.mu.Unlock()
	return append([]FolderSubstitute(nil), fr.subs...)
}

// resolve returns the target folder of messages found at path p of a
// source whose top level lands in base, creating it when it is missing
// (not in a dry run). An error of ClassMessage means the folder cannot be
// created under any name: its messages fail with it, the run goes on.
// Other errors stop the run.
func (fr *folderResolver) resolve(ctx context.Context, fm *folderMapper, base, p string) (string, error) {
	fp := fm.plan(base, p)
	if fp.name != "" {
		return fp.name, nil
	}
	names := fm.candidates(fp)
	fr.mu.Lock()
	res, ok := fr.done[names[0]]
	fr.mu.Unlock()
	if ok {
		return res.name, res.err
	}
	res, sub, err := fr.choose(ctx, fm, fp, names)
	if err != nil {
		return "", err // not kept: a later message tries again
	}
	if wanted := fm.asIs(fp); res.err == nil && res.name != wanted {
		if sub == nil {
			sub = &FolderSubstitute{Used: res.name, Reason: unholdable(fp.parts, fm.layout.Delimiter)}
		}
		sub.Wanted = wanted
	}
	fr.mu.Lock()
	defer fr.mu.Unlock()
	fr.done[names[0]] = res
	if sub != nil {
		fr.subs = append(fr.subs, *sub)
	}
	return res.name, res.err
}

// unholdable says why a folder's own name cannot be a name on the target
// whatever the server accepts (see ownName).
func unholdable(parts []string, delim string) string {
	for _, p := range parts {
		if delim != "" && strings.Contains(p, delim) {
			return fmt.Sprintf("%q separates folder levels on the target", delim)
		}
	}
	return "control characters or bytes that are not UTF-8 cannot be in a folder name"
}

// known returns the name resolve chose for a folder whose own name is
// own, or own when it has not resolved it.
func (fr *folderResolver) known(own string) string {
	fr.mu.Lock()
	defer fr.mu.Unlock()
	if res, ok := fr.done[own]; ok && res.err == nil {
		return res.name
	}
	return own
}

// choose picks the folder's name among its candidates (own name,
// substitute, an earlier version's name): the first the target has; else
// its own name, created; else, when the server refuses that, the
// substitute, created. It returns the substitute used, if any.
func (fr *folderResolver) choose(ctx context.Context, fm *folderMapper, fp folderPlan, names []string) (resolution, *FolderSubstitute, error) {
	own := names[0]
	for _, n := range names {
		if fm.exists(n) {
			if n == own {
				return resolution{name: n}, nil, nil
			}
			return resolution{name: n}, &FolderSubstitute{Wanted: own, Used: n}, nil
		}
	}
	if fr.opts.DryRun {
		return resolution{name: own}, nil, nil
	}
	refused, err := fr.create(ctx, own, fp.use)
	if err != nil || refused == nil {
		return resolution{name: own}, nil, err
	}
	if inner := errors.Unwrap(refused); inner != nil {
		refused = inner // the server's answer, without the folder's name again
	}
	if len(names) > 1 {
		again, err := fr.create(ctx, names[1], fp.use)
		if err != nil {
			return resolution{}, nil, err
		}
		if again == nil {
			return resolution{name: names[1]}, &FolderSubstitute{Wanted: own, Used: names[1], Reason: refused.Error()}, nil
		}
	}
	return resolution{name: own, err: fmt.Errorf("%w %q: %w", ErrFolderRefused, own, refused)}, nil, nil
}

// create makes sure folder exists, retrying transient errors. It returns
// the server's refusal apart from errors that stop the run.
func (fr *folderResolver) create(ctx context.Context, folder, use string) (refused, err error) {
	err = fr.opts.retryTarget(ctx, fmt.Sprintf("create folder %q", folder), nil, func(bool) error {
		if uc, ok := fr.t.(target.UseCreator); ok && use != "" {
			return uc.EnsureFolderUse(ctx, folder, use)
		}
		return fr.t.EnsureFolder(ctx, folder)
	})
	if ClassOf(err) == ClassFatal {
		return err, nil // a NO or BAD: the server will not have that name
	}
	return nil, err
}
