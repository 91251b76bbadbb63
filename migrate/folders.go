package migrate

import (
	"fmt"
	"path"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/mailferry/mailferry/target"
)

// A FolderMap renames a source folder (and the folders under it).
type FolderMap struct{ From, To string }

// roles lists, per special-use attribute, the names local clients and
// servers give that folder, the English name first. A top-level source
// folder with one of these names goes to the target's folder of that role.
var roles = []struct {
	attr  string // "" for a role without an RFC 6154 attribute
	names []string
}{
	{`\Sent`, []string{"Sent", "Sent Items", "Sent Messages", "Sent Mail", "Envoyés", "Éléments envoyés",
		"Messages envoyés", "Gesendet", "Gesendete Elemente", "Gesendete Objekte", "Enviados",
		"Elementos enviados", "Posta inviata", "Inviati", "Verzonden", "Verzonden items", "Skickat", "Wysłane"}},
	{`\Drafts`, []string{"Drafts", "Draft", "Brouillons", "Entwürfe", "Borradores", "Bozze", "Concepten", "Utkast"}},
	{`\Trash`, []string{"Trash", "Deleted Items", "Deleted Messages", "Bin", "Corbeille", "Éléments supprimés",
		"Papierkorb", "Gelöschte Elemente", "Gelöschte Objekte", "Papelera", "Cestino", "Prullenbak"}},
	{`\Junk`, []string{"Junk", "Spam", "Junk E-mail", "Junk Email", "Bulk Mail", "Courrier indésirable",
		"Indésirables", "Unerwünscht", "Spam-Verdacht"}},
	{`\Archive`, []string{"Archives", "Archive", "Archiv", "Archivo", "Archivio", "Archief"}},
	{"", []string{"Templates", "Vorlagen", "Modèles", "Plantillas"}},
}

// roleOf returns the role index of a top-level folder name, or -1.
func roleOf(name string) int {
	for i, r := range roles {
		for _, n := range r.names {
			if strings.EqualFold(n, name) {
				return i
			}
		}
	}
	return -1
}

// A folderMapper turns a source folder path into a target folder name.
type folderMapper struct {
	layout target.Layout
	maps   []FolderMap

	existing map[string]bool // layout.Folders, built on first use
}

// A folderPlan is where the messages of one source folder go: a folder
// the target has (found by its role), or path components to name after
// the target's layout.
type folderPlan struct {
	name   string   // an existing folder; "" to name parts
	parent string   // an existing folder parts go under; "" for the top
	parts  []string // the components, as the source names them
	use    string   // the special-use attribute to create the folder with
}

// mapFolder returns the target folder for a message of a source whose top
// level lands in base: the first of its candidate names that the target
// has, else its own name. It asks nothing of the server (verify uses it
// as it is); a run creates folders through its folderResolver.
func (m *folderMapper) mapFolder(base, p string) string {
	names := m.candidates(m.plan(base, p))
	for _, n := range names {
		if m.exists(n) {
			return n
		}
	}
	return names[0]
}

// exists reports whether the target listed folder when its layout was read.
func (m *folderMapper) exists(folder string) bool {
	if m.existing == nil {
		m.existing = make(map[string]bool, len(m.layout.Folders))
		for _, f := range m.layout.Folders {
			m.existing[f] = true
		}
	}
	return m.existing[folder] || strings.EqualFold(folder, "INBOX")
}

