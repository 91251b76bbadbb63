// Package mbox reads mbox files (RFC 4155), one file or a directory tree
// of them such as Thunderbird's Local Folders, as a source.Source,
// strictly read-only and byte for byte.
//
// # Messages
//
// A message starts after a separator line, a line starting "From ". Its
// forms:
//
//   - full: "From sender date" as RFC 4155 has it: "From
//     MAILER-DAEMON Fri Jul  8 12:08:34 2011", "From - Fri Jul 08
//     12:08:34 2011" (Thunderbird before 122), "From <40-hex sha> Mon
//     Sep 17 00:00:00 2001" (git format-patch); an asctime date with or
//     without zones around the year or a "remote from" suffix, or an RFC
//     5322 date;
//   - dated: such a date without a sender ("From Fri Jul  8 12:08:34
//     2011") or with text after it ("From bob Fri Jul  8 12:08:34 2011
//     +0200 (CEST)");
//   - bare: "From " and nothing else, which Thunderbird 122 to 131 wrote;
//   - other: any other line starting "From ", except "From :" (a header
//     field in RFC 5322's obsolete syntax), which is never a separator.
//
// Where a separator may stand decides how much it takes:
//
//  1. The first line of the file that is not white space is a separator
//     in the full, dated or bare form. Lines of white space before it
//     (spaces, tabs, line ends) belong to nothing.
//  2. After a blank line, a line in the full form is a separator.
//  3. Any other line starting "From " (bare, dated or other; or not
//     after a blank line, as git's mailsplit and qmail write) is a
//     separator only when a header follows it: a header field line, its
//     folded continuation lines, then a second field line (the end of
//     the file after the first field line will do). This is Thunderbird's
//     own test, and what keeps an unquoted "From " line of a body in the
//     body.
//  4. No line of a message's header (before its first blank line) is a
//     separator.
//
// The separator, and the blank line before it (or before the end of the
// file), are not part of the message; the message's own last line end
// is. Every writer puts that blank line after each message, so a message
// that is only a header comes out without it (Thunderbird's reader keeps
// it there: the one place where the boundaries differ from its).
//
// Examples, with "|" for the start of each line:
//
//	|From \r\n                                ← separator (1)
//	|To: ben@example.com\r\n
//	|Subject: one\r\n
//	|\r\n
//	|Body.\r\n
//	|From \r\n                                ← separator (3): a header follows
//	|To: ann@example.com\r\n
//	|Subject: two\r\n
//	|\r\n
//	|Unquoted, as Thunderbird before 122 left it:\r\n
//	|\r\n
//	|From \r\n                                ← body text (3): no header follows
//	|was not quoted.\r\n
//	|\r\n
//	|From - Mon Jan 15 10:00:00 2024\r\n      ← separator (2)
//	|From : ann@example.com\r\n               ← a header field, never a separator
//	|From bob Fri Jul  8 12:08:34 2011\r\n    ← in a header (4): part of the message
//	|Subject: three\r\n
//
// and git's mailsplit form, where no blank line comes before a
// separator:
//
//	|From 0123…4567 Mon Sep 17 00:00:00 2001  ← separator (1)
//	|From: Dev <dev@example.com>
//	|Subject: [PATCH 1/2] …
//	|
//	|-- (git's signature line)
//	|2.43.0
//	|From 89ab…cdef Mon Sep 17 00:00:00 2001  ← separator (3)
//	|From: Dev <dev@example.com>
//	|Date: …
//
// Other readers, compared: Thunderbird (MboxMsgInputStream) takes any
// "From " line outside a header as a separator when a header follows it,
// blank line or not, and needs "From " to start the file; git's
// mailsplit takes any line with a "From " and a date-like "hh:mm:ss
// year" as a separator anywhere, header included, and skips white space
// first; mutt takes any "From [sender] weekday month day time [zone]
// year …" line outside a header, blank line or not, and checks a
// Content-Length by the "From " line it points at; Python's mailbox takes
// every line starting "From " and drops what precedes the first. They
// agree on the full form after a blank line, on a dated line followed by
// a header, and on text after the date; mailferry reads those the same.
// Where they differ, mailferry takes the reading that does not cut a
// message in two on a body line without evidence: a "From " line that is
// not the full form after a blank line needs a header after it (as
// Thunderbird), a header's lines are never separators (as Thunderbird and
// mutt), and a trusted Content-Length keeps a body whole whatever its
// lines (as mutt). Bytes before the first separator are reported, not
// dropped (see below).
//
// A file that does not start with a separator but has one further on has
// a damaged start (a crash left NUL blocks, a tool cut off the first From
// line): its messages are read from the first separator on, and the
// bytes before it, unless they are only white space, are listed as one
// more Ref (first, at offset 0, without flags) whose Open fails with an
// error wrapping source.ErrUnreadable, so that the run reports them
// instead of losing them unseen. They do not count as evidence of the
// file's variant. A file without any separator is not an mbox; one of
// only white space is an empty mbox.
//
// Open returns the stored bytes with exactly three changes: the
// separator is left out, the variant's From-quoting is undone, and a bare
// LF becomes CRLF (CRLF and a lone CR are kept). Ref.Size is the length
// of those bytes, computed while listing.
//
// # Variants
//
// Writers differ in how they protect "From " lines in bodies:
//
//   - mboxo quotes "From " as ">From "; a body line ">From " is stored
//     the same way, so the quoting cannot be undone without ambiguity.
//   - mboxrd quotes every ">*From " line with one more '>', reversibly.
//   - mboxcl quotes like mboxo and adds Content-Length; mboxcl2 adds
//     Content-Length and quotes nothing.
//
// With Options.Variant empty, each file is judged by what it holds:
//
//  1. A Content-Length is trusted when the body it measures is followed
//     by the end of the file, or by a line end and then a line starting
//     "From " (any form) or the end of the file; otherwise it is ignored
//     and the message ends at the next separator. This holds for every
//     message, whatever the file's variant.
//  2. If a body bounded by a trusted Content-Length holds a line starting
//     with an unquoted "From ", the writer does not quote: mboxcl2,
//     nothing is unquoted.
//  3. Else, if any line starts ">>From " (two or more '>'), only mboxrd
//     writes that: lines matching "^>+From " lose one '>'.
//  4. Else (mboxo, mboxcl, or mboxrd with no such line, which all read
//     the same here): lines matching "^>From " lose their '>'. A body
//     that really held ">From " in an mboxo file reads as "From ": the
//     format lost that distinction when the file was written.
//
// Options.Variant forces one rule for all files: "mboxo" and "mboxrd"
// ignore Content-Length, "mboxcl" and "mboxcl2" trust it when it is
// consistent, as above.
//
// The variant is known only once a file has been read to its end, so
// List keeps a small record per message of the file being read (about
// 150 bytes plus its keywords) and gives the file's Refs after it; the
// message bytes themselves are never held. Memory is constant in the
// size of files and messages, and grows only with the number of messages
// in one file (a million messages, about 150 MB), as the engine's own
// list of Refs does. Open also keeps an index of the listed messages.
//
// # Folders
//
// A Path that is a file is one folder, Ref.Folder "" (the caller maps
// it). In a directory, every regular file is a folder named by its path
// relative to the directory: Thunderbird's NAME.sbd directories hold the
// subfolders of NAME ("Inbox.sbd/Work" is "Inbox/Work"), Apple Mail's
// NAME.mbox directories and the extensions ".mbox" and ".mbx" are
// dropped, other dots are kept. Hidden files and directories are left
// out. Files with the names Thunderbird and Apple Mail give their own
// files (".msf", ".dat", ".json", ".html", ".sqlite", ".rdf", ".plist",
// filterlog.html, table_of_contents, …) are read only if they start like
// an mbox, and else left out without a word.
//
// Nothing else is left out unseen. A file of the tree that is not an
// mbox, a symbolic link (not followed), a file that is not regular, a
// file or directory that cannot be read: each is listed as one failure
// Ref, ID "<relative path>#0#unreadable" (a directory's path ends in
// "/"), its Folder, Size 0, whose Open fails with an error wrapping
// source.ErrUnreadable that says why and what to do. The run lists it
// as failed (exit 1) and tries it again next time. A file given as Path
// that is not an mbox is refused by New.
//
// # Identity
//
// Ref.ID is "<relative path>#<offset>#<16 hex digits of the SHA-256 of
// the stored message>", stable across runs while the file is unchanged.
// Compacting a file (as Thunderbird does) moves messages and so changes
// their IDs; the engine's dedup by Message-ID and body still keeps them
// from being copied twice. Open checks the bytes it reads against the
// hash and fails with source.ErrNotFound if they changed.
//
// # Flags and dates
//
// Flags come from Status and X-Status, and with Options.Mozilla from
// X-Mozilla-Status and X-Mozilla-Keys (see Flags). Messages marked
// \Deleted are left out unless Options.IncludeDeleted; messages
// Thunderbird marked expunged are always left out. Messages of zero
// bytes are left out. Ref.Date is the date of the From line (UTC unless
// the line gives a zone) only when the header has neither a parseable
// Date nor a parseable Received date, so that a better date is never
// replaced. Only the first 64 KiB of a header are read for flags, dates
// and Content-Length.
//
// # Limits
//
// Lines of any length are copied whole, but only a line's first 64 KiB
// are examined: a quoted line longer than that is not recognised as such
// (in List and Open alike, so sizes still agree). A separator line is at
// most 1000 bytes; the header that must follow some separators is looked
// for in the 16 KiB after them (a first field line longer than that is
// taken as a header).
package mbox
