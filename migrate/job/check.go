package job

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"slices"
	"sort"

	"github.com/mailferry/mailferry/migrate"
	"github.com/mailferry/mailferry/source"
	"github.com/mailferry/mailferry/source/pop3"
	"github.com/mailferry/mailferry/target"
	"github.com/mailferry/mailferry/target/imap"
)

// A CheckReport is what Check found on each server of a job: how it is
// reached, what it announces, what the sources hold and where it would
// land. Check writes nothing, anywhere.
type CheckReport struct {
	Target  ServerCheck
	Sources []SourceCheck
	// Layout is the target's folder layout; nil when the target could not
	// be reached.
	Layout *target.Layout
}

// A ServerCheck is one server (or archive) as Check found it.
type ServerCheck struct {
	// Name is the server as logs and the state name it (no password), or
	// "kind:PATH" for an archive.
	Name string
	// Security is how the connection is protected: "implicit TLS",
	// "STARTTLS" (STLS on POP3) or "none"; "" for an archive.
	Security string
	// TLS is the TLS connection's state; nil without TLS or when the
	// server could not be reached.
	TLS *tls.ConnectionState
	// Caps are the capabilities announced after login, sorted (IMAP) or
	// as sent (POP3 CAPA).
	Caps []string
	// Err is why the server could not be reached or logged in to, or the
	// archive not read.
	Err error
}

// A SourceCheck is one source as Check found it.
type SourceCheck struct {
	ServerCheck
	Archive bool
	// UTF8 says that a POP3 server accepted UTF8 (RFC 6856).
	UTF8 bool
	// Messages and Bytes are what the source holds: STAT on POP3, the
	// listing's sizes (exact or estimated) in an archive.
	Messages int
	Bytes    int64
	// Folders are the source's folders, in the order first listed, with
	// where they would land (planned only when Layout is known).
	Folders []FolderCount
}

// A FolderCount is one source folder, what it holds and where it lands.
type FolderCount struct {
	// Source is the folder in the source, "/"-separated, "" for the top
	// level (a POP3 maildrop, a one-file mbox).
	Source string
	migrate.PlannedFolder
	Messages int
	Bytes    int64
}

// Failed returns the first server error of the report, nil if none.
func (r *CheckReport) Failed() error {
	if r.Target.Err != nil {
		return r.Target.Err
	}
	for _, s := range r.Sources {
		if s.Err != nil {
			return s.Err
		}
	}
	return nil
}

// Check connects and logs in to every server of c (each POP3 source and
// the target, one connection each), opens and lists each archive, reads
// the target's folder layout and plans where each source folder lands. It
// reads no message and writes nothing; the state is not opened.
//
// An invalid c is a *ConfigError, returned with a nil report, as is an
// archive that cannot be read as its kind. Otherwise every server is
// tried: the report says what each answered, and the error is the first
// server's failure (of class migrate.ClassConnect for a server that
// cannot be reached or refuses the login), nil when all answered.
func Check(ctx context.Context, c Config, log *slog.Logger) (*CheckReport, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	specs, err := sourceSpecs(ctx, c.Sources, log)
	if err != nil {
		return nil, err
	}
	rep := &CheckReport{}
	tc := c.Target
	tc.Connections = 1
	rep.Target = checkTarget(ctx, &tc, log, rep)
	for i := range specs {
		sc := checkSource(ctx, &c.Sources[i], &specs[i])
		if rep.Layout != nil && sc.Err == nil {
			p := migrate.NewFolderPlanner(*rep.Layout, &specs[i])
			for j := range sc.Folders {
				sc.Folders[j].PlannedFolder = p.Plan(sc.Folders[j].Source)
			}
		}
		rep.Sources = append(rep.Sources, sc)
	}
	if err := ctx.Err(); err != nil {
		return rep, err
	}
	return rep, rep.Failed()
}

// checkTarget logs in to the target and reads its layout into rep.
func checkTarget(ctx context.Context, e *Server, log *slog.Logger, rep *CheckReport) ServerCheck {
	srv, _ := e.Parse("imap") // Validate checked it
	sc := ServerCheck{Name: srv.Name(), Security: security(srv, "STARTTLS")}
	t, err := openTarget(ctx, e, log)
	if err != nil {
		sc.Err = err
		return sc
	}
	defer t.Close()
	sc.Caps = capNames(t)
	if st, ok := t.TLSState(); ok {
		sc.TLS = &st
	}
	layout, err := migrate.ReadLayout(ctx, t)
	if err != nil {
		sc.Err = &migrate.ConnectError{What: "target " + srv.Name(), Err: err}
		return sc
	}
	rep.Layout = &layout
	return sc
}

func capNames(t *imap.Target) []string {
	var caps []string
	for c := range t.Caps() {
		caps = append(caps, string(c))
	}
	sort.Strings(caps)
	return caps
}

// security says how a server's connection is protected.
func security(a Addr, starttls string) string {
	switch {
	case a.Plain:
		return "none"
	case a.Implicit:
		return "implicit TLS"
	}
	return starttls
}

// checkSource opens one source and counts what it holds.
func checkSource(ctx context.Context, s *Source, spec *migrate.SourceSpec) SourceCheck {
	sc := SourceCheck{ServerCheck: ServerCheck{Name: spec.Name}, Archive: spec.Archive}
	if !spec.Archive {
		srv, _ := s.Parse("pop3")
		sc.Security = security(srv, "STLS")
	}
	src, err := spec.Open(ctx)
	if err != nil {
		if !spec.Archive {
			err = &migrate.ConnectError{What: "source " + spec.Name, Err: err}
		}
		sc.Err = err
		return sc
	}
	defer src.Close()
	if p, ok := src.(*pop3.Source); ok {
		sc.Caps = p.Capabilities()
		sc.UTF8 = p.UTF8Enabled()
		if st, ok := p.TLSState(); ok {
			sc.TLS = &st
		}
		sc.Messages, sc.Bytes, err = p.Stat(ctx)
		if err != nil {
			sc.Err = &migrate.ConnectError{What: "source " + spec.Name, Err: err}
			return sc
		}
		sc.Folders = []FolderCount{{Source: "", Messages: sc.Messages, Bytes: sc.Bytes}}
		return sc
	}
	sc.Folders, err = countFolders(ctx, src)
	if err != nil {
		sc.Err = fmt.Errorf("list %s: %w", spec.Name, err)
		return sc
	}
	for _, f := range sc.Folders {
		sc.Messages += f.Messages
		sc.Bytes += f.Bytes
	}
	return sc
}

// countFolders lists src and counts its messages per folder, in the
// order the folders are first listed.
func countFolders(ctx context.Context, src source.Source) ([]FolderCount, error) {
	var out []FolderCount
	at := map[string]int{}
	seen := map[string]bool{}
	err := src.List(ctx, func(ref source.Ref) error {
		if seen[ref.ID] {
			return nil
		}
		seen[ref.ID] = true
		i, ok := at[ref.Folder]
		if !ok {
			i = len(out)
			at[ref.Folder] = i
			out = append(out, FolderCount{Source: ref.Folder})
		}
		out[i].Messages++
		out[i].Bytes += ref.ApproxSize()
		return nil
	})
	return slices.Clip(out), err
}