// plan returns where a message of a source whose top level lands in base
// ("" = the account's top level, INBOX for messages at the very top),
// found at path p in the source ("/"-separated, "" = the source's top
// level), goes.
func (m *folderMapper) plan(base, p string) folderPlan {
	p = m.rename(strings.Trim(p, "/"))
	if p == "" {
		if base == "" || strings.EqualFold(base, "INBOX") {
			return folderPlan{name: "INBOX"}
		}
		return folderPlan{parts: strings.Split(base, "/")}
	}
	parts := strings.Split(p, "/")
	if base == "" {
		if strings.EqualFold(parts[0], "INBOX") {
			// The tree's Inbox is the account's INBOX, its subfolders
			// INBOX's.
			parts[0] = "INBOX"
			if len(parts) == 1 {
				return folderPlan{name: "INBOX"}
			}
		}
		if r := roleOf(parts[0]); r >= 0 {
			if len(parts) == 1 {
				return m.special(r)
			}
			// A role folder's subfolders go under the target's folder of
			// that role when it has one (Thunderbird's "Archives/2024"
			// into the target's Archive folder).
			if sp := m.special(r); sp.name != "" {
				return folderPlan{parent: sp.name, parts: parts[1:]}
			}
		}
		return folderPlan{parts: parts}
	}
	return folderPlan{parts: append(strings.Split(base, "/"), parts...)}
}

// rename applies the first folder_map pair that matches p or a parent of it.
func (m *folderMapper) rename(p string) string {
	for _, fm := range m.maps {
		from := strings.Trim(fm.From, "/")
		if p == from {
			return strings.Trim(fm.To, "/")
		}
		if strings.HasPrefix(p, from+"/") {
			return path.Join(strings.Trim(fm.To, "/"), strings.TrimPrefix(p, from+"/"))
		}
	}
	return p
}

// special returns where a role's folder is: the folder with its
// special-use attribute, else an existing top-level folder with one of the
// role's names, else the English name, to be created with the attribute.
func (m *folderMapper) special(r int) folderPlan {
	if name, ok := m.layout.Special[roles[r].attr]; ok && roles[r].attr != "" {
		return folderPlan{name: name}
	}
	for _, n := range roles[r].names {
		for _, want := range m.candidates(folderPlan{parts: []string{n}}) {
			for _, f := range m.layout.Folders {
				if strings.EqualFold(f, want) {
					return folderPlan{name: f}
				}
			}
		}
	}
	return folderPlan{parts: []string{roles[r].names[0]}, use: roles[r].attr}
}

// Name forms, in the order a run tries them.
const (
	formOwn        = iota // the folder's own name
	formSubstitute        // characters servers refuse replaced by look-alikes
	formLegacy            // how earlier versions escaped names ("%2E")
	forms

	formAsIs = -1 // the components as the source names them (for the summary)
)

