package migrate

import (
	"fmt"
	"path"
	"strings"
	"unicode/utf8"

	"github.com/mailferry/mailferry/target"
)

// A FolderMap renames a source folder (and the folders under it).
type FolderMap struct{ From, To string }

// roles lists, per special-use attribute, the names local clients and
// servers give that folder, the English name first. A top-level source
// folder with one of these names goes to the target's folder of that
// role, and its subfolders under that folder when the target has one
// (Thunderbird's "Archives/2024" into the target's Archive folder).
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
}

// mapFolder returns the target folder for a message of a source whose top
// level lands in base ("" = the account's top level, INBOX for messages
// at the very top), found at path in the source ("/"-separated, "" = the
// source's top level).
func (m *folderMapper) mapFolder(base, p string) string {
	p = m.rename(strings.Trim(p, "/"))
	if p == "" {
		if base == "" || strings.EqualFold(base, "INBOX") {
			return "INBOX"
		}
		return m.join(strings.Split(base, "/"))
	}
	parts := strings.Split(p, "/")
	if base == "" {
		if strings.EqualFold(parts[0], "INBOX") {
			// The tree's Inbox is the account's INBOX, its subfolders
			// INBOX's.
			parts[0] = "INBOX"
			if len(parts) == 1 {
				return "INBOX"
			}
		}
		if r := roleOf(parts[0]); r >= 0 {
			if len(parts) == 1 {
				return m.special(r)
			}
			if name, ok := m.existing(r); ok {
				return m.under(name, parts[1:])
			}
		}
		return m.join(parts)
	}
	return m.join(append(strings.Split(base, "/"), parts...))
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

// special returns the target folder for a role: the folder with its
// special-use attribute, else an existing top-level folder with one of the
// role's names, else the English name.
func (m *folderMapper) special(r int) string {
	if name, ok := m.existing(r); ok {
		return name
	}
	return m.join([]string{roles[r].names[0]})
}

// existing returns the target folder of a role that the target has: the
// folder with its special-use attribute, else an existing top-level
// folder with one of the role's names.
func (m *folderMapper) existing(r int) (string, bool) {
	if name, ok := m.layout.Special[roles[r].attr]; ok && roles[r].attr != "" {
		return name, true
	}
	for _, n := range roles[r].names {
		want := m.join([]string{n})
		for _, f := range m.layout.Folders {
			if strings.EqualFold(f, want) {
				return f, true
			}
		}
	}
	return "", false
}

// under returns the target name of the folders parts under the target
// folder name.
func (m *folderMapper) under(name string, parts []string) string {
	delim := m.layout.Delimiter
	if delim == "" {
		delim = "/" // as join does
	}
	for _, p := range parts {
		name += delim + escapeName(p, m.layout.Delimiter)
	}
	return name
}

// join makes a target name of path components: each escaped, joined by
// the delimiter, under the personal prefix.
func (m *folderMapper) join(parts []string) string {
	esc := make([]string, len(parts))
	for i, p := range parts {
		esc[i] = escapeName(p, m.layout.Delimiter)
	}
	if esc[0] == "INBOX" && len(esc) == 1 {
		return "INBOX"
	}
	delim := m.layout.Delimiter
	if delim == "" {
		delim = "/" // no hierarchy: keep the path readable in one name
	}
	name := strings.Join(esc, delim)
	if m.layout.Prefix != "" && !strings.HasPrefix(name, m.layout.Prefix) {
		name = m.layout.Prefix + name
	}
	return name
}

// escapeName makes one folder name safe for the target, reversibly: "%"
// becomes "%25", the hierarchy delimiter and "." "%" and their hex code, a
// leading or trailing space "%20", each control character (CR, LF, NUL,
// ...; DEL) and each byte that is not valid UTF-8 "%" and its hex code,
// and an empty name "%". Names with none of these are unchanged. "." is
// escaped whatever the delimiter: servers storing mail in Maildir++
// refuse it even when "/" is their delimiter (Dovecot: "Character not
// allowed in mailbox name"), and one rule keeps names the same on every
// server. Control characters never reach the server: they are refused by
// it ("Control characters not allowed in new mailbox names") and, echoed
// raw in its answers, break the response stream; invalid UTF-8 would
// become U+FFFD, merging distinct folders into one.
func escapeName(name, delim string) string {
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
