package migrate

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"slices"
	"strings"
	"time"
	"unicode"

	"golang.org/x/sync/errgroup"

	"github.com/mailferry/mailferry/migrate/identity"
	"github.com/mailferry/mailferry/source"
	"github.com/mailferry/mailferry/state"
	"github.com/mailferry/mailferry/target"
)

// A VerifyReport compares the sources of a job with its target.
type VerifyReport struct {
	Start, End time.Time
	// Folders has one line per target folder that source messages map
	// to, by name.
	Folders []FolderCheck
	// Missing lists the source messages not in the target, in source
	// order; Differs those whose Message-ID is in their folder but only
	// with another body (altered, or a different message reusing the ID).
	Missing, Differs []VerifyItem
	// Altered lists the source messages that are in the target, found by
	// their identity, but not byte for byte: the server changed them as
	// it stored them (Cyrus's munge8bit: 8-bit header bytes stored as
	// 'X'), or the copy there has other header fields. UID names the
	// copy, Reason says how it differs (see AlteredMunged).
	Altered []VerifyItem
	// Unreadable lists the source messages that could not be read, so
	// could not be compared; Reason says why.
	Unreadable []VerifyItem
	// Extra lists the target messages that no source message accounts
	// for, in the folders of Folders: mail that was there before, or a
	// second copy.
	Extra []VerifyItem
	// Listed is the number of source messages read; Vanished those that
	// went from the source between its listing and their reading.
	Listed, Vanished int
	// Elsewhere is the number of present messages found in another folder
	// than their own: duplicates that dedup: account filed once.
	Elsewhere int
}

// OK reports whether every readable source message is in the target
// byte for byte and every source message could be read.
func (r *VerifyReport) OK() bool {
	return r.Complete() && len(r.Altered) == 0
}

// Complete reports whether every source message could be read and is in
// the target, byte for byte or as Altered lists it.
func (r *VerifyReport) Complete() bool {
	return len(r.Missing) == 0 && len(r.Differs) == 0 && len(r.Unreadable) == 0
}

// Reasons of VerifyReport.Altered.
const (
	// AlteredMunged: the copy is the source message with each 8-bit
	// header byte replaced by 'X', as Cyrus IMAP stores mail with its
	// default "munge8bit: yes".
	AlteredMunged = "8-bit header bytes replaced with 'X' by the server (Cyrus munge8bit)"
	// AlteredMungedHeader: as AlteredMunged, and the header differs
	// otherwise too.
	AlteredMungedHeader = "8-bit header bytes replaced with 'X' (Cyrus munge8bit), and other header bytes differ"
	// AlteredHeader: same body (and Message-ID), other header bytes: a
	// copy that was in the target before, or one the server changed.
	AlteredHeader = "the header differs from the source's, the body is the same"
)

// A FolderCheck is what verify found for one target folder.
type FolderCheck struct {
	Folder string
	// Expected is the number of source messages that map to the folder.
	Expected int
	// Present (byte for byte), Altered, Missing and Differs split
	// Expected; Present counts the duplicates found in another folder
	// (Elsewhere) too, whose copy is another source message's: by
	// identity, it may differ in its header.
	Present, Altered, Missing, Differs, Elsewhere int
	// Extra is the number of target messages no source message matched.
	Extra int
}

// A VerifyItem names one message of a VerifyReport: a source message
// (Source, RefID) or a target message (UID).
type VerifyItem struct {
	Source, RefID string
	Folder        string // the target folder
	UID           uint32 // target messages, and the copy of an Altered one
	Key           string // "<message-id>" or "sha256:..."; "" when unknown
	Subject       string // decoded, shortened; "" when unknown
	Size          int64
	Reason        string // Unreadable and Altered only
}

// sourceMessage is one source message as verify read it.
type sourceMessage struct {
	source  string
	ref     source.Ref
	folder  string
	id      identity.ID
	subject string
}

