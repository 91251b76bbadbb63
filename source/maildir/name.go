package maildir

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/mailferry/mailferry/source/internal/crlf"
)

// splitName splits a Maildir file name into its unique name and the flag
// letters of its "2," info. The info follows the last ':' (or '!', which
// some Windows tools use because ':' is not allowed there); a name
// without an info, or with another kind of info ("1,..."), is all unique
// name (for the latter, unique name before the separator) with no flags.
func splitName(name string) (unique, flags string) {
	i := strings.LastIndexAny(name, ":!")
	if i < 0 {
		return name, ""
	}
	info := name[i+1:]
	switch {
	case strings.HasPrefix(info, "2,"):
		return name[:i], info[2:]
	case strings.HasPrefix(info, "1,"):
		return name[:i], ""
	}
	return name, ""
}

// sizeOf returns the Ref.Size or Ref.SizeEstimate of a file of n bytes
// whose unique name is unique. Dovecot names files "...,S=n,W=w": S the
// file's size, W its size with every bare LF made CRLF, the exact length
// Open returns. W is taken when it fits the file: S, if given, is n,
// and n <= W <= 2n. Otherwise (another delivery agent's name, a file
// changed since Dovecot named it) the size is estimated from n.
func sizeOf(unique string, n int64) (size, estimate int64) {
	s, w := int64(-1), int64(-1)
	for _, part := range strings.Split(unique, ",")[1:] {
		k, v, ok := strings.Cut(part, "=")
		num, err := strconv.ParseInt(v, 10, 64)
		if !ok || err != nil || num < 0 || strings.Trim(v, "0123456789") != "" {
			continue
		}
		switch k {
		case "S":
			s = num
		case "W":
			w = num
		}
	}
	if w >= n && w <= 2*n && (s < 0 || s == n) {
		return w, 0
	}
	return 0, crlf.Estimate(n)
}

// systemFlags maps the Maildir info letters to IMAP flags. P ("passed":
// resent, forwarded or bounced) has no system flag; $Forwarded is the
// keyword clients use for it.
var systemFlags = map[byte]string{
	'S': `\Seen`,
	'R': `\Answered`,
	'F': `\Flagged`,
	'T': `\Deleted`,
	'D': `\Draft`,
	'P': `$Forwarded`,
}

// parseFlags maps the flag letters of an info to IMAP flags, each once.
// Lowercase letters are Dovecot keywords looked up in kw; a letter kw
// lacks is passed to unknown and dropped. Other letters are dropped.
func parseFlags(letters string, kw map[byte]string, unknown func(byte)) (flags []string, deleted bool) {
	seen := map[string]bool{}
	for i := 0; i < len(letters); i++ {
		c := letters[i]
		f, ok := systemFlags[c]
		if !ok && c >= 'a' && c <= 'z' {
			if f, ok = kw[c]; !ok {
				unknown(c)
			}
		}
		if ok && !seen[f] {
			seen[f] = true
			flags = append(flags, f)
		}
	}
	return flags, seen[`\Deleted`]
}

// readKeywords reads a folder's dovecot-keywords file: lines "N name",
// where keyword N is the info letter 'a'+N (N < 26). A missing file is
// not an error (nil map); malformed lines are skipped.
func readKeywords(dir string) (map[byte]string, error) {
	f, err := os.Open(filepath.Join(dir, "dovecot-keywords"))
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	kw := map[byte]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		num, name, ok := strings.Cut(strings.TrimRight(sc.Text(), "\r"), " ")
		n, err := strconv.Atoi(num)
		if !ok || err != nil || n < 0 || n >= 26 || name == "" {
			continue
		}
		kw[byte('a'+n)] = name
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("dovecot-keywords: %w", err)
	}
	return kw, nil
}
