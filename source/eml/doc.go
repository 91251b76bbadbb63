// Package eml reads a tree of single-message files as a source.Source:
// .eml files (Outlook, Windows Live Mail, Thunderbird and other exports)
// and Apple Mail .emlx files, read-only and byte for byte.
//
// Folders: a file's folder is its directory relative to Options.Path,
// "/"-separated ("" for the top). Inside an Apple Mail bundle directory
// "Name.mbox" only the bundle names count: "Work.mbox/Messages/1.emlx"
// and "Work.mbox/<UUID>/Data/3/Messages/1.emlx" are both in folder
// "Work", and "Work.mbox/Old.mbox/Messages/2.emlx" in "Work/Old".
//
// Ref.ID is the file's path relative to Options.Path, "/"-separated
// (for a single file given as Path: its name). Files are listed
// depth-first, the entries of each directory sorted by name, so the
// order is stable between runs. File names are matched without regard to
// case; AppleDouble files ("._name.eml", macOS metadata) are not
// messages and are left out. Names need not be UTF-8 (old archives use
// Latin-1): IDs and folders keep their bytes.
//
// .eml: Open returns every byte of the file, a leading byte order mark
// included (it is part of what the exporting client saved; removing it is
// a choice for the identity or the target, not for a byte-exact source),
// with each bare LF turned into CRLF. Ref.Date is zero (the caller takes
// the date from the headers) and there are no flags.
//
// .emlx: a first line holding a decimal byte count N, exactly N bytes of
// message (LF line endings), then an XML property list whose "flags"
// integer gives the flags and whose "date-received" (seconds since 1970)
// gives Ref.Date. Open returns the N message bytes, bare LF turned into
// CRLF. A file whose count does not fit (larger than the file, or the
// bytes after the message are not a plist) is still listed, without flags
// or date, and Open returns an error wrapping ErrMalformed that names the
// file and the reason: the message fails rather than being cut short.
// "*.partial.emlx" files (Apple Mail keeps their attachments in separate
// files: the message is incomplete) are not read: each is a failure Ref
// (see below).
//
// Never a silent skip: what cannot be read is listed as a failure Ref,
// whose Open returns a source.UnreadableError with the reason, so that
// the run reports it as failed and exits 1. Its Ref.ID is the path of
// what could not be read, relative to Options.Path; a directory's ends in
// "/". They are: a subdirectory that cannot be read ("cannot read folder
// .../Old: permission denied"); a .partial.emlx file; a symbolic link
// that leads nowhere or out of the tree (the tree is read through an
// os.Root); and a file with a message name that is not a regular file (a
// FIFO, a device). A symbolic link to a directory inside the tree is not
// followed (its messages are listed where it points), with a warning. A
// file that cannot be opened when it is read also fails with
// source.ErrUnreadable. Files of other names are not mail and are left
// out silently.
//
// Ref.Size is 0 (unknown): the exact size after the CRLF conversion needs
// a full read. Ref.SizeEstimate is the size of the message's bytes (the
// file's for .eml, the byte count for .emlx) plus 1/32 (crlf.Estimate):
// the length Open returns lies between that size and twice it, and is
// below the estimate unless the lines average fewer than 32 bytes. The
// engine counts what it reads, so a wrong estimate cannot make a message
// or the memory bound wrong.
package eml
