// Package maildir reads a Maildir tree (Maildir++ as Dovecot and Courier
// write it, or Dovecot's LAYOUT=fs) as a source.Source, strictly
// read-only and byte for byte.
//
// Layout: the directory given is the top-level folder (Ref.Folder "",
// which the caller maps to INBOX). When it holds Maildir++ subfolders
// (".Folder", ".Folder.Sub"), those are the folders ("Folder",
// "Folder/Sub"); otherwise every subdirectory that is itself a Maildir
// (has cur/ or new/), at any depth, is one (LAYOUT=fs). Folder names are
// decoded from IMAP modified UTF-7 (RFC 3501 section 5.1.3), as Dovecot
// writes them on disk ("Envoy&AOk-s" is "Envoyés").
//
// Messages: the files of cur/ and new/, never tmp/. Ref.ID is the folder
// path, "/", and the Maildir unique name (the file name before its ":2,"
// or "!2," info), so a flag change by another client does not change it.
// Flags come from the info of files in cur/ (S \Seen, R \Answered,
// F \Flagged, T \Deleted, D \Draft, P $Forwarded, and the lowercase
// Dovecot keyword letters through the folder's dovecot-keywords file);
// files in new/ have none. \Deleted messages are skipped unless
// Options.IncludeDeleted. Ref.Date is the file's modification time, which
// is what Dovecot takes as the internal date.
//
// Sizes: Dovecot names a file "...,S=n,W=w:2,..." where S is the file's
// size and W its size with CRLF line endings, which is exactly what Open
// returns: when W fits the file (S, if there, equals its size, and W lies
// between the size and twice it) it is Ref.Size. Otherwise Ref.Size is 0
// and Ref.SizeEstimate is the file's size plus 1/32 (crlf.Estimate): the
// length Open returns lies between the file's size and twice it, and is
// below the estimate unless the lines average fewer than 32 bytes. The
// engine counts what it reads, so neither can make a message or the
// memory bound wrong.
//
// Never a silent skip: what cannot be read is listed as a failure Ref
// whose Open returns a source.UnreadableError with the reason, so that
// the run reports it as failed and exits 1. A folder that cannot be read
// (its directory, cur/ or new/: "cannot read folder Sent (...): permission
// denied"), and a Maildir beside the .Name folders of a Maildir++ tree,
// are failure Refs of ID "FOLDER/"; a file of cur/ or new/ that cannot be
// read (a link that leads nowhere, a FIFO) one of ID "FOLDER/UNIQUE"; a
// file whose unique name another file of the folder has, with other
// bytes, one of ID "FOLDER/UNIQUE#new". A file found in both cur/ and
// new/ with the same size is one message being moved by another client:
// read once, with a warning. A file that cannot be opened when it is
// read also fails with source.ErrUnreadable; one that vanished is
// source.ErrNotFound.
//
// Open returns the file's bytes with every bare LF turned into CRLF and
// nothing else changed. The package never renames, writes or touches a
// file; in particular it never moves mail from new/ to cur/ (the
// go-maildir package's Unseen does, which is why it is not used).
package maildir