func (m *sourceMessage) item() VerifyItem {
	return VerifyItem{Source: m.source, RefID: m.ref.ID, Folder: m.folder, Key: m.id.Key,
		Subject: m.subject, Size: m.id.Size}
}

// An identityGroup is the source messages of one folder with one
// identity: on the target they are one message (dedup account or folder)
// or as many copies (dedup off).
type identityGroup struct {
	folder string
	id     identity.ID
	msgs   []*sourceMessage
	found  []uint32 // UIDs in folder of a byte-for-byte copy
	idSeen bool     // the folder holds the Message-ID (with any body)
	// altered are the UIDs in folder of copies that are not byte for
	// byte (see VerifyReport.Altered), with why.
	altered []uint32
	why     map[uint32]string
	// elsewhere is the folder where a duplicate was found instead, and
	// its UID there.
	elsewhere    string
	elsewhereUID uint32
}

// serverOnly is a Store that knows of no compared folder, so that the
// index cache always reads the target: verify trusts no earlier run.
type serverOnly struct{ Store }

func (serverOnly) Folder(string) (state.FolderRecord, bool, error) {
	return state.FolderRecord{}, false, nil
}

// verifier is the state of one Migrator.Verify.
type verifier struct {
	m     *Migrator
	opts  Options
	index *indexCache
	msgs  []*sourceMessage
	rep   VerifyReport
}

// Verify compares the sources with the target without writing anything:
// it reads every source message (the sources are only listed and read),
// maps it to its target folder as Run would, and looks for it there by
// its identity, reading each folder's index once (EXAMINE, no flag
// changed) and fetching a target message only when its Message-ID, or
// for a message without one its size, matches. The state is only read,
// to find the folder where dedup: account filed a duplicate. A message
// deleted from a source is not listed, so not expected.
//
// The error is what stopped the comparison (connect, interrupted);
// differences are in the report.
func (m *Migrator) Verify(ctx context.Context) (*VerifyReport, error) {
	m = m.inReadingOrder()
	v := &verifier{m: m, opts: m.Options}
	v.opts.applyDefaults()
	v.rep.Start = time.Now()
	v.index = newIndexCache(m.Target, serverOnly{m.State})
	v.index.full = true
	err := v.run(ctx)
	v.rep.End = time.Now()
	return &v.rep, err
}

func (v *verifier) run(ctx context.Context) error {
	layout, err := readLayout(ctx, v.m.Target)
	if err != nil {
		return err
	}
	for i := range v.m.Sources {
		if err := v.readSource(ctx, &v.m.Sources[i], &folderMapper{layout: layout, maps: v.m.Sources[i].FolderMap}); err != nil {
			return err
		}
	}
	groups, order := v.group()
	if err := v.match(ctx, order, groups); err != nil {
		return targetErr(err)
	}
	if v.opts.Dedup == DedupAccount {
		if err := v.matchElsewhere(ctx, order, groups); err != nil {
			return targetErr(err)
		}
	}
	return targetErr(v.tally(ctx, order, groups))
}

// targetErr makes a transient target error that the target's own retries
// did not cure a connect error: verify has no later run to resume in.
func targetErr(err error) error {
	if ClassOf(err) == ClassTransient {
		return &ConnectError{What: "target", Err: err}
	}
	return err
}

