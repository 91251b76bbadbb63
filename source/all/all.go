// Package all registers every archive kind mailferry has (mbox, maildir,
// eml, thunderbird) with package source: import it for its side effect,
//
//	import _ "github.com/mailferry/mailferry/source/all"
//
// and source.OpenArchive opens them all. A new kind adds its package here.
package all

import (
	_ "github.com/mailferry/mailferry/source/eml"
	_ "github.com/mailferry/mailferry/source/maildir"
	_ "github.com/mailferry/mailferry/source/mbox"
	_ "github.com/mailferry/mailferry/source/thunderbird"
)
