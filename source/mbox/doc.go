// Package mbox reads mbox files (RFC 4155), one file or a directory tree
// of them such as Thunderbird's Local Folders, as a source.Source,
// strictly read-only and byte for byte.
//
// # Messages
//
// A message starts after a separator line in the full form
// "From sender date" (asctime date, "From MAILER-DAEMON Fri Jul  8
// 12:08:34 2011", with or without zones around the year or a
// "remote from" suffix; the RFC 5322 date form is accepted too) that is
// at the start of the file or follows a blank line. Any other line
// starting "From " is message text. The separator, and the blank line
// before it (or before the end of the file), are not part of the
// message; the message's own last line end is.
//
// A file that does not start with a separator but has one further on has
// a damaged start (a crash left NUL blocks, a tool cut off the first From
// line): its messages are read from the first separator on, and the
// bytes before it, unless they are only blank lines, are listed as one
// more Ref (first, at offset 0, without flags) whose Open fails with an
// error wrapping source.ErrUnreadable, so that the run reports them
// instead of losing them unseen. They do not count as evidence of the
// file's variant. A file without any separator is not an mbox.
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
//     by the end of the file, or by a line end and then a valid From line
//     or the end of the file; otherwise it is ignored and the message
//     ends at the next separator. This holds for every message, whatever
//     the file's variant.
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
// it). In a directory, every regular file that is an mbox (it is empty
// or has a separator) is a folder named by its path relative to
// the directory: Thunderbird's NAME.sbd directories hold the subfolders
// of NAME ("Inbox.sbd/Work" is "Inbox/Work"), Apple Mail's NAME.mbox
// directories and the extensions ".mbox" and ".mbx" are dropped, other
// dots are kept. Hidden files, ".msf", ".dat" and ".json" files,
// filterlog.html and Apple's table_of_contents are skipped silently;
// other files that are not mboxes, and symbolic links, are reported to
// Options.Warn and skipped.
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
// are examined: a separator or quoted line longer than that is not
// recognised as such (in List and Open alike, so sizes still agree).
package mbox