// readSource reads every wanted message of spec and records its identity.
func (v *verifier) readSource(ctx context.Context, spec *SourceSpec, fm *folderMapper) error {
	// A message the source's filter leaves out is not expected in the
	// target.
	w := &walker{opts: &v.opts, spec: spec,
		drop: func(ref source.Ref) bool { return spec.Filter.refuses(ref.Date, ref.Size) != "" },
		listed: func(refs []source.Ref, _, _ int) {
			v.opts.Logger.Info("verify: reading source", "source", spec.Name, "messages", len(refs))
		},
		take: func(_ context.Context, ref source.Ref, body io.Reader) error {
			h, head := identity.NewFull(), &headCapture{}
			size, err := io.Copy(io.MultiWriter(h, head), body)
			if err != nil {
				return fmt.Errorf("read %s message %s: %w", spec.Name, ref.ID, err)
			}
			if !spec.Filter.IsZero() {
				date := ref.Date
				if date.IsZero() {
					date = h.Sum().Date
				}
				if spec.Filter.refuses(date, size) != "" {
					return nil
				}
			}
			v.msgs = append(v.msgs, &sourceMessage{source: spec.Name, ref: ref, folder: fm.mapFolder(spec.Folder, ref.Folder),
				id: h.Sum(), subject: head.subject()})
			return nil
		},
		lost: func(ref source.Ref, _ EventKind, err error) { v.unreadable(spec, fm, ref, err) },
		retry: func(err error) {
			v.opts.Logger.Warn("verify: source error, reconnecting", "source", spec.Name, "error", err)
		}}
	return w.walk(ctx)
}

// unreadable records a source message that could not be read: gone
// (vanished, not expected) or unreadable (reported).
func (v *verifier) unreadable(spec *SourceSpec, fm *folderMapper, ref source.Ref, err error) {
	if errors.Is(err, source.ErrNotFound) {
		v.rep.Vanished++
		return
	}
	v.rep.Unreadable = append(v.rep.Unreadable, VerifyItem{Source: spec.Name, RefID: ref.ID,
		Folder: fm.mapFolder(spec.Folder, ref.Folder), Size: ref.Size, Reason: err.Error()})
}

// identityKey is a message's identity, as a map key.
type identityKey struct{ key, bodyHash string }

// groupKey names an identityGroup.
type groupKey struct {
	folder string
	id     identityKey
}

// group gathers the source messages by target folder and identity, in
// source order.
func (v *verifier) group() (map[groupKey]*identityGroup, []groupKey) {
	v.rep.Listed = len(v.msgs)
	groups := map[groupKey]*identityGroup{}
	var order []groupKey
	for _, m := range v.msgs {
		k := groupKey{m.folder, identityKey{m.id.Key, m.id.BodyHash}}
		g, ok := groups[k]
		if !ok {
			g = &identityGroup{folder: m.folder, id: m.id}
			groups[k] = g
			order = append(order, k)
		}
		g.msgs = append(g.msgs, m)
	}
	return groups, order
}

// A folderMatch is what find found of a group in one folder.
type folderMatch struct {
	exact   []uint32 // byte-for-byte copies
	altered []uint32 // copies found by identity or munged form, not byte for byte
	why     map[uint32]string
	idSeen  bool // the folder holds the Message-ID (with any body)
}

// find looks in folder for the messages of g: by identity, then by the
// identity of their munged form (see identity.ID.Munged), and compares
// each copy whole with g's messages.
func (v *verifier) find(ctx context.Context, folder string, g *identityGroup) (folderMatch, error) {
	var out folderMatch
	fi, err := v.index.folder(ctx, folder, false)
	if err != nil {
		return out, err
	}
	id := g.id
	uids := candidates(fi, id.MessageID, id.Key, id.ServerSize)
	out.idSeen = id.MessageID != "" && len(uids) > 0
	if id.Munged.Key != "" {
		more := candidates(fi, id.Munged.MessageID, id.Munged.Key, id.ServerSize)
		out.idSeen = out.idSeen || id.Munged.MessageID != "" && len(more) > 0
		for _, uid := range more {
			if !slices.Contains(uids, uid) {
				uids = append(uids, uid)
			}
		}
	}
	for _, uid := range uids {
		got, err := v.index.identity(ctx, folder, uid)
		if errors.Is(err, target.ErrNotFound) {
			continue // expunged meanwhile
		}
		if err != nil {
			return out, err
		}
		switch why, ok := g.compare(got); {
		case !ok:
		case why == "":
			out.exact = append(out.exact, uid)
		default:
			out.altered = append(out.altered, uid)
			if out.why == nil {
				out.why = map[uint32]string{}
			}
			out.why[uid] = why
		}
	}
	return out, nil
}