// candidates returns the names a folder may have on the target, best
// first and without repeats: its own name, the substitute the target gets
// when it refuses that, and the name earlier versions of mailferry gave
// it (kept, so that an upgrade does not start a second folder).
func (m *folderMapper) candidates(fp folderPlan) []string {
	if fp.name != "" {
		return []string{fp.name}
	}
	var out []string
	for form := range forms {
		n := m.join(fp.parent, fp.parts, form)
		if !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return out
}

// asIs is a folder's name as the source has it, in the target's
// hierarchy: what the summary says was wanted when the folder lands under
// another name.
func (m *folderMapper) asIs(fp folderPlan) string {
	if fp.name != "" {
		return fp.name
	}
	return m.join(fp.parent, fp.parts, formAsIs)
}

// join makes a target name of path components: each in the given form,
// joined by the delimiter, under parent when it is not "", else under the
// personal prefix.
func (m *folderMapper) join(parent string, parts []string, form int) string {
	esc := make([]string, len(parts))
	for i, p := range parts {
		switch form {
		case formAsIs:
			esc[i] = p
		case formOwn:
			esc[i] = ownName(p, m.layout.Delimiter)
		case formSubstitute:
			esc[i] = substituteName(p, m.layout.Delimiter)
		default:
			esc[i] = legacyName(p, m.layout.Delimiter)
		}
	}
	if esc[0] == "INBOX" && len(esc) == 1 && parent == "" {
		return "INBOX"
	}
	delim := m.layout.Delimiter
	if delim == "" {
		delim = "/" // no hierarchy: keep the path readable in one name
	}
	name := strings.Join(esc, delim)
	if parent != "" {
		return parent + delim + name
	}
	if m.layout.Prefix != "" && !strings.HasPrefix(name, m.layout.Prefix) {
		name = m.layout.Prefix + name
	}
	return name
}

// ownName is a folder name as close to the source's as IMAP allows: the
// hierarchy delimiter inside a name becomes its look-alike (as in
// substituteName), each control character (CR, LF, NUL, ...; DEL) and
// each byte that is not valid UTF-8 "%" and its hex code, and an empty
// name "%". Control characters never reach the server: they are refused
// by it ("Control characters not allowed in new mailbox names") and,
// echoed raw in its answers, break the response stream; invalid UTF-8
// would become U+FFFD, merging distinct folders into one. Everything
// else, quotes, backslashes, "%", "*", ".", spaces at the ends, is kept:
// go-imap quotes or sends as a literal whatever IMAP syntax needs, and
// the server decides what it accepts.
func ownName(name, delim string) string {
	if name == "" {
		return "%"
	}
	if delim != "" {
		sub, ok := lookAlike[delim[0]]
		if !ok {
			sub = fmt.Sprintf("%%%02X", delim[0])
		}
		name = strings.ReplaceAll(name, delim, sub)
	}
	return escapeBytes(name)
}

// lookAlike holds the substitutes of the characters servers refuse in
// folder names: Cyrus refuses "%", "*", '"' and "\"; Dovecot storing
// Maildir++ refuses "." whatever its delimiter; "/" and "." are
// delimiters. Each becomes its fullwidth form (U+FF01..), which reads the
// same and that no server reserves.
var lookAlike = map[byte]string{
	'.': "\uff0e", '%': "\uff05", '*': "\uff0a", '"': "\uff02", '\\': "\uff3c", '/': "\uff0f",
}

// substituteName is the name a folder gets on a server that refuses its
// own name: ownName with the characters of lookAlike replaced, and a space
// at either end as U+00A0 (no-break space).
func substituteName(name, delim string) string {
	name = ownName(name, delim)
	var b strings.Builder
	for i := 0; i < len(name); i++ {
		if s, ok := lookAlike[name[i]]; ok {
			b.WriteString(s)
			continue
		}
		b.WriteByte(name[i])
	}
	name = b.String()
	if strings.HasPrefix(name, " ") {
		name = "\u00a0" + name[1:]
	}
	if strings.HasSuffix(name, " ") {
		name = name[:len(name)-1] + "\u00a0"
	}
	return name
}

// legacyName is how earlier versions of mailferry named every folder: "%", the
// delimiter and "." as "%" and their hex code, spaces at the ends as
// "%20", control characters and invalid UTF-8 as ownName does.
func legacyName(name, delim string) string {
	if name == "" {
		return "%"
	}
	name = strings.ReplaceAll(name, "%", "%25")
	name = strings.ReplaceAll(name, ".", "%2E")
	if delim != "" && delim != "." {
		name = strings.ReplaceAll(name, delim, fmt.Sprintf("%%%02X", delim[0]))
	}
	name = escapeBytes(name)
	if strings.HasPrefix(name, " ") {
		name = "%20" + name[1:]
	}
	if strings.HasSuffix(name, " ") {
		name = name[:len(name)-1] + "%20"
	}
	return name
}

// escapeBytes turns control characters and bytes that are not valid UTF-8
// into "%" and their hex code.
func escapeBytes(name string) string {
	var b strings.Builder
	for i := 0; i < len(name); {
		r, size := utf8.DecodeRuneInString(name[i:])
		if c := name[i]; c < ' ' || c == 0x7f || r == utf8.RuneError && size == 1 {
			fmt.Fprintf(&b, "%%%02X", c)
			i++
			continue
		}
		b.WriteString(name[i : i+size])
		i += size
	}
	return b.String()
}