// compare tells whether a target message is a copy of g's messages: ok,
// and "" when it is one of them byte for byte, else how it is altered.
func (g *identityGroup) compare(got identity.ID) (why string, ok bool) {
	byID, munged := same(got, g.id), sameMunged(got, g.id)
	if !byID && !munged {
		return "", false
	}
	for _, m := range g.msgs {
		if m.id.Full == got.Full {
			return "", true
		}
	}
	for _, m := range g.msgs {
		if m.id.Munged.Key != "" && m.id.Munged.Full == got.Full {
			return AlteredMunged, true
		}
	}
	if munged {
		return AlteredMungedHeader, true
	}
	return AlteredHeader, true
}

// parallel runs fn for each group, as many at once as the target takes.
func (v *verifier) parallel(ctx context.Context, gs []*identityGroup, fn func(context.Context, *identityGroup) error) error {
	eg, ectx := errgroup.WithContext(ctx)
	eg.SetLimit(v.opts.Uploaders)
	for _, g := range gs {
		eg.Go(func() error { return fn(ectx, g) })
	}
	return eg.Wait()
}

// match looks for each group in its own folder. Each folder is indexed
// once, before its messages are compared.
func (v *verifier) match(ctx context.Context, order []groupKey, groups map[groupKey]*identityGroup) error {
	var gs []*identityGroup
	for _, k := range order {
		gs = append(gs, groups[k])
	}
	for _, f := range v.foldersOf(gs) {
		if _, err := v.index.folder(ctx, f, false); err != nil {
			return err
		}
	}
	return v.parallel(ctx, gs, func(ctx context.Context, g *identityGroup) error {
		f, err := v.find(ctx, g.folder, g)
		g.found, g.altered, g.why, g.idSeen = f.exact, f.altered, f.why, f.idSeen
		return err
	})
}

// matchElsewhere looks for the groups not found in their folder where
// dedup: account put their copy: the folder of the first source message
// with the same identity (the copy this run would have appended), or a
// folder where the state records a committed copy.
func (v *verifier) matchElsewhere(ctx context.Context, order []groupKey, groups map[groupKey]*identityGroup) error {
	first := map[identityKey]string{} // folder of the first source message
	for _, m := range v.msgs {
		k := identityKey{m.id.Key, m.id.BodyHash}
		if _, ok := first[k]; !ok {
			first[k] = m.folder
		}
	}
	var todo []*identityGroup
	for _, k := range order {
		if g := groups[k]; len(g.found) == 0 && len(g.altered) == 0 {
			todo = append(todo, g)
		}
	}
	return v.parallel(ctx, todo, func(ctx context.Context, g *identityGroup) error {
		where, err := v.whereElse(g, first[identityKey{g.id.Key, g.id.BodyHash}])
		if err != nil {
			return err
		}
		for _, f := range where {
			if f == g.folder {
				continue
			}
			found, err := v.find(ctx, f, g)
			if err != nil {
				return err
			}
			// The copy there is another source message's (the one
			// dedup: account filed), which may differ from this one in
			// its header: that one's check says whether it is altered.
			if copies := append(found.exact, found.altered...); len(copies) > 0 {
				g.elsewhere, g.elsewhereUID = f, copies[0]
				return nil
			}
		}
		return nil
	})
}

// whereElse returns the folders where dedup: account may have put g's
// copy: first, the folder of the first source message with g's identity,
// then those where the state records a committed copy.
func (v *verifier) whereElse(g *identityGroup, first string) ([]string, error) {
	where := []string{first}
	if v.m.State == nil {
		return where, nil
	}
	recs, err := v.m.State.Lookup(g.id.Key)
	if err != nil {
		return nil, err // names the state
	}
	for _, rec := range recs {
		if !rec.Pending && rec.BodyHash == g.id.BodyHash && rec.RefTag == "" && !slices.Contains(where, rec.Folder) {
			where = append(where, rec.Folder)
		}
	}
	return where, nil
}

func (v *verifier) foldersOf(gs []*identityGroup) []string {
	var fs []string
	seen := map[string]bool{}
	for _, g := range gs {
		if !seen[g.folder] {
			seen[g.folder] = true
			fs = append(fs, g.folder)
		}
	}
	return fs
}

// tally fills the report: per folder, the groups' messages split into
// present, missing and differing, and the folder's other messages extra.
func (v *verifier) tally(ctx context.Context, order []groupKey, groups map[groupKey]*identityGroup) error {
	checks := map[string]*FolderCheck{}
	matched := map[string]map[uint32]bool{} // folder -> UIDs a source message accounts for
	mark := func(f string, uid uint32) {
		if matched[f] == nil {
			matched[f] = map[uint32]bool{}
		}
		matched[f][uid] = true
	}
	var gs []*identityGroup
	for _, k := range order {
		gs = append(gs, groups[k])
	}
	for _, g := range gs {
		fc := checks[g.folder]
		if fc == nil {
			fc = &FolderCheck{Folder: g.folder}
			checks[g.folder] = fc
		}
		fc.Expected += len(g.msgs)
		v.tallyGroup(g, fc, mark, func(uid uint32) bool { return matched[g.folder][uid] })
	}
	altered := alteredKeys(gs)
	for _, f := range v.foldersOf(gs) {
		n, err := v.tallyExtra(ctx, f, matched[f], altered)
		if err != nil {
			return err
		}
		checks[f].Extra = n
	}
	for _, fc := range checks {
		v.rep.Folders = append(v.rep.Folders, *fc)
	}
	slices.SortFunc(v.rep.Folders, func(a, b FolderCheck) int { return strings.Compare(a.Folder, b.Folder) })
	return nil
}

// folderKey is a key in one folder.
type folderKey struct{ folder, key string }

// alteredKeys returns the keys, by folder, of the groups found only with
// another body. A message with the Message-ID of one that differs is that
// message, altered: it is counted as differing, not extra too.
func alteredKeys(gs []*identityGroup) map[folderKey]bool {
	altered := map[folderKey]bool{}
	for _, g := range gs {
		if len(g.found) == 0 && len(g.altered) == 0 && g.elsewhere == "" && g.idSeen {
			altered[folderKey{g.folder, g.id.Key}] = true
			if g.id.Munged.Key != "" {
				altered[folderKey{g.folder, g.id.Munged.Key}] = true
			}
		}
	}
	return altered
}

// tallyExtra adds to the report the messages of folder f that no source
// message accounts for (matched) nor differs from (altered), and returns
// how many.
func (v *verifier) tallyExtra(ctx context.Context, f string, matched map[uint32]bool, altered map[folderKey]bool) (int, error) {
	fi, err := v.index.folder(ctx, f, false)
	if err != nil {
		return 0, err
	}
	var extra []VerifyItem
	add := func(key string, uids []uint32) {
		for _, uid := range uids {
			if !matched[uid] && (key == "" || !altered[folderKey{f, key}]) {
				extra = append(extra, VerifyItem{Folder: f, UID: uid, Key: key})
			}
		}
	}
	for key, uids := range fi.byKey {
		add(key, uids)
	}
	for _, uids := range fi.bySize {
		add("", uids)
	}
	slices.SortFunc(extra, func(a, b VerifyItem) int { return int(a.UID) - int(b.UID) })
	v.rep.Extra = append(v.rep.Extra, extra...)
	return len(extra), nil
}

// tallyGroup counts g's messages in fc and the report, and marks the
// copies that account for them. An altered copy that another group's
// messages account for already (taken) is not theirs too: different
// messages can be stored as the same bytes (munged alike).
func (v *verifier) tallyGroup(g *identityGroup, fc *FolderCheck, mark func(string, uint32), taken func(uint32) bool) {
	copies := v.copiesOf(g, taken)
	for _, uid := range copies {
		mark(g.folder, uid)
	}
	msgs := g.msgs
	if v.opts.Dedup != DedupOff && len(copies) > 0 {
		copies = slices.Repeat(copies[:1], len(msgs)) // all of them are that one copy
	}
	for i, uid := range copies[:min(len(copies), len(msgs))] {
		if why := g.why[uid]; why != "" {
			fc.Altered++
			v.rep.Altered = append(v.rep.Altered, v.alteredItem(msgs[i], uid, why))
		} else {
			fc.Present++
		}
	}
	if rest := msgs[min(len(copies), len(msgs)):]; len(rest) > 0 {
		v.tallyRest(g, fc, rest, len(copies) > 0, mark)
	}
}

// copiesOf returns the copies in g's folder that account for g's
// messages: byte-for-byte ones first, then altered ones not taken. One
// copy is expected per group, one per message with dedup: off.
func (v *verifier) copiesOf(g *identityGroup, taken func(uint32) bool) []uint32 {
	want := 1
	if v.opts.Dedup == DedupOff {
		want = len(g.msgs)
	}
	exact := g.found[:min(want, len(g.found))]
	var free []uint32
	for _, uid := range g.altered {
		if !taken(uid) {
			free = append(free, uid)
		}
	}
	return append(slices.Clone(exact), free[:min(want-len(exact), len(free))]...)
}

// tallyRest counts the messages of g that no copy in its folder accounts
// for: missing when some copy is there (dedup: off, fewer copies than
// messages), present when found elsewhere, differing when the folder
// holds their Message-ID with another body, missing otherwise.
func (v *verifier) tallyRest(g *identityGroup, fc *FolderCheck, rest []*sourceMessage, someCopy bool, mark func(string, uint32)) {
	list := &v.rep.Missing
	switch {
	case someCopy:
		fc.Missing += len(rest)
	case g.elsewhere != "":
		mark(g.elsewhere, g.elsewhereUID)
		fc.Present += len(rest)
		fc.Elsewhere += len(rest)
		v.rep.Elsewhere += len(rest)
		return
	case g.idSeen:
		fc.Differs += len(rest)
		list = &v.rep.Differs
	default:
		fc.Missing += len(rest)
	}
	for _, m := range rest {
		*list = append(*list, m.item())
	}
}

func (v *verifier) alteredItem(m *sourceMessage, uid uint32, why string) VerifyItem {
	it := m.item()
	it.UID, it.Reason = uid, why
	return it
}

// headCapture keeps the start of a message's header block, enough for
// its Subject.
type headCapture struct {
	buf  []byte
	done bool
}

const headCaptureMax = 64 << 10

func (h *headCapture) Write(p []byte) (int, error) {
	if !h.done {
		h.buf = append(h.buf, p[:min(len(p), headCaptureMax-len(h.buf))]...)
		h.done = len(h.buf) >= headCaptureMax || bytes.Contains(h.buf, []byte("\n\r\n")) ||
			bytes.Contains(h.buf, []byte("\n\n"))
	}
	return len(p), nil
}

// subject returns the message's Subject, decoded, on one line, shortened.
func (h *headCapture) subject() string {
	s := identity.ParseHeader(h.buf).Get("Subject")
	if d, err := new(mime.WordDecoder).DecodeHeader(s); err == nil {
		s = d
	}
	s = strings.Map(func(r rune) rune {
		if !unicode.IsPrint(r) {
			return '?'
		}
		return r
	}, strings.ToValidUTF8(s, "?"))
	if r := []rune(s); len(r) > 60 {
		s = string(r[:59]) + "…"
	}
	return s
}
